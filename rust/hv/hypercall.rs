// SPDX-License-Identifier: GPL-2.0

//! The two hypercalls VMBus uses: `HvPostMessage` and `HvSignalEvent`.
//!
//! C source: [`drivers/hv/hv.c`](srctree/drivers/hv/hv.c) (`hv_post_message()`),
//! [`drivers/hv/connection.c`](srctree/drivers/hv/connection.c) (`vmbus_post_msg()`,
//! `vmbus_set_event()`).
//!
//! Only the plain (non-isolated, no paravisor) path exists: the bus refuses to start in an
//! isolated VM, where the C driver would go through the GHCB or TDX hypercall instead.

use kernel::{
    ffi::c_void,
    prelude::*,
    time::{delay::fsleep, Delta}, //
};
use zerocopy::IntoBytes;

use super::{ffi, hypervisor};
use crate::proto::synic::{
    HvPostMessageInput, HvSignalEventInput, HvStatus, HVCALL_POST_MESSAGE, HVCALL_SIGNAL_EVENT,
    HV_HYPERCALL_FAST_BIT, HV_HYPERCALL_NESTED,
};

/// Returns the control word for hypercall `code`, with the nested bit when needed.
fn control(code: u16) -> u64 {
    let nested = if hypervisor::is_nested() {
        HV_HYPERCALL_NESTED
    } else {
        0
    };
    u64::from(code) | nested
}

/// Posts `message` to the host on `connection_id` once (`hv_post_message()`).
///
/// # Errors
///
/// The hypervisor's status if it is not `HV_STATUS_SUCCESS`; [`HvStatus::INVALID_PARAMETER`]
/// if `message` is longer than a SynIC payload (the C driver's `-EMSGSIZE`).
pub fn post_message(connection_id: u32, message: &[u8]) -> Result<(), HvStatus> {
    let input =
        HvPostMessageInput::new(connection_id, message).ok_or(HvStatus::INVALID_PARAMETER)?;
    let bytes = input.as_bytes();
    // SAFETY: `bytes` is valid for reads of `bytes.len()` bytes for the duration of the call;
    // the shim copies them into this CPU's hypercall input page before the hypercall.
    let result = unsafe {
        ffi::hvrs_hypercall(
            control(HVCALL_POST_MESSAGE),
            bytes.as_ptr().cast::<c_void>(),
            bytes.len(),
        )
    };
    match HvStatus::from_result(result) {
        HvStatus::SUCCESS => Ok(()),
        status => Err(status),
    }
}

/// Posts `message` to `connection_id`, retrying transient failures like `vmbus_post_msg()`.
///
/// `INSUFFICIENT_MEMORY` and `INSUFFICIENT_BUFFERS` are retried up to 100 times with an
/// exponential back-off (1 µs doubling to about 2 s), sleeping once the delay exceeds 1 ms.
/// `INVALID_CONNECTION_ID` is retried the same way unless `initiate_contact` is set: during
/// INITIATE_CONTACT it means "try another connection id" and is returned at once. May sleep.
///
/// # Errors
///
/// The last status when retries are exhausted, or the first non-transient one.
pub fn post_message_retry(
    connection_id: u32,
    message: &[u8],
    initiate_contact: bool,
) -> Result<(), HvStatus> {
    let mut usec: u32 = 1;
    let mut last = HvStatus::SUCCESS;
    for retry in 0..100u32 {
        match post_message(connection_id, message) {
            Ok(()) => return Ok(()),
            Err(HvStatus::INVALID_CONNECTION_ID) if initiate_contact => {
                return Err(HvStatus::INVALID_CONNECTION_ID)
            }
            Err(status) if status.is_transient() => last = status,
            Err(status) => return Err(status),
        }
        fsleep(Delta::from_micros(i64::from(usec)));
        if retry < 21 {
            usec *= 2;
        }
    }
    Err(last)
}

/// Signals the host on an event connection (`HvSignalEvent`, a fast hypercall, flag 0), as
/// `vmbus_set_event()` does for a channel's `connection_id`.
///
/// Callable in any context.
///
/// # Errors
///
/// The hypervisor's status if it is not `HV_STATUS_SUCCESS`.
pub fn signal_event(connection_id: u32) -> Result<(), HvStatus> {
    let input = HvSignalEventInput {
        connectionid: connection_id,
        flag_number: 0,
        rsvdz: 0,
    };
    // The C driver computes `HVCALL_SIGNAL_EVENT | nested` but passes it through the `u16` code
    // parameter of `hv_do_fast_hypercall8()`, so the nested bit never reaches the hypervisor.
    // Do what it effectively does: what production hosts have always seen.
    let control = u64::from(HVCALL_SIGNAL_EVENT) | HV_HYPERCALL_FAST_BIT;
    // SAFETY: The fast hypercall takes its input in registers; there are no pointers.
    let result = unsafe { ffi::hvrs_fast_hypercall8(control, input.as_u64()) };
    match HvStatus::from_result(result) {
        HvStatus::SUCCESS => Ok(()),
        status => Err(status),
    }
}
