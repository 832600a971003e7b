// SPDX-License-Identifier: GPL-2.0

//! Helper macros shared by the wire-format modules.

/// Declares an open enum: a transparent newtype over an integer with named constants.
///
/// Values that come from the host may be anything; an open enum represents every one of them
/// (so a `match` needs a `_` arm), where a Rust `enum` would make an unknown value undefined
/// behaviour or force a fallible conversion at every read. The newtype derives the zerocopy
/// traits, so it can be a field of a wire struct. Use it with a fixed-endian integer type only
/// on little-endian targets (the kernel modules and the user-space tests both are).
///
/// # Examples
///
/// ```
/// hv_proto::open_enum! {
///     /// The colour of a thing.
///     pub struct Colour(u32) {
///         /// Red.
///         RED = 1,
///         /// Green.
///         GREEN = 2,
///     }
/// }
/// assert_eq!(Colour::RED.0, 1);
/// assert_eq!(Colour(2), Colour::GREEN);
/// assert!(!Colour(7).is_known());
/// assert_eq!(Colour::GREEN.name(), Some("GREEN"));
/// ```
#[macro_export]
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($repr:ty) {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $value:expr,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default,
            zerocopy_derive::FromBytes, zerocopy_derive::IntoBytes,
            zerocopy_derive::Immutable, zerocopy_derive::KnownLayout,
        )]
        #[repr(transparent)]
        $vis struct $name(pub $repr);

        #[allow(dead_code)]
        impl $name {
            $(
                $(#[$vmeta])*
                pub const $variant: $name = $name($value);
            )*

            /// Returns the constant's name, or `None` for a value this code does not know.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $(v if v == $value => Some(stringify!($variant)),)*
                    _ => None,
                }
            }

            /// Returns `true` if the value is one of the named constants.
            pub const fn is_known(self) -> bool {
                self.name().is_some()
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}({:#x})", stringify!($name), self.0),
                }
            }
        }
    };
}
