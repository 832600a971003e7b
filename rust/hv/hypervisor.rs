// SPDX-License-Identifier: GPL-2.0

//! The hypervisor the guest runs on, as the kernel's arch/x86/hyperv code found it.
//!
//! C header: [`include/asm-generic/mshyperv.h`](srctree/include/asm-generic/mshyperv.h)

mod ffi {
    extern "C" {
        /// `hv_is_hyperv_initialized()` through `drivers/hv/vmbus/vmbus_shim.c`.
        pub(super) fn hvrs_is_hyperv_initialized() -> bool;
    }
}

/// Returns `true` if the kernel detected Hyper-V and set up the hypercall page.
///
/// The C `hv_vmbus` refuses to load (`-ENODEV`) when this is `false`; so does ours.
pub fn is_hyperv_initialized() -> bool {
    // SAFETY: The shim only reads state the arch code wrote during boot; it takes no arguments
    // and has no preconditions.
    unsafe { ffi::hvrs_is_hyperv_initialized() }
}
