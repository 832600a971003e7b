// SPDX-License-Identifier: GPL-2.0

//! Storage (vstor) packets from the host, as `storvsc_on_channel_callback` receives them.
//!
//! Input: `[transaction selector u8][packet payload]`; an even selector means an unsolicited
//! packet (transaction id 0).

#![no_main]

use hv_proto::vstor::{parse_host_packet, VstorOperation, VstorPacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, pkt)) = data.split_first() else {
        return;
    };
    let trans_id = if sel & 1 == 0 {
        0
    } else {
        u64::from(sel) << 32 | 1
    };
    if let Ok(p) = parse_host_packet(pkt, trans_id) {
        if trans_id != 0 {
            assert!(pkt.len() >= core::mem::size_of::<VstorPacket>());
        } else {
            let op = p.operation;
            assert!(op != VstorOperation::COMPLETE_IO && op != VstorOperation::FCHBA_DATA);
        }
        let srb = p.srb();
        let _ = srb.sense().len();
        let _ = srb.status();
        let _ = p.properties();
        let _ = p.version();
        let _ = p.wwn();
        let _ = p.sub_channel_count();
    }
});
