// SPDX-License-Identifier: GPL-2.0

//! Storage (vstor) packets from the host, as `storvsc_on_channel_callback` receives them.
//!
//! Input: `[transaction selector u8][packet payload]`; an even selector means an unsolicited
//! packet (transaction id 0). A reply's SRB also goes through the completion mapping
//! (`srb_outcome`) with the selector as the command's opcode and buffer length, and its sense
//! bytes through `sense_asc_ascq`.

#![no_main]

use hv_proto::vstor::{
    parse_host_packet, sense_asc_ascq, srb_outcome, VstorOperation, VstorPacket,
    STORVSC_SENSE_BUFFER_SIZE,
};
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
        // Whatever the host says: the residue stays within the buffer, the sense within the
        // packet, and only known host bytes are set.
        let buffer_len = u32::from(sel) * 512;
        let o = srb_outcome(sel, sel & 2 != 0, &srb, buffer_len);
        assert!(o.resid <= buffer_len);
        assert!(o.sense_len <= STORVSC_SENSE_BUFFER_SIZE);
        assert!(matches!(o.result >> 16, 0x00 | 0x01 | 0x07 | 0x0a | 0x0d));
        let _ = sense_asc_ascq(&srb.cdb);
    }
});
