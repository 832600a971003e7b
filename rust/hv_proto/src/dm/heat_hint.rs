// SPDX-License-Identifier: GPL-2.0

//! The cold-discard memory hint of free page reporting (`HvExtCallMemoryHeatHint`).
//!
//! C source: [`drivers/hv/hv_balloon.c`](srctree/drivers/hv/hv_balloon.c)
//! (`hv_free_page_report()`, `enable_page_reporting()`), headers
//! [`include/hyperv/hvgdk_ext.h`](srctree/include/hyperv/hvgdk_ext.h) (`struct
//! hv_memory_hint`) and [`include/hyperv/hvgdk_mini.h`](srctree/include/hyperv/hvgdk_mini.h)
//! (`union hv_gpa_page_range`).
//!
//! When the hypervisor offers the extended capability
//! [`HV_EXT_CAPABILITY_MEMORY_COLD_DISCARD_HINT`], the balloon driver registers with the kernel's
//! page reporting, which hands it batches of free pages (at most 32, each `2^order` pages); the
//! driver tells the hypervisor with one rep hypercall whose input page holds a `u64` header (the
//! heat type, [`HEAT_HINT_COLD_DISCARD`]) and one `union hv_gpa_page_range` per batch entry,
//! built by [`gpa_page_range`]. This is not a Dynamic Memory message: no VMBus host sees it.

/// The extended hypercall code (`HV_EXT_CALL_MEMORY_HEAT_HINT`).
pub const HV_EXT_CALL_MEMORY_HEAT_HINT: u16 = 0x8003;

/// The extended capability bit (`HV_EXT_CAPABILITY_MEMORY_COLD_DISCARD_HINT`).
pub const HV_EXT_CAPABILITY_MEMORY_COLD_DISCARD_HINT: u64 = 1 << 8;

/// The heat type of the header (`HV_EXTMEM_HEAT_HINT_COLD_DISCARD`, bits 0-1).
pub const HEAT_HINT_COLD_DISCARD: u64 = 2;

/// Most ranges in one hypercall: what fits a 4 KiB input page after the header
/// (`HV_MEMORY_HINT_MAX_GPA_PAGE_RANGES`).
pub const MAX_GPA_PAGE_RANGES: usize = (4096 - 8) / 8;

/// Ranges of at least `2^9` pages are sent in 2 MiB units (`HV_LARGE_REPORTING_ORDER`).
pub const LARGE_REPORTING_ORDER: u32 = 9;

/// `additional_pages` has 11 bits.
const MAX_ADDITIONAL: u64 = (1 << 11) - 1;

/// `HV_STATUS_INVALID_PARAMETER`: the hypervisor does not take ranges below 2 MiB.
pub const HV_STATUS_INVALID_PARAMETER: u16 = 5;

/// Encodes `len` bytes of free memory at page frame `pfn` (4 KiB pages) as a `union
/// hv_gpa_page_range` as `hv_free_page_report()` does: from 2 MiB on, `largepage` with
/// `page_size` 2 MiB, the 2 MiB frame number and the count of further 2 MiB units; below, the
/// page frame number and the count of further pages. `None` if the range cannot be encoded
/// (empty, not whole pages, a large range not 2 MiB-aligned or not whole 2 MiB units, more
/// units than 11 bits count, a frame number too large).
pub fn gpa_page_range(pfn: u64, len: u64) -> Option<u64> {
    const PAGE: u64 = 4096;
    const LARGE: u64 = PAGE << LARGE_REPORTING_ORDER;
    if len == 0 || len % PAGE != 0 {
        return None;
    }
    // `get_order(len) >= 9` is `len > 1 MiB`, i.e. `len >= 2 MiB` for the power-of-two
    // lengths page reporting gives; the check is on the length either way.
    if len >= LARGE {
        let large_pfn = pfn >> LARGE_REPORTING_ORDER;
        if pfn % (1 << LARGE_REPORTING_ORDER) != 0 || len % LARGE != 0 || large_pfn >= 1 << 43 {
            return None;
        }
        let additional = len / LARGE - 1;
        if additional > MAX_ADDITIONAL {
            return None;
        }
        // additional_pages:11, largepage:1, page_size:1 (0 = 2 MiB), reserved:8,
        // base_large_pfn:43.
        Some(additional | 1 << 11 | large_pfn << 21)
    } else {
        if pfn >= 1 << 52 {
            return None;
        }
        // additional_pages:11, largepage:1 (0), basepfn:52.
        Some((len / PAGE - 1) | pfn << 12)
    }
}

/// Whether a hypercall status (the low 16 bits of the result) is success.
pub fn hv_result_success(status: u64) -> bool {
    status & 0xffff == 0
}

/// The status code of a hypercall result (`hv_result()`).
pub fn hv_result(status: u64) -> u16 {
    (status & 0xffff) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_ranges() {
        // One page at pfn 0x1234: additional 0, basepfn.
        assert_eq!(gpa_page_range(0x1234, 4096), Some(0x1234 << 12));
        // 512 KiB (order 7): 127 additional pages.
        assert_eq!(gpa_page_range(0x1000, 128 * 4096), Some(127 | 0x1000 << 12));
        // 2 MiB at pfn 0x200 (2 MiB frame 1): largepage, no additional unit.
        assert_eq!(gpa_page_range(0x200, 2 << 20), Some(1 << 11 | 1 << 21));
        // 4 MiB (order 10) at 2 MiB frame 3: one additional unit.
        assert_eq!(gpa_page_range(0x600, 4 << 20), Some(1 | 1 << 11 | 3 << 21));
    }

    #[test]
    fn what_cannot_be_encoded() {
        assert_eq!(gpa_page_range(0, 0), None);
        assert_eq!(gpa_page_range(0, 100), None);
        // A large range not aligned to 2 MiB, or not whole 2 MiB units.
        assert_eq!(gpa_page_range(0x201, 2 << 20), None);
        assert_eq!(gpa_page_range(0x200, (2 << 20) + 4096), None);
        // 2049 units do not fit 11 bits; 2048 do.
        assert!(gpa_page_range(0, 2048 * (2 << 20)).is_some());
        assert_eq!(gpa_page_range(0, 2049 * (2 << 20)), None);
        assert_eq!(gpa_page_range(1 << 52, 4096), None);
    }

    #[test]
    fn limits_and_status() {
        assert_eq!(MAX_GPA_PAGE_RANGES, 511);
        // The kernel's batches (PAGE_REPORTING_CAPACITY, 32) fit one hypercall.
        const _: () = assert!(32 <= MAX_GPA_PAGE_RANGES);
        assert!(hv_result_success(0x1_0000_0000));
        assert!(!hv_result_success(5));
        assert_eq!(hv_result(0x2_0005), HV_STATUS_INVALID_PARAMETER);
    }
}
