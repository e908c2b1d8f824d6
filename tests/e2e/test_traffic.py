#!/usr/bin/python3
"""(a) ping and iperf3 through aigw gwa -> core -> gwb and back;
(b) bulk TCP with 1500-byte MTUs everywhere: MSS clamp, and PMTU discovery
    when the clamp is off."""

import time

import e2e_common as E
from e2e_common import A, B


class TrafficThroughAigw(E.TopoCase):
    """gwa, core and gwb all run aigw."""

    def test_01_ping_both_families_both_ways(self):
        before = self.all_stats()
        n = 5
        for src, dst in (("host1", B.host4()), ("host1", B.host6()),
                         ("host2", A.host4()), ("host2", A.host6())):
            self.assertPing(src, dst, count=n)
        after = self.all_stats()
        # Each direction: 2 families x (n requests + n replies) per gateway.
        for g in ("gwa", "gwb"):
            s = E.T.SITES[g]
            enc = E.delta(before[g], after[g], s.cust_if, "encap")
            dec = E.delta(before[g], after[g], s.wan_if, "decap")
            self.assertGreaterEqual(enc, 4 * n, f"{g} encap {enc}{self.diag()}")
            self.assertGreaterEqual(dec, 4 * n, f"{g} decap {dec}{self.diag()}")
        core_fwd = sum(E.delta(before["core"], after["core"], i, "fwd")
                       for i in ("core-gwa", "core-gwb"))
        self.assertGreaterEqual(core_fwd, 8 * n, f"core End forwarded {core_fwd}{self.diag()}")
        self.assertNoDrops(before, after)

    def _iperf(self, dst, udp):
        before = self.all_stats()
        kw = dict(udp=True, rate="20M", length=1200) if udp else {}
        t0 = time.monotonic()
        r = self.topo.iperf3(dst, seconds=3, **kw)
        dur = time.monotonic() - t0
        after = self.all_stats()
        if udp:
            s = r["end"]["sum"]
            self.assertGreater(s["packets"], 1000, f"UDP {dst}: {s}")
            self.assertEqual(s["lost_packets"], 0, f"UDP {dst} lost packets: {s}{self.diag()}")
            pk = s["packets"]
        else:
            s = r["end"]["sum_received"]
            self.assertGreater(s["bytes"], 1 << 20, f"TCP {dst}: {s}")
            pk = s["bytes"] // 1500
        enc = E.delta(before["gwa"], after["gwa"], A.cust_if, "encap")
        dec = E.delta(before["gwb"], after["gwb"], B.wan_if, "decap")
        self.assertGreaterEqual(enc, pk, f"gwa encap {enc} < {pk} packets{self.diag()}")
        self.assertGreaterEqual(dec, pk, f"gwb decap {dec} < {pk} packets{self.diag()}")
        self.assertNoDrops(before, after)
        print(f"\n[e2e] iperf3 {'UDP' if udp else 'TCP'} {dst}: "
              f"{s['bits_per_second'] / 1e6:.0f} Mbit/s ({dur:.1f}s)")

    def test_02_iperf3_tcp_ipv4(self):
        self._iperf(B.host4(), udp=False)

    def test_03_iperf3_tcp_ipv6(self):
        self._iperf(B.host6(), udp=False)

    def test_04_iperf3_udp_ipv4(self):
        self._iperf(B.host4(), udp=True)

    def test_05_iperf3_udp_ipv6(self):
        self._iperf(B.host6(), udp=True)

    def _bulk(self, dst, port):
        before = self.all_stats()
        nbytes = 20 << 20
        t0 = time.monotonic()
        s, r = self.tcp_transfer(dst, nbytes, port=port)
        dur = time.monotonic() - t0
        after = self.all_stats()
        self.assertEqual(r["bytes"], nbytes, f"short transfer: {r}{self.diag()}")
        self.assertEqual(r["sha256"], s["sha256"], "payload corrupted in transit")
        # The SYN and SYN-ACK were clamped: the sender's MSS fits the tunnel
        # (1500 - 80 encapsulation - IP - TCP headers).
        fam_hdr = 40 if ":" in dst else 20
        self.assertLessEqual(s["mss"], 1500 - 80 - fam_hdr - 20, f"sender MSS {s}")
        clamped = sum(E.event(after[g], "mss_clamped") - E.event(before[g], "mss_clamped")
                      for g in ("gwa", "gwb"))
        self.assertGreaterEqual(clamped, 2, f"no SYN clamped{self.diag()}")
        self.assertNoDrops(before, after)
        print(f"\n[e2e] 20 MiB TCP {dst}: {dur:.1f}s, mss {s['mss']}")

    def test_06_bulk_tcp_20MiB_ipv4_mss_clamp(self):
        self._bulk(B.host4(), 9101)

    def test_07_bulk_tcp_20MiB_ipv6_mss_clamp(self):
        self._bulk(B.host6(), 9102)

    def test_08_ttl_expiry_answered_by_gwa(self):
        # TTL / hop limit 1 entering the tunnel: gwa answers Time Exceeded.
        before = self.stats("gwa")
        ok, out = self.topo.ping("host1", B.host4(), count=1, extra=["-t", "1"])
        self.assertIn("Time to live exceeded", out, f"{out}{self.diag(['gwa'])}")
        self.assertIn(A.gw4, out)
        ok, out = self.topo.ping("host1", B.host6(), count=1, extra=["-t", "1"])
        self.assertIn("Time exceeded", out, f"{out}{self.diag(['gwa'])}")
        self.assertIn(A.gw6, out)
        after = self.stats("gwa")
        got = E.event(after, "icmp_ttl_sent") - E.event(before, "icmp_ttl_sent")
        self.assertEqual(got, 2, f"icmp_ttl_sent moved by {got}{self.diag(['gwa'])}")

    def test_09_tunnel_mtu_boundaries(self):
        # Tunnel MTU = 1500 - 80 (IPv6 40 + SRH 8 + 2 SIDs 32) = 1420.
        mtu = 1500 - 80
        t = self.topo
        for dst, hdr in ((B.host4(), 28), (B.host6(), 48)):
            ok, out = t.ping("host1", dst, count=2, size=mtu - hdr, extra=["-M", "do"])
            self.assertTrue(ok, f"{mtu}-byte packet to {dst} did not pass:\n{out}{self.diag()}")
            ok, out = t.ping("host1", dst, count=1, size=mtu - hdr + 1, extra=["-M", "do"])
            self.assertFalse(ok, f"{mtu + 1}-byte packet to {dst} passed:\n{out}")
            self.assertRegex(out, rf"mtu ?= ?{mtu}",
                             f"{mtu + 1}-byte packet to {dst}: no ICMP too-big with mtu {mtu}:\n"
                             f"{out}{self.diag(['gwa'])}")
        # The hosts now know the path MTU: let later tests start afresh.
        t.ip("host1", "-4", "route", "flush", "cache", check=False)
        t.ip("host1", "-6", "route", "flush", "cache", check=False)

    def test_99_no_drops_anywhere(self):
        for g, s in self.all_stats().items():
            d = E.drops(s)
            d.pop("mtu_exceeded", None)   # test_09's deliberate too-big packets
            self.assertEqual(d, {}, f"{g}: {E.nonzero(s)}")


class GenericXdpMode(E.TopoCase):
    """The same path with every aigw program attached in generic (skb) mode."""

    @classmethod
    def configure(cls, topo):
        for g in topo.aigw_nodes():
            topo.configs[g]["datapath"]["xdp_mode"] = "generic"

    def test_01_interfaces_generic(self):
        for g in self.topo.aigw_nodes():
            for i in self.topo.ctl(g, "interface", "show"):
                self.assertEqual((i["xdp_mode"], i["attached"]), ("generic", True), f"{g}: {i}")

    def test_02_ping_and_bulk_tcp(self):
        before = self.all_stats()
        for src, dst in (("host1", B.host4()), ("host1", B.host6()),
                         ("host2", A.host4()), ("host2", A.host6())):
            self.assertPing(src, dst, count=3)
        for dst, port in ((B.host4(), 9111), (B.host6(), 9112)):
            s, r = self.tcp_transfer(dst, 20 << 20, port=port)
            self.assertEqual((r["bytes"], r["sha256"]), (20 << 20, s["sha256"]))
        after = self.all_stats()
        self.assertGreater(E.delta(before["gwa"], after["gwa"], A.cust_if, "encap"), 10000)
        self.assertNoDrops(before, after)


class PmtuWithoutMssClamp(E.TopoCase):
    """tcp_mss_clamp: off on both gateways: full-size segments do not fit
    the tunnel; the headend answers with ICMP Fragmentation Needed / Packet
    Too Big and the hosts' PMTU discovery must make the transfer complete."""

    @classmethod
    def configure(cls, topo):
        for g in ("gwa", "gwb"):
            topo.configs[g]["datapath"]["tcp_mss_clamp"] = "off"

    def _bulk(self, dst, port):
        before = self.all_stats()
        nbytes = 20 << 20
        s, r = self.tcp_transfer(dst, nbytes, port=port)
        after = self.all_stats()
        self.assertEqual(r["bytes"], nbytes, f"short transfer: {r}{self.diag()}")
        self.assertEqual(r["sha256"], s["sha256"], "payload corrupted in transit")
        sent = E.event(after["gwa"], "icmp_mtu_sent") - E.event(before["gwa"], "icmp_mtu_sent")
        self.assertGreaterEqual(sent, 1, f"gwa sent no ICMP too-big{self.diag()}")
        clamped = E.event(after["gwa"], "mss_clamped") - E.event(before["gwa"], "mss_clamped")
        self.assertEqual(clamped, 0, "MSS clamped although tcp_mss_clamp is off")

    def test_01_bulk_tcp_ipv4_pmtud(self):
        self._bulk(B.host4(), 9103)

    def test_02_bulk_tcp_ipv6_pmtud(self):
        self._bulk(B.host6(), 9104)


if __name__ == "__main__":
    E.main()
