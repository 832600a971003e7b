// SPDX-License-Identifier: GPL-2.0
/*
 * C shims for the static inlines, macros and variables of the kernel's Hyper-V, CPU-hotplug and
 * workqueue headers that Rust cannot reach directly. Each is a short forwarder; the logic stays in
 * Rust (rust/hv), which declares these functions by hand (the kernel's bindings crate cannot be
 * extended out of tree).
 */
#include <linux/build_bug.h>
#include <linux/completion.h>
#include <linux/cpuhotplug.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/gfp.h>
#include <linux/hyperv.h>
#include <linux/io.h>
#include <linux/irqflags.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/ptp_clock_kernel.h>
#include <linux/sched/isolation.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <asm/irq_vectors.h>
#include <asm/mshyperv.h>
#include <clocksource/hyperv_timer.h>

#include "vmbus_shim.h"

/*
 * The Rust side (rust/hv_proto/src/synic.rs) spells out the architectural MSR numbers of the
 * SynIC; `hv_get_msr()`/`hv_set_msr()` take the same numbers on x86.
 */
static_assert(HV_MSR_SCONTROL == 0x40000080);
static_assert(HV_MSR_SIEFP == 0x40000082);
static_assert(HV_MSR_SIMP == 0x40000083);
static_assert(HV_MSR_EOM == 0x40000084);
static_assert(HV_MSR_SINT0 == 0x40000090);
static_assert(HV_HYP_PAGE_SIZE == PAGE_SIZE);

/*
 * The C driver's `max_version` parameter, with its permissions (0444, so it shows under
 * /sys/module/hv_vmbus/parameters/, which Rust `module!` parameters do not in 7.2).
 */
static uint max_version = VERSION_WIN10_V6_0;
module_param(max_version, uint, 0444);
MODULE_PARM_DESC(max_version,
		 "Maximal VMBus protocol version which can be negotiated");

u32 hvrs_max_version(void)
{
	return max_version;
}

/* `hv_is_hyperv_initialized()` is an exported function on x86, a static inline elsewhere. */
bool hvrs_is_hyperv_initialized(void)
{
	return hv_is_hyperv_initialized();
}

bool hvrs_is_root_partition(void)
{
	return hv_root_partition();
}

bool hvrs_nested(void)
{
	return hv_nested;
}

bool hvrs_paravisor_present(void)
{
	return ms_hyperv.paravisor_present;
}

bool hvrs_isolation_supported(void)
{
	return hv_is_isolation_supported();
}

bool hvrs_confidential_vmbus_available(void)
{
	return ms_hyperv.confidential_vmbus_available;
}

u8 hvrs_vtl(void)
{
	return ms_hyperv.vtl;
}

bool hvrs_recommend_using_aeoi(void)
{
	return hv_recommend_using_aeoi();
}

u32 hvrs_vp_index(unsigned int cpu)
{
	return hv_cpu_number_to_vp_number(cpu);
}

/*
 * Whether `cpu` may take a channel's interrupts (`vmbus_channel_set_cpu()`): a valid CPU
 * number, a housekeeping CPU for managed interrupts, and online.
 */
/* cpu_to_node() of a possible CPU, nr_node_ids, num_online_cpus(): init_vp_index()'s view. */
unsigned int hvrs_cpu_to_node(unsigned int cpu)
{
	int node = cpu < nr_cpu_ids ? cpu_to_node(cpu) : NUMA_NO_NODE;

	return node < 0 ? UINT_MAX : node;
}

unsigned int hvrs_nr_node_ids(void)
{
	return nr_node_ids;
}

unsigned int hvrs_num_online_cpus(void)
{
	return num_online_cpus();
}

bool hvrs_cpu_can_target(unsigned int cpu)
{
	return cpu < nr_cpumask_bits &&
	       cpumask_test_cpu(cpu, housekeeping_cpumask(HK_TYPE_MANAGED_IRQ)) &&
	       cpu_online(cpu);
}

/* `device_match_driver_override()`: 1 match, 0 overridden to another driver, -1 no override. */
int hvrs_device_match_driver_override(void *dev, const void *drv)
{
	return device_match_driver_override(dev, drv);
}

u8 hvrs_callback_vector(void)
{
	return HYPERVISOR_CALLBACK_VECTOR;
}

/*
 * A slow hypercall with `len` bytes of input and no output: the input is copied into this CPU's
 * hypercall input page (`hyperv_pcpu_input_arg`, page-aligned and physically contiguous, as the
 * hypervisor requires) with interrupts off, as `hv_post_message()` does.
 */
u64 hvrs_hypercall(u64 control, const void *input, size_t len)
{
	unsigned long flags;
	void *page;
	u64 status;

	if (len > HV_HYP_PAGE_SIZE)
		return HV_STATUS_INVALID_PARAMETER;

	local_irq_save(flags);
	page = *this_cpu_ptr(hyperv_pcpu_input_arg);
	memcpy(page, input, len);
	status = hv_do_hypercall(control, page, NULL);
	local_irq_restore(flags);
	return status;
}

/* A fast hypercall with 8 bytes of input in a register; `control` has the fast bit set. */
u64 hvrs_fast_hypercall8(u64 control, u64 input)
{
	return _hv_do_fast_hypercall8(control, input);
}

void *hvrs_alloc_zeroed_page(void)
{
	return (void *)get_zeroed_page(GFP_KERNEL);
}

void hvrs_free_page(void *addr)
{
	free_page((unsigned long)addr);
}

u64 hvrs_virt_to_phys(const void *addr)
{
	return virt_to_phys((void *)addr);
}

/*
 * A dynamic CPU-hotplug state in the AP online section: `startup` runs on each online CPU now and
 * on every CPU that comes online, `teardown` on each CPU that goes offline, both on that CPU.
 * Returns the state (> 0) or a negative errno.
 */
int hvrs_cpuhp_setup(const char *name, int (*startup)(unsigned int cpu),
		     int (*teardown)(unsigned int cpu))
{
	return cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, name, startup, teardown);
}

/* Runs `teardown` on each online CPU, then frees the state. */
void hvrs_cpuhp_remove(int state)
{
	cpuhp_remove_state(state);
}

/* Memory shared with the host: zeroed, page-aligned, virtually contiguous. */
void *hvrs_vzalloc(size_t size)
{
	return vzalloc(size);
}

/* The barriers of the ring buffer protocol (`virt_mb()`, `virt_rmb()`): SMP barriers even on UP. */
void hvrs_virt_mb(void)
{
	virt_mb();
}

void hvrs_virt_rmb(void)
{
	virt_rmb();
}

/* reinit_completion() is static inline; exported, as callers may be inlined into drivers. */
void hvrs_reinit_completion(void *x)
{
	reinit_completion(x);
}
EXPORT_SYMBOL_GPL(hvrs_reinit_completion);

/*
 * vmbus_isr() runs at hard IRQ level, never force-threaded, and may take a spinlock_t (a
 * channel handler in HV_CALL_ISR mode wakes up a wait queue): tell lockdep, as the C
 * vmbus_isr() does on non-PREEMPT_RT kernels.
 */
static DEFINE_WAIT_OVERRIDE_MAP(hvrs_vmbus_isr_map, LD_WAIT_CONFIG);

void hvrs_isr_wait_override_begin(void)
{
	lock_map_acquire_try(&hvrs_vmbus_isr_map);
}

void hvrs_isr_wait_override_end(void)
{
	lock_map_release(&hvrs_vmbus_isr_map);
}

unsigned long hvrs_spin_lock_irqsave(void *lock)
{
	unsigned long flags;

	spin_lock_irqsave(lock, flags);
	return flags;
}
EXPORT_SYMBOL_GPL(hvrs_spin_lock_irqsave);

void hvrs_spin_unlock_irqrestore(void *lock, unsigned long flags)
{
	spin_unlock_irqrestore(lock, flags);
}
EXPORT_SYMBOL_GPL(hvrs_spin_unlock_irqrestore);

struct workqueue_struct *hvrs_alloc_ordered_workqueue(const char *name)
{
	return alloc_ordered_workqueue("%s", WQ_MEM_RECLAIM, name);
}

/*
 * A PTP clock whose only operation is reading it (`gettime64`), the others answering
 * -EOPNOTSUPP, as hv_utils' `ptp_hyperv_info`. The Rust side (rust/hv/ptp.rs) supplies the
 * callback and its context; `struct ptp_clock_info` is not in the kernel's Rust bindings.
 */
struct hvrs_ptp {
	struct ptp_clock_info info;
	struct ptp_clock *clock;
	int (*gettime)(const void *ctx, struct timespec64 *ts);
	const void *ctx;
};

static int hvrs_ptp_gettime(struct ptp_clock_info *info, struct timespec64 *ts)
{
	struct hvrs_ptp *p = container_of(info, struct hvrs_ptp, info);

	return p->gettime(p->ctx, ts);
}

static int hvrs_ptp_enable(struct ptp_clock_info *info, struct ptp_clock_request *request, int on)
{
	return -EOPNOTSUPP;
}

static int hvrs_ptp_settime(struct ptp_clock_info *info, const struct timespec64 *ts)
{
	return -EOPNOTSUPP;
}

static int hvrs_ptp_adjfine(struct ptp_clock_info *info, long delta)
{
	return -EOPNOTSUPP;
}

static int hvrs_ptp_adjtime(struct ptp_clock_info *info, s64 delta)
{
	return -EOPNOTSUPP;
}

struct hvrs_ptp *hvrs_ptp_register(const char *name, struct module *owner,
				   int (*gettime)(const void *ctx, struct timespec64 *ts),
				   const void *ctx)
{
	struct hvrs_ptp *p = kzalloc(sizeof(*p), GFP_KERNEL);
	struct ptp_clock *clock;

	if (!p)
		return ERR_PTR(-ENOMEM);
	strscpy(p->info.name, name, sizeof(p->info.name));
	p->info.owner = owner;
	p->info.enable = hvrs_ptp_enable;
	p->info.adjtime = hvrs_ptp_adjtime;
	p->info.adjfine = hvrs_ptp_adjfine;
	p->info.gettime64 = hvrs_ptp_gettime;
	p->info.settime64 = hvrs_ptp_settime;
	p->gettime = gettime;
	p->ctx = ctx;
	clock = ptp_clock_register(&p->info, NULL);
	if (IS_ERR_OR_NULL(clock)) {
		kfree(p);
		return clock ? ERR_CAST(clock) : ERR_PTR(-EOPNOTSUPP);
	}
	p->clock = clock;
	return p;
}

int hvrs_ptp_index(const struct hvrs_ptp *p)
{
	return ptp_clock_index(p->clock);
}

/* After this, no `gettime` call runs or starts (the posix clock is a zombie for open files). */
void hvrs_ptp_unregister(struct hvrs_ptp *p)
{
	ptp_clock_unregister(p->clock);
	kfree(p);
}

/* A function pointer set by the Hyper-V clocksource (TSC page or MSR). */
u64 hvrs_read_reference_counter(void)
{
	return hv_read_reference_counter();
}

/*
 * debugfs (drivers/hv/hv_debugfs.c, which C builds with CONFIG_HYPERV_TESTING): for each
 * device, hyperv/<device>/fuzz_test_state (0 or 1) and hyperv/<device>/delay/
 * fuzz_test_buffer_interrupt_delay and fuzz_test_message_delay (microseconds, at most 1000),
 * over the u32 knobs of the device's channel, which the Rust side reads with atomic loads.
 */
static struct dentry *hvrs_debug_root;

static int hvrs_debugfs_delay_get(void *data, u64 *val)
{
	*val = READ_ONCE(*(u32 *)data);
	return 0;
}

static int hvrs_debugfs_delay_set(void *data, u64 val)
{
	if (val > 1000)
		return -EINVAL;
	WRITE_ONCE(*(u32 *)data, val);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(hvrs_debugfs_delay_fops, hvrs_debugfs_delay_get,
			 hvrs_debugfs_delay_set, "%llu\n");

static int hvrs_debugfs_state_set(void *data, u64 val)
{
	if (val > 1)
		return -EINVAL;
	WRITE_ONCE(*(u32 *)data, val);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(hvrs_debugfs_state_fops, hvrs_debugfs_delay_get,
			 hvrs_debugfs_state_set, "%llu\n");

/* hv_debug_init(): the hyperv/ directory, or none (errors are not fatal, as in C). */
void hvrs_debugfs_init(void)
{
	hvrs_debug_root = debugfs_create_dir("hyperv", NULL);
}

/* hv_debug_rm_all_dir() */
void hvrs_debugfs_exit(void)
{
	debugfs_remove_recursive(hvrs_debug_root);
	hvrs_debug_root = NULL;
}

/*
 * hv_debug_add_dev_dir(): hyperv/<device>/ with the three files; returns the directory for
 * hvrs_debugfs_remove(), or NULL. The knobs must outlive the directory.
 */
void *hvrs_debugfs_add_dev(struct device *dev, u32 *state, u32 *interrupt_delay,
			   u32 *message_delay)
{
	struct dentry *root, *delay;

	if (IS_ERR_OR_NULL(hvrs_debug_root))
		return NULL;
	root = debugfs_create_dir(dev_name(dev), hvrs_debug_root);
	if (IS_ERR(root))
		return NULL;
	debugfs_create_file_unsafe("fuzz_test_state", 0644, root, state,
				   &hvrs_debugfs_state_fops);
	delay = debugfs_create_dir("delay", root);
	debugfs_create_file_unsafe("fuzz_test_buffer_interrupt_delay", 0644, delay,
				   interrupt_delay, &hvrs_debugfs_delay_fops);
	debugfs_create_file_unsafe("fuzz_test_message_delay", 0644, delay, message_delay,
				   &hvrs_debugfs_delay_fops);
	return root;
}

/* hv_debug_rm_dev_dir(): afterwards no file of it is being read or written. */
void hvrs_debugfs_remove(void *dir)
{
	debugfs_remove_recursive(dir);
}
