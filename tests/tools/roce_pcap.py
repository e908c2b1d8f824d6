"""Captures of RoCEv2 traffic and their independent check: dumpcap writes
what crosses an interface, scapy's RoCE layer (scapy.contrib.roce, IPv4
only) recomputes the ICRC of every RoCEv2 packet in it. Used by the
endpoint emulator's test and the RDMA proxy's e2e test (what the proxy
emits reaches the hosts' interfaces)."""
import logging
import os
import subprocess
import time

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, UDP, PcapReader, raw  # noqa: E402
from scapy.contrib.roce import BTH  # noqa: E402

ROCE_PORT = 4791


class Capture:
    """dumpcap on `dev` inside namespace `ns`, RoCEv2 only, into `path`,
    from start() (which returns once dumpcap has written its file header)
    to stop()."""

    def __init__(self, ns, dev, path):
        self.ns, self.dev, self.path = ns, dev, path
        self.proc = None

    def start(self, timeout=10.0):
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "dumpcap", "-q", "-i", self.dev, "-B", "256",
             "-f", f"udp port {ROCE_PORT}", "-w", self.path],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dumpcap on {self.ns}/{self.dev}: {self.proc.stderr.read()}")
            if os.path.exists(self.path) and os.path.getsize(self.path) > 0:
                time.sleep(0.3)  # the header is written just before the capture starts
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dumpcap on {self.ns}/{self.dev} did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            time.sleep(0.3)  # what is in flight
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stderr.close()
        return self.path


def icrc_of(pkt):
    """(carried, recomputed by scapy) ICRC bytes of an IPv4 RoCEv2 packet."""
    return raw(pkt[UDP].payload)[-4:], pkt[BTH].compute_icrc(None)


def check(path):
    """Every RoCEv2 packet of a capture, checked by scapy: a dict of the
    count of packets ("packets"), those with a wrong ICRC ("bad", with up to
    10 of them in "bad_examples" as (dqp, psn)), the packets scapy cannot
    check (IPv6: "unchecked") and the PSNs of each destination QP seen
    ("psns": {dqp: set})."""
    out = {"packets": 0, "bad": 0, "bad_examples": [], "unchecked": 0, "psns": {}}
    with PcapReader(path) as r:
        for p in r:
            if BTH not in p:
                continue
            if IP not in p:
                out["unchecked"] += 1
                continue
            out["packets"] += 1
            b = p[BTH]
            out["psns"].setdefault(b.dqpn, set()).add(b.psn)
            carried, want = icrc_of(p)
            if carried != want:
                out["bad"] += 1
                if len(out["bad_examples"]) < 10:
                    out["bad_examples"].append((b.dqpn, b.psn))
    return out
