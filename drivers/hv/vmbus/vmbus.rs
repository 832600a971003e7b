// SPDX-License-Identifier: GPL-2.0

//! Hyper-V VMBus bus driver.
//!
//! The bus binds, like the C driver (`drivers/hv/vmbus_drv.c`), to the ACPI device that Hyper-V
//! describes as `VMBUS`/`VMBus`; its probe brings up the SynIC and the connection to the host,
//! whose channel offers become devices on the `vmbus` bus. This crate also carries the protocol
//! core ([`proto`]) and the kernel abstractions ([`hv`]) that the other modules use.

use kernel::{
    acpi,
    device::Core,
    platform,
    prelude::*,
    sync::aref::ARef, //
};

#[path = "../../../rust/hv_proto/src/proto.rs"]
#[allow(dead_code, unreachable_pub)]
pub mod proto;

#[path = "../../../rust/hv/mod.rs"]
pub mod hv;

/// The VMBus root device: the ACPI node that carries the bus's MMIO ranges.
struct VmbusRoot {
    pdev: ARef<platform::Device>,
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

impl platform::Driver for VmbusRoot {
    type IdInfo = ();
    type Data<'bound> = Self;
    const ACPI_ID_TABLE: Option<acpi::IdTable<Self::IdInfo>> = Some(&ACPI_TABLE);

    fn probe<'bound>(
        pdev: &'bound platform::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self, Error> + 'bound {
        dev_info!(pdev.as_ref(), "VMBus root device bound\n");
        Ok(Self { pdev: pdev.into() })
    }
}

impl Drop for VmbusRoot {
    fn drop(&mut self) {
        dev_info!(self.pdev.as_ref(), "VMBus root device unbound\n");
    }
}

/// The module: refuses to load off Hyper-V, then registers the ACPI root driver.
#[pin_data]
struct VmbusModule {
    #[pin]
    _root: kernel::driver::Registration<platform::Adapter<VmbusRoot>>,
}

impl kernel::InPlaceModule for VmbusModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pin_init::pin_init_scope(move || {
            if !hv::hypervisor::is_hyperv_initialized() {
                return Err(ENODEV);
            }
            Ok(try_pin_init!(Self {
                _root <- kernel::driver::Registration::new(c"hv_vmbus", module),
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
