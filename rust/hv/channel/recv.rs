// SPDX-License-Identifier: GPL-2.0

//! Receiving with a packet size limit, as C channels with `max_pkt_size` do, and receiving
//! packets whole, their extended header included.
//!
//! C source: [`drivers/hv/ring_buffer.c`](srctree/drivers/hv/ring_buffer.c)
//! (`hv_pkt_iter_first()`: a packet longer than the channel's `max_pkt_size` is copied
//! truncated and consumed whole), [`drivers/hv/channel.c`](srctree/drivers/hv/channel.c)
//! (`vmbus_recvpacket_raw()`).
//!
//! [`ChannelIo::recv`] leaves a packet that does not fit the caller's buffer in the ring, which
//! suits drivers whose host messages can be long. A driver whose protocol has a fixed upper
//! bound (storvsc: 64-byte packets) uses [`ChannelIo::recv_truncated`] instead, so that a
//! host sending more cannot stop the channel.

use kernel::prelude::*;

use super::{ChannelIo, RecvPacket};
use crate::proto::ring::PacketType;

/// A packet received whole by [`ChannelIo::recv_raw`].
#[derive(Copy, Clone, Debug)]
pub struct RawPacket {
    /// Packet type (`VM_PKT_*`).
    pub packet_type: PacketType,
    /// Transaction id; echo it in the completion.
    pub trans_id: u64,
    /// The sender asks for a completion.
    pub completion_requested: bool,
    /// Bytes of the descriptor and the extended header (`offset8 * 8`), at least 16: a
    /// transfer-page packet's header for `hv_proto::ring::TransferPages::parse`, a GPA-direct
    /// packet's for `hv_proto::ring::GpaDirect::parse`. The payload follows.
    pub header_len: usize,
    /// Bytes copied: the header and the payload, padding included (`len8 * 8`).
    pub len: usize,
}
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

    /// Copies the next packet whole (descriptor, extended header and payload) into `buf` and
    /// consumes it (`vmbus_recvpacket_raw()`); `None` if the ring is empty. This is how a
    /// driver gets the ranges of a transfer-page packet (netvsc's receive buffer).
    ///
    /// # Errors
    ///
    /// [`ENOBUFS`](super::enobufs) if `buf` is too small (the packet stays), [`EIO`] if the
    /// host corrupted the ring (the channel is then disabled).
    pub fn recv_raw(&self, buf: &mut [u8]) -> Result<Option<RawPacket>> {
        self.read_one(|ring| {
            let pkt = ring.peek()?;
            let len = pkt.len();
            let dst = buf
                .get_mut(..len as usize)
                .ok_or(RingError::BufferTooSmall { needed: len })?;
            ring.read_at(&pkt, 0, dst)?;
            ring.advance(&pkt)?;
            Ok(RawPacket {
                packet_type: pkt.packet_type,
                trans_id: pkt.trans_id,
                completion_requested: pkt.completion_requested(),
                header_len: pkt.header_len() as usize,
                len: len as usize,
            })
        })
    }
}
