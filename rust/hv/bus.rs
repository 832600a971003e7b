// SPDX-License-Identifier: GPL-2.0

//! The `vmbus` bus type.
//!
//! C source: `hv_bus`, `vmbus_match()`, `vmbus_uevent()`, `vmbus_probe()` and `vmbus_remove()`
//! of [`drivers/hv/vmbus_drv.c`](srctree/drivers/hv/vmbus_drv.c).
//!
//! Devices are matched to drivers by device class GUID (see [`super::driver`]); a device's
//! uevent carries `MODALIAS=vmbus:<the class GUID's 16 bytes in hex>`, which udev turns into a
//! `modprobe` of the driver whose id table has that class.

use kernel::{
    bindings,
    ffi::{c_int, c_void},
    prelude::*,
};

use super::{
    cstatic::{c_str, CStatic},
    device::RawDevice,
    driver::RawDriver,
    sysfs::{BUS_GROUPS, DEV_GROUPS, DRV_GROUPS},
};

/// The bus type (`hv_bus`).
pub(crate) static BUS: CStatic<bindings::bus_type> = CStatic::new(bindings::bus_type {
    name: c_str(c"vmbus"),
    bus_groups: BUS_GROUPS
        .get()
        .cast::<*const bindings::attribute_group>()
        .cast_const(),
    dev_groups: DEV_GROUPS
        .get()
        .cast::<*const bindings::attribute_group>()
        .cast_const(),
    drv_groups: DRV_GROUPS
        .get()
        .cast::<*const bindings::attribute_group>()
        .cast_const(),
    match_: Some(bus_match),
    uevent: Some(bus_uevent),
    probe: Some(bus_probe),
    remove: Some(bus_remove),
    driver_override: true,
    ..pin_init::zeroed()
});

/// Matches a device and a driver (`vmbus_match()`): hv_sock channels go to the driver that
/// takes them, every other device to a driver listing its class.
extern "C" fn bus_match(dev: *mut bindings::device, drv: *const bindings::device_driver) -> c_int {
    // SAFETY: The driver core only matches devices and drivers of this bus, both alive during
    // the call.
    let (raw, rdrv) = unsafe { (RawDevice::from_dev(dev), RawDriver::from_driver(drv)) };
    let channel = raw.channel();
    if channel.is_hvsock() {
        return rdrv.hvsock().into();
    }
    // SAFETY: `dev` is a live VMBus device.
    let m = unsafe { rdrv.match_device(dev, &channel.class_id()) };
    m.is_some().into()
}

/// Adds `MODALIAS=vmbus:<hex>` to a device's uevent (`vmbus_uevent()`).
extern "C" fn bus_uevent(
    dev: *const bindings::device,
    env: *mut bindings::kobj_uevent_env,
) -> c_int {
    // SAFETY: The driver core only calls this for devices of this bus, alive during the call.
    let raw = unsafe { RawDevice::from_dev(dev) };
    let class = raw.channel().class_id();
    // SAFETY: `env` is the uevent environment being built; `%*phN` takes a length and a
    // pointer to that many bytes, which `class` provides for the call.
    unsafe {
        bindings::add_uevent_var(
            env,
            c"MODALIAS=vmbus:%*phN".as_char_ptr(),
            16 as c_int,
            class.0.as_ptr().cast::<c_void>(),
        )
    }
}

/// Binds a device to the driver the driver core chose (`vmbus_probe()`).
extern "C" fn bus_probe(dev: *mut bindings::device) -> c_int {
    // SAFETY: The driver core calls `probe` for a device of this bus with `driver` set to the
    // driver being bound; both are alive during the call.
    let (raw, rdrv) = unsafe {
        (
            RawDevice::from_dev(dev),
            RawDriver::from_driver((*dev).driver),
        )
    };
    // SAFETY: `dev` is a live VMBus device.
    let Some(id) = (unsafe { rdrv.match_device(dev, &raw.channel().class_id()) }) else {
        return ENODEV.to_errno();
    };
    // SAFETY: `dev` is being bound to `rdrv`.
    let ret = unsafe { rdrv.probe(dev, id) };
    if ret != 0 {
        // The failed driver's subchannels are closed and its handler forgotten.
        raw.channel().close_subchannels(true);
        // SAFETY: `dev` is alive; its name was set before it was added.
        let name = unsafe { CStr::from_char_ptr(bindings::dev_name(dev)) };
        pr_err!(
            "probe failed for device {} ({})\n",
            name.to_str().unwrap_or("?"),
            ret
        );
    }
    ret
}

/// Unbinds a device from its driver (`vmbus_remove()`).
extern "C" fn bus_remove(dev: *mut bindings::device) {
    // SAFETY: The driver core calls `remove` for a bound device of this bus.
    let drv = unsafe { (*dev).driver };
    if drv.is_null() {
        return;
    }
    // SAFETY: `drv` is the driver `dev` is bound to, a driver of this bus.
    let rdrv = unsafe { RawDriver::from_driver(drv) };
    // SAFETY: `dev` is bound to `rdrv` and being unbound.
    unsafe { rdrv.remove(dev) };
    // Before the driver's data (with its primary channel) goes: the subchannels are closed
    // first, as `vmbus_close()` does, and no more are offered to the driver.
    // SAFETY: `dev` is a live VMBus device.
    unsafe { RawDevice::from_dev(dev) }
        .channel()
        .close_subchannels(true);
}

/// The registration of the `vmbus` bus: `/sys/bus/vmbus` exists while this lives.
///
/// # Invariants
///
/// [`BUS`] is registered.
pub struct Registration(());

impl Registration {
    /// Registers the bus (`bus_register(&hv_bus)`).
    ///
    /// # Errors
    ///
    /// The driver core's error, e.g. [`EBUSY`] if a `vmbus` bus exists (the C `hv_vmbus`).
    pub fn new() -> Result<Self> {
        // SAFETY: `BUS` is a static bus type; it is unregistered in `drop`.
        kernel::error::to_result(unsafe { bindings::bus_register(BUS.get()) })?;
        // INVARIANT: Registered just above.
        Ok(Self(()))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: `BUS` is registered (type invariant); its devices and drivers are gone, as
        // they are owned by the module that owns this registration.
        unsafe { bindings::bus_unregister(BUS.get()) };
    }
}
