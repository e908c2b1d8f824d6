#!/usr/bin/python3
"""Elephant flows in the datapath (issue 11, items 2 and 3): the heavy-hitter
sketch against exact ground truth, with the flow table in use and full; the
per-flow pins the agent writes, followed at flowlet gaps only.

Ground truth is the generator's own byte count per flow
(tests/tools/aigw_mix.py); the sketch is read raw from the map
(aigw-dp-run hh_read) and summed per flow as the agent does.
Run: tests/datapath/test_elephants.py --runner build/tests/tools/aigw-dp-run
"""
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tools"))

import aigw_mix  # noqa: E402
from dptest import CUST0_MAC, HOST_MAC, DatapathCase, Ether, IPv6, run_module  # noqa: E402
from test_multipath import PATHS, config, frame  # noqa: E402

SEED, NFLOWS, NPKTS = 7, 100000, 300000
THRESHOLDS = (0.01, 0.001, 0.0001)
GAP_NS = 200_000_000  # a flowlet gap no test-run loop stalls for


def mac(s: str) -> bytes:
    return bytes(int(x, 16) for x in s.split(":"))


class Sketch:
    """The mix once for the whole module: frames file and ground truth."""
    flows = pkts = truth = None
    path = None

    @classmethod
    def get(cls):
        if cls.path is None:
            cls.flows, cls.pkts = aigw_mix.zipf_mix(SEED, NFLOWS, NPKTS)
            cls.truth = aigw_mix.truth(cls.flows, cls.pkts)
            fd, cls.path = tempfile.mkstemp(prefix="aigwt-mix-", suffix=".frames")
            os.close(fd)
            aigw_mix.write_frames(cls.path, cls.flows, cls.pkts, mac(CUST0_MAC), mac(HOST_MAC))
        return cls


def key_tuple(hexkey: str):
    """(src, dst, sport, dport, proto, qp) of an IPv4 flow key (abi.h)."""
    k = bytes.fromhex(hexkey)
    src, dst = int.from_bytes(k[0:4], "big"), int.from_bytes(k[16:20], "big")
    sport, dport = int.from_bytes(k[32:34], "big"), int.from_bytes(k[34:36], "big")
    return (src, dst, sport, dport, k[36], int.from_bytes(k[39:42], "big"))


def named_counts(sk: dict) -> dict:
    """The sketch as the agent reads it (aigw-dp-run hh_read): bytes summed
    per fingerprint over stages and CPUs, named through aigw_hh_keys (flow
    tuple -> bytes; unnamed counts are left out)."""
    by_fp = {}
    for s in sk["slots"]:
        by_fp[s["fp"]] = by_fp.get(s["fp"], 0) + s["bytes"]
    names = {k["fp"]: key_tuple(k["key"]) for k in sk["keys"]}
    counted = {}
    for fp, b in by_fp.items():
        if fp in names:
            counted[names[fp]] = counted.get(names[fp], 0) + b
    return counted


def scores(exact: dict, est: dict, total: int) -> dict:
    """threshold -> (recall, precision, heavy flows, missed [(exact, est)])
    of the flows est reports at or above each threshold of the bytes."""
    out = {}
    for th in THRESHOLDS:
        want = {k for k, b in exact.items() if b >= th * total}
        got = {k for k, b in est.items() if b >= th * total}
        tp = len(want & got)
        missed = sorted((exact[k], est.get(k, 0)) for k in want - got)
        out[th] = (tp / len(want) if want else 1.0, tp / len(got) if got else 1.0, len(want),
                   missed)
    return out


class Detection(DatapathCase):
    """300k packets of 100k Zipf(1) flows through the headend."""
    TAG = "hh"
    CONFIG = config(PATHS)

    def measure(self):
        mix = Sketch.get()
        exact = {mix.flows[i].key(): b for i, b in mix.truth.items()}
        total = sum(exact.values())
        self.runner.request({"cmd": "reset"})
        # flows are named from half the lowest threshold on (the agent: half
        # its leave rate), so the LRU of names holds the ~1700 candidates
        r = self.runner.request({"cmd": "hh_cfg", "mult": 1,
                                 "key_bytes": int(min(THRESHOLDS) * total / 2)})
        self.assertEqual(r.get("ok"), True, r)
        r = self.runner.request({"cmd": "run_frames", "prog": "headend",
                                 "ifindex": self.ifindex["cust0"], "frames_file": mix.path})
        self.assertEqual(r.get("frames"), NPKTS, r)
        self.assertEqual(r["verdicts"].get("XDP_REDIRECT"), NPKTS, r)
        sk = self.runner.request({"cmd": "hh_read"})
        epochs = {s["epoch"] for s in sk["slots"]}
        self.assertLessEqual(len(epochs), 2, "one window (two if the run crossed a boundary)")
        counted = named_counts(sk)
        for k, b in counted.items():
            self.assertIn(k, exact, "the sketch names only flows that were sent")
            self.assertLessEqual(b, exact[k], "a count never exceeds the flow's bytes")
        out = scores(exact, counted, total)
        for th, (rec, prec, n, missed) in out.items():
            print(f"\n  threshold {th:.2%} of bytes: {n} heavy flows, recall {rec:.3f}, "
                  f"precision {prec:.3f}; missed (exact, counted): {missed[:5]}", end="")
        return out

    def test_1_recall_and_precision(self):
        """At 1% and 0.1% of the window's bytes recall is >= 0.99 (issue 11's
        target; 64 KiB per CPU); precision is 1 at every threshold: a count
        never exceeds the flow's bytes."""
        r = self.measure()
        self.assertEqual(r[0.01][0], 1.0)
        self.assertGreaterEqual(r[0.001][0], 0.99)
        for th in THRESHOLDS:
            self.assertEqual(r[th][1], 1.0)


class DetectionFullTable(Detection):
    """The same with a flow table of 1024 entries, full after the first
    thousand flows: the sketch does not depend on it."""
    TAG = "hhfull"
    CONFIG = config(PATHS).replace("datapath:\n", "datapath:\n  map_sizes:\n    flows: 1024\n", 1)

    def test_2_table_full_counted(self):
        self.measure()
        ev = self.stats()["events"]
        self.assertGreater(ev.get("flow_table_full", 0), 0, "the table did fill up")


class Pins(DatapathCase):
    """A pin moves its flow only after an idle gap; other flows stay."""
    TAG = "pin"
    CONFIG = config(PATHS)

    def path_slots(self):
        """nsids -> slot: the three paths have 1, 2 and 3 segments."""
        v = self.runner.request({"cmd": "policy_slots"})["valid"]
        return {e["nsids"]: e["slot"] for e in v}

    def sid_of(self, sport):
        r = self.runner.request({"prog": "headend", "ifindex": self.ifindex["cust0"],
                                 "pkt": frame(sport).hex()})
        self.assertEqual(r.get("verdict"), "XDP_REDIRECT", r)
        return Ether(bytes.fromhex(r["out"]))[IPv6].dst

    def burst(self, sport, n):
        fd, path = tempfile.mkstemp(prefix="aigwt-burst-")
        with os.fdopen(fd, "wb") as f:
            fr = frame(sport)
            for _ in range(n):
                f.write(len(fr).to_bytes(2, "little") + fr)
        before = {s["slot"]: s["packets"] for s in
                  self.runner.request({"cmd": "pol_stats"})["pol_stats"]}
        r = self.runner.request({"cmd": "run_frames", "prog": "headend",
                                 "ifindex": self.ifindex["cust0"], "frames_file": path})
        os.unlink(path)
        self.assertEqual(r.get("frames"), n, r)
        after = {s["slot"]: s["packets"] for s in
                 self.runner.request({"cmd": "pol_stats"})["pol_stats"]}
        return {s: after[s] - before.get(s, 0) for s in after if after[s] != before.get(s, 0)}

    def pin_of(self, sport):
        return [p for p in self.runner.request({"cmd": "pins"})["pins"] if p["sport"] == sport]

    def test_1_moves_at_gap_only(self):
        slots = self.path_slots()
        sid_slot = {segs[0]: slots[len(segs)] for segs, _ in PATHS}
        others = {sp: self.sid_of(sp) for sp in range(20000, 20200)}
        sport = 30000
        home = sid_slot[self.sid_of(sport)]
        key = [f for f in self.runner.request({"cmd": "flows"})["flows"]
               if f["sport"] == sport][0]["key"]
        target = [s for s in slots.values() if s != home][0]
        r = self.runner.request({"cmd": "pin", "key": key, "head": slots[1], "target": target,
                                 "gap_ns": GAP_NS})
        self.assertTrue(r.get("ok"), r)
        # back to back: no gap, so the flow stays where it was
        self.assertEqual(self.burst(sport, 50), {home: 50})
        p = self.pin_of(sport)[0]
        self.assertEqual((p["cur"], p["target"], p["moves"]), (home, target, 0))
        flow = [f for f in self.runner.request({"cmd": "flows"})["flows"] if f["sport"] == sport]
        self.assertEqual(flow[0]["pinned"], 1, "the flow entry knows it is pinned")
        time.sleep(GAP_NS / 1e9 * 1.5)
        self.assertEqual(self.burst(sport, 10), {target: 10}, "moved after the gap")
        p = self.pin_of(sport)[0]
        self.assertEqual((p["cur"], p["moves"]), (target, 1))
        # the other flows kept their paths (the pin's generation bump included)
        self.assertEqual({sp: self.sid_of(sp) for sp in others}, others)
        # the 200 lookups above may take longer than a gap on a loaded
        # machine: send again so that the release below starts mid-flowlet
        self.assertEqual(self.burst(sport, 5), {target: 5})
        # released: back to the hash path, again only after a gap
        self.runner.request({"cmd": "pin", "key": key, "head": slots[1], "target": 0,
                             "gap_ns": GAP_NS, "keep": True})
        self.assertEqual(self.burst(sport, 20), {target: 20})
        self.assertEqual(self.pin_of(sport)[0]["home"], 0)
        time.sleep(GAP_NS / 1e9 * 1.5)
        self.assertEqual(self.burst(sport, 10), {home: 10}, "home after the gap")
        p = self.pin_of(sport)[0]
        self.assertEqual((p["cur"], p["home"], p["moves"]), (home, 1, 2))
        self.runner.request({"cmd": "unpin", "key": key})

    def test_2_pin_to_a_foreign_slot_is_ignored(self):
        """A pin whose target is not a path of the flow's policy (a stale
        pin after a reload) leaves the flow on its hash path."""
        slots = self.path_slots()
        sport = 31000
        first = self.sid_of(sport)
        key = [f for f in self.runner.request({"cmd": "flows"})["flows"]
               if f["sport"] == sport][0]["key"]
        foreign = max(self.runner.request({"cmd": "policy_slots"})["max_entries"] - 1, 1)
        self.runner.request({"cmd": "pin", "key": key, "head": slots[1], "target": foreign,
                             "gap_ns": 0})
        time.sleep(0.01)
        for _ in range(3):
            self.assertEqual(self.sid_of(sport), first)
        self.runner.request({"cmd": "unpin", "key": key})


if __name__ == "__main__":
    try:
        run_module()
    finally:
        if Sketch.path:
            os.unlink(Sketch.path)
