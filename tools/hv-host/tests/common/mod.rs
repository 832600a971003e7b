// SPDX-License-Identifier: GPL-2.0

//! The in-process world of the engine tests: the engine on an [`InProcTransport`], and a guest
//! made of the protocol core's guest connection state machine and guest-side rings over the
//! same guest-RAM arena.

#![allow(dead_code, missing_docs, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::Arc;

use hv_host::device::Reply;
use hv_host::devices::parse_specs;
use hv_host::engine::{CmdOutcome, Engine, EngineConfig};
use hv_host::mem::{ArenaMemory, GpaRingMem, GuestMemory, PAGE_SIZE};
use hv_host::transport::InProcTransport;
use hv_proto::connection::{
    Action, ConnectParams, ConnectionState, FixedConnection, OpenParams, Outbox,
};
use hv_proto::gpadl::GpadlType;
use hv_proto::ring::{
    init_ring, IncomingRing, OutgoingPacket, OutgoingRing, PacketInfo, RingError,
};
use hv_proto::vmbus::{OfferChannel, Version};

/// What the guest connection produced.
#[derive(Default)]
pub struct GuestOut {
    pub posts: Vec<(u32, Vec<u8>)>,
    pub actions: Vec<Action>,
}

impl Outbox for GuestOut {
    fn post(&mut self, connection_id: u32, message: &[u8]) {
        self.posts.push((connection_id, message.to_vec()));
    }

    fn action(&mut self, action: Action) {
        self.actions.push(action);
    }
}

/// The guest side of an open channel.
pub struct GuestChannel {
    pub tx: OutgoingRing<GpaRingMem>,
    pub rx: IncomingRing<GpaRingMem>,
    pub gpadl: u32,
    pub conn_id: u32,
}

pub struct World {
    pub engine: Engine,
    pub t: InProcTransport,
    pub mem: Arc<ArenaMemory>,
    pub conn: FixedConnection<64, 256>,
    pub out: GuestOut,
    /// Every action seen, in order.
    pub actions: Vec<Action>,
    /// Errors the guest connection reported for host messages.
    pub guest_errors: Vec<String>,
    pub offers: BTreeMap<u32, OfferChannel>,
    pub chans: BTreeMap<u32, GuestChannel>,
    pub now: u64,
    /// Relids the guest saw signalled by the host.
    pub host_signals: Vec<u32>,
}

pub const ALL_DEVICES: &[&str] = &[
    "echo",
    "heartbeat",
    "shutdown",
    "timesync",
    "kvp",
    "vss",
    "fcopy",
    "echo,name=mnfecho,mnf=on",
];

impl World {
    pub fn new(max_version: Version, devices: &[&str]) -> World {
        let cfg = EngineConfig {
            max_version,
            devices: parse_specs(devices.iter().copied()).unwrap(),
            ..EngineConfig::default()
        };
        Self::with_config(cfg)
    }

    pub fn with_config(cfg: EngineConfig) -> World {
        let mem = ArenaMemory::new(16 << 20);
        let t = InProcTransport::new(mem.clone(), 2);
        let mut engine = Engine::new(cfg);
        engine.attach(Box::new(t.clone()));
        let page1 = mem.alloc_pages(1);
        let page2 = mem.alloc_pages(1);
        let int_page = mem.alloc_pages(1);
        let params = ConnectParams {
            monitor_page1: page1,
            monitor_page2: page2,
            interrupt_page: int_page,
            ..ConnectParams::default()
        };
        World {
            engine,
            t,
            mem,
            conn: FixedConnection::new(params),
            out: GuestOut::default(),
            actions: Vec::new(),
            guest_errors: Vec::new(),
            offers: BTreeMap::new(),
            chans: BTreeMap::new(),
            now: 0,
            host_signals: Vec::new(),
        }
    }

    /// Sets the guest's highest version (`max_version` module parameter).
    pub fn guest_max(&mut self, v: Version) {
        let mut p = *self.conn.params();
        p.max_version = v;
        self.conn = FixedConnection::new(p);
    }

    /// Moves messages both ways until nothing moves.
    pub fn pump(&mut self) {
        loop {
            let mut moved = false;
            for (conn_id, bytes) in std::mem::take(&mut self.out.posts) {
                moved = true;
                self.engine.guest_message(conn_id, 0, &bytes);
            }
            let msgs: Vec<_> = self.t.state().messages.drain(..).collect();
            for m in msgs {
                moved = true;
                if let Err(e) = self.conn.handle_message(&m.bytes, &mut self.out) {
                    self.guest_errors.push(format!("{e:?}"));
                }
            }
            let sigs: Vec<_> = self.t.state().signals.drain(..).collect();
            for (_, _, relid) in sigs {
                self.host_signals.push(relid);
            }
            for a in std::mem::take(&mut self.out.actions) {
                moved = true;
                if let Action::Offer { offer, .. } = a {
                    self.offers.insert(offer.child_relid, offer);
                }
                self.actions.push(a);
            }
            if !moved {
                break;
            }
        }
    }

    /// Advances the clock by `ms` and pumps.
    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.engine.tick(self.now);
        self.pump();
    }

    pub fn connect(&mut self) -> Option<Version> {
        self.conn.start(&mut self.out).unwrap();
        self.pump();
        self.conn.version()
    }

    pub fn ready(&self) -> bool {
        self.conn.state() == ConnectionState::Ready
    }

    /// The relid of the offer of device `name`.
    pub fn relid(&self, name: &str) -> u32 {
        self.engine.relid_of(name).expect("no such channel")
    }

    /// Creates the ring GPADL (send ring of `send_pages`, receive ring of `recv_pages`, each
    /// including its control page) and opens the channel; returns the OPEN_RESULT status or
    /// `None` if none came.
    pub fn open(&mut self, relid: u32, send_pages: u64, recv_pages: u64) -> Option<u32> {
        let total = send_pages + recv_pages;
        let base = self.mem.alloc_pages(total);
        let pfns: Vec<u64> = (0..total).map(|i| base / PAGE_SIZE + i).collect();
        let mem: Arc<dyn GuestMemory> = self.mem.clone();
        let tx_pages: Vec<u64> = (0..send_pages).map(|i| base + i * PAGE_SIZE).collect();
        let rx_pages: Vec<u64> = (send_pages..total).map(|i| base + i * PAGE_SIZE).collect();
        let txm = GpaRingMem::new(mem.clone(), tx_pages).unwrap();
        let rxm = GpaRingMem::new(mem, rx_pages).unwrap();
        init_ring(&txm);
        init_ring(&rxm);
        let send_offset = (send_pages * PAGE_SIZE) as u32;
        let gpadl = self
            .conn
            .create_gpadl(
                relid,
                GpadlType::Ring { send_offset },
                &pfns,
                12,
                (total * PAGE_SIZE) as u32,
                &mut self.out,
            )
            .unwrap();
        self.pump();
        let created = self.actions.iter().rev().find_map(|a| match a {
            Action::GpadlCreated {
                gpadl: g, status, ..
            } if *g == gpadl => Some(*status),
            _ => None,
        });
        if created != Some(0) {
            return created;
        }
        self.conn
            .open_channel(
                relid,
                &OpenParams {
                    ring_gpadl: gpadl,
                    target_vp: 0,
                    downstream_ringbuffer_pageoffset: send_pages as u32,
                    userdata: &[],
                },
                &mut self.out,
            )
            .unwrap();
        let n = self.actions.len();
        self.pump();
        let status = self.actions[n..].iter().find_map(|a| match a {
            Action::OpenResult { relid: r, status } if *r == relid => Some(*status),
            _ => None,
        });
        if status == Some(0) {
            let tx = OutgoingRing::new(txm).unwrap();
            let rx = IncomingRing::new(rxm).unwrap();
            tx.set_pending_send_feature();
            self.chans.insert(
                relid,
                GuestChannel {
                    tx,
                    rx,
                    gpadl,
                    conn_id: self.offers[&relid].connection_id,
                },
            );
        }
        status
    }

    /// Closes the channel and tears its ring GPADL down, as `vmbus_close_internal()`.
    pub fn close(&mut self, relid: u32) {
        let ch = self.chans.remove(&relid).unwrap();
        self.conn.close_channel(relid, &mut self.out).unwrap();
        self.pump();
        self.conn
            .teardown_gpadl(relid, ch.gpadl, &mut self.out)
            .unwrap();
        self.pump();
    }

    /// The guest signals the host for channel `relid` (`vmbus_set_event()`).
    pub fn signal_host(&mut self, relid: u32) {
        let conn_id = self.offers[&relid].connection_id;
        self.engine.guest_event(conn_id);
        self.pump();
    }

    /// Writes a packet into the guest's outgoing ring; signals when the ring rules say so.
    /// Returns `Err(Full)` without writing when there is no room.
    pub fn send(
        &mut self,
        relid: u32,
        trans_id: u64,
        payload: &[u8],
        completion: bool,
    ) -> Result<bool, RingError> {
        let ch = self.chans.get_mut(&relid).unwrap();
        let signal = ch
            .tx
            .write_packet(&OutgoingPacket::inband(trans_id, completion), &[payload])?;
        if signal {
            self.signal_host(relid);
        }
        Ok(signal)
    }

    /// Reads every packet the host wrote; signals the host when `hv_pkt_iter_close()` would.
    pub fn recv(&mut self, relid: u32) -> Vec<(PacketInfo, Vec<u8>)> {
        let ch = self.chans.get_mut(&relid).unwrap();
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match ch.rx.read_packet(&mut buf) {
                Ok((info, n)) => out.push((info, buf[..n].to_vec())),
                Err(RingError::Empty) => break,
                Err(e) => panic!("guest ring error: {e:?}"),
            }
        }
        let signal = ch.rx.commit_read();
        if signal {
            self.signal_host(relid);
        }
        out
    }

    /// Runs a control command; pending ones are completed by pumping and ticking (up to
    /// `max_ms` of engine time).
    pub fn cmd(&mut self, line: &str) -> Reply {
        let args = hv_host::ctl::tokenize(line).unwrap();
        match hv_host::ctl::execute(&mut self.engine, &args) {
            CmdOutcome::Done(r) => {
                self.pump();
                r
            }
            CmdOutcome::Pending(token) => {
                for _ in 0..2000 {
                    self.pump();
                    if let Some((_, r)) = self
                        .engine
                        .take_finished()
                        .into_iter()
                        .find(|(t, _)| *t == token)
                    {
                        return r;
                    }
                    self.advance(50);
                }
                panic!("command {line} never answered");
            }
        }
    }

    /// Starts a command and returns its token without waiting.
    pub fn cmd_start(&mut self, line: &str) -> CmdOutcome {
        let args = hv_host::ctl::tokenize(line).unwrap();
        let r = hv_host::ctl::execute(&mut self.engine, &args);
        self.pump();
        r
    }

    pub fn errors(&self) -> Vec<String> {
        self.engine
            .errors()
            .iter()
            .map(|e| e.text.clone())
            .collect()
    }

    pub fn assert_no_errors(&self) {
        assert!(
            self.errors().is_empty(),
            "protocol errors: {:#?}",
            self.errors()
        );
        assert!(
            self.guest_errors.is_empty(),
            "guest errors: {:#?}",
            self.guest_errors
        );
    }

    /// Handles the rescind path as Linux does: close if open (no GPADL teardown once
    /// rescinded), then release the relid.
    pub fn guest_handle_rescind(&mut self, relid: u32) {
        if self.chans.remove(&relid).is_some() {
            self.conn.close_channel(relid, &mut self.out).unwrap();
            self.pump();
        }
        self.conn.release_relid(relid, &mut self.out).unwrap();
        self.pump();
    }
}
