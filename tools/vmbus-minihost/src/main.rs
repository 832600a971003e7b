// SPDX-License-Identifier: GPL-2.0

//! A minimal external VMBus host for QEMU's `vmbus-bridge,external=` mode, for the tests.
//!
//! It listens on a unix socket, serves one QEMU connection and plays just enough of the VMBus
//! host to let a guest's VMBus driver connect: it accepts INITIATE_CONTACT for protocol versions
//! 4.0 up to 6.0 (or up to `--max-version`), answers REQUESTOFFERS with ALLOFFERS_DELIVERED
//! (it offers no channel) and UNLOAD with UNLOAD_RESPONSE. It exits when QEMU disconnects.
//!
//! `--burst N` stresses QEMU's delivery path: right after accepting a version it posts N more
//! messages back to back (CHANNELMSG_18, which Linux ignores) and logs how many were delivered.
//!
//! `--park SINT` leaves posts waiting: after accepting a version it posts 3 messages to SINT
//! `SINT` of the target vCPU, which the guest does not use. The first stays in the slot, the
//! others wait for an EOM that never comes, until a VM reset cancels them (logged).
//!
//! ```text
//! vmbus-minihost --socket /path/vmbx.sock [--max-version 6.0] [--burst N] [--park SINT]
//! qemu-system-x86_64 ... -object memory-backend-memfd,id=mem,size=1G,share=on \
//!     -machine q35,memory-backend=mem -cpu max,hv-vpindex,hv-synic,hv-relaxed \
//!     -chardev socket,id=vmbx,path=/path/vmbx.sock -device vmbus-bridge,external=vmbx
//! ```
//!
//! Its log lines on stderr (`vmbus-minihost: ...`) are what the tests look for. The wire
//! structs are written out here on purpose; the host engine will use the protocol core crate.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use vmbus_minihost::qemu_link::{self, Event, GuestMemory, PostStatus, QemuLink, QemuSender};

/// SynIC message type of VMBus messages.
const HV_MESSAGE_VMBUS: u32 = 1;
/// The SINT VMBus messages go to before 5.0 (and by default after).
const VMBUS_MESSAGE_SINT: u8 = 2;

/// VMBus channel message types (`enum vmbus_channel_message_type`).
const CHANNELMSG_REQUESTOFFERS: u32 = 3;
const CHANNELMSG_ALLOFFERS_DELIVERED: u32 = 4;
const CHANNELMSG_INITIATE_CONTACT: u32 = 14;
const CHANNELMSG_VERSION_RESPONSE: u32 = 15;
const CHANNELMSG_UNLOAD: u32 = 16;
const CHANNELMSG_UNLOAD_RESPONSE: u32 = 17;
/// A message type Linux's VMBus driver has no handler for and drops silently.
const CHANNELMSG_18: u32 = 18;

const fn version(major: u32, minor: u32) -> u32 {
    (major << 16) | minor
}

/// The protocol versions this host accepts: Windows 10 (4.0) to 6.0.
const VERSIONS: [u32; 7] = [
    version(4, 0),
    version(4, 1),
    version(5, 0),
    version(5, 1),
    version(5, 2),
    version(5, 3),
    version(6, 0),
];
/// From 5.0 on the guest names its message SINT and uses the returned message connection id.
const VERSION_WIN10_V5: u32 = version(5, 0);

fn log(msg: std::fmt::Arguments<'_>) {
    eprintln!("vmbus-minihost: {msg}");
}

macro_rules! log {
    ($($t:tt)*) => { log(format_args!($($t)*)) };
}

fn show_version(v: u32) -> String {
    format!("{}.{}", v >> 16, v & 0xffff)
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// `struct vmbus_channel_message_header` followed by `body`.
fn channel_message(msgtype: u32, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(8 + body.len());
    m.extend_from_slice(&msgtype.to_le_bytes());
    m.extend_from_slice(&0u32.to_le_bytes());
    m.extend_from_slice(body);
    m
}

/// Where the host sends its VMBus messages once the guest made contact.
#[derive(Clone, Copy, Debug)]
struct Contact {
    vp_index: u32,
    sint: u32,
}

struct Host {
    tx: QemuSender,
    memory: Option<GuestMemory>,
    max_version: u32,
    contact: Option<Contact>,
    next_cookie: u64,
    burst: u32,
    /// Cookies of the burst messages not yet reported, and how the reported ones fared.
    burst_pending: std::collections::HashSet<u64>,
    burst_delivered: u32,
    burst_failed: u32,
    park: Option<u32>,
}

impl Host {
    fn post(&mut self, to: Contact, what: &str, msg: &[u8]) -> io::Result<()> {
        self.next_cookie += 1;
        log!(
            "-> {what} to vp {} sint {} (cookie {})",
            to.vp_index,
            to.sint,
            self.next_cookie
        );
        self.tx.post_message(
            self.next_cookie,
            to.vp_index,
            to.sint,
            HV_MESSAGE_VMBUS,
            msg,
        )
    }

    fn on_event(&mut self, event: Event) -> io::Result<()> {
        match event {
            Event::Hello {
                version,
                vp_count,
                features,
            } => {
                log!("QEMU hello: protocol {version}, {vp_count} vCPUs, features {features:#x}");
            }
            Event::MemTable(mem) => {
                let total: u64 = mem.ranges().map(|(_, size)| size).sum();
                for (gpa, size) in mem.ranges() {
                    log!("guest RAM {gpa:#x}..{:#x}", gpa + size);
                }
                log!(
                    "guest RAM mapped: {} ranges, {} MiB",
                    mem.ranges().count(),
                    total >> 20
                );
                self.memory = Some(mem);
            }
            Event::GuestMessage {
                connection_id,
                message_type,
                vp_index,
                payload,
            } => {
                self.on_guest_message(connection_id, message_type, vp_index, &payload)?;
            }
            Event::GuestEvent { connection_id } => {
                log!("guest signaled connection id {connection_id}")
            }
            Event::PostDone { cookie, status } if self.burst_pending.remove(&cookie) => {
                if status == PostStatus::Delivered {
                    self.burst_delivered += 1;
                } else {
                    self.burst_failed += 1;
                }
                if self.burst_pending.is_empty() {
                    log!(
                        "burst: {} delivered, {} not delivered",
                        self.burst_delivered,
                        self.burst_failed
                    );
                }
            }
            Event::PostDone { cookie, status } => {
                if status == PostStatus::Delivered {
                    log!("post {cookie} delivered");
                } else {
                    log!("post {cookie} NOT delivered: {status:?}");
                }
            }
            Event::Reset => {
                log!("VM reset");
                self.contact = None;
            }
            Event::Unknown { frame_type } => log!("ignoring unknown frame type {frame_type:#x}"),
        }
        Ok(())
    }

    fn on_guest_message(
        &mut self,
        conn_id: u32,
        message_type: u32,
        vp: u32,
        p: &[u8],
    ) -> io::Result<()> {
        let Some(msgtype) = u32_at(p, 0) else {
            log!(
                "short guest message ({} bytes) on connection id {conn_id}",
                p.len()
            );
            return Ok(());
        };
        if message_type != HV_MESSAGE_VMBUS {
            log!("guest message of type {message_type} ignored");
            return Ok(());
        }
        match msgtype {
            CHANNELMSG_INITIATE_CONTACT => self.initiate_contact(conn_id, vp, p),
            CHANNELMSG_REQUESTOFFERS => {
                log!("<- REQUESTOFFERS from vp {vp}");
                match self.contact {
                    Some(to) => self.post(
                        to,
                        "ALLOFFERS_DELIVERED",
                        &channel_message(CHANNELMSG_ALLOFFERS_DELIVERED, &[]),
                    ),
                    None => {
                        log!("REQUESTOFFERS before INITIATE_CONTACT, ignored");
                        Ok(())
                    }
                }
            }
            CHANNELMSG_UNLOAD => {
                log!("<- UNLOAD from vp {vp}");
                let to = self.contact.take().unwrap_or(Contact {
                    vp_index: vp,
                    sint: VMBUS_MESSAGE_SINT.into(),
                });
                self.post(
                    to,
                    "UNLOAD_RESPONSE",
                    &channel_message(CHANNELMSG_UNLOAD_RESPONSE, &[]),
                )
            }
            other => {
                log!("<- channel message {other} from vp {vp} ignored (this host offers nothing)");
                Ok(())
            }
        }
    }

    /// `struct vmbus_channel_initiate_contact`: header, u32 version, u32 target_vcpu, then
    /// u64 interrupt_page (before 5.0) or u8 msg_sint, u8 msg_vtl, u16, u32 feature_flags,
    /// then u64 monitor_page1, u64 monitor_page2.
    fn initiate_contact(&mut self, conn_id: u32, vp: u32, p: &[u8]) -> io::Result<()> {
        let (Some(requested), Some(target_vcpu), Some(page1), Some(page2)) =
            (u32_at(p, 8), u32_at(p, 12), u64_at(p, 24), u64_at(p, 32))
        else {
            log!("short INITIATE_CONTACT ({} bytes)", p.len());
            return Ok(());
        };
        let sint = if requested >= VERSION_WIN10_V5 {
            p[16]
        } else {
            VMBUS_MESSAGE_SINT
        };
        let accepted = VERSIONS.contains(&requested) && requested <= self.max_version;
        log!(
            "<- INITIATE_CONTACT version {} on connection id {conn_id} from vp {vp} (target vcpu {target_vcpu}, sint {sint})",
            show_version(requested)
        );
        // Prove the shared memory works: the monitor pages are guest RAM.
        if let Some(mem) = &self.memory {
            let mut word = [0u8; 8];
            match (mem.read(page1, &mut word), mem.read(page2, &mut word)) {
                (Ok(()), Ok(())) => log!("monitor pages {page1:#x} {page2:#x} readable"),
                (Err(e), _) | (_, Err(e)) => log!("monitor pages not readable: {e}"),
            }
        }
        let to = Contact {
            vp_index: target_vcpu,
            sint: sint.into(),
        };
        // struct vmbus_channel_version_response: u8 version_supported, u8 connection_state,
        // u16 padding, u32 msg_conn_id (the connection id the guest uses from now on).
        let mut body = vec![u8::from(accepted), 0, 0, 0];
        body.extend_from_slice(&conn_id.to_le_bytes());
        if accepted {
            log!(
                "accepting version {} (msg_conn_id {conn_id})",
                show_version(requested)
            );
            self.contact = Some(to);
        } else {
            log!("refusing version {}", show_version(requested));
        }
        self.post(
            to,
            "VERSION_RESPONSE",
            &channel_message(CHANNELMSG_VERSION_RESPONSE, &body),
        )?;
        if let (true, Some(sint)) = (accepted, self.park) {
            let park = Contact {
                vp_index: to.vp_index,
                sint,
            };
            for _ in 0..3 {
                self.post(
                    park,
                    "parked CHANNELMSG_18",
                    &channel_message(CHANNELMSG_18, &[]),
                )?;
            }
        }
        if accepted && self.burst > 0 {
            log!(
                "burst: posting {} messages to vp {} sint {}",
                self.burst,
                to.vp_index,
                to.sint
            );
            self.burst_delivered = 0;
            self.burst_failed = 0;
            let msg = channel_message(CHANNELMSG_18, &[]);
            for _ in 0..self.burst {
                self.next_cookie += 1;
                self.burst_pending.insert(self.next_cookie);
                self.tx.post_message(
                    self.next_cookie,
                    to.vp_index,
                    to.sint,
                    HV_MESSAGE_VMBUS,
                    &msg,
                )?;
            }
        }
        Ok(())
    }
}

fn parse_version(s: &str) -> Option<u32> {
    let (major, minor) = s.split_once('.')?;
    Some(version(major.parse().ok()?, minor.parse().ok()?))
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: vmbus-minihost --socket PATH [--max-version MAJOR.MINOR] [--burst N] [--park SINT]"
    );
    ExitCode::from(2)
}

fn serve(socket: PathBuf, max_version: u32, burst: u32, park: Option<u32>) -> io::Result<()> {
    let listener = qemu_link::listen(&socket)?;
    log!("listening on {}", socket.display());
    let (stream, _) = listener.accept()?;
    drop(listener);
    let _ = std::fs::remove_file(&socket);
    log!("QEMU connected");
    let mut link = QemuLink::new(stream);
    let mut host = Host {
        tx: link.sender()?,
        memory: None,
        max_version,
        contact: None,
        next_cookie: 0,
        burst,
        burst_pending: Default::default(),
        burst_delivered: 0,
        burst_failed: 0,
        park,
    };
    while let Some(event) = link.recv()? {
        host.on_event(event)?;
    }
    log!("QEMU disconnected");
    Ok(())
}

fn main() -> ExitCode {
    let mut socket = None;
    let mut max_version = version(6, 0);
    let mut burst = 0;
    let mut park = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--socket", Some(path)) => socket = Some(PathBuf::from(path)),
            ("--max-version", Some(v)) => match parse_version(&v) {
                Some(v) => max_version = v,
                None => return usage(),
            },
            ("--burst", Some(n)) => match n.parse() {
                Ok(n) => burst = n,
                Err(_) => return usage(),
            },
            ("--park", Some(n)) => match n.parse() {
                Ok(n) => park = Some(n),
                Err(_) => return usage(),
            },
            _ => return usage(),
        }
    }
    let Some(socket) = socket else { return usage() };
    match serve(socket, max_version, burst, park) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
