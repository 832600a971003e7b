#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runner self-test: a guest panic must fail the run, even if the tests said nothing.
echo 1 >/proc/sys/kernel/sysrq
echo c >/proc/sysrq-trigger
sleep 30
