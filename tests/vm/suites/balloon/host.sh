# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of the balloon suite, run with bash by scripts/run-vm.sh --host-script beside the VM,
# with QMP_SOCKET (QEMU's QMP server) and LOG (the console log). It follows the guest's
# "HVRS-MARK" lines:
#   loaded          the first HV_BALLOON_STATUS_REPORT event (a status report of the guest) may
#                   come only after pressure_report_delay=5 skipped reports (>= 3 s after the
#                   mark), and then about one a second;
#   balloon         target 512M, poll query-balloon until reached;
#   unballoon       target 1G, poll until reached;
#   hotadd          target 2G: QEMU hot-adds 1 GiB of its memdev, poll query-balloon until
#                   reached; then the guest checks and uses the memory;
#   hotadd-done     the host's view of the guest after hot-add (status report);
#   balloon-again   (ours only, before its rmmod) target 1.5G, poll until reached;
#   unload-done / unload-skipped   the end; QEMU must have counted no cold-discard hint (no
#                   hv-ext-hypercalls: no free page reporting).
# It prints "HOST-NUMBERS ..." (status reports, the first one's delay, the host's last view of
# committed and available memory) for scripts/check.sh. Every wait is bounded; exit 0 only if
# all of it happened.
set -u
PYTHONPATH=$(dirname "$0")/../.. exec python3 - <<'PY'
import time
from hostlib import MiB, Qmp, drive, fail, say, wait_marker

q = Qmp()
wait_marker(q, ["HVRS-MARK loaded"], 300)
t_loaded = time.time()
end = time.time() + 60
while not q.reports() and time.time() < end:
    q.cmd("query-status")
    time.sleep(0.2)
reports = q.reports()
if not reports:
    fail("no HV_BALLOON_STATUS_REPORT within 60 s of the load: the guest sends no status reports")
first = reports[0]["t"] - t_loaded
say(f"first status report {first:.1f} s after the load mark")
if first < 3:
    fail(f"the first status report came {first:.1f} s after the load, before pressure_report_delay=5 ran out")
# About one a second from then on: at least 5 in the next 10 s.
t1 = time.time()
while time.time() < t1 + 10:
    q.cmd("query-status")
    time.sleep(0.5)
n10 = len(q.reports(since=t1 - 0.5))
say(f"{n10} status reports in 10 s")
if n10 < 5 or n10 > 13:
    fail(f"{n10} status reports in 10 s, expected about 10")
last = q.reports()[-1]["data"]
say(f"status at load: committed {last['committed'] // MiB} MiB, available {last['available'] // MiB} MiB")
st_load = last

wait_marker(q, ["HVRS-MARK balloon"], 300)
drive(q, 512 * MiB, lambda a: a <= 512 * MiB + 32 * MiB, 200)
time.sleep(3)
q.cmd("query-status")
st_ballooned = q.reports()[-1]["data"]
say(f"status ballooned: committed {st_ballooned['committed'] // MiB} MiB, available {st_ballooned['available'] // MiB} MiB")
wait_marker(q, ["HVRS-MARK unballoon"], 200)
drive(q, 1024 * MiB, lambda a: a >= 1024 * MiB - 32 * MiB, 200)
wait_marker(q, ["HVRS-MARK hotadd"], 300)
drive(q, 2048 * MiB, lambda a: a >= 2048 * MiB - 32 * MiB, 300)
wait_marker(q, ["HVRS-MARK hotadd-done"], 300)
# The guest prints the mark after memhold has exited and then waits 10 s (the C stack then
# ends the run). A report sent before the mark may still count memhold's memory, and the kernel
# frees it a little after the exit: take the first report from 2 s or more after the mark was
# seen, waiting up to 6 s for it.
t_done = time.time()
late = []
while not late and time.time() < t_done + 6:
    q.cmd("query-status")
    time.sleep(0.25)
    late = q.reports(since=t_done + 2)
if not late:
    fail("no status report from 2 to 6 s after hotadd-done")
st_hotadd = late[0]["data"]
say(f"status hot-added: committed {st_hotadd['committed'] // MiB} MiB, available {st_hotadd['available'] // MiB} MiB")
m = wait_marker(q, ["HVRS-MARK balloon-again", "HVRS-MARK unload-skipped"], 300)
if m == "HVRS-MARK balloon-again":
    drive(q, 1536 * MiB, lambda a: a <= 1536 * MiB + 32 * MiB, 200)
    wait_marker(q, ["HVRS-MARK unload-done"], 200)
# Without hv-ext-hypercalls the guest has no extended hypercalls: nothing may be hinted.
hinted = q.hinted_pages()
say(f"pages hinted as cold-discard: {hinted}")
if hinted != 0:
    fail(f"{hinted} pages hinted without hv-ext-hypercalls")
n = len(q.reports())
print(f"HOST-NUMBERS reports={n} first_delay={first:.1f}s reports_in_10s={n10} "
      f"load_committed={st_load['committed'] // MiB}M load_available={st_load['available'] // MiB}M "
      f"ballooned_committed={st_ballooned['committed'] // MiB}M "
      f"ballooned_available={st_ballooned['available'] // MiB}M "
      f"hotadd_committed={st_hotadd['committed'] // MiB}M "
      f"hotadd_available={st_hotadd['available'] // MiB}M", flush=True)
PY
