// SPDX-License-Identifier: GPL-2.0

//! The CPU a performance channel's interrupts go to, as the C driver spreads them.
//!
//! C source: [`drivers/hv/channel_mgmt.c`](srctree/drivers/hv/channel_mgmt.c)
//! (`init_vp_index()`, `hv_cpuself_used()`, `next_numa_node_id`, `hv_numa_map`).
//!
//! Each performance channel (storage, network) takes the next NUMA node in turn that has a CPU
//! it may target, and in it the first such CPU that holds no performance channel yet; once
//! every CPU of the node holds one, the node's map is cleared and the round starts over. A
//! subchannel whose index is below the number of online CPUs tries again, for up to that many
//! rounds, when the CPU is already used by its primary channel or a sibling. The kernel side
//! supplies the topology ([`Topology`]); here it is pure logic, tested against several.

/// What the spreading reads of the guest's CPUs.
pub trait Topology {
    /// The number of possible CPUs (the size of the allocation map).
    fn cpus(&self) -> u32;
    /// The number of online CPUs (`num_online_cpus()`).
    fn online(&self) -> u32;
    /// The number of NUMA nodes (`nr_node_ids`).
    fn nodes(&self) -> u32;
    /// The node of CPU `cpu` (`cpu_to_node()`).
    fn node_of(&self, cpu: u32) -> u32;
    /// Whether `cpu` is online and may take managed interrupts (housekeeping).
    fn can_target(&self, cpu: u32) -> bool;
}

/// Returns the CPU for a performance channel with subchannel index `sub_index`, updating
/// `allocated` (per CPU: holds a performance channel, the union of C's per-node maps) and
/// `next_node` (C's `next_numa_node_id`); `family_uses(cpu)` says whether the channel's
/// primary channel or a sibling already uses `cpu`. `None` if no CPU may be targeted (the
/// caller then uses the connect CPU, as C does when every CPU is isolated).
pub fn pick_cpu(
    topo: &impl Topology,
    allocated: &mut [bool],
    next_node: &mut u32,
    sub_index: u16,
    family_uses: impl Fn(u32) -> bool,
) -> Option<u32> {
    let cpus = topo
        .cpus()
        .min(u32::try_from(allocated.len()).unwrap_or(u32::MAX));
    let ncpu = topo.online();
    let in_node = |cpu: u32, node: u32| topo.can_target(cpu) && topo.node_of(cpu) == node;
    let mut target = None;
    for round in 1..=ncpu.saturating_add(1) {
        // The next node with a CPU to target; every node is visited at most once.
        let mut node = None;
        for _ in 0..=topo.nodes() {
            let n = *next_node;
            *next_node = n.wrapping_add(1);
            if n >= topo.nodes() {
                *next_node = 0;
                continue;
            }
            if (0..cpus).any(|cpu| in_node(cpu, n)) {
                node = Some(n);
                break;
            }
        }
        let node = node?;
        let free = |allocated: &[bool]| {
            (0..cpus).find(|&cpu| in_node(cpu, node) && !allocated[cpu as usize])
        };
        let cpu = match free(allocated) {
            Some(cpu) => cpu,
            None => {
                // Every CPU of the node holds a performance channel: clear its map.
                for cpu in 0..cpus {
                    if topo.node_of(cpu) == node {
                        allocated[cpu as usize] = false;
                    }
                }
                free(allocated)?
            }
        };
        allocated[cpu as usize] = true;
        target = Some(cpu);
        if u32::from(sub_index) >= ncpu || round > ncpu || !family_uses(cpu) {
            break;
        }
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CPUs with their node; `None` for an offline or isolated CPU.
    struct Topo(&'static [Option<u32>], u32);

    impl Topology for Topo {
        fn cpus(&self) -> u32 {
            self.0.len() as u32
        }
        fn online(&self) -> u32 {
            self.0.iter().filter(|n| n.is_some()).count() as u32
        }
        fn nodes(&self) -> u32 {
            self.1
        }
        fn node_of(&self, cpu: u32) -> u32 {
            self.0[cpu as usize].unwrap_or(u32::MAX)
        }
        fn can_target(&self, cpu: u32) -> bool {
            self.0[cpu as usize].is_some()
        }
    }

    fn primaries(topo: &Topo, n: usize) -> ([bool; 8], u32, [u32; 8]) {
        let mut allocated = [false; 8];
        let mut next = 0;
        let mut got = [u32::MAX; 8];
        for g in got.iter_mut().take(n) {
            *g = pick_cpu(topo, &mut allocated[..topo.0.len()], &mut next, 0, |_| {
                false
            })
            .unwrap();
        }
        (allocated, next, got)
    }

    #[test]
    fn one_node_takes_the_cpus_in_order_then_starts_over() {
        let topo = Topo(&[Some(0), Some(0), Some(0)], 1);
        let (_, _, got) = primaries(&topo, 5);
        assert_eq!(&got[..5], &[0, 1, 2, 0, 1]);
    }

    #[test]
    fn two_nodes_take_turns() {
        let topo = Topo(&[Some(0), Some(0), Some(1), Some(1)], 2);
        let (_, next, got) = primaries(&topo, 6);
        assert_eq!(&got[..6], &[0, 2, 1, 3, 0, 2]);
        // As C, the counter wraps when it is next read.
        assert_eq!(next, 2);
    }

    #[test]
    fn a_node_without_a_cpu_to_target_is_skipped() {
        // Node 1's only CPU is isolated; node 2 has none at all.
        let topo = Topo(&[Some(0), None, Some(0), Some(3)], 4);
        let (_, _, got) = primaries(&topo, 4);
        assert_eq!(&got[..4], &[0, 3, 2, 3]);
    }

    #[test]
    fn no_cpu_to_target_gives_none() {
        let topo = Topo(&[None, None], 1);
        let mut allocated = [false; 2];
        let mut next = 0;
        assert_eq!(
            pick_cpu(&topo, &mut allocated, &mut next, 0, |_| false),
            None
        );
    }

    #[test]
    fn subchannels_avoid_their_family_while_they_can() {
        let topo = Topo(&[Some(0), Some(0), Some(0), Some(0)], 1);
        let mut allocated = [false; 4];
        let mut next = 0;
        // The primary on 0, then another device's channel on 1.
        assert_eq!(
            pick_cpu(&topo, &mut allocated, &mut next, 0, |_| false),
            Some(0)
        );
        assert_eq!(
            pick_cpu(&topo, &mut allocated, &mut next, 0, |_| false),
            Some(1)
        );
        // A subchannel of the first: 2 is free and not the family's.
        let family = [0u32];
        let uses = |cpu: u32| family.contains(&cpu);
        assert_eq!(pick_cpu(&topo, &mut allocated, &mut next, 1, uses), Some(2));
        // Its sibling: 3, then the map starts over at 0, which the family uses, so 1.
        let family = [0u32, 2];
        let uses = |cpu: u32| family.contains(&cpu);
        assert_eq!(pick_cpu(&topo, &mut allocated, &mut next, 2, uses), Some(3));
        let family = [0u32, 2, 3];
        let uses = |cpu: u32| family.contains(&cpu);
        assert_eq!(pick_cpu(&topo, &mut allocated, &mut next, 3, uses), Some(1));
        // An index at or above the online CPUs takes the next free CPU, used or not.
        assert_eq!(
            pick_cpu(&topo, &mut allocated, &mut next, 4, |_| true),
            Some(2)
        );
    }

    #[test]
    fn a_family_on_every_cpu_stops_after_the_rounds() {
        let topo = Topo(&[Some(0), Some(0)], 1);
        let mut allocated = [false; 2];
        let mut next = 0;
        let got = pick_cpu(&topo, &mut allocated, &mut next, 1, |_| true);
        assert!(got.is_some());
    }
}
