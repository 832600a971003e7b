// SPDX-License-Identifier: GPL-2.0
/*
 * The module parameters of hv_utils, declared in C to keep their sysfs permissions (Rust
 * `module!` parameters have none in 7.2). The Rust side reads them through these functions.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

static bool timesync_implicit;
module_param(timesync_implicit, bool, 0644);
MODULE_PARM_DESC(timesync_implicit, "If set treat SAMPLE as SYNC when clock is behind");

/*
 * Not in the C driver: a test knob for the age after which the PTP clock reports -ESTALE
 * (HOST_TIMESYNC_DELAY_THRESH, 600 s), so that tests need not wait ten minutes.
 */
static uint timesync_stale_secs = 600;
module_param(timesync_stale_secs, uint, 0644);
MODULE_PARM_DESC(timesync_stale_secs,
		 "Seconds without a host sample after which the PTP clock is stale (test knob)");

bool hvrs_utils_timesync_implicit(void);
u32 hvrs_utils_timesync_stale_secs(void);

bool hvrs_utils_timesync_implicit(void)
{
	return READ_ONCE(timesync_implicit);
}

u32 hvrs_utils_timesync_stale_secs(void)
{
	return READ_ONCE(timesync_stale_secs);
}
