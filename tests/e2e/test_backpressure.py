#!/usr/bin/python3
"""Pause/resume from a peer gateway (issue 13, backpressure). gwa shapes
tenant "gold" (100 Mbit/s, port 5201) and takes pauses from peer "gwb"
(its loopback, an HMAC-SHA256 key). The messages come from gwb's
namespace, across the core, as tests/tools/pause_peer.py writes them (the
format implemented again with Python's hmac, not the agent's code).

  test_1: gold sends 10 Mbit/s of numbered UDP (iperf3) and free 50 Mbit/s;
          gwb pauses gold for 0.5 s (a PAUSE and 4 refreshes, then a
          RESUME): gold's queue fills while it is held (deepest backlog),
          host2 gets every gold packet (iperf3: 0 lost), free keeps its
          rate; `tenant show` has gold paused once and not now; the
          messages are counted by outcome in /metrics.
  test_2: a lost RESUME: one PAUSE asking for 5 s is capped at
          max_pause_ms (300 ms); gold goes again by itself (`expired`).
  test_3: refused, and gold never held: a bad MAC, a replayed sequence, a
          sequence 60 s off the clock, a tenant without a queue here, a
          sender that is not a configured peer; each under its outcome.
"""
import json
import os
import re
import time

import e2e_common as E
import test_shaping as S  # the module: its TestCase is not collected here

A, B = E.A, E.B
GOLD, FREE = S.GOLD, S.FREE
KEY = "8c1f0e2d3b4a59687766554433221100ffeeddccbbaa99887766554433221100"
PEER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools",
                    "pause_peer.py")


class Backpressure(E.TopoCase):
    MODES = {"gwa": "aigw", "core": "transit", "gwb": "aigw"}

    @classmethod
    def configure(cls, topo):
        key_file = os.path.join(topo.workdir, "gwb.key")
        with open(key_file, "w") as f:
            f.write(KEY + "\n")
        g = topo.configs["gwa"]
        S.gold_and_free(g)
        g["backpressure"] = {"max_pause_ms": 300, "peers": [
            {"name": "gwb", "address": B.loopback, "key_file": key_file}]}

    # ------------------------------------------------------------ helpers
    def peer_cmd(self, *args, src=None):
        return [E.PY, PEER, "--key-file", os.path.join(self.topo.workdir, "gwb.key"),
                "--dst", A.loopback, "--src", src or B.loopback, *map(str, args)]

    def send(self, *args, src=None):
        return self.topo.run("gwb", self.peer_cmd(*args, src=src)).stdout.split()

    def gold(self):
        return {t["name"]: t for t in self.topo.ctl("gwa", "tenant", "show")}["gold"]

    def outcomes(self):
        py = ("import urllib.request;print(urllib.request.urlopen("
              "'http://127.0.0.1:9469/metrics', timeout=10).read().decode())")
        text = self.topo.run("gwa", [E.PY, "-c", py]).stdout
        out = {}
        for m in re.finditer(r'^aigw_pause_messages_total\{(.*)\} (\S+)$', text, re.M):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            out[(labels["peer"], labels["outcome"])] = float(m.group(2))
        return out

    def delta(self, before, after):
        return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}

    def iperf(self, port, seconds, rate):
        t = self.topo
        srv = t.popen("host2", ["iperf3", "-s", "-1", "-J", "-p", str(port), "-B", B.host4(),
                                "-i", "0.25"])
        self.assertTrue(t.wait_listen("host2", port), f"iperf3 server {port}")
        cli = t.popen("host1", ["iperf3", "-c", B.host4(), "-p", str(port), "-t", str(seconds),
                                "-J", "-u", "-b", rate, "-l", "1200"])
        return srv, cli

    def finish(self, p, timeout=60):
        out, err = p.communicate(timeout=timeout)
        self.assertEqual(p.returncode, 0, f"iperf3: {out[-300:]} {err[-300:]}")
        return json.loads(out)

    # -------------------------------------------------------------- tests
    def test_1_paused_tenant_loses_nothing_others_unaffected(self):
        before = self.outcomes()
        deepest0 = self.gold().get("deepest_bytes", 0)
        gs, gc = self.iperf(GOLD, 5, "10M")
        fs, fc = self.iperf(FREE, 5, "50M")
        time.sleep(1.5)
        peer = self.topo.popen("gwb", self.peer_cmd("--tenant", 7, "--hold-ms", 300, "--count",
                                                     5, "--every-ms", 100, "--resume"))
        time.sleep(0.25)
        held = self.gold()
        out, err = peer.communicate(timeout=10)
        self.assertEqual(peer.returncode, 0, err)
        seqs = out.split()
        gold, free = self.finish(gs), self.finish(fs)
        self.finish(gc)
        self.finish(fc)
        g = gold["end"]["sum"]
        f_mbps = free["end"]["sum_received"]["bits_per_second"] / 1e6
        q = self.gold()
        got = self.delta(before, self.outcomes())
        print(f"\n  gold: {g['packets']} packets, {g['lost_packets']} lost; deepest backlog "
              f"{q.get('deepest_bytes')} B; free {f_mbps:.1f} Mbit/s; messages {got}")
        intervals = [i["sum"]["bits_per_second"] / 1e6 for i in gold["intervals"]]
        print(f"  gold at host2, 0.25 s intervals (Mbit/s): {[round(r, 1) for r in intervals]}")
        self.assertEqual(len(seqs), 6)  # 5 pauses, a resume
        # while held the class leaks 1 Mbit/s (ShapingModule::held_rate)
        self.assertLessEqual(min(intervals), 2.5, intervals)
        self.assertTrue(held["paused"], held)
        classes = self.topo.run("gwa", ["tc", "-s", "class", "show", "dev", A.wan_if]).stdout
        self.assertEqual(g["lost_packets"], 0, f"gold lost packets\n{classes}")
        self.assertGreater(g["packets"], 4000)
        # 0.5 s of 10 Mbit/s waited in the queue (~600 kB)
        self.assertGreater(q["deepest_bytes"], max(deepest0, 300_000), q)
        self.assertGreaterEqual(f_mbps, 0.95 * 50, "free was slowed")
        self.assertFalse(q["paused"])
        self.assertEqual(q["pauses"], 1)
        self.assertEqual(got, {("gwb", "paused"): 1, ("gwb", "refreshed"): 4,
                               ("gwb", "resumed"): 1})

    def test_2_lost_resume_pause_expires(self):
        before = self.outcomes()
        self.send("--tenant", 7, "--hold-ms", 5000)
        t0 = time.monotonic()
        self.assertTrue(self.gold()["paused"])
        while self.gold()["paused"] and time.monotonic() - t0 < 3:
            time.sleep(0.05)
        waited = time.monotonic() - t0
        print(f"\n  held {waited:.2f} s after a PAUSE of 5000 ms with max_pause_ms 300")
        self.assertLess(waited, 1.0)
        self.assertEqual(self.delta(before, self.outcomes()),
                         {("gwb", "paused"): 1, ("", "expired"): 1})
        self.assertIn("pause expired", self.topo.log_text("gwa"))

    def test_3_refused_never_held(self):
        before = self.outcomes()
        pauses0 = self.gold()["pauses"]
        seq = self.send("--tenant", 7, "--type", "resume")[0]  # taken: nothing held
        self.send("--tenant", 7, "--bad-mac")
        self.send("--tenant", 7, "--seq", seq)                           # replayed
        self.send("--tenant", 7, "--seq", time.time_ns() - 60 * 10**9)  # clock 60 s off
        self.send("--tenant", 99)                                       # no queue here
        self.send("--tenant", 7, src=B.wan_addr)                        # not a peer's address
        time.sleep(0.2)
        got = self.delta(before, self.outcomes())
        print(f"\n  {got}")
        self.assertEqual(got, {("gwb", "not_paused"): 1, ("gwb", "bad_mac"): 1,
                               ("gwb", "replayed"): 1, ("gwb", "skewed"): 1,
                               ("gwb", "unknown_tenant"): 1, ("", "unknown_peer"): 1})
        q = self.gold()
        self.assertFalse(q["paused"])
        self.assertEqual(q["pauses"], pauses0)


if __name__ == "__main__":
    E.main()
