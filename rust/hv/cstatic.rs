// SPDX-License-Identifier: GPL-2.0

//! Static C objects (bus type, sysfs attributes, kobject types) defined in Rust.
//!
//! The driver core keeps pointers to such objects for as long as they are registered; C defines
//! them as file-scope variables. [`CStatic`] is the Rust equivalent: a `static` whose content C
//! may read at any time, placed in writable memory like its C counterpart, and never touched by
//! Rust after its constant initialization.

use kernel::{ffi::c_char, prelude::*, types::Opaque};

/// A C object with static storage duration.
///
/// # Invariants
///
/// Rust never writes the value after its constant initialization; only C code accesses it,
/// under the driver core's rules.
#[repr(transparent)]
pub(crate) struct CStatic<T>(Opaque<T>);

// SAFETY: Rust only hands out the object's address; what C does with it is synchronized by C.
unsafe impl<T> Sync for CStatic<T> {}

impl<T> CStatic<T> {
    /// Wraps `value`.
    pub(crate) const fn new(value: T) -> Self {
        Self(Opaque::new(value))
    }

    /// Returns the object's address, for C.
    pub(crate) const fn get(&self) -> *mut T {
        self.0.get()
    }
}

/// Returns the address of `s` as the kernel's `char *`, in constant context.
///
/// `CStrExt::as_char_ptr()` is the way to do this, but as a trait method it cannot be called in
/// the initializers of [`CStatic`]s.
// The lint points at `as_char_ptr()`, which is what this does (the kernel's `char` is `u8`).
#[allow(clippy::disallowed_methods)]
pub(crate) const fn c_str(s: &'static CStr) -> *const c_char {
    s.as_ptr().cast()
}
