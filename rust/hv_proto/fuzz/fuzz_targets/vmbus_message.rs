// SPDX-License-Identifier: GPL-2.0

//! Channel messages from the host: `Message::parse` on the raw bytes, and `parse_synic` on a
//! SynIC slot built from them (header of 16 bytes, then the payload, zero-padded to 256).

#![no_main]

use hv_proto::synic::HvMessage;
use hv_proto::vmbus::{min_message_len, Message, MessageType};
use libfuzzer_sys::fuzz_target;
use zerocopy::FromBytes;

/// Reads the message type in front of `b`, if there is one.
fn msgtype(b: &[u8]) -> Option<MessageType> {
    let raw: [u8; 4] = b.get(..4)?.try_into().ok()?;
    Some(MessageType(u32::from_le_bytes(raw)))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::parse(data) {
        let t = m.message_type();
        assert_eq!(Some(t), msgtype(data));
        assert!(data.len() >= min_message_len(t).unwrap_or(usize::MAX));
    }

    let mut slot = [0u8; 256];
    let n = data.len().min(256);
    slot[..n].copy_from_slice(&data[..n]);
    let Ok(slot) = HvMessage::read_from_bytes(&slot[..]) else {
        return;
    };
    if let Ok(m) = Message::parse_synic(&slot) {
        assert_eq!(Some(m.message_type()), msgtype(&slot.payload));
    }
});
