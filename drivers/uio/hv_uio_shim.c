// SPDX-License-Identifier: GPL-2.0
/*
 * The UIO half of uio_hv_generic: `struct uio_info` is not in the kernel's Rust bindings and
 * uio.ko is a module, so its registration lives here, in this module (as in
 * drivers/uio/uio_hv_generic.c: name, version, maps, UIO_IRQ_CUSTOM). The UIO core's open,
 * release and irqcontrol callbacks, which it calls under its `info_lock`, go to the Rust driver
 * (hv_uio.rs) with the pointer it registered.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uio_driver.h>

#define DRIVER_VERSION	"0.02.1"

/* HV_HYP_PAGE_SIZE: the interrupt and monitor pages. */
#define HVRS_UIO_PAGE_SIZE 4096

enum hv_uio_map {
	TXRX_RING_MAP = 0,
	INT_PAGE_MAP,
	MON_PAGE_MAP,
	RECV_BUF_MAP,
	SEND_BUF_MAP
};

struct hvrs_uio {
	struct uio_info info;
	const void *drv;
	char recv_name[32];
	char send_name[32];
};

/* A NIC's receive or send buffer: vmalloc memory described to the host by its own GPADL. */
struct hvrs_uio_buf {
	unsigned long addr;
	unsigned long size;
	u32 gpadl;
};

/* The Rust driver (hv_uio.rs). */
int hvrs_uio_open(const void *drv, void *uio);
int hvrs_uio_release(const void *drv);
int hvrs_uio_irqcontrol(const void *drv, s32 irq_state);

/* For the Rust driver. */
int hvrs_uio_register(void *parent, const void *drv, unsigned long rings,
		      unsigned long rings_size, unsigned long int_page,
		      unsigned long monitor_page, const struct hvrs_uio_buf *recv,
		      const struct hvrs_uio_buf *send, void **out);
void hvrs_uio_unregister(void *uio);
void hvrs_uio_notify(void *uio);

static int hv_uio_open(struct uio_info *info, struct inode *inode)
{
	struct hvrs_uio *p = container_of(info, struct hvrs_uio, info);

	return hvrs_uio_open(p->drv, p);
}

static int hv_uio_release(struct uio_info *info, struct inode *inode)
{
	struct hvrs_uio *p = container_of(info, struct hvrs_uio, info);

	return hvrs_uio_release(p->drv);
}

static int hv_uio_irqcontrol(struct uio_info *info, s32 irq_state)
{
	struct hvrs_uio *p = container_of(info, struct hvrs_uio, info);

	return hvrs_uio_irqcontrol(p->drv, irq_state);
}

/*
 * Registers the UIO device of `parent` (a VMBus device) with the C driver's maps: both rings
 * (vmalloc memory, so UIO_MEM_VIRTUAL where C has physically contiguous UIO_MEM_IOVA), the
 * connection's interrupt page and the child-to-parent monitor page (direct-map pages,
 * UIO_MEM_LOGICAL as in C), and for a NIC (`recv` and `send` not NULL) its receive and send
 * buffers, named after their GPADL handles ("recv:%u", "send:%u", UIO_MEM_VIRTUAL as in C).
 * `drv` is handed back to the callbacks until hvrs_uio_unregister().
 */
int hvrs_uio_register(void *parent, const void *drv, unsigned long rings,
		      unsigned long rings_size, unsigned long int_page,
		      unsigned long monitor_page, const struct hvrs_uio_buf *recv,
		      const struct hvrs_uio_buf *send, void **out)
{
	struct hvrs_uio *p;
	int ret;

	p = kzalloc_obj(*p);
	if (!p)
		return -ENOMEM;
	p->drv = drv;
	p->info.name = "uio_hv_generic";
	p->info.version = DRIVER_VERSION;
	p->info.irqcontrol = hv_uio_irqcontrol;
	p->info.open = hv_uio_open;
	p->info.release = hv_uio_release;
	p->info.irq = UIO_IRQ_CUSTOM;

	p->info.mem[TXRX_RING_MAP].name = "txrx_rings";
	p->info.mem[TXRX_RING_MAP].addr = rings;
	p->info.mem[TXRX_RING_MAP].size = rings_size;
	p->info.mem[TXRX_RING_MAP].memtype = UIO_MEM_VIRTUAL;

	p->info.mem[INT_PAGE_MAP].name = "int_page";
	p->info.mem[INT_PAGE_MAP].addr = int_page;
	p->info.mem[INT_PAGE_MAP].size = HVRS_UIO_PAGE_SIZE;
	p->info.mem[INT_PAGE_MAP].memtype = UIO_MEM_LOGICAL;

	p->info.mem[MON_PAGE_MAP].name = "monitor_page";
	p->info.mem[MON_PAGE_MAP].addr = monitor_page;
	p->info.mem[MON_PAGE_MAP].size = HVRS_UIO_PAGE_SIZE;
	p->info.mem[MON_PAGE_MAP].memtype = UIO_MEM_LOGICAL;

	if (recv && send) {
		snprintf(p->recv_name, sizeof(p->recv_name), "recv:%u", recv->gpadl);
		p->info.mem[RECV_BUF_MAP].name = p->recv_name;
		p->info.mem[RECV_BUF_MAP].addr = recv->addr;
		p->info.mem[RECV_BUF_MAP].size = recv->size;
		p->info.mem[RECV_BUF_MAP].memtype = UIO_MEM_VIRTUAL;

		snprintf(p->send_name, sizeof(p->send_name), "send:%u", send->gpadl);
		p->info.mem[SEND_BUF_MAP].name = p->send_name;
		p->info.mem[SEND_BUF_MAP].addr = send->addr;
		p->info.mem[SEND_BUF_MAP].size = send->size;
		p->info.mem[SEND_BUF_MAP].memtype = UIO_MEM_VIRTUAL;
	}

	ret = uio_register_device(parent, &p->info);
	if (ret) {
		kfree(p);
		return ret;
	}
	*out = p;
	return 0;
}

/*
 * Unregisters and frees: afterwards no callback runs, and blocked readers of /dev/uioN wake
 * up with EIO.
 */
void hvrs_uio_unregister(void *uio)
{
	struct hvrs_uio *p = uio;

	uio_unregister_device(&p->info);
	kfree(p);
}

/* An interrupt for user space (any context). */
void hvrs_uio_notify(void *uio)
{
	struct hvrs_uio *p = uio;

	uio_event_notify(&p->info);
}

MODULE_VERSION(DRIVER_VERSION);
