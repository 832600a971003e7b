// SPDX-License-Identifier: GPL-2.0

//! The device back ends and the device set configuration.
//!
//! A device is described by a spec string `KIND[,key=value]...` (command line `--device`, CLI
//! `add`): kinds `echo`, `heartbeat`, `shutdown`, `timesync`, `kvp`, `vss`, `fcopy`, `dm`; keys
//! `name`, `class`, `instance`, `mmio` (MiB), `flags` (offer `chn_flags`), `mnf` (on/off:
//! monitored notification), `dedicated` (on/off: `is_dedicated_interrupt`), `versions` (IC
//! service versions the host offers, e.g. `3.0,1.0`), `interval` (heartbeat ms), `auto`
//! (timesync sample period ms). Kind `scsi` ([`storvsp`]) adds `vstor` / `vstor_min` (VMSTOR
//! versions accepted), `subchannels` (QUERY_PROPERTIES `max_channel_cnt`) and `max_transfer`
//! (bytes), `bus` (`scsi`, `fc` or `ide`: the class offered, [`storvsp::Bus`]), and for FC
//! `wwpn` / `wwnn` (16 hex digits) and `fc_active` (`primary` or `secondary`); its disks come from `--disk` ([`storvsp::attach_disks`]) or the CLI. Kind `dm`
//! ([`dm`], Dynamic Memory) takes its accepted protocol versions from `versions` (default 2.0,
//! 1.0, 0.3). netvsp becomes a further kind here.

pub mod dm;
pub mod echo;
pub mod fcopy;
pub mod ic;
pub mod kvp;
pub mod scsi;
pub mod storvsp;
pub mod vss;

use hv_proto::guid::{self, Guid};
use hv_proto::ic::IcVersion;

use crate::device::Device;

/// Class GUID of the echo device (a project-specific class, not a Hyper-V one).
pub const ECHO_CLASS: Guid = Guid::new("ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40");

/// The kinds of device back end.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// [`echo::Echo`].
    Echo,
    /// [`ic::Heartbeat`].
    Heartbeat,
    /// [`ic::Shutdown`].
    Shutdown,
    /// [`ic::Timesync`].
    Timesync,
    /// [`kvp::Kvp`].
    Kvp,
    /// [`vss::Vss`].
    Vss,
    /// [`fcopy::Fcopy`].
    Fcopy,
    /// [`storvsp::Storvsp`].
    Scsi,
    /// [`dm::Dm`].
    Dm,
}

impl DeviceKind {
    /// Parses a kind name.
    pub fn parse(s: &str) -> Option<DeviceKind> {
        Some(match s {
            "echo" => DeviceKind::Echo,
            "heartbeat" => DeviceKind::Heartbeat,
            "shutdown" => DeviceKind::Shutdown,
            "timesync" => DeviceKind::Timesync,
            "kvp" => DeviceKind::Kvp,
            "vss" => DeviceKind::Vss,
            "fcopy" => DeviceKind::Fcopy,
            "scsi" => DeviceKind::Scsi,
            "dm" => DeviceKind::Dm,
            _ => return None,
        })
    }

    /// Returns the kind's name.
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Echo => "echo",
            DeviceKind::Heartbeat => "heartbeat",
            DeviceKind::Shutdown => "shutdown",
            DeviceKind::Timesync => "timesync",
            DeviceKind::Kvp => "kvp",
            DeviceKind::Vss => "vss",
            DeviceKind::Fcopy => "fcopy",
            DeviceKind::Scsi => "scsi",
            DeviceKind::Dm => "dm",
        }
    }

    /// Returns the Hyper-V class GUID (`hyperv.h` `HV_*_GUID`).
    pub fn class(self) -> Guid {
        match self {
            DeviceKind::Echo => ECHO_CLASS,
            DeviceKind::Heartbeat => guid::HV_HEART_BEAT,
            DeviceKind::Shutdown => guid::HV_SHUTDOWN,
            DeviceKind::Timesync => guid::HV_TS,
            DeviceKind::Kvp => guid::HV_KVP,
            DeviceKind::Vss => guid::HV_VSS,
            DeviceKind::Fcopy => guid::HV_FCOPY,
            DeviceKind::Scsi => guid::HV_SCSI,
            DeviceKind::Dm => guid::HV_DM,
        }
    }

    /// Returns the default instance GUID of the `n`-th device of this kind.
    ///
    /// FCopy's is the one `hv_fcopy_uio_daemon` and its systemd unit hard-code; the others are
    /// this engine's own, stable across runs.
    pub fn default_instance(self, n: u32) -> Guid {
        if self == DeviceKind::Fcopy && n == 0 {
            return Guid::new(hv_proto::fcopy::FCOPY_INSTANCE_GUID);
        }
        let code: u16 = match self {
            DeviceKind::Echo => 0xec40,
            DeviceKind::Heartbeat => 0x4b70,
            DeviceKind::Shutdown => 0x5d00,
            DeviceKind::Timesync => 0x7150,
            DeviceKind::Kvp => 0x6b70,
            DeviceKind::Vss => 0x7550,
            DeviceKind::Fcopy => 0xfc00,
            DeviceKind::Scsi => 0x5c51,
            DeviceKind::Dm => 0xd300,
        };
        Guid::from_fields(
            0x4856_0000 | u32::from(code >> 8),
            code,
            0x4000 | (n as u16 & 0x0fff),
            [0x80, 0, 0, 0, 0, 0, 0, n as u8],
        )
    }

    /// Returns the IC service versions the host offers by default.
    pub fn default_versions(self) -> Vec<IcVersion> {
        match self {
            DeviceKind::Echo | DeviceKind::Scsi => Vec::new(),
            DeviceKind::Heartbeat => vec![IcVersion::new(1, 0), IcVersion::new(3, 0)],
            DeviceKind::Shutdown => vec![
                IcVersion::new(1, 0),
                IcVersion::new(3, 0),
                IcVersion::new(3, 1),
                IcVersion::new(3, 2),
            ],
            DeviceKind::Timesync => vec![
                IcVersion::new(1, 0),
                IcVersion::new(3, 0),
                IcVersion::new(4, 0),
            ],
            DeviceKind::Kvp => kvp::HOST_KVP_VERSIONS.to_vec(),
            DeviceKind::Vss => vss::HOST_VSS_VERSIONS.to_vec(),
            DeviceKind::Fcopy => fcopy::HOST_FCOPY_VERSIONS.to_vec(),
            DeviceKind::Dm => dm::HOST_DM_VERSIONS.to_vec(),
        }
    }
}

/// One configured device: what is offered, and how its back end is set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceSpec {
    /// Name used by the control CLI (default: the kind, numbered from the second one).
    pub name: String,
    /// Kind of back end.
    pub kind: DeviceKind,
    /// Class GUID (`if_type`).
    pub class: Guid,
    /// Instance GUID (`if_instance`).
    pub instance: Guid,
    /// MMIO space in MiB (`mmio_megabytes`).
    pub mmio_mb: u16,
    /// Offer flags (`chn_flags`).
    pub flags: u16,
    /// Monitored notification: allocate a monitor id (only if the guest gave monitor pages).
    pub mnf: bool,
    /// `is_dedicated_interrupt`.
    pub dedicated: bool,
    /// IC service versions offered.
    pub versions: Vec<IcVersion>,
    /// Heartbeat interval (ms) or timesync sample period (ms).
    pub interval_ms: u64,
    /// The SCSI controller (kind `scsi`): configuration and LUNs, shared by the primary
    /// channel and its subchannels and kept across re-offers.
    pub scsi: Option<storvsp::ControllerHandle>,
}

impl DeviceSpec {
    /// Parses `KIND[,key=value]...`; `n` numbers devices of the same kind.
    ///
    /// # Errors
    ///
    /// A message naming the bad part.
    pub fn parse(s: &str, n: u32) -> Result<DeviceSpec, String> {
        let mut parts = s.split(',');
        let kind_s = parts.next().unwrap_or("");
        let kind =
            DeviceKind::parse(kind_s).ok_or_else(|| format!("unknown device kind {kind_s:?}"))?;
        let mut spec = DeviceSpec {
            name: if n == 0 {
                kind.name().to_string()
            } else {
                format!("{}{n}", kind.name())
            },
            kind,
            class: kind.class(),
            instance: kind.default_instance(n),
            mmio_mb: 0,
            flags: 0,
            mnf: false,
            dedicated: true,
            versions: kind.default_versions(),
            interval_ms: match kind {
                DeviceKind::Heartbeat => 1000,
                DeviceKind::Timesync => 5000,
                _ => 0,
            },
            scsi: (kind == DeviceKind::Scsi).then(storvsp::ControllerHandle::default),
        };
        let (mut class_set, mut instance_set) = (false, false);
        for p in parts {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| format!("device option {p:?} is not key=value"))?;
            let onoff = |v: &str| match v {
                "on" | "1" | "yes" | "true" => Ok(true),
                "off" | "0" | "no" | "false" => Ok(false),
                _ => Err(format!("{k}={v}: expected on or off")),
            };
            match k {
                "name" => spec.name = v.to_string(),
                "class" => {
                    spec.class = Guid::parse(v).ok_or(format!("bad GUID {v}"))?;
                    class_set = true;
                }
                "instance" => {
                    spec.instance = Guid::parse(v).ok_or(format!("bad GUID {v}"))?;
                    instance_set = true;
                }
                "mmio" => spec.mmio_mb = v.parse().map_err(|_| format!("bad mmio {v}"))?,
                "flags" => {
                    spec.flags = ic::parse_u32(v)
                        .and_then(|f| u16::try_from(f).ok())
                        .ok_or(format!("bad flags {v}"))?
                }
                "mnf" => spec.mnf = onoff(v)?,
                "dedicated" => spec.dedicated = onoff(v)?,
                "versions" => {
                    spec.versions = ic::parse_versions(v).ok_or(format!("bad versions {v}"))?
                }
                "interval" | "auto" => {
                    spec.interval_ms = v.parse().map_err(|_| format!("bad interval {v}"))?
                }
                _ => match &spec.scsi {
                    Some(c) => c.set_option(k, v)?,
                    None => return Err(format!("unknown device option {k}")),
                },
            }
        }
        if let Some(c) = &spec.scsi {
            // `bus=fc|ide`: the class and (IDE) the instance of that controller type, unless
            // given.
            let bus = c.bus();
            if !class_set {
                spec.class = bus.class();
            }
            if let Some(i) = bus.default_instance(n).filter(|_| !instance_set) {
                spec.instance = i;
            }
            c.set_seed(&spec.instance);
        }
        Ok(spec)
    }

    /// Creates a fresh back end for this spec.
    pub fn create(&self) -> Box<dyn Device> {
        let v = &self.versions;
        match self.kind {
            DeviceKind::Echo => Box::new(echo::Echo::default()),
            DeviceKind::Heartbeat => Box::new(ic::Heartbeat::new(v, self.interval_ms)),
            DeviceKind::Shutdown => Box::new(ic::Shutdown::new(v)),
            DeviceKind::Timesync => Box::new(ic::Timesync::new(v, self.interval_ms)),
            DeviceKind::Kvp => Box::new(kvp::Kvp::new(v)),
            DeviceKind::Vss => Box::new(vss::Vss::new(v)),
            DeviceKind::Fcopy => Box::new(fcopy::Fcopy::new(v)),
            DeviceKind::Dm => Box::new(dm::Dm::new(v)),
            DeviceKind::Scsi => {
                Box::new(storvsp::Storvsp::new(self.scsi.clone().unwrap_or_default()))
            }
        }
    }
}

/// Parses a list of specs, numbering devices of the same kind.
///
/// # Errors
///
/// The first spec's error.
pub fn parse_specs<'a>(
    specs: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<DeviceSpec>, String> {
    let mut out: Vec<DeviceSpec> = Vec::new();
    for s in specs {
        let kind = s.split(',').next().unwrap_or("");
        let n = out.iter().filter(|d| d.kind.name() == kind).count() as u32;
        out.push(DeviceSpec::parse(s, n)?);
    }
    Ok(out)
}
