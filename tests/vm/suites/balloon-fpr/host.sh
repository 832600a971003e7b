# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of the balloon-fpr suite, run by scripts/run-vm.sh --host-script with QMP_SOCKET and
# LOG. QEMU runs with -cpu ...,hv-ext-hypercalls=on: it counts the 4 KiB pages the guest hints
# as cold-discard (HvExtCallMemoryHeatHint) in the CPU's read-only hv-ext-hinted-pages property,
# read here with qom-get at each of the guest's marks (see 10-fpr.sh):
#   holding -> freed -> reported   the count grows by at least half of memhold's 512 MiB;
#   unloaded                       (ours only) the count equals the pages ours logs at rmmod
#                                  (or exceeds it, by the reps of a refused hypercall);
#   unloaded -> unloaded-freed     (ours only) it does not grow: page reporting is unregistered.
#   disabled -> disabled-freed     (hvrs.fpr=refuse: QEMU refuses every range) nothing counted.
# Prints "HOST-FPR ..." (the counts) for the run's log. Every wait is bounded.
set -u
PYTHONPATH=$(dirname "$0")/../.. exec python3 - <<'PY'
import re, sys
from hostlib import MiB, Qmp, fail, log_has, log_text, say, wait_marker

q = Qmp()
hinted = q.hinted_pages

h0 = hinted()
if h0 != 0:
    fail(f"{h0} pages hinted before the guest ran")
wait_marker(q, ["HVRS-MARK loaded"], 300)
if log_has("hvrs.fpr=refuse"):
    # QEMU refuses every range (the kernel's command line says so): the driver gives up.
    wait_marker(q, ["HVRS-MARK disabled"], 200)
    wait_marker(q, ["HVRS-MARK disabled-freed"], 200)
    h = hinted()
    say(f"hinted with every range refused: {h} pages")
    print(f"HOST-FPR refused={h}", flush=True)
    if h != 0:
        fail(f"{h} pages counted although every range was refused")
    sys.exit(0)
h_loaded = hinted()
say(f"hinted at load: {h_loaded} pages")
wait_marker(q, ["HVRS-MARK holding"], 300)
h_holding = hinted()
say(f"hinted while memhold holds 512 MiB: {h_holding} pages ({h_holding * 4096 // MiB} MiB)")
# Unless the first report was refused (page_reporting.page_reporting_order=0 against
# x-hv-ext-hint-min-order=9): the kernel ends a pass at a failed report and starts the next one
# only when memory of the new order is freed again, which the boot may or may not do.
if h_holding == 0 and not log_has("page_reporting.page_reporting_order=0"):
    fail("no page hinted after the load: the boot's free memory was not reported")
wait_marker(q, ["HVRS-MARK freed"], 120)
wait_marker(q, ["HVRS-MARK reported"], 120)
h_reported = hinted()
grown = h_reported - h_holding
say(f"hinted after memhold's 512 MiB were freed: {h_reported} pages, +{grown} ({grown * 4096 // MiB} MiB)")
print(f"HOST-FPR boot={h_holding} after_free={grown}", flush=True)
if grown < 256 * MiB // 2 // 4096:
    fail(f"only {grown} pages hinted after 512 MiB were freed, want at least half")
m = wait_marker(q, ["HVRS-MARK unloaded", "HVRS-MARK unload-skipped"], 120)
if m == "HVRS-MARK unload-skipped":
    sys.exit(0)
h_unloaded = hinted()
# Ours logs at unbind the pages it hinted with successful hypercalls: the host's count exactly.
# A refused hypercall (x-hv-ext-hint-min-order) still did its reps before the bad range, which
# the host counted and the guest, whose whole batch failed, did not.
text = log_text()
got = re.findall(rb"free ranges were reported to the hypervisor \((\d+) pages\)", text)
if not got:
    fail("no 'free ranges were reported' line in the guest's log")
guest = int(got[-1])
refused = b"Cold memory discard hypercall failed" in text
say(f"the guest reported {guest} pages, the host counted {h_unloaded}"
    + (" (a hypercall was refused)" if refused else ""))
if guest != h_unloaded and not (refused and guest < h_unloaded):
    fail(f"the guest reported {guest} pages, the host counted {h_unloaded}")
wait_marker(q, ["HVRS-MARK unloaded-freed"], 200)
h_end = hinted()
say(f"hinted after the unload and 256 MiB freed: {h_end} pages (at unload {h_unloaded})")
print(f"HOST-FPR unloaded={h_unloaded} unloaded_freed={h_end}", flush=True)
if h_end != h_unloaded:
    fail(f"{h_end - h_unloaded} pages hinted after rmmod: page reporting still registered")
PY
