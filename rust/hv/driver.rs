// SPDX-License-Identifier: GPL-2.0

//! VMBus drivers: the [`Driver`] trait, its adapter to the driver core, device id tables.
//!
//! C source: `__vmbus_driver_register()`, `hv_vmbus_get_id()` and the dynamic ids of
//! [`drivers/hv/vmbus_drv.c`](srctree/drivers/hv/vmbus_drv.c); header
//! [`include/linux/hyperv.h`](srctree/include/linux/hyperv.h) (`struct hv_driver`),
//! [`include/linux/mod_devicetable.h`](srctree/include/linux/mod_devicetable.h)
//! (`struct hv_vmbus_device_id`).
//!
//! This follows `kernel::pci`/`kernel::auxiliary`: a driver implements [`Driver`] and is
//! registered through `kernel::driver::Registration<Adapter<T>>` (or [`module_vmbus_driver!`]),
//! which also frees the driver's device data after unbind. Its id table lists device class
//! GUIDs ([`vmbus_device_table!`]); modpost turns it into `vmbus:<hex>` module aliases, so udev
//! loads the driver when a device of the class appears.
//!
//! [`module_vmbus_driver!`]: crate::module_vmbus_driver
//! [`vmbus_device_table!`]: crate::vmbus_device_table

use core::{marker::PhantomData, mem::offset_of, pin::Pin};

use kernel::{
    bindings, container_of, device,
    device_id::{RawDeviceId, RawDeviceIdIndex},
    driver,
    error::from_result,
    ffi::{c_char, c_int, c_void},
    new_spinlock,
    prelude::*,
    sync::SpinLock,
    types::{ForeignOwnable, Opaque},
    ThisModule,
};

use super::{bus, device::Device, ffi};
use crate::proto::guid::Guid;

/// The dynamic ids of a driver (`new_id`), matched before its table.
type DynIds = SpinLock<KVec<Guid>>;

/// How a driver matches a device.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum IdMatch {
    /// Entry `n` of the driver's id table.
    Table(usize),
    /// A dynamic id, or the device's `driver_override`.
    Other,
}

/// A VMBus driver as the driver core sees it (`struct hv_driver`).
///
/// # Invariants
///
/// Once registered: `driver` is registered on [`bus::BUS`]; `probe`/`remove` are the
/// [`Adapter`] functions of the driver's type; `id_table` is its id table (terminated by a
/// zeroed entry) or NULL; `dynids` comes from `ForeignOwnable::into_foreign()` of a
/// `Pin<KBox<DynIds>>` and lives until unregistration.
#[repr(C)]
#[derive(pin_init::Zeroable)]
pub struct RawDriver {
    driver: bindings::device_driver,
    probe: Option<unsafe fn(*mut bindings::device, Option<usize>) -> c_int>,
    remove: Option<unsafe fn(*mut bindings::device)>,
    id_table: *const bindings::hv_vmbus_device_id,
    hvsock: bool,
    dynids: *mut c_void,
}

impl Default for RawDriver {
    fn default() -> Self {
        pin_init::zeroed()
    }
}

impl RawDriver {
    /// Returns the VMBus driver containing `drv`.
    ///
    /// # Safety
    ///
    /// `drv` is a driver registered on [`bus::BUS`], registered for `'a`.
    pub(crate) unsafe fn from_driver<'a>(drv: *const bindings::device_driver) -> &'a Self {
        // SAFETY: Only `Adapter::register` registers drivers on the VMBus bus, and it registers
        // the `driver` field of a `RawDriver`; the caller guarantees the lifetime.
        unsafe { &*container_of!(drv.cast_mut(), RawDriver, driver) }
    }

    fn dynids(&self) -> Option<Pin<&DynIds>> {
        if self.dynids.is_null() {
            return None;
        }
        // SAFETY: A non-NULL `dynids` comes from `into_foreign()` of a `Pin<KBox<DynIds>>`
        // (type invariant) and lives as long as `self` is registered.
        Some(unsafe { <Pin<KBox<DynIds>> as ForeignOwnable>::borrow(self.dynids) })
    }

    /// Returns the index of `class` in the id table (`hv_vmbus_dev_match()`).
    fn table_index(&self, class: &Guid) -> Option<usize> {
        let mut p = self.id_table;
        if p.is_null() {
            return None;
        }
        loop {
            // SAFETY: `id_table` is a table terminated by a zeroed entry (type invariant), and
            // `p` has not gone past it.
            let id = unsafe { &*p };
            let guid = Guid(id.guid.b);
            if guid == Guid::NULL {
                return None;
            }
            if guid == *class {
                return Some(id.driver_data);
            }
            // SAFETY: `p` is not the terminating entry, so the next one exists.
            p = unsafe { p.add(1) };
        }
    }

    /// Returns how the driver matches the device `dev` of class `class`, if it does
    /// (`hv_vmbus_get_id()`): `driver_override` decides first, then the dynamic ids, then
    /// the table.
    ///
    /// # Safety
    ///
    /// `dev` is a live VMBus device.
    pub(crate) unsafe fn match_device(
        &self,
        dev: *mut bindings::device,
        class: &Guid,
    ) -> Option<IdMatch> {
        // SAFETY: `dev` is a live device and `self.driver` a registered driver.
        let over = unsafe {
            ffi::hvrs_device_match_driver_override(
                dev.cast::<c_void>(),
                core::ptr::from_ref(&self.driver).cast::<c_void>(),
            )
        };
        if over == 0 {
            return None;
        }
        if self
            .dynids()
            .is_some_and(|ids| ids.lock().iter().any(|g| g == class))
        {
            return Some(IdMatch::Other);
        }
        if let Some(i) = self.table_index(class) {
            return Some(IdMatch::Table(i));
        }
        (over > 0).then_some(IdMatch::Other)
    }

    /// Returns `true` if the driver takes hv_sock channels.
    pub(crate) fn hvsock(&self) -> bool {
        self.hvsock
    }

    /// Calls the driver's probe.
    ///
    /// # Safety
    ///
    /// `dev` is a live VMBus device being bound to this driver (called from the bus `probe`).
    pub(crate) unsafe fn probe(&self, dev: *mut bindings::device, id: IdMatch) -> c_int {
        let index = match id {
            IdMatch::Table(i) => Some(i),
            IdMatch::Other => None,
        };
        match self.probe {
            // SAFETY: `probe` is `Adapter::<T>::probe_callback` (type invariant); the caller
            // guarantees its requirements.
            Some(probe) => unsafe { probe(dev, index) },
            None => ENODEV.to_errno(),
        }
    }

    /// Calls the driver's remove.
    ///
    /// # Safety
    ///
    /// `dev` is a live VMBus device bound to this driver, being unbound.
    pub(crate) unsafe fn remove(&self, dev: *mut bindings::device) {
        if let Some(remove) = self.remove {
            // SAFETY: `remove` is `Adapter::<T>::remove_callback` (type invariant).
            unsafe { remove(dev) };
        }
    }
}

/// Parses the GUID user space wrote to `new_id` or `remove_id` (`guid_parse()`).
///
/// # Safety
///
/// `buf` is a NUL-terminated string.
unsafe fn parse_guid(buf: *const c_char) -> Result<Guid> {
    let mut guid: bindings::guid_t = pin_init::zeroed();
    // SAFETY: `buf` is NUL-terminated (caller) and `guid` is valid for writes; `guid_parse()`
    // reads at most the 36 characters of a GUID, stopping at the NUL.
    kernel::error::to_result(unsafe { bindings::guid_parse(buf, &mut guid) })?;
    Ok(Guid(guid.b))
}

/// Adds a dynamic id and binds matching devices (`new_id_store()`).
///
/// # Safety
///
/// `drv` is a registered VMBus driver; `buf` is NUL-terminated.
pub(crate) unsafe fn add_dynid(drv: *mut bindings::device_driver, buf: *const c_char) -> Result {
    // SAFETY: By the caller's guarantee.
    let (rdrv, guid) = unsafe { (RawDriver::from_driver(drv), parse_guid(buf)?) };
    let ids = rdrv.dynids().ok_or(ENODEV)?;
    {
        let mut ids = ids.lock();
        if ids.contains(&guid) {
            return Err(EEXIST);
        }
        ids.push(guid, GFP_ATOMIC)?;
    }
    // SAFETY: `drv` is registered.
    kernel::error::to_result(unsafe { bindings::driver_attach(drv) })
}

/// Removes a dynamic id (`remove_id_store()`).
///
/// # Safety
///
/// `drv` is a registered VMBus driver; `buf` is NUL-terminated.
pub(crate) unsafe fn remove_dynid(drv: *mut bindings::device_driver, buf: *const c_char) -> Result {
    // SAFETY: By the caller's guarantee.
    let (rdrv, guid) = unsafe { (RawDriver::from_driver(drv), parse_guid(buf)?) };
    let ids = rdrv.dynids().ok_or(ENODEV)?;
    let mut ids = ids.lock();
    let i = ids.iter().position(|g| *g == guid).ok_or(ENODEV)?;
    ids.remove(i).map_err(|_| ENODEV)?;
    Ok(())
}

/// An entry of a VMBus driver's id table (`struct hv_vmbus_device_id`): a device class GUID.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct DeviceId(bindings::hv_vmbus_device_id);

impl DeviceId {
    /// Returns the id of device class `class`.
    pub const fn new(class: Guid) -> Self {
        let mut id: bindings::hv_vmbus_device_id = pin_init::zeroed();
        id.guid.b = class.0;
        Self(id)
    }
}

// SAFETY: `DeviceId` is a transparent wrapper of `hv_vmbus_device_id` with no other invariant.
unsafe impl RawDeviceId for DeviceId {
    type RawType = bindings::hv_vmbus_device_id;
}

// SAFETY: `driver_data` is a `kernel_ulong_t`, which is `usize`.
unsafe impl RawDeviceIdIndex for DeviceId {
    const DRIVER_DATA_OFFSET: usize = offset_of!(bindings::hv_vmbus_device_id, driver_data);

    fn index(&self) -> usize {
        self.0.driver_data
    }
}

/// The id table of a VMBus driver.
pub type IdTable<T> = &'static dyn kernel::device_id::IdTable<DeviceId, T>;

/// Creates a VMBus id table and its `vmbus:` module aliases for modpost.
///
/// # Examples
///
/// ```ignore
/// vmbus::vmbus_device_table!(
///     VMBUS_TABLE,
///     MODULE_VMBUS_TABLE,
///     <MyDriver as vmbus::hv::driver::Driver>::IdInfo,
///     [(vmbus::hv::driver::DeviceId::new(vmbus::proto::guid::HV_DM), ())]
/// );
/// ```
#[macro_export]
macro_rules! vmbus_device_table {
    ($table_name:ident, $module_table_name:ident, $id_info_type: ty, $table_data: expr) => {
        const $table_name: ::kernel::device_id::IdArray<
            $crate::hv::driver::DeviceId,
            $id_info_type,
            { $table_data.len() },
        > = ::kernel::device_id::IdArray::new($table_data);

        ::kernel::module_device_table!("vmbus", $module_table_name, $table_name);
    };
}

/// Declares a kernel module that exposes a single VMBus driver.
#[macro_export]
macro_rules! module_vmbus_driver {
    ($($f:tt)*) => {
        ::kernel::module_driver!(<T>, $crate::hv::driver::Adapter<T>, { $($f)* });
    };
}

/// A VMBus driver.
pub trait Driver {
    /// Per-id information from the id table.
    type IdInfo: 'static;

    /// The driver's data of a bound device.
    type Data<'bound>: Send + 'bound;

    /// The device classes the driver binds to.
    const ID_TABLE: IdTable<Self::IdInfo>;

    /// Whether the driver takes the hv_sock channels (only `hv_sock` does).
    const HVSOCK: bool = false;

    /// Whether the driver core may bind the driver's devices asynchronously
    /// (`PROBE_PREFER_ASYNCHRONOUS`, as `hv_storvsc` asks): a long probe (a SCSI host scan)
    /// then holds up neither module loading nor the probes of other devices.
    const PROBE_PREFER_ASYNCHRONOUS: bool = false;

    /// Binds the driver to `dev`; `id_info` is the matching table entry's information, `None`
    /// for a device matched through `new_id` or `driver_override`.
    fn probe<'bound>(
        dev: &'bound Device<device::Core<'_>>,
        id_info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound;

    /// Unbinds the driver from `dev`, before `this` is dropped (optional).
    fn unbind<'bound>(dev: &'bound Device<device::Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        let _ = (dev, this);
    }
}

/// The adapter between a [`Driver`] and the driver core.
pub struct Adapter<T: Driver>(PhantomData<T>);

// SAFETY:
// - `RawDriver` is `repr(C)` and embeds a `struct device_driver` at `DEVICE_DRIVER_OFFSET`.
// - `T::Data` is what `probe_callback` stores as the device's driver data.
unsafe impl<T: Driver> driver::DriverLayout for Adapter<T> {
    type DriverType = RawDriver;
    type DriverData<'bound> = T::Data<'bound>;
    const DEVICE_DRIVER_OFFSET: usize = offset_of!(RawDriver, driver);
}

/// Allocates a driver's list of dynamic ids (`new_id`).
///
/// Not generic, and never inlined into the generic `register`: the lock's class (its static key
/// and its name) then lives in `hv_vmbus` once, whichever module registers a driver. Created
/// from the drivers' own modules, the one key would come with a name string in each module,
/// which lockdep reports as two classes with the same key.
#[inline(never)]
fn new_dynids() -> Result<Pin<KBox<DynIds>>> {
    KBox::pin_init(new_spinlock!(KVec::new()), GFP_KERNEL)
}

// SAFETY: `unregister` undoes a successful `register` of the same `RawDriver`.
unsafe impl<T: Driver + 'static> driver::RegistrationOps for Adapter<T> {
    unsafe fn register(
        reg: &Opaque<RawDriver>,
        name: &'static CStr,
        module: &'static ThisModule,
    ) -> Result {
        let dynids = new_dynids()?;
        let raw = reg.get();
        // INVARIANT: The fields are set as `RawDriver` requires before registering it.
        // SAFETY: `reg` is a pinned, default-initialized `RawDriver` that is not registered
        // yet, so we may set its fields.
        unsafe {
            (*raw).driver.name = name.as_char_ptr();
            (*raw).driver.mod_name = name.as_char_ptr();
            (*raw).driver.owner = module.as_ptr();
            (*raw).driver.bus = bus::BUS.get();
            (*raw).driver.probe_type = if T::PROBE_PREFER_ASYNCHRONOUS {
                bindings::probe_type_PROBE_PREFER_ASYNCHRONOUS
            } else {
                bindings::probe_type_PROBE_DEFAULT_STRATEGY
            };
            (*raw).probe = Some(Self::probe_callback);
            (*raw).remove = Some(Self::remove_callback);
            (*raw).id_table = T::ID_TABLE.as_ptr();
            (*raw).hvsock = T::HVSOCK;
            (*raw).dynids = dynids.into_foreign();
        }
        // SAFETY: The driver is fully set up; the caller keeps `reg` pinned until unregister.
        let ret = unsafe { bindings::driver_register(&raw mut (*raw).driver) };
        if ret != 0 {
            // SAFETY: `dynids` was set just above from `into_foreign()`.
            drop(unsafe { <Pin<KBox<DynIds>>>::from_foreign((*raw).dynids) });
            return Err(Error::from_errno(ret));
        }
        Ok(())
    }

    unsafe fn unregister(reg: &Opaque<RawDriver>) {
        let raw = reg.get();
        // SAFETY: By the trait's requirement `reg` was registered; after `driver_unregister()`
        // no device is bound and no sysfs file of the driver runs, so the ids can go.
        unsafe {
            bindings::driver_unregister(&raw mut (*raw).driver);
            drop(<Pin<KBox<DynIds>>>::from_foreign((*raw).dynids));
        }
    }
}

impl<T: Driver + 'static> Adapter<T> {
    /// # Safety
    ///
    /// `dev` is a live VMBus device being bound to `T` by the driver core.
    unsafe fn probe_callback(dev: *mut bindings::device, index: Option<usize>) -> c_int {
        // SAFETY: The bus `probe` runs in the `CoreInternal` context of the device.
        let dev = unsafe { Device::<device::CoreInternal<'_>>::from_raw(dev) };
        // The index comes from the driver's own table, so it is in range.
        let info = index.map(|i| T::ID_TABLE.info(i));
        from_result(|| {
            let data = T::probe(dev, info);
            dev.as_ref().set_drvdata(data)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// `dev` is a live VMBus device bound to `T`, being unbound by the driver core.
    unsafe fn remove_callback(dev: *mut bindings::device) {
        // SAFETY: The bus `remove` runs in the `CoreInternal` context of the device.
        let dev = unsafe { Device::<device::CoreInternal<'_>>::from_raw(dev) };
        // SAFETY: `probe_callback` succeeded for this device (else it would not be bound) and
        // stored a `Pin<KBox<T::Data>>`; the driver core frees it only after this returns.
        let data = unsafe { dev.as_ref().drvdata_borrow::<T::Data<'_>>() };
        T::unbind(dev, data);
    }
}
