// SPDX-License-Identifier: GPL-2.0

//! Hyper-V utility services ("integration components"): shutdown, time sync with the
//! `hyperv` PTP clock, heartbeat, key-value pair exchange (KVP) and volume snapshots (VSS).
//!
//! C source: [`drivers/hv/hv_util.c`](srctree/drivers/hv/hv_util.c), `hv_kvp.c`,
//! `hv_snapshot.c`, `hv_utils_transport.c`.
//!
//! One VMBus driver, `hv_utils`, binds every utility class; each bound device opens its channel
//! with 3-page rings and answers the host's IC messages in the channel handler: the version
//! negotiation first (framework 3.0 or 1.0, the service's versions in the C driver's order),
//! then the service's requests, each answered in place. Malformed requests are dropped or
//! failed exactly where the C driver drops or fails them, with its (rate-limited) messages.

// Unsafe code is only in `params`, which reads the C parameters.
#![deny(unsafe_code)]

use kernel::{prelude::*, sync::aref::ARef};
use vmbus::{
    hv::{
        channel::{ChannelIo, OpenChannel, OpenParams},
        device::Device,
        driver,
    },
    pr_err_ratelimited,
    proto::{
        guid::{HV_HEART_BEAT, HV_KVP, HV_SHUTDOWN, HV_TS, HV_VSS},
        ic::{self, HvStatus, IcMsgType, IcVersion, ICMSG_HDR},
        ring::PacketType,
    },
};

mod heartbeat;
mod kvp;
mod shutdown;
mod timesync;
mod transport;
mod vss;

/// The module parameters, declared in `utils_params.c`.
#[allow(unsafe_code)]
mod params {
    extern "C" {
        fn hvrs_utils_timesync_implicit() -> bool;
        fn hvrs_utils_timesync_stale_secs() -> u32;
    }

    /// `timesync_implicit`: treat a SAMPLE as a SYNC when the guest is 5 s or more behind.
    pub(crate) fn timesync_implicit() -> bool {
        // SAFETY: Reads a module parameter with `READ_ONCE()`; no preconditions.
        unsafe { hvrs_utils_timesync_implicit() }
    }

    /// `timesync_stale_secs`: age of the last host sample after which the PTP clock is stale.
    pub(crate) fn timesync_stale_secs() -> u32 {
        // SAFETY: As above.
        unsafe { hvrs_utils_timesync_stale_secs() }
    }
}

/// Ring size of every utility channel in each direction: 3 pages of data and the control
/// page (`HV_UTIL_RING_SEND_SIZE`, `VMBUS_RING_SIZE(3 * HV_HYP_PAGE_SIZE)`).
const UTIL_RING_SIZE: usize = 4 * 4096;

/// Receive buffer of the shutdown, time-sync and heartbeat services: the C driver reads
/// their packets into one page (`HV_HYP_PAGE_SIZE`); a larger packet is an error.
const UTIL_RECV_SIZE: usize = 4096;

/// The service of a utility class (`struct hv_util_service`, the id table's `driver_data`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    Shutdown,
    TimeSync,
    Heartbeat,
    Kvp,
    Vss,
}

/// Where a service that needs its daemon stands (`enum hvutil_device_state`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum State {
    /// No daemon has registered (`HVUTIL_DEVICE_INIT`).
    DeviceInit,
    /// Waiting for a host request (`HVUTIL_READY`).
    Ready,
    /// A host request was read (`HVUTIL_HOSTMSG_RECEIVED`).
    HostMsgReceived,
    /// It was handed to the daemon (`HVUTIL_USERSPACE_REQ`).
    UserspaceReq,
    /// The daemon answered (`HVUTIL_USERSPACE_RECV`).
    UserspaceRecv,
    /// The service is going away (`HVUTIL_DEVICE_DYING`).
    Dying,
}

/// The names a service's messages use (they differ between fields in the C driver).
pub(crate) struct IcNames {
    /// In "<ic> IC version %d.%d", e.g. `TimeSync`.
    pub(crate) ic: &'static str,
    /// In "<request> request received. ...", e.g. `Timesync`.
    pub(crate) request: &'static str,
}

/// What a service decided about one request.
pub(crate) enum Answer {
    /// Send the packet back, now a response.
    Reply,
    /// Drop it and stop reading the ring until the host signals again.
    Stop,
}

/// What [`next_request`] found on the ring.
pub(crate) enum Incoming {
    /// An IC message of `len` bytes (headers included) is at the start of the buffer.
    Request {
        len: usize,
        trans_id: u64,
        msg_type: IcMsgType,
    },
    /// A packet that is not an IC message (not in-band data): ignored.
    Skip,
    /// The ring is empty, or the packet was unusable: stop reading until the next signal.
    Stop,
}

/// Reads the next packet of `io` into `buf` and checks it holds an IC header; as the C drivers,
/// a packet too short for one stops the reading (with their message).
pub(crate) fn next_request(io: &ChannelIo<'_>, buf: &mut [u8], names: &IcNames) -> Incoming {
    let packet = match io.recv(buf) {
        Ok(Some(p)) => p,
        Ok(None) => return Incoming::Stop,
        Err(e) => {
            pr_err_ratelimited!(
                "{} request received. Could not read into recv buf: {:?}\n",
                names.request,
                e
            );
            return Incoming::Stop;
        }
    };
    // The C drivers answer whatever they read; the host only sends in-band data.
    if packet.packet_type != PacketType::DATA_INBAND {
        return Incoming::Skip;
    }
    let parsed = buf
        .get(..packet.len)
        .map(ic::parse_ic_message)
        .and_then(|r| r.ok());
    match parsed {
        Some(m) => Incoming::Request {
            len: packet.len,
            trans_id: packet.trans_id,
            msg_type: m.hdr.icmsgtype,
        },
        None => {
            pr_err_ratelimited!(
                "{} request received. Packet length too small: {}\n",
                names.request,
                packet.len
            );
            Incoming::Stop
        }
    }
}

/// Turns the request `msg` into its response (`status`, or the host's for `None`) and sends it.
pub(crate) fn send_response(
    io: &ChannelIo<'_>,
    msg: &mut [u8],
    trans_id: u64,
    names: &IcNames,
    status: Option<HvStatus>,
) {
    if ic::finish_response(msg, status).is_err() {
        return;
    }
    if let Err(e) = io.send_inband(&[&*msg], trans_id, false) {
        pr_err_ratelimited!("{}: cannot send the response: {:?}\n", names.ic, e);
    }
}

/// Answers the version negotiation `msg` with `versions` (`vmbus_prep_negotiate_resp()`),
/// printing the C driver's line when a version matched, and sends it. Returns what C stores as
/// the service version (meaningful only after a match).
pub(crate) fn answer_negotiate(
    io: &ChannelIo<'_>,
    msg: &mut [u8],
    trans_id: u64,
    names: &IcNames,
    versions: &[IcVersion],
) -> Option<IcVersion> {
    let outcome = ic::prep_negotiate_resp(msg, &ic::FW_VERSIONS, versions).ok();
    if let Some(o) = outcome.filter(|o| o.matched) {
        pr_info!("{} IC version {}.{}\n", names.ic, { o.service.major }, {
            o.service.minor
        });
    }
    send_response(io, msg, trans_id, names, None);
    outcome.map(|o| o.service)
}

/// Answers the IC packets waiting on `io`: negotiations with `versions`, storing the chosen
/// service version in `*negotiated`, and every other type with `request`, which receives the
/// message type and the whole packet (headers included) and may rewrite it as the answer.
///
/// As the C drivers: a packet shorter than the IC header stops the reading, a message type
/// the service does not know is answered with `HV_E_FAIL`.
pub(crate) fn answer_ic_packets(
    io: &ChannelIo<'_>,
    buf: &mut [u8],
    names: &IcNames,
    versions: &[IcVersion],
    negotiated: &kernel::sync::atomic::Atomic<u32>,
    mut request: impl FnMut(IcMsgType, &mut [u8]) -> Answer,
) {
    loop {
        let (len, trans_id, msg_type) = match next_request(io, buf, names) {
            Incoming::Request {
                len,
                trans_id,
                msg_type,
            } => (len, trans_id, msg_type),
            Incoming::Skip => continue,
            Incoming::Stop => return,
        };
        let Some(msg) = buf.get_mut(..len) else {
            return;
        };
        if msg_type == IcMsgType::NEGOTIATE {
            if let Some(v) = answer_negotiate(io, msg, trans_id, names, versions) {
                negotiated.store(v.to_u32(), kernel::sync::atomic::Relaxed);
            }
            continue;
        }
        match request(msg_type, msg) {
            // The service set the status already.
            Answer::Reply => send_response(io, msg, trans_id, names, None),
            Answer::Stop => return,
        }
    }
}

/// Fails a request of a type the service does not handle, as the C drivers do.
pub(crate) fn invalid_type(names: &IcNames, msg_type: IcMsgType, msg: &mut [u8]) -> Answer {
    pr_err_ratelimited!(
        "{} request received. Invalid msg type: {}\n",
        names.request,
        msg_type.0
    );
    set_status(msg, HvStatus::E_FAIL)
}

/// Sets the status of a response in place.
pub(crate) fn set_status(msg: &mut [u8], status: HvStatus) -> Answer {
    match ic::finish_response(msg, Some(status)) {
        Ok(()) => Answer::Reply,
        Err(_) => Answer::Stop,
    }
}

/// Returns a packet's payload (after the IC header).
pub(crate) fn payload(msg: &mut [u8]) -> &mut [u8] {
    msg.get_mut(ICMSG_HDR..).unwrap_or_default()
}

/// What a bound device keeps: the open channel and its service's state.
struct UtilData<'bound> {
    /// Closed first on unbind: after it, no handler runs.
    _channel: OpenChannel<'bound>,
    _service: ServiceData,
}

/// The state of one bound service, torn down on drop after the channel is closed.
enum ServiceData {
    Shutdown {
        _registration: shutdown::Registration,
    },
    TimeSync {
        _registration: timesync::Registration,
    },
    Heartbeat,
    Kvp {
        _registration: kvp::Registration,
    },
    Vss {
        _registration: vss::Registration,
    },
}

struct HvUtils;

vmbus::vmbus_device_table!(
    VMBUS_TABLE,
    MODULE_VMBUS_TABLE,
    Service,
    [
        (driver::DeviceId::new(HV_SHUTDOWN), Service::Shutdown),
        (driver::DeviceId::new(HV_TS), Service::TimeSync),
        (driver::DeviceId::new(HV_HEART_BEAT), Service::Heartbeat),
        (driver::DeviceId::new(HV_KVP), Service::Kvp),
        (driver::DeviceId::new(HV_VSS), Service::Vss),
    ]
);

impl driver::Driver for HvUtils {
    type IdInfo = Service;
    type Data<'bound> = UtilData<'bound>;
    const ID_TABLE: driver::IdTable<Service> = &VMBUS_TABLE;

    fn probe<'bound>(
        dev: &'bound Device<kernel::device::Core<'_>>,
        id_info: Option<&'bound Service>,
    ) -> impl PinInit<UtilData<'bound>, Error> + 'bound {
        Self::start(dev, id_info.copied())
    }
}

impl HvUtils {
    /// Sets the service up and opens the channel (`util_probe()`).
    fn start<'bound>(
        dev: &'bound Device<kernel::device::Core<'_>>,
        service: Option<Service>,
    ) -> Result<UtilData<'bound>> {
        // A device bound through `new_id` or `driver_override` has no service.
        let Some(service) = service else {
            dev_err!(dev.as_ref(), "not a utility service\n");
            return Err(ENODEV);
        };
        let params = OpenParams {
            send_ring_size: UTIL_RING_SIZE,
            recv_ring_size: UTIL_RING_SIZE,
            userdata: &[],
        };
        let (channel, data) = match service {
            Service::Shutdown => {
                let device: ARef<Device> = dev.into();
                let (handler, reg) = shutdown::Registration::new(device)?;
                (
                    dev.open_channel(&params, handler)?,
                    ServiceData::Shutdown { _registration: reg },
                )
            }
            Service::TimeSync => {
                let (handler, reg) = timesync::Registration::new()?;
                (
                    dev.open_channel(&params, handler)?,
                    ServiceData::TimeSync { _registration: reg },
                )
            }
            Service::Heartbeat => (
                dev.open_channel(&params, heartbeat::Heartbeat::new()?)?,
                ServiceData::Heartbeat,
            ),
            Service::Kvp => {
                let (handler, reg) = kvp::Registration::new(dev.channel().clone())?;
                let channel = dev.open_channel(&params, handler)?;
                let mut reg = reg;
                reg.start()?;
                (channel, ServiceData::Kvp { _registration: reg })
            }
            Service::Vss => {
                let (handler, reg) = vss::Registration::new(dev.channel().clone())?;
                let channel = dev.open_channel(&params, handler)?;
                let mut reg = reg;
                reg.start()?;
                (channel, ServiceData::Vss { _registration: reg })
            }
        };
        Ok(UtilData {
            _channel: channel,
            _service: data,
        })
    }
}

vmbus::module_vmbus_driver! {
    type: HvUtils,
    name: "hv_utils",
    authors: ["hv-rs developers"],
    description: "Hyper-V Utilities (Rust)",
    license: "GPL",
}
