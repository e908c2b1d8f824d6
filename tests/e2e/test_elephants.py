#!/usr/bin/python3
"""Elephant flows in the lab (issue 11, items 2, 3 and 5): gwa runs a policy
with two paths to site B of configured capacity 40 and 20 Mbit/s (through
the core's End, and straight to gwb's End.DT46) and detects elephants over
10 Mbit/s. Three UDP streams of ~20 Mbit/s each (sequence-numbered, with a
short silence every 0.2 s: flowlet gaps) and a few mice run together.

Judged: `aigwctl flow elephants` lists the three streams, each placed; the
placement follows the capacities (two on the 40 Mbit/s path, one on the
20); the flows end on the paths they were placed on (the flow table); every
stream arrives whole, without duplicates and in order (a move happens only
at a gap); the mice are not elephants; once the streams stop, the
elephants leave and the pins go. The paths are not shaped here (no HTB on
the core links): capacity is what the configuration says."""

import json
import os
import struct
import subprocess
import time

import e2e_common as E
from e2e_common import A, B

T = E.T
DST4, PFX4, PFX6 = E.EXTRA4, E.EXTRA_PFX4, E.EXTRA_PFX6
STREAMS, RATE, SIZE, COUNT = 3, 2500, 1000, 15000  # 2500 pps x ~1 kB: ~20 Mbit/s, 6 s
MICE = 4
BUCKETS = 1021  # AIGW_PATH_BUCKETS


class Elephants(E.TopoCase):

    @classmethod
    def configure(cls, topo):
        E.add_extra_prefix(topo)
        g = topo.configs["gwa"]
        g["agent"]["log_level"] = "debug"  # placements in the log (diag)
        g["elephants"] = {"window_ms": 40, "enter_mbps": 10, "leave_mbps": 5, "hold_ms": 400,
                          "flowlet_gap_us": 5000}
        g["policies"].append({
            "name": "ele", "prefixes": [PFX4, PFX6], "source": A.loopback,
            "paths": [{"segments": [T.CORE_END, B.sid("d46")], "capacity_mbps": 40},
                      {"segments": [B.sid("d46")], "capacity_mbps": 20}]})

    def buckets(self):
        """Buckets per path in gwa's bucket table of policy ele (bpftool)."""
        slot = self.topo.ctl("gwa", "policy", "show", "ele")[0]["slot"]
        path = os.path.join(self.topo.pin_dir_outside("gwa"), "aigw_path_groups")
        cp = subprocess.run(["bpftool", "-j", "map", "lookup", "pinned", path, "key",
                             *[str(b) for b in struct.pack("<I", slot)]],
                            capture_output=True, text=True, timeout=30)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        v = json.loads(cp.stdout)
        v = v.get("formatted", v)["value"] if "formatted" in v else v["value"]
        if isinstance(v, dict):
            table = [int(b) for b in v["bucket"]]
        else:  # hex bytes: npaths, 8 slots, then the buckets
            table = list(bytes(int(x, 16) for x in v)[4 + 4 * 8:])
        return [table[:BUCKETS].count(i) for i in range(2)]

    def mice_weights(self):
        return [p.get("mice_weight") for p in
                self.topo.ctl("gwa", "policy", "show", "-s", "ele")[0]["paths"]]

    def wait_weights(self, pred, timeout):
        deadline, w = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            w = self.mice_weights()
            if None not in w and pred(w):
                return w
            time.sleep(0.2)
        self.fail(f"mice weights {w}{self.diag(['gwa'])}")

    def test_mice_weights_follow_room(self):
        """adapt_weights: one ~20 Mbit/s elephant fills its path's room, so
        the mice's weights move away from the configured 2:1 (40 and 20
        Mbit/s); the bucket table the headend hashes new flows over follows
        them (bpftool), and goes back to 2:1 once the elephant is gone."""
        t = self.topo
        self.assertEqual(self.wait_weights(lambda w: w[0] == 2 * w[1], 5), [1000, 500])
        self.assertAlmostEqual(self.buckets()[0] / BUCKETS, 2 / 3, delta=0.01)
        port = 9390
        recv = self.start_flow("host2", "udp-recv", "--bind", DST4, "--port", str(port),
                               "--max-time", "30")
        self.assertTrue(t.wait_listen("host2", port, proto="udp"), "udp-recv")
        send = self.start_flow("host1", "udp-send", "--dst", DST4, "--port", str(port),
                               "--rate", str(RATE), "--count", str(RATE * 3), "--size", str(SIZE))
        w = self.wait_weights(lambda w: w[0] != 2 * w[1], 3)
        b = self.buckets()
        print(f"\n  with the elephant: mice weights {w}, buckets {b}", end="")
        self.assertAlmostEqual(b[0] / BUCKETS, w[0] / sum(w), delta=0.01, msg=f"{w} {b}")
        self.finish_flow(send, 30)
        self.finish_flow(recv, 30)
        w = self.wait_weights(lambda w: w[0] == 2 * w[1], 5)
        self.assertAlmostEqual(self.buckets()[0] / BUCKETS, 2 / 3, delta=0.01)

    def elephants(self):
        d = self.topo.ctl("gwa", "flow", "elephants")
        return d if isinstance(d, dict) else {}

    def test_streams_are_placed_by_capacity(self):
        t = self.topo
        pol = t.ctl("gwa", "policy", "show", "ele")[0]
        self.assertEqual(len(pol["paths"]), 2, pol)
        base = 9400
        ports = list(range(base, base + STREAMS + MICE))
        recv = [self.start_flow("host2", "udp-recv", "--bind", DST4, "--port", str(p),
                                "--max-time", "40") for p in ports]
        for p in ports:
            self.assertTrue(t.wait_listen("host2", p, proto="udp"), f"udp-recv {p}")
        send = [self.start_flow("host1", "udp-send", "--dst", DST4, "--port", str(p),
                                "--rate", str(RATE), "--count", str(COUNT), "--size", str(SIZE),
                                "--pause-every", "500", "--pause-ms", "15")
                for p in ports[:STREAMS]]
        send += [self.start_flow("host1", "udp-send", "--dst", DST4, "--port", str(p),
                                 "--rate", "50", "--count", "300")
                 for p in ports[STREAMS:]]
        # Placed, and moved where they were placed (gaps every 0.2 s).
        deadline, els = time.monotonic() + 4.0, []
        while time.monotonic() < deadline:
            time.sleep(0.5)
            els = [e for e in self.elephants().get("elephants", []) if e.get("dport") in ports]
            if len(els) == STREAMS and all(e.get("placed") == e.get("path") for e in els):
                break
        time.sleep(1.5)  # the flow tracker reads the table once a second
        flows = t.ctl("gwa", "flow", "show", "dst", PFX4, "dir", "out")
        flows = flows.get("flows", []) if isinstance(flows, dict) else flows
        for p in send:
            self.finish_flow(p, 60)
        results = [self.finish_flow(p, 60) for p in recv]
        print("\n  " + "; ".join(f"{e['dport']}: {e['bps'] / 1e6:.1f} Mbit/s on {e['path']}, "
                                 f"placed {e.get('placed')}, moves {e.get('moves')}"
                                 for e in sorted(els, key=lambda e: e["dport"])), end="")
        self.assertEqual(sorted(e["dport"] for e in els), ports[:STREAMS],
                         f"the streams are the elephants, the mice are not: {els}"
                         f"{self.diag(['gwa'])}")
        placed = sorted(e.get("placed", "-") for e in els)
        self.assertEqual(placed, ["ele/0", "ele/0", "ele/1"],
                         f"two on the 40 Mbit/s path, one on the 20: {els}{self.diag(['gwa'])}")
        self.assertTrue(all(e.get("placed") == e.get("path") for e in els),
                        f"every elephant moved to its place at a gap: {els}")
        on = {f["dport"]: f.get("path") for f in flows if f.get("dport") in ports[:STREAMS]}
        for e in els:
            self.assertEqual(on.get(e["dport"]), int(e["placed"].split("/")[1]),
                             f"the flow table's path of {e['dport']}: {flows}")
        for i, r in enumerate(results):
            n = COUNT if i < STREAMS else 300
            self.assertEqual((r["unique"], r["duplicates"], r["reordered"]), (n, 0, 0),
                             f"stream to port {ports[i]}: {r}")
        # The streams ended: below leave for the hold time, then gone.
        deadline = time.monotonic() + 5.0
        d = {}
        while time.monotonic() < deadline:
            d = self.elephants()
            if not d.get("elephants") and d.get("pins") == 0:
                break
            time.sleep(0.3)
        self.assertEqual((d.get("elephants"), d.get("pins")), ([], 0), f"after the streams: {d}")


if __name__ == "__main__":
    E.main()
