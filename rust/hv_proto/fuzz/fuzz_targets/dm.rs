// SPDX-License-Identifier: GPL-2.0

//! Dynamic memory (balloon) messages from the host, and the version negotiation driven by the
//! host's answers.
//!
//! Input: `[answers u8][message]`; the bits of `answers` accept or refuse the versions.

#![no_main]

use hv_proto::dm::{
    parse_host_message, DmHostMessage, DmNegotiationStep, DmVersionNegotiation, Error,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&answers, msg)) = data.split_first() else {
        return;
    };
    match parse_host_message(msg) {
        Ok((_, DmHostMessage::UnballoonRequest { ranges, .. })) => {
            assert_eq!(ranges.iter().count(), ranges.len());
            for r in ranges.iter() {
                let _ = (r.start_page(), r.page_cnt());
            }
        }
        Ok((_, DmHostMessage::HotAddRequest { range, region })) => {
            let _ = (range.start_page(), range.page_cnt(), region);
        }
        Ok(_) => {}
        Err(Error::Truncated { .. }) => assert!(msg.len() < 8),
        Err(_) => {}
    }

    let (mut n, _) = DmVersionNegotiation::start(1);
    for i in 0..8 {
        match n.on_response(answers >> i & 1 != 0, i) {
            DmNegotiationStep::Retry(_) => {}
            DmNegotiationStep::Accepted(_) | DmNegotiationStep::Failed => break,
        }
        assert!(i < 3, "more than three versions tried");
    }
});
