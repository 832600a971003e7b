// SPDX-License-Identifier: GPL-2.0

//! Receiving with a packet size limit, as C channels with `max_pkt_size` do.
//!
//! C source: [`drivers/hv/ring_buffer.c`](srctree/drivers/hv/ring_buffer.c)
//! (`hv_pkt_iter_first()`: a packet longer than the channel's `max_pkt_size` is copied
//! truncated and consumed whole).
//!
//! [`ChannelIo::recv`] leaves a packet that does not fit the caller's buffer in the ring, which
//! suits drivers whose host messages can be long. A driver whose protocol has a fixed upper
//! bound (storvsc: 64-byte packets) uses [`ChannelIo::recv_truncated`] instead, so that a
//! host sending more cannot stop the channel.

use kernel::prelude::*;

use super::{ChannelIo, RecvPacket};
use crate::proto::ring::RingError;

impl ChannelIo<'_> {
    /// Copies at most `buf.len()` bytes of the next packet's payload into `buf` and consumes
    /// the whole packet; `None` if the ring is empty. The packet's [`RecvPacket::len`] is the
    /// number of bytes copied; the second value is `true` if the payload was longer.
    ///
    /// # Errors
    ///
    /// [`EIO`] if the host corrupted the ring (the channel is then disabled).
    pub fn recv_truncated(&self, buf: &mut [u8]) -> Result<Option<(RecvPacket, bool)>> {
        self.read_one(|ring| {
            let pkt = ring.peek()?;
            let payload = pkt.payload_len() as usize;
            let n = payload.min(buf.len());
            // `n` bytes from the payload's start are inside the packet.
            let dst = buf.get_mut(..n).ok_or(RingError::InvalidArgument)?;
            ring.read_at(&pkt, pkt.header_len(), dst)?;
            ring.advance(&pkt)?;
            let packet = RecvPacket {
                packet_type: pkt.packet_type,
                trans_id: pkt.trans_id,
                completion_requested: pkt.completion_requested(),
                len: n,
            };
            Ok((packet, payload > n))
        })
    }
}
