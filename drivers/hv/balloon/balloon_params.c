// SPDX-License-Identifier: GPL-2.0
/*
 * The module parameters of hv_balloon, declared in C to keep their sysfs permissions (Rust
 * `module!` parameters have none in 7.2), with the C driver's names, defaults and
 * descriptions. The Rust side reads them through these functions.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

static bool hot_add = true;
module_param(hot_add, bool, 0644);
MODULE_PARM_DESC(hot_add, "If set attempt memory hot_add");

/* Delay reporting memory pressure by the specified number of seconds. */
static uint pressure_report_delay = 45;
module_param(pressure_report_delay, uint, 0644);
MODULE_PARM_DESC(pressure_report_delay, "Delay in secs in reporting pressure");

bool hvrs_balloon_hot_add(void);
void hvrs_balloon_disable_hot_add(void);
bool hvrs_balloon_report_delayed(void);

bool hvrs_balloon_hot_add(void)
{
	return READ_ONCE(hot_add);
}

/* balloon_probe(): no hot-add when hibernation is allowed (the parameter shows it). */
void hvrs_balloon_disable_hot_add(void)
{
	WRITE_ONCE(hot_add, false);
}

/*
 * post_status(): while pressure_report_delay is not 0, count it down by one and skip the
 * report. As in C, the parameter itself counts down (one per attempted report, about one per
 * second), so sysfs shows what is left.
 */
bool hvrs_balloon_report_delayed(void)
{
	uint left = READ_ONCE(pressure_report_delay);

	if (left > 0) {
		WRITE_ONCE(pressure_report_delay, left - 1);
		return true;
	}
	return false;
}
