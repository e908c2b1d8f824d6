#!/usr/bin/python3
"""RoCEv2 goodput against WAN loss and round trip, with and without the RDMA
proxy (issue 12's benchmark table), end to end between two emulated RC
endpoints (aigw-roce-ep: a go-back-N requester, a responder that NAKs
sequence errors) in the namespace lab of tests/tools/rdma_lab.py: the
gateways are plain bridges ("go-back-N") or a pair of aigw-rdma-relay
("proxy": the proxy's logic, agent/rdma, in the wire on AF_PACKET; not yet
aigwd on AF_XDP), the WAN a fixed delay with seeded loss of RoCEv2 datagrams
on the receiving gateway's WAN port (data and resends; not ACKs or NACKs).
"duplicates": PSNs the responder received twice with the proxy (resends the
proxy asked for again while the first was on its way), per packet sent.

Run: tests/bench/rdma_goodput.py [--tools build/tests/tools] [--runs 3]
       [--packets 10000] [--window 1024] [--mtu 1024] [--rtts 1,10]
       [--losses 0,0.0001,0.001,0.01,0.02]
"""
import argparse
import os
import random
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import rdma_lab  # noqa: E402

LOSSES = [0.0, 0.0001, 0.001, 0.01, 0.02]
RTTS_MS = [1, 10]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", default=os.path.join(HERE, "..", "..", "build", "tests", "tools"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--packets", type=int, default=10000)
    ap.add_argument("--window", type=int, default=1024)
    ap.add_argument("--mtu", type=int, default=1024)
    ap.add_argument("--rtts", default=",".join(map(str, RTTS_MS)), help="ms, comma-separated")
    ap.add_argument("--losses", default=",".join(map(str, LOSSES)), help="comma-separated")
    a = ap.parse_args()
    rtts = [int(x) for x in a.rtts.split(",")]
    losses = [float(x) for x in a.losses.split(",")]
    lab = rdma_lab.RdmaLab(a.tools)
    rnd = random.Random(1)
    print(f"RoCEv2 goodput, {a.packets} packets of {a.mtu} bytes, window {a.window}, median of "
          f"{a.runs} runs; requester timeout 100 ms")
    print(f"{'RTT':>5} {'loss':>7} | {'go-back-N Mbit/s':>16} {'of loss-free':>12} {'resent':>7} | "
          f"{'proxy Mbit/s':>12} {'of loss-free':>12} {'host resent':>11} {'responder OOO':>13} "
          f"{'duplicates':>10}")
    try:
        for rtt in rtts:
            base = {}
            rows = {}
            for proxy in (False, True):
                lab.start(rtt_ms=rtt, proxy=proxy)
                for loss in losses:
                    good, resent, ooo, dups = [], [], [], []
                    for i in range(a.runs):
                        lab.loss(loss, seed=i + 1)
                        try:
                            rq, rs = lab.transfer(a.packets, a.window, a.mtu,
                                                  psn=rnd.getrandbits(24), qp=rnd.getrandbits(24))
                        finally:
                            lab.loss(0, 0)
                        if os.environ.get("AIGW_RDMA_VERBOSE"):
                            print("   ", proxy, loss, rq, rs, flush=True)
                        good.append(rq["goodput_mbps"])
                        resent.append(rq["retransmitted"] / max(rq["sent"], 1))
                        ooo.append(rs["out_of_order"])
                        dups.append(rs["duplicates"] / a.packets)
                    g = statistics.median(good)
                    base.setdefault(proxy, g)
                    rows[(proxy, loss)] = (g, g / base[proxy], statistics.median(resent),
                                           max(ooo), statistics.median(dups))
                lab.stop()
            for loss in losses:
                g0, r0, s0, _, _ = rows[(False, loss)]
                g1, r1, s1, o1, d1 = rows[(True, loss)]
                print(f"{rtt:>3}ms {loss * 100:>6.2f}% | {g0:>16.1f} {r0:>12.1%} {s0:>7.1%} | "
                      f"{g1:>12.1f} {r1:>12.1%} {s1:>11.1%} {o1:>13} {d1:>10.2%}", flush=True)
    finally:
        lab.close()


if __name__ == "__main__":
    main()
