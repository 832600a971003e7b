// SPDX-License-Identifier: GPL-2.0

//! Hand-kept declarations of the C functions this layer calls that `kernel::bindings` lacks.
//!
//! C header: [`drivers/hv/vmbus/vmbus_shim.h`] for the `hvrs_*` shims (keep both in sync), and
//! the exported arch functions of
//! [`arch/x86/include/asm/mshyperv.h`](srctree/arch/x86/include/asm/mshyperv.h) and
//! [`include/clocksource/hyperv_timer.h`](srctree/include/clocksource/hyperv_timer.h).

use kernel::{
    bindings,
    ffi::{c_char, c_int, c_uint, c_ulong, c_void},
};

extern "C" {
    // drivers/hv/vmbus/vmbus_shim.c
    pub(crate) fn hvrs_max_version() -> u32;
    pub(crate) fn hvrs_cpu_to_node(cpu: c_uint) -> c_uint;
    pub(crate) fn hvrs_nr_node_ids() -> c_uint;
    pub(crate) fn hvrs_num_online_cpus() -> c_uint;
    pub(crate) fn hvrs_debugfs_init();
    pub(crate) fn hvrs_debugfs_exit();
    pub(crate) fn hvrs_debugfs_add_dev(
        dev: *mut c_void,
        state: *mut u32,
        interrupt_delay: *mut u32,
        message_delay: *mut u32,
    ) -> *mut c_void;
    pub(crate) fn hvrs_debugfs_remove(dir: *mut c_void);
    pub(crate) fn hvrs_is_hyperv_initialized() -> bool;
    pub(crate) fn hvrs_is_root_partition() -> bool;
    pub(crate) fn hvrs_nested() -> bool;
    pub(crate) fn hvrs_paravisor_present() -> bool;
    pub(crate) fn hvrs_isolation_supported() -> bool;
    pub(crate) fn hvrs_confidential_vmbus_available() -> bool;
    pub(crate) fn hvrs_vtl() -> u8;
    pub(crate) fn hvrs_recommend_using_aeoi() -> bool;
    pub(crate) fn hvrs_vp_index(cpu: c_uint) -> u32;
    pub(crate) fn hvrs_callback_vector() -> u8;
    pub(crate) fn hvrs_cpu_can_target(cpu: c_uint) -> bool;
    // `struct device` and `struct device_driver` are passed as `void *`: through them, `bindings`
    // types trip `improper_ctypes` (the `bindings` crate allows it, we do not).
    pub(crate) fn hvrs_device_match_driver_override(dev: *mut c_void, drv: *const c_void) -> c_int;
    pub(crate) fn hvrs_hypercall(control: u64, input: *const c_void, len: usize) -> u64;
    pub(crate) fn hvrs_fast_hypercall8(control: u64, input: u64) -> u64;
    pub(crate) fn hvrs_alloc_zeroed_page() -> *mut c_void;
    pub(crate) fn hvrs_free_page(addr: *mut c_void);
    pub(crate) fn hvrs_virt_to_phys(addr: *const c_void) -> u64;
    pub(crate) fn hvrs_cpuhp_setup(
        name: *const c_char,
        startup: unsafe extern "C" fn(cpu: c_uint) -> c_int,
        teardown: unsafe extern "C" fn(cpu: c_uint) -> c_int,
    ) -> c_int;
    pub(crate) fn hvrs_cpuhp_remove(state: c_int);
    pub(crate) fn hvrs_alloc_ordered_workqueue(
        name: *const c_char,
    ) -> *mut bindings::workqueue_struct;
    pub(crate) fn hvrs_vzalloc(size: usize) -> *mut c_void;
    pub(crate) fn hvrs_virt_mb();
    pub(crate) fn hvrs_virt_rmb();
    // `x` is a `struct completion *` (see `hvrs_device_match_driver_override`).
    pub(crate) fn hvrs_reinit_completion(x: *mut c_void);
    pub(crate) fn hvrs_isr_wait_override_begin();
    pub(crate) fn hvrs_isr_wait_override_end();
    // `lock` is a `spinlock_t *` (see `hvrs_device_match_driver_override`).
    pub(crate) fn hvrs_spin_lock_irqsave(lock: *mut c_void) -> c_ulong;
    pub(crate) fn hvrs_spin_unlock_irqrestore(lock: *mut c_void, flags: c_ulong);
    // `module` is a `struct module *` (see `hvrs_device_match_driver_override`).
    pub(crate) fn hvrs_ptp_register(
        name: *const c_char,
        module: *mut c_void,
        gettime: unsafe extern "C" fn(ctx: *const c_void, ts: *mut bindings::timespec64) -> c_int,
        ctx: *const c_void,
    ) -> *mut c_void;
    pub(crate) fn hvrs_ptp_index(ptp: *const c_void) -> c_int;
    pub(crate) fn hvrs_ptp_unregister(ptp: *mut c_void);
    pub(crate) fn hvrs_read_reference_counter() -> u64;

    // arch/x86/hyperv/hv_init.c, arch/x86/kernel/cpu/mshyperv.c
    pub(crate) fn hv_get_msr(reg: c_uint) -> u64;
    pub(crate) fn hv_set_msr(reg: c_uint, value: u64);
    pub(crate) fn hv_setup_vmbus_handler(handler: unsafe extern "C" fn());
    pub(crate) fn hv_remove_vmbus_handler();
    pub(crate) fn hv_is_hibernation_supported() -> bool;

    // kernel/reboot.c
    pub(crate) fn orderly_poweroff(force: bool);
    pub(crate) fn orderly_reboot();

    // drivers/clocksource/hyperv_timer.c
    pub(crate) fn hv_stimer0_isr();
    pub(crate) fn hv_stimer_legacy_init(cpu: c_uint, sint: c_int);
    pub(crate) fn hv_stimer_legacy_cleanup(cpu: c_uint);
    pub(crate) fn hv_stimer_global_cleanup();
}
