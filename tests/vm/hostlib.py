# SPDX-License-Identifier: GPL-2.0
"""What the Python host scripts of the QEMU suites share (balloon, balloon-fpr, qemu-hyperv-c).

A host script runs beside the VM (scripts/run-vm.sh --host-script) with QMP_SOCKET and LOG in
its environment; it imports this module with PYTHONPATH set to tests/vm. Every wait here is
bounded, and every failure ends the script with exit 1 and a "FAIL:" line.
"""
import json
import os
import socket
import sys
import time

MiB = 1 << 20
_t0 = time.time()
QMP_SOCKET = os.environ["QMP_SOCKET"]
LOG = os.environ["LOG"]


def say(msg):
    print(f"[host {time.time() - _t0:6.1f}s] {msg}", flush=True)


def fail(msg):
    say("FAIL: " + msg)
    sys.exit(1)


def log_text():
    """The guest's console log so far (empty before QEMU created it)."""
    try:
        with open(LOG, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def log_has(marker):
    return marker.encode() in log_text()


class Qmp:
    """A QMP client that keeps every event with its QEMU timestamp (in `t`, seconds)."""

    def __init__(self, path=QMP_SOCKET, bound=60):
        end = time.time() + bound
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                if time.time() > end:
                    fail(f"cannot connect to QMP at {path} within {bound}s")
                time.sleep(0.2)
        self.s.settimeout(30)
        self.f = self.s.makefile("rb")
        self.events = []
        self.cpu = None  # the first CPU's QOM path, once hinted_pages() looked it up
        self._recv()  # greeting
        self.cmd("qmp_capabilities")

    def _recv(self):
        try:
            line = self.f.readline()
        except OSError as e:
            fail(f"QMP connection lost ({e}; QEMU exited?)")
        if not line:
            fail("QMP connection closed (QEMU exited?)")
        return json.loads(line)

    def cmd(self, name, **args):
        """Runs a command and returns its result; events that come first are kept."""
        try:
            self.s.sendall(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        except OSError as e:
            fail(f"QMP connection lost sending {name} ({e}; QEMU exited?)")
        while True:
            m = self._recv()
            if "event" in m:
                ts = m.get("timestamp", {})
                m["t"] = ts.get("seconds", 0) + ts.get("microseconds", 0) / 1e6
                self.events.append(m)
                continue
            if "error" in m:
                fail(f"{name} {args}: {m['error']}")
            return m["return"]

    def reports(self, since=0.0):
        """The guest's dynamic-memory status reports (HV_BALLOON_STATUS_REPORT) so far."""
        return [e for e in self.events
                if e["event"] == "HV_BALLOON_STATUS_REPORT" and e["t"] >= since]

    def hinted_pages(self):
        """The pages the guest hinted as cold-discard (QEMU patch 0006's CPU counter)."""
        if self.cpu is None:
            self.cpu = self.cmd("query-cpus-fast")[0]["qom-path"]
        return self.cmd("qom-get", path=self.cpu, property="hv-ext-hinted-pages")


def wait_marker(q, markers, bound, poll=0.5):
    """Polls QEMU (collecting its events) until one of the markers is in the guest's log;
    returns that marker."""
    if isinstance(markers, str):
        markers = [markers]
    end = time.time() + bound
    while time.time() < end:
        text = log_text()
        for m in markers:
            if m.encode() in text:
                say(f"guest printed {m!r}")
                return m
        q.cmd("query-status")
        time.sleep(poll)
    fail(f"the guest did not print {markers} within {bound}s")


def drive(q, target, ok, bound):
    """Sets the balloon target and polls query-balloon until ok(actual) holds."""
    say(f"balloon target {target // MiB} MiB")
    q.cmd("balloon", value=target)
    end = time.time() + bound
    actual = None
    last_set = time.time()
    while time.time() < end:
        actual = q.cmd("query-balloon")["actual"]
        if ok(actual):
            say(f"query-balloon actual {actual // MiB} MiB: reached")
            return
        # QEMU drops targets set during its post-init wait (50 s): repeat it now and then.
        if time.time() - last_set > 10:
            q.cmd("balloon", value=target)
            last_set = time.time()
        time.sleep(0.5)
    fail(f"query-balloon actual {actual} did not reach {target} within {bound}s")
