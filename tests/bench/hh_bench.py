#!/usr/bin/python3
"""Elephant detection benchmark (issue 11): what the datapath's sketch costs
per packet and how well it finds heavy flows, on seeded mixes
(tests/tools/aigw_mix.py) run through the real headend with
BPF_PROG_TEST_RUN (aigw-dp-run, in a throw-away namespace).

Printed, from one run:
  - ns per packet of the headend with the sketch on and off (the kernel's
    timing of each program run, syscalls excluded; median of --runs
    alternating runs) for a hot mix (Zipf(1.2) over 1 000 flows: most
    packets find their flow) and a cold one (every packet a new flow);
  - recall and precision at 1 %, 0.1 % and 0.01 % of a window's bytes for
    100 000 Zipf(1) flows (300 000 packets), against exact counts, and for
    a plain Count-Min sketch with the same memory (one window: 32 KiB, 2
    rows of 4096 32-bit counters, queried for every flow: the keys given
    to it for free) reporting every flow whose estimate reaches the
    threshold.

Run: tests/bench/hh_bench.py --runner build/tests/tools/aigw-dp-run [--runs 5]
"""
import argparse
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "datapath"))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))

import aigw_mix  # noqa: E402
import dptest  # noqa: E402
from test_elephants import THRESHOLDS, mac, named_counts, scores  # noqa: E402
from test_multipath import PATHS, config  # noqa: E402

CM_ROWS, CM_COLS = 2, 4096  # 32 KiB: one window's half of the sketch's 64 KiB
MULT_40MS = (1 << 42) // 40_000_000  # 40 ms windows, as aigwd runs them


def frames_file(flows, pkts) -> str:
    fd, path = tempfile.mkstemp(prefix="aigwt-hh-", suffix=".frames")
    os.close(fd)
    aigw_mix.write_frames(path, flows, pkts, mac(dptest.CUST0_MAC), mac(dptest.HOST_MAC))
    return path


def count_min(flows, pkts, truth):
    """Estimates of a plain Count-Min (no conservative update) over the same
    bytes."""
    import hashlib

    def col(r, key):  # seeded per row, the same in every run
        h = hashlib.blake2b(repr((r, key)).encode(), digest_size=8).digest()
        return int.from_bytes(h, "little") % CM_COLS
    cols = [[col(r, flows[i].key()) for r in range(CM_ROWS)] for i in range(len(flows))]
    table = [[0] * CM_COLS for _ in range(CM_ROWS)]
    for i, b in truth.items():  # the same as adding packet by packet
        for r in range(CM_ROWS):
            table[r][cols[i][r]] += b
    return {flows[i].key(): min(table[r][cols[i][r]] for r in range(CM_ROWS)) for i in truth}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runner", required=True)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    dptest.RUNNER = a.runner
    ns = dptest.Netns("hhb")
    try:
        ns.sysctl(*dptest.SYSCTLS)
        ns.ip_batch(dptest.TOPOLOGY)
        ifindex = ns.links()["cust0"]["ifindex"]
        r = dptest.Runner(ns, config(PATHS), "hhb")
        try:
            run(r, ifindex, a.runs)
        finally:
            r.close()
    finally:
        ns.close()


def run(r, ifindex, runs):
    hot = aigw_mix.zipf_mix(3, 1000, 100000, 1.2)
    cold_flows = aigw_mix.mice_flows(__import__("random").Random(5), 100000,
                                     aigw_mix.ip4("192.0.2.0"), aigw_mix.ip4("198.51.100.9"))
    cold = (cold_flows, [(i, 576) for i in range(len(cold_flows))])
    print("per-packet cost of the headend (BPF_PROG_TEST_RUN, the kernel's timing of single "
          f"runs: cache-cold, noisy), median of {runs} alternating runs:")
    for name, (flows, pkts) in (("hot: 1,000 Zipf(1.2) flows", hot),
                                ("cold: every packet a new flow", cold)):
        path = frames_file(flows, pkts)
        ns = {0: [], 1: []}
        for k in range(runs):
            for on in ((0, 1) if k % 2 == 0 else (1, 0)):
                r.request({"cmd": "reset"})
                r.request({"cmd": "hh_cfg", "mult": MULT_40MS if on else 0, "key_bytes": 1 << 20})
                res = r.request({"cmd": "run_frames", "prog": "headend", "ifindex": ifindex,
                                 "frames_file": path})
                ns[on].append(res["prog_ns"] / res["frames"])
        os.unlink(path)
        off, on = statistics.median(ns[0]), statistics.median(ns[1])
        diffs = sorted(b - a for a, b in zip(ns[0], ns[1]))  # paired: one run pair each
        q = statistics.quantiles(diffs, n=4) if len(diffs) >= 2 else [diffs[0]] * 3
        print(f"  {name:<32} sketch off {off:6.1f} ns   on {on:6.1f} ns   added "
              f"{statistics.median(diffs):+5.1f} ns (run pairs: quartiles {q[0]:+.1f} .. "
              f"{q[2]:+.1f})")
    flows, pkts = aigw_mix.zipf_mix(7, 100000, 300000)
    truth = aigw_mix.truth(flows, pkts)
    exact = {flows[i].key(): b for i, b in truth.items()}
    total = sum(exact.values())
    path = frames_file(flows, pkts)
    r.request({"cmd": "reset"})
    r.request({"cmd": "hh_cfg", "mult": 1, "key_bytes": int(min(THRESHOLDS) * total / 2)})
    r.request({"cmd": "run_frames", "prog": "headend", "ifindex": ifindex, "frames_file": path})
    os.unlink(path)
    counted = named_counts(r.request({"cmd": "hh_read"}))
    ours, cm = scores(exact, counted, total), scores(exact, count_min(flows, pkts, truth), total)
    print("detection, 100,000 Zipf(1) flows, 300,000 packets in one window "
          "(recall / precision against exact counts):")
    for th in THRESHOLDS:
        print(f"  {th:>6.2%} of bytes ({ours[th][2]:>4} flows): sketch (64 KiB/CPU) "
              f"{ours[th][0]:.3f} / {ours[th][1]:.3f}   Count-Min (same memory) "
              f"{cm[th][0]:.3f} / {cm[th][1]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
