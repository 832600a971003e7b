// SPDX-License-Identifier: GPL-2.0

//! Sending GPA-direct packets: a request whose data the host reads or writes in guest memory.
//!
//! C source: [`drivers/hv/channel.c`](srctree/drivers/hv/channel.c)
//! (`vmbus_sendpacket_mpb_desc()`), [`include/linux/hyperv.h`](srctree/include/linux/hyperv.h)
//! (`struct vmbus_packet_mpb_array`, `struct hv_mpb_array`).
//!
//! The packet (`VM_PKT_DATA_USING_GPA_DIRECT`, completion requested) carries one multi-page
//! range, `len` bytes from `offset` bytes into the first of a list of 4 KiB guest pages, then the
//! driver's in-band payload. storvsc sends its SCSI requests with data this way.

use kernel::{prelude::*, sync::atomic::Relaxed};

use super::{Channel, ChannelIo, OpenChannel, OpenState};
use crate::proto::ring::{encode_gpa_direct, gpa_direct_header_len, OutgoingPacket};

/// One range of guest memory for a GPA-direct packet (`struct hv_mpb_array`).
#[derive(Copy, Clone, Debug)]
pub struct MpbRange<'a> {
    /// Offset of the data in the first page, below 4096 (`offset`).
    pub offset: u32,
    /// Length of the data in bytes, not 0 (`len`).
    pub len: u32,
    /// The Hyper-V page numbers (4 KiB) of the data, exactly the pages `offset` and `len` span
    /// (`pfn_array`).
    pub pfns: &'a [u64],
}

/// PFNs whose extended header is built on the stack; longer lists take an atomic allocation,
/// as C's `MAX_PAGE_BUFFER_COUNT` (32) decides for storvsc's payload.
const STACK_PFNS: usize = 32;

impl OpenState {
    /// Writes a GPA-direct packet for `range` with `payload` and transaction id `trans_id`.
    fn send_gpa_direct(&self, range: &MpbRange<'_>, payload: &[&[u8]], trans_id: u64) -> Result {
        let len = gpa_direct_header_len(range.pfns.len());
        let mut stack = [0u8; gpa_direct_header_len(STACK_PFNS)];
        let mut heap;
        let buf: &mut [u8] = if len <= stack.len() {
            &mut stack
        } else {
            heap = KVec::from_elem(0u8, len, GFP_ATOMIC)?;
            &mut heap
        };
        let n = encode_gpa_direct(range.offset, range.len, range.pfns, buf).map_err(|_| EINVAL)?;
        let ext = buf.get(..n).ok_or(EINVAL)?;
        self.send(&OutgoingPacket::gpa_direct(trans_id, ext), payload)
    }
}

impl Channel {
    /// Sends a GPA-direct packet from outside the channel's handler, e.g. from a block
    /// driver's queueing path (`vmbus_sendpacket_mpb_desc()`): the host accesses `range` of
    /// guest memory for the request `payload` with transaction id `trans_id`, and completes it.
    /// Callable in any context; signals the host as [`OpenChannel::send_inband`].
    ///
    /// # Errors
    ///
    /// [`ENODEV`] if the channel is not open (or is closing), [`EINVAL`] for a range whose PFN
    /// count does not match its offset and length, [`ENOMEM`] for a long PFN list without
    /// memory, else as [`OpenChannel::send_inband`] ([`EAGAIN`] when the ring is full).
    pub fn send_gpa_direct(
        &self,
        range: &MpbRange<'_>,
        payload: &[&[u8]],
        trans_id: u64,
    ) -> Result {
        self.with_open(|open| {
            if open.closing.load(Relaxed) {
                return Err(ENODEV);
            }
            open.send_gpa_direct(range, payload, trans_id)
        })
        .unwrap_or(Err(ENODEV))
    }
}

impl OpenChannel<'_> {
    /// Sends a GPA-direct packet, see [`Channel::send_gpa_direct`].
    ///
    /// # Errors
    ///
    /// As [`Channel::send_gpa_direct`].
    pub fn send_gpa_direct(
        &self,
        range: &MpbRange<'_>,
        payload: &[&[u8]],
        trans_id: u64,
    ) -> Result {
        self.open.send_gpa_direct(range, payload, trans_id)
    }
}

impl ChannelIo<'_> {
    /// Sends a GPA-direct packet from the channel's handler, see [`Channel::send_gpa_direct`].
    ///
    /// # Errors
    ///
    /// As [`Channel::send_gpa_direct`].
    pub fn send_gpa_direct(
        &self,
        range: &MpbRange<'_>,
        payload: &[&[u8]],
        trans_id: u64,
    ) -> Result {
        self.open.send_gpa_direct(range, payload, trans_id)
    }
}
