// SPDX-License-Identifier: GPL-2.0

//! VMBus devices: one per primary channel the host offers.
//!
//! C source: `vmbus_device_create()`, `vmbus_device_register()`, `vmbus_device_unregister()`,
//! `vmbus_device_release()` and `vmbus_add_channel_kobj()` in
//! [`drivers/hv/vmbus_drv.c`](srctree/drivers/hv/vmbus_drv.c); header
//! [`include/linux/hyperv.h`](srctree/include/linux/hyperv.h) (`struct hv_device`).
//!
//! The bus (the connection's offer handling) creates a [`Registration`] for each primary
//! channel; dropping it removes the device. Drivers see the device as [`Device<Ctx>`], with the
//! type-state contexts of `kernel::device`.

use core::{marker::PhantomData, mem::offset_of, ptr::NonNull};

use kernel::{
    bindings, container_of, device,
    ffi::{c_char, c_uint, c_void},
    prelude::*,
    sync::{aref::AlwaysRefCounted, Arc, ArcBorrow},
    types::Opaque,
};

use super::{bus, channel::Channel, ffi, sysfs};

/// What the bus does when the last reference to one of its devices goes away.
pub trait DeviceOwner: Send + Sync {
    /// The device of `channel` was released (`vmbus_device_release()`): nothing refers to the
    /// channel through it any more. Called in process context.
    fn device_released(self: ArcBorrow<'_, Self>, channel: &Arc<Channel>);
}

/// A VMBus device as the driver core sees it (`struct hv_device`).
///
/// # Invariants
///
/// `dev` is the `struct device` of the VMBus device: its `release` is [`device_release`], which
/// frees this allocation; `channel` and `owner` never change.
#[repr(C)]
pub(crate) struct RawDevice {
    dev: Opaque<bindings::device>,
    dma_parms: Opaque<bindings::device_dma_parameters>,
    dma_mask: Opaque<u64>,
    channel: Arc<Channel>,
    owner: Arc<dyn DeviceOwner>,
}

impl RawDevice {
    /// Returns the VMBus device containing `dev`.
    ///
    /// # Safety
    ///
    /// `dev` is the `struct device` of a live VMBus device (one on [`bus::BUS`]), and stays so
    /// for `'a`.
    pub(crate) unsafe fn from_dev<'a>(dev: *const bindings::device) -> &'a Self {
        // SAFETY: Devices on the VMBus bus are only created by `Registration::new`, which embeds
        // their `struct device` in a `RawDevice`; the caller guarantees it lives for `'a`.
        unsafe { &*container_of!(Opaque::cast_from(dev).cast_mut(), RawDevice, dev) }
    }

    /// Returns the device's channel.
    pub(crate) fn channel(&self) -> &Arc<Channel> {
        &self.channel
    }

    fn as_raw(&self) -> *mut bindings::device {
        self.dev.get()
    }
}

/// The `release` of VMBus devices: frees the [`RawDevice`] and tells the bus.
extern "C" fn device_release(dev: *mut bindings::device) {
    // SAFETY: `release` is only installed on VMBus devices, whose `struct device` is the first
    // field of a `RawDevice` allocated by `KBox` in `Registration::new`; the driver core calls
    // it once, when the last reference is gone.
    let raw = unsafe {
        KBox::from_raw(container_of!(
            Opaque::cast_from(dev).cast_mut(),
            RawDevice,
            dev
        ))
    };
    raw.owner.as_arc_borrow().device_released(&raw.channel);
}

/// A VMBus device, in the type-state context `Ctx` (see `kernel::device`).
///
/// # Invariants
///
/// A `Device` is always the `RawDevice` of a registered (or being registered) VMBus device.
#[repr(transparent)]
pub struct Device<Ctx: device::DeviceContext = device::Normal>(RawDevice, PhantomData<Ctx>);

impl<Ctx: device::DeviceContext> Device<Ctx> {
    /// Returns the device containing `dev`.
    ///
    /// # Safety
    ///
    /// As for [`RawDevice::from_dev`], and the device must be in context `Ctx` for `'a`.
    pub(crate) unsafe fn from_raw<'a>(dev: *mut bindings::device) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper of `RawDevice`; the rest is the caller's
        // guarantee.
        unsafe { &*core::ptr::from_ref(RawDevice::from_dev(dev)).cast::<Self>() }
    }

    /// Returns the channel the device was created for (its primary channel).
    pub fn channel(&self) -> &Arc<Channel> {
        &self.0.channel
    }

    /// Sends a `KOBJ_CHANGE` uevent for the device with the environment variable `var`
    /// (`"NAME=value"`), e.g. `EVENT=hibernate` (`kobject_uevent_env()`). May sleep.
    ///
    /// # Errors
    ///
    /// [`ENOMEM`], or the uevent core's error.
    pub fn uevent_change(&self, var: &CStr) -> Result {
        let mut envp = [var.as_char_ptr().cast_mut(), core::ptr::null_mut()];
        // SAFETY: `dev` is a registered device (type invariant), whose kobject is valid while
        // `self` is borrowed; `envp` is a NULL-terminated array of strings the call only reads.
        kernel::error::to_result(unsafe {
            bindings::kobject_uevent_env(
                &raw mut (*self.0.dev.get()).kobj,
                bindings::kobject_action_KOBJ_CHANGE,
                envp.as_mut_ptr(),
            )
        })
    }
}

// SAFETY: `Device` is a transparent wrapper of `RawDevice`, which does not depend on `Ctx`.
kernel::impl_device_context_deref!(unsafe { Device });
kernel::impl_device_context_into_aref!(Device);

impl<Ctx: device::DeviceContext> AsRef<device::Device<Ctx>> for Device<Ctx> {
    fn as_ref(&self) -> &device::Device<Ctx> {
        // SAFETY: By the type invariant `self.0.dev` is a valid `struct device` for as long as
        // `self` is borrowed, in context `Ctx`.
        unsafe { device::Device::from_raw(self.0.as_raw()) }
    }
}

// SAFETY: `Device` is a transparent wrapper of `RawDevice`, whose `struct device` is at `dev`.
unsafe impl<Ctx: device::DeviceContext> device::AsBusDevice<Ctx> for Device<Ctx> {
    const OFFSET: usize = offset_of!(RawDevice, dev);
}

// SAFETY: VMBus devices are reference counted by their `struct device`.
unsafe impl AlwaysRefCounted for Device {
    fn inc_ref(&self) {
        // SAFETY: A shared reference means the reference count is not zero.
        unsafe { bindings::get_device(self.0.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it owns, so the device is valid here.
        let dev = unsafe { obj.as_ref() }.0.as_raw();
        // SAFETY: As above; this drops that reference.
        unsafe { bindings::put_device(dev) };
    }
}

// SAFETY: A VMBus device is reference counted and may be released from any thread; its fields
// are immutable or atomic.
unsafe impl Send for Device {}

// SAFETY: The methods of `Device` (in the `Normal` context) only read immutable or atomic state.
unsafe impl Sync for Device {}

// SAFETY: As for `Device`; `Bound` only marks that a driver is bound.
unsafe impl Sync for Device<device::Bound> {}

/// The sysfs directory `channels/<relid>/` of a channel (`vmbus_channel.kobj`).
///
/// # Invariants
///
/// `kobj` is initialized with [`sysfs::CHANNEL_KTYPE`], whose `release` frees this allocation.
#[repr(C)]
pub(crate) struct ChannelKobj {
    kobj: Opaque<bindings::kobject>,
    channel: Arc<Channel>,
}

impl ChannelKobj {
    /// Returns the directory containing `kobj`.
    ///
    /// # Safety
    ///
    /// `kobj` is the `kobject` of a live `ChannelKobj`, and stays so for `'a`.
    pub(crate) unsafe fn from_kobj<'a>(kobj: *const bindings::kobject) -> &'a Self {
        // SAFETY: By the caller's guarantee, `kobj` is the first field of a live `ChannelKobj`.
        unsafe { &*container_of!(Opaque::cast_from(kobj).cast_mut(), ChannelKobj, kobj) }
    }

    /// Returns the channel.
    pub(crate) fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Creates `<kset>/<relid>/` with the channel attributes (`vmbus_add_channel_kobj()`).
    fn create(kset: NonNull<bindings::kset>, channel: Arc<Channel>) -> Result<NonNull<Self>> {
        let relid = channel.relid();
        let boxed = KBox::new(
            Self {
                kobj: Opaque::zeroed(),
                channel,
            },
            GFP_KERNEL,
        )?;
        let this = KBox::into_raw(boxed);
        // SAFETY: `this` is valid; its kobject is zeroed, ready for `kobject_init_and_add()`.
        let kobj = unsafe { (*this).kobj.get() };
        // SAFETY: `kobj` is a zeroed kobject; `kset` is a registered kset (the device's
        // `channels`), and a kobject may be placed in it before being added.
        unsafe { (*kobj).kset = kset.as_ptr() };
        // SAFETY: `kobj` is zeroed and not initialized yet; the type is a static with a
        // `release` that frees `this`; the format takes one unsigned integer.
        let ret = unsafe {
            bindings::kobject_init_and_add(
                kobj,
                sysfs::CHANNEL_KTYPE.get(),
                core::ptr::null_mut(),
                c"%u".as_char_ptr(),
                relid as c_uint,
            )
        };
        if ret != 0 {
            // SAFETY: After `kobject_init_and_add()` the kobject is initialized even if adding
            // failed; the put releases `this`.
            unsafe { bindings::kobject_put(kobj) };
            return Err(Error::from_errno(ret));
        }
        // SAFETY: `kobj` is an added kobject; the group is a valid static.
        let ret = unsafe { bindings::sysfs_create_group(kobj, sysfs::CHANNEL_GROUP.get()) };
        if ret != 0 {
            // SAFETY: As above; this removes the directory and releases `this`.
            unsafe { bindings::kobject_put(kobj) };
            return Err(Error::from_errno(ret));
        }
        // SAFETY: `kobj` is an added kobject.
        unsafe { bindings::kobject_uevent(kobj, bindings::kobject_action_KOBJ_ADD) };
        // SAFETY: `kobj` is added with the channel group; `Registration` keeps the reference
        // returned here for a primary channel until after the device is unregistered, a
        // `ChannelDir` keeps it for a subchannel; both unpublish it before deleting it (`del`).
        unsafe { (*this).channel.set_dir(kobj) };
        // INVARIANT: `kobj` was initialized with `CHANNEL_KTYPE`.
        // SAFETY: `this` comes from `KBox::into_raw`, so it is not NULL.
        Ok(unsafe { NonNull::new_unchecked(this) })
    }

    /// Removes the directory from sysfs, keeping the reference `create` returned.
    ///
    /// # Safety
    ///
    /// `this` was returned by `create` and its reference not yet dropped (`put`).
    unsafe fn del(this: NonNull<Self>) {
        // SAFETY: By the caller's guarantee `this` is live.
        let this = unsafe { this.as_ref() };
        // SAFETY: Unpublishing has no precondition.
        unsafe { this.channel.set_dir(core::ptr::null_mut()) };
        // SAFETY: `kobj` was added and is referenced.
        unsafe { bindings::kobject_del(this.kobj.get()) };
    }

    /// Drops the reference `create` returned, which may free `this`.
    ///
    /// # Safety
    ///
    /// `this` was returned by `create` and is not used afterwards.
    unsafe fn put(this: NonNull<Self>) {
        // SAFETY: By the caller's guarantee `this` is live and owns a reference to its kobject.
        unsafe { bindings::kobject_put(this.as_ref().kobj.get()) };
    }
}

/// The `channels` kset of a device, where the directories of its subchannels go.
///
/// # Invariants
///
/// `0` is a registered kset; whoever holds this unregisters it only after dropping it (the
/// [`Registration`] of the device, through [`Channel::detach_kset`]).
pub(crate) struct ChannelKset(NonNull<bindings::kset>);

// SAFETY: A registered kset may be used from any thread; this only names it.
unsafe impl Send for ChannelKset {}

// SAFETY: As above.
unsafe impl Sync for ChannelKset {}

/// The `channels/<relid>/` directory of a subchannel, removed on drop.
///
/// # Invariants
///
/// `0` was returned by [`ChannelKobj::create`] and its reference is owned here.
pub(crate) struct ChannelDir(NonNull<ChannelKobj>);

// SAFETY: The directory is a reference-counted kobject that may be removed from any thread in
// process context.
unsafe impl Send for ChannelDir {}

// SAFETY: `&ChannelDir` gives no access to anything.
unsafe impl Sync for ChannelDir {}

impl ChannelDir {
    /// Creates the directory of subchannel `channel` in `kset` (`vmbus_add_channel_kobj()`).
    ///
    /// # Errors
    ///
    /// [`ENOMEM`], or the kobject core's error.
    pub(crate) fn create(kset: &ChannelKset, channel: Arc<Channel>) -> Result<Self> {
        // INVARIANT: `create` returns a directory whose reference we now own.
        Ok(Self(ChannelKobj::create(kset.0, channel)?))
    }
}

impl Drop for ChannelDir {
    /// Removes the directory (`kobject_del()`) and drops its reference. A subchannel has no
    /// `ring` file, so no driver call reads its published directory (see [`Channel::set_dir`]):
    /// it may go at once.
    fn drop(&mut self) {
        // SAFETY: By the type invariant `self.0` came from `create` and we own its reference,
        // which is not used after this.
        unsafe {
            ChannelKobj::del(self.0);
            ChannelKobj::put(self.0);
        }
    }
}

/// `release` of channel directories: frees the [`ChannelKobj`].
pub(crate) extern "C" fn channel_kobj_release(kobj: *mut bindings::kobject) {
    // SAFETY: `CHANNEL_KTYPE` is only used for `ChannelKobj`s allocated by `KBox` in
    // `ChannelKobj::create`; the kobject core calls `release` once, at the last put.
    drop(unsafe {
        KBox::from_raw(container_of!(
            Opaque::cast_from(kobj).cast_mut(),
            ChannelKobj,
            kobj
        ))
    });
}

/// The registration of a VMBus device: the device exists (and may be bound to a driver) while
/// this lives.
///
/// # Invariants
///
/// `dev` is a registered VMBus device on which this holds the registration reference; `kset` is
/// its `channels` kset and `primary` its primary channel's directory in it; `debug` is NULL or
/// its debugfs directory, whose files point into its channel.
pub struct Registration {
    dev: NonNull<RawDevice>,
    kset: NonNull<bindings::kset>,
    primary: NonNull<ChannelKobj>,
    debug: *mut c_void,
}

// SAFETY: The registration only refers to reference-counted kernel objects, which may be
// unregistered from any thread in process context.
unsafe impl Send for Registration {}

// SAFETY: `&Registration` gives no access to anything.
unsafe impl Sync for Registration {}

impl Registration {
    /// Creates and registers the device of primary channel `channel` under `parent` (the VMBus
    /// root device), named by the channel's instance GUID, with its `channels/<relid>/`
    /// directory (`vmbus_device_create()` + `vmbus_device_register()`).
    ///
    /// When the last reference to the device is dropped, `owner` is told.
    ///
    /// # Errors
    ///
    /// [`ENOMEM`], or the driver core's error (e.g. [`EEXIST`] for a duplicate name).
    pub fn new(
        parent: &device::Device,
        channel: Arc<Channel>,
        owner: Arc<dyn DeviceOwner>,
    ) -> Result<Self> {
        let boxed = KBox::new(
            RawDevice {
                dev: Opaque::zeroed(),
                dma_parms: Opaque::zeroed(),
                dma_mask: Opaque::new(0),
                channel,
                owner,
            },
            GFP_KERNEL,
        )?;
        let raw = KBox::into_raw(boxed);
        // SAFETY: `raw` is valid; these are its own fields.
        let (dev, dma_parms, dma_mask) = unsafe {
            (
                (*raw).dev.get(),
                (*raw).dma_parms.get(),
                (*raw).dma_mask.get(),
            )
        };
        // CAST: `device::Device` is a transparent wrapper of `struct device`.
        let parent = core::ptr::from_ref(parent)
            .cast::<bindings::device>()
            .cast_mut();
        // SAFETY: `dev` is a zeroed `struct device`; `device_initialize()` makes it a
        // reference-counted device whose release is `device_release`, which frees `raw`. The
        // fields set before it are the ones `device_initialize()` leaves alone.
        unsafe {
            bindings::device_initialize(dev);
            (*dev).bus = bus::BUS.get();
            (*dev).parent = parent;
            (*dev).release = Some(device_release);
            (*dev).dma_parms = dma_parms;
            (*dev).dma_mask = dma_mask;
        }
        // SAFETY: `dev` is initialized and owned here; the masks can always be set for 64-bit
        // as the C driver does (the host accesses all of guest memory).
        unsafe {
            bindings::dma_set_mask(dev, u64::MAX);
            bindings::dma_set_coherent_mask(dev, u64::MAX);
        }
        // SAFETY: `raw` is valid; the channel never changes.
        let instance = unsafe { (*raw).channel.instance_id() };
        // SAFETY: `dev` is initialized; `%pUl` formats the 16 bytes behind the pointer, which
        // point into `instance`, alive for the call.
        let ret = unsafe {
            bindings::dev_set_name(
                dev,
                c"%pUl".as_char_ptr(),
                instance.0.as_ptr().cast::<c_char>(),
            )
        };
        let ret = if ret == 0 {
            // SAFETY: As above: the device is initialized, named, and not added yet.
            unsafe { bindings::device_add(dev) }
        } else {
            ret
        };
        if ret != 0 {
            // SAFETY: Drops the reference of `device_initialize()`; its release frees `raw`.
            unsafe { bindings::put_device(dev) };
            return Err(Error::from_errno(ret));
        }
        // SAFETY: `dev` is registered; the kset is created under its kobject.
        let kset = unsafe {
            bindings::kset_create_and_add(
                c"channels".as_char_ptr(),
                core::ptr::null(),
                &raw mut (*dev).kobj,
            )
        };
        let Some(kset) = NonNull::new(kset) else {
            // SAFETY: `dev` is registered by us; this unregisters it and drops our reference.
            unsafe { bindings::device_unregister(dev) };
            return Err(ENOMEM);
        };
        // SAFETY: `raw` is valid while registered.
        let channel = unsafe { (*raw).channel.clone() };
        let primary = match ChannelKobj::create(kset, channel.clone()) {
            Ok(p) => p,
            Err(e) => {
                // SAFETY: The kset and the device were registered above, by us.
                unsafe {
                    bindings::kset_unregister(kset.as_ptr());
                    bindings::device_unregister(dev);
                }
                return Err(e);
            }
        };
        // The subchannels offered meanwhile get their directories now, later ones at once.
        // INVARIANT: The kset is registered until `drop` detaches it first.
        channel.attach_kset(ChannelKset(kset));
        let fuzz = &channel.fuzz;
        // SAFETY: `dev` is registered (named); the knobs are in the channel, which `drop`
        // keeps alive (through the device) until after it removed the directory.
        let debug = unsafe {
            ffi::hvrs_debugfs_add_dev(
                dev.cast::<c_void>(),
                fuzz.state.as_ptr(),
                fuzz.interrupt_delay.as_ptr(),
                fuzz.message_delay.as_ptr(),
            )
        };
        // INVARIANT: The device is registered and holds our reference; `kset`, `primary` and
        // `debug` were created for it.
        Ok(Self {
            // SAFETY: `raw` comes from `KBox::into_raw`, so it is not NULL.
            dev: unsafe { NonNull::new_unchecked(raw) },
            kset,
            primary,
            debug,
        })
    }

    /// Returns the device's channel.
    pub fn channel(&self) -> &Arc<Channel> {
        // SAFETY: The registration keeps the device alive (type invariant).
        unsafe { self.dev.as_ref() }.channel()
    }
}

impl Drop for Registration {
    /// Removes the subchannel directories, the channel directory, the `channels` kset and the
    /// device (`vmbus_device_unregister()`); the driver, if any, is unbound first. The directory's
    /// kobject is freed only after the device is gone, when no driver of it can still use it
    /// (see [`Channel::set_dir`]).
    fn drop(&mut self) {
        if !self.debug.is_null() {
            // SAFETY: `debug` is the device's debugfs directory (type invariant), removed once;
            // afterwards no file of it uses the channel's knobs.
            unsafe { ffi::hvrs_debugfs_remove(self.debug) };
        }
        // The subchannel directories go first, and none is created any more.
        self.channel().detach_kset();
        // SAFETY: By the type invariant all three are ours to remove, in this order.
        unsafe {
            ChannelKobj::del(self.primary);
            bindings::kset_unregister(self.kset.as_ptr());
            bindings::device_unregister(self.dev.as_ref().as_raw());
            ChannelKobj::put(self.primary);
        }
    }
}
