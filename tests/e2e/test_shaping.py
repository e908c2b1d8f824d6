#!/usr/bin/python3
"""Per-tenant queues on the WAN port (issue 13, first part). gwa classifies
host1's traffic to port 5201 as tenant "gold", shaped to 100 Mbit/s
(tenants[].rate), and to port 5202 as tenant "free", unshaped. gold's
encapsulated packets leave XDP for the kernel (event `shaped`), the TC
ingress program of the customer port puts them in gold's HTB class on the
WAN port (`shape_queued`); free's keep the XDP fast path. iperf3 on host2
measures what arrives.

  test_1: gold offered 250 Mbit/s gets its 100 (80..110), free offered
          150 Mbit/s gets it all (>= 90 %), at the same time; the HTB
          class `tc` shows on gwa's WAN port carries gold's bytes.
  test_2: `aigwctl tenant set gold rate 200mbit ceil 200mbit` while gold
          sends 300 Mbit/s: the receiver sees the new rate within one
          second (0.2 s intervals); `tenant show` has the new rate.
  test_3: TCP through gold's queue keeps to its rate, and gets most of it.
  test_4: bad changes refused, the running rate kept: above the port's
          speed (veth: 10 Gbit/s), below 100 Mbit/s, ceil below rate, an
          unknown tenant.
  test_5: `rate off`: gold back on the fast path (no more `shaped`), the
          HTB class gone; the WAN port's HTB goes with the last queue.
  test_6: ECN-capable TCP (2 streams) through gold's queue: gwa marks CE
          while the queue is above its threshold (`shape_ce_marked`), the
          marks cross the tunnel (gwb's decapsulation, RFC 6040) and reach
          host2 (its IpExtInCEPkts), the queue drops nothing, TCP keeps to
          the rate.
  test_7: across agent restarts (maps pinned, programs and queues left
          in place while no agent runs): started again with gold at
          200mbit, its class has the new rate and gold is still shaped;
          started again without rates, gold is back on the fast path and
          the WAN port has no HTB; `aigwd --detach` removes the TC filter
          of the shaped path (and, while one is there, the HTB).
  test_8: a schedule window (UTC, to the second) opening 4 s after a
          reload and lasting 5 s gives gold 200 Mbit/s: the receiver sees
          ~100, then ~200 within a second of the window's start, then
          ~100 within a second of its end; the agent logs both. Then
          `tenant set` inside a window holds the new rate ("held" in
          `tenant show`) and it stays after the window ends.
"""
import json
import statistics
import time

import e2e_common as E

T = E.T
A, B = E.A, E.B
GOLD, FREE = 5201, 5202


def gold_and_free(g):
    """gwa's config g: gold (id 7, 100mbit) on port GOLD, free (id 8,
    unshaped) on port FREE (also used by test_backpressure)."""
    g["tenants"] = [{"name": "gold", "id": 7, "rate": "100mbit", "ceil": "100mbit"},
                    {"name": "free", "id": 8}]
    g["classification"] = {"rules": [
        {"name": f"{t}-{proto}", "match": {"protocol": proto, "dport": str(port)},
         "set": {"tenant": t}}
        for t, port in (("gold", GOLD), ("free", FREE)) for proto in ("udp", "tcp")]}


class Shaping(E.TopoCase):
    MODES = {"gwa": "aigw", "core": "transit", "gwb": "aigw"}

    @classmethod
    def configure(cls, topo):
        gold_and_free(topo.configs["gwa"])

    # ------------------------------------------------------------ helpers
    def iperf(self, port, seconds, rate=None, interval=1.0, udp=True):
        """(server, client) processes of an iperf3 test host1 -> host2."""
        t = self.topo
        srv = t.popen("host2", ["iperf3", "-s", "-1", "-J", "-p", str(port), "-B", B.host4(),
                                "-i", str(interval)])
        self.assertTrue(t.wait_listen("host2", port), f"iperf3 server {port}")
        args = ["iperf3", "-c", B.host4(), "-p", str(port), "-t", str(seconds), "-J"]
        if udp:
            # -w: host2's socket holds ~150 ms at 200 Mbit/s (default: ~10 ms),
            # so a moment host2's iperf3 is not scheduled is not counted as
            # the queue's rate in a 0.5 s interval
            args += ["-u", "-b", rate, "-l", "1200", "-w", "4M"]
        return srv, t.popen("host1", args)

    def finish(self, p, timeout=60):
        out, err = p.communicate(timeout=timeout)
        self.topo.procs.remove(p) if p in self.topo.procs else None
        self.assertEqual(p.returncode, 0, f"iperf3: {out[-300:]} {err[-300:]}")
        return json.loads(out)

    @staticmethod
    def received_mbps(server_json):
        return server_json["end"]["sum_received"]["bits_per_second"] / 1e6

    def event(self, name):
        return E.event(self.stats("gwa"), name)

    def queues(self):
        return {t["name"]: t for t in self.topo.ctl("gwa", "tenant", "show")}

    def shaped(self):
        """Packets gwa's XDP programs handed to the kernel for a queue: encapsulated
        gold, and decapsulated (iperf3's control connection back to host1)."""
        return self.event("shaped") + self.event("shaped_decap")

    def wan_classes(self):
        return self.topo.run("gwa", ["tc", "-s", "class", "show", "dev", A.wan_if]).stdout

    def set_rate(self, *args):
        return self.topo.ctl_raw("gwa", "tenant", "set", "gold", *args)

    # -------------------------------------------------------------- tests
    def test_1_shaped_tenant_held_to_its_rate_other_unaffected(self):
        shaped0, queued0 = self.shaped(), self.event("shape_queued")
        gs, gc = self.iperf(GOLD, 4, rate="250M")
        fs, fc = self.iperf(FREE, 4, rate="150M")
        gold, free = self.finish(gs), self.finish(fs)
        self.finish(gc)
        self.finish(fc)
        g, f = self.received_mbps(gold), self.received_mbps(free)
        shaped, queued = self.shaped() - shaped0, self.event("shape_queued") - queued0
        print(f"\n  gold (100mbit) offered 250: {g:.1f} Mbit/s; free offered 150: {f:.1f} Mbit/s;"
              f" shaped {shaped}, queued {queued}")
        self.assertTrue(80 <= g <= 110, f"gold got {g:.1f} Mbit/s{self.diag(['gwa'])}")
        self.assertGreaterEqual(f, 0.9 * 150, f"free got {f:.1f} Mbit/s")
        self.assertGreater(shaped, 0)
        self.assertEqual(queued, shaped, "every shaped packet reached its queue")
        classes = self.wan_classes()
        self.assertIn("class htb a16:7 parent a16:1000", classes)
        q = self.queues()["gold"]
        self.assertEqual((q["rate"], q["ceil"]), ("100mbit", "100mbit"))
        self.assertGreater(sum(x.get("bytes", 0) for x in q["queues"]), 4 * 50e6 / 8)
        self.assertNotIn("queues", self.queues()["free"])

    def test_2_rate_change_within_a_second(self):
        gs, gc = self.iperf(GOLD, 5, rate="300M", interval=0.2)
        t0 = time.monotonic()
        time.sleep(2.0)
        t_cmd = time.monotonic() - t0
        cp = self.set_rate("rate", "200mbit", "ceil", "200mbit")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        srv = self.finish(gs)
        self.finish(gc)
        rates = [(i["sum"]["end"], i["sum"]["bits_per_second"] / 1e6) for i in srv["intervals"]]
        before = [r for end, r in rates if end <= t_cmd - 0.2 and end > 0.6]
        after = [(end, r) for end, r in rates if end > t_cmd]
        first = next((end for end, r in after if r >= 170), None)
        print(f"\n  {cp.stdout.strip()}\n  before {[round(r) for r in before]}"
              f"\n  after {[(round(e, 1), round(r)) for e, r in after]}")
        self.assertTrue(before and max(before) <= 115, before)
        self.assertIsNotNone(first, f"never reached 200 Mbit/s: {after}")
        # within a second of the command (one interval of slack: its end)
        self.assertLessEqual(first - t_cmd, 1.0 + 0.2, after)
        self.assertEqual(self.queues()["gold"]["rate"], "200mbit")
        self.assertIn("rate 200Mbit", self.wan_classes())
        self.assertEqual(self.set_rate("rate", "100mbit", "ceil", "100mbit").returncode, 0)

    def test_3_tcp_keeps_to_the_rate(self):
        gs, gc = self.iperf(GOLD, 4, udp=False)
        srv = self.finish(gs)
        self.finish(gc)
        got = self.received_mbps(srv)
        print(f"\n  TCP through gold (100mbit): {got:.1f} Mbit/s")
        self.assertTrue(60 <= got <= 110, f"TCP got {got:.1f} Mbit/s{self.diag(['gwa'])}")

    def test_4_bad_changes_refused_rate_kept(self):
        for args, why in ((("rate", "20gbit", "ceil", "20gbit"), "speed"),
                          (("rate", "50mbit"), "outside"),
                          (("rate", "300mbit", "ceil", "200mbit"), "below"),
                          (("rate", "1gbps"), "bytes per second")):
            cp = self.set_rate(*args)
            self.assertEqual(cp.returncode, 2, f"{args}: {cp.stdout} {cp.stderr}")
            self.assertIn(why, cp.stderr, args)
        cp = self.topo.ctl_raw("gwa", "tenant", "set", "nobody", "rate", "1gbit")
        self.assertEqual(cp.returncode, 2)
        self.assertIn("no tenant named nobody", cp.stderr)
        self.assertEqual(self.queues()["gold"]["rate"], "100mbit")
        self.assertIn("rate 100Mbit", self.wan_classes())

    def test_5_rate_off_back_to_the_fast_path(self):
        try:
            cp = self.set_rate("rate", "off")
            self.assertEqual(cp.returncode, 0, cp.stderr)
            self.assertNotIn("a16:7", self.wan_classes())
            self.assertNotIn("htb", self.topo.run("gwa", ["tc", "qdisc", "show", "dev",
                                                          A.wan_if]).stdout)
            shaped0 = self.event("shaped")
            gs, gc = self.iperf(GOLD, 2, rate="150M")
            got = self.received_mbps(self.finish(gs))
            self.finish(gc)
            print(f"\n  gold unshaped, offered 150: {got:.1f} Mbit/s")
            self.assertEqual(self.event("shaped"), shaped0)
            self.assertGreaterEqual(got, 0.9 * 150)
        finally:
            self.set_rate("rate", "100mbit", "ceil", "100mbit")


    def ce_received(self):
        out = self.topo.run("host2", ["nstat", "-az", "IpExtInCEPkts"]).stdout
        return int(next(line.split()[1] for line in out.splitlines()
                        if line.startswith("IpExtInCEPkts")))

    def queue_drops(self):
        return sum(x.get("drops", 0) for x in self.queues()["gold"]["queues"])

    def test_6_ecn_marks_instead_of_drops(self):
        for h in ("host1", "host2"):
            self.topo.run(h, ["sysctl", "-qw", "net.ipv4.tcp_ecn=1"])
        marked0, ce0, drops0 = self.event("shape_ce_marked"), self.ce_received(), self.queue_drops()
        t = self.topo
        srv = t.popen("host2", ["iperf3", "-s", "-1", "-J", "-p", str(GOLD), "-B", B.host4()])
        self.assertTrue(t.wait_listen("host2", GOLD))
        cli = t.popen("host1", ["iperf3", "-c", B.host4(), "-p", str(GOLD), "-t", "4", "-P", "2",
                                "-J"])
        got = self.received_mbps(self.finish(srv))
        rtt = max(s["sender"]["mean_rtt"] for s in self.finish(cli)["end"]["streams"]) / 1e3
        marked = self.event("shape_ce_marked") - marked0
        ce = self.ce_received() - ce0
        drops = self.queue_drops() - drops0
        q = self.queues()["gold"]
        print(f"\n  ECN TCP x2 through gold (100mbit): {got:.1f} Mbit/s; CE marked at gwa {marked}, "
              f"CE received at host2 {ce}; queue drops {drops}; deepest "
              f"{q.get('deepest_bytes')} B, threshold {q.get('ecn_mark_bytes')} B, "
              f"{q.get('ecn_episodes')} marking episodes; mean RTT {rtt:.1f} ms")
        self.assertGreater(marked, 0, f"no CE marks{self.diag(['gwa'])}")
        self.assertGreater(ce, 0, "no CE reached host2")
        self.assertEqual(drops, 0, "the queue dropped")
        self.assertGreater(q["ecn_episodes"], 0)
        self.assertEqual(q["ecn_mark_bytes"], 30000)
        self.assertTrue(60 <= got <= 110, got)


    def restart_gwa(self, gold):
        t = self.topo
        self.assertEqual(t.stop_agent("gwa", unpin=False), 0)
        t.configs["gwa"]["tenants"][0] = gold
        t.write_config("gwa")
        t.start_agent("gwa")

    def test_7_restarts_and_detach(self):
        t = self.topo
        gold = dict(t.configs["gwa"]["tenants"][0])
        try:
            self.restart_gwa({**gold, "rate": "200mbit", "ceil": "200mbit"})
            self.assertIn("rate 200Mbit", self.wan_classes())
            shaped0 = self.event("shaped")
            self.assertPing("host1", B.host4())
            gs, gc = self.iperf(GOLD, 2, rate="300M")
            got = self.received_mbps(self.finish(gs))
            self.finish(gc)
            print(f"\n  after a restart at 200mbit, offered 300: {got:.1f} Mbit/s")
            self.assertTrue(160 <= got <= 215, got)
            self.assertGreater(self.event("shaped"), shaped0)
            self.restart_gwa({"name": "gold", "id": 7})
            self.assertNotIn("htb", t.run("gwa", ["tc", "qdisc", "show", "dev", A.wan_if]).stdout)
            shaped0 = self.event("shaped")
            gs, gc = self.iperf(GOLD, 1, rate="150M")
            self.finish(gs)
            self.finish(gc)
            self.assertEqual(self.event("shaped"), shaped0, "gold is still shaped")
            ingress = ["tc", "filter", "show", "dev", A.cust_if, "ingress"]
            # (tc shows the kernel's 15-character program name)
            self.assertIn("tc_customer_ing", t.run("gwa", ingress).stdout)  # left attached
            self.assertEqual(t.stop_agent("gwa", unpin=False), 0)
            cp = t.aigwd_cmd("gwa", "--detach")
            self.assertEqual(cp.returncode, 0, cp.stderr)
            self.assertNotIn("tc_customer_ing", t.run("gwa", ingress).stdout)
        finally:
            t.stop_agent("gwa", unpin=False)
            t.configs["gwa"]["tenants"][0] = gold
            t.write_config("gwa")
            t.start_agent("gwa")
            t.wait_ping("host1", B.host4(), attempts=4)

    # ---------------------------------------------------------- schedules
    def reload_gold(self, gold):
        t = self.topo
        t.configs["gwa"]["tenants"][0] = gold
        t.write_config("gwa")
        t.ctl("gwa", "config", "reload")

    @staticmethod
    def utc_clock(at):
        return time.strftime("%H:%M:%S", time.gmtime(at))

    def window_gold(self, gold, begin, end, rate="200mbit"):
        """gold with one daily window [begin, end) (wall-clock seconds)."""
        return {**gold, "schedule": [{"from": self.utc_clock(begin), "to": self.utc_clock(end),
                                      "rate": rate, "ceil": rate}]}

    def test_8_schedule_window_starts_and_ends(self):
        t = self.topo
        gold = dict(t.configs["gwa"]["tenants"][0])
        try:
            w0 = int(time.time()) + 4
            w1 = w0 + 5
            self.reload_gold(self.window_gold(gold, w0, w1))
            self.assertNotIn("window", self.queues()["gold"])
            gs, gc = self.iperf(GOLD, 12, rate="300M", interval=0.5)
            start = time.time()  # the intervals count from about here
            srv = self.finish(gs)
            self.finish(gc)
            rates = [(start + i["sum"]["start"], start + i["sum"]["end"],
                      i["sum"]["bits_per_second"] / 1e6) for i in srv["intervals"]]
            before = [r for b, e, r in rates if b > start + 0.6 and e < w0 - 0.3]
            inside = [r for b, e, r in rates if b >= w0 + 1.3 and e <= w1 - 0.3]
            after = [r for b, e, r in rates if b >= w1 + 1.3]
            # A stall of the 2-CPU machine delays delivery into the next
            # interval, whose catch-up restores the mean (seen: 151 then
            # 226 among 184s): the rate is up from the first interval that,
            # with the one after it, averages 170 or more.
            pairs = zip(rates, rates[1:])
            first_up = next((e for (b, e, r), (_, e2, r2) in pairs
                             if e > w0 and (r * (e - b) + r2 * (e2 - e)) / (e2 - b) >= 170), None)
            first_down = next((e for b, e, r in rates if e > w1 + 0.5 and r <= 115), None)
            print(f"\n  window {self.utc_clock(w0)}-{self.utc_clock(w1)} UTC at 200mbit:"
                  f"\n  {[(round(e - w0, 1), round(r)) for b, e, r in rates]}"
                  f" (interval end - window start, Mbit/s)")
            self.assertTrue(before and max(before) <= 115, before)
            # the mean: one interval may lose a moment of the 2-CPU machine
            # (seen once: 149 and 152 among 183s, and 75 among 92s outside),
            # a window ended early or applied late loses a second or more
            self.assertTrue(inside and statistics.mean(inside) >= 170, inside)
            self.assertTrue(after and max(after) <= 115, after)
            self.assertIsNotNone(first_up, rates)
            self.assertLessEqual(first_up - w0, 1.0 + 0.5 + 0.3, "window start applied late")
            self.assertIsNotNone(first_down, rates)
            log = t.log_text("gwa")
            self.assertIn(f"tenant gold: window daily {self.utc_clock(w0)}-{self.utc_clock(w1)}:"
                          " rate 200mbit", log)
            self.assertIn("tenant gold: outside its windows: rate 100mbit", log)

            # tenant set inside a window: held until the window ends.
            w0 = int(time.time())
            w1 = w0 + 4
            self.reload_gold(self.window_gold(gold, w0 - 1, w1, rate="300mbit"))
            q = self.queues()["gold"]
            self.assertEqual((q["rate"], q.get("held")), ("300mbit", False), q)
            cp = self.set_rate("rate", "150mbit", "ceil", "150mbit")
            self.assertEqual(cp.returncode, 0, cp.stderr)
            self.assertIn("until its window", cp.stdout)
            q = self.queues()["gold"]
            self.assertEqual((q["rate"], q.get("held")), ("150mbit", True), q)
            time.sleep(max(0.0, w1 - time.time()) + 1.5)
            q = self.queues()["gold"]
            self.assertNotIn("window", q)
            self.assertEqual(q["rate"], "150mbit")
            self.assertIn("rate 150Mbit", self.wan_classes())
        finally:
            self.reload_gold(gold)
        self.assertEqual(self.queues()["gold"]["rate"], "100mbit")


if __name__ == "__main__":
    E.main()
