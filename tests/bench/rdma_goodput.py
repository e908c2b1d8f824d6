#!/usr/bin/python3
"""RoCEv2 goodput against WAN loss and round trip (issue 12's benchmark
table), end to end between two emulated RC endpoints (aigw-roce-ep: go-back-N
requester, responder that NAKs sequence errors) across a WAN stage of
seeded loss (aigw-xdp-loss on the responder's port: data is lost, ACKs are
not) and a fixed delay (aigw-delay-line, half the round trip each way), in
throw-away namespaces.

Today this measures the hosts' own go-back-N: the column the RDMA proxy is
to be compared with (the proxy's column comes with the proxy in the path).

Run: tests/bench/rdma_goodput.py [--tools build/tests/tools] [--runs 3]
       [--packets 10000] [--window 1024] [--mtu 1024]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "datapath"))
import dptest  # noqa: E402  (Netns, cleanup on exit)

RQ, RS = "fc00:e::1", "fc00:e::2"
LOSSES = [0.0, 0.0001, 0.001, 0.01, 0.02]
RTTS_MS = [1, 10]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", default=os.path.join(HERE, "..", "..", "build", "tests", "tools"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--packets", type=int, default=10000)
    ap.add_argument("--window", type=int, default=1024)
    ap.add_argument("--mtu", type=int, default=1024)
    a = ap.parse_args()
    tools = os.path.abspath(a.tools)
    rq, rs, dl = dptest.Netns("rq"), dptest.Netns("rs"), dptest.Netns("dl")
    dptest.sh("ip", "link", "add", "rqv", "netns", rq.name, "type", "veth", "peer", "name", "dla",
              "netns", dl.name)
    dptest.sh("ip", "link", "add", "rsv", "netns", rs.name, "type", "veth", "peer", "name", "dlb",
              "netns", dl.name)
    for ns, dev, addr in ((rq, "rqv", RQ), (rs, "rsv", RS)):
        ns.ip_batch(f"link set lo up\nlink set {dev} up\naddr add {addr}/64 dev {dev} nodad\n")
        # the delay line relays frames as they are: no checksum left to a device
        dptest.sh("ip", "netns", "exec", ns.name, "ethtool", "-K", dev, "tx", "off")
    dl.ip_batch("link set lo up\nlink set dla up\nlink set dlb up\n")

    def run(ns, *args, **kw):
        return subprocess.run(["ip", "netns", "exec", ns.name, os.path.join(tools, args[0]),
                               *map(str, args[1:])], capture_output=True, text=True, **kw)

    def transfer(timeout_ms):
        """timeout_ms: the requester's retransmission timer (a NIC's local
        ACK timeout; 100 ms is 4.096 us x 2^15): well above a round trip
        and a window's queueing, else a spurious timeout resends a window
        that delays the ACKs past the next timeout, and so on."""
        resp = subprocess.Popen(["ip", "netns", "exec", rs.name, os.path.join(tools, "aigw-roce-ep"),
                                 "responder", "--local", RS, "--packets", str(a.packets),
                                 "--deadline-s", "75", "--linger-ms", "100"],
                                stdout=subprocess.PIPE, text=True)
        time.sleep(0.2)
        r = run(rq, "aigw-roce-ep", "requester", "--local", RQ, "--peer", RS, "--packets", a.packets,
                "--window", a.window, "--mtu", a.mtu, "--timeout-ms", timeout_ms,
                "--deadline-s", 60, timeout=90)
        resp.communicate(timeout=90)
        return json.loads(r.stdout)

    print(f"RoCEv2 goodput, {a.packets} packets of {a.mtu} bytes, window {a.window}, "
          f"median of {a.runs} runs (seeded loss of data packets; ACKs not lost)")
    print(f"{'RTT':>6} {'loss':>8} {'goodput Mbit/s':>15} {'of loss-free':>13} "
          f"{'retransmitted':>14} {'completed':>10}")
    for rtt in RTTS_MS:
        delay = subprocess.Popen(["ip", "netns", "exec", dl.name,
                                  os.path.join(tools, "aigw-delay-line"), "--a", "dla", "--b", "dlb",
                                  "--delay-us", str(rtt * 500), "--queue", "200000"],
                                 stdout=subprocess.PIPE, text=True)
        delay.stdout.readline()  # ready
        # neighbours resolved before the first window: else the kernel
        # queues 3 packets of it and drops the rest (not the WAN's loss)
        dptest.sh("ip", "netns", "exec", rq.name, "ping", "-q", "-c", "2", "-i", "0.2", RS)
        base = None
        try:
            for loss in LOSSES:
                good, retr, done = [], [], 0
                for i in range(a.runs):
                    if loss:
                        r = run(rs, "aigw-xdp-loss", "attach", "rsv", "--loss", loss, "--seed", i + 1)
                        if r.returncode:
                            raise SystemExit(r.stderr)
                    try:
                        out = transfer(100)
                    finally:
                        if loss:
                            run(rs, "aigw-xdp-loss", "detach", "rsv")
                    if os.environ.get("AIGW_RDMA_VERBOSE"):
                        print("   ", out, flush=True)
                    good.append(out["goodput_mbps"])
                    retr.append(out["retransmitted"] / max(out["sent"], 1))
                    done += out["done"]
                g = statistics.median(good)
                base = base or g
                print(f"{rtt:>4}ms {loss * 100:>7.2f}% {g:>15.1f} {g / base:>12.1%} "
                      f"{statistics.median(retr):>13.1%} {done:>6}/{a.runs}", flush=True)
        finally:
            delay.terminate()
            delay.communicate(timeout=10)
    for ns in (rq, rs, dl):
        ns.close()


if __name__ == "__main__":
    main()
