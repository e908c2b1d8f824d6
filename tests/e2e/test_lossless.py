#!/usr/bin/python3
"""Lossless backpressure across three gateways (issue 13): host1 - gwa -
core - gwb - host2, all three gateways aigw (the core an SRv6 End).

The bottleneck is gwb's customer link to host2 (interfaces[].speed 200mbit:
the parent of the tenants' queues there). Tenants gold (port GOLD,
pfc_priority 3) and free (port FREE) have rate 100mbit, ceil 200mbit on both
sites. gwb and gwa are each other's backpressure peers (HMAC key, rtt_ms 2,
pauses sent from their loopbacks). The senders are independent of aigw:
tests/tools/pfc_host.py numbers its datagrams and honours 802.1Qbb PFC frames
for its priority; its receiver counts every sequence number.

  test_1: gold offered 200 Mbit/s (2x its share) while free sends 90 Mbit/s:
          gold's queue at gwb passes XOFF, gwb pauses gold at gwa (PAUSE
          messages), gwa holds gold, its WAN queue passes XOFF and gwa sends
          PFC frames to host1, which stops. Every gold datagram sent arrives
          (0 lost end to end), no gold queue drops anywhere, free's
          throughput is within 5% of what it was alone.
  test_2: the same both ways at once, free both ways too (gwa pauses gwb's
          gold while gwb pauses gwa's): a cycle of pauses between the
          gateways. Both directions finish with 0 lost and each delivers a
          fair part of the bottleneck (no deadlock).
"""
import json
import os

import e2e_common as E
import test_shaping as S  # the module: its TestCase is not collected here

A, B = E.A, E.B
GOLD, FREE = S.GOLD, S.FREE
KEY = "5f0c3b2a19e8d7c6b5a4938271605f4e3d2c1b0a99887766554433221100ffee"
PFC_HOST = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools",
                        "pfc_host.py")
PRIORITY = 3
SECONDS = 4


def tenants(cfg, peer_loopback, own_loopback, key_file):
    S.gold_and_free(cfg)
    cfg["tenants"] = [
        {"name": "gold", "id": 7, "rate": "100mbit", "ceil": "200mbit", "pfc_priority": PRIORITY},
        {"name": "free", "id": 8, "rate": "100mbit", "ceil": "200mbit"}]
    # A site's rules see packets as its own hosts send them (decapsulated ones
    # turned around): the tenant's port is the far host's (dport) or, for
    # what arrives, the local host's (sport).
    cfg["classification"] = {"rules": [
        {"name": f"{t}-{proto}-{key}", "match": {"protocol": proto, key: str(port)},
         "set": {"tenant": t}}
        for t, port in (("gold", GOLD), ("free", FREE)) for proto in ("udp", "tcp")
        for key in ("dport", "sport")]}
    for i in cfg["interfaces"]:
        if i["role"] == "customer":
            i["speed"] = "200mbit"
    cfg["backpressure"] = {"source": own_loopback, "peers": [
        {"name": "peer", "address": peer_loopback, "key_file": key_file, "rtt_ms": 2}]}


class Lossless(E.TopoCase):
    MODES = {"gwa": "aigw", "core": "aigw", "gwb": "aigw"}

    @classmethod
    def configure(cls, topo):
        key_file = os.path.join(topo.workdir, "pair.key")
        with open(key_file, "w") as f:
            f.write(KEY + "\n")
        tenants(topo.configs["gwa"], B.loopback, A.loopback, key_file)
        tenants(topo.configs["gwb"], A.loopback, B.loopback, key_file)

    # ------------------------------------------------------------ helpers
    def gw_mac(self, gw, ifname):
        out = self.topo.run(gw, ["ip", "-j", "link", "show", ifname]).stdout
        return json.loads(out)[0]["address"]

    def gold_flow(self, src_host, site_from, site_to, gw, seconds, rate):
        """(receiver, sender) processes of numbered gold datagrams."""
        t = self.topo
        rx = t.popen(site_to.host, [E.PY, PFC_HOST, "recv", "--port", str(GOLD), "--idle", "1.5",
                                    "--deadline", str(seconds + 30)])
        self.assertEqual(rx.stdout.readline().strip(), b"listening", rx.stderr.read()[-500:]
                         if rx.poll() is not None else "")
        tx = t.popen(src_host, [E.PY, PFC_HOST, "send", "--iface", "eth0",
                                "--dst-mac", self.gw_mac(gw, site_from.cust_if),
                                "--src", site_from.host4(), "--dst", site_to.host4(),
                                "--dport", str(GOLD), "--rate", str(rate),
                                "--seconds", str(seconds), "--priority", str(PRIORITY)])
        return rx, tx

    def result(self, p, timeout=90):
        out, err = p.communicate(timeout=timeout)
        self.assertEqual(p.returncode, 0, f"{out[-300:]} {err[-500:]}")
        return json.loads(out.strip().splitlines()[-1])

    def free_iperf(self, seconds, rate="90M", src="host1", dst="host2", site=B):
        t = self.topo
        srv = t.popen(dst, ["iperf3", "-s", "-1", "-J", "-p", str(FREE), "-B", site.host4()])
        self.assertTrue(t.wait_listen(dst, FREE), "iperf3 server")
        cli = t.popen(src, ["iperf3", "-c", site.host4(), "-p", str(FREE), "-t", str(seconds),
                            "-J", "-u", "-b", rate, "-l", "1200"])
        return srv, cli

    def free_mbps(self, srv, cli):
        out, err = srv.communicate(timeout=60)
        self.assertEqual(srv.returncode, 0, err)
        cli.communicate(timeout=60)
        return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e6

    def tenants(self, gw):
        return {t["name"]: t for t in self.topo.ctl(gw, "tenant", "show")}

    def gold_drops(self, gw):
        return sum(q.get("drops", 0) for q in self.tenants(gw)["gold"].get("queues", []))

    # -------------------------------------------------------------- tests
    def test_1_paused_tenant_loses_nothing_others_isolated(self):
        alone = self.free_mbps(*self.free_iperf(SECONDS))
        before = {g: (self.tenants(g)["gold"], self.gold_drops(g)) for g in ("gwa", "gwb")}
        fs, fc = self.free_iperf(SECONDS)
        rx, tx = self.gold_flow("host1", A, B, "gwa", SECONDS, 200e6)
        sent, got = self.result(tx), self.result(rx)
        free = self.free_mbps(fs, fc)
        a, b = self.tenants("gwa")["gold"], self.tenants("gwb")["gold"]
        mbps = got["unique"] * sent["frame_bytes"] * 8 / SECONDS / 1e6
        print(f"\n  gold sent {sent['sent']} ({sent['pauses']} PFC pauses, "
              f"{sent['paused_s']:.2f} s paused), received {got['unique']} "
              f"(~{mbps:.0f} Mbit/s); free alone {alone:.1f}, with gold {free:.1f} Mbit/s")
        print(f"  gwb: XOFF {b.get('xoff_bytes')} B, XON {b.get('xon_bytes')} B, pause episodes "
              f"{b.get('pause_episodes')}, deepest {b.get('rx_deepest_bytes')} B; gwa: held "
              f"{a.get('pauses')} times, PFC episodes {a.get('pfc_episodes')}")
        self.assertEqual(got["unique"], sent["sent"], f"gold lost packets: {got}")
        self.assertEqual(got["duplicates"], 0)
        self.assertGreater(sent["sent"], 0.4 * 200e6 * SECONDS / 8 / sent["frame_bytes"])
        self.assertGreater(b["pause_episodes"], before["gwb"][0].get("pause_episodes", 0))
        self.assertGreater(a["pauses"], before["gwa"][0].get("pauses", 0))
        self.assertGreater(a["pfc_episodes"], before["gwa"][0].get("pfc_episodes", 0))
        self.assertGreater(sent["pfc_frames"], 0)
        self.assertGreater(sent["paused_s"], 0)
        for g in ("gwa", "gwb"):
            self.assertEqual(self.gold_drops(g), before[g][1], f"gold queue drops on {g}")
        self.assertGreaterEqual(free, 0.95 * alone, "free slowed by more than 5%")
        self.assertLessEqual(b["rx_deepest_bytes"], b["buffer_bytes"] + 64_000,
                             "deeper than the formula's buffer")

    def test_2_pauses_both_ways_no_deadlock(self):
        before = {g: self.tenants(g)["gold"] for g in ("gwa", "gwb")}
        free = [self.free_iperf(SECONDS), self.free_iperf(SECONDS, src="host2", dst="host1",
                                                          site=A)]
        ra, ta = self.gold_flow("host1", A, B, "gwa", SECONDS, 200e6)
        rb, tb = self.gold_flow("host2", B, A, "gwb", SECONDS, 200e6)
        sa, sb = self.result(ta), self.result(tb)
        ga, gb = self.result(ra), self.result(rb)
        for srv, cli in free:
            self.free_mbps(srv, cli)
        now = {g: self.tenants(g)["gold"] for g in ("gwa", "gwb")}
        a, b = ({k: v - before[g].get(k, 0) for k, v in now[g].items()
                 if k in ("pause_episodes", "pauses")} for g in ("gwa", "gwb"))
        print(f"\n  A->B sent {sa['sent']} received {ga['unique']}; B->A sent {sb['sent']} "
              f"received {gb['unique']}; gwa asked {a.get('pause_episodes')} pauses and was "
              f"held {a.get('pauses')} times; gwb asked {b.get('pause_episodes')}, held "
              f"{b.get('pauses')}")
        self.assertEqual(ga["unique"], sa["sent"], "A->B lost packets")
        self.assertEqual(gb["unique"], sb["sent"], "B->A lost packets")
        for g, st in (("gwa", a), ("gwb", b)):
            self.assertGreater(st.get("pause_episodes", 0), 0, f"{g} never paused its peer")
            self.assertGreater(st.get("pauses", 0), 0, f"{g} never held")
        # no deadlock: each side delivered well over a quarter of the bottleneck
        for s in (ga, gb):
            self.assertGreater(s["unique"] * sa["frame_bytes"] * 8 / SECONDS, 50e6)


if __name__ == "__main__":
    E.main()
