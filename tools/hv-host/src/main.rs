// SPDX-License-Identifier: GPL-2.0

//! `hv-host`: the VMBus host engine daemon and its control client.
//!
//! ```text
//! hv-host serve --qemu-socket PATH --ctl-socket PATH [--max-version X.Y]
//!               [--device SPEC]... [--disk SPEC]... [--log FILE] [--exit-with-qemu]
//! hv-host ctl --socket PATH [--timeout SECONDS] COMMAND [ARGS]...
//! hv-host help
//! ```
//!
//! Without `--device` the set is: heartbeat, shutdown, timesync, kvp, vss, fcopy, echo.
//! `--disk` adds a LUN to a `scsi` device (one is added if none is configured).

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use hv_host::daemon::{self, DaemonConfig};
use hv_host::devices::parse_specs;
use hv_host::engine::{parse_version, EngineConfig};

/// The device set when none is given.
const DEFAULT_DEVICES: [&str; 7] = [
    "heartbeat",
    "shutdown",
    "timesync",
    "kvp",
    "vss",
    "fcopy",
    "echo",
];

fn usage() -> ExitCode {
    eprintln!(
        "usage: hv-host serve --qemu-socket PATH --ctl-socket PATH [--max-version X.Y]\n\
         \x20                    [--device SPEC]... [--disk SPEC]... [--log FILE] [--exit-with-qemu]\n\
         \x20      hv-host ctl --socket PATH [--timeout SECONDS] COMMAND [ARGS]...\n\
         \x20      hv-host help    (the control commands)\n\
         device SPEC: KIND[,name=N][,class=GUID][,instance=GUID][,mmio=MB][,flags=N][,mnf=on]\n\
         \x20            [,dedicated=off][,versions=3.0,1.0][,interval=MS]\n\
         \x20            scsi: [,vstor=X.Y][,vstor_min=X.Y][,subchannels=N][,max_transfer=BYTES]\n\
         \x20                  [,bus=scsi|fc|ide][,wwpn=HEX16][,wwnn=HEX16][,fc_active=primary|secondary]\n\
         KIND: echo heartbeat shutdown timesync kvp vss fcopy scsi dm\n\
         disk SPEC: lun=N[,target=N][,path=N],ram=SIZE|file=PATH[,size=SIZE][,block=512]\n\
         \x20          [,pblock=4096][,serial=S][,ro=on][,wce=off][,scsi=DEVICE]"
    );
    ExitCode::from(2)
}

fn serve(args: &[String]) -> ExitCode {
    let mut qemu = None;
    let mut ctl = None;
    let mut log = None;
    let mut exit_with_qemu = false;
    let mut devices: Vec<String> = Vec::new();
    let mut disks: Vec<String> = Vec::new();
    let mut engine = EngineConfig::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned();
        match a.as_str() {
            "--qemu-socket" => qemu = val().map(PathBuf::from),
            "--ctl-socket" => ctl = val().map(PathBuf::from),
            "--log" => log = val().map(PathBuf::from),
            "--exit-with-qemu" => exit_with_qemu = true,
            "--device" => match val() {
                Some(d) => devices.push(d),
                None => return usage(),
            },
            "--disk" => match val() {
                Some(d) => disks.push(d),
                None => return usage(),
            },
            "--max-version" => match val().as_deref().and_then(parse_version) {
                Some(v) => engine.max_version = v,
                None => return usage(),
            },
            "--msg-conn-id" => match val().and_then(|v| v.parse().ok()) {
                Some(v) => engine.msg_conn_id = v,
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    let (Some(qemu_socket), Some(ctl_socket)) = (qemu, ctl) else {
        return usage();
    };
    let specs: Vec<&str> = if devices.is_empty() {
        DEFAULT_DEVICES.to_vec()
    } else {
        devices.iter().map(String::as_str).collect()
    };
    engine.devices = match parse_specs(specs).and_then(|mut d| {
        hv_host::devices::storvsp::attach_disks(&mut d, &disks)?;
        Ok(d)
    }) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("hv-host: {e}");
            return ExitCode::from(2);
        }
    };
    let cfg = DaemonConfig {
        qemu_socket,
        ctl_socket,
        exit_with_qemu,
        log_file: log,
        engine,
    };
    match daemon::run(cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hv-host: {e}");
            ExitCode::FAILURE
        }
    }
}

fn ctl(args: &[String]) -> ExitCode {
    let mut socket = None;
    let mut timeout = 600;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--socket" if i + 1 < args.len() => {
                socket = Some(PathBuf::from(&args[i + 1]));
                i += 2;
            }
            "--timeout" if i + 1 < args.len() => {
                timeout = args[i + 1].parse().unwrap_or(600);
                i += 2;
            }
            _ => break,
        }
    }
    let Some(socket) = socket.or_else(|| std::env::var_os("HV_HOST_CTL").map(PathBuf::from)) else {
        return usage();
    };
    if i >= args.len() {
        return usage();
    }
    let rc = daemon::ctl_client_main(&socket, &args[i..], timeout);
    ExitCode::from(rc as u8)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1..]),
        Some("ctl") => ctl(&args[1..]),
        Some("help") => {
            println!("{}", hv_host::ctl::HELP);
            ExitCode::SUCCESS
        }
        _ => usage(),
    }
}
