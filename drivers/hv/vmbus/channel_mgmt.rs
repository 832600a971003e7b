// SPDX-License-Identifier: GPL-2.0

//! Channel management: the devices of primary channels, their creation and removal, target
//! CPUs, and the release of relids.
//!
//! C source: `drivers/hv/channel_mgmt.c` (`vmbus_add_channel_work()`, `init_vp_index()`,
//! `vmbus_onoffer_rescind()`, `hv_process_channel_removal()`, `vmbus_free_channels()`).
//!
//! Devices are added and removed on the ordered `hv_pri_chan` workqueue, never on the message
//! worker: a driver's probe may open its channel and wait for the host's answer, which the
//! message worker delivers. Subchannels are added, removed and offered to drivers on a second
//! ordered workqueue, `hv_sub_chan`, as in C: a probe may wait for its subchannels. A relid is released (RELID_RELEASED) after the host rescinded it and
//! the channel's device is gone, when the last reference to the device goes away, as in C.

#![forbid(unsafe_code)]

use kernel::{
    prelude::*,
    sync::{Arc, ArcBorrow},
    workqueue::{impl_has_work, Work, WorkItem},
};

use crate::connection::{Out, Vmbus, CONNECT_CPU};
use crate::hv::{
    self,
    channel::{Channel, ChannelState},
    device::{DeviceOwner, Registration},
};
use crate::proto::cpu::{pick_cpu, Topology};

/// The device of a primary channel; dropping it removes the device.
pub(crate) struct DeviceEntry {
    relid: u32,
    _registration: Registration,
}

/// What the device worker (`hv_pri_chan`) or the subchannel worker (`hv_sub_chan`) does.
pub(crate) enum DeviceOp {
    /// Create the device of a new primary channel.
    Add(Arc<Channel>),
    /// Remove the device of a rescinded channel, then release its relid.
    Remove(u32),
    /// Add a new subchannel to its primary channel and offer it to the bound driver.
    AddSub(Arc<Channel>),
    /// Close and remove a rescinded subchannel, then release its relid.
    RemoveSub(Arc<Channel>),
    /// Offer the subchannels of this primary channel to its driver's new handler.
    Deliver(Arc<Channel>),
}

impl DeviceOp {
    /// Returns `true` if the subchannel worker runs it.
    pub(crate) fn is_subchannel_op(&self) -> bool {
        matches!(
            self,
            Self::AddSub(_) | Self::RemoveSub(_) | Self::Deliver(_)
        )
    }
}

/// A [`DeviceOp`] queued on `hv_pri_chan`.
#[pin_data]
pub(crate) struct DeviceWork {
    pub(crate) vmbus: Arc<Vmbus>,
    pub(crate) op: DeviceOp,
    #[pin]
    pub(crate) work: Work<DeviceWork>,
}

impl_has_work! {
    impl HasWork<Self> for DeviceWork { self.work }
}

impl WorkItem for DeviceWork {
    type Pointer = Pin<KBox<DeviceWork>>;

    fn run(this: Pin<KBox<DeviceWork>>) {
        match &this.op {
            DeviceOp::Add(channel) => this.vmbus.add_device(channel),
            DeviceOp::Remove(relid) => this.vmbus.remove_device(*relid),
            DeviceOp::AddSub(sub) => this.vmbus.add_subchannel(sub),
            DeviceOp::RemoveSub(sub) => this.vmbus.remove_subchannel(sub),
            DeviceOp::Deliver(primary) => primary.deliver_subchannels(),
        }
    }
}

/// Where performance channels go (`hv_numa_map`, `next_numa_node_id`), under the
/// connection's state lock.
pub(crate) struct CpuSpread {
    /// Per CPU: holds a performance channel (the union of C's per-node maps).
    pub(crate) allocated: KVec<bool>,
    /// The node the next performance channel starts looking at.
    next_node: u32,
}

impl CpuSpread {
    /// Returns the state for `cpus` possible CPUs, none allocated.
    pub(crate) fn new(cpus: usize) -> Result<Self> {
        Ok(Self {
            allocated: KVec::from_elem(false, cpus, GFP_KERNEL)?,
            next_node: 0,
        })
    }
}

/// The guest's CPUs as the spreading sees them.
struct KernelTopology {
    cpus: u32,
}

impl Topology for KernelTopology {
    fn cpus(&self) -> u32 {
        self.cpus
    }

    fn online(&self) -> u32 {
        hv::num_online_cpus()
    }

    fn nodes(&self) -> u32 {
        hv::nr_node_ids()
    }

    fn node_of(&self, cpu: u32) -> u32 {
        hv::cpu_to_node(cpu)
    }

    fn can_target(&self, cpu: u32) -> bool {
        hv::cpu_can_target(cpu)
    }
}

/// Picks the CPU a new channel's interrupts go to (`init_vp_index()`).
///
/// Channels of the integration services and other slow devices go to the connect CPU.
/// Performance channels (storage, network) are spread over the NUMA nodes and their CPUs as C
/// spreads them (`hv_proto::cpu::pick_cpu`); `family_uses` says whether the channel's primary
/// channel or a sibling uses a CPU already (`hv_cpuself_used()`).
pub(crate) fn init_vp_index(
    channel: &Channel,
    spread: &mut CpuSpread,
    family_uses: impl Fn(u32) -> bool,
) -> u32 {
    if !channel.dev_type().is_perf() {
        return CONNECT_CPU;
    }
    let topo = KernelTopology {
        cpus: u32::try_from(spread.allocated.len()).unwrap_or(u32::MAX),
    };
    pick_cpu(
        &topo,
        &mut spread.allocated,
        &mut spread.next_node,
        channel.sub_channel_index(),
        family_uses,
    )
    .unwrap_or(CONNECT_CPU)
}

/// Takes channel `relid` out of the table, giving its CPU back (`vmbus_channel_unmap_relid()`,
/// `hv_clear_allocated_cpu()`). Returns the channel.
pub(crate) fn forget(out: &mut Out<'_>, relid: u32) -> Option<Arc<Channel>> {
    let channel = out.vmbus.channels.remove(relid)?;
    if channel.dev_type().is_perf() {
        if let Some(used) = usize::try_from(channel.target_cpu())
            .ok()
            .and_then(|i| out.perf_cpus.allocated.get_mut(i))
        {
            *used = false;
        }
    }
    Some(channel)
}

impl Vmbus {
    /// Creates the device of a new primary channel (`vmbus_add_channel_work()`).
    fn add_device(self: &Arc<Self>, channel: &Arc<Channel>) {
        let relid = channel.relid();
        if channel.is_rescinded() {
            // Rescinded before its device existed: the queued removal releases it.
            return;
        }
        // The C driver's name for "offered, with a device" (`CHANNEL_OPEN_STATE`).
        channel.set_state(ChannelState::Open);
        let owner: Arc<dyn DeviceOwner> = self.clone();
        let registration = match Registration::new(&self.parent, channel.clone(), owner) {
            Ok(r) => r,
            Err(e) => {
                pr_err!(
                    "unable to add child device object (relid {}): {:?}\n",
                    relid,
                    e
                );
                channel.set_state(ChannelState::Offer);
                self.give_back(relid);
                return;
            }
        };
        let mut devices = self.devices.lock();
        if devices
            .push(
                DeviceEntry {
                    relid,
                    _registration: registration,
                },
                GFP_KERNEL,
            )
            .is_err()
        {
            drop(devices);
            pr_err!("unable to add child device object (relid {})\n", relid);
            self.give_back(relid);
        }
    }

    /// Adds a subchannel to its primary channel, with its `channels/<relid>/` directory, and
    /// offers it to the bound driver (`vmbus_add_channel_work()` for a subchannel). One whose
    /// primary channel was rescinded meanwhile is given back.
    fn add_subchannel(self: &Arc<Self>, sub: &Arc<Channel>) {
        let relid = sub.relid();
        if sub.is_rescinded() {
            // The queued `RemoveSub` releases it.
            return;
        }
        let Some(primary) = sub.primary() else {
            return;
        };
        if primary.is_rescinded() {
            pr_warn!(
                "subchannel relid {}: its primary channel (relid {}) is gone; released\n",
                relid,
                primary.relid()
            );
            self.give_back(relid);
            return;
        }
        // The C driver's name for "offered, with a device" (`CHANNEL_OPEN_STATE`).
        sub.set_state(ChannelState::Open);
        if let Err(e) = primary.add_subchannel(sub.clone()) {
            pr_err!("unable to add subchannel (relid {}): {:?}\n", relid, e);
            sub.set_state(ChannelState::Offer);
            self.give_back(relid);
            return;
        }
        primary.deliver_subchannels();
    }

    /// Removes a rescinded subchannel (`vmbus_onoffer_rescind()` of a subchannel): it is
    /// closed if open, its directory goes, the driver is told, and the relid is released. Its
    /// primary channel and device stay.
    fn remove_subchannel(self: &Arc<Self>, sub: &Arc<Channel>) {
        if let Some(primary) = sub.primary() {
            primary.remove_subchannel(sub);
        }
        self.release(sub.relid(), Some(sub));
    }

    /// Removes the device of a rescinded channel (`vmbus_onoffer_rescind()`); its release
    /// releases the relid. A channel without a device is released here.
    fn remove_device(self: &Arc<Self>, relid: u32) {
        let entry = {
            let mut devices = self.devices.lock();
            let i = devices.iter().position(|d| d.relid == relid);
            i.and_then(|i| devices.remove(i).ok())
        };
        match entry {
            // Unregisters the device; `device_released()` follows, now or at its last put.
            Some(entry) => drop(entry),
            None => self.release(relid, None),
        }
    }

    /// Forgets a channel that got no device and gives its offer back to the host.
    fn give_back(self: &Arc<Self>, relid: u32) {
        self.with_conn(|conn, out| {
            forget(out, relid);
            if let Err(e) = conn.drop_offer(relid, out) {
                pr_err!("cannot give back the offer of relid {}: {}\n", relid, e);
            }
        });
    }

    /// Forgets channel `relid` (if it is still `channel`, when given) and, if the host rescinded
    /// it, sends RELID_RELEASED (`hv_process_channel_removal()`).
    fn release(self: &Arc<Self>, relid: u32, channel: Option<&Arc<Channel>>) {
        self.with_conn(|conn, out| {
            let current = out.vmbus.channels.get(relid);
            let current = current.as_ref();
            let same = match (current, channel) {
                (Some(cur), Some(ch)) => Arc::ptr_eq(cur, ch),
                (Some(_), None) => true,
                (None, _) => false,
            };
            let rescinded = match channel {
                Some(ch) => ch.is_rescinded(),
                None => current.is_some_and(|c| c.is_rescinded()),
            };
            if same {
                forget(out, relid);
            }
            if rescinded {
                if let Err(e) = conn.release_relid(relid, out) {
                    pr_err!("cannot release relid {}: {}\n", relid, e);
                }
            }
        });
    }

    /// Removes every device, before the connection is unloaded (`vmbus_free_channels()`).
    ///
    /// From now on offers and rescinds no longer create or remove devices.
    pub(crate) fn remove_devices(self: &Arc<Self>) {
        self.state.lock().removing = true;
        self.device_queue.drain();
        self.sub_queue.drain();
        // Unbinding closes the subchannels of each device first.
        let entries = core::mem::take(&mut *self.devices.lock());
        drop(entries);
    }

    /// Drops every channel, once the connection is unloaded and no message is processed any
    /// more. The channels refer to the connection, so this also breaks that cycle.
    pub(crate) fn clear_channels(&self) {
        // Primary channels and their subchannels refer to each other.
        self.channels.for_each(|c| c.forget_subchannels());
        self.channels.clear();
    }
}

impl DeviceOwner for Vmbus {
    fn device_released(self: ArcBorrow<'_, Self>, channel: &Arc<Channel>) {
        let this: Arc<Vmbus> = self.into();
        this.release(channel.relid(), Some(channel));
        // The device is gone, its subchannels closed and their directories removed: drop the
        // list, so that a host that never rescinds them leaves no reference cycle behind.
        // (Not under the connection's lock: a driver may hold the list's lock while it waits
        // for the host.)
        channel.forget_subchannels();
    }
}
