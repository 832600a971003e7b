// SPDX-License-Identifier: GPL-2.0

//! The two VMBus monitor pages (monitored notification, "MNF").
//!
//! C header: [`drivers/hv/hyperv_vmbus.h`](srctree/drivers/hv/hyperv_vmbus.h)
//! (`struct hv_monitor_page`); the guest allocates them and names them in INITIATE_CONTACT.
//!
//! Page 1 carries parent-to-child notifications, page 2 child-to-parent ones. A channel with a
//! monitor id `m` uses trigger group `m / 32`, bit `m % 32`, and the latency and parameter slots
//! `[m / 32][m % 32]`. The reads below use the same offsets the C driver does for any `m`
//! (`u8`), all of which are inside the page; only the trigger write checks that the group is
//! one of the four that exist.

use core::mem::offset_of;

use kernel::{prelude::*, sync::Arc};

use super::page::SharedPage;
use crate::proto::synic::{HvMonitorPage, HvMonitorParameter, HvMonitorTriggerGroup};

/// Which monitor page.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MonitorPage {
    /// Page 1, parent to child (the "server" attributes of sysfs).
    ParentToChild = 0,
    /// Page 2, child to parent (the "client" attributes, and the guest's MNF signals).
    ChildToParent = 1,
}

/// The pages of a connection that channels signal the host through: the two monitor pages
/// (`vmbus_connection.monitor_pages`) and the interrupt page (`vmbus_connection.int_page`),
/// whose second half (`send_int_page`) has one bit per relid.
pub struct MonitorPages {
    pages: [SharedPage; 2],
    int_page: SharedPage,
}

/// Byte offset of `trigger_group[group].pending`.
const fn pending_offset(group: usize) -> usize {
    offset_of!(HvMonitorPage, trigger_group) + group * size_of::<HvMonitorTriggerGroup>()
}

/// Byte offset of `latency[id / 32][id % 32]` (the array is contiguous, so `id` indexes it).
const fn latency_offset(id: u8) -> usize {
    offset_of!(HvMonitorPage, latency) + id as usize * size_of::<u16>()
}

/// Byte offset of `parameter[id / 32][id % 32].connectionid`.
const fn conn_id_offset(id: u8) -> usize {
    offset_of!(HvMonitorPage, parameter) + id as usize * size_of::<HvMonitorParameter>()
}

impl MonitorPages {
    /// Allocates the three zeroed pages.
    ///
    /// # Errors
    ///
    /// [`ENOMEM`].
    pub fn new() -> Result<Arc<Self>> {
        Ok(Arc::new(
            Self {
                pages: [SharedPage::new()?, SharedPage::new()?],
                int_page: SharedPage::new()?,
            },
            GFP_KERNEL,
        )?)
    }

    fn page(&self, which: MonitorPage) -> &SharedPage {
        match which {
            MonitorPage::ParentToChild => &self.pages[0],
            MonitorPage::ChildToParent => &self.pages[1],
        }
    }

    /// Returns the guest-physical address of a page, for INITIATE_CONTACT.
    pub fn phys_addr(&self, which: MonitorPage) -> u64 {
        self.page(which).phys_addr()
    }

    /// Returns the guest-physical address of the interrupt page, for INITIATE_CONTACT before
    /// VMBus 5.0.
    pub fn int_page_phys_addr(&self) -> u64 {
        self.int_page.phys_addr()
    }

    /// Returns the kernel (direct-map) address of page `which`, for user-space maps.
    pub fn page_addr(&self, which: MonitorPage) -> usize {
        self.page(which).as_ptr() as usize
    }

    /// Returns the kernel (direct-map) address of the interrupt page, for user-space maps.
    pub fn int_page_addr(&self) -> usize {
        self.int_page.as_ptr() as usize
    }

    /// Sets the bit of `relid` in the send half of the interrupt page (`vmbus_send_interrupt()`).
    pub fn send_interrupt(&self, relid: u32) {
        const SEND_INT_PAGE: usize = 2048;
        let Ok(word) = usize::try_from(relid / 32) else {
            return;
        };
        self.int_page
            .set_bit_u32(SEND_INT_PAGE + word * 4, relid % 32);
    }

    /// Returns the pending bits of monitor id `id`'s trigger group (`channel_pending()`).
    pub fn pending(&self, which: MonitorPage, id: u8) -> u32 {
        self.page(which)
            .read_u32(pending_offset(usize::from(id / 32)))
            .unwrap_or(0)
    }

    /// Returns the latency of monitor id `id`, in 100 ns units (`channel_latency()`).
    pub fn latency(&self, which: MonitorPage, id: u8) -> u32 {
        let offset = latency_offset(id);
        // A `u16` at an even offset: read its 32-bit word and pick the half.
        let word = self.page(which).read_u32(offset & !3).unwrap_or(0);
        if offset & 2 == 0 {
            word & 0xffff
        } else {
            word >> 16
        }
    }

    /// Returns the connection id of monitor id `id`, 24 bits (`channel_conn_id()`).
    pub fn conn_id(&self, which: MonitorPage, id: u8) -> u32 {
        self.page(which).read_u32(conn_id_offset(id)).unwrap_or(0) & 0x00ff_ffff
    }

    /// Sets monitor id `id`'s bit in its trigger group of the child-to-parent page, which
    /// signals the host without a hypercall (`vmbus_set_event()` for MNF channels). Ids whose
    /// group does not exist are ignored.
    pub fn trigger(&self, id: u8) {
        let group = usize::from(id / 32);
        if group < 4 {
            self.page(MonitorPage::ChildToParent)
                .set_bit_u32(pending_offset(group), u32::from(id % 32));
        }
    }
}
