// SPDX-License-Identifier: GPL-2.0

//! The sysfs files of the `vmbus` bus, its devices, their channels and their drivers.
//!
//! C source: the attributes of [`drivers/hv/vmbus_drv.c`](srctree/drivers/hv/vmbus_drv.c)
//! (`vmbus_dev_attrs`, `vmbus_chan_attrs`, `vmbus_bus_attrs`, `vmbus_drv_attrs`), user ABI
//! `Documentation/ABI/stable/sysfs-bus-vmbus`.
//!
//! The files are byte-compatible with the C driver's: the same names, modes and order, the
//! same visibility rules, and the same `printf` formats, given to the kernel's own
//! `sysfs_emit()` so that `%pUl` and `%*phN` render exactly as in C.

use core::ptr;

use kernel::{
    bindings,
    cpu::CpuId,
    ffi::{c_char, c_int, c_uint, c_ulonglong},
    mm::virt::VmaNew,
    prelude::*,
};

use super::{
    channel::{Channel, RingDirection},
    cstatic::{c_str, CStatic},
    device::{ChannelKobj, RawDevice},
    driver, ffi,
    monitor::MonitorPage,
};

/// `umode_t` of read-only and read-write files.
const RO: bindings::umode_t = 0o444;
const RW: bindings::umode_t = 0o644;
const WO: bindings::umode_t = 0o200;

/// Returns a `struct attribute` named `name` with mode `mode`.
const fn attribute(name: &'static CStr, mode: bindings::umode_t) -> bindings::attribute {
    bindings::attribute {
        name: c_str(name),
        mode,
        ..pin_init::zeroed()
    }
}

/// The signature of a device attribute's `show`.
type DevShow = fn(&RawDevice, *mut c_char) -> isize;

/// Emits `value` with a one-argument `printf` format.
///
/// # Safety
///
/// `buf` is a sysfs page buffer; `fmt` takes exactly one argument of type `A`, as promoted in
/// C varargs.
unsafe fn emit<A>(buf: *mut c_char, fmt: &CStr, value: A) -> isize
where
    A: VaArg,
{
    // SAFETY: By the caller's guarantee `buf` is a sysfs buffer and `fmt` matches `value`.
    unsafe { value.emit(buf, fmt.as_char_ptr()) }
}

/// A value that can be passed to `sysfs_emit()` as its single variadic argument.
trait VaArg {
    /// Calls `sysfs_emit(buf, fmt, self)`.
    ///
    /// # Safety
    ///
    /// As for [`emit`].
    unsafe fn emit(self, buf: *mut c_char, fmt: *const c_char) -> isize;
}

macro_rules! va_arg {
    ($($t:ty),*) => {
        $(
            impl VaArg for $t {
                unsafe fn emit(self, buf: *mut c_char, fmt: *const c_char) -> isize {
                    // SAFETY: By the caller's guarantee, `fmt` takes one argument of this type.
                    unsafe { bindings::sysfs_emit(buf, fmt, self) as isize }
                }
            }
        )*
    };
}
va_arg!(c_int, c_uint, c_ulonglong, *const u8);

/// Turns a `Result` into the `ssize_t` of a `show`.
fn show_result(r: Result<isize>) -> isize {
    r.unwrap_or_else(|e| e.to_errno() as isize)
}

// ---------------------------------------------------------------------------------------------
// Device attributes (`/sys/bus/vmbus/devices/<guid>/`).

/// A device attribute with a Rust `show`.
#[repr(C)]
pub(crate) struct DevAttr {
    attr: bindings::device_attribute,
    show: DevShow,
}

extern "C" fn dev_attr_show(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: This `show` is only installed on `DevAttr`s, in the group of VMBus devices: `attr`
    // is the first field of a `DevAttr`, and `dev` a live VMBus device while sysfs calls us.
    let (attr, raw) = unsafe { (&*attr.cast::<DevAttr>(), RawDevice::from_dev(dev)) };
    (attr.show)(raw, buf)
}

const fn dev_attr(name: &'static CStr, show: DevShow) -> CStatic<DevAttr> {
    CStatic::new(DevAttr {
        attr: bindings::device_attribute {
            attr: attribute(name, RO),
            __bindgen_anon_1: bindings::device_attribute__bindgen_ty_1 {
                show: Some(dev_attr_show),
            },
            __bindgen_anon_2: bindings::device_attribute__bindgen_ty_2 { store: None },
        },
        show,
    })
}

/// Returns the `struct attribute` of a device attribute, for the group's array.
const fn dev_attr_ptr(a: &'static CStatic<DevAttr>) -> *mut bindings::attribute {
    // SAFETY: `a` is a static `DevAttr`, whose first field is a `device_attribute` starting with
    // its `attribute`.
    unsafe { &raw mut (*a.get()).attr.attr }
}

fn show_u32_d(buf: *mut c_char, v: u32) -> isize {
    // SAFETY: One `int` for `%d`, as the C driver prints these (a `u32` above 2^31 shows
    // negative in both).
    unsafe { emit(buf, c"%d\n", v as c_int) }
}

fn show_u32_u(buf: *mut c_char, v: u32) -> isize {
    // SAFETY: One `unsigned int` for `%u`.
    unsafe { emit(buf, c"%u\n", v as c_uint) }
}

fn show_guid(buf: *mut c_char, g: &crate::proto::guid::Guid) -> isize {
    // SAFETY: `%pUl` takes a pointer to 16 bytes, which `g` provides for the call.
    unsafe { emit(buf, c"{%pUl}\n", g.0.as_ptr()) }
}

static DEV_ID: CStatic<DevAttr> = dev_attr(c"id", |d, buf| show_u32_d(buf, d.channel().relid()));
static DEV_STATE: CStatic<DevAttr> =
    dev_attr(c"state", |d, buf| show_u32_d(buf, d.channel().state()));
static DEV_MONITOR_ID: CStatic<DevAttr> = dev_attr(c"monitor_id", |d, buf| {
    show_u32_d(buf, d.channel().monitor_id().into())
});
static DEV_CLASS_ID: CStatic<DevAttr> = dev_attr(c"class_id", |d, buf| {
    show_guid(buf, &d.channel().class_id())
});
static DEV_DEVICE_ID: CStatic<DevAttr> = dev_attr(c"device_id", |d, buf| {
    show_guid(buf, &d.channel().instance_id())
});
static DEV_MODALIAS: CStatic<DevAttr> = dev_attr(c"modalias", |d, buf| {
    let class = d.channel().class_id();
    // SAFETY: `%*phN` takes a length (`int`) and a pointer to that many bytes.
    unsafe {
        bindings::sysfs_emit(
            buf,
            c"vmbus:%*phN\n".as_char_ptr(),
            16 as c_int,
            class.0.as_ptr(),
        ) as isize
    }
});
static DEV_SERVER_MONITOR_PENDING: CStatic<DevAttr> =
    dev_attr(c"server_monitor_pending", |d, buf| {
        show_u32_d(buf, d.channel().monitor_pending(MonitorPage::ParentToChild))
    });
static DEV_CLIENT_MONITOR_PENDING: CStatic<DevAttr> =
    dev_attr(c"client_monitor_pending", |d, buf| {
        show_u32_d(buf, d.channel().monitor_pending(MonitorPage::ChildToParent))
    });
static DEV_SERVER_MONITOR_LATENCY: CStatic<DevAttr> =
    dev_attr(c"server_monitor_latency", |d, buf| {
        show_u32_d(buf, d.channel().monitor_latency(MonitorPage::ParentToChild))
    });
static DEV_CLIENT_MONITOR_LATENCY: CStatic<DevAttr> =
    dev_attr(c"client_monitor_latency", |d, buf| {
        show_u32_d(buf, d.channel().monitor_latency(MonitorPage::ChildToParent))
    });
static DEV_SERVER_MONITOR_CONN_ID: CStatic<DevAttr> =
    dev_attr(c"server_monitor_conn_id", |d, buf| {
        show_u32_d(buf, d.channel().monitor_conn_id(MonitorPage::ParentToChild))
    });
static DEV_CLIENT_MONITOR_CONN_ID: CStatic<DevAttr> =
    dev_attr(c"client_monitor_conn_id", |d, buf| {
        show_u32_d(buf, d.channel().monitor_conn_id(MonitorPage::ChildToParent))
    });

/// The ring debug attributes (`hv_ringbuffer_get_debuginfo()`), `-EINVAL` while closed.
macro_rules! ring_attr {
    ($static:ident, $name:literal, $dir:expr, $fmt:literal, $field:ident) => {
        static $static: CStatic<DevAttr> = dev_attr($name, |d, buf| {
            show_result(d.channel().ring_debug($dir).map(|info| {
                // SAFETY: One `int`/`unsigned int` for the single conversion of the format.
                unsafe { emit(buf, $fmt, info.$field as c_int) }
            }))
        });
    };
}
ring_attr!(
    DEV_OUT_INTR_MASK,
    c"out_intr_mask",
    RingDirection::Out,
    c"%d\n",
    interrupt_mask
);
ring_attr!(
    DEV_OUT_READ_INDEX,
    c"out_read_index",
    RingDirection::Out,
    c"%u\n",
    read_index
);
ring_attr!(
    DEV_OUT_WRITE_INDEX,
    c"out_write_index",
    RingDirection::Out,
    c"%u\n",
    write_index
);
ring_attr!(
    DEV_OUT_READ_BYTES_AVAIL,
    c"out_read_bytes_avail",
    RingDirection::Out,
    c"%d\n",
    bytes_avail_toread
);
ring_attr!(
    DEV_OUT_WRITE_BYTES_AVAIL,
    c"out_write_bytes_avail",
    RingDirection::Out,
    c"%d\n",
    bytes_avail_towrite
);
ring_attr!(
    DEV_IN_INTR_MASK,
    c"in_intr_mask",
    RingDirection::In,
    c"%d\n",
    interrupt_mask
);
ring_attr!(
    DEV_IN_READ_INDEX,
    c"in_read_index",
    RingDirection::In,
    c"%d\n",
    read_index
);
ring_attr!(
    DEV_IN_WRITE_INDEX,
    c"in_write_index",
    RingDirection::In,
    c"%d\n",
    write_index
);
ring_attr!(
    DEV_IN_READ_BYTES_AVAIL,
    c"in_read_bytes_avail",
    RingDirection::In,
    c"%d\n",
    bytes_avail_toread
);
ring_attr!(
    DEV_IN_WRITE_BYTES_AVAIL,
    c"in_write_bytes_avail",
    RingDirection::In,
    c"%d\n",
    bytes_avail_towrite
);

static DEV_CHANNEL_VP_MAPPING: CStatic<DevAttr> = dev_attr(c"channel_vp_mapping", |d, buf| {
    let mut n: isize = 0;
    d.channel().for_each_channel(|c| {
        let at = c_int::try_from(n).unwrap_or(c_int::MAX);
        // SAFETY: `at` is what was written so far; the format takes two `unsigned int`s.
        let w = unsafe {
            bindings::sysfs_emit_at(
                buf,
                at,
                c"%u:%u\n".as_char_ptr(),
                c.relid() as c_uint,
                c.target_cpu() as c_uint,
            )
        };
        n += w as isize;
    });
    n
});
/// `PCI_VENDOR_ID_MICROSOFT`, the `vendor` of every VMBus device.
const PCI_VENDOR_ID_MICROSOFT: c_uint = 0x1414;
static DEV_VENDOR: CStatic<DevAttr> = dev_attr(c"vendor", |_, buf| {
    // SAFETY: One `unsigned int` for `%x`.
    unsafe { emit(buf, c"0x%x\n", PCI_VENDOR_ID_MICROSOFT) }
});
static DEV_DEVICE: CStatic<DevAttr> = dev_attr(c"device", |d, buf| {
    // SAFETY: One `unsigned int` for `%x`: the class number (`enum hv_dev_type`).
    unsafe { emit(buf, c"0x%x\n", d.channel().dev_type() as c_uint) }
});

/// The attributes of a VMBus device, in the C driver's order (`vmbus_dev_attrs`; without
/// `numa_node`, which only exists with `CONFIG_NUMA`).
static DEV_ATTRS: CStatic<[*mut bindings::attribute; 26]> = CStatic::new([
    dev_attr_ptr(&DEV_ID),
    dev_attr_ptr(&DEV_STATE),
    dev_attr_ptr(&DEV_MONITOR_ID),
    dev_attr_ptr(&DEV_CLASS_ID),
    dev_attr_ptr(&DEV_DEVICE_ID),
    dev_attr_ptr(&DEV_MODALIAS),
    dev_attr_ptr(&DEV_SERVER_MONITOR_PENDING),
    dev_attr_ptr(&DEV_CLIENT_MONITOR_PENDING),
    dev_attr_ptr(&DEV_SERVER_MONITOR_LATENCY),
    dev_attr_ptr(&DEV_CLIENT_MONITOR_LATENCY),
    dev_attr_ptr(&DEV_SERVER_MONITOR_CONN_ID),
    dev_attr_ptr(&DEV_CLIENT_MONITOR_CONN_ID),
    dev_attr_ptr(&DEV_OUT_INTR_MASK),
    dev_attr_ptr(&DEV_OUT_READ_INDEX),
    dev_attr_ptr(&DEV_OUT_WRITE_INDEX),
    dev_attr_ptr(&DEV_OUT_READ_BYTES_AVAIL),
    dev_attr_ptr(&DEV_OUT_WRITE_BYTES_AVAIL),
    dev_attr_ptr(&DEV_IN_INTR_MASK),
    dev_attr_ptr(&DEV_IN_READ_INDEX),
    dev_attr_ptr(&DEV_IN_WRITE_INDEX),
    dev_attr_ptr(&DEV_IN_READ_BYTES_AVAIL),
    dev_attr_ptr(&DEV_IN_WRITE_BYTES_AVAIL),
    dev_attr_ptr(&DEV_CHANNEL_VP_MAPPING),
    dev_attr_ptr(&DEV_VENDOR),
    dev_attr_ptr(&DEV_DEVICE),
    ptr::null_mut(),
]);

/// Hides the monitor attributes of channels without MNF (`vmbus_dev_attr_is_visible()`).
extern "C" fn dev_attr_is_visible(
    kobj: *mut bindings::kobject,
    attr: *mut bindings::attribute,
    _idx: c_int,
) -> bindings::umode_t {
    // SAFETY: `kobj` is the kobject of a VMBus device (this group is only in its `dev_groups`),
    // which sysfs keeps alive during the call; `attr` is one of `DEV_ATTRS`.
    let (raw, mode) = unsafe {
        let dev = kernel::container_of!(kobj, bindings::device, kobj);
        (RawDevice::from_dev(dev), (*attr).mode)
    };
    let monitor = [
        &DEV_MONITOR_ID,
        &DEV_SERVER_MONITOR_PENDING,
        &DEV_CLIENT_MONITOR_PENDING,
        &DEV_SERVER_MONITOR_LATENCY,
        &DEV_CLIENT_MONITOR_LATENCY,
        &DEV_SERVER_MONITOR_CONN_ID,
        &DEV_CLIENT_MONITOR_CONN_ID,
    ];
    if !raw.channel().monitor_allocated() && monitor.iter().any(|a| dev_attr_ptr(a) == attr) {
        return 0;
    }
    mode
}

static DEV_GROUP: CStatic<bindings::attribute_group> = CStatic::new(bindings::attribute_group {
    __bindgen_anon_1: bindings::attribute_group__bindgen_ty_1 {
        is_visible: Some(dev_attr_is_visible),
    },
    __bindgen_anon_2: bindings::attribute_group__bindgen_ty_2 {
        attrs: DEV_ATTRS.get().cast(),
    },
    ..pin_init::zeroed()
});

/// `dev_groups` of the bus.
pub(crate) static DEV_GROUPS: CStatic<[*const bindings::attribute_group; 2]> =
    CStatic::new([DEV_GROUP.get().cast_const(), ptr::null()]);

// ---------------------------------------------------------------------------------------------
// Channel attributes (`/sys/bus/vmbus/devices/<guid>/channels/<relid>/`).

type ChanShow = fn(&Channel, *mut c_char) -> isize;
type ChanStore = fn(&Channel, &[u8]) -> Result;

/// A channel attribute (`struct vmbus_chan_attribute`).
#[repr(C)]
pub(crate) struct ChanAttr {
    attr: bindings::attribute,
    show: Option<ChanShow>,
    store: Option<ChanStore>,
}

const fn chan_attr(
    name: &'static CStr,
    mode: bindings::umode_t,
    show: Option<ChanShow>,
    store: Option<ChanStore>,
) -> CStatic<ChanAttr> {
    CStatic::new(ChanAttr {
        attr: attribute(name, mode),
        show,
        store,
    })
}

const fn chan_attr_ptr(a: &'static CStatic<ChanAttr>) -> *mut bindings::attribute {
    // SAFETY: `a` is a static `ChanAttr` whose first field is its `attribute`.
    unsafe { &raw mut (*a.get()).attr }
}

/// `show` of the channel `sysfs_ops` (`vmbus_chan_attr_show()`).
extern "C" fn chan_attr_show(
    kobj: *mut bindings::kobject,
    attr: *mut bindings::attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: These `sysfs_ops` are only in `CHANNEL_KTYPE`, whose kobjects are `ChannelKobj`s
    // with `ChanAttr` attributes; sysfs keeps the kobject alive during the call.
    let (attr, k) = unsafe { (&*attr.cast::<ChanAttr>(), ChannelKobj::from_kobj(kobj)) };
    match attr.show {
        Some(show) => show(k.channel(), buf),
        None => EIO.to_errno() as isize,
    }
}

/// `store` of the channel `sysfs_ops` (`vmbus_chan_attr_store()`).
extern "C" fn chan_attr_store(
    kobj: *mut bindings::kobject,
    attr: *mut bindings::attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: As in `chan_attr_show`; `buf` holds `count` bytes written by user space.
    let (attr, k, input) = unsafe {
        (
            &*attr.cast::<ChanAttr>(),
            ChannelKobj::from_kobj(kobj),
            core::slice::from_raw_parts(buf.cast::<u8>(), count),
        )
    };
    let Some(store) = attr.store else {
        return EIO.to_errno() as isize;
    };
    match store(k.channel(), input) {
        Ok(()) => isize::try_from(count).unwrap_or(isize::MAX),
        Err(e) => e.to_errno() as isize,
    }
}

fn show_u64(buf: *mut c_char, v: u64) -> isize {
    // SAFETY: One `unsigned long long` for `%llu`.
    unsafe { emit(buf, c"%llu\n", v as c_ulonglong) }
}

/// Parses a decimal `u32` the way `sscanf(buf, "%u", ...)` does: leading white space, digits,
/// anything after them ignored.
fn parse_u32(input: &[u8]) -> Option<u32> {
    let s = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .and_then(|i| input.get(i..))?;
    let s = s.strip_prefix(b"+").unwrap_or(s);
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let mut v: u32 = 0;
    for b in s.get(..digits)?.iter().copied() {
        v = v.wrapping_mul(10).wrapping_add(u32::from(b - b'0'));
    }
    (digits > 0).then_some(v)
}

static CHAN_OUT_MASK: CStatic<ChanAttr> = chan_attr(
    c"out_mask",
    RO,
    Some(|c, buf| {
        show_result(
            c.ring_debug(RingDirection::Out)
                .map(|i| show_u32_u(buf, i.interrupt_mask)),
        )
    }),
    None,
);
static CHAN_IN_MASK: CStatic<ChanAttr> = chan_attr(
    c"in_mask",
    RO,
    Some(|c, buf| {
        show_result(
            c.ring_debug(RingDirection::In)
                .map(|i| show_u32_u(buf, i.interrupt_mask)),
        )
    }),
    None,
);
static CHAN_READ_AVAIL: CStatic<ChanAttr> = chan_attr(
    c"read_avail",
    RO,
    Some(|c, buf| {
        show_result(
            c.ring_debug(RingDirection::In)
                .map(|i| show_u32_u(buf, i.bytes_avail_toread)),
        )
    }),
    None,
);
static CHAN_WRITE_AVAIL: CStatic<ChanAttr> = chan_attr(
    c"write_avail",
    RO,
    Some(|c, buf| {
        show_result(
            c.ring_debug(RingDirection::Out)
                .map(|i| show_u32_u(buf, i.bytes_avail_towrite)),
        )
    }),
    None,
);
static CHAN_CPU: CStatic<ChanAttr> = chan_attr(
    c"cpu",
    RW,
    Some(|c, buf| show_u32_u(buf, c.target_cpu())),
    Some(|c, input| {
        let cpu = parse_u32(input).ok_or(EIO)?;
        c.set_cpu_from_sysfs(
            cpu,
            super::cpu_can_target(cpu)
                .then(|| CpuId::from_u32(cpu))
                .flatten(),
        )
    }),
);
static CHAN_PENDING: CStatic<ChanAttr> = chan_attr(
    c"pending",
    RO,
    Some(|c, buf| show_u32_d(buf, c.monitor_pending(MonitorPage::ChildToParent))),
    None,
);
static CHAN_LATENCY: CStatic<ChanAttr> = chan_attr(
    c"latency",
    RO,
    Some(|c, buf| show_u32_d(buf, c.monitor_latency(MonitorPage::ChildToParent))),
    None,
);
static CHAN_INTERRUPTS: CStatic<ChanAttr> = chan_attr(
    c"interrupts",
    RO,
    Some(|c, buf| show_u64(buf, c.stats.interrupts.load(kernel::sync::atomic::Relaxed))),
    None,
);
static CHAN_EVENTS: CStatic<ChanAttr> = chan_attr(
    c"events",
    RO,
    Some(|c, buf| show_u64(buf, c.stats.sig_events.load(kernel::sync::atomic::Relaxed))),
    None,
);
static CHAN_INTR_IN_FULL: CStatic<ChanAttr> = chan_attr(
    c"intr_in_full",
    RO,
    Some(|c, buf| {
        show_u64(
            buf,
            c.stats.intr_in_full.load(kernel::sync::atomic::Relaxed),
        )
    }),
    None,
);
static CHAN_INTR_OUT_EMPTY: CStatic<ChanAttr> = chan_attr(
    c"intr_out_empty",
    RO,
    Some(|c, buf| {
        show_u64(
            buf,
            c.stats.intr_out_empty.load(kernel::sync::atomic::Relaxed),
        )
    }),
    None,
);
static CHAN_OUT_FULL_FIRST: CStatic<ChanAttr> = chan_attr(
    c"out_full_first",
    RO,
    Some(|c, buf| {
        show_u64(
            buf,
            c.stats.out_full_first.load(kernel::sync::atomic::Relaxed),
        )
    }),
    None,
);
static CHAN_OUT_FULL_TOTAL: CStatic<ChanAttr> = chan_attr(
    c"out_full_total",
    RO,
    Some(|c, buf| {
        show_u64(
            buf,
            c.stats.out_full_total.load(kernel::sync::atomic::Relaxed),
        )
    }),
    None,
);
static CHAN_MONITOR_ID: CStatic<ChanAttr> = chan_attr(
    c"monitor_id",
    RO,
    Some(|c, buf| show_u32_u(buf, c.monitor_id().into())),
    None,
);
static CHAN_SUBCHANNEL_ID: CStatic<ChanAttr> = chan_attr(
    c"subchannel_id",
    RO,
    Some(|c, buf| show_u32_u(buf, c.sub_channel_index().into())),
    None,
);

/// The attributes of a channel directory, in the C driver's order (`vmbus_chan_attrs`).
static CHAN_ATTRS: CStatic<[*mut bindings::attribute; 16]> = CStatic::new([
    chan_attr_ptr(&CHAN_OUT_MASK),
    chan_attr_ptr(&CHAN_IN_MASK),
    chan_attr_ptr(&CHAN_READ_AVAIL),
    chan_attr_ptr(&CHAN_WRITE_AVAIL),
    chan_attr_ptr(&CHAN_CPU),
    chan_attr_ptr(&CHAN_PENDING),
    chan_attr_ptr(&CHAN_LATENCY),
    chan_attr_ptr(&CHAN_INTERRUPTS),
    chan_attr_ptr(&CHAN_EVENTS),
    chan_attr_ptr(&CHAN_INTR_IN_FULL),
    chan_attr_ptr(&CHAN_INTR_OUT_EMPTY),
    chan_attr_ptr(&CHAN_OUT_FULL_FIRST),
    chan_attr_ptr(&CHAN_OUT_FULL_TOTAL),
    chan_attr_ptr(&CHAN_MONITOR_ID),
    chan_attr_ptr(&CHAN_SUBCHANNEL_ID),
    ptr::null_mut(),
]);

/// Hides the monitor attributes of channels without MNF (`vmbus_chan_attr_is_visible()`).
extern "C" fn chan_attr_is_visible(
    kobj: *mut bindings::kobject,
    attr: *mut bindings::attribute,
    _idx: c_int,
) -> bindings::umode_t {
    // SAFETY: This group is only created on `ChannelKobj`s, alive during the call; `attr` is
    // one of `CHAN_ATTRS`.
    let (k, mode) = unsafe { (ChannelKobj::from_kobj(kobj), (*attr).mode) };
    let monitor = [&CHAN_PENDING, &CHAN_LATENCY, &CHAN_MONITOR_ID];
    if !k.channel().monitor_allocated() && monitor.iter().any(|a| chan_attr_ptr(a) == attr) {
        return 0;
    }
    mode
}

/// `mmap` of the binary `ring` file (`hv_mmap_ring_buffer_wrapper()`): both rings of a channel
/// opened for user space.
extern "C" fn ring_mmap(
    _file: *mut bindings::file,
    kobj: *mut bindings::kobject,
    _attr: *const bindings::bin_attribute,
    vma: *mut bindings::vm_area_struct,
) -> c_int {
    // SAFETY: This attribute is only in `CHANNEL_GROUP`, whose kobjects are `ChannelKobj`s that
    // sysfs keeps alive during the call; `vma` is being set up by this `mmap` call.
    let (k, vma) = unsafe { (ChannelKobj::from_kobj(kobj), VmaNew::from_raw(vma)) };
    match k.channel().mmap_ring(vma) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The binary `ring` file: shown only while a driver asks for it (`uio_hv_generic`), mode 0600.
static CHAN_RING: CStatic<bindings::bin_attribute> = CStatic::new(bindings::bin_attribute {
    attr: attribute(c"ring", 0o600),
    mmap: Some(ring_mmap),
    ..pin_init::zeroed()
});

static CHAN_BIN_ATTRS: CStatic<[*const bindings::bin_attribute; 2]> =
    CStatic::new([CHAN_RING.get().cast_const(), ptr::null()]);

/// Hides the `ring` file unless a driver showed it (`vmbus_chan_bin_attr_is_visible()`).
extern "C" fn chan_bin_attr_is_visible(
    kobj: *mut bindings::kobject,
    attr: *const bindings::bin_attribute,
    _idx: c_int,
) -> bindings::umode_t {
    // SAFETY: As in `chan_attr_is_visible`; `attr` is `CHAN_RING`.
    let (k, mode) = unsafe { (ChannelKobj::from_kobj(kobj), (*attr).attr.mode) };
    if k.channel().ring_file_size() == 0 {
        return 0;
    }
    mode
}

/// The size of the `ring` file: both rings (`vmbus_chan_bin_size()`).
extern "C" fn chan_bin_size(
    kobj: *mut bindings::kobject,
    _attr: *const bindings::bin_attribute,
    _idx: c_int,
) -> usize {
    // SAFETY: As in `chan_attr_is_visible`.
    unsafe { ChannelKobj::from_kobj(kobj) }
        .channel()
        .ring_file_size()
}

/// The attribute group of channel directories (`vmbus_chan_group`).
pub(crate) static CHANNEL_GROUP: CStatic<bindings::attribute_group> =
    CStatic::new(bindings::attribute_group {
        __bindgen_anon_1: bindings::attribute_group__bindgen_ty_1 {
            is_visible: Some(chan_attr_is_visible),
        },
        is_bin_visible: Some(chan_bin_attr_is_visible),
        bin_size: Some(chan_bin_size),
        __bindgen_anon_2: bindings::attribute_group__bindgen_ty_2 {
            attrs: CHAN_ATTRS.get().cast(),
        },
        bin_attrs: CHAN_BIN_ATTRS.get().cast(),
        ..pin_init::zeroed()
    });

static CHANNEL_SYSFS_OPS: CStatic<bindings::sysfs_ops> = CStatic::new(bindings::sysfs_ops {
    show: Some(chan_attr_show),
    store: Some(chan_attr_store),
});

/// The kobject type of channel directories (`vmbus_chan_ktype`).
pub(crate) static CHANNEL_KTYPE: CStatic<bindings::kobj_type> = CStatic::new(bindings::kobj_type {
    release: Some(super::device::channel_kobj_release),
    sysfs_ops: CHANNEL_SYSFS_OPS.get().cast_const(),
    ..pin_init::zeroed()
});

// ---------------------------------------------------------------------------------------------
// Bus attributes (`/sys/bus/vmbus/`).

extern "C" fn hibernation_show(_bus: *const bindings::bus_type, buf: *mut c_char) -> isize {
    // SAFETY: The arch function only reads boot-time state.
    let supported = unsafe { ffi::hv_is_hibernation_supported() };
    // SAFETY: One `int` for `%d`.
    unsafe { emit(buf, c"%d\n", c_int::from(supported)) }
}

static BUS_HIBERNATION: CStatic<bindings::bus_attribute> = CStatic::new(bindings::bus_attribute {
    attr: attribute(c"hibernation", RO),
    show: Some(hibernation_show),
    store: None,
});

static BUS_ATTRS: CStatic<[*mut bindings::attribute; 2]> = CStatic::new([
    // SAFETY: `BUS_HIBERNATION` is a static `bus_attribute`.
    unsafe { &raw mut (*BUS_HIBERNATION.get()).attr },
    ptr::null_mut(),
]);

static BUS_GROUP: CStatic<bindings::attribute_group> = CStatic::new(bindings::attribute_group {
    __bindgen_anon_2: bindings::attribute_group__bindgen_ty_2 {
        attrs: BUS_ATTRS.get().cast(),
    },
    ..pin_init::zeroed()
});

/// `bus_groups` of the bus.
pub(crate) static BUS_GROUPS: CStatic<[*const bindings::attribute_group; 2]> =
    CStatic::new([BUS_GROUP.get().cast_const(), ptr::null()]);

// ---------------------------------------------------------------------------------------------
// Driver attributes (`/sys/bus/vmbus/drivers/<name>/`).

extern "C" fn new_id_store(
    drv: *mut bindings::device_driver,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: This attribute is only in the `drv_groups` of the bus, so `drv` is a registered
    // VMBus driver; `buf` is a NUL-terminated string of `count` bytes from sysfs.
    let r = unsafe { driver::add_dynid(drv, buf) };
    match r {
        Ok(()) => isize::try_from(count).unwrap_or(isize::MAX),
        Err(e) => e.to_errno() as isize,
    }
}

extern "C" fn remove_id_store(
    drv: *mut bindings::device_driver,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: As in `new_id_store`.
    let r = unsafe { driver::remove_dynid(drv, buf) };
    match r {
        Ok(()) => isize::try_from(count).unwrap_or(isize::MAX),
        Err(e) => e.to_errno() as isize,
    }
}

static DRV_NEW_ID: CStatic<bindings::driver_attribute> = CStatic::new(bindings::driver_attribute {
    attr: attribute(c"new_id", WO),
    show: None,
    store: Some(new_id_store),
});

static DRV_REMOVE_ID: CStatic<bindings::driver_attribute> =
    CStatic::new(bindings::driver_attribute {
        attr: attribute(c"remove_id", WO),
        show: None,
        store: Some(remove_id_store),
    });

static DRV_ATTRS: CStatic<[*mut bindings::attribute; 3]> = CStatic::new([
    // SAFETY: Both are static `driver_attribute`s.
    unsafe { &raw mut (*DRV_NEW_ID.get()).attr },
    // SAFETY: As above.
    unsafe { &raw mut (*DRV_REMOVE_ID.get()).attr },
    ptr::null_mut(),
]);

static DRV_GROUP: CStatic<bindings::attribute_group> = CStatic::new(bindings::attribute_group {
    __bindgen_anon_2: bindings::attribute_group__bindgen_ty_2 {
        attrs: DRV_ATTRS.get().cast(),
    },
    ..pin_init::zeroed()
});

/// `drv_groups` of the bus.
pub(crate) static DRV_GROUPS: CStatic<[*const bindings::attribute_group; 2]> =
    CStatic::new([DRV_GROUP.get().cast_const(), ptr::null()]);
