// SPDX-License-Identifier: GPL-2.0

//! Kernel-side abstractions for Hyper-V: our "rust/kernel".
//!
//! Every `unsafe` block of the project lives below this module (and in crate roots); the
//! drivers talk to the hypervisor and the bus only through the safe API here. The module is
//! compiled into `hv_vmbus.ko` (crate `vmbus`) and reaches the other modules through its rmeta.

mod cstatic;
mod ffi;
mod fmt;
mod sysfs;

pub mod balloon;
pub mod bus;
pub mod channel;
pub mod chardev;
pub mod device;
pub mod driver;
pub mod hypercall;
pub mod hypervisor;
pub mod monitor;
pub mod page;
pub mod ptp;
pub mod ratelimit;
pub mod request;
pub mod ring;
pub mod sync;
pub mod synic;
pub mod system;
pub mod workqueue;

/// Returns the `max_version` module parameter of `hv_vmbus` (`VERSION_WIN10_V6_0` by default).
///
/// It is declared in C (`drivers/hv/vmbus/vmbus_shim.c`) to keep the C driver's 0444
/// permissions, which Rust `module!` parameters lack in 7.2.
pub fn max_version_param() -> u32 {
    // SAFETY: The shim reads a module parameter that only module loading writes.
    unsafe { ffi::hvrs_max_version() }
}

/// Returns `true` if `cpu` can take a channel's interrupts: a valid CPU number, a housekeeping
/// CPU for managed interrupts (not isolated), and online.
pub fn cpu_can_target(cpu: u32) -> bool {
    // SAFETY: The shim checks the CPU number against the masks' size first.
    unsafe { ffi::hvrs_cpu_can_target(cpu) }
}

/// Returns the NUMA node of a possible CPU (`cpu_to_node()`), `u32::MAX` if it has none.
pub fn cpu_to_node(cpu: u32) -> u32 {
    // SAFETY: The shim checks the CPU number first.
    unsafe { ffi::hvrs_cpu_to_node(cpu) }
}

/// Returns the number of NUMA node ids (`nr_node_ids`; 1 without `CONFIG_NUMA`).
pub fn nr_node_ids() -> u32 {
    // SAFETY: The shim reads a variable set at boot.
    unsafe { ffi::hvrs_nr_node_ids() }
}

/// Returns the number of online CPUs (`num_online_cpus()`).
pub fn num_online_cpus() -> u32 {
    // SAFETY: The shim has no preconditions.
    unsafe { ffi::hvrs_num_online_cpus() }
}

/// Creates the bus's debugfs directory, `hyperv/` (`hv_debug_init()`); without debugfs the
/// devices simply have no fault-test files, as in C.
pub fn debugfs_init() {
    // SAFETY: The shim has no preconditions; the root driver's probe calls it once.
    unsafe { ffi::hvrs_debugfs_init() }
}

/// Removes `hyperv/` and anything left in it (`hv_debug_rm_all_dir()`), after every device is
/// gone.
pub fn debugfs_exit() {
    // SAFETY: The shim has no preconditions; removing nothing is allowed.
    unsafe { ffi::hvrs_debugfs_exit() }
}
