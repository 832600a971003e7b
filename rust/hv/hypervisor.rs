// SPDX-License-Identifier: GPL-2.0

//! The hypervisor the guest runs on, as the kernel's arch/x86/hyperv code found it.
//!
//! C header: [`include/asm-generic/mshyperv.h`](srctree/include/asm-generic/mshyperv.h)
//!
//! Everything here reads state the arch code wrote once during boot (`ms_hyperv`, `hv_vp_index`,
//! `hv_nested`); none of it changes while the system runs.

use kernel::cpu::CpuId;

use super::ffi;

/// Returns `true` if the kernel detected Hyper-V and set up the hypercall page.
///
/// The C `hv_vmbus` refuses to load (`-ENODEV`) when this is `false`; so does ours.
pub fn is_hyperv_initialized() -> bool {
    // SAFETY: The shim only reads boot-time state; it has no preconditions.
    unsafe { ffi::hvrs_is_hyperv_initialized() }
}

/// Returns `true` in the root partition (`hv_root_partition()`).
pub fn is_root_partition() -> bool {
    // SAFETY: The shim only reads boot-time state; it has no preconditions.
    unsafe { ffi::hvrs_is_root_partition() }
}

/// Returns `true` if Linux runs as a nested hypervisor's guest (`hv_nested`); hypercalls then
/// carry `HV_HYPERCALL_NESTED`.
pub fn is_nested() -> bool {
    // SAFETY: The shim only reads boot-time state; it has no preconditions.
    unsafe { ffi::hvrs_nested() }
}

/// Returns `true` if a paravisor is present (`ms_hyperv.paravisor_present`).
pub fn paravisor_present() -> bool {
    // SAFETY: The shim only reads boot-time state; it has no preconditions.
    unsafe { ffi::hvrs_paravisor_present() }
}

/// Returns `true` in an isolated (SNP/TDX) VM (`hv_is_isolation_supported()`).
pub fn isolation_supported() -> bool {
    // SAFETY: The shim only reads boot-time state; it has no preconditions.
    unsafe { ffi::hvrs_isolation_supported() }
}

/// Returns `true` if the paravisor offers a confidential VMBus
/// (`ms_hyperv.confidential_vmbus_available`).
pub fn confidential_vmbus_available() -> bool {
    // SAFETY: The shim only reads boot-time state; it has no preconditions.
    unsafe { ffi::hvrs_confidential_vmbus_available() }
}

/// Returns the guest's virtual trust level (`ms_hyperv.vtl`).
pub fn vtl() -> u8 {
    // SAFETY: The shim only reads boot-time state; it has no preconditions.
    unsafe { ffi::hvrs_vtl() }
}

/// Returns `true` unless Hyper-V recommends against auto-EOI (`hv_recommend_using_aeoi()`).
pub fn recommend_using_aeoi() -> bool {
    // SAFETY: The shim only reads boot-time state; it has no preconditions.
    unsafe { ffi::hvrs_recommend_using_aeoi() }
}

/// Returns the Hyper-V virtual processor number of `cpu` (`hv_cpu_number_to_vp_number()`).
pub fn vp_index(cpu: CpuId) -> u32 {
    // SAFETY: `CpuId` holds a valid CPU number (below `nr_cpu_ids`), for which `hv_vp_index[]`
    // has an entry.
    unsafe { ffi::hvrs_vp_index(cpu.as_u32()) }
}

/// Returns the interrupt vector Hyper-V's callback arrives on (`HYPERVISOR_CALLBACK_VECTOR`).
pub fn callback_vector() -> u8 {
    // SAFETY: The shim returns a constant.
    unsafe { ffi::hvrs_callback_vector() }
}
