#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runner self-test: a failing in-VM test must fail the run.
. /tests/lib.sh
fail "this test fails on purpose (runner self-test)"
