// SPDX-License-Identifier: GPL-2.0

//! The device classes the guest knows, and what it does differently per class.
//!
//! C source: `vmbus_devs[]`, `vmbus_unsupported_devs[]` and `hv_get_dev_type()` in
//! `drivers/hv/channel_mgmt.c`; `enum hv_dev_type` in `include/linux/hyperv.h`.
//!
//! The class decides whether a channel is a "performance" channel (spread over the CPUs, like
//! storage and network, or kept on the connect CPU, like the integration services), whether it
//! may be used in an isolated VM, and the ring size `uio_hv_generic` uses. The class number is
//! user ABI: the C driver shows it as the `device` attribute of the bus device.

use super::guid::{
    Guid, HV_AVMA1, HV_AVMA2, HV_DM, HV_FCOPY, HV_HEART_BEAT, HV_IDE, HV_IMC, HV_KBD, HV_KVP,
    HV_MOUSE, HV_ND, HV_NIC, HV_PCIE, HV_RDV, HV_SCSI, HV_SHUTDOWN, HV_SYNTHFC, HV_SYNTHVID, HV_TS,
    HV_VSS,
};

/// The class of a channel (`enum hv_dev_type`); the discriminants are the C values.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum DevType {
    /// `HV_IDE`.
    Ide = 0,
    /// `HV_SCSI`.
    Scsi = 1,
    /// `HV_FC`.
    Fc = 2,
    /// `HV_NIC`.
    Nic = 3,
    /// `HV_ND`.
    Nd = 4,
    /// `HV_PCIE`.
    Pcie = 5,
    /// `HV_FB`.
    Fb = 6,
    /// `HV_KBD`.
    Kbd = 7,
    /// `HV_MOUSE`.
    Mouse = 8,
    /// `HV_KVP`.
    Kvp = 9,
    /// `HV_TS`.
    Ts = 10,
    /// `HV_HB`.
    Hb = 11,
    /// `HV_SHUTDOWN`.
    Shutdown = 12,
    /// `HV_FCOPY`.
    Fcopy = 13,
    /// `HV_BACKUP`.
    Backup = 14,
    /// `HV_DM`.
    Dm = 15,
    /// `HV_UNKNOWN`: any other class, hv_sock channels, and the classes Linux does not support.
    Unknown = 16,
}

/// What the guest knows about a device class (`struct vmbus_device`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DeviceClass {
    /// The class.
    pub dev_type: DevType,
    /// Its class GUID (`guid`).
    pub guid: Guid,
    /// Channels of the class are spread over the CPUs (`perf_device`).
    pub perf_device: bool,
    /// The class may be used in an isolated (SNP/TDX) VM (`allowed_in_isolated`).
    pub allowed_in_isolated: bool,
    /// Ring size for `uio_hv_generic` in bytes, 0 for its default (`pref_ring_size`).
    pub pref_ring_size: u32,
}

const fn class(
    dev_type: DevType,
    guid: Guid,
    perf_device: bool,
    allowed_in_isolated: bool,
) -> DeviceClass {
    DeviceClass {
        dev_type,
        guid,
        perf_device,
        allowed_in_isolated,
        pref_ring_size: 0,
    }
}

/// The known classes, in `enum hv_dev_type` order (`vmbus_devs[]` without `HV_UNKNOWN`).
pub const VMBUS_DEVS: [DeviceClass; 16] = [
    class(DevType::Ide, HV_IDE, true, false),
    class(DevType::Scsi, HV_SCSI, true, true),
    class(DevType::Fc, HV_SYNTHFC, true, false),
    class(DevType::Nic, HV_NIC, true, true),
    class(DevType::Nd, HV_ND, true, false),
    class(DevType::Pcie, HV_PCIE, false, true),
    class(DevType::Fb, HV_SYNTHVID, false, false),
    class(DevType::Kbd, HV_KBD, false, false),
    class(DevType::Mouse, HV_MOUSE, false, false),
    class(DevType::Kvp, HV_KVP, false, false),
    class(DevType::Ts, HV_TS, false, true),
    class(DevType::Hb, HV_HEART_BEAT, false, true),
    class(DevType::Shutdown, HV_SHUTDOWN, false, true),
    // "fcopy always uses 16KB ring buffer size"
    DeviceClass {
        pref_ring_size: 0x4000,
        ..class(DevType::Fcopy, HV_FCOPY, false, false)
    },
    class(DevType::Backup, HV_VSS, false, false),
    class(DevType::Dm, HV_DM, false, false),
];

/// `pref_ring_size` of `HV_UNKNOWN` (68 KiB).
pub const UNKNOWN_PREF_RING_SIZE: u32 = 0x11000;

/// Classes Linux does not support and treats as unknown (`vmbus_unsupported_devs[]`).
pub const UNSUPPORTED_DEVS: [Guid; 4] = [HV_AVMA1, HV_AVMA2, HV_RDV, HV_IMC];

/// Returns the class of a channel (`hv_get_dev_type()`): [`DevType::Unknown`] for hv_sock
/// channels, unsupported classes and GUIDs not in [`VMBUS_DEVS`].
pub fn dev_type(class_id: &Guid, hvsock: bool) -> DevType {
    if hvsock || UNSUPPORTED_DEVS.contains(class_id) {
        return DevType::Unknown;
    }
    VMBUS_DEVS
        .iter()
        .find(|c| c.guid == *class_id)
        .map_or(DevType::Unknown, |c| c.dev_type)
}

impl DevType {
    /// Returns the class's entry of [`VMBUS_DEVS`], `None` for [`DevType::Unknown`].
    pub fn class(self) -> Option<&'static DeviceClass> {
        VMBUS_DEVS.get(usize::from(self as u16))
    }

    /// Returns `true` for a performance class (`hv_is_perf_channel()`).
    pub fn is_perf(self) -> bool {
        self.class().is_some_and(|c| c.perf_device)
    }

    /// Returns `true` if the class may be used in an isolated VM (`vmbus_is_valid_offer()`,
    /// without its hv_sock exception).
    pub fn allowed_in_isolated(self) -> bool {
        self.class().is_some_and(|c| c.allowed_in_isolated)
    }

    /// Returns the ring size for `uio_hv_generic`, in bytes, 0 for its default.
    pub fn pref_ring_size(self) -> u32 {
        match self.class() {
            Some(c) => c.pref_ring_size,
            None => UNKNOWN_PREF_RING_SIZE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_enum_order() {
        for (i, c) in VMBUS_DEVS.iter().enumerate() {
            assert_eq!(c.dev_type as usize, i);
            assert_eq!(c.dev_type.class(), Some(c));
            assert_eq!(dev_type(&c.guid, false), c.dev_type);
            assert_eq!(dev_type(&c.guid, true), DevType::Unknown);
        }
        assert_eq!(DevType::Unknown.class(), None);
    }

    #[test]
    fn classes_as_in_c() {
        assert_eq!(dev_type(&HV_NIC, false) as u16, 3);
        assert_eq!(dev_type(&HV_DM, false) as u16, 15);
        assert!(DevType::Scsi.is_perf() && DevType::Nic.is_perf() && DevType::Ide.is_perf());
        assert!(!DevType::Pcie.is_perf() && !DevType::Kvp.is_perf() && !DevType::Unknown.is_perf());
        assert!(DevType::Nic.allowed_in_isolated() && !DevType::Kvp.allowed_in_isolated());
        assert_eq!(DevType::Fcopy.pref_ring_size(), 0x4000);
        assert_eq!(DevType::Kvp.pref_ring_size(), 0);
        assert_eq!(DevType::Unknown.pref_ring_size(), 0x11000);
        for g in UNSUPPORTED_DEVS {
            assert_eq!(dev_type(&g, false), DevType::Unknown);
        }
        let other = Guid::new("01234567-89ab-cdef-0123-456789abcdef");
        assert_eq!(dev_type(&other, false), DevType::Unknown);
    }
}
