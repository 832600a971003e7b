// SPDX-License-Identifier: GPL-2.0
/*
 * The SCSI midlayer side of hv_storvsc: the module parameters (with the C driver's names,
 * defaults and sysfs permissions, which Rust `module!` parameters lack in 7.2), the
 * scsi_host_template whose callbacks call into Rust, the host's error workqueue with the
 * rescan and LUN-removal work of the C driver, and accessors of struct Scsi_Host, struct
 * scsi_cmnd and struct scsi_device for the Rust wrapper (drivers/scsi/storvsc/scsi.rs), since
 * the kernel crate has no SCSI bindings; and, for the synthetic FC adapter, the FC transport
 * class (fc_attach_transport() at module init, the fc_host WWNs and the one remote port).
 * Semantics follow drivers/scsi/storvsc_drv.c.
 */
#include <linux/blk-mq.h>
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/workqueue.h>
#include <scsi/scsi.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_devinfo.h>
#include <scsi/scsi_host.h>
#include <scsi/scsi_transport_fc.h>

static int logging_level = 1;
module_param(logging_level, int, 0644);
MODULE_PARM_DESC(logging_level,
	"Logging level, 0 - None, 1 - Error (default), 2 - Warning.");

static int storvsc_ringbuffer_size = (128 * 1024);
module_param(storvsc_ringbuffer_size, int, 0444);
MODULE_PARM_DESC(storvsc_ringbuffer_size, "Ring buffer size (bytes)");

static unsigned int storvsc_max_hw_queues;
module_param(storvsc_max_hw_queues, uint, 0644);
MODULE_PARM_DESC(storvsc_max_hw_queues, "Maximum number of hardware queues");

static int storvsc_vcpus_per_sub_channel = 4;
module_param(storvsc_vcpus_per_sub_channel, int, 0444);
MODULE_PARM_DESC(storvsc_vcpus_per_sub_channel, "Ratio of VCPUs to subchannels");

static int ring_avail_percent_lowater = 10;
module_param(ring_avail_percent_lowater, int, 0444);
MODULE_PARM_DESC(ring_avail_percent_lowater,
		"Select a channel if available ring size > this in percent");

/* The parameters, read by Rust (see `params` in storvsc.rs). */
int hvrs_storvsc_logging_level(void);
int hvrs_storvsc_ringbuffer_size(void);
unsigned int hvrs_storvsc_max_hw_queues(void);
void hvrs_storvsc_reset_max_hw_queues(void);
int hvrs_storvsc_vcpus_per_sub_channel(void);
int hvrs_storvsc_ring_avail_percent_lowater(void);

int hvrs_storvsc_logging_level(void)
{
	return READ_ONCE(logging_level);
}

int hvrs_storvsc_ringbuffer_size(void)
{
	return storvsc_ringbuffer_size;
}

unsigned int hvrs_storvsc_max_hw_queues(void)
{
	return READ_ONCE(storvsc_max_hw_queues);
}

/* storvsc_probe(): an invalid value is reset to the default, in the parameter too. */
void hvrs_storvsc_reset_max_hw_queues(void)
{
	WRITE_ONCE(storvsc_max_hw_queues, 0);
}

int hvrs_storvsc_vcpus_per_sub_channel(void)
{
	return storvsc_vcpus_per_sub_channel;
}

int hvrs_storvsc_ring_avail_percent_lowater(void)
{
	return ring_avail_percent_lowater;
}

/* The Rust entry points (scsi.rs). `rust` is the driver's host state. */
int hvrs_storvsc_queuecommand(const void *rust, struct scsi_cmnd *cmd);
int hvrs_storvsc_host_reset(const void *rust);
void hvrs_storvsc_sdev_configure(const void *rust, struct scsi_device *sdev);

/*
 * The template's callbacks read a host's Rust state under this SRCU, and unbind waits for
 * them after clearing it (hvrs_storvsc_host_clear_rust()): a callback that races with the
 * removal of the host (e.g. a host reset through SG_SCSI_RESET on a device still open) sees
 * the state alive or NULL, never freed.
 */
DEFINE_STATIC_SRCU(hvrs_storvsc_srcu);

/* shost_priv() of our hosts (struct hv_host_device in C). */
struct hvrs_storvsc_host {
	/* The Rust host state, from before scsi_add_host() until unbind; NULL outside. */
	const void *rust;
	struct Scsi_Host *host;
	/*
	 * NULL once destroyed. Unlike C, queueing (from the channel handler) and destroying
	 * (unbind) are serialized by wq_lock, so that a host packet that arrives while the host
	 * goes away cannot queue work on a destroyed workqueue.
	 */
	struct workqueue_struct *handle_error_wq;
	spinlock_t wq_lock;
	struct work_struct host_scan_work;
#if IS_ENABLED(CONFIG_SCSI_FC_ATTRS)
	/* The FC remote port of storvsc_probe(); NULL until added, and on other hosts. */
	struct fc_rport *rport;
#endif
};

/* struct storvsc_scan_work */
struct hvrs_storvsc_scan_work {
	struct work_struct work;
	struct Scsi_Host *host;
	u8 lun;
	u8 tgt_id;
};

static struct hvrs_storvsc_host *hvrs_host(struct Scsi_Host *host)
{
	return shost_priv(host);
}

/* storvsc_device_scan() */
static void hvrs_storvsc_device_scan(struct work_struct *work)
{
	struct hvrs_storvsc_scan_work *wrk =
		container_of(work, struct hvrs_storvsc_scan_work, work);
	struct scsi_device *sdev;

	sdev = scsi_device_lookup(wrk->host, 0, wrk->tgt_id, wrk->lun);
	if (sdev) {
		scsi_rescan_device(sdev);
		scsi_device_put(sdev);
	}
	kfree(wrk);
}

/* storvsc_host_scan(): TEST UNIT READY to find removed LUNs, then a scan for new ones. */
static void hvrs_storvsc_host_scan(struct work_struct *work)
{
	struct hvrs_storvsc_host *h =
		container_of(work, struct hvrs_storvsc_host, host_scan_work);
	struct Scsi_Host *host = h->host;
	struct scsi_device *sdev;

	mutex_lock(&host->scan_mutex);
	shost_for_each_device(sdev, host)
		scsi_test_unit_ready(sdev, 1, 1, NULL);
	mutex_unlock(&host->scan_mutex);
	scsi_scan_host(host);
}

/* storvsc_remove_lun() */
static void hvrs_storvsc_remove_lun(struct work_struct *work)
{
	struct hvrs_storvsc_scan_work *wrk =
		container_of(work, struct hvrs_storvsc_scan_work, work);
	struct scsi_device *sdev;

	if (scsi_host_get(wrk->host)) {
		sdev = scsi_device_lookup(wrk->host, 0, wrk->tgt_id, wrk->lun);
		if (sdev) {
			scsi_remove_device(sdev);
			scsi_device_put(sdev);
		}
		scsi_host_put(wrk->host);
	}
	kfree(wrk);
}

static enum scsi_qc_status hvrs_queuecommand(struct Scsi_Host *host, struct scsi_cmnd *cmd)
{
	int idx = srcu_read_lock(&hvrs_storvsc_srcu);
	int busy = hvrs_storvsc_queuecommand(READ_ONCE(hvrs_host(host)->rust), cmd);

	srcu_read_unlock(&hvrs_storvsc_srcu, idx);
	return busy ? SCSI_MLQUEUE_DEVICE_BUSY : 0;
}

static int hvrs_host_reset(struct scsi_cmnd *cmd)
{
	int idx = srcu_read_lock(&hvrs_storvsc_srcu);
	int ret = hvrs_storvsc_host_reset(READ_ONCE(hvrs_host(cmd->device->host)->rust));

	srcu_read_unlock(&hvrs_storvsc_srcu, idx);
	return ret;
}

/* storvsc_eh_timed_out(): the host answers every command; never abort. */
static enum scsi_timeout_action hvrs_eh_timed_out(struct scsi_cmnd *cmd)
{
	return SCSI_EH_RESET_TIMER;
}

/* storvsc_device_alloc() */
static int hvrs_sdev_init(struct scsi_device *sdev)
{
	sdev->sdev_bflags = BLIST_REPORTLUN2 | BLIST_TRY_VPD_PAGES;
	return 0;
}

static int hvrs_sdev_configure(struct scsi_device *sdev, struct queue_limits *lim)
{
	int idx = srcu_read_lock(&hvrs_storvsc_srcu);

	hvrs_storvsc_sdev_configure(READ_ONCE(hvrs_host(sdev->host)->rust), sdev);
	srcu_read_unlock(&hvrs_storvsc_srcu, idx);
	return 0;
}

/* storvsc_get_chs() */
static int hvrs_get_chs(struct scsi_device *sdev, struct gendisk *unused, sector_t capacity,
			int *info)
{
	sector_t nsect = capacity;
	sector_t cylinders = nsect;
	int heads = 0xff, sectors_pt = 0x3f;

	sector_div(cylinders, heads * sectors_pt);
	if ((sector_t)(cylinders + 1) * heads * sectors_pt < nsect)
		cylinders = 0xffff;
	info[0] = heads;
	info[1] = sectors_pt;
	info[2] = (int)cylinders;
	return 0;
}

/* storvsc_change_queue_depth(); can_queue is per host here (C: the shared template's). */
static int hvrs_change_queue_depth(struct scsi_device *sdev, int queue_depth)
{
	if (queue_depth > sdev->host->can_queue)
		queue_depth = sdev->host->can_queue;
	return scsi_change_queue_depth(sdev, queue_depth);
}

static struct scsi_host_template hvrs_storvsc_template = {
	.module =		THIS_MODULE,
	.name =			"storvsc_host_t",
	.bios_param =		hvrs_get_chs,
	.queuecommand =		hvrs_queuecommand,
	.eh_host_reset_handler = hvrs_host_reset,
	.proc_name =		"storvsc_host",
	.eh_timed_out =		hvrs_eh_timed_out,
	.sdev_init =		hvrs_sdev_init,
	.sdev_configure =	hvrs_sdev_configure,
	.cmd_per_lun =		2048,
	.this_id =		-1,
	/* Ensure there are no gaps in presented sgls */
	.virt_boundary_mask =	SZ_4K - 1,	/* HV_HYP_PAGE_SIZE - 1 */
	.no_write_same =	1,
	.track_queue_depth =	1,
	.change_queue_depth =	hvrs_change_queue_depth,
};

/* The limits storvsc_probe() sets on a host (mirrored by `HostLimits` in scsi.rs). */
struct hvrs_scsi_limits {
	unsigned int max_lun;
	unsigned int max_id;
	unsigned int max_channel;
	unsigned int max_cmd_len;
	unsigned int max_sectors;
	unsigned int sg_tablesize;
	unsigned int nr_hw_queues;
	int can_queue;
	/* A synthetic FC adapter: the host gets the FC transport (SFC_GUID in storvsc_probe()). */
	bool fc;
};

struct Scsi_Host *hvrs_storvsc_host_alloc(void);
unsigned int hvrs_scsi_host_no(struct Scsi_Host *host);
void hvrs_storvsc_host_set_rust(struct Scsi_Host *host, const void *rust);
void hvrs_storvsc_host_clear_rust(struct Scsi_Host *host);
int hvrs_scsi_add_host(struct Scsi_Host *host, struct device *parent,
		       const struct hvrs_scsi_limits *lim);
void hvrs_scsi_scan_host(struct Scsi_Host *host);
int hvrs_scsi_add_device(struct Scsi_Host *host, unsigned int channel, unsigned int id,
			 u64 lun);
void hvrs_storvsc_host_remove(struct Scsi_Host *host);
void hvrs_scsi_host_put(struct Scsi_Host *host);
int hvrs_storvsc_fc_attach(void);
void hvrs_storvsc_fc_release(void);
int hvrs_storvsc_fc_add_rport(struct Scsi_Host *host, u64 node_name, u64 port_name);
void hvrs_storvsc_fc_set_names(struct Scsi_Host *host, u64 node_name, u64 port_name);
void hvrs_storvsc_queue_host_scan(struct Scsi_Host *host);
bool hvrs_storvsc_queue_lun_work(struct Scsi_Host *host, bool remove, u8 tgt_id, u8 lun);

#if IS_ENABLED(CONFIG_SCSI_FC_ATTRS)
/* The FC transport of storvsc_drv_init(): set on the hosts of synthetic FC adapters. */
static struct scsi_transport_template *fc_transport_template;

static struct fc_function_template fc_transport_functions = {
	.show_host_node_name = 1,
	.show_host_port_name = 1,
};
#endif

/* storvsc_drv_init(): attaches the FC transport class before the driver registers. */
int hvrs_storvsc_fc_attach(void)
{
#if IS_ENABLED(CONFIG_SCSI_FC_ATTRS)
	if (fc_transport_template)
		return -EBUSY;
	fc_transport_template = fc_attach_transport(&fc_transport_functions);
	if (!fc_transport_template)
		return -ENODEV;
#endif
	return 0;
}

/* storvsc_drv_exit() (and a failed registration): after the driver is unregistered. */
void hvrs_storvsc_fc_release(void)
{
#if IS_ENABLED(CONFIG_SCSI_FC_ATTRS)
	fc_release_transport(fc_transport_template);
	fc_transport_template = NULL;
#endif
}

static bool __maybe_unused hvrs_host_is_fc(struct Scsi_Host *host)
{
#if IS_ENABLED(CONFIG_SCSI_FC_ATTRS)
	return fc_transport_template && host->transportt == fc_transport_template;
#else
	return false;
#endif
}

/*
 * storvsc_probe() after the scan, for an FC host: the WWNs cached from FCHBA_DATA become the
 * fc_host's node and port names, and the one remote port is added (a dummy initiator: the
 * transport scans nothing for it).
 */
int hvrs_storvsc_fc_add_rport(struct Scsi_Host *host, u64 node_name, u64 port_name)
{
#if IS_ENABLED(CONFIG_SCSI_FC_ATTRS)
	struct fc_rport_identifiers ids = {
		.roles = FC_PORT_ROLE_FCP_DUMMY_INITIATOR,
	};
	struct fc_rport *rport;

	if (!hvrs_host_is_fc(host))
		return 0;
	fc_host_node_name(host) = node_name;
	fc_host_port_name(host) = port_name;
	rport = fc_remote_port_add(host, 0, &ids);
	if (!rport)
		return -ENOMEM;
	WRITE_ONCE(hvrs_host(host)->rport, rport);
#endif
	return 0;
}

/*
 * An unsolicited FCHBA_DATA (storvsc_on_receive()): the new names, once the fc_host exists
 * (C writes them unconditionally; before scsi_add_host() its fc_host is not allocated).
 */
void hvrs_storvsc_fc_set_names(struct Scsi_Host *host, u64 node_name, u64 port_name)
{
#if IS_ENABLED(CONFIG_SCSI_FC_ATTRS)
	if (!hvrs_host_is_fc(host) || !READ_ONCE(hvrs_host(host)->rport))
		return;
	fc_host_node_name(host) = node_name;
	fc_host_port_name(host) = port_name;
#endif
}

/* scsi_host_alloc() with the error workqueue of storvsc_probe(). */
struct Scsi_Host *hvrs_storvsc_host_alloc(void)
{
	struct Scsi_Host *host;
	struct hvrs_storvsc_host *h;

	host = scsi_host_alloc(&hvrs_storvsc_template, sizeof(struct hvrs_storvsc_host));
	if (!host)
		return NULL;
	h = shost_priv(host);
	memset(h, 0, sizeof(*h));
	h->host = host;
	spin_lock_init(&h->wq_lock);
	h->handle_error_wq = alloc_ordered_workqueue("storvsc_error_wq_%d", 0, host->host_no);
	if (!h->handle_error_wq) {
		scsi_host_put(host);
		return NULL;
	}
	INIT_WORK(&h->host_scan_work, hvrs_storvsc_host_scan);
	return host;
}

unsigned int hvrs_scsi_host_no(struct Scsi_Host *host)
{
	return host->host_no;
}

void hvrs_storvsc_host_set_rust(struct Scsi_Host *host, const void *rust)
{
	WRITE_ONCE(hvrs_host(host)->rust, rust);
}

/* Clears the Rust state and waits until no callback uses it any more; may sleep. */
void hvrs_storvsc_host_clear_rust(struct Scsi_Host *host)
{
	WRITE_ONCE(hvrs_host(host)->rust, NULL);
	synchronize_srcu(&hvrs_storvsc_srcu);
}

/* The limits of storvsc_probe(), then scsi_add_host(). */
int hvrs_scsi_add_host(struct Scsi_Host *host, struct device *parent,
		       const struct hvrs_scsi_limits *lim)
{
	host->max_lun = lim->max_lun;
	host->max_id = lim->max_id;
	host->max_channel = lim->max_channel;
	host->max_cmd_len = lim->max_cmd_len;
	host->max_sectors = lim->max_sectors;
	host->sg_tablesize = lim->sg_tablesize;
	if (lim->nr_hw_queues)
		host->nr_hw_queues = lim->nr_hw_queues;
	host->can_queue = lim->can_queue;
#if IS_ENABLED(CONFIG_SCSI_FC_ATTRS)
	if (lim->fc)
		host->transportt = fc_transport_template;
#endif
	return scsi_add_host(host, parent);
}

void hvrs_scsi_scan_host(struct Scsi_Host *host)
{
	scsi_scan_host(host);
}

int hvrs_scsi_add_device(struct Scsi_Host *host, unsigned int channel, unsigned int id, u64 lun)
{
	return scsi_add_device(host, channel, id, lun);
}

/* Takes the error workqueue away from the queueing functions and destroys it (draining it). */
static void hvrs_storvsc_destroy_wq(struct hvrs_storvsc_host *h)
{
	struct workqueue_struct *wq;
	unsigned long flags;

	spin_lock_irqsave(&h->wq_lock, flags);
	wq = h->handle_error_wq;
	h->handle_error_wq = NULL;
	spin_unlock_irqrestore(&h->wq_lock, flags);
	if (wq)
		destroy_workqueue(wq);
}

/*
 * storvsc_remove(): an FC host's remote port and fc_host go first, then the error workqueue,
 * then the host. (A probe that failed adding the remote port removes the fc_host too, which C
 * leaves to scsi_remove_host().)
 */
void hvrs_storvsc_host_remove(struct Scsi_Host *host)
{
#if IS_ENABLED(CONFIG_SCSI_FC_ATTRS)
	if (hvrs_host_is_fc(host)) {
		struct fc_rport *rport = hvrs_host(host)->rport;

		WRITE_ONCE(hvrs_host(host)->rport, NULL);
		if (rport)
			fc_remote_port_delete(rport);
		fc_remove_host(host);
	}
#endif
	hvrs_storvsc_destroy_wq(hvrs_host(host));
	scsi_remove_host(host);
}

/* Drops the reference of hvrs_storvsc_host_alloc(); frees the error workqueue if the host
 * was never removed (a probe that failed before scsi_add_host()). */
void hvrs_scsi_host_put(struct Scsi_Host *host)
{
	hvrs_storvsc_destroy_wq(hvrs_host(host));
	scsi_host_put(host);
}

/* ENUMERATE_BUS / REMOVE_DEVICE from the host (storvsc_on_receive()). */
void hvrs_storvsc_queue_host_scan(struct Scsi_Host *host)
{
	struct hvrs_storvsc_host *h = hvrs_host(host);
	unsigned long flags;

	spin_lock_irqsave(&h->wq_lock, flags);
	if (h->handle_error_wq)
		queue_work(h->handle_error_wq, &h->host_scan_work);
	spin_unlock_irqrestore(&h->wq_lock, flags);
}

/* The deferred part of storvsc_handle_error(); false if it could not be queued. */
bool hvrs_storvsc_queue_lun_work(struct Scsi_Host *host, bool remove, u8 tgt_id, u8 lun)
{
	struct hvrs_storvsc_host *h = hvrs_host(host);
	struct hvrs_storvsc_scan_work *wrk;
	unsigned long flags;
	bool queued = false;

	wrk = kmalloc_obj(struct hvrs_storvsc_scan_work, GFP_ATOMIC);
	if (!wrk)
		return false;
	wrk->host = host;
	wrk->lun = lun;
	wrk->tgt_id = tgt_id;
	INIT_WORK(&wrk->work, remove ? hvrs_storvsc_remove_lun : hvrs_storvsc_device_scan);
	spin_lock_irqsave(&h->wq_lock, flags);
	if (h->handle_error_wq) {
		queue_work(h->handle_error_wq, &wrk->work);
		queued = true;
	}
	spin_unlock_irqrestore(&h->wq_lock, flags);
	if (!queued)
		kfree(wrk);
	return queued;
}

/* Commands. */

/* What the request needs of a command (mirrored by `CmdInfo` in scsi.rs). */
struct hvrs_scsi_cmd_info {
	u8 cdb[16];
	u8 cdb_len;
	/* enum dma_data_direction */
	u8 direction;
	u8 channel;
	u8 id;
	u8 lun;
	bool tagged;
	u32 bufflen;
	u32 unique_tag;
	int tag;
};

void hvrs_scsi_cmd_info(struct scsi_cmnd *cmd, struct hvrs_scsi_cmd_info *info);
u32 hvrs_scsi_cmd_bufflen(struct scsi_cmnd *cmd);
int hvrs_scsi_dma_map(struct scsi_cmnd *cmd);
void hvrs_scsi_dma_unmap(struct scsi_cmnd *cmd);
struct scatterlist *hvrs_scsi_sglist(struct scsi_cmnd *cmd);
struct scatterlist *hvrs_sg_next(struct scatterlist *sg);
u64 hvrs_sg_dma_address(struct scatterlist *sg);
u32 hvrs_sg_dma_len(struct scatterlist *sg);
void hvrs_scsi_cmd_set_sense(struct scsi_cmnd *cmd, const u8 *sense, u32 len);
void hvrs_scsi_cmd_done(struct scsi_cmnd *cmd, u32 result, u32 resid);

void hvrs_scsi_cmd_info(struct scsi_cmnd *cmd, struct hvrs_scsi_cmd_info *info)
{
	unsigned int len = min_t(unsigned int, cmd->cmd_len, sizeof(info->cdb));

	memset(info, 0, sizeof(*info));
	memcpy(info->cdb, cmd->cmnd, len);
	info->cdb_len = len;
	info->direction = cmd->sc_data_direction;
	info->channel = cmd->device->channel;
	info->id = cmd->device->id;
	info->lun = cmd->device->lun;
	info->tagged = cmd->device->tagged_supported;
	info->bufflen = scsi_bufflen(cmd);
	info->unique_tag = blk_mq_unique_tag(scsi_cmd_to_rq(cmd));
	info->tag = scsi_cmd_to_rq(cmd)->tag;
}

u32 hvrs_scsi_cmd_bufflen(struct scsi_cmnd *cmd)
{
	return scsi_bufflen(cmd);
}

int hvrs_scsi_dma_map(struct scsi_cmnd *cmd)
{
	return scsi_dma_map(cmd);
}

void hvrs_scsi_dma_unmap(struct scsi_cmnd *cmd)
{
	scsi_dma_unmap(cmd);
}

struct scatterlist *hvrs_scsi_sglist(struct scsi_cmnd *cmd)
{
	return scsi_sglist(cmd);
}

struct scatterlist *hvrs_sg_next(struct scatterlist *sg)
{
	return sg_next(sg);
}

u64 hvrs_sg_dma_address(struct scatterlist *sg)
{
	return sg_dma_address(sg);
}

u32 hvrs_sg_dma_len(struct scatterlist *sg)
{
	return sg_dma_len(sg);
}

void hvrs_scsi_cmd_set_sense(struct scsi_cmnd *cmd, const u8 *sense, u32 len)
{
	memcpy(cmd->sense_buffer, sense, min_t(u32, len, SCSI_SENSE_BUFFERSIZE));
}

void hvrs_scsi_cmd_done(struct scsi_cmnd *cmd, u32 result, u32 resid)
{
	cmd->result = result;
	scsi_set_resid(cmd, resid);
	scsi_done(cmd);
}

/* SCSI devices, for storvsc_sdev_configure(). */
bool hvrs_scsi_device_vendor_is(struct scsi_device *sdev, const char *vendor, size_t len);
void hvrs_scsi_device_configure(struct scsi_device *sdev, unsigned int timeout_secs,
				bool no_write_same, bool spc3);

bool hvrs_scsi_device_vendor_is(struct scsi_device *sdev, const char *vendor, size_t len)
{
	return !strncmp(sdev->vendor, vendor, len);
}

void hvrs_scsi_device_configure(struct scsi_device *sdev, unsigned int timeout_secs,
				bool no_write_same, bool spc3)
{
	blk_queue_rq_timeout(sdev->request_queue, timeout_secs * HZ);
	/* storvsc devices don't support MAINTENANCE_IN SCSI cmd */
	sdev->no_report_opcodes = 1;
	sdev->no_write_same = no_write_same;
	if (spc3)
		sdev->scsi_level = SCSI_SPC_3;
}

/* CPU counts for storvsc_probe(). */
unsigned int hvrs_num_online_cpus(void);
unsigned int hvrs_num_present_cpus(void);

unsigned int hvrs_num_online_cpus(void)
{
	return num_online_cpus();
}

unsigned int hvrs_num_present_cpus(void)
{
	return num_present_cpus();
}
