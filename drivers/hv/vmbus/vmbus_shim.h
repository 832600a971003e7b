/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prototypes of the C shims in vmbus_shim.c. The Rust side declares the same functions by hand
 * in rust/hv/ffi.rs (the kernel's bindings crate cannot be extended out of tree); keep the two in
 * sync.
 */
#ifndef HVRS_VMBUS_SHIM_H
#define HVRS_VMBUS_SHIM_H

#include <linux/types.h>

struct module;
struct timespec64;
struct workqueue_struct;
struct hvrs_ptp;

u32 hvrs_max_version(void);

bool hvrs_is_hyperv_initialized(void);
bool hvrs_is_root_partition(void);
bool hvrs_nested(void);
bool hvrs_paravisor_present(void);
bool hvrs_isolation_supported(void);
bool hvrs_confidential_vmbus_available(void);
u8 hvrs_vtl(void);
bool hvrs_recommend_using_aeoi(void);
u32 hvrs_vp_index(unsigned int cpu);
u8 hvrs_callback_vector(void);
bool hvrs_cpu_can_target(unsigned int cpu);
int hvrs_device_match_driver_override(void *dev, const void *drv);

u64 hvrs_hypercall(u64 control, const void *input, size_t len);
u64 hvrs_fast_hypercall8(u64 control, u64 input);

void *hvrs_alloc_zeroed_page(void);
void hvrs_free_page(void *addr);
u64 hvrs_virt_to_phys(const void *addr);

int hvrs_cpuhp_setup(const char *name, int (*startup)(unsigned int cpu),
		     int (*teardown)(unsigned int cpu));
void hvrs_cpuhp_remove(int state);

struct workqueue_struct *hvrs_alloc_ordered_workqueue(const char *name);

void *hvrs_vzalloc(size_t size);
void hvrs_virt_mb(void);
void hvrs_virt_rmb(void);
void hvrs_reinit_completion(void *x);
void hvrs_isr_wait_override_begin(void);
void hvrs_isr_wait_override_end(void);
unsigned long hvrs_spin_lock_irqsave(void *lock);
void hvrs_spin_unlock_irqrestore(void *lock, unsigned long flags);

struct hvrs_ptp *hvrs_ptp_register(const char *name, struct module *owner,
				   int (*gettime)(const void *ctx, struct timespec64 *ts),
				   const void *ctx);
int hvrs_ptp_index(const struct hvrs_ptp *p);
void hvrs_ptp_unregister(struct hvrs_ptp *p);
u64 hvrs_read_reference_counter(void);

unsigned int hvrs_cpu_to_node(unsigned int cpu);
unsigned int hvrs_nr_node_ids(void);
unsigned int hvrs_num_online_cpus(void);

struct device;
void hvrs_debugfs_init(void);
void hvrs_debugfs_exit(void);
void *hvrs_debugfs_add_dev(struct device *dev, u32 *state, u32 *interrupt_delay,
			   u32 *message_delay);
void hvrs_debugfs_remove(void *dir);

#endif /* HVRS_VMBUS_SHIM_H */
