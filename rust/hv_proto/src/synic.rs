// SPDX-License-Identifier: GPL-2.0

//! Hypervisor plumbing under VMBus: SynIC messages, the two hypercalls, monitor pages.
//!
//! C headers: `include/hyperv/hvgdk_mini.h` (`hv_message`, status codes, hypercall codes),
//! `include/hyperv/hvgdk.h` (`hv_connection_id`), `include/hyperv/hvhdk.h` (event flags),
//! `drivers/hv/hyperv_vmbus.h` (`hv_input_post_message`, `hv_monitor_page`, connection ids).
//!
//! All structs are `#[repr(C, packed)]` mirrors of the C layouts, so they can be read from any
//! byte offset of a private copy with zerocopy; every size is asserted at compile time and every
//! field offset is tested against the C header.

use core::mem::size_of;

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Size of one SynIC message slot in bytes (`HV_MESSAGE_SIZE`).
pub const HV_MESSAGE_SIZE: usize = 256;
/// Size of the payload of a SynIC message in bytes (`HV_MESSAGE_PAYLOAD_BYTE_COUNT`).
pub const HV_MESSAGE_PAYLOAD_BYTE_COUNT: usize = 240;
/// Number of synthetic interrupt sources per virtual processor (`HV_SYNIC_SINT_COUNT`).
pub const HV_SYNIC_SINT_COUNT: usize = 16;
/// Number of event flags (bits) per SINT in the event-flags page (`HV_EVENT_FLAGS_COUNT`).
pub const HV_EVENT_FLAGS_COUNT: usize = 256 * 8;
/// Size in bytes of one SINT's event flags (`HV_EVENT_FLAGS_BYTE_COUNT`).
pub const HV_EVENT_FLAGS_BYTE_COUNT: usize = 256;
/// The size of a Hyper-V page in bytes (`HV_HYP_PAGE_SIZE`), whatever the guest's page size.
pub const HV_HYP_PAGE_SIZE: usize = 4096;
/// `log2(HV_HYP_PAGE_SIZE)` (`HV_HYP_PAGE_SHIFT`).
pub const HV_HYP_PAGE_SHIFT: u32 = 12;

/// The SINT that carries VMBus channel messages and channel interrupts (`VMBUS_MESSAGE_SINT`).
pub const VMBUS_MESSAGE_SINT: u8 = 2;
/// Message connection id before VMBus 5.0, and for every message then (`VMBUS_MESSAGE_CONNECTION_ID`).
pub const VMBUS_MESSAGE_CONNECTION_ID: u32 = 1;
/// Message connection id for INITIATE_CONTACT from VMBus 5.0 on (`VMBUS_MESSAGE_CONNECTION_ID_4`).
pub const VMBUS_MESSAGE_CONNECTION_ID_4: u32 = 4;
/// VTL2 redirect connection id tried first for INITIATE_CONTACT
/// (`VMBUS_MESSAGE_CONNECTION_ID_REDIRECT`).
pub const VMBUS_MESSAGE_CONNECTION_ID_REDIRECT: u32 = 0x0080_0074;
/// Message port id of VMBus (`VMBUS_MESSAGE_PORT_ID`).
pub const VMBUS_MESSAGE_PORT_ID: u32 = 1;
/// Event connection id used when an offer has none (`VMBUS_EVENT_CONNECTION_ID`).
pub const VMBUS_EVENT_CONNECTION_ID: u32 = 2;
/// Event port id of VMBus (`VMBUS_EVENT_PORT_ID`).
pub const VMBUS_EVENT_PORT_ID: u32 = 2;
/// Monitor connection id (`VMBUS_MONITOR_CONNECTION_ID`).
pub const VMBUS_MONITOR_CONNECTION_ID: u32 = 3;
/// Monitor port id (`VMBUS_MONITOR_PORT_ID`).
pub const VMBUS_MONITOR_PORT_ID: u32 = 3;
/// Mask of the valid bits of a connection id (`hv_connection_id.u.id` is 24 bits wide).
pub const HV_CONNECTION_ID_MASK: u32 = 0x00ff_ffff;

/// Hypercall code of `HvPostMessage` (`HVCALL_POST_MESSAGE`).
pub const HVCALL_POST_MESSAGE: u16 = 0x005c;
/// Hypercall code of `HvSignalEvent` (`HVCALL_SIGNAL_EVENT`); VMBus uses it as a fast call.
pub const HVCALL_SIGNAL_EVENT: u16 = 0x005d;
/// Hypercall control bit for a register-based ("fast") call (`HV_HYPERCALL_FAST_BIT`).
pub const HV_HYPERCALL_FAST_BIT: u64 = 1 << 16;
/// Hypercall control bit for a nested call (`HV_HYPERCALL_NESTED`).
pub const HV_HYPERCALL_NESTED: u64 = 1 << 31;
/// Mask of the status in a hypercall result (`HV_HYPERCALL_RESULT_MASK`).
pub const HV_HYPERCALL_RESULT_MASK: u64 = 0xffff;

/// SynIC control MSR (`HV_X64_MSR_SCONTROL`; `HV_MSR_SCONTROL` on x86).
pub const HV_X64_MSR_SCONTROL: u32 = 0x4000_0080;
/// SynIC version MSR (`HV_X64_MSR_SVERSION`).
pub const HV_X64_MSR_SVERSION: u32 = 0x4000_0081;
/// SynIC event-flags page MSR (`HV_X64_MSR_SIEFP`; `HV_MSR_SIEFP` on x86).
pub const HV_X64_MSR_SIEFP: u32 = 0x4000_0082;
/// SynIC message page MSR (`HV_X64_MSR_SIMP`; `HV_MSR_SIMP` on x86).
pub const HV_X64_MSR_SIMP: u32 = 0x4000_0083;
/// End-of-message MSR (`HV_X64_MSR_EOM`; `HV_MSR_EOM` on x86): writing it makes the hypervisor
/// rescan its queue and deliver the next message into a freed slot.
pub const HV_X64_MSR_EOM: u32 = 0x4000_0084;
/// SINT0 MSR (`HV_X64_MSR_SINT0`; `HV_MSR_SINT0` on x86); SINTn is at `HV_X64_MSR_SINT0 + n`.
pub const HV_X64_MSR_SINT0: u32 = 0x4000_0090;

/// Value of a SINTx MSR (`union hv_synic_sint`).
///
/// Bits 0-7 `vector`, 16 `masked`, 17 `auto_eoi`, 18 `polling`, 19 `as_intercept`, 20 `proxy`;
/// the setters keep every other bit as read.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct SynicSint(pub u64);

impl SynicSint {
    const MASKED: u64 = 1 << 16;
    const AUTO_EOI: u64 = 1 << 17;

    /// Returns the interrupt vector.
    pub const fn vector(self) -> u8 {
        self.0 as u8
    }

    /// Returns the value with the vector set to `vector`.
    pub const fn with_vector(self, vector: u8) -> SynicSint {
        SynicSint((self.0 & !0xff) | vector as u64)
    }

    /// Returns the `masked` bit.
    pub const fn masked(self) -> bool {
        self.0 & Self::MASKED != 0
    }

    /// Returns the value with the `masked` bit set to `masked`.
    pub const fn with_masked(self, masked: bool) -> SynicSint {
        SynicSint(if masked {
            self.0 | Self::MASKED
        } else {
            self.0 & !Self::MASKED
        })
    }

    /// Returns the `auto_eoi` bit.
    pub const fn auto_eoi(self) -> bool {
        self.0 & Self::AUTO_EOI != 0
    }

    /// Returns the value with the `auto_eoi` bit set to `auto_eoi`.
    pub const fn with_auto_eoi(self, auto_eoi: bool) -> SynicSint {
        SynicSint(if auto_eoi {
            self.0 | Self::AUTO_EOI
        } else {
            self.0 & !Self::AUTO_EOI
        })
    }
}

/// Value of the SIMP or SIEFP MSR (`union hv_synic_simp` / `union hv_synic_siefp`).
///
/// Bit 0 enables the page, bits 12-63 hold its GPA in 4 KiB pages; bits 1-11 are preserved.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct SynicPageMsr(pub u64);

impl SynicPageMsr {
    const ENABLED: u64 = 1;
    const PRESERVED: u64 = 0xffe;

    /// Returns the enable bit (`simp_enabled` / `siefp_enabled`).
    pub const fn enabled(self) -> bool {
        self.0 & Self::ENABLED != 0
    }

    /// Returns the GPA of the page in 4 KiB pages (`base_simp_gpa` / `base_siefp_gpa`).
    pub const fn base_pfn(self) -> u64 {
        self.0 >> HV_HYP_PAGE_SHIFT
    }

    /// Returns the value with the page at `pfn` (4 KiB pages, 52 bits) and enabled as given;
    /// the preserved bits are kept.
    pub const fn with_page(self, pfn: u64, enabled: bool) -> SynicPageMsr {
        SynicPageMsr(
            (self.0 & Self::PRESERVED)
                | (pfn << HV_HYP_PAGE_SHIFT)
                | if enabled { Self::ENABLED } else { 0 },
        )
    }
}

/// Value of the SCONTROL MSR (`union hv_synic_scontrol`): bit 0 enables the SynIC.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct SynicScontrol(pub u64);

impl SynicScontrol {
    /// Returns the `enable` bit.
    pub const fn enabled(self) -> bool {
        self.0 & 1 != 0
    }

    /// Returns the value with the `enable` bit set to `enabled`.
    pub const fn with_enabled(self, enabled: bool) -> SynicScontrol {
        SynicScontrol((self.0 & !1) | enabled as u64)
    }
}

/// Byte offset of SINT `sint`'s message slot in the SynIC message page.
pub const fn message_slot_offset(sint: u8) -> usize {
    sint as usize * HV_MESSAGE_SIZE
}

/// Byte offset of SINT `sint`'s event flags in the SynIC event-flags page.
pub const fn event_flags_offset(sint: u8) -> usize {
    sint as usize * HV_EVENT_FLAGS_BYTE_COUNT
}

open_enum! {
    /// Hypervisor message type in a SynIC message header (`enum hv_message_type`).
    ///
    /// VMBus channel messages use the value 1 (the C driver passes a literal 1 to
    /// `hv_post_message()`), which has no name in the C enum; it is [`Self::VMBUS`] here.
    pub struct HvMessageType(u32) {
        /// Empty slot (`HVMSG_NONE`).
        NONE = 0,
        /// A VMBus channel message (message type 1 of `hv_post_message()`).
        VMBUS = 1,
        /// Unmapped GPA intercept (`HVMSG_UNMAPPED_GPA`).
        UNMAPPED_GPA = 0x8000_0000,
        /// GPA intercept (`HVMSG_GPA_INTERCEPT`).
        GPA_INTERCEPT = 0x8000_0001,
        /// A synthetic timer expired (`HVMSG_TIMER_EXPIRED`); the VMBus ISR forwards it to stimer0.
        TIMER_EXPIRED = 0x8000_0010,
        /// Invalid VP register value (`HVMSG_INVALID_VP_REGISTER_VALUE`).
        INVALID_VP_REGISTER_VALUE = 0x8000_0020,
        /// Unrecoverable exception (`HVMSG_UNRECOVERABLE_EXCEPTION`).
        UNRECOVERABLE_EXCEPTION = 0x8000_0021,
        /// Unsupported feature (`HVMSG_UNSUPPORTED_FEATURE`).
        UNSUPPORTED_FEATURE = 0x8000_0022,
        /// Event log buffer complete (`HVMSG_EVENTLOG_BUFFERCOMPLETE`).
        EVENTLOG_BUFFERCOMPLETE = 0x8000_0040,
    }
}

open_enum! {
    /// Hypercall status (`HV_STATUS_*` in `hvgdk_mini.h`), the low 16 bits of the result.
    pub struct HvStatus(u16) {
        /// `HV_STATUS_SUCCESS`.
        SUCCESS = 0x0,
        /// `HV_STATUS_INVALID_HYPERCALL_CODE`.
        INVALID_HYPERCALL_CODE = 0x2,
        /// `HV_STATUS_INVALID_HYPERCALL_INPUT`.
        INVALID_HYPERCALL_INPUT = 0x3,
        /// `HV_STATUS_INVALID_ALIGNMENT`.
        INVALID_ALIGNMENT = 0x4,
        /// `HV_STATUS_INVALID_PARAMETER`.
        INVALID_PARAMETER = 0x5,
        /// `HV_STATUS_ACCESS_DENIED`.
        ACCESS_DENIED = 0x6,
        /// `HV_STATUS_INVALID_PARTITION_STATE`.
        INVALID_PARTITION_STATE = 0x7,
        /// `HV_STATUS_OPERATION_DENIED`.
        OPERATION_DENIED = 0x8,
        /// `HV_STATUS_UNKNOWN_PROPERTY`.
        UNKNOWN_PROPERTY = 0x9,
        /// `HV_STATUS_PROPERTY_VALUE_OUT_OF_RANGE`.
        PROPERTY_VALUE_OUT_OF_RANGE = 0xA,
        /// `HV_STATUS_INSUFFICIENT_MEMORY`: transient, `vmbus_post_msg()` retries.
        INSUFFICIENT_MEMORY = 0xB,
        /// `HV_STATUS_INVALID_PARTITION_ID`.
        INVALID_PARTITION_ID = 0xD,
        /// `HV_STATUS_INVALID_VP_INDEX`.
        INVALID_VP_INDEX = 0xE,
        /// `HV_STATUS_NOT_FOUND`.
        NOT_FOUND = 0x10,
        /// `HV_STATUS_INVALID_PORT_ID`.
        INVALID_PORT_ID = 0x11,
        /// `HV_STATUS_INVALID_CONNECTION_ID`: for INITIATE_CONTACT, try the next connection id.
        INVALID_CONNECTION_ID = 0x12,
        /// `HV_STATUS_INSUFFICIENT_BUFFERS`: transient, `vmbus_post_msg()` retries.
        INSUFFICIENT_BUFFERS = 0x13,
        /// `HV_STATUS_NOT_ACKNOWLEDGED`.
        NOT_ACKNOWLEDGED = 0x14,
        /// `HV_STATUS_INVALID_VP_STATE`.
        INVALID_VP_STATE = 0x15,
        /// `HV_STATUS_NO_RESOURCES`.
        NO_RESOURCES = 0x1D,
        /// `HV_STATUS_PROCESSOR_FEATURE_NOT_SUPPORTED`.
        PROCESSOR_FEATURE_NOT_SUPPORTED = 0x20,
        /// `HV_STATUS_INVALID_LP_INDEX`.
        INVALID_LP_INDEX = 0x41,
        /// `HV_STATUS_INVALID_REGISTER_VALUE`.
        INVALID_REGISTER_VALUE = 0x50,
        /// `HV_STATUS_OPERATION_FAILED`.
        OPERATION_FAILED = 0x71,
        /// `HV_STATUS_INSUFFICIENT_ROOT_MEMORY`.
        INSUFFICIENT_ROOT_MEMORY = 0x73,
        /// `HV_STATUS_INSUFFICIENT_CONTIGUOUS_MEMORY`.
        INSUFFICIENT_CONTIGUOUS_MEMORY = 0x75,
        /// `HV_STATUS_TIME_OUT`.
        TIME_OUT = 0x78,
        /// `HV_STATUS_CALL_PENDING`.
        CALL_PENDING = 0x79,
        /// `HV_STATUS_INSUFFICIENT_CONTIGUOUS_ROOT_MEMORY`.
        INSUFFICIENT_CONTIGUOUS_ROOT_MEMORY = 0x83,
        /// `HV_STATUS_VTL_ALREADY_ENABLED`.
        VTL_ALREADY_ENABLED = 0x86,
    }
}

impl HvStatus {
    /// Extracts the status from a raw hypercall result value.
    pub const fn from_result(result: u64) -> HvStatus {
        HvStatus((result & HV_HYPERCALL_RESULT_MASK) as u16)
    }

    /// Returns `true` for the statuses `vmbus_post_msg()` retries with back-off
    /// (`INSUFFICIENT_MEMORY`, `INSUFFICIENT_BUFFERS`, and `INVALID_CONNECTION_ID` for messages
    /// other than INITIATE_CONTACT).
    pub const fn is_transient(self) -> bool {
        matches!(self.0, 0xB | 0x13 | 0x12)
    }
}

/// Message flags of a SynIC message header (`union hv_message_flags`).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(transparent)]
pub struct HvMessageFlags(pub u8);

impl HvMessageFlags {
    /// Bit 0, `msg_pending`: another message is queued; write the EOM MSR after freeing the slot.
    pub const MSG_PENDING: u8 = 1;

    /// Returns the `msg_pending` bit.
    pub const fn msg_pending(self) -> bool {
        self.0 & Self::MSG_PENDING != 0
    }
}

/// SynIC message header (`struct hv_message_header`, 16 bytes).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C, packed)]
pub struct HvMessageHeader {
    /// Message type (`message_type`, @0); [`HvMessageType::NONE`] marks a free slot.
    pub message_type: HvMessageType,
    /// Valid payload bytes (`payload_size`, @4); at most [`HV_MESSAGE_PAYLOAD_BYTE_COUNT`].
    pub payload_size: u8,
    /// Flags (`message_flags`, @5).
    pub message_flags: HvMessageFlags,
    /// Reserved (`reserved[2]`, @6).
    pub reserved: [u8; 2],
    /// Sender partition id or port id (`sender`/`port`, @8).
    pub sender: u64,
}

/// One SynIC message slot (`struct hv_message`, 256 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct HvMessage {
    /// Header (`header`, @0).
    pub header: HvMessageHeader,
    /// Payload (`u.payload`, @16), 240 bytes; only `header.payload_size` of them are valid.
    pub payload: [u8; HV_MESSAGE_PAYLOAD_BYTE_COUNT],
}

/// Timer-expired message payload (`struct hv_timer_message_payload`, 24 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct HvTimerMessagePayload {
    /// Index of the synthetic timer (`timer_index`, @0).
    pub timer_index: u32,
    /// Reserved (`reserved`, @4).
    pub reserved: u32,
    /// When the timer expired, in 100 ns units of the reference counter (`expiration_time`, @8).
    pub expiration_time: u64,
    /// When the message was delivered, in 100 ns units (`delivery_time`, @16).
    pub delivery_time: u64,
}

/// Input page of `HvPostMessage` (`struct hv_input_post_message`, 256 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct HvPostMessageInput {
    /// Target connection id, 24 bits (`connectionid`, @0).
    pub connectionid: u32,
    /// Reserved, zero (`reserved`, @4).
    pub reserved: u32,
    /// Message type; VMBus posts [`HvMessageType::VMBUS`] (`message_type`, @8).
    pub message_type: HvMessageType,
    /// Payload length in bytes, at most 240 (`payload_size`, @12).
    pub payload_size: u32,
    /// Payload (`payload[30]` as u64, @16).
    pub payload: [u8; HV_MESSAGE_PAYLOAD_BYTE_COUNT],
}

impl HvPostMessageInput {
    /// Builds the input for posting `message` to `connection_id`.
    ///
    /// Returns `None` if `message` is longer than [`HV_MESSAGE_PAYLOAD_BYTE_COUNT`].
    pub fn new(connection_id: u32, message: &[u8]) -> Option<HvPostMessageInput> {
        let mut payload = [0u8; HV_MESSAGE_PAYLOAD_BYTE_COUNT];
        payload.get_mut(..message.len())?.copy_from_slice(message);
        Some(HvPostMessageInput {
            connectionid: connection_id & HV_CONNECTION_ID_MASK,
            reserved: 0,
            message_type: HvMessageType::VMBUS,
            // The length is at most 240 here.
            payload_size: message.len() as u32,
            payload,
        })
    }
}

/// Input of `HvSignalEvent` (`hv_input_signal_event`, 8 bytes), passed in a register (fast call).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C, packed)]
pub struct HvSignalEventInput {
    /// Event connection id from the offer (`connectionid`, @0).
    pub connectionid: u32,
    /// Event flag number (`flag_number`, @4); Linux passes 0.
    pub flag_number: u16,
    /// Reserved, zero (`rsvdz`, @6).
    pub rsvdz: u16,
}

impl HvSignalEventInput {
    /// Returns the 64-bit register value of the fast hypercall (the C driver's `sig_event`).
    pub const fn as_u64(self) -> u64 {
        (self.connectionid as u64) | ((self.flag_number as u64) << 32)
    }
}

/// Trigger group of a monitor page (`union hv_monitor_trigger_group`, 8 bytes).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C, packed)]
pub struct HvMonitorTriggerGroup {
    /// Pending bits, one per monitor id of the group (`pending`, @0).
    pub pending: u32,
    /// Armed bits (`armed`, @4).
    pub armed: u32,
}

/// Monitor parameter of one monitor id (`struct hv_monitor_parameter`, 8 bytes).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C, packed)]
pub struct HvMonitorParameter {
    /// Connection id (`connectionid`, @0).
    pub connectionid: u32,
    /// Flag number (`flagnumber`, @4).
    pub flagnumber: u16,
    /// Reserved (`rsvdz`, @6).
    pub rsvdz: u16,
}

/// A monitor page (`struct hv_monitor_page`, 4096 bytes).
///
/// The guest allocates two: page 1 for parent-to-child, page 2 for child-to-parent
/// notifications; a channel's group is `monitorid / 32`, its bit `monitorid % 32`.
#[derive(Copy, Clone, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct HvMonitorPage {
    /// Trigger state, bits 0-3 `group_enable` (`trigger_state`, @0).
    pub trigger_state: u32,
    /// Reserved (`rsvdz1`, @4).
    pub rsvdz1: u32,
    /// Trigger groups (`trigger_group[4]`, @8).
    pub trigger_group: [HvMonitorTriggerGroup; 4],
    /// Reserved (`rsvdz2[3]`, @40).
    pub rsvdz2: [u64; 3],
    /// Next check time per monitor id (`next_checktime[4][32]`, @64).
    pub next_checktime: [[i32; 32]; 4],
    /// Latency per monitor id, in 100 ns units (`latency[4][32]`, @576).
    pub latency: [[u16; 32]; 4],
    /// Reserved (`rsvdz3[32]`, @832).
    pub rsvdz3: [u64; 32],
    /// Parameters per monitor id (`parameter[4][32]`, @1088).
    pub parameter: [[HvMonitorParameter; 32]; 4],
    /// Reserved (`rsvdz4[1984]`, @2112).
    pub rsvdz4: [u8; 1984],
}

const _: () = assert!(size_of::<HvMessageHeader>() == 16);
const _: () = assert!(size_of::<HvMessage>() == HV_MESSAGE_SIZE);
const _: () = assert!(size_of::<HvTimerMessagePayload>() == 24);
const _: () = assert!(size_of::<HvPostMessageInput>() == 256);
const _: () = assert!(size_of::<HvSignalEventInput>() == 8);
const _: () = assert!(size_of::<HvMonitorTriggerGroup>() == 8);
const _: () = assert!(size_of::<HvMonitorParameter>() == 8);
const _: () = assert!(size_of::<HvMonitorPage>() == 4096);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;
    use zerocopy::{FromBytes, IntoBytes};

    #[test]
    fn offsets_match_c() {
        // include/hyperv/hvgdk_mini.h struct hv_message_header / hv_message.
        assert_eq!(offset_of!(HvMessageHeader, message_type), 0);
        assert_eq!(offset_of!(HvMessageHeader, payload_size), 4);
        assert_eq!(offset_of!(HvMessageHeader, message_flags), 5);
        assert_eq!(offset_of!(HvMessageHeader, reserved), 6);
        assert_eq!(offset_of!(HvMessageHeader, sender), 8);
        assert_eq!(offset_of!(HvMessage, payload), 16);
        assert_eq!(offset_of!(HvTimerMessagePayload, expiration_time), 8);
        assert_eq!(offset_of!(HvTimerMessagePayload, delivery_time), 16);
        // drivers/hv/hyperv_vmbus.h struct hv_input_post_message.
        assert_eq!(offset_of!(HvPostMessageInput, connectionid), 0);
        assert_eq!(offset_of!(HvPostMessageInput, reserved), 4);
        assert_eq!(offset_of!(HvPostMessageInput, message_type), 8);
        assert_eq!(offset_of!(HvPostMessageInput, payload_size), 12);
        assert_eq!(offset_of!(HvPostMessageInput, payload), 16);
        // hv_input_signal_event (TLFS).
        assert_eq!(offset_of!(HvSignalEventInput, flag_number), 4);
        assert_eq!(offset_of!(HvSignalEventInput, rsvdz), 6);
        // drivers/hv/hyperv_vmbus.h struct hv_monitor_page (layout table in the header).
        assert_eq!(offset_of!(HvMonitorPage, trigger_group), 0x8);
        assert_eq!(offset_of!(HvMonitorPage, rsvdz2), 0x28);
        assert_eq!(offset_of!(HvMonitorPage, next_checktime), 0x40);
        assert_eq!(offset_of!(HvMonitorPage, latency), 0x240);
        assert_eq!(offset_of!(HvMonitorPage, rsvdz3), 0x340);
        assert_eq!(offset_of!(HvMonitorPage, parameter), 0x440);
        assert_eq!(offset_of!(HvMonitorPage, rsvdz4), 0x840);
        assert_eq!(offset_of!(HvMonitorParameter, flagnumber), 4);
        assert_eq!(offset_of!(HvMonitorTriggerGroup, armed), 4);
    }

    #[test]
    fn synic_registers() {
        // union hv_synic_sint: vector:8, reserved1:8, masked:1, auto_eoi:1, ...
        let s = SynicSint(0x0001_0000 | 0xff_0000_0000 | 0x12);
        assert!(s.masked());
        let s = s.with_vector(0xf3).with_masked(false).with_auto_eoi(true);
        assert_eq!(s.0, 0xff_0000_0000 | 0x2_0000 | 0xf3);
        assert_eq!(s.vector(), 0xf3);
        assert!(s.auto_eoi() && !s.masked());
        assert_eq!(s.with_auto_eoi(false).with_masked(true).0, 0xff_0001_00f3);
        // union hv_synic_simp: simp_enabled:1, preserved:11, base_simp_gpa:52.
        let p = SynicPageMsr(0xabc_d000 | 0x7f0);
        assert!(!p.enabled());
        assert_eq!(p.base_pfn(), 0xabcd);
        let p = p.with_page(0x1234, true);
        assert_eq!(p.0, 0x123_4000 | 0x7f0 | 1);
        assert_eq!(p.with_page(0, false).0, 0x7f0);
        assert_eq!(SynicScontrol(0x10).with_enabled(true).0, 0x11);
        assert!(!SynicScontrol(0x11).with_enabled(false).enabled());
        assert_eq!(message_slot_offset(VMBUS_MESSAGE_SINT), 512);
        assert_eq!(event_flags_offset(VMBUS_MESSAGE_SINT), 512);
        assert_eq!(
            HV_X64_MSR_SINT0 + u32::from(VMBUS_MESSAGE_SINT),
            0x4000_0092
        );
    }

    #[test]
    fn post_message_input() {
        let m = HvPostMessageInput::new(0x0180_0004, &[1, 2, 3]).unwrap();
        assert_eq!({ m.connectionid }, 0x0080_0004);
        assert_eq!({ m.payload_size }, 3);
        assert_eq!(&m.as_bytes()[8..12], &1u32.to_le_bytes());
        assert_eq!(&m.as_bytes()[16..20], &[1, 2, 3, 0]);
        assert!(HvPostMessageInput::new(1, &[0; 241]).is_none());
        assert!(HvPostMessageInput::new(1, &[0; 240]).is_some());
    }

    #[test]
    fn message_header_flags_and_status() {
        let mut raw = [0u8; 256];
        raw[0] = 1;
        raw[4] = 12;
        raw[5] = 1;
        let m = HvMessage::read_from_bytes(&raw[..]).unwrap();
        assert_eq!({ m.header.message_type }, HvMessageType::VMBUS);
        assert!(m.header.message_flags.msg_pending());
        assert_eq!(m.header.payload_size, 12);
        assert_eq!(
            HvStatus::from_result(0x1_0000_0012),
            HvStatus::INVALID_CONNECTION_ID
        );
        assert!(HvStatus::INSUFFICIENT_BUFFERS.is_transient());
        assert!(!HvStatus::ACCESS_DENIED.is_transient());
        let s = HvSignalEventInput {
            connectionid: 0x2001,
            flag_number: 0,
            rsvdz: 0,
        };
        assert_eq!(s.as_u64(), 0x2001);
        assert_eq!(s.as_u64().to_le_bytes(), s.as_bytes());
    }
}
