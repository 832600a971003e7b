// SPDX-License-Identifier: GPL-2.0

//! GUIDs as they travel on VMBus, and the device classes Linux knows.
//!
//! C header: `include/linux/hyperv.h` (`HV_*_GUID`), `include/linux/uuid.h` (`guid_t`).
//!
//! A GUID is stored exactly like Linux's `guid_t`: 16 bytes in the "mixed-endian" order that
//! `GUID_INIT()` produces, i.e. the first three fields little-endian and the last eight bytes as
//! written. That is the order of the bytes in offers, in `hv_vmbus_device_id` and in the
//! `vmbus:<hex>` modalias.

use core::fmt;

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// A GUID in the `guid_t` byte order (first three fields little-endian).
///
/// # Examples
///
/// ```
/// use hv_proto::guid::{Guid, HV_NIC};
///
/// const NIC: Guid = Guid::new("f8615163-df3e-46c5-913f-f2d2f965ed0e");
/// assert_eq!(NIC, HV_NIC);
/// assert_eq!(NIC.0[..4], [0x63, 0x51, 0x61, 0xf8]);
/// assert_eq!(
///     format!("{NIC}"),
///     "f8615163-df3e-46c5-913f-f2d2f965ed0e"
/// );
/// assert_eq!(
///     format!("{}", NIC.raw_hex()),
///     "635161f83edfc546913ff2d2f965ed0e"
/// );
/// ```
#[derive(
    Copy,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    FromBytes,
    IntoBytes,
    Immutable,
    KnownLayout,
    Unaligned,
)]
#[repr(transparent)]
pub struct Guid(pub [u8; 16]);

const _: () = assert!(core::mem::size_of::<Guid>() == 16);

/// Returns the value of one ASCII hex digit, or `None`.
const fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Returns the byte written as two hex digits at `s[i]`, `s[i + 1]`, or `None`.
const fn hex_byte(s: &[u8], i: usize) -> Option<u8> {
    if i + 1 >= s.len() {
        return None;
    }
    match (hex_val(s[i]), hex_val(s[i + 1])) {
        (Some(h), Some(l)) => Some((h << 4) | l),
        _ => None,
    }
}

/// Offsets of the 16 byte pairs in the canonical text form, in text order.
const TEXT_POS: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/// Where the n-th byte of the text form goes in the `guid_t` byte order.
const TEXT_TO_LE: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];

impl Guid {
    /// The all-zero GUID (`guid_null`).
    pub const NULL: Guid = Guid([0; 16]);

    /// Builds a GUID from its fields, like the C `GUID_INIT()` macro.
    pub const fn from_fields(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Guid {
        let a = d1.to_le_bytes();
        let b = d2.to_le_bytes();
        let c = d3.to_le_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4],
            d4[5], d4[6], d4[7],
        ])
    }

    /// Parses the canonical 36-character form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    ///
    /// Either case is accepted; braces are not (Linux's `guid_parse()` takes the same form).
    /// Returns `None` for anything else, so it is safe on untrusted input.
    pub const fn parse(s: &str) -> Option<Guid> {
        let s = s.as_bytes();
        if s.len() != 36 || s[8] != b'-' || s[13] != b'-' || s[18] != b'-' || s[23] != b'-' {
            return None;
        }
        let mut out = [0u8; 16];
        let mut n = 0;
        while n < 16 {
            match hex_byte(s, TEXT_POS[n]) {
                Some(b) => out[TEXT_TO_LE[n]] = b,
                None => return None,
            }
            n += 1;
        }
        Some(Guid(out))
    }

    /// Builds a GUID from a string literal in const context.
    ///
    /// # Panics
    ///
    /// Panics if `s` is not a canonical GUID; in a `const` item that is a compile error, which is
    /// what this is for. Use [`Guid::parse`] for run-time input.
    pub const fn new(s: &str) -> Guid {
        match Guid::parse(s) {
            Some(g) => g,
            None => panic!("malformed GUID literal"),
        }
    }

    /// Returns the first field (`Data1`) as a number.
    pub const fn data1(&self) -> u32 {
        u32::from_le_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }

    /// Returns the second field (`Data2`) as a number.
    pub const fn data2(&self) -> u16 {
        u16::from_le_bytes([self.0[4], self.0[5]])
    }

    /// Returns the third field (`Data3`) as a number.
    pub const fn data3(&self) -> u16 {
        u16::from_le_bytes([self.0[6], self.0[7]])
    }

    /// Returns a formatter for the 16 raw bytes as 32 lowercase hex digits, in memory order.
    ///
    /// This is the `%*phN` form of the `vmbus:` modalias.
    pub const fn raw_hex(&self) -> RawHex<'_> {
        RawHex(self)
    }
}

impl fmt::Display for Guid {
    /// Writes the canonical lowercase form, like the kernel's `%pUl`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            self.data1(),
            self.data2(),
            self.data3(),
            b[8],
            b[9],
            b[10],
            b[11],
            b[12],
            b[13],
            b[14],
            b[15]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{self}}}")
    }
}

/// Displays a [`Guid`]'s bytes in memory order as hex (see [`Guid::raw_hex`]).
#[derive(Clone, Copy)]
pub struct RawHex<'a>(&'a Guid);

impl fmt::Display for RawHex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 .0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Synthetic network adapter (netvsc), `HV_NIC_GUID`.
pub const HV_NIC: Guid = Guid::new("f8615163-df3e-46c5-913f-f2d2f965ed0e");
/// IDE accelerator (storvsc), `HV_IDE_GUID`.
pub const HV_IDE: Guid = Guid::new("32412632-86cb-44a2-9b5c-50d1417354f5");
/// Synthetic SCSI controller (storvsc), `HV_SCSI_GUID`.
pub const HV_SCSI: Guid = Guid::new("ba6163d9-04a1-4d29-b605-72e2ffb1dc7f");
/// Shutdown integration component, `HV_SHUTDOWN_GUID`.
pub const HV_SHUTDOWN: Guid = Guid::new("0e0b6031-5213-4934-818b-38d90ced39db");
/// Time synchronization integration component, `HV_TS_GUID`.
pub const HV_TS: Guid = Guid::new("9527e630-d0ae-497b-adce-e80ab0175caf");
/// Heartbeat integration component, `HV_HEART_BEAT_GUID`.
pub const HV_HEART_BEAT: Guid = Guid::new("57164f39-9115-4e78-ab55-382f3bd5422d");
/// Key-value pair exchange integration component, `HV_KVP_GUID`.
pub const HV_KVP: Guid = Guid::new("a9a0f4e7-5a45-4d96-b827-8a841e8c03e6");
/// Dynamic memory (balloon), `HV_DM_GUID`.
pub const HV_DM: Guid = Guid::new("525074dc-8985-46e2-8057-a307dc18a502");
/// Synthetic mouse, `HV_MOUSE_GUID`.
pub const HV_MOUSE: Guid = Guid::new("cfa8b69e-5b4a-4cc0-b98b-8ba1a1f3f95a");
/// Synthetic keyboard, `HV_KBD_GUID`.
pub const HV_KBD: Guid = Guid::new("f912ad6d-2b17-48ea-bd65-f927a61c7684");
/// Volume shadow copy (backup/restore) integration component, `HV_VSS_GUID`.
pub const HV_VSS: Guid = Guid::new("35fa2e29-ea23-4236-96ae-3a6ebacba440");
/// Synthetic video, `HV_SYNTHVID_GUID`.
pub const HV_SYNTHVID: Guid = Guid::new("da0a7802-e377-4aac-8e77-0558eb1073f8");
/// Synthetic Fibre Channel (storvsc), `HV_SYNTHFC_GUID`.
pub const HV_SYNTHFC: Guid = Guid::new("2f9bcc4a-0069-4af3-b76b-6fd0be528cda");
/// Guest file copy service (fcopy, bound to uio_hv_generic in 7.2), `HV_FCOPY_GUID`.
pub const HV_FCOPY: Guid = Guid::new("34d14be3-dee4-41c8-9ae7-6b174977c192");
/// NetworkDirect (guest RDMA), `HV_ND_GUID`.
pub const HV_ND: Guid = Guid::new("8c2eaf3d-32a7-4b09-ab99-bd1f1c86b501");
/// PCI Express pass-through (vPCI), `HV_PCIE_GUID`.
pub const HV_PCIE: Guid = Guid::new("44c4f61d-4444-4400-9d52-802e27ede19f");
/// Automatic Virtual Machine Activation 1 (Linux treats it as unknown), `HV_AVMA1_GUID`.
pub const HV_AVMA1: Guid = Guid::new("f8e65716-3cb3-4a06-9a60-1889c5cccab5");
/// Automatic Virtual Machine Activation 2 (Linux treats it as unknown), `HV_AVMA2_GUID`.
pub const HV_AVMA2: Guid = Guid::new("3375baf4-9e15-4b30-b765-67acb10d607b");
/// Remote Desktop Virtualization (Linux treats it as unknown), `HV_RDV_GUID`.
pub const HV_RDV: Guid = Guid::new("276aacf4-ac15-426c-98dd-7521ad3f01fe");
/// Initial Machine Configuration, Windows guests only (Linux treats it as unknown), `HV_IMC_GUID`.
pub const HV_IMC: Guid = Guid::new("c376c1c3-d276-48d2-90a9-c04748072c60");

/// Every device class GUID of `include/linux/hyperv.h`, with the C macro's name.
pub const DEVICE_CLASSES: [(Guid, &str); 20] = [
    (HV_NIC, "HV_NIC_GUID"),
    (HV_IDE, "HV_IDE_GUID"),
    (HV_SCSI, "HV_SCSI_GUID"),
    (HV_SHUTDOWN, "HV_SHUTDOWN_GUID"),
    (HV_TS, "HV_TS_GUID"),
    (HV_HEART_BEAT, "HV_HEART_BEAT_GUID"),
    (HV_KVP, "HV_KVP_GUID"),
    (HV_DM, "HV_DM_GUID"),
    (HV_MOUSE, "HV_MOUSE_GUID"),
    (HV_KBD, "HV_KBD_GUID"),
    (HV_VSS, "HV_VSS_GUID"),
    (HV_SYNTHVID, "HV_SYNTHVID_GUID"),
    (HV_SYNTHFC, "HV_SYNTHFC_GUID"),
    (HV_FCOPY, "HV_FCOPY_GUID"),
    (HV_ND, "HV_ND_GUID"),
    (HV_PCIE, "HV_PCIE_GUID"),
    (HV_AVMA1, "HV_AVMA1_GUID"),
    (HV_AVMA2, "HV_AVMA2_GUID"),
    (HV_RDV, "HV_RDV_GUID"),
    (HV_IMC, "HV_IMC_GUID"),
];

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::format;
    use std::string::ToString;

    #[test]
    fn matches_guid_init() {
        // GUID_INIT(0xf8615163, 0xdf3e, 0x46c5, 0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e)
        let g = Guid::from_fields(
            0xf8615163,
            0xdf3e,
            0x46c5,
            [0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e],
        );
        assert_eq!(g, HV_NIC);
        assert_eq!(
            g.0,
            [
                0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46, 0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65,
                0xed, 0x0e
            ]
        );
    }

    #[test]
    fn every_class_round_trips_and_is_unique() {
        for (i, (g, name)) in DEVICE_CLASSES.iter().enumerate() {
            let s = g.to_string();
            assert_eq!(Guid::parse(&s), Some(*g), "{name}");
            assert_eq!(s, s.to_lowercase());
            for (h, other) in DEVICE_CLASSES.iter().skip(i + 1) {
                assert_ne!(g, h, "{name} == {other}");
            }
        }
    }

    #[test]
    fn modaliases_from_protocol_facts() {
        // PROTOCOL-FACTS.md section 2.3.
        let cases = [
            (HV_NIC, "635161f83edfc546913ff2d2f965ed0e"),
            (HV_SCSI, "d96361baa104294db60572e2ffb1dc7f"),
            (HV_IDE, "32264132cb86a2449b5c50d1417354f5"),
            (HV_SYNTHFC, "4acc9b2f6900f34ab76b6fd0be528cda"),
            (HV_SHUTDOWN, "31600b0e13523449818b38d90ced39db"),
            (HV_TS, "30e62795aed07b49adcee80ab0175caf"),
            (HV_HEART_BEAT, "394f16571591784eab55382f3bd5422d"),
            (HV_KVP, "e7f4a0a9455a964db8278a841e8c03e6"),
            (HV_VSS, "292efa3523ea364296ae3a6ebacba440"),
            (HV_FCOPY, "e34bd134e4dec8419ae76b174977c192"),
            (HV_DM, "dc7450528589e2468057a307dc18a502"),
        ];
        for (g, hex) in cases {
            assert_eq!(format!("{}", g.raw_hex()), hex);
        }
    }

    #[test]
    fn parse_rejects_malformed() {
        for s in [
            "",
            "f8615163-df3e-46c5-913f-f2d2f965ed0",
            "f8615163-df3e-46c5-913f-f2d2f965ed0e0",
            "{8615163-df3e-46c5-913f-f2d2f965ed0e}",
            "f8615163xdf3e-46c5-913f-f2d2f965ed0e",
            "f8615163-df3e-46c5-913f-f2d2f965ed0g",
            "f8615163-df3e-46c5-913ff-2d2f965ed0e",
            "é8615163-df3e-46c5-913f-f2d2f965ed0",
        ] {
            assert_eq!(Guid::parse(s), None, "{s}");
        }
        assert_eq!(
            Guid::parse("F8615163-DF3E-46C5-913F-F2D2F965ED0E"),
            Some(HV_NIC)
        );
    }

    #[test]
    fn debug_has_braces() {
        assert_eq!(
            format!("{:?}", HV_PCIE),
            "{44c4f61d-4444-4400-9d52-802e27ede19f}"
        );
        assert_eq!(HV_PCIE.data1(), 0x44c4f61d);
        assert_eq!(HV_PCIE.data2(), 0x4444);
        assert_eq!(HV_PCIE.data3(), 0x4400);
    }
}
