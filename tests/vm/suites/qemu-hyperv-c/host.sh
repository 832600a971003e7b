# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of 30-balloon, run with bash by scripts/run-vm.sh --host-script beside the VM, with
# QMP_SOCKET (QEMU's QMP server) and LOG (the console log): on the guest's markers, sets the
# hv-balloon target to 512M, then to 2.5G (hot-add), each time polling query-balloon until the
# guest got there; also checks that QEMU emits HV_BALLOON_STATUS_REPORT events (the guest's
# status reports). Every wait is bounded; exit 0 only if all of it happened.
set -u
exec python3 - "$QMP_SOCKET" "$LOG" <<'PY'
import json, os, socket, sys, time

qmp_path, log_path = sys.argv[1], sys.argv[2]
t0 = time.time()

def say(msg):
    print(f"[host {time.time() - t0:6.1f}s] {msg}", flush=True)

def fail(msg):
    say("FAIL: " + msg)
    sys.exit(1)

def wait_marker(marker, bound):
    end = time.time() + bound
    while time.time() < end:
        try:
            with open(log_path, "rb") as f:
                if marker.encode() in f.read():
                    say(f"guest printed {marker!r}")
                    return
        except FileNotFoundError:
            pass
        time.sleep(0.5)
    fail(f"the guest did not print {marker!r} within {bound}s")

class Qmp:
    def __init__(self, path, bound=60):
        end = time.time() + bound
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                if time.time() > end:
                    fail(f"cannot connect to QMP at {path} within {bound}s")
                time.sleep(0.5)
        self.s.settimeout(30)
        self.f = self.s.makefile("rb")
        self.events = []
        self.recv()  # greeting
        self.cmd("qmp_capabilities")

    def recv(self):
        try:
            line = self.f.readline()
        except OSError as e:
            fail(f"QMP connection lost ({e}; QEMU exited?)")
        if not line:
            fail("QMP connection closed (QEMU exited?)")
        return json.loads(line)

    def cmd(self, name, **args):
        try:
            self.s.sendall(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        except OSError as e:
            fail(f"QMP connection lost sending {name} ({e}; QEMU exited?)")
        while True:
            m = self.recv()
            if "event" in m:
                self.events.append(m)
                continue
            if "error" in m:
                fail(f"{name} {args}: {m['error']}")
            return m["return"]

    def status_reports(self):
        return sum(1 for e in self.events if e["event"] == "HV_BALLOON_STATUS_REPORT")

def drive(q, target, ok, bound):
    say(f"balloon target {target >> 20} MiB")
    q.cmd("balloon", value=target)
    end = time.time() + bound
    actual = None
    last_set = time.time()
    while time.time() < end:
        actual = q.cmd("query-balloon")["actual"]
        if ok(actual):
            say(f"query-balloon actual {actual >> 20} MiB: reached")
            return
        # QEMU drops targets set during its post-init wait: repeat it now and then.
        if time.time() - last_set > 20:
            q.cmd("balloon", value=target)
            last_set = time.time()
        time.sleep(0.5)
    fail(f"query-balloon actual {actual} did not reach {target} within {bound}s")

MiB = 1 << 20
wait_marker("HVRS-READY balloon", 400)
q = Qmp(qmp_path)
say(f"query-balloon before: {q.cmd('query-balloon')}")
drive(q, 512 * MiB, lambda a: a <= 512 * MiB + 32 * MiB, 150)
wait_marker("HVRS-SEEN balloon", 120)
drive(q, 2560 * MiB, lambda a: a >= 2560 * MiB - 32 * MiB, 150)
wait_marker("HVRS-SEEN hotadd", 120)
n = q.status_reports()
say(f"{n} HV_BALLOON_STATUS_REPORT events seen")
if n == 0:
    fail("no HV_BALLOON_STATUS_REPORT event: the guest sends no status reports")
PY
