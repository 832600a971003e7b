// SPDX-License-Identifier: GPL-2.0

//! The daemon: one thread runs the [`Engine`]; others feed it.
//!
//! - A QEMU thread listens on the QEMU socket, accepts one connection at a time and forwards
//!   its events (HELLO, memory table, guest messages and signals, delivery reports, resets).
//!   When QEMU disconnects the engine drops the VMBus state and the thread accepts the next
//!   connection (a rebooted or restarted VM), unless `--exit-with-qemu`.
//! - A control thread listens on the control socket; each client gets a thread that reads
//!   command lines and waits for the engine's answer.
//! - The engine thread waits for inputs with a 10 ms timeout and ticks the engine's clock.
//!
//! Nothing blocks the engine thread: commands that wait for the guest answer later.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vmbus_minihost::qemu_link::{self, Event, PostStatus, QemuLink};

use crate::ctl::{execute, tokenize};
use crate::device::Reply;
use crate::engine::{CmdOutcome, Engine, EngineConfig};
use crate::mem::GuestMemory;
use crate::transport::{QemuInfo, QemuTransport};

/// Daemon options.
#[derive(Clone, Debug)]
pub struct DaemonConfig {
    /// The socket QEMU's `-chardev socket,path=` connects to.
    pub qemu_socket: PathBuf,
    /// The control socket.
    pub ctl_socket: PathBuf,
    /// Exit when the first QEMU connection ends.
    pub exit_with_qemu: bool,
    /// Append the event log here (stderr otherwise).
    pub log_file: Option<PathBuf>,
    /// Engine configuration.
    pub engine: EngineConfig,
}

enum Input {
    QemuConnected(Box<QemuTransport>, Arc<Mutex<QemuInfo>>),
    Qemu(Event),
    QemuClosed(String),
    Ctl(String, Sender<Reply>),
}

fn qemu_thread(listener: UnixListener, tx: Sender<Input>) {
    loop {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) => {
                let _ = tx.send(Input::QemuClosed(format!("accept failed: {e}")));
                return;
            }
        };
        let mut link = QemuLink::new(stream);
        let sender = match link.sender() {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(Input::QemuClosed(format!("socket clone failed: {e}")));
                continue;
            }
        };
        let (t, info) = QemuTransport::new(sender);
        if tx.send(Input::QemuConnected(Box::new(t), info)).is_err() {
            return;
        }
        let why = loop {
            match link.recv() {
                Ok(Some(ev)) => {
                    if tx.send(Input::Qemu(ev)).is_err() {
                        return;
                    }
                }
                Ok(None) => break "QEMU disconnected".to_string(),
                Err(e) => break format!("QEMU link error: {e}"),
            }
        };
        if tx.send(Input::QemuClosed(why)).is_err() {
            return;
        }
    }
}

fn ctl_client(stream: UnixStream, tx: Sender<Input>) {
    let Ok(read) = stream.try_clone() else {
        return;
    };
    let mut out = stream;
    for line in BufReader::new(read).lines() {
        let Ok(line) = line else {
            return;
        };
        if line.trim().is_empty() {
            continue;
        }
        let (rtx, rrx) = mpsc::channel();
        if tx.send(Input::Ctl(line, rtx)).is_err() {
            let _ = writeln!(out, "error daemon stopping");
            return;
        }
        let reply = rrx.recv().unwrap_or_else(|_| Reply::err("daemon stopping"));
        let mut text = String::new();
        let mut lines = reply.lines.iter();
        if !reply.ok {
            lines.next();
        }
        for l in lines {
            text.push_str(". ");
            text.push_str(l);
            text.push('\n');
        }
        if reply.ok {
            text.push_str("ok\n");
        } else {
            text.push_str("error ");
            text.push_str(reply.lines.first().map_or("", String::as_str));
            text.push('\n');
        }
        if out.write_all(text.as_bytes()).is_err() {
            return;
        }
    }
}

fn ctl_thread(listener: UnixListener, tx: Sender<Input>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            continue;
        };
        let tx = tx.clone();
        std::thread::spawn(move || ctl_client(stream, tx));
    }
}

struct Logger {
    file: Option<std::fs::File>,
}

impl Logger {
    fn line(&mut self, s: &str) {
        match &mut self.file {
            Some(f) => {
                let _ = writeln!(f, "{s}");
            }
            None => eprintln!("hv-host: {s}"),
        }
    }
}

/// Binds a unix socket, replacing a stale socket file.
fn bind(path: &Path) -> io::Result<UnixListener> {
    qemu_link::listen(path)
}

/// Runs the daemon until `quit`, or until QEMU disconnects with `exit_with_qemu`.
///
/// # Errors
///
/// The sockets cannot be bound.
pub fn run(cfg: DaemonConfig) -> io::Result<()> {
    let qemu_listener = bind(&cfg.qemu_socket)?;
    let ctl_listener = bind(&cfg.ctl_socket)?;
    let mut log = Logger {
        file: match &cfg.log_file {
            Some(p) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            ),
            None => None,
        },
    };
    let (tx, rx): (Sender<Input>, Receiver<Input>) = mpsc::channel();
    {
        let tx = tx.clone();
        std::thread::spawn(move || qemu_thread(qemu_listener, tx));
    }
    {
        let tx = tx.clone();
        std::thread::spawn(move || ctl_thread(ctl_listener, tx));
    }
    drop(tx);
    log.line(&format!(
        "listening: QEMU on {}, control on {}",
        cfg.qemu_socket.display(),
        cfg.ctl_socket.display()
    ));
    let mut engine = Engine::new(cfg.engine.clone());
    let start = Instant::now();
    let mut pending: BTreeMap<u64, Sender<Reply>> = BTreeMap::new();
    let mut qemu_info: Option<Arc<Mutex<QemuInfo>>> = None;
    let mut quit = false;
    let mut had_qemu = false;
    while !quit {
        let input = rx.recv_timeout(Duration::from_millis(10));
        let now = start.elapsed().as_millis() as u64;
        engine.tick(now);
        match input {
            Ok(Input::QemuConnected(t, info)) => {
                log.line("QEMU connected");
                had_qemu = true;
                qemu_info = Some(info);
                engine.attach(t);
            }
            Ok(Input::Qemu(ev)) => on_qemu_event(&mut engine, &qemu_info, &mut log, ev),
            Ok(Input::QemuClosed(why)) => {
                log.line(&why);
                engine.detach();
                qemu_info = None;
                if cfg.exit_with_qemu && had_qemu {
                    quit = true;
                }
            }
            Ok(Input::Ctl(line, reply)) => {
                let out = match tokenize(&line) {
                    Ok(args) if args.first().map(String::as_str) == Some("quit") => {
                        quit = true;
                        CmdOutcome::Done(Reply::line("bye"))
                    }
                    Ok(args) => execute(&mut engine, &args),
                    Err(e) => CmdOutcome::Done(Reply::err(e)),
                };
                match out {
                    CmdOutcome::Done(r) => {
                        let _ = reply.send(r);
                    }
                    CmdOutcome::Pending(token) => {
                        pending.insert(token, reply);
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => quit = true,
        }
        for (token, r) in engine.take_finished() {
            if let Some(s) = pending.remove(&token) {
                let _ = s.send(r);
            }
        }
        for l in engine.take_log() {
            log.line(&l);
        }
        if let Some(why) = engine.link_failed.take() {
            log.line(&format!("QEMU link failed: {why}"));
            engine.detach();
        }
    }
    for (_, s) in pending {
        let _ = s.send(Reply::err("daemon stopping"));
    }
    let _ = std::fs::remove_file(&cfg.ctl_socket);
    let _ = std::fs::remove_file(&cfg.qemu_socket);
    let n = engine.errors().len();
    log.line(&format!("exiting; {n} protocol error(s) recorded"));
    for e in engine.errors() {
        log.line(&format!("protocol error #{}: {}", e.seq, e.text));
    }
    Ok(())
}

fn on_qemu_event(
    engine: &mut Engine,
    info: &Option<Arc<Mutex<QemuInfo>>>,
    log: &mut Logger,
    ev: Event,
) {
    match ev {
        Event::Hello {
            version,
            vp_count,
            features,
        } => {
            log.line(&format!(
                "QEMU hello: protocol {version}, {vp_count} vCPUs, features {features:#x}"
            ));
            if let Some(i) = info {
                i.lock().unwrap_or_else(|e| e.into_inner()).vp_count = Some(vp_count);
            }
        }
        Event::MemTable(mem) => {
            let total: u64 = mem.ranges().map(|(_, s)| s).sum();
            log.line(&format!(
                "guest RAM mapped: {} range(s), {} MiB",
                mem.ranges().count(),
                total >> 20
            ));
            if let Some(i) = info {
                let m: Arc<dyn GuestMemory> = Arc::new(mem);
                i.lock().unwrap_or_else(|e| e.into_inner()).memory = Some(m);
            }
            engine.memory_changed();
        }
        Event::GuestMessage {
            connection_id,
            message_type,
            vp_index,
            payload,
        } => {
            if message_type != crate::transport::HV_MESSAGE_VMBUS {
                engine.protocol_error(
                    None,
                    format!("guest posted SynIC message type {message_type}, expected 1"),
                );
            }
            engine.guest_message(connection_id, vp_index, &payload);
        }
        Event::GuestEvent { connection_id } => engine.guest_event(connection_id),
        Event::PostDone { cookie, status } => engine.post_done(
            cookie,
            status == PostStatus::Delivered,
            &format!("{status:?}"),
        ),
        Event::Reset => {
            log.line("VM reset");
            engine.vm_reset();
        }
        Event::Unknown { frame_type } => {
            log.line(&format!("ignoring QEMU frame type {frame_type:#x}"))
        }
    }
}

/// The `ctl` client: sends one command and prints the answer. Returns the exit code.
pub fn ctl_client_main(socket: &Path, args: &[String], timeout_s: u64) -> i32 {
    let line = args
        .iter()
        .map(|a| crate::ctl::quote(a))
        .collect::<Vec<_>>()
        .join(" ");
    let mut stream = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "hv-host ctl: cannot reach the host engine at {}: {e} (is `hv-host serve` running?)",
                socket.display()
            );
            return 2;
        }
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(timeout_s)));
    if let Err(e) = writeln!(stream, "{line}") {
        eprintln!("hv-host ctl: send failed: {e}");
        return 2;
    }
    let reader = BufReader::new(stream);
    for l in reader.lines() {
        let l = match l {
            Ok(l) => l,
            Err(e) => {
                eprintln!("hv-host ctl: no answer from the host engine: {e}");
                return 2;
            }
        };
        if let Some(d) = l.strip_prefix(". ") {
            print_line(d);
        } else if l == "ok" {
            return 0;
        } else if let Some(m) = l.strip_prefix("error ") {
            eprintln!("hv-host: {m}");
            return 1;
        } else {
            print_line(&l);
        }
    }
    eprintln!("hv-host ctl: the host engine closed the connection without an answer");
    2
}

/// Prints one answer line. A closed stdout (e.g. `ctl ... | grep -q`) is not an error: the
/// rest of the answer is read and its status returned as usual.
fn print_line(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}
