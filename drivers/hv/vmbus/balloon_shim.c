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

/*
 * Memory hot-add (drivers/hv/hv_balloon.c: hv_mem_hot_add(), hv_online_page(),
 * hv_memory_notifier()). One user at a time, as the kernel allows one online-page callback:
 * hvrs_hotplug_register() installs the caller's two callbacks with their context, which stays
 * valid until hvrs_hotplug_unregister() returns. restore_online_page_callback() and
 * unregister_memory_notifier() wait for the onlining or notifier call in progress, so neither
 * callback runs after that. The functions that generic Rust code of rust/hv/balloon.rs calls
 * (monomorphized in hv_balloon.ko) are exported.
 */
#include <linux/export.h>
#include <linux/memory_hotplug.h>
#include <linux/mmzone.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/page-flags.h>
#include <linux/pfn.h>

/* Events for the notifier callback (our numbering, not the kernel's). */
#define HVRS_MEM_ONLINE 1		/* MEM_ONLINE */
#define HVRS_MEM_OFFLINE 2		/* MEM_OFFLINE */
#define HVRS_MEM_CANCEL_ONLINE 3	/* MEM_CANCEL_ONLINE */

typedef void (*hvrs_online_fn)(const void *ctx, unsigned long pfn, unsigned int order);
typedef void (*hvrs_event_fn)(const void *ctx, int event, unsigned long start_pfn,
			      unsigned long nr_pages);

int hvrs_hotplug_register(const void *ctx, hvrs_online_fn online, hvrs_event_fn event);
void hvrs_hotplug_unregister(void);
int hvrs_add_memory(unsigned long start_pfn, unsigned long nr_pages);
void hvrs_online_pages(unsigned long pfn, unsigned int order);
bool hvrs_online_offline_page(unsigned long pfn);
void hvrs_keep_page_offline(unsigned long pfn);
bool hvrs_pfn_section_online(unsigned long pfn);

static DEFINE_MUTEX(hvrs_hotplug_lock);
static const void *hvrs_hotplug_ctx;
static hvrs_online_fn hvrs_hotplug_online;
static hvrs_event_fn hvrs_hotplug_event;

static void hvrs_online_page_cb(struct page *pg, unsigned int order)
{
	hvrs_hotplug_online(hvrs_hotplug_ctx, page_to_pfn(pg), order);
}

static int hvrs_memory_notifier(struct notifier_block *nb, unsigned long val, void *v)
{
	struct memory_notify *mem = v;

	switch (val) {
	case MEM_ONLINE:
		hvrs_hotplug_event(hvrs_hotplug_ctx, HVRS_MEM_ONLINE, mem->start_pfn, mem->nr_pages);
		break;
	case MEM_CANCEL_ONLINE:
		hvrs_hotplug_event(hvrs_hotplug_ctx, HVRS_MEM_CANCEL_ONLINE, mem->start_pfn,
				   mem->nr_pages);
		break;
	case MEM_OFFLINE:
		hvrs_hotplug_event(hvrs_hotplug_ctx, HVRS_MEM_OFFLINE, mem->start_pfn, mem->nr_pages);
		break;
	default:
		break;
	}
	return NOTIFY_OK;
}

static struct notifier_block hvrs_memory_nb = {
	.notifier_call = hvrs_memory_notifier,
	.priority = 0,
};

/* -EBUSY if registered already, or the error of set_online_page_callback() and friends. */
int hvrs_hotplug_register(const void *ctx, hvrs_online_fn online, hvrs_event_fn event)
{
	int ret;

	guard(mutex)(&hvrs_hotplug_lock);
	if (hvrs_hotplug_ctx)
		return -EBUSY;
	hvrs_hotplug_ctx = ctx;
	hvrs_hotplug_online = online;
	hvrs_hotplug_event = event;
	ret = register_memory_notifier(&hvrs_memory_nb);
	if (ret)
		goto clear;
	ret = set_online_page_callback(hvrs_online_page_cb);
	if (ret) {
		unregister_memory_notifier(&hvrs_memory_nb);
		goto clear;
	}
	return 0;
clear:
	hvrs_hotplug_ctx = NULL;
	return ret;
}
EXPORT_SYMBOL_GPL(hvrs_hotplug_register);

void hvrs_hotplug_unregister(void)
{
	guard(mutex)(&hvrs_hotplug_lock);
	if (!hvrs_hotplug_ctx)
		return;
	restore_online_page_callback(hvrs_online_page_cb);
	unregister_memory_notifier(&hvrs_memory_nb);
	hvrs_hotplug_ctx = NULL;
}
EXPORT_SYMBOL_GPL(hvrs_hotplug_unregister);

/* add_memory() of whole memory blocks (hv_mem_hot_add()); 0 or a negative errno. */
int hvrs_add_memory(unsigned long start_pfn, unsigned long nr_pages)
{
	u64 start = PFN_PHYS(start_pfn);

	return add_memory(memory_add_physaddr_to_nid(start), start, PFN_PHYS(nr_pages),
			  MHP_MERGE_RESOURCE);
}

/* The default onlining of 2^order pages the kernel is onlining (generic_online_page()). */
void hvrs_online_pages(unsigned long pfn, unsigned int order)
{
	generic_online_page(pfn_to_page(pfn), order);
}
EXPORT_SYMBOL_GPL(hvrs_online_pages);

/*
 * hv_page_online_one() for a backed page: gives an offline page of present memory to the page
 * allocator; false if the page was not offline.
 */
bool hvrs_online_offline_page(unsigned long pfn)
{
	struct page *pg = pfn_to_page(pfn);

	if (!PageOffline(pg))
		return false;
	generic_online_page(pg, 0);
	return true;
}
EXPORT_SYMBOL_GPL(hvrs_online_offline_page);

/* hv_page_online_one() for a page the host does not back: it stays offline. */
void hvrs_keep_page_offline(unsigned long pfn)
{
	struct page *pg = pfn_to_page(pfn);

	if (!PageOffline(pg))
		__SetPageOffline(pg);
}
EXPORT_SYMBOL_GPL(hvrs_keep_page_offline);

/* online_section_nr(pfn_to_section_nr(pfn)), which handle_pg_range() checks. */
bool hvrs_pfn_section_online(unsigned long pfn)
{
	return online_section_nr(pfn_to_section_nr(pfn));
}

/*
 * Free page reporting (drivers/hv/hv_balloon.c: enable_page_reporting(), hv_free_page_report(),
 * disable_page_reporting()). One user at a time, as the kernel allows one page_reporting device:
 * hvrs_page_reporting_register() installs the caller's report callback with its context, valid
 * until hvrs_page_reporting_unregister() returns (page_reporting_unregister() waits for the
 * report in progress). The callback gets each free range as (page frame number, bytes) and
 * calls hvrs_cold_discard_hint() with the encoded ranges.
 */
#include <linux/hyperv.h>
#include <linux/page_reporting.h>
#include <linux/scatterlist.h>
#include <asm/mshyperv.h>

/* mm/page_reporting.h is internal; hv_balloon.c declares it the same way. */
extern unsigned int page_reporting_order;

typedef int (*hvrs_report_fn)(const void *ctx, const unsigned long *pfns,
			      const unsigned long *lens, unsigned int n);

bool hvrs_cold_discard_hint_supported(void);
int hvrs_page_reporting_register(const void *ctx, hvrs_report_fn report);
void hvrs_page_reporting_unregister(void);
unsigned int hvrs_page_reporting_order(void);
unsigned int hvrs_page_reporting_order_pageblock(void);
int hvrs_cold_discard_hint(const u64 *ranges, unsigned int n, u64 *status);

static DEFINE_MUTEX(hvrs_pr_lock);
static struct page_reporting_dev_info hvrs_pr_info;
static const void *hvrs_pr_ctx;
static hvrs_report_fn hvrs_pr_report;

static int hvrs_page_report(struct page_reporting_dev_info *info, struct scatterlist *sgl,
			    unsigned int nents)
{
	unsigned long pfns[PAGE_REPORTING_CAPACITY], lens[PAGE_REPORTING_CAPACITY];
	struct scatterlist *sg;
	unsigned int i;

	if (WARN_ON_ONCE(nents > PAGE_REPORTING_CAPACITY))
		return -EINVAL;
	for_each_sg(sgl, sg, nents, i) {
		pfns[i] = page_to_pfn(sg_page(sg));
		lens[i] = sg->length;
	}
	return hvrs_pr_report(hvrs_pr_ctx, pfns, lens, nents);
}

/* Whether the hypervisor takes cold-discard hints (an extended capability). */
bool hvrs_cold_discard_hint_supported(void)
{
	return hv_query_ext_cap(HV_EXT_CAPABILITY_MEMORY_COLD_DISCARD_HINT);
}

/* page_reporting_register() with the order left to page_reporting_order; -EBUSY if ours is set. */
int hvrs_page_reporting_register(const void *ctx, hvrs_report_fn report)
{
	int ret;

	BUILD_BUG_ON(PAGE_REPORTING_CAPACITY > HV_MEMORY_HINT_MAX_GPA_PAGE_RANGES);
	guard(mutex)(&hvrs_pr_lock);
	if (hvrs_pr_ctx)
		return -EBUSY;
	hvrs_pr_ctx = ctx;
	hvrs_pr_report = report;
	hvrs_pr_info.report = hvrs_page_report;
	hvrs_pr_info.order = PAGE_REPORTING_ORDER_UNSPECIFIED;
	ret = page_reporting_register(&hvrs_pr_info);
	if (ret)
		hvrs_pr_ctx = NULL;
	return ret;
}
EXPORT_SYMBOL_GPL(hvrs_page_reporting_register);

void hvrs_page_reporting_unregister(void)
{
	guard(mutex)(&hvrs_pr_lock);
	if (!hvrs_pr_ctx)
		return;
	page_reporting_unregister(&hvrs_pr_info);
	hvrs_pr_ctx = NULL;
}
EXPORT_SYMBOL_GPL(hvrs_page_reporting_unregister);

unsigned int hvrs_page_reporting_order(void)
{
	return READ_ONCE(page_reporting_order);
}

/* The hypervisor takes no order below 9: report whole pageblocks from now on (as C). */
unsigned int hvrs_page_reporting_order_pageblock(void)
{
	WRITE_ONCE(page_reporting_order, pageblock_order);
	return pageblock_order;
}

/*
 * HvExtCallMemoryHeatHint with COLD_DISCARD for n encoded ranges, from this CPU's hypercall
 * input page with interrupts off. -ENOSPC without an input page, else 0 and the hypercall's
 * status in *status.
 */
int hvrs_cold_discard_hint(const u64 *ranges, unsigned int n, u64 *status)
{
	struct hv_memory_hint *hint;
	unsigned long flags;

	if (n > HV_MEMORY_HINT_MAX_GPA_PAGE_RANGES)
		return -EINVAL;
	local_irq_save(flags);
	hint = *this_cpu_ptr(hyperv_pcpu_input_arg);
	if (!hint) {
		local_irq_restore(flags);
		return -ENOSPC;
	}
	hint->heat_type = HV_EXTMEM_HEAT_HINT_COLD_DISCARD;
	hint->reserved = 0;
	memcpy(hint->ranges, ranges, n * sizeof(u64));
	*status = hv_do_rep_hypercall(HV_EXT_CALL_MEMORY_HEAT_HINT, n, 0, hint, NULL);
	local_irq_restore(flags);
	return 0;
}
