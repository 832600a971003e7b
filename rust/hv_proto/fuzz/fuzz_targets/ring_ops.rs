// SPDX-License-Identifier: GPL-2.0

//! The ring as a state machine: writes, reads, commits, masks and `pending_send_sz` in any
//! order, checked against a model queue, and over memory a hostile peer changes concurrently.
//! See `hv_proto_fuzz::ring_ops` for the input format.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hv_proto_fuzz::ring_ops::run(data);
});
