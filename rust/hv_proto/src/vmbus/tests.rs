// SPDX-License-Identifier: GPL-2.0

//! Layout and parser tests of the channel messages.
//!
//! The offsets are `offsetof()` values of the C structs of `include/linux/hyperv.h` (Linux
//! 7.2), printed by gcc on x86-64 from a copy of the struct definitions.

use super::*;
use core::mem::offset_of;
use zerocopy::IntoBytes;

use super::super::synic::{HvMessageFlags, HvMessageHeader};

#[test]
fn header_and_offer_offsets() {
    // struct vmbus_channel_message_header
    assert_eq!(offset_of!(MessageHeader, msgtype), 0);
    assert_eq!(offset_of!(MessageHeader, padding), 4);
    // struct vmbus_channel_offer
    assert_eq!(offset_of!(ChannelOffer, if_type), 0);
    assert_eq!(offset_of!(ChannelOffer, if_instance), 16);
    assert_eq!(offset_of!(ChannelOffer, reserved1), 32);
    assert_eq!(offset_of!(ChannelOffer, reserved2), 40);
    assert_eq!(offset_of!(ChannelOffer, chn_flags), 48);
    assert_eq!(offset_of!(ChannelOffer, mmio_megabytes), 50);
    assert_eq!(offset_of!(ChannelOffer, user_def), 52);
    assert_eq!(offset_of!(ChannelOffer, sub_channel_index), 172);
    assert_eq!(offset_of!(ChannelOffer, reserved3), 174);
    // u.pipe.user_def is at 56 in the offer, so 4 in the union.
    assert_eq!(offset_of!(PipeUserDefined, pipe_mode), 0);
    assert_eq!(offset_of!(PipeUserDefined, user_def), 4);
    // struct vmbus_channel_offer_channel
    assert_eq!(offset_of!(OfferChannel, offer), 8);
    assert_eq!(offset_of!(OfferChannel, child_relid), 184);
    assert_eq!(offset_of!(OfferChannel, monitorid), 188);
    // monitor_allocated:1 in the next u8, is_dedicated_interrupt:1 in the next u16.
    assert_eq!(offset_of!(OfferChannel, monitor_allocated), 189);
    assert_eq!(offset_of!(OfferChannel, is_dedicated_interrupt), 190);
    assert_eq!(offset_of!(OfferChannel, connection_id), 192);
}

#[test]
fn channel_message_offsets() {
    // struct vmbus_channel_rescind_offer
    assert_eq!(offset_of!(RescindOffer, child_relid), 8);
    // struct vmbus_channel_open_channel
    assert_eq!(offset_of!(OpenChannel, child_relid), 8);
    assert_eq!(offset_of!(OpenChannel, openid), 12);
    assert_eq!(offset_of!(OpenChannel, ringbuffer_gpadlhandle), 16);
    assert_eq!(offset_of!(OpenChannel, target_vp), 20);
    assert_eq!(
        offset_of!(OpenChannel, downstream_ringbuffer_pageoffset),
        24
    );
    assert_eq!(offset_of!(OpenChannel, userdata), 28);
    // Copper OpenChannel2 (Hyper-V, per OpenVMM's protocol description).
    assert_eq!(offset_of!(OpenChannel2, connection_id), 148);
    assert_eq!(offset_of!(OpenChannel2, event_flag), 152);
    assert_eq!(offset_of!(OpenChannel2, flags), 154);
    // struct vmbus_channel_open_result
    assert_eq!(offset_of!(OpenResult, child_relid), 8);
    assert_eq!(offset_of!(OpenResult, openid), 12);
    assert_eq!(offset_of!(OpenResult, status), 16);
    // struct vmbus_channel_close_channel
    assert_eq!(offset_of!(CloseChannel, child_relid), 8);
    // struct gpa_range
    assert_eq!(offset_of!(GpaRange, byte_count), 0);
    assert_eq!(offset_of!(GpaRange, byte_offset), 4);
    // struct vmbus_channel_gpadl_header (range[] at 20)
    assert_eq!(offset_of!(GpadlHeader, child_relid), 8);
    assert_eq!(offset_of!(GpadlHeader, gpadl), 12);
    assert_eq!(offset_of!(GpadlHeader, range_buflen), 16);
    assert_eq!(offset_of!(GpadlHeader, rangecount), 18);
    assert_eq!(size_of::<GpadlHeader>(), 20);
    // struct vmbus_channel_gpadl_body (pfn[] at 16)
    assert_eq!(offset_of!(GpadlBody, header), 0);
    assert_eq!(offset_of!(GpadlBody, msgnumber), 8);
    assert_eq!(offset_of!(GpadlBody, gpadl), 12);
    assert_eq!(size_of::<GpadlBody>(), 16);
    // struct vmbus_channel_gpadl_created
    assert_eq!(offset_of!(GpadlCreated, child_relid), 8);
    assert_eq!(offset_of!(GpadlCreated, gpadl), 12);
    assert_eq!(offset_of!(GpadlCreated, creation_status), 16);
    // struct vmbus_channel_gpadl_teardown
    assert_eq!(offset_of!(GpadlTeardown, child_relid), 8);
    assert_eq!(offset_of!(GpadlTeardown, gpadl), 12);
    // struct vmbus_channel_gpadl_torndown
    assert_eq!(offset_of!(GpadlTorndown, gpadl), 8);
    // struct vmbus_channel_relid_released
    assert_eq!(offset_of!(RelidReleased, child_relid), 8);
    // struct vmbus_channel_initiate_contact (interrupt_page and msg_sint both at 16)
    assert_eq!(offset_of!(InitiateContact, vmbus_version_requested), 8);
    assert_eq!(offset_of!(InitiateContact, target_vcpu), 12);
    assert_eq!(offset_of!(InitiateContact, msg_sint), 16);
    assert_eq!(offset_of!(InitiateContact, msg_vtl), 17);
    assert_eq!(offset_of!(InitiateContact, reserved), 18);
    assert_eq!(offset_of!(InitiateContact, feature_flags), 20);
    assert_eq!(offset_of!(InitiateContact, monitor_page1), 24);
    assert_eq!(offset_of!(InitiateContact, monitor_page2), 32);
    assert_eq!(offset_of!(InitiateContact2, client_id), 40);
    // struct vmbus_channel_version_response
    assert_eq!(offset_of!(VersionResponse, version_supported), 8);
    assert_eq!(offset_of!(VersionResponse, connection_state), 9);
    assert_eq!(offset_of!(VersionResponse, padding), 10);
    assert_eq!(offset_of!(VersionResponse, msg_conn_id), 12);
    assert_eq!(offset_of!(VersionResponse2, supported_features), 16);
    // struct vmbus_channel_tl_connect_request
    assert_eq!(offset_of!(TlConnectRequest, guest_endpoint_id), 8);
    assert_eq!(offset_of!(TlConnectRequest, host_service_id), 24);
    assert_eq!(offset_of!(TlConnectRequest2, silo_id), 40);
    assert_eq!(offset_of!(TlConnectResult, status), 40);
    // struct vmbus_channel_modifychannel
    assert_eq!(offset_of!(ModifyChannel, child_relid), 8);
    assert_eq!(offset_of!(ModifyChannel, target_vp), 12);
    // struct vmbus_channel_modifychannel_response
    assert_eq!(offset_of!(ModifyChannelResponse, child_relid), 8);
    assert_eq!(offset_of!(ModifyChannelResponse, status), 12);
}

#[test]
fn version_constants() {
    assert_eq!(Version::WIN10_V5_3.0, 0x50003);
    assert_eq!(Version::WIN10_V6_0.0, 0x60000);
    assert_eq!(Version::WIN8.0, 0x20004);
    assert_eq!(Version::WS2008.0, 13);
    // Newest first, strictly decreasing, as vmbus_versions[] in connection.c.
    for w in VERSIONS.windows(2) {
        assert!(w[0] > w[1]);
    }
    assert_eq!(VERSIONS[0], Version::WIN10_V6_0);
    assert_eq!(VERSIONS[8], Version::WIN8);
    assert!(!VERSIONS.contains(&Version::WIN7));
    let mut s = [0u8; 8];
    let n = {
        use core::fmt::Write;
        struct W<'a>(&'a mut [u8], usize);
        impl Write for W<'_> {
            fn write_str(&mut self, t: &str) -> core::fmt::Result {
                for b in t.bytes() {
                    *self.0.get_mut(self.1).ok_or(core::fmt::Error)? = b;
                    self.1 += 1;
                }
                Ok(())
            }
        }
        let mut w = W(&mut s, 0);
        write!(w, "{}", Version::WIN10_V5_3).unwrap();
        w.1
    };
    assert_eq!(&s[..n], b"5.3");
}

#[test]
fn flags_values() {
    assert_eq!(FeatureFlags::CONFIDENTIAL_CHANNELS.0, 0x10);
    assert_eq!(OfferFlags::TLNPI_PROVIDER_OFFER.0, 0x2000);
    assert_eq!(OfferFlags::NAMED_PIPE_MODE.0, 0x10);
    let f = OfferFlags::ENUMERATE_DEVICE_INTERFACE | OfferFlags::NAMED_PIPE_MODE;
    assert!(f.contains(OfferFlags::NAMED_PIPE_MODE));
    assert!(!f.contains(OfferFlags::TLNPI_PROVIDER_OFFER));
    assert_eq!(
        f.intersection(OfferFlags::NAMED_PIPE_MODE),
        OfferFlags::NAMED_PIPE_MODE
    );
}

/// A typical host offer, as the tests' scripted host sends it.
fn sample_offer() -> OfferChannel {
    let mut user_def = [0u8; 120];
    user_def[0] = 4;
    user_def[4] = 0xaa;
    user_def[119] = 0x55;
    OfferChannel {
        header: MessageHeader::new(MessageType::OFFERCHANNEL),
        offer: ChannelOffer {
            if_type: super::super::guid::HV_SCSI,
            if_instance: Guid::new("00000000-0001-8899-0000-000000000000"),
            reserved1: 0,
            reserved2: 0,
            chn_flags: OfferFlags::NAMED_PIPE_MODE,
            mmio_megabytes: 0,
            user_def,
            sub_channel_index: 2,
            reserved3: 0,
        },
        child_relid: 14,
        monitorid: 37,
        monitor_allocated: 1,
        is_dedicated_interrupt: 1,
        connection_id: 0x2000e,
    }
}

#[test]
fn offer_round_trip_and_accessors() {
    let o = sample_offer();
    let bytes = o.as_bytes();
    assert_eq!(bytes.len(), 196);
    // Raw positions of a few fields, as the C layout puts them.
    assert_eq!(&bytes[0..4], &1u32.to_le_bytes());
    assert_eq!(&bytes[8..12], &[0xd9, 0x63, 0x61, 0xba]);
    assert_eq!(&bytes[56..58], &0x10u16.to_le_bytes());
    assert_eq!(bytes[60], 4);
    assert_eq!(&bytes[180..182], &2u16.to_le_bytes());
    assert_eq!(&bytes[184..188], &14u32.to_le_bytes());
    assert_eq!(bytes[188], 37);
    assert_eq!(&bytes[192..196], &0x2000eu32.to_le_bytes());
    match Message::parse(bytes) {
        Ok(Message::OfferChannel(p)) => {
            assert_eq!(p, o);
            assert!(p.monitor_allocated());
            assert!(p.is_dedicated_interrupt());
            assert_eq!(p.monitor_group(), 1);
            assert_eq!(p.monitor_bit(), 5);
            assert!(p.offer.is_subchannel());
            let pipe = p.offer.pipe();
            assert_eq!({ pipe.pipe_mode }, PipeMode::MESSAGE);
            assert_eq!(pipe.user_def[0], 0xaa);
            assert_eq!(pipe.user_def[115], 0x55);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn interrupt_page_union() {
    let mut c = InitiateContact {
        header: MessageHeader::new(MessageType::INITIATE_CONTACT),
        vmbus_version_requested: Version::WIN10,
        target_vcpu: 0,
        msg_sint: 0,
        msg_vtl: 0,
        reserved: [0; 2],
        feature_flags: FeatureFlags(0),
        monitor_page1: 0x1000,
        monitor_page2: 0x2000,
    };
    c.set_interrupt_page(0x1122_3344_5566_7788);
    assert_eq!(c.interrupt_page(), 0x1122_3344_5566_7788);
    assert_eq!(
        &c.as_bytes()[16..24],
        &0x1122_3344_5566_7788u64.to_le_bytes()
    );
    c.set_interrupt_page(0);
    c.msg_sint = 2;
    c.msg_vtl = 0;
    c.feature_flags = FeatureFlags::CONFIDENTIAL_CHANNELS;
    assert_eq!(&c.as_bytes()[16..24], &[2, 0, 0, 0, 0x10, 0, 0, 0]);
}

/// Builds a message of `len` bytes with type `t` and a recognisable body.
fn raw(t: MessageType, len: usize) -> [u8; 240] {
    let mut b = [0u8; 240];
    b[..4].copy_from_slice(&t.0.to_le_bytes());
    for (i, x) in b.iter_mut().enumerate().take(len).skip(8) {
        *x = i as u8;
    }
    b
}

#[test]
fn every_type_min_length_is_enforced() {
    for t in 0..40u32 {
        let t = MessageType(t);
        let b = raw(t, 240);
        match min_message_len(t) {
            None => {
                assert_eq!(Message::parse(&b[..240]), Err(ParseError::UnknownType(t)));
            }
            Some(min) => {
                let m = Message::parse(&b[..min]).unwrap();
                assert_eq!(m.message_type(), t);
                if min > 8 {
                    assert_eq!(
                        Message::parse(&b[..min - 1]),
                        Err(ParseError::TooShort {
                            msgtype: t,
                            len: min - 1,
                            min
                        })
                    );
                }
            }
        }
    }
    for n in 0..8 {
        assert_eq!(
            Message::parse(&[0u8; 8][..n]),
            Err(ParseError::NoHeader { len: n })
        );
    }
}

#[test]
fn linux_table_values() {
    // channel_message_table[] in drivers/hv/channel_mgmt.c.
    let expect = [
        (MessageType::OFFERCHANNEL, Some(196)),
        (MessageType::RESCIND_CHANNELOFFER, Some(12)),
        (MessageType::REQUESTOFFERS, None),
        (MessageType::ALLOFFERS_DELIVERED, Some(0)),
        (MessageType::OPENCHANNEL, None),
        (MessageType::OPENCHANNEL_RESULT, Some(20)),
        (MessageType::CLOSECHANNEL, None),
        (MessageType::GPADL_HEADER, None),
        (MessageType::GPADL_BODY, None),
        (MessageType::GPADL_CREATED, Some(20)),
        (MessageType::GPADL_TEARDOWN, None),
        (MessageType::GPADL_TORNDOWN, Some(12)),
        (MessageType::RELID_RELEASED, None),
        (MessageType::INITIATE_CONTACT, None),
        (MessageType::VERSION_RESPONSE, Some(16)),
        (MessageType::UNLOAD, None),
        (MessageType::UNLOAD_RESPONSE, Some(0)),
        (MessageType(18), None),
        (MessageType(19), None),
        (MessageType(20), None),
        (MessageType::TL_CONNECT_REQUEST, None),
        (MessageType::MODIFYCHANNEL, None),
        (MessageType::TL_CONNECT_RESULT, None),
        (MessageType::MODIFYCHANNEL_RESPONSE, Some(16)),
        (MessageType(25), None),
        (MessageType(0xffff_ffff), None),
    ];
    for (t, min) in expect {
        assert_eq!(linux_min_payload_len(t), min, "{t:?}");
    }
}

#[test]
fn optional_extensions_by_length() {
    let b = raw(MessageType::VERSION_RESPONSE, 240);
    assert!(matches!(
        Message::parse(&b[..16]),
        Ok(Message::VersionResponse(_))
    ));
    assert!(matches!(
        Message::parse(&b[..19]),
        Ok(Message::VersionResponse(_))
    ));
    match Message::parse(&b[..20]) {
        Ok(Message::VersionResponse2(v)) => {
            assert_eq!(
                { v.supported_features },
                FeatureFlags(u32::from_le_bytes([16, 17, 18, 19]))
            );
            assert_eq!(
                { v.version_response.msg_conn_id },
                u32::from_le_bytes([12, 13, 14, 15])
            );
        }
        other => panic!("{other:?}"),
    }
    let b = raw(MessageType::OPENCHANNEL, 240);
    assert!(matches!(
        Message::parse(&b[..155]),
        Ok(Message::OpenChannel(_))
    ));
    assert!(matches!(
        Message::parse(&b[..156]),
        Ok(Message::OpenChannel2(_))
    ));
    let b = raw(MessageType::INITIATE_CONTACT, 240);
    assert!(matches!(
        Message::parse(&b[..40]),
        Ok(Message::InitiateContact(_))
    ));
    assert!(matches!(
        Message::parse(&b[..56]),
        Ok(Message::InitiateContact2(_))
    ));
    let b = raw(MessageType::TL_CONNECT_REQUEST, 240);
    assert!(matches!(
        Message::parse(&b[..40]),
        Ok(Message::TlConnectRequest(_))
    ));
    assert!(matches!(
        Message::parse(&b[..56]),
        Ok(Message::TlConnectRequest2(_))
    ));
    let b = raw(MessageType::GPADL_BODY, 240);
    match Message::parse(&b[..40]) {
        Ok(Message::GpadlBody(_, tail)) => assert_eq!(tail, &b[16..40]),
        other => panic!("{other:?}"),
    }
    let b = raw(MessageType::PAUSE, 240);
    assert_eq!(
        Message::parse(&b[..12]),
        Ok(Message::Other(MessageType::PAUSE, &b[8..12]))
    );
}

fn slot(message_type: HvMessageType, payload_size: u8, payload: &[u8]) -> HvMessage {
    let mut p = [0u8; 240];
    p[..payload.len()].copy_from_slice(payload);
    HvMessage {
        header: HvMessageHeader {
            message_type,
            payload_size,
            message_flags: HvMessageFlags(0),
            reserved: [0; 2],
            sender: 0,
        },
        payload: p,
    }
}

#[test]
fn synic_slot_rules() {
    let o = sample_offer();
    let s = slot(HvMessageType::VMBUS, 196, o.as_bytes());
    assert_eq!(Message::parse_synic(&s), Ok(Message::OfferChannel(o)));
    let s = slot(HvMessageType::VMBUS, 195, o.as_bytes());
    assert_eq!(
        Message::parse_synic(&s),
        Err(ParseError::TooShort {
            msgtype: MessageType::OFFERCHANNEL,
            len: 195,
            min: 196
        })
    );
    let s = slot(HvMessageType::VMBUS, 241, o.as_bytes());
    assert_eq!(
        Message::parse_synic(&s),
        Err(ParseError::PayloadTooLarge(241))
    );
    let s = slot(HvMessageType::NONE, 196, o.as_bytes());
    assert_eq!(Message::parse_synic(&s), Err(ParseError::EmptySlot));
    let s = slot(HvMessageType::TIMER_EXPIRED, 24, &[0; 24]);
    assert_eq!(
        Message::parse_synic(&s),
        Err(ParseError::NotVmbus(HvMessageType::TIMER_EXPIRED))
    );
    // Header-only host messages pass with any payload size, as in the C table (min 0).
    let h = MessageHeader::new(MessageType::ALLOFFERS_DELIVERED);
    let s = slot(HvMessageType::VMBUS, 0, h.as_bytes());
    assert_eq!(Message::parse_synic(&s), Ok(Message::AllOffersDelivered));
    let h = MessageHeader::new(MessageType::UNLOAD_RESPONSE);
    let s = slot(HvMessageType::VMBUS, 4, h.as_bytes());
    assert_eq!(Message::parse_synic(&s), Ok(Message::UnloadResponse));
    // Guest-to-host messages have no handler in the C table: dropped.
    let h = MessageHeader::new(MessageType::REQUESTOFFERS);
    let s = slot(HvMessageType::VMBUS, 8, h.as_bytes());
    assert_eq!(
        Message::parse_synic(&s),
        Err(ParseError::UnknownType(MessageType::REQUESTOFFERS))
    );
    let h = MessageHeader::new(MessageType(25));
    let s = slot(HvMessageType::VMBUS, 8, h.as_bytes());
    assert_eq!(
        Message::parse_synic(&s),
        Err(ParseError::UnknownType(MessageType(25)))
    );
}

#[test]
fn parse_never_panics_on_noise() {
    // A small deterministic fuzz: every prefix of pseudo-random buffers with every type.
    let mut x = 0x1234_5678_9abc_def0u64;
    for t in 0..32u32 {
        let mut b = [0u8; 240];
        for v in b.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *v = x as u8;
        }
        b[..4].copy_from_slice(&t.to_le_bytes());
        for n in 0..=240 {
            let _ = Message::parse(&b[..n]);
            let s = slot(HvMessageType(x as u32 & 0x8000_0003), n as u8, &b);
            let _ = Message::parse_synic(&s);
        }
    }
}

#[test]
fn channel_message_trait() {
    assert_eq!(GpadlHeader::MESSAGE_TYPE, MessageType::GPADL_HEADER);
    assert_eq!(GpadlHeader::SIZE, 20);
    assert_eq!(OfferChannel::SIZE, 196);
    assert_eq!(
        VersionResponse2::MESSAGE_TYPE,
        MessageType::VERSION_RESPONSE
    );
}
