// SPDX-License-Identifier: GPL-2.0

//! The SCSI midlayer for hv_storvsc: safe wrappers of a SCSI host, its commands and devices.
//!
//! C headers: [`include/scsi/scsi_host.h`](srctree/include/scsi/scsi_host.h),
//! [`include/scsi/scsi_cmnd.h`](srctree/include/scsi/scsi_cmnd.h),
//! [`include/scsi/scsi_device.h`](srctree/include/scsi/scsi_device.h).
//!
//! The kernel crate of 7.2 has no SCSI bindings, so `storvsc_shim.c` holds the
//! `scsi_host_template` and small accessors, and this module is the only place of the driver
//! with `unsafe` code. The template's callbacks come back here (`hvrs_storvsc_*`) and go to
//! the [`HostDriver`] of the host.
//!
//! A command handed to the driver by `queuecommand` is a [`ScsiCmnd`]: the right to complete
//! it, exactly once. While the host works on it, it sits in the [`Inflight`] table under its
//! request id, so a completion from the host can only complete a command that is in flight.

use core::{marker::PhantomData, ptr::NonNull};

use kernel::{
    ffi::{c_char, c_int, c_void},
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Relaxed, Release},
        Arc,
    },
};
use vmbus::{hv::device::Device, proto::vstor::ErrorWork};

/// `struct Scsi_Host`, only handled by pointer.
#[repr(C)]
pub(crate) struct RawHost {
    _private: [u8; 0],
}

/// `struct scsi_cmnd`, only handled by pointer.
#[repr(C)]
pub(crate) struct RawCmd {
    _private: [u8; 0],
}

/// `struct scsi_device`, only handled by pointer.
#[repr(C)]
pub(crate) struct RawSdev {
    _private: [u8; 0],
}

/// `struct scatterlist`, only handled by pointer.
#[repr(C)]
struct RawSg {
    _private: [u8; 0],
}

/// The limits of a host (`struct hvrs_scsi_limits` in `storvsc_shim.c`), as
/// `storvsc_probe()` sets them on the `Scsi_Host`.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct HostLimits {
    /// `max_lun`.
    pub(crate) max_lun: u32,
    /// `max_id`.
    pub(crate) max_id: u32,
    /// `max_channel`.
    pub(crate) max_channel: u32,
    /// `max_cmd_len`.
    pub(crate) max_cmd_len: u32,
    /// `max_sectors` (512-byte sectors).
    pub(crate) max_sectors: u32,
    /// `sg_tablesize`.
    pub(crate) sg_tablesize: u32,
    /// `nr_hw_queues`; 0 keeps the midlayer's default (1).
    pub(crate) nr_hw_queues: u32,
    /// `can_queue`: commands per hardware queue.
    pub(crate) can_queue: i32,
    /// A synthetic FC adapter: the host gets the FC transport class (`transportt`).
    pub(crate) fc: bool,
}

/// What the driver needs of a command to build its request (`struct hvrs_scsi_cmd_info`).
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct CmdInfo {
    /// The CDB (`cmnd`), `cdb_len` bytes valid.
    pub(crate) cdb: [u8; 16],
    /// `cmd_len`, at most 16.
    pub(crate) cdb_len: u8,
    /// `sc_data_direction` (`enum dma_data_direction`).
    pub(crate) direction: u8,
    /// `device->channel`.
    pub(crate) channel: u8,
    /// `device->id`.
    pub(crate) id: u8,
    /// `device->lun`.
    pub(crate) lun: u8,
    /// `device->tagged_supported`.
    pub(crate) tagged: bool,
    /// `scsi_bufflen()`.
    pub(crate) bufflen: u32,
    /// `blk_mq_unique_tag()`: hardware queue in the upper 16 bits, tag in the lower.
    pub(crate) unique_tag: u32,
    /// The request's tag, for messages.
    pub(crate) tag: c_int,
}

/// `enum dma_data_direction` (`DMA_BIDIRECTIONAL`, 0, never reaches a SCSI LLD).
pub(crate) mod dma_dir {
    /// `DMA_TO_DEVICE`.
    pub(crate) const TO_DEVICE: u8 = 1;
    /// `DMA_FROM_DEVICE`.
    pub(crate) const FROM_DEVICE: u8 = 2;
    /// `DMA_NONE`.
    pub(crate) const NONE: u8 = 3;
}

extern "C" {
    fn hvrs_num_online_cpus() -> u32;
    fn hvrs_num_present_cpus() -> u32;
    fn hvrs_storvsc_logging_level() -> c_int;
    fn hvrs_storvsc_ringbuffer_size() -> c_int;
    fn hvrs_storvsc_max_hw_queues() -> u32;
    fn hvrs_storvsc_reset_max_hw_queues();
    fn hvrs_storvsc_vcpus_per_sub_channel() -> c_int;
    fn hvrs_storvsc_ring_avail_percent_lowater() -> c_int;

    fn hvrs_storvsc_host_alloc() -> *mut RawHost;
    fn hvrs_scsi_host_no(host: *mut RawHost) -> u32;
    fn hvrs_storvsc_host_set_rust(host: *mut RawHost, rust: *const c_void);
    fn hvrs_storvsc_host_clear_rust(host: *mut RawHost);
    fn hvrs_scsi_add_host(host: *mut RawHost, parent: *mut c_void, lim: *const HostLimits)
        -> c_int;
    fn hvrs_scsi_scan_host(host: *mut RawHost);
    fn hvrs_scsi_add_device(host: *mut RawHost, channel: u32, id: u32, lun: u64) -> c_int;
    fn hvrs_storvsc_host_remove(host: *mut RawHost);
    fn hvrs_scsi_host_put(host: *mut RawHost);
    fn hvrs_storvsc_fc_attach() -> c_int;
    fn hvrs_storvsc_fc_release();
    fn hvrs_storvsc_fc_add_rport(host: *mut RawHost, node_name: u64, port_name: u64) -> c_int;
    fn hvrs_storvsc_fc_set_names(host: *mut RawHost, node_name: u64, port_name: u64);
    fn hvrs_storvsc_queue_host_scan(host: *mut RawHost);
    fn hvrs_storvsc_queue_lun_work(host: *mut RawHost, remove: bool, tgt: u8, lun: u8) -> bool;

    fn hvrs_scsi_cmd_info(cmd: *mut RawCmd, info: *mut CmdInfo);
    fn hvrs_scsi_cmd_bufflen(cmd: *mut RawCmd) -> u32;
    fn hvrs_scsi_dma_map(cmd: *mut RawCmd) -> c_int;
    fn hvrs_scsi_dma_unmap(cmd: *mut RawCmd);
    fn hvrs_scsi_sglist(cmd: *mut RawCmd) -> *mut RawSg;
    fn hvrs_sg_next(sg: *mut RawSg) -> *mut RawSg;
    fn hvrs_sg_dma_address(sg: *mut RawSg) -> u64;
    fn hvrs_sg_dma_len(sg: *mut RawSg) -> u32;
    fn hvrs_scsi_cmd_set_sense(cmd: *mut RawCmd, sense: *const u8, len: u32);
    fn hvrs_scsi_cmd_done(cmd: *mut RawCmd, result: u32, resid: u32);

    fn hvrs_scsi_device_vendor_is(sdev: *mut RawSdev, vendor: *const c_char, len: usize) -> bool;
    fn hvrs_scsi_device_configure(
        sdev: *mut RawSdev,
        timeout_secs: u32,
        no_write_same: bool,
        spc3: bool,
    );
}

/// Returns the number of online CPUs (`num_online_cpus()`).
pub(crate) fn num_online_cpus() -> u32 {
    // SAFETY: Reads the CPU mask's weight; no preconditions.
    unsafe { hvrs_num_online_cpus() }
}

/// Returns the number of present CPUs (`num_present_cpus()`).
pub(crate) fn num_present_cpus() -> u32 {
    // SAFETY: Reads the CPU mask's weight; no preconditions.
    unsafe { hvrs_num_present_cpus() }
}

/// The module parameters, declared in `storvsc_shim.c` with the C driver's permissions.
pub(crate) mod params {
    use super::*;

    /// `logging_level`: 0 none, 1 errors (default), 2 warnings.
    pub(crate) fn logging_level() -> i32 {
        // SAFETY: Reads a module parameter with `READ_ONCE()`; no preconditions.
        unsafe { hvrs_storvsc_logging_level() }
    }

    /// `storvsc_ringbuffer_size` in bytes (read-only after load).
    pub(crate) fn ringbuffer_size() -> i32 {
        // SAFETY: Reads a read-only module parameter; no preconditions.
        unsafe { hvrs_storvsc_ringbuffer_size() }
    }

    /// `storvsc_max_hw_queues`, 0 for one per present CPU.
    pub(crate) fn max_hw_queues() -> u32 {
        // SAFETY: Reads a module parameter with `READ_ONCE()`; no preconditions.
        unsafe { hvrs_storvsc_max_hw_queues() }
    }

    /// Resets `storvsc_max_hw_queues` to its default, 0, after an invalid value.
    pub(crate) fn reset_max_hw_queues() {
        // SAFETY: Writes a module parameter with `WRITE_ONCE()`; no preconditions.
        unsafe { hvrs_storvsc_reset_max_hw_queues() }
    }

    /// `storvsc_vcpus_per_sub_channel` (read-only after load).
    pub(crate) fn vcpus_per_sub_channel() -> i32 {
        // SAFETY: Reads a read-only module parameter; no preconditions.
        unsafe { hvrs_storvsc_vcpus_per_sub_channel() }
    }

    /// `ring_avail_percent_lowater` (read-only after load).
    pub(crate) fn ring_avail_percent_lowater() -> i32 {
        // SAFETY: Reads a read-only module parameter; no preconditions.
        unsafe { hvrs_storvsc_ring_avail_percent_lowater() }
    }
}

/// What the driver of a SCSI host does for the template's callbacks.
pub(crate) trait HostDriver: Send + Sync {
    /// Starts `cmd` (`queuecommand`); returns [`QueueStatus::Busy`] to have the midlayer retry
    /// it later (then `cmd` was given back with [`ScsiCmnd::requeue`]).
    fn queuecommand(&self, cmd: ScsiCmnd) -> QueueStatus;
    /// Resets the host (`eh_host_reset_handler`); may sleep.
    fn host_reset(&self) -> ResetStatus;
    /// Configures a new device (`sdev_configure`).
    fn sdev_configure(&self, sdev: &ScsiDevice<'_>);
}

/// The driver of every host of this module.
type Driver = crate::StorDevice;

/// The answer of [`HostDriver::queuecommand`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum QueueStatus {
    /// The command is the driver's (0).
    Queued,
    /// Retry later (`SCSI_MLQUEUE_DEVICE_BUSY`).
    Busy,
}

/// The answer of [`HostDriver::host_reset`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(i32)]
pub(crate) enum ResetStatus {
    /// `SUCCESS`.
    Success = 0x2002,
    /// `FAILED`.
    Failed = 0x2003,
    /// `TIMEOUT_ERROR`.
    Timeout = 0x2007,
}

/// Returns the host driver stored in a host's private data, if any.
///
/// # Safety
///
/// `rust` is NULL or was read, under the shim's SRCU read lock that is held for `'a`, from a
/// host's private data where [`AddedHost::new`] stored it: [`AddedHost`]'s `drop` clears it
/// and waits for such readers before the `Arc` it came from can go.
unsafe fn driver<'a>(rust: *const c_void) -> Option<&'a Driver> {
    // SAFETY: As the caller guarantees, a non-NULL `rust` points at a live `Driver`.
    unsafe { rust.cast::<Driver>().as_ref() }
}

/// `queuecommand` of the template.
///
/// # Safety
///
/// Called by `storvsc_shim.c` for a command the midlayer hands over, with `rust` read under
/// the shim's SRCU read lock as [`driver`] requires.
#[no_mangle]
unsafe extern "C" fn hvrs_storvsc_queuecommand(rust: *const c_void, cmd: *mut RawCmd) -> c_int {
    let Some(cmd) = NonNull::new(cmd) else {
        return 1;
    };
    // INVARIANT: The midlayer hands the command to the driver, which completes it once.
    let cmd = ScsiCmnd { ptr: cmd };
    // SAFETY: The shim read `rust` under its SRCU read lock, held during this call.
    let Some(driver) = (unsafe { driver(rust) }) else {
        // The host is going away: fail the command as a gone device.
        cmd.complete(0x01 << 16, 0);
        return 0;
    };
    match driver.queuecommand(cmd) {
        QueueStatus::Queued => 0,
        QueueStatus::Busy => 1,
    }
}

/// `eh_host_reset_handler` of the template.
///
/// # Safety
///
/// Called by `storvsc_shim.c`, with `rust` read under the shim's SRCU read lock as [`driver`]
/// requires.
#[no_mangle]
unsafe extern "C" fn hvrs_storvsc_host_reset(rust: *const c_void) -> c_int {
    // SAFETY: The shim read `rust` under its SRCU read lock, held during this call.
    match unsafe { driver(rust) } {
        Some(driver) => driver.host_reset() as c_int,
        None => ResetStatus::Failed as c_int,
    }
}

/// `sdev_configure` of the template.
///
/// # Safety
///
/// Called by `storvsc_shim.c` with a device being configured, with `rust` read under the
/// shim's SRCU read lock as [`driver`] requires.
#[no_mangle]
unsafe extern "C" fn hvrs_storvsc_sdev_configure(rust: *const c_void, sdev: *mut RawSdev) {
    // SAFETY: The shim read `rust` under its SRCU read lock, held during this call.
    let Some(driver) = (unsafe { driver(rust) }) else {
        return;
    };
    if let Some(ptr) = NonNull::new(sdev) {
        // INVARIANT: The midlayer configures `sdev` for the duration of the call.
        driver.sdev_configure(&ScsiDevice {
            ptr,
            _p: PhantomData,
        });
    }
}

/// The FC transport class of the module (`fc_transport_template`): attached by
/// [`FcTransport::attach`] before the driver registers, released on drop, after the driver
/// is unregistered.
///
/// # Invariants
///
/// `hvrs_storvsc_fc_attach()` succeeded and `hvrs_storvsc_fc_release()` was not called yet;
/// there is one such object (the module's): a second attach fails with [`EBUSY`].
pub(crate) struct FcTransport(());

impl FcTransport {
    /// Attaches the FC transport class with the node and port name attributes of `fc_host`
    /// (`fc_attach_transport()`).
    ///
    /// # Errors
    ///
    /// [`ENODEV`] if the transport could not be attached, [`EBUSY`] if it is attached.
    pub(crate) fn attach() -> Result<Self> {
        // SAFETY: No preconditions: the shim refuses a second attach, and hosts only use the
        // template once it is set.
        kernel::error::to_result(unsafe { hvrs_storvsc_fc_attach() })?;
        // INVARIANT: Attached, not released.
        Ok(Self(()))
    }
}

impl Drop for FcTransport {
    fn drop(&mut self) {
        // SAFETY: Attached (type invariant). The module drops this after its driver
        // registration, so every host that used the template was removed and put
        // (`fc_release_transport()`).
        unsafe { hvrs_storvsc_fc_release() }
    }
}

/// A SCSI host: a reference to a `struct Scsi_Host` of our template, put on drop.
///
/// # Invariants
///
/// `ptr` is a host from `hvrs_storvsc_host_alloc()`, and this object owns one reference.
pub(crate) struct ScsiHost {
    ptr: NonNull<RawHost>,
    /// Set by the first [`AddedHost::new`]: a host is added once.
    added: Atomic<bool>,
}

// SAFETY: A host reference may be used and put from any task; the functions used are
// callable in any context that the methods document.
unsafe impl Send for ScsiHost {}

// SAFETY: As above; the methods only read the host or queue work.
unsafe impl Sync for ScsiHost {}

impl ScsiHost {
    /// Allocates a host and its error workqueue (`scsi_host_alloc()`).
    ///
    /// # Errors
    ///
    /// [`ENOMEM`].
    pub(crate) fn alloc() -> Result<Self> {
        // SAFETY: No preconditions.
        let ptr = NonNull::new(unsafe { hvrs_storvsc_host_alloc() }).ok_or(ENOMEM)?;
        // INVARIANT: A new host with its first reference.
        Ok(Self {
            ptr,
            added: Atomic::new(false),
        })
    }

    /// Returns the host number (`host_no`), which storvsc uses as the SRB's port.
    pub(crate) fn host_no(&self) -> u32 {
        // SAFETY: The host is alive (type invariant).
        unsafe { hvrs_scsi_host_no(self.ptr.as_ptr()) }
    }

    /// Queues a rescan of the whole host on its error workqueue (`storvsc_host_scan()`), in
    /// any context. Does nothing once the host is being removed.
    pub(crate) fn queue_host_scan(&self) {
        // SAFETY: The host is alive (type invariant).
        unsafe { hvrs_storvsc_queue_host_scan(self.ptr.as_ptr()) }
    }

    /// Sets the fc_host's node and port names of an FC host whose remote port was added
    /// (an unsolicited FCHBA_DATA, `storvsc_on_receive()`), in any context; does nothing on
    /// other hosts.
    pub(crate) fn fc_set_names(&self, node_name: u64, port_name: u64) {
        // SAFETY: The host is alive (type invariant); the function only writes two fields of
        // an fc_host that lives as long as the host.
        unsafe { hvrs_storvsc_fc_set_names(self.ptr.as_ptr(), node_name, port_name) }
    }

    /// Queues `work` for LUN `lun` of target `target`, in any context; returns `false` if it
    /// could not be queued (no memory, or the host is being removed).
    pub(crate) fn queue_lun_work(&self, work: ErrorWork, target: u8, lun: u8) -> bool {
        let remove = work == ErrorWork::RemoveLun;
        // SAFETY: The host is alive (type invariant).
        unsafe { hvrs_storvsc_queue_lun_work(self.ptr.as_ptr(), remove, target, lun) }
    }
}

impl Drop for ScsiHost {
    fn drop(&mut self) {
        // SAFETY: We own a reference (type invariant), given back here.
        unsafe { hvrs_scsi_host_put(self.ptr.as_ptr()) }
    }
}

/// A host added to the midlayer with its driver; removed on drop (`scsi_remove_host()`).
///
/// # Invariants
///
/// The host's private data points at `driver` from the successful `scsi_add_host()` until
/// `drop` has removed the host and waited for the callbacks that read it; `driver` keeps the
/// host alive.
pub(crate) struct AddedHost {
    driver: Arc<Driver>,
}

impl AddedHost {
    /// Sets `limits` on the host of `driver` and adds it under the VMBus device `parent`
    /// (`scsi_add_host()`); the template's callbacks then go to `driver`.
    ///
    /// # Errors
    ///
    /// [`EBUSY`] if the host was added before, else the midlayer's.
    pub(crate) fn new<Ctx: kernel::device::DeviceContext>(
        driver: Arc<Driver>,
        parent: &Device<Ctx>,
        limits: &HostLimits,
    ) -> Result<Self> {
        if driver.host().added.xchg(true, Relaxed) {
            return Err(EBUSY);
        }
        let host = driver.host().ptr.as_ptr();
        let dev: &kernel::device::Device<Ctx> = parent.as_ref();
        // `kernel::device::Device` is a transparent wrapper of `struct device`.
        let parent_raw = core::ptr::from_ref(dev).cast_mut().cast::<c_void>();
        // SAFETY: The host is alive (`driver` holds it); the pointer stays valid until `drop`
        // clears it, as `self` keeps the `Arc`.
        unsafe { hvrs_storvsc_host_set_rust(host, Arc::as_ptr(&driver).cast()) };
        // SAFETY: `host` was never added, so the midlayer reads no limit yet; `parent_raw` is a
        // live, bound device; `limits` is readable.
        let ret = unsafe { hvrs_scsi_add_host(host, parent_raw, limits) };
        if ret != 0 {
            // SAFETY: The host is alive; process context (the call waits for callbacks).
            unsafe { hvrs_storvsc_host_clear_rust(host) };
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: Added, with the private data pointing at `driver`.
        Ok(Self { driver })
    }

    /// Scans the host for devices (`scsi_scan_host()`); may sleep.
    pub(crate) fn scan(&self) {
        // SAFETY: The host is added (type invariant).
        unsafe { hvrs_scsi_scan_host(self.driver.host().ptr.as_ptr()) }
    }

    /// For a host added with [`HostLimits::fc`]: sets the fc_host's node and port names and
    /// adds the adapter's remote port, a dummy initiator (`fc_remote_port_add()`), which the
    /// removal deletes; does nothing on other hosts. May sleep.
    ///
    /// # Errors
    ///
    /// [`ENOMEM`] if the remote port could not be added.
    pub(crate) fn fc_add_rport(&self, node_name: u64, port_name: u64) -> Result {
        // SAFETY: The host is added (type invariant); process context.
        let ret = unsafe {
            hvrs_storvsc_fc_add_rport(self.driver.host().ptr.as_ptr(), node_name, port_name)
        };
        kernel::error::to_result(ret)
    }

    /// Adds the device at `channel:id:lun` (`scsi_add_device()`); may sleep.
    ///
    /// # Errors
    ///
    /// The midlayer's.
    pub(crate) fn add_device(&self, channel: u32, id: u32, lun: u64) -> Result {
        // SAFETY: The host is added (type invariant).
        let ret =
            unsafe { hvrs_scsi_add_device(self.driver.host().ptr.as_ptr(), channel, id, lun) };
        kernel::error::to_result(ret)
    }
}

impl Drop for AddedHost {
    /// Deletes an FC host's remote port and removes its fc_host, destroys the error workqueue
    /// and removes the host (`storvsc_remove()`); every command has completed when this
    /// returns.
    fn drop(&mut self) {
        let host = self.driver.host().ptr.as_ptr();
        // SAFETY: The host was added (type invariant); process context.
        unsafe { hvrs_storvsc_host_remove(host) };
        // SAFETY: The host is alive (`self.driver` holds it); process context. Once this
        // returns, no callback uses `self.driver` through the host any more, so the `Arc` may
        // go with `self`.
        unsafe { hvrs_storvsc_host_clear_rust(host) };
    }
}

/// A SCSI device being configured.
///
/// # Invariants
///
/// `ptr` is a `struct scsi_device` of one of our hosts, valid for `'a`.
pub(crate) struct ScsiDevice<'a> {
    ptr: NonNull<RawSdev>,
    _p: PhantomData<&'a RawSdev>,
}

impl ScsiDevice<'_> {
    /// Returns `true` if the device's INQUIRY vendor starts with `vendor`.
    pub(crate) fn vendor_is(&self, vendor: &[u8]) -> bool {
        // SAFETY: The device is valid (type invariant); `vendor` is readable for its length
        // and `strncmp()` stops there.
        unsafe {
            hvrs_scsi_device_vendor_is(self.ptr.as_ptr(), vendor.as_ptr().cast(), vendor.len())
        }
    }

    /// Sets the request timeout, no REPORT SUPPORTED OPERATION CODES, WRITE SAME allowed or
    /// not, and SPC-3 conformance if `spc3` (`storvsc_sdev_configure()`).
    pub(crate) fn configure(&self, timeout_secs: u32, no_write_same: bool, spc3: bool) {
        // SAFETY: The device is valid and being configured (type invariant).
        unsafe { hvrs_scsi_device_configure(self.ptr.as_ptr(), timeout_secs, no_write_same, spc3) }
    }
}

/// A command the midlayer handed to the driver: the right to complete it, once.
///
/// # Invariants
///
/// `ptr` is a command of one of our hosts, handed to `queuecommand` and not completed nor
/// given back; only this object refers to it as such.
pub(crate) struct ScsiCmnd {
    ptr: NonNull<RawCmd>,
}

// SAFETY: A command may be completed from any task or softirq.
unsafe impl Send for ScsiCmnd {}

impl ScsiCmnd {
    /// Returns what the request needs of the command.
    pub(crate) fn info(&self) -> CmdInfo {
        let mut info = CmdInfo::default();
        // SAFETY: The command is live (type invariant); `info` is valid for writes.
        unsafe { hvrs_scsi_cmd_info(self.ptr.as_ptr(), &mut info) };
        info
    }

    /// Returns the length of the data buffer (`scsi_bufflen()`).
    pub(crate) fn bufflen(&self) -> u32 {
        // SAFETY: The command is live (type invariant).
        unsafe { hvrs_scsi_cmd_bufflen(self.ptr.as_ptr()) }
    }

    /// Maps the data buffer for the device (`scsi_dma_map()`) and returns its bus address
    /// segments; unmap it with [`ScsiCmnd::dma_unmap`] before completing the command.
    ///
    /// # Errors
    ///
    /// [`ENOMEM`] if it cannot be mapped.
    pub(crate) fn dma_map(&self) -> Result<SgSegments<'_>> {
        // SAFETY: The command is live (type invariant).
        let n = unsafe { hvrs_scsi_dma_map(self.ptr.as_ptr()) };
        let left = u32::try_from(n).map_err(|_| ENOMEM)?;
        // SAFETY: The command is live; its list has `n` mapped entries.
        let sg = unsafe { hvrs_scsi_sglist(self.ptr.as_ptr()) };
        // INVARIANT: `sg` starts a mapped list of at least `left` entries.
        Ok(SgSegments {
            sg,
            left,
            _cmd: PhantomData,
        })
    }

    /// Unmaps the data buffer (`scsi_dma_unmap()`; nothing without one).
    pub(crate) fn dma_unmap(&self) {
        // SAFETY: The command is live (type invariant); it is mapped if it has a buffer.
        unsafe { hvrs_scsi_dma_unmap(self.ptr.as_ptr()) }
    }

    /// Copies `sense` (at most `SCSI_SENSE_BUFFERSIZE` bytes) into the sense buffer.
    pub(crate) fn set_sense(&self, sense: &[u8]) {
        let len = u32::try_from(sense.len()).unwrap_or(u32::MAX);
        // SAFETY: The command is live (type invariant); `sense` is readable for `len` bytes,
        // and the shim copies at most the sense buffer's size.
        unsafe { hvrs_scsi_cmd_set_sense(self.ptr.as_ptr(), sense.as_ptr(), len) }
    }

    /// Completes the command with `result` and `resid` bytes not transferred (`scsi_done()`).
    pub(crate) fn complete(self, result: u32, resid: u32) {
        let ptr = self.ptr;
        core::mem::forget(self);
        // SAFETY: The command is live and ours to complete, once (type invariant): `self` is
        // consumed without running `drop`.
        unsafe { hvrs_scsi_cmd_done(ptr.as_ptr(), result, resid) }
    }

    /// Gives the command back to the midlayer uncompleted, with `queuecommand` returning
    /// [`QueueStatus::Busy`].
    pub(crate) fn requeue(self) -> QueueStatus {
        // The midlayer keeps the command: nothing to complete.
        core::mem::forget(self);
        QueueStatus::Busy
    }
}

impl Drop for ScsiCmnd {
    /// Fails a command that the driver dropped without an answer (`DID_ERROR`), so that it
    /// never hangs; the driver's paths complete or requeue every command explicitly.
    fn drop(&mut self) {
        // SAFETY: The command is live and ours to complete (type invariant); `self` goes away.
        unsafe {
            hvrs_scsi_cmd_done(
                self.ptr.as_ptr(),
                0x07 << 16,
                hvrs_scsi_cmd_bufflen(self.ptr.as_ptr()),
            )
        }
    }
}

/// The mapped segments of a command's data buffer: `(bus address, length)`.
///
/// # Invariants
///
/// `sg` is NULL or an entry of the mapped list of the borrowed command with at least `left`
/// entries from it.
pub(crate) struct SgSegments<'a> {
    sg: *mut RawSg,
    left: u32,
    _cmd: PhantomData<&'a ScsiCmnd>,
}

impl Iterator for SgSegments<'_> {
    type Item = (u64, u32);

    fn next(&mut self) -> Option<(u64, u32)> {
        if self.left == 0 || self.sg.is_null() {
            return None;
        }
        // SAFETY: `sg` is a mapped entry of the live command (type invariant).
        let item = unsafe { (hvrs_sg_dma_address(self.sg), hvrs_sg_dma_len(self.sg)) };
        self.left -= 1;
        if self.left != 0 {
            // INVARIANT: More entries follow while `left` is not 0.
            // SAFETY: As above.
            self.sg = unsafe { hvrs_sg_next(self.sg) };
        }
        Some(item)
    }
}

/// The commands in flight by request id (C: the vmbus requestor of the channel), indexed by
/// the blk-mq unique tag; a completion takes its command out, so an unknown, stale or repeated
/// id finds nothing.
///
/// # Invariants
///
/// A non-NULL slot holds the pointer of a [`ScsiCmnd`] that was put in and not taken out.
pub(crate) struct Inflight {
    slots: KVVec<Atomic<*mut RawCmd>>,
    per_queue: u32,
    queues: u32,
    count: Atomic<u32>,
}

// SAFETY: The slots are atomics; the commands they stand for are `Send`.
unsafe impl Send for Inflight {}

// SAFETY: As above.
unsafe impl Sync for Inflight {}

impl Inflight {
    /// Returns an empty table for `queues` hardware queues of `per_queue` tags each.
    ///
    /// # Errors
    ///
    /// [`ENOMEM`], [`EINVAL`] for more than 65536 tags per queue.
    pub(crate) fn new(queues: u32, per_queue: u32) -> Result<Self> {
        if per_queue > 0x1_0000 {
            return Err(EINVAL);
        }
        let n = queues.checked_mul(per_queue).ok_or(EINVAL)? as usize;
        let mut slots = KVVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            slots.push(Atomic::new(core::ptr::null_mut()), GFP_KERNEL)?;
        }
        Ok(Self {
            slots,
            per_queue,
            queues,
            count: Atomic::new(0),
        })
    }

    fn slot(&self, unique_tag: u32) -> Option<&Atomic<*mut RawCmd>> {
        let (hwq, tag) = (unique_tag >> 16, unique_tag & 0xffff);
        if hwq >= self.queues || tag >= self.per_queue {
            return None;
        }
        self.slots.get((hwq * self.per_queue + tag) as usize)
    }

    /// Puts `cmd` in flight under `unique_tag`.
    ///
    /// # Errors
    ///
    /// Gives `cmd` back if the tag is out of range or taken.
    pub(crate) fn insert(
        &self,
        unique_tag: u32,
        cmd: ScsiCmnd,
    ) -> core::result::Result<(), ScsiCmnd> {
        let Some(slot) = self.slot(unique_tag) else {
            return Err(cmd);
        };
        if slot
            .cmpxchg(core::ptr::null_mut(), cmd.ptr.as_ptr(), Release)
            .is_err()
        {
            return Err(cmd);
        }
        // INVARIANT: The slot now stands for `cmd`, whose token is given up.
        core::mem::forget(cmd);
        self.count.add(1, Relaxed);
        Ok(())
    }

    /// Takes the command in flight under `unique_tag` out, if any.
    pub(crate) fn take(&self, unique_tag: u32) -> Option<ScsiCmnd> {
        let p = self.slot(unique_tag)?.xchg(core::ptr::null_mut(), Acquire);
        let ptr = NonNull::new(p)?;
        self.count.fetch_sub(1u32, Relaxed);
        // INVARIANT: A non-NULL slot held a command's token, now taken out of the table.
        Some(ScsiCmnd { ptr })
    }

    /// Takes every command in flight out, for a channel the host rescinded: it will complete
    /// none of them.
    pub(crate) fn take_all(&self) -> impl Iterator<Item = ScsiCmnd> + '_ {
        self.slots.iter().filter_map(|slot| {
            let ptr = NonNull::new(slot.xchg(core::ptr::null_mut(), Acquire))?;
            self.count.fetch_sub(1u32, Relaxed);
            // INVARIANT: A non-NULL slot held a command's token, now taken out of the table.
            Some(ScsiCmnd { ptr })
        })
    }

    /// Returns the number of commands in flight.
    pub(crate) fn len(&self) -> u32 {
        self.count.load(Relaxed)
    }
}
