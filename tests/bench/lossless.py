#!/usr/bin/python3
"""Backpressure on and off (issue 13): drops, per-tenant throughput and the
p99 queueing delay of a tenant offered twice its share, and the buffer it
used against the README's formula.

The lab of deploy/lab/topology.py with three aigw gateways (host1 - gwa -
core - gwb - host2) configured as tests/e2e/test_lossless.py does: gwb's
customer link is the bottleneck (speed 200mbit), gold and free have rate
100mbit ceil 200mbit on both sites. Each run: free 90 Mbit/s (iperf3 UDP)
and gold 200 Mbit/s (tests/tools/pfc_host.py: numbered, time-stamped
datagrams; honours PFC) for --seconds. Mode "on": gwb and gwa are
backpressure peers and gold has pfc_priority 3; mode "off": neither (the
same queues, tail drop). The modes alternate, --runs of each; per run:
gold sent/received/lost, gold and free Mbit/s at host2, gold's one-way
delay p50/p99 (µs, sender and receiver share the monotonic clock; includes
the receiver's own socket wait), the deepest gold backlog gwb's watch saw
against the formula's buffer. Then the medians per mode.

Then, per run, a rate change timed at the receiver: gold alone offered
190 Mbit/s through gwa's queue at rate = ceil = 100mbit; 2 s in,
`aigwctl tenant set gold rate 150mbit ceil 150mbit` on gwa; host2 counts
gold's frame bytes in 50 ms bins (monotonic clock, shared with this
script): the time from the command's start to the end of the first bin at
>= 90 % of 150 Mbit/s.

Run (root): tests/bench/lossless.py [--build build] [--runs 3] [--seconds 4]
"""
import argparse
import copy
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "deploy", "lab"))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import topology as T  # noqa: E402
import test_lossless as L  # noqa: E402

A, B = T.SITES["gwa"], T.SITES["gwb"]
PFC_HOST = os.path.join(REPO, "tests", "tools", "pfc_host.py")
PY = "/usr/bin/python3"


class Bench:
    def __init__(self, build):
        self.topo = T.Topology(f"aigwt-bench-{os.getpid()}-",
                               modes={"gwa": "aigw", "core": "aigw", "gwb": "aigw"},
                               build_dir=build)
        self.topo.up(start_agents=False)
        key_file = os.path.join(self.topo.workdir, "pair.key")
        with open(key_file, "w") as f:
            f.write(L.KEY + "\n")
        L.tenants(self.topo.configs["gwa"], B.loopback, A.loopback, key_file)
        L.tenants(self.topo.configs["gwb"], A.loopback, B.loopback, key_file)
        self.on = {g: copy.deepcopy(self.topo.configs[g]) for g in ("gwa", "gwb")}
        self.off = copy.deepcopy(self.on)
        for cfg in self.off.values():
            del cfg["backpressure"]
            for t in cfg["tenants"]:
                t.pop("pfc_priority", None)
        for g in ("gwa", "core", "gwb"):
            self.topo.write_config(g)
            self.topo.start_agent(g)
        self.topo.wait_ping("host1", B.host4(), attempts=4)
        self.mode = "on"

    def set_mode(self, mode):
        if mode == self.mode:
            return
        for g in ("gwa", "gwb"):
            self.topo.write_config(g, (self.on if mode == "on" else self.off)[g])
            self.topo.ctl(g, "config", "reload")
        self.mode = mode

    def gold(self, gw):
        return {t["name"]: t for t in self.topo.ctl(gw, "tenant", "show")}["gold"]

    def run(self, mode, seconds):
        self.set_mode(mode)
        t = self.topo
        mac = t.run("gwa", ["cat", f"/sys/class/net/{A.cust_if}/address"]).stdout.strip()
        fs = t.popen("host2", ["iperf3", "-s", "-1", "-J", "-p", str(L.FREE), "-B", B.host4()])
        t.wait_listen("host2", L.FREE)
        rx = t.popen("host2", [PY, PFC_HOST, "recv", "--port", str(L.GOLD), "--idle", "1.5",
                               "--deadline", str(seconds + 30)])
        rx.stdout.readline()
        fc = t.popen("host1", ["iperf3", "-c", B.host4(), "-p", str(L.FREE), "-t", str(seconds),
                               "-J", "-u", "-b", "90M", "-l", "1200"])
        tx = t.popen("host1", [PY, PFC_HOST, "send", "--iface", "eth0", "--dst-mac", mac,
                               "--src", A.host4(), "--dst", B.host4(), "--dport", str(L.GOLD),
                               "--rate", "200e6", "--seconds", str(seconds), "--priority",
                               str(L.PRIORITY)])
        sent = json.loads(tx.communicate(timeout=seconds + 60)[0].strip().splitlines()[-1])
        got = json.loads(rx.communicate(timeout=seconds + 60)[0].strip().splitlines()[-1])
        fc.communicate(timeout=60)
        free = json.loads(fs.communicate(timeout=60)[0])["end"]["sum_received"]
        b = self.gold("gwb")
        mbps = got["unique"] * sent["frame_bytes"] * 8 / seconds / 1e6
        return {"mode": mode, "sent": sent["sent"], "received": got["unique"],
                "lost": sent["sent"] - got["unique"],
                "lost_pct": 100 * (sent["sent"] - got["unique"]) / max(sent["sent"], 1),
                "gold_mbps": mbps, "free_mbps": free["bits_per_second"] / 1e6,
                "p50_us": got["delay_us"]["p50"], "p99_us": got["delay_us"]["p99"],
                "host_paused_s": sent["paused_s"],
                "deepest_bytes": b.get("rx_deepest_bytes"),
                "formula_bytes": b.get("buffer_bytes")}

    def rate_change(self, seconds=4.0, bin_ms=50):
        self.set_mode("off")
        t = self.topo
        t.ctl("gwa", "tenant", "set", "gold", "rate", "100mbit", "ceil", "100mbit")
        mac = t.run("gwa", ["cat", f"/sys/class/net/{A.cust_if}/address"]).stdout.strip()
        rx = t.popen("host2", [PY, PFC_HOST, "recv", "--port", str(L.GOLD), "--idle", "1.5",
                               "--deadline", str(seconds + 30), "--bin-ms", str(bin_ms)])
        rx.stdout.readline()
        tx = t.popen("host1", [PY, PFC_HOST, "send", "--iface", "eth0", "--dst-mac", mac,
                               "--src", A.host4(), "--dst", B.host4(), "--dport", str(L.GOLD),
                               "--rate", "190e6", "--seconds", str(seconds)])
        time.sleep(2.0)
        t_cmd = time.monotonic()
        t.ctl("gwa", "tenant", "set", "gold", "rate", "150mbit", "ceil", "150mbit")
        tx.communicate(timeout=seconds + 60)
        got = json.loads(rx.communicate(timeout=seconds + 60)[0].strip().splitlines()[-1])
        t.ctl("gwa", "tenant", "set", "gold", "rate", "100mbit", "ceil", "200mbit")
        w = bin_ms / 1000
        rates = [(got["t0"] + (i + 1) * w, b * 8 / w / 1e6) for i, b in enumerate(got["bins"])]
        before = [r for end, r in rates if t_cmd - 1.0 < end <= t_cmd]
        done = next((end for end, r in rates if end > t_cmd and r >= 0.9 * 150), None)
        return {"before_mbps": statistics.median(before) if before else None,
                "after_s": None if done is None else round(done - t_cmd, 3)}

    def close(self):
        self.topo.down()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("AIGW_BUILD_DIR", "build"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4)
    a = ap.parse_args()
    b = Bench(os.path.abspath(a.build))
    res = {"on": [], "off": []}
    changes = []
    try:
        for _ in range(a.runs):
            for mode in ("on", "off"):
                r = b.run(mode, a.seconds)
                res[mode].append(r)
                print(json.dumps(r), flush=True)
            changes.append(b.rate_change())
            print(json.dumps({"rate_change": changes[-1]}), flush=True)
    finally:
        b.close()
    print("\nmedians (gold offered 200 Mbit/s = 2x its share; free 90 Mbit/s):")
    print(f"{'backpressure':<13}{'gold lost %':>12}{'gold Mbit/s':>13}{'free Mbit/s':>13}"
          f"{'p50 µs':>10}{'p99 µs':>10}")
    for mode in ("on", "off"):
        m = {k: statistics.median(r[k] for r in res[mode])
             for k in ("lost_pct", "gold_mbps", "free_mbps", "p50_us", "p99_us")}
        print(f"{mode:<13}{m['lost_pct']:>12.2f}{m['gold_mbps']:>13.1f}{m['free_mbps']:>13.1f}"
              f"{m['p50_us']:>10.0f}{m['p99_us']:>10.0f}")
    took = [c["after_s"] for c in changes if c["after_s"] is not None]
    print(f"rate change 100 -> 150 Mbit/s at the receiver: median "
          f"{statistics.median(took) if took else float('nan'):.2f} s after the command "
          f"({len(took)} of {len(changes)} runs reached it)")
    on = res["on"]
    print(f"buffer (on): gwb's deepest gold backlog {max(r['deepest_bytes'] for r in on)} B, "
          f"the formula's {on[0]['formula_bytes']} B")


if __name__ == "__main__":
    main()
