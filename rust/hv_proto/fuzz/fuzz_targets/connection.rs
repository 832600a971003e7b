// SPDX-License-Identifier: GPL-2.0

//! The guest's VMBus connection state machine fed arbitrary host message sequences between
//! its own requests. See `hv_proto_fuzz::connection` for the input format and the checks.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hv_proto_fuzz::connection::run(data);
});
