// SPDX-License-Identifier: GPL-2.0

//! Hyper-V VMBus bus driver.
//!
//! The bus binds, like the C driver (`drivers/hv/vmbus_drv.c`), to the ACPI device that Hyper-V
//! describes as `VMBUS`/`VMBus`; its probe brings up the SynIC and the connection to the host,
//! whose channel offers become devices on the `vmbus` bus. This crate also carries the protocol
//! core ([`proto`]) and the kernel abstractions ([`hv`]) that the other modules use.
//!
//! Only a plain guest is supported: not the root partition, and not an isolated (SNP/TDX) VM or
//! one with a paravisor, whose hypercalls and SynIC pages take other paths in the C driver.

use kernel::{
    acpi,
    device::Core,
    platform,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
        Arc,
    }, //
};

#[path = "../../../rust/hv_proto/src/proto.rs"]
#[allow(dead_code, unreachable_pub)]
pub mod proto;

#[path = "../../../rust/hv/mod.rs"]
pub mod hv;

mod channel_mgmt;
mod connection;

use connection::Vmbus;
use hv::{bus, hypervisor, synic::Synic};

/// Set while the VMBus root device is bound and connected (`vmbus_root_device`).
static ROOT_BOUND: Atomic<bool> = Atomic::new(false);

/// Returns the `max_version` module parameter.
pub(crate) fn max_version() -> u32 {
    hv::max_version_param()
}

/// The VMBus root device: the ACPI node of the bus, and the connection it carries.
struct VmbusRoot {
    pdev: ARef<platform::Device>,
    /// The SynIC; `None` once torn down in `drop`.
    synic: Option<Synic>,
    vmbus: Arc<Vmbus>,
}

kernel::acpi_device_table!(
    ACPI_TABLE,
    MODULE_ACPI_TABLE,
    <VmbusRoot as platform::Driver>::IdInfo,
    [
        (acpi::DeviceId::new(c"VMBUS"), ()),
        (acpi::DeviceId::new(c"VMBus"), ()),
    ]
);

impl VmbusRoot {
    /// Brings up the SynIC and connects to the host (`vmbus_bus_init()`).
    fn start(pdev: &platform::Device<Core<'_>>) -> Result<Self> {
        let dev = pdev.as_ref();
        if hypervisor::paravisor_present()
            || hypervisor::isolation_supported()
            || hypervisor::confidential_vmbus_available()
        {
            dev_err!(dev, "isolated VMs and paravisors are not supported\n");
            return Err(ENODEV);
        }
        let vmbus = Vmbus::new(dev.into())?;
        hv::debugfs_init();
        let synic = match Synic::new(vmbus.clone()) {
            Ok(s) => s,
            Err(e) => {
                hv::debugfs_exit();
                return Err(e);
            }
        };
        if let Err(e) = vmbus.connect() {
            vmbus.remove_devices();
            vmbus.unload();
            drop(synic);
            vmbus.drain();
            vmbus.clear_channels();
            hv::debugfs_exit();
            return Err(e);
        }
        dev_dbg!(dev, "{} channels\n", vmbus.channel_count());
        ROOT_BOUND.store(true, Relaxed);
        Ok(Self {
            pdev: pdev.into(),
            synic: Some(synic),
            vmbus,
        })
    }
}

impl platform::Driver for VmbusRoot {
    type IdInfo = ();
    type Data<'bound> = Self;
    const ACPI_ID_TABLE: Option<acpi::IdTable<Self::IdInfo>> = Some(&ACPI_TABLE);

    fn probe<'bound>(
        pdev: &'bound platform::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self, Error> + 'bound {
        Self::start(pdev)
    }
}

impl Drop for VmbusRoot {
    /// Disconnects from the host and stops the SynIC (`vmbus_exit()`).
    fn drop(&mut self) {
        ROOT_BOUND.store(false, Relaxed);
        // Drivers unbind while the connection still works, so they can close their channels.
        self.vmbus.remove_devices();
        hv::synic::stimer_global_cleanup();
        self.vmbus.unload();
        // After the SynIC is gone no host message can be queued; drain what was.
        drop(self.synic.take());
        self.vmbus.drain();
        self.vmbus.clear_channels();
        hv::debugfs_exit();
        dev_dbg!(self.pdev.as_ref(), "VMBus disconnected\n");
    }
}

/// Returns `Ok` if the root device is bound and connected.
fn root_bound() -> Result {
    if ROOT_BOUND.load(Relaxed) {
        Ok(())
    } else {
        Err(ENODEV)
    }
}

/// The module: refuses to load off Hyper-V, then registers the ACPI root driver and fails
/// unless a root device was bound and connected, as `hv_acpi_init()` does.
///
/// The bus type exists before the root device is bound (its probe creates the devices) and
/// after it is unbound: fields are dropped in declaration order, initialized in the order given.
#[pin_data]
struct VmbusModule {
    #[pin]
    _root: kernel::driver::Registration<platform::Adapter<VmbusRoot>>,
    _bound: (),
    _bus: bus::Registration,
}

impl kernel::InPlaceModule for VmbusModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pin_init::pin_init_scope(move || {
            if !hypervisor::is_hyperv_initialized() {
                return Err(ENODEV);
            }
            if hypervisor::is_root_partition() && !hypervisor::is_nested() {
                // The C module loads and does nothing here (for mshv_root); nothing needs ours.
                pr_info!("root partition: no VMBus client\n");
                return Err(ENODEV);
            }
            Ok(try_pin_init!(Self {
                _bus: bus::Registration::new()?,
                _root <- kernel::driver::Registration::new(c"hv_vmbus", module),
                // Probe is synchronous: by now the root device is bound, or there is none.
                _bound: root_bound()?,
            }))
        })
    }
}

module! {
    type: VmbusModule,
    name: "hv_vmbus",
    authors: ["hv-rs developers"],
    description: "Microsoft Hyper-V VMBus driver (Rust)",
    license: "GPL",
}
