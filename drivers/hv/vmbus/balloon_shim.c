// SPDX-License-Identifier: GPL-2.0
/*
 * C shims of rust/hv/balloon.rs (balloon pages and the memory counters a balloon driver
 * reports), for static inlines and macros Rust cannot call: alloc_pages(), page_pgdat(),
 * __SetPageOffline(), pfn_to_page(), totalram_pages(). The Rust side declares them by hand in
 * rust/hv/balloon.rs; keep the two in sync.
 *
 * The allocation and accounting are those of drivers/hv/hv_balloon.c (alloc_balloon_pages(),
 * free_balloon_pages()).
 */
#include <linux/gfp.h>
#include <linux/memory.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/vmstat.h>

bool hvrs_balloon_alloc_pages(unsigned int order, unsigned long *pfn);
void hvrs_balloon_free_page(unsigned long pfn);
unsigned long hvrs_totalram_pages(void);
unsigned long hvrs_vm_memory_committed(void);
long hvrs_si_mem_available(void);
unsigned long hvrs_memory_block_size_bytes(void);

/*
 * Allocates 2^order pages for the host as hv_balloon does (without trying hard, no warning),
 * splits them into single pages so that they can be given back in any order, marks each one
 * offline and takes it out of the managed pages. Returns false if there is no memory.
 */
bool hvrs_balloon_alloc_pages(unsigned int order, unsigned long *pfn)
{
	unsigned long j, n = 1UL << order;
	struct page *pg;

	pg = alloc_pages(GFP_HIGHUSER | __GFP_NORETRY | __GFP_NOMEMALLOC | __GFP_NOWARN, order);
	if (!pg)
		return false;
	mod_node_page_state(page_pgdat(pg), NR_BALLOON_PAGES, n);
	if (order)
		split_page(pg, order);
	for (j = 0; j < n; j++) {
		__SetPageOffline(pg + j);
		adjust_managed_page_count(pg + j, -1);
	}
	*pfn = page_to_pfn(pg);
	return true;
}

/* Gives back one page of hvrs_balloon_alloc_pages() (free_balloon_pages()). */
void hvrs_balloon_free_page(unsigned long pfn)
{
	struct page *pg = pfn_to_page(pfn);

	__ClearPageOffline(pg);
	__free_page(pg);
	mod_node_page_state(page_pgdat(pg), NR_BALLOON_PAGES, -1);
	adjust_managed_page_count(pg, 1);
}

unsigned long hvrs_totalram_pages(void)
{
	return totalram_pages();
}

unsigned long hvrs_vm_memory_committed(void)
{
	return vm_memory_committed();
}

long hvrs_si_mem_available(void)
{
	return si_mem_available();
}

unsigned long hvrs_memory_block_size_bytes(void)
{
#ifdef CONFIG_MEMORY_HOTPLUG
	return memory_block_size_bytes();
#else
	return 0;
#endif
}
