// SPDX-License-Identifier: GPL-2.0

//! Transaction ids for requests that wait for the host's completion, in place of pointers.
//!
//! C source: [`drivers/hv/channel.c`](srctree/drivers/hv/channel.c) (`struct vmbus_requestor`,
//! `vmbus_next_request_id()`, `vmbus_request_addr()`).
//!
//! A driver puts what it needs to finish a request (a command, a waiter) into a slot and sends
//! the slot's id as the packet's transaction id; the host echoes it in the completion, and the
//! driver takes the slot's content back by the id. The id is the slot index plus one (0 is
//! never used: hosts send unsolicited packets with id 0), so a kernel address never reaches
//! the host, and a completion with an id the driver did not hand out, or handed out and took
//! back already, finds nothing instead of a stale pointer. Freed slots are reused last in,
//! first out, as in C.
//!
//! The table works on storage its user provides (no allocation here); the kernel wrapper adds
//! the storage and a lock.

/// A slot: free (with the index of the next free one) or holding a request.
#[derive(Debug)]
pub enum Slot<T> {
    /// Free; the next free slot's index, or the slot count at the end of the list.
    Free(u32),
    /// Holding a request in flight.
    Used(T),
}

/// The free list over a caller's slots; `slots` must be the same slice for every call.
#[derive(Debug)]
pub struct RequestIds {
    head: u32,
    used: u32,
    size: u32,
}

impl RequestIds {
    /// Links every slot of `slots` into the free list and returns the table; at most
    /// `u32::MAX - 1` slots are used.
    pub fn new<T>(slots: &mut [Slot<T>]) -> RequestIds {
        let size = u32::try_from(slots.len())
            .unwrap_or(u32::MAX - 1)
            .min(u32::MAX - 1);
        for (i, s) in (1u32..).zip(slots.iter_mut()) {
            *s = Slot::Free(i);
        }
        RequestIds {
            head: 0,
            used: 0,
            size,
        }
    }

    /// Puts `value` into a free slot and returns its id (index + 1); gives `value` back if
    /// every slot is in use (C: `VMBUS_RQST_ERROR`).
    pub fn insert<T>(&mut self, slots: &mut [Slot<T>], value: T) -> Result<u64, T> {
        let i = self.head;
        let Some(slot) = slots.get_mut(i as usize).filter(|_| i < self.size) else {
            return Err(value);
        };
        let Slot::Free(next) = *slot else {
            // The list is broken (slots changed under the table): refuse rather than guess.
            return Err(value);
        };
        *slot = Slot::Used(value);
        self.head = next;
        self.used += 1;
        Ok(u64::from(i) + 1)
    }

    /// Takes the request of `id` out and frees its slot; `None` for an id not in use (0, out
    /// of range, never handed out, or taken already).
    pub fn take<T>(&mut self, slots: &mut [Slot<T>], id: u64) -> Option<T> {
        let i = u32::try_from(id.checked_sub(1)?)
            .ok()
            .filter(|i| *i < self.size)?;
        let slot = slots.get_mut(i as usize)?;
        if !matches!(slot, Slot::Used(_)) {
            return None;
        }
        let Slot::Used(value) = core::mem::replace(slot, Slot::Free(self.head)) else {
            return None;
        };
        self.head = i;
        self.used -= 1;
        Some(value)
    }

    /// Returns the request of `id` without taking it, if in use.
    pub fn get<'a, T>(&self, slots: &'a [Slot<T>], id: u64) -> Option<&'a T> {
        let i = u32::try_from(id.checked_sub(1)?)
            .ok()
            .filter(|i| *i < self.size)?;
        match slots.get(i as usize)? {
            Slot::Used(v) => Some(v),
            Slot::Free(_) => None,
        }
    }

    /// Returns the number of requests in flight.
    pub fn len(&self) -> u32 {
        self.used
    }

    /// Returns `true` if no request is in flight.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// Returns the number of slots.
    pub fn capacity(&self) -> u32 {
        self.size
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_rng::Rng;
    use super::*;

    fn table(n: usize) -> ([Slot<u32>; 64], RequestIds) {
        let mut slots: [Slot<u32>; 64] = core::array::from_fn(|_| Slot::Free(0));
        let t = RequestIds::new(&mut slots[..n]);
        (slots, t)
    }

    #[test]
    fn ids_start_at_one_and_fill_the_table() {
        let (mut s, mut t) = table(4);
        let s = &mut s[..4];
        assert_eq!(t.insert(s, 10), Ok(1));
        assert_eq!(t.insert(s, 11), Ok(2));
        assert_eq!(t.insert(s, 12), Ok(3));
        assert_eq!(t.insert(s, 13), Ok(4));
        assert_eq!(t.insert(s, 14), Err(14));
        assert_eq!(t.len(), 4);
        assert_eq!(t.get(s, 3), Some(&12));
        assert_eq!(t.take(s, 3), Some(12));
        // The freed slot is reused first.
        assert_eq!(t.insert(s, 15), Ok(3));
        assert_eq!(t.take(s, 1), Some(10));
        assert_eq!(t.take(s, 4), Some(13));
        assert_eq!(t.insert(s, 16), Ok(4));
        assert_eq!(t.insert(s, 17), Ok(1));
    }

    #[test]
    fn bogus_ids_find_nothing() {
        let (mut s, mut t) = table(4);
        let s = &mut s[..4];
        assert_eq!(t.insert(s, 7), Ok(1));
        for id in [0, 2, 4, 5, 1 << 32, (1 << 32) + 1, u64::MAX] {
            assert_eq!(t.take(s, id), None, "id {id:#x}");
            assert_eq!(t.get(s, id), None, "id {id:#x}");
        }
        assert_eq!(t.take(s, 1), Some(7));
        // Taken twice: the second finds nothing, and the free list is intact.
        assert_eq!(t.take(s, 1), None);
        assert!(t.is_empty());
        for want in 1..=4 {
            assert!(
                t.insert(s, 0).is_ok_and(|id| (1..=4).contains(&id)),
                "{want}"
            );
        }
        assert!(t.insert(s, 0).is_err());
    }

    #[test]
    fn an_empty_table_hands_out_nothing() {
        let (mut s, mut t) = table(0);
        assert_eq!(t.insert(&mut s[..0], 1), Err(1));
        assert_eq!(t.take(&mut s[..0], 1), None);
        assert_eq!(t.capacity(), 0);
    }

    #[test]
    fn random_traffic_matches_a_model() {
        let mut rng = Rng(0x05ee_d1d5);
        let (mut s, mut t) = table(64);
        let mut model: [Option<u32>; 64] = [None; 64];
        for step in 0..20_000u32 {
            if rng.below(3) != 0 {
                match t.insert(&mut s, step) {
                    Ok(id) => {
                        let i = (id - 1) as usize;
                        assert!(model[i].is_none(), "id {id} handed out twice");
                        model[i] = Some(step);
                    }
                    Err(_) => assert!(model.iter().all(Option::is_some)),
                }
            } else {
                let id = rng.below(70) as u64;
                let want = id
                    .checked_sub(1)
                    .and_then(|i| model.get_mut(i as usize))
                    .and_then(Option::take);
                assert_eq!(t.take(&mut s, id), want, "step {step} id {id}");
            }
            assert_eq!(
                t.len() as usize,
                model.iter().filter(|m| m.is_some()).count()
            );
        }
    }
}
