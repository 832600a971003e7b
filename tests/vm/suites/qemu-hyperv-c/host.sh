# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of 30-balloon, run with bash by scripts/run-vm.sh --host-script beside the VM, with
# QMP_SOCKET (QEMU's QMP server) and LOG (the console log): on the guest's markers, sets the
# hv-balloon target to 512M, then to 2.5G (hot-add), each time polling query-balloon until the
# guest got there; also checks that QEMU emits HV_BALLOON_STATUS_REPORT events (the guest's
# status reports). Every wait is bounded; exit 0 only if all of it happened.
set -u
PYTHONPATH=$(dirname "$0")/../.. exec python3 - <<'PY'
from hostlib import MiB, Qmp, drive, fail, say, wait_marker

q = Qmp()
wait_marker(q, "HVRS-READY balloon", 400)
say(f"query-balloon before: {q.cmd('query-balloon')}")
drive(q, 512 * MiB, lambda a: a <= 512 * MiB + 32 * MiB, 150)
wait_marker(q, "HVRS-SEEN balloon", 120)
drive(q, 2560 * MiB, lambda a: a >= 2560 * MiB - 32 * MiB, 150)
wait_marker(q, "HVRS-SEEN hotadd", 120)
n = len(q.reports())
say(f"{n} HV_BALLOON_STATUS_REPORT events seen")
if n == 0:
    fail("no HV_BALLOON_STATUS_REPORT event: the guest sends no status reports")
PY
