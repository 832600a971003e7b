// SPDX-License-Identifier: GPL-2.0

//! Key-value pair (KVP) exchange: the host wire format, the `hv_kvp_daemon` ABI and the
//! conversions between them.
//!
//! C header: [`include/uapi/linux/hyperv.h`](srctree/include/uapi/linux/hyperv.h) (`hv_kvp_msg`,
//! `hv_kvp_exchg_msg_value`, `hv_kvp_ipaddr_value`, `hv_kvp_ip_msg`); behaviour:
//! [`drivers/hv/hv_kvp.c`](srctree/drivers/hv/hv_kvp.c) (`kvp_send_key`, `kvp_respond_to_host`,
//! `kvp_on_msg`, `process_ib_ipinfo`, `process_ob_ipinfo`) and
//! [`fs/nls/nls_base.c`](srctree/fs/nls/nls_base.c) (`utf16s_to_utf8s`, `utf8s_to_utf16s`).
//!
//! Both sides use the same 7432-byte [`KvpMsg`] layout (a 4-byte header/error union and a
//! 7428-byte body union), but with different string encodings: the host sends UTF-16LE keys and
//! values whose sizes are in bytes, the daemon (`/dev/vmbus/hv_kvp`) reads and writes UTF-8.
//! The IP-injection operations are the exception on the host side: their body is a
//! [`KvpIpMsg`] (operation and pool bytes directly followed by a [`KvpIpaddrValue`]).
//!
//! [`host_to_daemon`] does what `kvp_send_key` does, [`daemon_to_host`] what
//! `kvp_respond_to_host` does, with the same size limits and truncation; both are written
//! against byte slices, never read outside them and never panic.
//!
//! # Examples
//!
//! ```
//! use hv_proto::kvp::{utf16s_to_utf8s, utf8s_to_utf16s};
//!
//! let mut utf16 = [0u8; 16];
//! let units = utf8s_to_utf16s("h\u{e9}!".as_bytes(), &mut utf16, 8).unwrap();
//! assert_eq!(units, 3);
//! let mut utf8 = [0u8; 8];
//! let n = utf16s_to_utf8s(&utf16, units, &mut utf8);
//! assert_eq!(&utf8[..n], "h\u{e9}!".as_bytes());
//! ```

use super::ic::HvStatus;
use core::mem::{
    offset_of,
    size_of, //
};
use zerocopy::FromBytes;
use zerocopy_derive::{
    FromBytes,
    Immutable,
    IntoBytes,
    KnownLayout,
    Unaligned, //
};

/// Errors from the KVP conversions.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A buffer is shorter than the structure that must be read or written.
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A daemon registered with an operation other than [`KVP_OP_REGISTER`] or
    /// [`KvpOp::REGISTER1`] (C: "incompatible daemon", `-EINVAL`).
    IncompatibleDaemon(KvpOp),
    /// UTF-8 input is malformed (C: `utf8s_to_utf16s` returns `-EINVAL`).
    InvalidUtf8,
}

/// `HV_KVP_EXCHANGE_MAX_VALUE_SIZE`: bytes of a value, including the terminator.
pub const HV_KVP_EXCHANGE_MAX_VALUE_SIZE: usize = 2048;
/// `HV_KVP_EXCHANGE_MAX_KEY_SIZE`: bytes of a key, including the terminator.
pub const HV_KVP_EXCHANGE_MAX_KEY_SIZE: usize = 512;
/// `MAX_ADAPTER_ID_SIZE`: UTF-16 units of [`KvpIpaddrValue::adapter_id`].
pub const MAX_ADAPTER_ID_SIZE: usize = 128;
/// `MAX_IP_ADDR_SIZE`: UTF-16 units of the address, subnet and DNS fields of [`KvpIpaddrValue`].
pub const MAX_IP_ADDR_SIZE: usize = 1024;
/// `MAX_GATEWAY_SIZE`: UTF-16 units of [`KvpIpaddrValue::gate_way`].
pub const MAX_GATEWAY_SIZE: usize = 512;
/// `HV_DRV_VERSION`: the "LIC version" string the kernel sends the daemon at registration.
pub const HV_DRV_VERSION: &[u8] = b"3.1";
/// KVP service versions Linux accepts, in order of preference (`kvp_versions[]`: Win8 4.0,
/// Win7 3.0, WS2008 1.0), negotiated with [`super::ic::FW_VERSIONS`].
pub const KVP_VERSIONS: [super::ic::IcVersion; 3] = [
    super::ic::IcVersion::new(4, 0),
    super::ic::IcVersion::new(3, 0),
    super::ic::IcVersion::new(1, 0),
];
/// Largest KVP packet the host sends (`max_pkt_size` = 4 pages).
pub const KVP_MAX_PKT_SIZE: usize = 4 * 4096;

open_enum! {
    /// A KVP operation (`enum hv_kvp_exchg_op`, plus the daemon registration code).
    pub struct KvpOp(u8) {
        /// `KVP_OP_GET`: read a key of a pool.
        GET = 0,
        /// `KVP_OP_SET`: write a key of a pool.
        SET = 1,
        /// `KVP_OP_DELETE`: delete a key of a pool.
        DELETE = 2,
        /// `KVP_OP_ENUMERATE`: return the key and value at an index.
        ENUMERATE = 3,
        /// `KVP_OP_GET_IP_INFO`: read the IP configuration of an adapter. Also the value of the
        /// legacy registration code [`KVP_OP_REGISTER`].
        GET_IP_INFO = 4,
        /// `KVP_OP_SET_IP_INFO`: inject an IP configuration into an adapter.
        SET_IP_INFO = 5,
        /// `KVP_OP_REGISTER1`: registration of a daemon that supports IP injection.
        REGISTER1 = 100,
    }
}

/// `KVP_OP_REGISTER`: registration of a legacy daemon (no IP injection); same value as
/// [`KvpOp::GET_IP_INFO`].
pub const KVP_OP_REGISTER: KvpOp = KvpOp(4);

open_enum! {
    /// A KVP pool (`enum hv_kvp_exchg_pool`).
    pub struct KvpPool(u8) {
        /// `KVP_POOL_EXTERNAL`: written by the host.
        EXTERNAL = 0,
        /// `KVP_POOL_GUEST`: written by the guest.
        GUEST = 1,
        /// `KVP_POOL_AUTO`: guest-generated intrinsic values (FQDN, OS name...).
        AUTO = 2,
        /// `KVP_POOL_AUTO_EXTERNAL`: host-generated intrinsic values.
        AUTO_EXTERNAL = 3,
        /// `KVP_POOL_AUTO_INTERNAL`: guest-internal intrinsic values.
        AUTO_INTERNAL = 4,
    }
}

open_enum! {
    /// A registry value type (`REG_SZ`, `REG_U32`, `REG_U64`).
    pub struct KvpValueType(u32) {
        /// `REG_SZ`: a string (UTF-16LE on the host side, UTF-8 in the daemon).
        REG_SZ = 1,
        /// `REG_U32`: a 32-bit scalar (the kernel turns it into a decimal string).
        REG_U32 = 4,
        /// `REG_U64`: a 64-bit scalar (the kernel turns it into a decimal string).
        REG_U64 = 8,
    }
}

open_enum! {
    /// The address family of a [`KvpIpaddrValue`] (`ADDR_FAMILY_*`; the daemon also uses
    /// `IPV4 | IPV6`).
    pub struct AddrFamily(u8) {
        /// `ADDR_FAMILY_NONE`.
        NONE = 0,
        /// `ADDR_FAMILY_IPV4`.
        IPV4 = 1,
        /// `ADDR_FAMILY_IPV6`.
        IPV6 = 2,
    }
}

/// The KVP message header.
///
/// Mirrors `struct hv_kvp_hdr` (`include/uapi/linux/hyperv.h`, 4 bytes, packed). In
/// [`KvpMsg`] it shares its bytes with the daemon's `int error`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct KvpHdr {
    /// Operation.
    pub operation: KvpOp,
    /// Pool.
    pub pool: KvpPool,
    /// Padding.
    pub pad: u16,
}
const _: () = assert!(size_of::<KvpHdr>() == 4);

/// A key and its value.
///
/// Mirrors `struct hv_kvp_exchg_msg_value` (`include/uapi/linux/hyperv.h`, 2572 bytes,
/// packed); the value union (`value[]`, `value_u32`, `value_u64`) is the byte array
/// [`KvpExchgMsgValue::value`] with [`KvpExchgMsgValue::value_u32`]/[`KvpExchgMsgValue::value_u64`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct KvpExchgMsgValue {
    /// Value type.
    pub value_type: KvpValueType,
    /// Key size in bytes, including the terminator (UTF-16 bytes from the host, UTF-8 bytes to
    /// the daemon).
    pub key_size: u32,
    /// Value size in bytes, including the terminator.
    pub value_size: u32,
    /// The key (UTF-16LE or UTF-8).
    pub key: [u8; HV_KVP_EXCHANGE_MAX_KEY_SIZE],
    /// The value (UTF-16LE, UTF-8 or a little-endian scalar).
    pub value: [u8; HV_KVP_EXCHANGE_MAX_VALUE_SIZE],
}
const _: () = assert!(size_of::<KvpExchgMsgValue>() == 2572);

impl KvpExchgMsgValue {
    /// Returns `value_u32` of the C value union.
    pub fn value_u32(&self) -> u32 {
        let [a, b, c, d, ..] = self.value;
        u32::from_le_bytes([a, b, c, d])
    }

    /// Returns `value_u64` of the C value union.
    pub fn value_u64(&self) -> u64 {
        let [a, b, c, d, e, f, g, h, ..] = self.value;
        u64::from_le_bytes([a, b, c, d, e, f, g, h])
    }
}

/// The body of an enumerate request and its answer.
///
/// Mirrors `struct hv_kvp_msg_enumerate` (`include/uapi/linux/hyperv.h`, 2576 bytes, packed).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct KvpMsgEnumerate {
    /// Index the host asks for.
    pub index: u32,
    /// Key and value the guest returns.
    pub data: KvpExchgMsgValue,
}
const _: () = assert!(size_of::<KvpMsgEnumerate>() == 2576);

/// The body of a delete request.
///
/// Mirrors `struct hv_kvp_msg_delete` (`include/uapi/linux/hyperv.h`, 516 bytes; not packed in
/// C, but naturally without padding).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct KvpMsgDelete {
    /// Key size in bytes, including the terminator.
    pub key_size: u32,
    /// The key.
    pub key: [u8; HV_KVP_EXCHANGE_MAX_KEY_SIZE],
}
const _: () = assert!(size_of::<KvpMsgDelete>() == 516);

/// The body of the daemon registration answer.
///
/// Mirrors `struct hv_kvp_register` (`include/uapi/linux/hyperv.h`, 512 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct KvpRegister {
    /// NUL-terminated version string ([`HV_DRV_VERSION`]).
    pub version: [u8; HV_KVP_EXCHANGE_MAX_KEY_SIZE],
}
const _: () = assert!(size_of::<KvpRegister>() == 512);

/// An adapter's IP configuration.
///
/// Mirrors `struct hv_kvp_ipaddr_value` (`include/uapi/linux/hyperv.h`, 7426 bytes, packed).
/// The C string fields are `__u16` arrays; here they are byte arrays of the same size. The host
/// fills them with UTF-16LE; the daemon reads and writes UTF-8 in their first
/// `MAX_*_SIZE` bytes (the kernel converts between the two).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct KvpIpaddrValue {
    /// Adapter id (the interface's VMBus device id `{guid}` or MAC address).
    pub adapter_id: [u8; MAX_ADAPTER_ID_SIZE * 2],
    /// Address family.
    pub addr_family: AddrFamily,
    /// Non-zero if DHCP is enabled.
    pub dhcp_enabled: u8,
    /// Semicolon-separated addresses.
    pub ip_addr: [u8; MAX_IP_ADDR_SIZE * 2],
    /// Semicolon-separated subnet masks or prefixes.
    pub sub_net: [u8; MAX_IP_ADDR_SIZE * 2],
    /// Semicolon-separated gateways.
    pub gate_way: [u8; MAX_GATEWAY_SIZE * 2],
    /// Semicolon-separated DNS servers.
    pub dns_addr: [u8; MAX_IP_ADDR_SIZE * 2],
}
const _: () = assert!(size_of::<KvpIpaddrValue>() == 7426);

/// The host's IP-injection message body (after the IC header).
///
/// Mirrors `struct hv_kvp_ip_msg` (`include/uapi/linux/hyperv.h`, 7428 bytes, packed). Note the
/// value starts at byte 2, not 4 as in [`KvpMsg`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct KvpIpMsg {
    /// Operation ([`KvpOp::GET_IP_INFO`] or [`KvpOp::SET_IP_INFO`]).
    pub operation: KvpOp,
    /// Pool.
    pub pool: KvpPool,
    /// The IP configuration (UTF-16LE strings).
    pub kvp_ip_val: KvpIpaddrValue,
}
const _: () = assert!(size_of::<KvpIpMsg>() == 7428);

/// Size of the body union of [`KvpMsg`] (the largest member, `hv_kvp_ipaddr_value`, rounded up
/// to the union's 4-byte alignment).
pub const KVP_MSG_BODY_SIZE: usize = 7428;

/// A KVP message: what the host sends after the IC header, and what the kernel and
/// `hv_kvp_daemon` exchange over `/dev/vmbus/hv_kvp`.
///
/// Mirrors `struct hv_kvp_msg` (`include/uapi/linux/hyperv.h`, 7432 bytes, packed). The first
/// union (`kvp_hdr` / `int error`) is [`KvpMsg::hdr`] with [`KvpMsg::error`]; the body union is
/// [`KvpMsg::body`], viewed through [`KvpMsg::body_ref`]/[`KvpMsg::body_mut`] as a
/// [`KvpExchgMsgValue`] (get, set), [`KvpMsgDelete`], [`KvpMsgEnumerate`], [`KvpIpaddrValue`] or
/// [`KvpRegister`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct KvpMsg {
    /// Header (operation, pool), or the daemon's error code in a reply.
    pub hdr: KvpHdr,
    /// The body union.
    pub body: [u8; KVP_MSG_BODY_SIZE],
}
const _: () = assert!(size_of::<KvpMsg>() == 7432);

impl KvpMsg {
    /// Returns the `int error` view of the header (the daemon's status in a reply).
    pub fn error(&self) -> HvStatus {
        let KvpHdr {
            operation,
            pool,
            pad,
        } = self.hdr;
        let [c, d] = pad.to_le_bytes();
        HvStatus(u32::from_le_bytes([operation.0, pool.0, c, d]))
    }

    /// Sets the `int error` view of the header.
    pub fn set_error(&mut self, status: HvStatus) {
        let [a, b, c, d] = status.0.to_le_bytes();
        self.hdr = KvpHdr {
            operation: KvpOp(a),
            pool: KvpPool(b),
            pad: u16::from_le_bytes([c, d]),
        };
    }

    /// Views the body union as `T` (one of its members).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if `T` is larger than the body (no member is).
    pub fn body_ref<
        T: FromBytes + zerocopy::KnownLayout + zerocopy::Immutable + zerocopy::Unaligned,
    >(
        &self,
    ) -> Result<&T, Error> {
        T::ref_from_prefix(&self.body)
            .map(|(t, _)| t)
            .map_err(|_| Error::Truncated {
                need: size_of::<T>(),
                have: KVP_MSG_BODY_SIZE,
            })
    }

    /// Views the body union mutably as `T` (one of its members).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if `T` is larger than the body (no member is).
    pub fn body_mut<
        T: FromBytes + zerocopy::KnownLayout + zerocopy::IntoBytes + zerocopy::Unaligned,
    >(
        &mut self,
    ) -> Result<&mut T, Error> {
        T::mut_from_prefix(&mut self.body)
            .map(|(t, _)| t)
            .map_err(|_| Error::Truncated {
                need: size_of::<T>(),
                have: KVP_MSG_BODY_SIZE,
            })
    }
}

// Byte offsets inside a KVP message (header included), from the C layouts.
/// `kvp_hdr.operation`.
const OFF_OP: usize = 0;
/// `kvp_hdr.pool`.
const OFF_POOL: usize = 1;
/// Start of the body union.
const OFF_BODY: usize = offset_of!(KvpMsg, body);
/// `body.kvp_get.data` / `body.kvp_set.data`.
const OFF_GETSET: usize = OFF_BODY;
/// `body.kvp_enum_data.index`.
const OFF_ENUM_INDEX: usize = OFF_BODY + offset_of!(KvpMsgEnumerate, index);
/// `body.kvp_enum_data.data`.
const OFF_ENUM_DATA: usize = OFF_BODY + offset_of!(KvpMsgEnumerate, data);
/// `body.kvp_delete.key_size`.
const OFF_DEL_KEY_SIZE: usize = OFF_BODY + offset_of!(KvpMsgDelete, key_size);
/// `body.kvp_delete.key`.
const OFF_DEL_KEY: usize = OFF_BODY + offset_of!(KvpMsgDelete, key);
/// `body.kvp_ip_val` of the daemon message.
const OFF_DAEMON_IP: usize = OFF_BODY;
/// `kvp_ip_val` of the host's [`KvpIpMsg`].
const OFF_HOST_IP: usize = offset_of!(KvpIpMsg, kvp_ip_val);
/// `hv_kvp_exchg_msg_value.value_type`.
const X_TYPE: usize = offset_of!(KvpExchgMsgValue, value_type);
/// `hv_kvp_exchg_msg_value.key_size`.
const X_KEY_SIZE: usize = offset_of!(KvpExchgMsgValue, key_size);
/// `hv_kvp_exchg_msg_value.value_size`.
const X_VALUE_SIZE: usize = offset_of!(KvpExchgMsgValue, value_size);
/// `hv_kvp_exchg_msg_value.key`.
const X_KEY: usize = offset_of!(KvpExchgMsgValue, key);
/// `hv_kvp_exchg_msg_value.value`.
const X_VALUE: usize = offset_of!(KvpExchgMsgValue, value);
/// `hv_kvp_ipaddr_value.adapter_id`.
const IP_ADAPTER: usize = offset_of!(KvpIpaddrValue, adapter_id);
/// `hv_kvp_ipaddr_value.addr_family`.
const IP_FAMILY: usize = offset_of!(KvpIpaddrValue, addr_family);
/// `hv_kvp_ipaddr_value.dhcp_enabled`.
const IP_DHCP: usize = offset_of!(KvpIpaddrValue, dhcp_enabled);
/// `hv_kvp_ipaddr_value.ip_addr`.
const IP_ADDR: usize = offset_of!(KvpIpaddrValue, ip_addr);
/// `hv_kvp_ipaddr_value.sub_net`.
const IP_SUBNET: usize = offset_of!(KvpIpaddrValue, sub_net);
/// `hv_kvp_ipaddr_value.gate_way`.
const IP_GATEWAY: usize = offset_of!(KvpIpaddrValue, gate_way);
/// `hv_kvp_ipaddr_value.dns_addr`.
const IP_DNS: usize = offset_of!(KvpIpaddrValue, dns_addr);

/// Returns `buf[off..off + len]`, clamped to the end of `buf` (empty if `off` is past it).
fn field(buf: &[u8], off: usize, len: usize) -> &[u8] {
    let rest = buf.get(off..).unwrap_or(&[]);
    rest.get(..len).unwrap_or(rest)
}

/// Returns `buf[off..off + len]` mutably, or [`Error::Truncated`].
fn field_mut(buf: &mut [u8], off: usize, len: usize) -> Result<&mut [u8], Error> {
    let have = buf.len();
    let end = off.saturating_add(len);
    buf.get_mut(off..end)
        .ok_or(Error::Truncated { need: end, have })
}

/// Reads a byte at `off`, 0 past the end.
fn get_u8(buf: &[u8], off: usize) -> u8 {
    buf.get(off).copied().unwrap_or(0)
}

/// Reads a little-endian `u32` at `off`; bytes past the end read as 0.
fn get_u32(buf: &[u8], off: usize) -> u32 {
    let mut raw = [0u8; 4];
    for (i, b) in raw.iter_mut().enumerate() {
        *b = get_u8(buf, off.saturating_add(i));
    }
    u32::from_le_bytes(raw)
}

/// Writes a little-endian `u32` at `off`.
fn put_u32(buf: &mut [u8], off: usize, v: u32) -> Result<(), Error> {
    field_mut(buf, off, 4)?.copy_from_slice(&v.to_le_bytes());
    Ok(())
}

/// Writes a byte at `off`.
fn put_u8(buf: &mut [u8], off: usize, v: u8) -> Result<(), Error> {
    field_mut(buf, off, 1)?.copy_from_slice(&[v]);
    Ok(())
}

/// Converts a C `int` length received as `u32` to a count: lengths that are negative as `int`
/// make the C conversion loops do nothing.
fn c_int_len(v: u32) -> usize {
    if v > i32::MAX as u32 {
        0
    } else {
        v as usize
    }
}

/// Converts UTF-16LE to UTF-8 like the kernel's `utf16s_to_utf8s(pwcs, inlen,
/// UTF16_LITTLE_ENDIAN, s, maxout)`.
///
/// Reads at most `inlen` 16-bit units from `src` (and never past its end), writes at most
/// `dst.len()` bytes (C's `maxout`) and returns the number of bytes written; no terminator is
/// written. As in C:
/// - a NUL unit ends the input;
/// - a low surrogate without a preceding high surrogate is skipped;
/// - a high surrogate not followed by a low surrogate is skipped (the next unit is then
///   converted on its own), and a high surrogate that is the last input unit ends the input;
/// - conversion stops before the first character whose UTF-8 encoding does not fit completely.
///
/// Never fails.
pub fn utf16s_to_utf8s(src: &[u8], inlen: usize, dst: &mut [u8]) -> usize {
    let mut units = src
        .chunks_exact(2)
        .take(inlen)
        .map(|c| match c {
            [a, b] => u16::from_le_bytes([*a, *b]),
            _ => 0,
        })
        .peekable();
    let mut out = 0usize;
    while out < dst.len() {
        let Some(u) = units.next() else {
            break;
        };
        if u == 0 {
            break;
        }
        let cp = if u > 0x7f && (u & 0xf800) == 0xd800 {
            if u & 0x0400 != 0 {
                // Lone low surrogate: ignored.
                continue;
            }
            let Some(&v) = units.peek() else {
                break;
            };
            if (v & 0xfc00) != 0xdc00 {
                // High surrogate without a low one: ignored.
                continue;
            }
            units.next();
            0x1_0000 + ((u32::from(u) & 0x3ff) << 10) + (u32::from(v) & 0x3ff)
        } else {
            u32::from(u)
        };
        match encode_utf8(cp, dst.get_mut(out..).unwrap_or(&mut [])) {
            Some(n) => out += n,
            None => break,
        }
    }
    out
}

/// Encodes `cp` (not a surrogate, at most U+10FFFF) as UTF-8 at the start of `dst`; returns the
/// length, or `None` if it does not fit (C's `utf32_to_utf8` with `maxout`).
fn encode_utf8(cp: u32, dst: &mut [u8]) -> Option<usize> {
    let mut buf = [0u8; 4];
    let n = if cp < 0x80 {
        buf[0] = cp as u8;
        1
    } else if cp < 0x800 {
        buf[0] = 0xc0 | (cp >> 6) as u8;
        buf[1] = 0x80 | (cp & 0x3f) as u8;
        2
    } else if cp < 0x1_0000 {
        buf[0] = 0xe0 | (cp >> 12) as u8;
        buf[1] = 0x80 | ((cp >> 6) & 0x3f) as u8;
        buf[2] = 0x80 | (cp & 0x3f) as u8;
        3
    } else {
        buf[0] = 0xf0 | (cp >> 18) as u8;
        buf[1] = 0x80 | ((cp >> 12) & 0x3f) as u8;
        buf[2] = 0x80 | ((cp >> 6) & 0x3f) as u8;
        buf[3] = 0x80 | (cp & 0x3f) as u8;
        4
    };
    let src = buf.get(..n)?;
    dst.get_mut(..n)?.copy_from_slice(src);
    Some(n)
}

/// Decodes one UTF-8 sequence at the start of `s` (whose first byte has bit 7 set) like C's
/// `utf8_to_utf32`: returns the code point and the sequence length, or `None` for a truncated,
/// overlong, surrogate, out-of-range or otherwise malformed sequence.
fn decode_utf8(s: &[u8]) -> Option<(u32, usize)> {
    let c0 = *s.first()?;
    let (len, init, min) = match c0 {
        0xc0..=0xdf => (2, u32::from(c0 & 0x1f), 0x80),
        0xe0..=0xef => (3, u32::from(c0 & 0x0f), 0x800),
        0xf0..=0xf7 => (4, u32::from(c0 & 0x07), 0x1_0000),
        // 5- and 6-byte forms always exceed U+10FFFF; 0x80..0xbf and 0xfe/0xff never start one.
        _ => return None,
    };
    let mut cp = init;
    for i in 1..len {
        let c = *s.get(i)? ^ 0x80;
        if c & 0xc0 != 0 {
            return None;
        }
        cp = (cp << 6) | u32::from(c);
    }
    if cp < min || cp > 0x10_ffff || (0xd800..=0xdfff).contains(&cp) {
        return None;
    }
    Some((cp, len))
}

/// Converts UTF-8 to UTF-16LE like the kernel's `utf8s_to_utf16s(s, strlen(s),
/// UTF16_HOST_ENDIAN, pwcs, maxout)` on a little-endian machine.
///
/// The input ends at the first NUL byte or the end of `src` (C's `strlen`, bounded by the
/// buffer). Writes at most `maxout` units (and never past `dst`), no terminator, and returns the
/// number of units written. A supplementary character needs two units; if only one is left the
/// conversion stops.
///
/// # Errors
///
/// [`Error::InvalidUtf8`] on malformed input (C: `-EINVAL`); the units converted before it stay
/// written, as in C.
pub fn utf8s_to_utf16s(src: &[u8], dst: &mut [u8], maxout: usize) -> Result<usize, Error> {
    let maxout = maxout.min(dst.len() / 2);
    let len = src.iter().position(|&b| b == 0).unwrap_or(src.len());
    let mut s = src.get(..len).unwrap_or(&[]);
    let mut out = 0usize;
    let put = |dst: &mut [u8], at: usize, unit: u16| {
        if let Some(d) = dst.get_mut(at * 2..at * 2 + 2) {
            d.copy_from_slice(&unit.to_le_bytes());
        }
    };
    while out < maxout {
        let Some(&c0) = s.first() else {
            break;
        };
        if c0 & 0x80 != 0 {
            let (cp, n) = decode_utf8(s).ok_or(Error::InvalidUtf8)?;
            s = s.get(n..).unwrap_or(&[]);
            if cp >= 0x1_0000 {
                if maxout - out < 2 {
                    break;
                }
                let v = cp - 0x1_0000;
                put(dst, out, 0xd800 | ((v >> 10) & 0x3ff) as u16);
                put(dst, out + 1, 0xdc00 | (v & 0x3ff) as u16);
                out += 2;
            } else {
                put(dst, out, cp as u16);
                out += 1;
            }
        } else {
            put(dst, out, u16::from(c0));
            s = s.get(1..).unwrap_or(&[]);
            out += 1;
        }
    }
    Ok(out)
}

/// Writes `v` in decimal at the start of `dst` (C's `sprintf("%u")`/`"%llu"`) and returns the
/// number of digits.
fn write_decimal(mut v: u64, dst: &mut [u8]) -> usize {
    let mut digits = [0u8; 20];
    let mut n = 0;
    loop {
        if let Some(d) = digits.get_mut(n) {
            *d = b'0' + (v % 10) as u8;
        }
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for (i, d) in digits.iter().take(n).rev().enumerate() {
        if let Some(o) = dst.get_mut(i) {
            *o = *d;
        }
    }
    n
}

/// Converts a UTF-16LE host string field to UTF-8 in a daemon field, returning the byte count.
///
/// `inlen` is in 16-bit units; it is clamped to the host field (`src_units`), which C does not
/// do (it may read on into the next field when a string is not terminated).
fn host_str_to_daemon(
    host: &[u8],
    src_off: usize,
    src_units: usize,
    inlen: usize,
    out: &mut [u8],
    dst_off: usize,
    maxout: usize,
) -> Result<usize, Error> {
    let src = field(host, src_off, src_units * 2);
    let dst = field_mut(out, dst_off, maxout)?;
    Ok(utf16s_to_utf8s(src, inlen.min(src_units), dst))
}

/// Builds the daemon message for a host KVP request, like `kvp_send_key` (and
/// `process_ib_ipinfo`).
///
/// `host` is the host message: the bytes after the 28-byte IC header, as received. Bytes the
/// host did not send read as zero (C reads whatever its receive buffer held). `out` is cleared
/// first (C allocates it zeroed); then, by operation:
/// - [`KvpOp::SET`]: the value is converted according to its type (`REG_SZ`: UTF-16 to UTF-8,
///   at most 2047 bytes, `value_size` = bytes + 1; `REG_U32`/`REG_U64`: decimal string,
///   `value_size` = digits + 1; other types: empty, `value_size` 0), then the key (at most 511
///   bytes, `key_size` = bytes + 1). The host's sizes are byte counts but are used as UTF-16
///   unit counts, as in C;
/// - [`KvpOp::GET`], [`KvpOp::DELETE`]: the key, likewise;
/// - [`KvpOp::ENUMERATE`]: the index;
/// - [`KvpOp::SET_IP_INFO`]: address, subnet, gateway and DNS strings (whole fields, at most
///   1024, 1024, 512 and 1024 bytes, possibly unterminated), `dhcp_enabled`, then as for
///   [`KvpOp::GET_IP_INFO`]: adapter id (at most 128 bytes) and address family;
/// - anything else: only operation and pool.
///
/// # Errors
///
/// [`Error::Truncated`] if `host` is shorter than the 4-byte header.
pub fn host_to_daemon(host: &[u8], out: &mut KvpMsg) -> Result<(), Error> {
    if host.len() < size_of::<KvpHdr>() {
        return Err(Error::Truncated {
            need: size_of::<KvpHdr>(),
            have: host.len(),
        });
    }
    let op = KvpOp(get_u8(host, OFF_OP));
    let pool = KvpPool(get_u8(host, OFF_POOL));
    let out_bytes = zerocopy::IntoBytes::as_mut_bytes(out);
    out_bytes.fill(0);
    put_u8(out_bytes, OFF_OP, op.0)?;
    put_u8(out_bytes, OFF_POOL, pool.0)?;

    match op {
        KvpOp::SET_IP_INFO | KvpOp::GET_IP_INFO => {
            if op == KvpOp::SET_IP_INFO {
                for (off, units) in [
                    (IP_ADDR, MAX_IP_ADDR_SIZE),
                    (IP_SUBNET, MAX_IP_ADDR_SIZE),
                    (IP_GATEWAY, MAX_GATEWAY_SIZE),
                    (IP_DNS, MAX_IP_ADDR_SIZE),
                ] {
                    host_str_to_daemon(
                        host,
                        OFF_HOST_IP + off,
                        units,
                        units,
                        out_bytes,
                        OFF_DAEMON_IP + off,
                        units,
                    )?;
                }
                let dhcp = get_u8(host, OFF_HOST_IP + IP_DHCP);
                put_u8(out_bytes, OFF_DAEMON_IP + IP_DHCP, dhcp)?;
            }
            host_str_to_daemon(
                host,
                OFF_HOST_IP + IP_ADAPTER,
                MAX_ADAPTER_ID_SIZE,
                MAX_ADAPTER_ID_SIZE,
                out_bytes,
                OFF_DAEMON_IP + IP_ADAPTER,
                MAX_ADAPTER_ID_SIZE,
            )?;
            let family = get_u8(host, OFF_HOST_IP + IP_FAMILY);
            put_u8(out_bytes, OFF_DAEMON_IP + IP_FAMILY, family)?;
        }
        KvpOp::SET => {
            let base = OFF_GETSET;
            let value_type = KvpValueType(get_u32(host, base + X_TYPE));
            let value_size = match value_type {
                KvpValueType::REG_SZ => {
                    let inlen = c_int_len(get_u32(host, base + X_VALUE_SIZE));
                    let n = host_str_to_daemon(
                        host,
                        base + X_VALUE,
                        HV_KVP_EXCHANGE_MAX_VALUE_SIZE / 2,
                        inlen,
                        out_bytes,
                        base + X_VALUE,
                        HV_KVP_EXCHANGE_MAX_VALUE_SIZE - 1,
                    )?;
                    n + 1
                }
                KvpValueType::REG_U32 | KvpValueType::REG_U64 => {
                    let v = if value_type == KvpValueType::REG_U32 {
                        u64::from(get_u32(host, base + X_VALUE))
                    } else {
                        u64::from(get_u32(host, base + X_VALUE))
                            | (u64::from(get_u32(host, base + X_VALUE + 4)) << 32)
                    };
                    let dst = field_mut(out_bytes, base + X_VALUE, 20)?;
                    write_decimal(v, dst) + 1
                }
                _ => 0,
            };
            put_u32(out_bytes, base + X_VALUE_SIZE, value_size as u32)?;
            convert_key(host, out_bytes, base + X_KEY_SIZE, base + X_KEY)?;
        }
        KvpOp::GET => {
            convert_key(host, out_bytes, OFF_GETSET + X_KEY_SIZE, OFF_GETSET + X_KEY)?;
        }
        KvpOp::DELETE => {
            convert_key(host, out_bytes, OFF_DEL_KEY_SIZE, OFF_DEL_KEY)?;
        }
        KvpOp::ENUMERATE => {
            put_u32(out_bytes, OFF_ENUM_INDEX, get_u32(host, OFF_ENUM_INDEX))?;
        }
        _ => {}
    }
    Ok(())
}

/// Converts the key at `key_off` (size at `size_off`) of a host message into the same fields of
/// the daemon message: at most 511 bytes, `key_size` = bytes + 1.
fn convert_key(host: &[u8], out: &mut [u8], size_off: usize, key_off: usize) -> Result<(), Error> {
    let inlen = c_int_len(get_u32(host, size_off));
    let n = host_str_to_daemon(
        host,
        key_off,
        HV_KVP_EXCHANGE_MAX_KEY_SIZE / 2,
        inlen,
        out,
        key_off,
        HV_KVP_EXCHANGE_MAX_KEY_SIZE - 1,
    )?;
    put_u32(out, size_off, (n + 1) as u32)
}

/// The daemon protocol version, chosen by its registration message.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum KvpDaemonVersion {
    /// [`KVP_OP_REGISTER`]: legacy daemon; no IP injection; errors are signalled by an empty key.
    Legacy,
    /// [`KvpOp::REGISTER1`]: errors are returned in [`KvpMsg::error`].
    Register1,
}

/// Parses a message written by the daemon to the device (C `kvp_on_msg` length check).
///
/// # Errors
///
/// [`Error::Truncated`] if it is shorter than [`KvpMsg`] (C: `-EINVAL`). Longer writes are
/// accepted and the excess ignored, as in C.
pub fn parse_daemon_msg(bytes: &[u8]) -> Result<&KvpMsg, Error> {
    KvpMsg::ref_from_prefix(bytes)
        .map(|(m, _)| m)
        .map_err(|_| Error::Truncated {
            need: size_of::<KvpMsg>(),
            have: bytes.len(),
        })
}

/// Decodes the daemon's registration message (`kvp_handle_handshake`).
///
/// # Errors
///
/// [`Error::IncompatibleDaemon`] for any operation but the two registration codes.
pub fn parse_daemon_register(msg: &KvpMsg) -> Result<KvpDaemonVersion, Error> {
    match msg.hdr.operation {
        KVP_OP_REGISTER => Ok(KvpDaemonVersion::Legacy),
        KvpOp::REGISTER1 => Ok(KvpDaemonVersion::Register1),
        op => Err(Error::IncompatibleDaemon(op)),
    }
}

/// Builds the kernel's registration answer (`kvp_register`): operation = the daemon's
/// registration code, version string [`HV_DRV_VERSION`], everything else zero.
pub fn build_register_reply(out: &mut KvpMsg, version: KvpDaemonVersion) {
    zerocopy::IntoBytes::as_mut_bytes(out).fill(0);
    out.hdr.operation = match version {
        KvpDaemonVersion::Legacy => KVP_OP_REGISTER,
        KvpDaemonVersion::Register1 => KvpOp::REGISTER1,
    };
    if let Some(dst) = out.body.get_mut(..HV_DRV_VERSION.len()) {
        dst.copy_from_slice(HV_DRV_VERSION);
    }
}

/// Returns the status a daemon reply carries (`kvp_on_msg`): for a legacy daemon
/// [`HvStatus::S_CONT`] if the enumerate-layout key is empty, else success; for
/// [`KvpDaemonVersion::Register1`] the [`KvpMsg::error`] field.
pub fn daemon_status(msg: &KvpMsg, version: KvpDaemonVersion) -> HvStatus {
    match version {
        KvpDaemonVersion::Legacy => {
            if get_u8(&msg.body, OFF_ENUM_DATA - OFF_BODY + X_KEY) == 0 {
                HvStatus::S_CONT
            } else {
                HvStatus::S_OK
            }
        }
        KvpDaemonVersion::Register1 => msg.error(),
    }
}

/// Converts a UTF-8 daemon string field to UTF-16LE in the host packet; returns the C result
/// (units or `-EINVAL`).
fn daemon_str_to_host(
    daemon: &[u8],
    src_off: usize,
    src_len: usize,
    host: &mut [u8],
    dst_off: usize,
    maxout: usize,
) -> Result<i32, Error> {
    let src = field(daemon, src_off, src_len);
    let dst = field_mut(host, dst_off, maxout * 2)?;
    Ok(match utf8s_to_utf16s(src, dst, maxout) {
        Ok(n) => n as i32,
        Err(_) => -22,
    })
}

/// Writes a daemon reply into the host packet and sets the IC status, like
/// `kvp_respond_to_host` (and `process_ob_ipinfo`).
///
/// `packet` is the receive buffer that holds the host's request (IC headers included); the
/// caller then sends its first `recvlen` bytes back, as C does. `host_op` is the operation of
/// that request, `reply` the daemon's message (or `None` when failing the request without one),
/// `status` the outcome ([`daemon_status`], or [`HvStatus::E_FAIL`] on a timeout). Returns the
/// status written into the IC header. As in C:
/// - a non-zero `status` is written unchanged and nothing else is touched;
/// - [`KvpOp::GET_IP_INFO`]: address, subnet, gateway, DNS (at most 1024, 1024, 512, 1024
///   units) and adapter id (at most 128 units) are converted to UTF-16 without terminators,
///   then address family and `dhcp_enabled` are copied; the first conversion failure stops and
///   yields [`HvStatus::E_FAIL`];
/// - [`KvpOp::SET`], [`KvpOp::DELETE`], [`KvpOp::SET_IP_INFO`]: only the status;
/// - [`KvpOp::GET`]: the value (at most 1022 units, `value_size` = 2 * (units + 1)),
///   `value_type` = `REG_SZ`;
/// - any other operation (enumerate): key (at most 254 units, `key_size` = 2 * (units + 1)) and
///   value as for get, in the enumerate layout;
/// - a conversion failure yields [`HvStatus::E_FAIL`], with the sizes computed from C's
///   `-EINVAL` as C does.
///
/// One deliberate difference: for [`KvpOp::GET`], C takes the daemon's value from the
/// *enumerate* layout (4 bytes further than where `hv_kvp_daemon` writes it), which drops the
/// value's first two characters; this takes it from the get layout the daemon fills.
///
/// # Errors
///
/// [`Error::Truncated`] if `packet` cannot hold the IC header or, on success, the structure the
/// operation writes (the receive buffer is 16 KiB, which always can); nothing is written then.
pub fn daemon_to_host(
    host_op: KvpOp,
    reply: Option<&KvpMsg>,
    status: HvStatus,
    packet: &mut [u8],
) -> Result<HvStatus, Error> {
    use super::ic::ICMSG_HDR;

    let body = match host_op {
        KvpOp::GET_IP_INFO => size_of::<KvpIpMsg>(),
        KvpOp::GET => OFF_GETSET + size_of::<KvpExchgMsgValue>(),
        KvpOp::SET | KvpOp::DELETE | KvpOp::SET_IP_INFO => 0,
        _ => OFF_ENUM_DATA + size_of::<KvpExchgMsgValue>(),
    };
    let reply = reply.filter(|_| status == HvStatus::S_OK);
    let need = ICMSG_HDR + if reply.is_some() { body } else { 0 };
    if packet.len() < need {
        return Err(Error::Truncated {
            need,
            have: packet.len(),
        });
    }

    let status = match (status, reply) {
        (HvStatus::S_OK, Some(reply)) => respond_body(host_op, reply, packet)?,
        (HvStatus::S_OK, None) => HvStatus::E_FAIL,
        (s, _) => s,
    };
    let have = packet.len();
    super::ic::finish_response(packet, Some(status)).map_err(|_| Error::Truncated {
        need: ICMSG_HDR,
        have,
    })?;
    Ok(status)
}

/// The success path of [`daemon_to_host`]: fills the host body and returns the status.
fn respond_body(host_op: KvpOp, reply: &KvpMsg, packet: &mut [u8]) -> Result<HvStatus, Error> {
    use super::ic::ICMSG_HDR;

    let daemon = zerocopy::IntoBytes::as_bytes(reply);
    let host = packet.get_mut(ICMSG_HDR..).unwrap_or(&mut []);

    let (data, daemon_value) = match host_op {
        KvpOp::GET_IP_INFO => {
            for (off, units) in [
                (IP_ADDR, MAX_IP_ADDR_SIZE),
                (IP_SUBNET, MAX_IP_ADDR_SIZE),
                (IP_GATEWAY, MAX_GATEWAY_SIZE),
                (IP_DNS, MAX_IP_ADDR_SIZE),
                (IP_ADAPTER, MAX_ADAPTER_ID_SIZE),
            ] {
                // The daemon's UTF-8 string, bounded by its field.
                let n = daemon_str_to_host(
                    daemon,
                    OFF_DAEMON_IP + off,
                    units * 2,
                    host,
                    OFF_HOST_IP + off,
                    units,
                )?;
                if n < 0 {
                    return Ok(HvStatus::E_FAIL);
                }
            }
            put_u8(
                host,
                OFF_HOST_IP + IP_DHCP,
                get_u8(daemon, OFF_DAEMON_IP + IP_DHCP),
            )?;
            put_u8(
                host,
                OFF_HOST_IP + IP_FAMILY,
                get_u8(daemon, OFF_DAEMON_IP + IP_FAMILY),
            )?;
            return Ok(HvStatus::S_OK);
        }
        KvpOp::SET | KvpOp::DELETE | KvpOp::SET_IP_INFO => return Ok(HvStatus::S_OK),
        KvpOp::GET => (OFF_GETSET, OFF_GETSET + X_VALUE),
        _ => (OFF_ENUM_DATA, OFF_ENUM_DATA + X_VALUE),
    };

    let mut keylen = 0i32;
    if data == OFF_ENUM_DATA {
        keylen = daemon_str_to_host(
            daemon,
            OFF_ENUM_DATA + X_KEY,
            HV_KVP_EXCHANGE_MAX_KEY_SIZE,
            host,
            data + X_KEY,
            HV_KVP_EXCHANGE_MAX_KEY_SIZE / 2 - 2,
        )?;
        put_u32(
            host,
            data + X_KEY_SIZE,
            keylen.wrapping_add(1).wrapping_mul(2) as u32,
        )?;
    }
    let valuelen = daemon_str_to_host(
        daemon,
        daemon_value,
        HV_KVP_EXCHANGE_MAX_VALUE_SIZE,
        host,
        data + X_VALUE,
        HV_KVP_EXCHANGE_MAX_VALUE_SIZE / 2 - 2,
    )?;
    put_u32(
        host,
        data + X_VALUE_SIZE,
        valuelen.wrapping_add(1).wrapping_mul(2) as u32,
    )?;
    put_u32(host, data + X_TYPE, KvpValueType::REG_SZ.0)?;
    Ok(if keylen < 0 || valuelen < 0 {
        HvStatus::E_FAIL
    } else {
        HvStatus::S_OK
    })
}

#[cfg(test)]
mod tests;
