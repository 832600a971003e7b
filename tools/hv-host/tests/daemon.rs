// SPDX-License-Identifier: GPL-2.0

//! The daemon end to end: a fake QEMU speaking the external-host socket protocol on one
//! socket, the control protocol on the other.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hv_host::daemon::{self, DaemonConfig};
use hv_host::devices::parse_specs;
use hv_host::engine::EngineConfig;
use hv_proto::vmbus::{FeatureFlags, InitiateContact, MessageHeader, MessageType, Version};
use zerocopy::IntoBytes;

fn connect_retry(p: &Path) -> UnixStream {
    let start = Instant::now();
    loop {
        match UnixStream::connect(p) {
            Ok(s) => return s,
            Err(_) if start.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("{}: {e}", p.display()),
        }
    }
}

fn ctl(p: &Path, line: &str) -> (bool, Vec<String>) {
    let mut s = connect_retry(p);
    writeln!(s, "{line}").unwrap();
    let mut lines = Vec::new();
    for l in BufReader::new(s).lines() {
        let l = l.unwrap();
        if let Some(d) = l.strip_prefix(". ") {
            lines.push(d.to_string());
        } else if l == "ok" {
            return (true, lines);
        } else if let Some(m) = l.strip_prefix("error ") {
            lines.insert(0, m.to_string());
            return (false, lines);
        }
    }
    panic!("no final line");
}

fn frame(t: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = t.to_le_bytes().to_vec();
    v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    v.extend_from_slice(payload);
    v
}

fn read_frame(s: &mut UnixStream) -> (u32, Vec<u8>) {
    let mut h = [0u8; 8];
    s.read_exact(&mut h).unwrap();
    let t = u32::from_le_bytes(h[..4].try_into().unwrap());
    let n = u32::from_le_bytes(h[4..].try_into().unwrap()) as usize;
    let mut p = vec![0u8; n];
    s.read_exact(&mut p).unwrap();
    (t, p)
}

/// Sends a guest message, answers the host's posts with POST_DONE, and returns the channel
/// messages the host posted until it goes quiet.
fn exchange(q: &mut UnixStream, conn_id: u32, msg: &[u8]) -> Vec<Vec<u8>> {
    let mut p = Vec::new();
    p.extend_from_slice(&conn_id.to_le_bytes());
    p.extend_from_slice(&1u32.to_le_bytes());
    p.extend_from_slice(&0u32.to_le_bytes());
    p.extend_from_slice(&(msg.len() as u32).to_le_bytes());
    p.extend_from_slice(msg);
    q.write_all(&frame(0x0003, &p)).unwrap();
    q.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut out = Vec::new();
    loop {
        let mut h = [0u8; 8];
        match q.read_exact(&mut h) {
            Ok(()) => {}
            Err(_) => break,
        }
        let t = u32::from_le_bytes(h[..4].try_into().unwrap());
        let n = u32::from_le_bytes(h[4..].try_into().unwrap()) as usize;
        let mut body = vec![0u8; n];
        q.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        q.read_exact(&mut body).unwrap();
        q.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        if t == 0x0101 {
            let cookie = &body[..8];
            let mut done = cookie.to_vec();
            done.extend_from_slice(&[0; 8]);
            q.write_all(&frame(0x0005, &done)).unwrap();
            out.push(body[24..].to_vec());
        }
    }
    out
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("hv-host-{}-{name}", std::process::id()))
}

#[test]
fn daemon_serves_qemu_and_the_control_socket() {
    let qemu_socket = temp("qemu.sock");
    let ctl_socket = temp("ctl.sock");
    let cfg = DaemonConfig {
        qemu_socket: qemu_socket.clone(),
        ctl_socket: ctl_socket.clone(),
        exit_with_qemu: false,
        log_file: Some(temp("log")),
        engine: EngineConfig {
            max_version: Version::WIN10_V5_3,
            devices: parse_specs(["heartbeat", "echo"]).unwrap(),
            ..EngineConfig::default()
        },
    };
    let d = std::thread::spawn(move || daemon::run(cfg).unwrap());
    let (ok, lines) = ctl(&ctl_socket, "status");
    assert!(ok);
    assert!(
        lines.contains(&"state=disconnected".to_string()),
        "{lines:?}"
    );
    let (ok, lines) = ctl(&ctl_socket, "bogus");
    assert!(!ok && lines[0].contains("unknown command"));

    let mut q = connect_retry(&qemu_socket);
    let mut hello = 1u32.to_le_bytes().to_vec();
    hello.extend_from_slice(&2u32.to_le_bytes());
    hello.extend_from_slice(&0u64.to_le_bytes());
    q.write_all(&frame(0x0001, &hello)).unwrap();
    let mut ic = InitiateContact {
        header: MessageHeader::new(MessageType::INITIATE_CONTACT),
        vmbus_version_requested: Version::WIN10_V6_0,
        target_vcpu: 1,
        msg_sint: 2,
        msg_vtl: 0,
        reserved: [0; 2],
        feature_flags: FeatureFlags(0),
        monitor_page1: 0x10000,
        monitor_page2: 0x11000,
    };
    // 6.0 is refused (cap 5.3), 5.3 accepted with msg_conn_id 4.
    let out = exchange(&mut q, 4, ic.as_bytes());
    assert_eq!(out.len(), 1);
    assert_eq!(out[0][8], 0, "6.0 refused");
    ic.vmbus_version_requested = Version::WIN10_V5_3;
    let out = exchange(&mut q, 4, ic.as_bytes());
    assert_eq!(out[0][8], 1, "5.3 accepted");
    assert_eq!(&out[0][12..16], &4u32.to_le_bytes());
    let out = exchange(
        &mut q,
        4,
        MessageHeader::new(MessageType::REQUESTOFFERS).as_bytes(),
    );
    // Two offers, then ALLOFFERS_DELIVERED (REGISTER_EVENT frames are skipped).
    let types: Vec<u32> = out
        .iter()
        .map(|m| u32::from_le_bytes(m[..4].try_into().unwrap()))
        .collect();
    assert_eq!(types, vec![1, 1, 4]);
    let (_, lines) = ctl(&ctl_socket, "list");
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (ok, lines) = ctl(&ctl_socket, "errors --check");
    assert!(ok, "{lines:?}");
    // A pending command answered by a timeout.
    let (ok, lines) = ctl(&ctl_socket, "wait open heartbeat --timeout 0.2");
    assert!(!ok && lines[0].contains("timeout"), "{lines:?}");
    drop(q);
    let (ok, _) = ctl(&ctl_socket, "quit");
    assert!(ok);
    d.join().unwrap();
    assert!(!ctl_socket.exists());
    assert_eq!(
        daemon::ctl_client_main(&ctl_socket, &["status".to_string()], 1),
        2
    );
    let _ = read_frame;
    std::fs::remove_file(temp("log")).ok();
}

#[test]
fn tokenizer_and_hex() {
    use hv_host::ctl::{parse_hex, quote, tokenize};
    assert_eq!(
        tokenize(r#"kvp set 0 'a b' "c \"d\"" e\ f"#).unwrap(),
        vec!["kvp", "set", "0", "a b", "c \"d\"", "e f"]
    );
    assert!(tokenize("'open").is_err());
    for s in ["plain", "with space", "it's", ""] {
        assert_eq!(tokenize(&quote(s)).unwrap(), vec![s.to_string()]);
    }
    assert_eq!(
        parse_hex("de:ad be ef").unwrap(),
        vec![0xde, 0xad, 0xbe, 0xef]
    );
    assert!(parse_hex("abc").is_err());
}
