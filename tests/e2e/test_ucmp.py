#!/usr/bin/python3
"""Elephants on four unequal WAN paths (issue 11, item 7): gwa's policy has
four paths to site B, one per core link, shaped by tc HTB on the core's
egress to 40, 30, 20 and 10 Mbit/s (the core is a plain kernel router
here, so the qdiscs see every packet; gwb's End.DT46 SIDs c1..c4 each sit
behind one link). Eight TCP elephants (iperf3) run together with a
sequence-numbered UDP stream and a few mice.

Judged (test_placed_by_capacity): every path carries elephants (at least
a quarter of its capacity used, where mice alone fill well under 1 %);
together they use at least 90 % of the shaped capacity (wire bytes); the
UDP stream arrives without reordering (moves happen only at gaps); the
mice are never elephants; `policy show -s` reports the paths' loads. The time from the first packet to confirmation (detection
delay) and the placement are printed.

The benchmark (tests/bench/ucmp.sh: AIGW_UCMP_RUNS=N, -k bench) runs N
rounds of placement against plain hashing (`place: false`,
`adapt_weights: false`: the configured weights 4:3:2:1) and prints the
capacity used and the goodput of each round, then the median, mean and
worst of each mode and their ratios."""

import json
import os
import re
import statistics
import time

import e2e_common as E
from e2e_common import B

T = E.T
DST4, PFX4, PFX6 = E.EXTRA4, E.EXTRA_PFX4, E.EXTRA_PFX6
RATES = (40, 30, 20, 10)  # Mbit/s, path i+1 on core link i+1
FLOWS, SECONDS, OMIT = 8, 8, 2
IPERF_BASE, UDP_PORT, MICE_BASE = 5301, 9500, 9510
MICE = 3
# Bottleneck queues of QUEUE_MS, at least 8 frames (9.7 ms at 10 Mbit/s): the
# paths' delays differ by less than the flowlet gap.
QUEUE_MS, GAP_MS = 5, 10


def link_if(i, side):  # i = 1..4; the original link is core-gwb / gwb-core
    return f"{side}-{'gwb' if side == 'core' else 'core'}" + ("" if i == 1 else str(i))


def link_net(i):
    return f"fc00:b{i}"


def sid(i):
    return f"fc00:b::c{i}"


class Ucmp(E.TopoCase):
    MODES = {"gwa": "aigw", "core": "transit", "gwb": "aigw"}

    @classmethod
    def configure(cls, topo):
        E.add_extra_prefix(topo)
        for i in range(2, len(RATES) + 1):
            cls.add_link(topo, i)
        for i, rate in enumerate(RATES, 1):
            cls.shape(topo, link_if(i, "core"), rate)
        g = topo.configs["gwa"]
        g["agent"]["log_level"] = "debug"  # placements in the log (diag)
        # Thresholds as shares of the policy's capacity (100 Mbit/s): 2 and
        # 1 Mbit/s; other flows keep the absolute defaults (100 / 50).
        g["elephants"] = {"window_ms": 40, "enter_pct": 2, "leave_pct": 1, "hold_ms": 400,
                          "flowlet_gap_us": GAP_MS * 1000}
        g["policies"].append({
            "name": "ucmp", "prefixes": [PFX4, PFX6], "source": T.SITES["gwa"].loopback,
            "paths": [{"segments": [sid(i)], "capacity_mbps": r} for i, r in enumerate(RATES, 1)]})
        b = topo.configs["gwb"]
        b["interfaces"] += [{"name": link_if(i, "gwb"), "role": "wan"}
                            for i in range(2, len(RATES) + 1)]
        b["sids"] += [{"sid": sid(i) + "/128", "behavior": "End.DT46", "table": 254}
                      for i in range(1, len(RATES) + 1)]
        for i in range(1, len(RATES) + 1):  # core: SID i behind link i
            via = B.wan_addr if i == 1 else f"{link_net(i)}::1"
            topo.ip("core", "-6", "route", "add", sid(i) + "/128", "via", via,
                    "dev", link_if(i, "core"))

    @classmethod
    def add_link(cls, topo, i):
        ci, gi = link_if(i, "core"), link_if(i, "gwb")
        T.run(["ip", "-n", topo.ns("core"), "link", "add", ci, "mtu", str(topo.mtu), "type", "veth",
               "peer", "name", gi, "mtu", str(topo.mtu), "netns", topo.ns("gwb")])
        for n, ifn, host in (("core", ci, 2), ("gwb", gi, 1)):
            topo.sysctl(n, [(f"net.ipv6.conf.{ifn}.accept_dad", 0)])
            topo.run(n, ["ethtool", "-K", ifn, "tx", "off"])
            topo.ip(n, "addr", "add", f"{link_net(i)}::{host}/64", "dev", ifn, "nodad")
            topo.ip(n, "link", "set", ifn, "up")
        topo.ip("core", "link", "set", "dev", ci, "xdpdrv", "obj", topo.xdp_pass_obj, "sec", "xdp")

    @classmethod
    def shape(cls, topo, ifn, mbit):
        # HTB at `mbit` (wire bytes, burst of a few frames) with a FIFO of
        # QUEUE_MS at that rate, at least 8 frames (with less, TCP flows
        # sharing the path stall in retransmission timeouts).
        limit = max(8 * 1514, mbit * 1000 * QUEUE_MS // 8)
        for cmd in (f"qdisc add dev {ifn} root handle 1: htb default 1",
                    f"class add dev {ifn} parent 1: classid 1:1 htb rate {mbit}mbit "
                    f"ceil {mbit}mbit burst 6k cburst 6k quantum 1514",
                    f"qdisc add dev {ifn} parent 1:1 handle 10: bfifo limit {limit}"):
            topo.run("core", ["tc", *cmd.split()])

    # -------------------------------------------------------------- helpers
    def sent_bytes(self):
        """Wire bytes each shaper sent, path 1..4."""
        out = []
        for i in range(1, len(RATES) + 1):
            cp = self.topo.run("core", ["tc", "-s", "class", "show", "dev", link_if(i, "core")])
            m = re.search(r"class htb 1:1 .*?Sent (\d+) bytes", cp.stdout, re.S)
            self.assertIsNotNone(m, cp.stdout)
            out.append(int(m.group(1)))
        return out

    def set_place(self, place):
        """place: false is plain hashing over the configured weights (no
        pins, no adapted weights)."""
        g = self.topo.configs["gwa"]
        if g["elephants"].get("place", True) == place:
            return
        g["elephants"]["place"] = place
        g["elephants"]["adapt_weights"] = place
        self.topo.write_config("gwa")
        cp = self.topo.ctl_raw("gwa", "config", "reload")
        self.assertEqual(cp.returncode, 0, f"reload: {cp.stdout}{cp.stderr}")

    def elephants(self):
        d = self.topo.ctl("gwa", "flow", "elephants")
        return d if isinstance(d, dict) else {}

    def wait_quiet(self, timeout=8.0):
        """No elephant and no pin left from a previous round."""
        deadline, d = time.monotonic() + timeout, {}
        while time.monotonic() < deadline:
            d = self.elephants()
            if not d.get("elephants") and not d.get("pins"):
                return
            time.sleep(0.3)
        self.fail(f"elephants of an earlier round remain: {d}")

    def round(self, udp=True):
        """8 iperf3 elephants (+ the UDP stream and mice): a dict of what was
        measured. The capacity used is the shapers' wire bytes over the
        middle of the run (after OMIT s, before the end) against their rates."""
        t = self.topo
        ports = [IPERF_BASE + k for k in range(FLOWS)]
        srv = [t.popen("host2", ["iperf3", "-s", "-1", "-p", str(p), "-B", DST4]) for p in ports]
        for p in ports:
            self.assertTrue(t.wait_listen("host2", p), f"iperf3 server {p}")
        extra = []
        if udp:
            uports = [UDP_PORT] + [MICE_BASE + k for k in range(MICE)]
            extra = [self.start_flow("host2", "udp-recv", "--bind", DST4, "--port", str(p),
                                     "--max-time", str(SECONDS + 20)) for p in uports]
            for p in uports:
                self.assertTrue(t.wait_listen("host2", p, proto="udp"), f"udp-recv {p}")
        t0 = time.monotonic()
        cli = [t.popen("host1", ["iperf3", "-c", DST4, "-p", str(p), "-J", "-t", str(SECONDS),
                                 "--connect-timeout", "5000"]) for p in ports]
        send = []
        if udp:  # ~4 Mbit/s with a pause longer than the gap every 0.1 s; mice: 20 pps
            send.append(self.start_flow("host1", "udp-send", "--dst", DST4, "--port",
                                        str(UDP_PORT), "--rate", "500", "--count",
                                        str(500 * (SECONDS - 1)), "--size", "1000",
                                        "--pause-every", "50", "--pause-ms", str(GAP_MS + 2)))
            send += [self.start_flow("host1", "udp-send", "--dst", DST4, "--port",
                                     str(MICE_BASE + k), "--rate", "20", "--count",
                                     str(20 * (SECONDS - 1))) for k in range(MICE)]
        confirmed, els, wire, pol, timeline = {}, [], None, None, []
        while time.monotonic() < t0 + SECONDS - 0.5:
            d = self.elephants()
            now = time.monotonic()  # after the answer: delays rounded up
            # out: towards site B (the ACKs coming back may count as well)
            els = [e for e in d.get("elephants", []) if e.get("dir") == "out"]
            for e in els:
                confirmed.setdefault(e.get("dport"), now - e.get("since_s", 0))
            timeline.append(f"{now - t0:.1f}s " + " ".join(
                f"{e['dport']}:{e['path'][-1]}>{e.get('placed', '-')[-1]}@{e['bps'] / 1e6:.0f}"
                for e in sorted(els, key=lambda e: e["dport"])))
            if wire is None and now >= t0 + OMIT:
                wire = (now, self.sent_bytes())
            elif pol is None and wire is not None and now >= wire[0] + 1.5:
                pol = t.ctl("gwa", "policy", "show", "-s", "ucmp")[0]
            time.sleep(0.1)
        w1 = (time.monotonic(), self.sent_bytes())
        res = [self.finish_iperf(c) for c in cli]
        for s in srv:
            t.stop_proc(s, timeout=3)
        udp_res = [self.finish_flow(p, 30) for p in send] + [self.finish_flow(p, 30) for p in extra]
        span = w1[0] - wire[0]
        used = [(b1 - b0) * 8 / span / (r * 1e6) for b0, b1, r in zip(wire[1], w1[1], RATES)]
        return {
            "used": sum((b1 - b0) * 8 / span for b0, b1 in zip(wire[1], w1[1])) / (sum(RATES) * 1e6),
            "per_path": used,
            # bytes over the common run time (a sum of per-flow rates over
            # their own receive times would overstate it)
            "goodput_bps": sum(r["end"]["sum_received"]["bytes"] for r in res) * 8 / SECONDS,
            "elephants": els, "ever": set(confirmed), "udp": udp_res[len(send):],
            "ports": ports, "policy": pol, "timeline": timeline,
            "tcp_delays": sorted(confirmed[p] - t0 for p in ports if p in confirmed),
            "udp_delay": confirmed[UDP_PORT] - udp_res[0]["first_monotonic"]
            if udp and UDP_PORT in confirmed else None}

    def finish_iperf(self, p):
        out, err = p.communicate(timeout=SECONDS + 30)
        if p in self.topo.procs:
            self.topo.procs.remove(p)
        self.assertEqual(p.returncode, 0, f"iperf3: {out[-400:]} {err[-400:]}")
        return json.loads(out)

    # ---------------------------------------------------------------- tests
    def test_placed_by_capacity(self):
        self.wait_quiet()
        r = self.round()
        timeline = "; elephants (port:path>placed@Mbit/s) over time:\n" + "\n".join(r["timeline"])
        if os.environ.get("AIGW_UCMP_TRACE") == "1":
            print(timeline, end="")
        els = [e for e in r["elephants"] if e.get("dport") in r["ports"]]
        on = {}
        for e in els:
            on[e.get("path")] = on.get(e.get("path"), 0) + 1
        delays = r["tcp_delays"]
        print(f"\n  elephants per path {dict(sorted(on.items()))}; capacity used "
              f"{r['used']:.3f} (per path {', '.join(f'{u:.2f}' for u in r['per_path'])}); "
              f"goodput {r['goodput_bps'] / 1e6:.1f} Mbit/s; detection delay of the UDP stream "
              f"{(r['udp_delay'] or 0) * 1e3:.0f} ms (first packet to confirmed), of the TCP "
              f"flows from the start of iperf3: median {statistics.median(delays or [0]) * 1e3:.0f}"
              f" ms, max {max(delays or [0]) * 1e3:.0f} ms", end="")
        print("\n  " + "; ".join(f"{e['dport']}: {e['bps'] / 1e6:.1f} Mbit/s on {e['path']}, "
                                 f"placed {e.get('placed')}, moves {e.get('moves')}, "
                                 f"since {e.get('since_s', 0):.1f}s"
                                 for e in sorted(els, key=lambda e: e["dport"])), end="")
        self.assertEqual(sorted(r["ever"]), sorted(r["ports"] + [UDP_PORT]),
                         f"the TCP flows and the UDP stream were elephants, the mice never: "
                         f"{r['elephants']}{self.diag(['gwa'])}")
        # Every path carries elephants (a path without one would carry only
        # mice: a few kbit/s). A TCP flow on a full path seldom pauses, so a
        # move there can wait a few seconds for its gap: a quarter of the
        # capacity is the bar for each path; together they fill it.
        self.assertGreaterEqual(min(r["per_path"]), 0.25,
                                f"share of each path used: {r['per_path']}{timeline}")
        self.assertGreaterEqual(r["used"], 0.90, f"capacity used: {r}")
        # `policy show -s`: each path's load (about the last second; what gwa
        # sends, inner packets: a few % below the wire bytes the shapers
        # count, and above what they pass when TCP overshoots) near its
        # capacity, together near the capacity used; its elephants.
        paths = r["policy"]["paths"]
        self.assertEqual([p.get("capacity_bps") for p in paths], [x * 1e6 for x in RATES], paths)
        loads = [p.get("load_bps", 0) for p in paths]
        for load, x in zip(loads, RATES):
            self.assertTrue(0 < load < 1.5 * x * 1e6, f"load of each path: {paths}{timeline}")
        self.assertGreater(sum(loads), 0.8 * sum(RATES) * 1e6, f"loads: {paths}{timeline}")
        self.assertTrue(0 < sum(p.get("elephants", 0) for p in paths) <= FLOWS + 1, paths)
        seq, mice = r["udp"][0], r["udp"][1:]
        self.assertEqual((seq["duplicates"], seq["reordered"]), (0, 0),
                         f"UDP stream: {seq}; elephants {r['elephants']}")
        self.assertGreater(seq["unique"], 0, seq)
        for m in mice:
            self.assertGreater(m["unique"], 0, f"a mouse got through: {m}")
        self.assertIsNotNone(r["udp_delay"], f"the UDP stream is an elephant: {r['elephants']}")
        self.assertLess(r["udp_delay"], 1.0, "detection delay of the UDP stream")

    def test_bench_placement_vs_hashing(self):
        runs = int(os.environ.get("AIGW_UCMP_RUNS", "0"))
        if runs <= 0:
            self.skipTest("benchmark: tests/bench/ucmp.sh (AIGW_UCMP_RUNS=N)")
        rows = {True: [], False: []}
        for k in range(runs):
            for place in (False, True):
                self.set_place(place)
                self.wait_quiet()
                r = self.round(udp=False)
                paths = {}
                for e in r["elephants"]:
                    paths[e.get("path")] = paths.get(e.get("path"), 0) + 1
                rows[place].append(r)
                print(f"\n  round {k + 1} {'placed ' if place else 'hashing'}: used "
                      f"{r['used']:.3f}, goodput {r['goodput_bps'] / 1e6:5.1f} Mbit/s, "
                      f"elephants per path {dict(sorted(paths.items()))}", end="")
        self.set_place(True)
        used = {p: [x["used"] for x in rows[p]] for p in rows}
        good = {p: statistics.median(x["goodput_bps"] for x in rows[p]) for p in rows}
        med = {p: statistics.median(used[p]) for p in rows}
        mean = {p: statistics.mean(used[p]) for p in rows}
        print(f"\n  {runs} rounds: capacity used, placed median {med[True]:.3f} mean "
              f"{mean[True]:.3f} worst {min(used[True]):.3f}; hashing median {med[False]:.3f} "
              f"mean {mean[False]:.3f} worst {min(used[False]):.3f}; ratio of the means "
              f"{mean[True] / mean[False]:.3f}, of the worst {min(used[True]) / min(used[False]):.3f}"
              f"; goodput median placed {good[True] / 1e6:.1f} Mbit/s, hashing "
              f"{good[False] / 1e6:.1f} Mbit/s of {sum(RATES)} Mbit/s shaped", end="")

if __name__ == "__main__":
    E.main()
