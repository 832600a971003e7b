// SPDX-License-Identifier: GPL-2.0

//! `kernel::fmt::Display` for the protocol core's types.
//!
//! The kernel's print macros format through their own copy of `Display`; the protocol core
//! implements `core::fmt::Display` (it is also built by cargo). Its types are local to this
//! crate, so they can forward here.

use kernel::fmt::{Display, Formatter, Result};

use crate::proto::{
    connection::ConnError,
    gpadl::GpadlError,
    guid::{Guid, RawHex},
    ring::RingError,
    vmbus::{ParseError, Version},
};

macro_rules! forward_display {
    ($($ty:ty),* $(,)?) => {
        $(
            impl Display for $ty {
                fn fmt(&self, f: &mut Formatter<'_>) -> Result {
                    core::fmt::Display::fmt(self, f)
                }
            }
        )*
    };
}

forward_display!(
    ConnError,
    GpadlError,
    Guid,
    RawHex<'_>,
    RingError,
    ParseError,
    Version,
);
