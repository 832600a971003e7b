// SPDX-License-Identifier: GPL-2.0
/*
 * The debugfs file "hv-balloon" of hv_balloon, with the C driver's format
 * (hv_balloon_debug_show()). The kernel crate's debugfs (7.2) creates files only in
 * directories of its own, so the file is made here; the Rust side fills the numbers through a
 * callback (balloon.rs, `debugfs`).
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

/* Mirrors `debugfs::Stats` in balloon.rs. */
struct hvrs_balloon_stats {
	u32 version;
	u32 state;
	u32 pages_added;
	u32 pages_onlined;
	u32 pages_ballooned;
	u64 pages_committed;
	u64 max_dynamic_page_count;
	bool balloon;
	bool hot_add;
};

typedef void (*hvrs_balloon_stats_fn)(const void *ctx, struct hvrs_balloon_stats *st);

struct hvrs_balloon_debugfs {
	struct dentry *dentry;
	const void *ctx;
	hvrs_balloon_stats_fn fill;
};

struct hvrs_balloon_debugfs *hvrs_balloon_debugfs_create(const void *ctx,
							 hvrs_balloon_stats_fn fill);
void hvrs_balloon_debugfs_remove(struct hvrs_balloon_debugfs *d);

static int hv_balloon_debug_show(struct seq_file *f, void *offset)
{
	struct hvrs_balloon_debugfs *d = f->private;
	struct hvrs_balloon_stats st = {};
	const char *sname;

	d->fill(d->ctx, &st);
	seq_printf(f, "%-22s: %u.%u\n", "host_version", st.version >> 16, st.version & 0xff);
	seq_printf(f, "%-22s:", "capabilities");
	if (st.balloon)
		seq_puts(f, " enabled");
	if (st.hot_add)
		seq_puts(f, " hot_add");
	seq_printf(f, "\n%-22s: %u", "state", st.state);
	switch (st.state) {
	case 0:
		sname = "Initializing";
		break;
	case 1:
		sname = "Initialized";
		break;
	case 2:
		sname = "Balloon Up";
		break;
	case 3:
		sname = "Balloon Down";
		break;
	case 4:
		sname = "Hot Add";
		break;
	case 5:
		sname = "Error";
		break;
	default:
		sname = "Unknown";
	}
	seq_printf(f, " (%s)\n", sname);
	seq_printf(f, "%-22s: %ld\n", "page_size", 4096L);
	seq_printf(f, "%-22s: %u\n", "pages_added", st.pages_added);
	seq_printf(f, "%-22s: %u\n", "pages_onlined", st.pages_onlined);
	seq_printf(f, "%-22s: %u\n", "pages_ballooned", st.pages_ballooned);
	seq_printf(f, "%-22s: %lu\n", "total_pages_committed", (unsigned long)st.pages_committed);
	seq_printf(f, "%-22s: %llu\n", "max_dynamic_page_count", st.max_dynamic_page_count);
	return 0;
}

DEFINE_SHOW_ATTRIBUTE(hv_balloon_debug);

/*
 * Creates /sys/kernel/debug/hv-balloon, whose reads call fill(ctx, ...). Returns NULL if it
 * cannot (no memory); a failed debugfs_create_file() is ignored as in C. fill and ctx must stay
 * valid until hvrs_balloon_debugfs_remove(), which waits for reads in progress.
 */
struct hvrs_balloon_debugfs *hvrs_balloon_debugfs_create(const void *ctx,
							 hvrs_balloon_stats_fn fill)
{
	struct hvrs_balloon_debugfs *d = kzalloc(sizeof(*d), GFP_KERNEL);

	if (!d)
		return NULL;
	d->ctx = ctx;
	d->fill = fill;
	d->dentry = debugfs_create_file("hv-balloon", 0444, NULL, d, &hv_balloon_debug_fops);
	return d;
}

void hvrs_balloon_debugfs_remove(struct hvrs_balloon_debugfs *d)
{
	if (!d)
		return;
	debugfs_remove(d->dentry);
	kfree(d);
}
