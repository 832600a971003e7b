#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runner self-test: a hung guest must fail the run by the host-side timeout, not stall it.
# (The in-guest per-test timeout is set longer than the host's for this suite.)
while :; do sleep 1; done
