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
  Ring (host3 added behind the core, which becomes a third site):
  test_3: gold around a cycle of three sites at once, each leg offered 1.5x
          its customer link; every gateway pauses the one before it while
          the one after pauses it. 0 lost on every leg, each near its
          bottleneck (no deadlock).
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
        {"name": "peer", "address": peer_loopback, "key_file": key_file, "rtt_ms": 2}]
        if peer_loopback else []}


class Lab(E.TopoCase):
    """The helpers (no tests of its own)."""
    MODES = {"gwa": "aigw", "core": "aigw", "gwb": "aigw"}

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



class Lossless(Lab):
    @classmethod
    def configure(cls, topo):
        key_file = os.path.join(topo.workdir, "pair.key")
        with open(key_file, "w") as f:
            f.write(KEY + "\n")
        tenants(topo.configs["gwa"], B.loopback, A.loopback, key_file)
        tenants(topo.configs["gwb"], A.loopback, B.loopback, key_file)

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


# ------------------------------------------------------------ the ring
C_NET, C_GW, C_HOST = "203.0.113.0/24", "203.0.113.1", "203.0.113.10"
C_SID = "fc00:c::d46"


def add_host3(topo):
    """host3 behind the core, which becomes a site gateway too (customer
    port core-h3, End.DT46 SID fc00:c::d46); gwa and gwb steer C_NET to it."""
    ns = topo.ns("host3")
    E.T.run(["ip", "netns", "add", ns])
    topo._created.append(ns)  # removed with the topology, even on failure
    E.T.run(["ip", "-n", topo.ns("core"), "link", "add", "core-h3", "type", "veth", "peer",
             "name", "eth0", "netns", ns])
    for node, ifn, addr in (("core", "core-h3", C_GW + "/24"), ("host3", "eth0", C_HOST + "/24")):
        topo.sysctl(node, [(f"net.ipv4.conf.{ifn}.rp_filter", 0)])
        topo.run(node, ["ethtool", "-K", ifn, "tx", "off"])
        topo.ip(node, "addr", "add", addr, "dev", ifn)
        topo.ip(node, "link", "set", ifn, "up")
    topo.ip("host3", "link", "set", "lo", "up")
    topo.ip("host3", "route", "add", "default", "via", C_GW)
    topo.ip("host3", "link", "set", "dev", "eth0", "xdpdrv", "obj", topo.xdp_pass_obj, "sec",
            "xdp")
    core = topo.configs["core"]
    core["interfaces"].append({"name": "core-h3", "role": "customer"})
    core["sids"].append({"sid": C_SID + "/128", "behavior": "End.DT46", "table": 254})
    core["policies"] = [
        {"name": f"to-{s.letter}", "prefixes": [s.prefix4], "source": E.T.CORE_LOOPBACK,
         "segments": [s.sid("d46")]} for s in (A, B)]
    for g, s in (("gwa", A), ("gwb", B)):
        topo.configs[g]["policies"].append(
            {"name": "to-site-c", "prefixes": [C_NET], "source": s.loopback, "segments": [C_SID]})


class Ring(Lab):
    """Three sites, gold sent around a cycle: host1 -> host2 (gwb pauses gwa),
    host2 -> host3 (core pauses gwb), host3 -> host1 (gwa pauses core). Each
    site's customer link is the bottleneck (speed 100mbit; gold rate 100mbit
    ceil 200mbit, offered 150 Mbit/s on every leg): every gateway pauses the
    one before it while the one after pauses it.

      test_3: the three legs at once finish with 0 lost, each delivering at
              least half its bottleneck (no deadlock), every gateway both
              paused and held.
    """

    @classmethod
    def configure(cls, topo):
        add_host3(topo)
        key_file = os.path.join(topo.workdir, "pair.key")
        with open(key_file, "w") as f:
            f.write(KEY + "\n")
        loops = {"gwa": A.loopback, "gwb": B.loopback, "core": E.T.CORE_LOOPBACK}
        for g in loops:
            tenants(topo.configs[g], None, loops[g], key_file)
            cfg = topo.configs[g]
            cfg["backpressure"]["peers"] = [
                {"name": p, "address": loops[p], "key_file": key_file, "rtt_ms": 2}
                for p in loops if p != g]
            for i in cfg["interfaces"]:
                if i["role"] == "customer":
                    i["speed"] = "100mbit"

    def test_3_cycle_of_three_no_deadlock(self):
        t = self.topo
        for src, dst in (("host1", C_HOST), ("host3", A.host4()), ("host2", C_HOST)):
            t.wait_ping(src, dst, attempts=4)
        before = {g: self.tenants(g)["gold"] for g in ("gwa", "core", "gwb")}
        legs = (("host1", "gwa", A.cust_if, A.host4(), "host2", B.host4()),
                ("host2", "gwb", B.cust_if, B.host4(), "host3", C_HOST),
                ("host3", "core", "core-h3", C_HOST, "host1", A.host4()))
        procs = []
        for src, gw, gw_if, src_ip, dst, dst_ip in legs:
            rx = t.popen(dst, [E.PY, PFC_HOST, "recv", "--port", str(GOLD), "--idle", "1.5",
                               "--deadline", str(SECONDS + 30)])
            self.assertEqual(rx.stdout.readline().strip(), b"listening")
            procs.append((rx, src, gw, gw_if, src_ip, dst_ip))
        senders = [t.popen(src, [E.PY, PFC_HOST, "send", "--iface", "eth0",
                                 "--dst-mac", self.gw_mac(gw, gw_if), "--src", src_ip,
                                 "--dst", dst_ip, "--dport", str(GOLD), "--rate", "150e6",
                                 "--seconds", str(SECONDS), "--priority", str(PRIORITY)])
                   for _, src, gw, gw_if, src_ip, dst_ip in procs]
        sent = [self.result(p) for p in senders]
        got = [self.result(p[0]) for p in procs]
        after = {g: self.tenants(g)["gold"] for g in ("gwa", "core", "gwb")}
        d = {g: {k: after[g].get(k, 0) - before[g].get(k, 0) for k in ("pause_episodes", "pauses")}
             for g in after}
        for (_, src, _, _, _, dst_ip), s, r in zip(procs, sent, got):
            print(f"\n  {src} -> {dst_ip}: sent {s['sent']}, received {r['unique']} "
                  f"(~{r['unique'] * s['frame_bytes'] * 8 / SECONDS / 1e6:.0f} Mbit/s), "
                  f"host paused {s['paused_s']:.2f} s", end="")
        print(f"\n  pauses asked / held: {d}")
        for (_, src, _, _, _, dst_ip), s, r in zip(procs, sent, got):
            self.assertEqual(r["unique"], s["sent"], f"{src} -> {dst_ip} lost packets")
            self.assertGreater(r["unique"] * s["frame_bytes"] * 8 / SECONDS, 50e6,
                               f"{src} -> {dst_ip} barely moved")
        for g, x in d.items():
            self.assertGreater(x["pause_episodes"], 0, f"{g} never paused its upstream")
            self.assertGreater(x["pauses"], 0, f"{g} was never held")


if __name__ == "__main__":
    E.main()
