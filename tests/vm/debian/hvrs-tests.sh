#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Entry point of the tests in the Debian guest (started by hvrs-tests.service).
arg() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" /proc/cmdline; }
suite=$(arg hvrs.suite)
timeout=$(arg hvrs.test_timeout)
. /tests/lib.sh
echo "HVRS: debian guest up, kernel $(uname -r), suite ${suite:-none}"
if [ -n "$suite" ] && [ -d "/tests/suites/$suite" ]; then
	run_suite "/tests/suites/$suite" "${timeout:-120}"
else
	echo "HVRS-TEST-FAIL suite/$suite (no such suite)"
	echo "HVRS-RESULT: 0 passed, 1 failed"
fi
