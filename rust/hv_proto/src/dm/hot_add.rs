// SPDX-License-Identifier: GPL-2.0

//! Memory hot-add bookkeeping of the balloon driver: the hot-add regions, what of them has been
//! added to the kernel and what of that the host backs.
//!
//! C source: [`drivers/hv/hv_balloon.c`](srctree/drivers/hv/hv_balloon.c) (`struct
//! hv_hotadd_state`, `struct hv_hotadd_gap`, `hot_add_req()`, `process_hot_add()`,
//! `pfn_covered()`, `handle_pg_range()`, `hv_mem_hot_add()`, `hv_online_page()`,
//! `hv_page_offline_check()`).
//!
//! A HOT_ADD_REQUEST names pages the host now backs (the *range*) and, from hosts that specify
//! one, a *region* to add to the kernel first; without one the region is the range rounded out
//! to memory blocks (the *chunk*, `memory_block_size_bytes()`). Memory is added a chunk at a
//! time from the region's `ha_end_pfn` on; of the added pages only the *covered* ones
//! (`covered_start_pfn..covered_end_pfn` minus the gaps) are given to the page allocator when
//! the kernel onlines them, the others stay offline until a later request covers them.
//!
//! This module is the sans-I/O part: the kernel glue calls [`HotAddState::begin`], brings the
//! pages of [`HotAddWork::bring_online`] online, then adds each chunk ([`HotAddState::next_chunk`],
//! [`HotAddState::chunk_failed`]) and asks [`HotAddState::finish`] for the answer. It keeps
//! the C driver's arithmetic and answers, with three differences for an untrusted host:
//!
//! - the tables are fixed ([`MAX_REGIONS`], [`MAX_GAPS`]): a host cannot make the guest
//!   allocate without bound; a request that needs a full table fails as C fails when
//!   `kzalloc()` does (no pages, a transient failure);
//! - a request that starts below the covered end of its region (pages already backed) is
//!   refused ([`Refused::AlreadyCovered`]): C moves the covered end backwards and may give pages
//!   to the allocator twice;
//! - a request whose pages or region do not fit in 64 bits of page numbers is refused
//!   ([`Refused::Overflow`]), which cannot happen with the 40-bit wire fields but is checked.

use super::DmMemPageRange;

/// Most hot-add regions kept (C: a list without limit).
pub const MAX_REGIONS: usize = 32;

/// Most gaps kept, all regions together (C: a list per region without limit).
pub const MAX_GAPS: usize = 64;

/// A hot-add region (`struct hv_hotadd_state`); page frame numbers, ends exclusive.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct HaRegion {
    /// First page of the region.
    pub start_pfn: u64,
    /// First page the host backs.
    pub covered_start_pfn: u64,
    /// End of the pages the host backs (the gaps excepted).
    pub covered_end_pfn: u64,
    /// End of the pages added to the kernel (from `start_pfn`, whole chunks).
    pub ha_end_pfn: u64,
    /// End of the region.
    pub end_pfn: u64,
}

/// Pages of a region the host does not back (`struct hv_hotadd_gap`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
struct Gap {
    /// Index of its region.
    region: usize,
    /// First page.
    start_pfn: u64,
    /// End (exclusive).
    end_pfn: u64,
}

/// A hot-add request as the work item sees it (`struct hot_add_wrk`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct HotAddRequest {
    /// The pages the host backs.
    pub range: DmMemPageRange,
    /// The region, when the host specified one (a 24-byte request).
    pub region: Option<DmMemPageRange>,
}

/// Why a request got no pages although hot-add is on, beyond the C driver's reasons.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The request names no pages.
    Empty,
    /// The region table or the gap table is full.
    TableFull,
    /// The request starts below the covered end of its region: the pages are backed already.
    AlreadyCovered,
    /// The page numbers do not fit in 64 bits.
    Overflow,
}

/// What the glue does for a request after [`HotAddState::begin`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct HotAddWork {
    /// Index of the region the pages belong to.
    pub region: usize,
    /// `covered_end_pfn` before the request: [`HotAddState::finish`] answers the difference.
    old_covered_end: u64,
    /// Pages of memory already added that the request now covers and whose section is online:
    /// bring the backed ones online now (start, count), still under the lock.
    pub bring_online: Option<(u64, u64)>,
    /// Chunks to add, from `ha_end_pfn` on (`hv_mem_hot_add()`), if any.
    pub chunks: u64,
    /// Covered pages still to account to the chunks (`pfn_count` of `hv_mem_hot_add()`).
    remaining: u64,
}

/// The outcome of [`HotAddState::begin`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Begin {
    /// Answer now with no pages (C: `process_hot_add()` returns 0 before `handle_pg_range()`,
    /// or `handle_pg_range()` finds no region).
    NoPages(Option<Refused>),
    /// Work to do, then [`HotAddState::finish`].
    Work(HotAddWork),
}

/// One chunk to add (`add_memory()` of `chunk` pages at `start_pfn`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// First page, `ha_end_pfn` before the chunk.
    pub start_pfn: u64,
    /// Covered pages accounted to it (undone by [`HotAddState::chunk_failed`]).
    processed: u64,
}

/// The hot-add state of the driver (the `ha_region_list` of `struct hv_dynmem_device`, its
/// gaps, and `num_pages_added`/`num_pages_onlined`).
#[derive(Clone, Debug)]
pub struct HotAddState {
    /// Pages per chunk, the memory block (`ha_pages_in_chunk`); a power of two.
    chunk: u64,
    regions: [HaRegion; MAX_REGIONS],
    nregions: usize,
    gaps: [Gap; MAX_GAPS],
    ngaps: usize,
    /// Pages the host was told were added (`num_pages_added`).
    pub pages_added: u64,
    /// Covered pages given to the page allocator (`num_pages_onlined`).
    pub pages_onlined: u64,
}

/// Rounds `v` up to a multiple of the power of two `a` (`ALIGN()`), or `None` on overflow.
fn align_up(v: u64, a: u64) -> Option<u64> {
    Some(v.checked_add(a - 1)? & !(a - 1))
}

impl HotAddState {
    /// Returns an empty state for chunks of `chunk_pages` pages (rounded down to a power of
    /// two, at least 1).
    pub fn new(chunk_pages: u64) -> Self {
        let chunk = if chunk_pages == 0 {
            1
        } else {
            1 << chunk_pages.ilog2()
        };
        Self {
            chunk,
            regions: [HaRegion::default(); MAX_REGIONS],
            nregions: 0,
            gaps: [Gap::default(); MAX_GAPS],
            ngaps: 0,
            pages_added: 0,
            pages_onlined: 0,
        }
    }

    /// Pages per chunk.
    pub fn chunk_pages(&self) -> u64 {
        self.chunk
    }

    /// The regions, oldest first.
    pub fn regions(&self) -> &[HaRegion] {
        self.regions.get(..self.nregions).unwrap_or(&[])
    }

    /// Added pages not online (`num_pages_added - num_pages_onlined`, not below 0), which the
    /// status reports count as committed.
    pub fn pages_offline(&self) -> u64 {
        self.pages_added.saturating_sub(self.pages_onlined)
    }

    /// Whether the host backs `pfn` of region `region` (`has_pfn_is_backed()`).
    pub fn is_backed(&self, region: usize, pfn: u64) -> bool {
        let Some(r) = self.regions().get(region) else {
            return false;
        };
        if pfn < r.covered_start_pfn || pfn >= r.covered_end_pfn {
            return false;
        }
        !self.gaps[..self.ngaps]
            .iter()
            .any(|g| g.region == region && pfn >= g.start_pfn && pfn < g.end_pfn)
    }

    /// The region that holds all of `pfn..pfn + count`, which the kernel is onlining
    /// (`hv_online_page()`); `None`: not ours, online them all.
    pub fn region_of_online(&self, pfn: u64, count: u64) -> Option<usize> {
        let end = pfn.checked_add(count)?;
        self.regions()
            .iter()
            .position(|r| pfn >= r.start_pfn && end <= r.end_pfn)
    }

    /// Counts the backed pages of `start..start + count` in regions, which the kernel took
    /// offline (`hv_page_offline_check()`), and takes them off the online count (not below 0,
    /// as C, which warns then).
    pub fn pages_offlined(&mut self, start: u64, count: u64) -> u64 {
        let end = start.saturating_add(count);
        let mut n = 0u64;
        for (i, r) in self.regions().iter().enumerate() {
            let s = start.max(r.start_pfn);
            let e = end.min(r.end_pfn);
            // The pages are counted once even if regions overlap: only the first region
            // holding a page counts it, as C's walk does.
            for pfn in s..e {
                let first = self.regions()[..i]
                    .iter()
                    .any(|o| pfn >= o.start_pfn && pfn < o.end_pfn);
                if !first && self.is_backed(i, pfn) {
                    n += 1;
                }
            }
        }
        self.pages_onlined = self.pages_onlined.saturating_sub(n);
        n
    }

    /// Adds a region, or `None` if the table is full.
    fn push_region(&mut self, r: HaRegion) -> Option<usize> {
        let i = self.nregions;
        *self.regions.get_mut(i)? = r;
        self.nregions += 1;
        Some(i)
    }

    /// Starts a request (`hot_add_req()` with hot-add on, `process_hot_add()` and the first half
    /// of `handle_pg_range()`). `section_online(pfn)` tells whether the memory section of
    /// `pfn` is online (`online_section_nr(pfn_to_section_nr(pfn))`).
    pub fn begin(&mut self, req: HotAddRequest, section_online: impl Fn(u64) -> bool) -> Begin {
        let pg_start = req.range.start_page();
        let pfn_cnt = req.range.page_cnt();
        let host_specified = req.region.is_some();
        let (mut rg_start, mut rg_size) = req
            .region
            .map_or((0, 0), |r| (r.start_page(), r.page_cnt()));
        if rg_start == 0 && !host_specified {
            rg_start = pg_start & !(self.chunk - 1);
            let Some(size) = align_up(pfn_cnt, self.chunk) else {
                return Begin::NoPages(Some(Refused::Overflow));
            };
            rg_size = size;
        }
        if pfn_cnt == 0 {
            return Begin::NoPages(Some(Refused::Empty));
        }
        let (Some(_), Some(rg_end)) =
            (pg_start.checked_add(pfn_cnt), rg_start.checked_add(rg_size))
        else {
            return Begin::NoPages(Some(Refused::Overflow));
        };
        let mut covered = false;
        if !host_specified {
            match self.pfn_covered(pg_start, pfn_cnt) {
                Err(e) => return Begin::NoPages(Some(e)),
                Ok(c) => covered = c,
            }
        }
        if !covered && rg_size != 0 {
            let region = HaRegion {
                start_pfn: rg_start,
                covered_start_pfn: pg_start,
                covered_end_pfn: pg_start,
                ha_end_pfn: rg_start,
                end_pfn: rg_end,
            };
            if self.push_region(region).is_none() {
                return Begin::NoPages(Some(Refused::TableFull));
            }
        }
        self.handle_pg_range(pg_start, pfn_cnt, section_online)
    }

    /// `pfn_covered()`: whether an existing region holds `start_pfn`; if so the pages between
    /// its covered end and `start_pfn` become a gap, and the region grows by whole chunks to
    /// hold the request.
    fn pfn_covered(&mut self, start_pfn: u64, pfn_cnt: u64) -> Result<bool, Refused> {
        let chunk = self.chunk;
        let Some(i) = self
            .regions()
            .iter()
            .position(|r| start_pfn >= r.start_pfn && start_pfn < r.end_pfn)
        else {
            return Ok(false);
        };
        let r = self.regions[i];
        if start_pfn < r.covered_end_pfn {
            return Err(Refused::AlreadyCovered);
        }
        let end = start_pfn.checked_add(pfn_cnt).ok_or(Refused::Overflow)?;
        let new_end = if end > r.end_pfn {
            let grow = align_up(end - r.end_pfn, chunk).ok_or(Refused::Overflow)?;
            r.end_pfn.checked_add(grow).ok_or(Refused::Overflow)?
        } else {
            r.end_pfn
        };
        if r.covered_end_pfn != start_pfn {
            let gap = self.gaps.get_mut(self.ngaps).ok_or(Refused::TableFull)?;
            *gap = Gap {
                region: i,
                start_pfn: r.covered_end_pfn,
                end_pfn: start_pfn,
            };
            self.ngaps += 1;
            self.regions[i].covered_end_pfn = start_pfn;
        }
        self.regions[i].end_pfn = new_end;
        Ok(true)
    }

    /// The first half of `handle_pg_range()`: finds the region, covers the pages already added
    /// and plans the chunks to add.
    fn handle_pg_range(
        &mut self,
        start_pfn: u64,
        mut pfn_cnt: u64,
        section_online: impl Fn(u64) -> bool,
    ) -> Begin {
        let chunk = self.chunk;
        let Some(i) = self
            .regions()
            .iter()
            .position(|r| start_pfn >= r.start_pfn && start_pfn < r.end_pfn)
        else {
            return Begin::NoPages(None);
        };
        let r = &mut self.regions[i];
        let old_covered_end = r.covered_end_pfn;
        let mut bring_online = None;
        if start_pfn < r.ha_end_pfn {
            // Pages of memory already added: they are backed from now on.
            let pgs_ol = (r.ha_end_pfn - start_pfn).min(pfn_cnt);
            r.covered_end_pfn += pgs_ol;
            pfn_cnt -= pgs_ol;
            if start_pfn > r.start_pfn && section_online(start_pfn) {
                bring_online = Some((start_pfn, pgs_ol));
            }
        }
        let mut chunks = 0;
        if r.ha_end_pfn < r.end_pfn && pfn_cnt > 0 {
            let mut size = r.end_pfn - r.ha_end_pfn;
            if pfn_cnt <= size {
                // `pfn_cnt` has 24 bits: no overflow.
                size = align_up(pfn_cnt, chunk).unwrap_or(size);
            } else {
                pfn_cnt = size;
            }
            chunks = size / chunk;
        }
        Begin::Work(HotAddWork {
            region: i,
            old_covered_end,
            bring_online,
            chunks,
            remaining: pfn_cnt,
        })
    }

    /// Accounts the next chunk of `work` before it is added (the locked part of a
    /// `hv_mem_hot_add()` iteration): returns where to add it, or `None` if the page numbers
    /// would overflow.
    pub fn next_chunk(&mut self, work: &mut HotAddWork) -> Option<Chunk> {
        let chunk = self.chunk;
        let r = self.regions.get_mut(work.region)?;
        let start_pfn = r.ha_end_pfn;
        let ha_end = start_pfn.checked_add(chunk)?;
        let processed = work.remaining.min(chunk);
        let covered_end = r.covered_end_pfn.checked_add(processed)?;
        r.ha_end_pfn = ha_end;
        r.covered_end_pfn = covered_end;
        work.remaining -= processed;
        Some(Chunk {
            start_pfn,
            processed,
        })
    }

    /// Undoes [`HotAddState::next_chunk`] after `add_memory()` failed.
    pub fn chunk_failed(&mut self, work: &HotAddWork, chunk: Chunk) {
        let size = self.chunk;
        if let Some(r) = self.regions.get_mut(work.region) {
            r.ha_end_pfn -= size;
            r.covered_end_pfn -= chunk.processed;
        }
    }

    /// Ends a request: the pages it covered (the answer's `page_count`, C's `res`), which are
    /// added to [`HotAddState::pages_added`].
    pub fn finish(&mut self, work: &HotAddWork) -> u64 {
        let n = self.regions().get(work.region).map_or(0, |r| {
            r.covered_end_pfn.saturating_sub(work.old_covered_end)
        });
        self.pages_added = self.pages_added.saturating_add(n);
        n
    }
}

/// The `result` of a hot-add answer (`hot_add_req()`): success if pages were added or hot-add
/// is off (so that the host stops trying), else a transient failure the host may retry.
pub fn hot_add_result(page_count: u64, hot_add_on: bool) -> bool {
    page_count > 0 || !hot_add_on
}

/// The hot-add range and region of a request as numbers, for messages.
pub fn describe(req: &HotAddRequest) -> (u64, u64, Option<(u64, u64)>) {
    (
        req.range.start_page(),
        req.range.page_cnt(),
        req.region.map(|r| (r.start_page(), r.page_cnt())),
    )
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec;
    use std::vec::Vec;

    /// 128 MiB memory blocks, as x86-64 has them below 64 GiB.
    const CHUNK: u64 = 32768;

    fn req(start: u64, cnt: u64, region: Option<(u64, u64)>) -> HotAddRequest {
        HotAddRequest {
            range: DmMemPageRange::new(start, cnt),
            region: region.map(|(s, c)| DmMemPageRange::new(s, c)),
        }
    }

    /// Runs a request to its end; `fail_at` is the index of the chunk whose `add_memory()`
    /// fails. Returns the answer and the chunk starts tried.
    fn run(st: &mut HotAddState, r: HotAddRequest, fail_at: Option<u64>) -> (u64, Vec<u64>) {
        let mut tried = Vec::new();
        match st.begin(r, |_| true) {
            Begin::NoPages(_) => (0, tried),
            Begin::Work(mut w) => {
                for i in 0..w.chunks {
                    let c = st.next_chunk(&mut w).unwrap();
                    tried.push(c.start_pfn);
                    if Some(i) == fail_at {
                        st.chunk_failed(&w, c);
                        break;
                    }
                }
                (st.finish(&w), tried)
            }
        }
    }

    #[test]
    fn qemu_region_of_1g() {
        // QEMU's hv-balloon: region = range, 1 GiB at 4 GiB + 128 MiB.
        let mut st = HotAddState::new(CHUNK);
        let start = 0x108000;
        let (n, tried) = run(&mut st, req(start, 262144, Some((start, 262144))), None);
        assert_eq!(n, 262144);
        assert_eq!(tried, (0..8).map(|i| start + i * CHUNK).collect::<Vec<_>>());
        assert_eq!(st.pages_added, 262144);
        assert!(st.is_backed(0, start));
        assert!(st.is_backed(0, start + 262143));
        assert!(!st.is_backed(0, start + 262144));
        assert_eq!(st.region_of_online(start + CHUNK, CHUNK), Some(0));
        assert_eq!(st.region_of_online(start - 1, 2), None);
    }

    #[test]
    fn misaligned_region_fails_like_c() {
        // The engine's request: add_memory() refuses the misaligned chunk; no pages, and the
        // region stays (as in C).
        let mut st = HotAddState::new(CHUNK);
        let (n, tried) = run(
            &mut st,
            req(0x400100, 512, Some((0x400100, 32768))),
            Some(0),
        );
        assert_eq!((n, tried), (0, vec![0x400100]));
        assert_eq!(st.regions().len(), 1);
        assert_eq!(st.regions()[0].ha_end_pfn, 0x400100);
        assert_eq!(st.regions()[0].covered_end_pfn, 0x400100);
        assert!(!hot_add_result(n, true));
        assert!(hot_add_result(n, false));
    }

    #[test]
    fn partial_success() {
        // Eight chunks, the fifth fails: four chunks' pages are the answer.
        let mut st = HotAddState::new(CHUNK);
        let (n, tried) = run(
            &mut st,
            req(0x40000, 8 * CHUNK, Some((0x40000, 8 * CHUNK))),
            Some(4),
        );
        assert_eq!(n, 4 * CHUNK);
        assert_eq!(tried.len(), 5);
        assert_eq!(st.regions()[0].ha_end_pfn, 0x40000 + 4 * CHUNK);
        assert!(hot_add_result(n, true));
    }

    #[test]
    fn ranges_without_region_cover_step_by_step() {
        let mut st = HotAddState::new(CHUNK);
        let base = 0x50000;
        // Not chunk-aligned and no region: the region is the chunk around it.
        assert_eq!(run(&mut st, req(base, 1000, None), None).0, 1000);
        assert_eq!(
            st.regions()[0],
            HaRegion {
                start_pfn: base,
                covered_start_pfn: base,
                covered_end_pfn: base + 1000,
                ha_end_pfn: base + CHUNK,
                end_pfn: base + CHUNK,
            }
        );
        assert!(!st.is_backed(0, base + 1000));
        // The next pages of the same chunk: covered now, nothing added.
        match st.begin(req(base + 1000, 500, None), |_| true) {
            Begin::Work(w) => {
                assert_eq!(w.bring_online, Some((base + 1000, 500)));
                assert_eq!(w.chunks, 0);
                assert_eq!(st.finish(&w), 500);
            }
            b => panic!("{b:?}"),
        }
        // A jump leaves a gap that stays unbacked.
        assert_eq!(run(&mut st, req(base + 2000, 100, None), None).0, 100);
        assert!(!st.is_backed(0, base + 1700));
        assert!(st.is_backed(0, base + 2050));
        // Backwards: refused, nothing changes.
        let before = st.clone().regions()[0];
        assert_eq!(
            st.begin(req(base + 10, 5, None), |_| true),
            Begin::NoPages(Some(Refused::AlreadyCovered))
        );
        assert_eq!(st.regions()[0], before);
        // Past the end: the region grows by whole chunks and the chunk is added.
        let (n, tried) = run(&mut st, req(base + 2100, CHUNK, None), None);
        assert_eq!(n, CHUNK);
        assert_eq!(tried, vec![base + CHUNK]);
        assert_eq!(st.regions()[0].end_pfn, base + 2 * CHUNK);
        assert_eq!(st.regions().len(), 1);
        assert_eq!(st.pages_added, 1000 + 500 + 100 + CHUNK);
    }

    #[test]
    fn section_offline_brings_nothing_online() {
        let mut st = HotAddState::new(CHUNK);
        run(&mut st, req(0x50000, 10, None), None);
        match st.begin(req(0x50000 + 10, 10, None), |_| false) {
            Begin::Work(w) => assert_eq!(w.bring_online, None),
            b => panic!("{b:?}"),
        }
    }

    #[test]
    fn bounded_tables() {
        let mut st = HotAddState::new(CHUNK);
        for i in 0..MAX_REGIONS as u64 {
            let s = 0x100000 + i * CHUNK;
            assert!(matches!(
                st.begin(req(s, 1, Some((s, CHUNK))), |_| true),
                Begin::Work(_)
            ));
        }
        assert_eq!(
            st.begin(req(0x900000, 1, Some((0x900000, CHUNK))), |_| true),
            Begin::NoPages(Some(Refused::TableFull))
        );
        let mut st = HotAddState::new(CHUNK);
        run(&mut st, req(0x50000, 1, None), None);
        for i in 0..MAX_GAPS as u64 {
            assert_eq!(run(&mut st, req(0x50000 + 2 + 2 * i, 1, None), None).0, 1);
        }
        assert_eq!(
            st.begin(req(0x50000 + 2 + 2 * MAX_GAPS as u64, 1, None), |_| true),
            Begin::NoPages(Some(Refused::TableFull))
        );
    }

    #[test]
    fn empty_and_outside() {
        let mut st = HotAddState::new(CHUNK);
        assert_eq!(
            st.begin(req(0x50000, 0, None), |_| true),
            Begin::NoPages(Some(Refused::Empty))
        );
        // A host region that does not hold the range: the region is kept, no pages (C).
        assert_eq!(
            st.begin(req(0x90000, 8, Some((0x50000, CHUNK))), |_| true),
            Begin::NoPages(None)
        );
        // Largest wire values do not overflow.
        let m = DmMemPageRange::MAX_START_PAGE;
        let c = DmMemPageRange::MAX_PAGE_CNT;
        assert!(matches!(
            st.begin(req(m, c, None), |_| true),
            Begin::Work(_)
        ));
    }

    #[test]
    fn offlining_counts_backed_pages() {
        let mut st = HotAddState::new(CHUNK);
        run(&mut st, req(0x50000, 1000, None), None);
        st.pages_onlined = 1000;
        assert_eq!(st.pages_offlined(0x50000, CHUNK), 1000);
        assert_eq!(st.pages_onlined, 0);
        assert_eq!(st.pages_offline(), 1000);
        // Boot memory is not counted, and the count does not wrap.
        assert_eq!(st.pages_offlined(0, 0x50000), 0);
        assert_eq!(st.pages_offlined(0x50000, CHUNK), 1000);
        assert_eq!(st.pages_onlined, 0);
    }

    #[test]
    fn chunk_is_a_power_of_two() {
        assert_eq!(HotAddState::new(0).chunk_pages(), 1);
        assert_eq!(HotAddState::new(40000).chunk_pages(), 32768);
    }
}
