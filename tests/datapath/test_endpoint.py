#!/usr/bin/python3
"""Endpoint (WAN interface) fixtures: RFC 8986 End, End.X, End.DX4, End.DX6,
End.DT4, End.DT6, End.DT46 (table 100 vs main), reduced SRH, no SRH,
locator+function SID with arguments, unknown SIDs.

Expected outputs are built with scapy from RFC 8986 / RFC 8754; see dptest.py.
Run: tests/datapath/test_endpoint.py --runner build/tests/tools/aigw-dp-run
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dptest import (  # noqa: E402
    CUST0_MAC, NH4_DX4, NH4_DX4L, NH4_MAIN, NH4_T100, NH6_DX6, NH6_MAIN, NH6_T100, NH_WAN0,
    NH_WAN1, PEER_MAC, SID_DT4, SID_DT6, SID_DT46, SID_DX4, SID_DX6, SID_END, SID_ENDX,
    WAN0_IP6, WAN0_MAC, WAN1_MAC, DatapathCase, Ether, Fx, IP, IPv6, Raw, TsharkMixin, UDP,
    _b, dec_ttl, ip4_csum, l3_of, raw, run_module)
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6EchoRequest, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop, IPv6ExtHdrSegmentRouting,
    IPv6ExtHdrSegmentRoutingTLVPadN)

REMOTE_SRC = "fc00:b::1"  # the remote headend
OUTER_TC, OUTER_FL = 0x48, 0xABCDE


def inner4(dst="203.0.113.9", ttl=40, sport=4000):
    return IP(src="198.51.100.10", dst=dst, ttl=ttl, tos=0x28, id=99) / UDP(
        sport=sport, dport=4791) / Raw(b"i4" * 20)


def inner6(dst="2001:db8:3::9", hlim=40, sport=4000):
    return IPv6(src="2001:db8:2::10", dst=dst, hlim=hlim, tc=0x28) / UDP(
        sport=sport, dport=4791) / Raw(b"i6" * 20)


def srv6(da, wire=None, sl=0, le=None, inner=None, hlim=64, tlvs=None, srh_len=None):
    """IPv6 (+ SRH when wire is given) carrying `inner`. wire = segment list
    in wire order (SegList[0] = last segment)."""
    inner = inner if inner is not None else inner4()
    inner_nh = 4 if isinstance(inner, IP) else 41 if isinstance(inner, IPv6) else 58
    o = IPv6(src=REMOTE_SRC, dst=da, hlim=hlim, tc=OUTER_TC, fl=OUTER_FL)
    if wire is None:
        o.nh = inner_nh
        return o / inner
    ext = IPv6ExtHdrSegmentRouting(nh=inner_nh, segleft=sl,
                                   lastentry=len(wire) - 1 if le is None else le,
                                   addresses=list(wire))
    if tlvs:
        ext.tlv_objects = tlvs
    ext.len = srh_len if srh_len is not None else None
    o.nh = 43
    return o / ext / inner


def wan_frame(l3, dst_mac=WAN0_MAC):
    return raw(Ether(dst=dst_mac, src=PEER_MAC) / l3)


def end_fx(name, sid, wire, sl, egress, inner=None, le=None, tlvs=None, verdict="XDP_REDIRECT",
           hlim=64):
    """End / End.X: SL-1, DA = SegList[SL-1], hop limit - 1, redirected to the
    next hop (egress = (port MAC, next hop MAC))."""
    inner = inner if inner is not None else inner4()
    frame = wan_frame(srv6(sid, wire, sl, le, inner, hlim=hlim, tlvs=tlvs))
    new_da = wire[sl - 1]
    exp = Ether(dst=egress[1], src=egress[0]) / srv6(new_da, wire, sl - 1, le, inner,
                                                     hlim=hlim - 1, tlvs=tlvs)
    in_l3 = l3_of(frame)[1]

    def check(tc, out):
        e = Ether(out)
        tc.assertEqual((e.dst, e.src, e.type), (egress[1], egress[0], 0x86DD), "Ethernet")
        o, i = e[IPv6], IPv6(in_l3)
        tc.assertEqual(o.dst, new_da, "DA = next segment")
        tc.assertEqual(o.hlim, i.hlim - 1, "hop limit decremented")
        tc.assertEqual((o.src, o.tc, o.fl, o.plen), (i.src, i.tc, i.fl, i.plen),
                       "source / traffic class / flow label / payload length unchanged")
        s, si = o[IPv6ExtHdrSegmentRouting], i[IPv6ExtHdrSegmentRouting]
        tc.assertEqual(s.segleft, si.segleft - 1, "Segments Left decremented")
        tc.assertEqual((s.lastentry, s.addresses, s.len, s.nh),
                       (si.lastentry, si.addresses, si.len, si.nh), "rest of the SRH unchanged")
        out_l3 = out[14:]
        srh_end = 40 + (in_l3[41] + 1) * 8
        tc.assertEqual(out_l3[40:43] + out_l3[44:srh_end], in_l3[40:43] + in_l3[44:srh_end],
                       "SRH bytes other than Segments Left unchanged (TLVs kept)")
        tc.assertEqual(out_l3[srh_end:], in_l3[srh_end:], "payload after the SRH unchanged")

    return Fx(name=name, prog="endpoint", iface="wan0", pkt=frame, verdict=verdict, out=exp,
              encap=0, decap=0, check=check,
              tshark={"eth.dst": egress[1], "eth.src": egress[0], "ipv6.routing.segleft": str(sl - 1),
                      "ipv6.hlim": str(hlim - 1) + ("," + str(inner.hlim) if isinstance(inner, IPv6) else ""),
                      "ipv6.dst": new_da + ("," + inner.dst if isinstance(inner, IPv6) else "")})


def decap_fx(name, sid, inner, nh_mac, wire=None, sl=0, le=None, hlim=64, events=None):
    """A decapsulating behaviour: the inner packet forwarded from cust0 to nh_mac.
    The inner TTL/hop limit is accepted unchanged or decremented by one (the
    spec does not say; the two outputs are alternatives)."""
    frame = wan_frame(srv6(sid, wire, sl, le, inner, hlim=hlim))
    ip = raw(inner)
    v4 = isinstance(inner, IP)
    eth = Ether(dst=nh_mac, src=CUST0_MAC, type=0x0800 if v4 else 0x86DD)
    alts = (raw(eth / Raw(ip)), raw(eth / Raw(dec_ttl(ip))))

    def check(tc, out):
        e = Ether(out)
        tc.assertEqual((e.dst, e.src), (nh_mac, CUST0_MAC), "Ethernet: next hop MAC / cust0 MAC")
        tc.assertEqual(e.type, 0x0800 if v4 else 0x86DD, "EtherType of the inner packet")
        got = out[14:]
        tc.assertEqual(len(got), len(ip), "decapsulated packet length")
        if v4:
            tc.assertEqual(ip4_csum(got[:20]), 0, "inner IPv4 header checksum valid")
            tc.assertIn(got[8], (ip[8], ip[8] - 1), "inner TTL unchanged or decremented")
            type(tc).observed_ttl.add(ip[8] - got[8])
        else:
            tc.assertIn(got[7], (ip[7], ip[7] - 1), "inner hop limit unchanged or decremented")
            type(tc).observed_ttl.add(ip[7] - got[7])

    t = {"eth.dst": nh_mac, "eth.src": CUST0_MAC}
    if v4:
        t.update({"ip.dst": inner.dst, "ip.checksum.status": "1", "ipv6.dst": ""})
    else:
        t.update({"ipv6.dst": inner.dst, "ipv6.routing.segleft": ""})
    return Fx(name=name, prog="endpoint", iface="wan0", pkt=frame, verdict="XDP_REDIRECT",
              out=alts, encap=0, decap=1, check=check, events=events or {}, tshark=t)


def pass_fx(name, l3):
    return Fx(name=name, prog="endpoint", iface="wan0", pkt=wan_frame(l3), verdict="XDP_PASS",
              out=None, decap=0, encap=0)


W1 = (WAN1_MAC, NH_WAN1[1])
W0 = (WAN0_MAC, NH_WAN0[1])


def end_fixtures():
    pad = [IPv6ExtHdrSegmentRoutingTLVPadN(len=6, padding=b"\0" * 6)]
    return [
        end_fx("End: SL 2->1, DA = SegList[1], out wan1", SID_END,
               ["fc00:b::d46", "fc00:c::5", SID_END], 2, W1),
        end_fx("End: SL 1->0 (last segment), out wan1", SID_END, ["fc00:c::6", SID_END], 1, W1),
        end_fx("End: reduced SRH (LE 0, SL 1 = LE+1)", SID_END, ["fc00:c::7"], 1, W1),
        end_fx("End: IPv6 inner", SID_END, ["fc00:c::6", SID_END], 1, W1, inner=inner6()),
        end_fx("End: SRH with a PadN TLV (kept)", SID_END, ["fc00:c::8", SID_END], 1, W1,
               tlvs=pad),
        end_fx("End: hop limit 2 -> 1 still forwarded", SID_END, ["fc00:c::6", SID_END], 1, W1,
               hlim=2),
        end_fx("End.X: to the adjacency (wan1, fc00:13::2), not the FIB's wan0", SID_ENDX,
               ["fc00:b::9", SID_ENDX], 1, W1),
        end_fx("End.X: reduced SRH", SID_ENDX, ["fc00:b::a"], 1, W1),
    ]


def decap_fixtures():
    return [
        decap_fx("End.DX4 (SRH SL 0): to nexthop 192.0.2.4, not the FIB's 192.0.2.2", SID_DX4,
                 inner4(), NH4_DX4[1], wire=[SID_DX4, "fc00:b::1"]),
        decap_fx("End.DX4 without SRH (reduced, one SID)", SID_DX4, inner4(), NH4_DX4[1]),
        decap_fx("End.DX6 (SRH SL 0): to nexthop 2001:db8:1::4", SID_DX6, inner6(), NH6_DX6[1],
                 wire=[SID_DX6, "fc00:b::1"]),
        decap_fx("End.DX6 without SRH", SID_DX6, inner6(), NH6_DX6[1]),
        decap_fx("End.DX6 with outer hop limit 1 (decap does not check it)", SID_DX6, inner6(),
                 NH6_DX6[1], wire=[SID_DX6], hlim=1),
        decap_fx("End.DT4 table 100 (SRH): via 192.0.2.3, not main's 192.0.2.2", SID_DT4,
                 inner4(), NH4_T100[1], wire=[SID_DT4, "fc00:b::1"]),
        decap_fx("End.DT4 table 100 without SRH", SID_DT4, inner4(), NH4_T100[1]),
        decap_fx("End.DT4 with a one-segment SRH (LE 0, SL 0)", SID_DT4, inner4(), NH4_T100[1],
                 wire=[SID_DT4]),
        decap_fx("End.DT6 table 100 (SRH): via 2001:db8:1::3, not main's ::2", SID_DT6,
                 inner6(), NH6_T100[1], wire=[SID_DT6, "fc00:b::1"]),
        decap_fx("End.DT6 table 100 without SRH", SID_DT6, inner6(), NH6_T100[1]),
        decap_fx("End.DT46 IPv4 inner, table 100", SID_DT46, inner4(), NH4_T100[1],
                 wire=[SID_DT46, "fc00:b::1"]),
        decap_fx("End.DT46 IPv6 inner, table 100", SID_DT46, inner6(), NH6_T100[1],
                 wire=[SID_DT46, "fc00:b::1"]),
        decap_fx("End.DT46 IPv4 inner without SRH", SID_DT46, inner4(), NH4_T100[1]),
        decap_fx("locator+function fc00:a:0:d4::/64 (End.DX4) with arguments ::1234",
                 "fc00:a:0:d4::1234", inner4(), NH4_DX4L[1]),
        decap_fx("locator+function with other arguments and an SRH (SL 0)",
                 "fc00:a:0:d4:ffff:1:2:3", inner4(), NH4_DX4L[1],
                 wire=["fc00:a:0:d4:ffff:1:2:3", "fc00:b::1"]),
    ]


def pass_fixtures():
    return [
        pass_fx("unknown SID fc00:a::99 (SRH SL 1): pass unchanged",
                srv6("fc00:a::99", ["fc00:c::1", "fc00:a::99"], 1)),
        pass_fx("outside the locator+function prefix (fc00:a:0:d5::1): pass unchanged",
                srv6("fc00:a:0:d5::1")),
        pass_fx("to wan0's own address (ICMPv6 echo): pass unchanged",
                IPv6(src=NH_WAN0[0], dst=WAN0_IP6) / ICMPv6EchoRequest(data=b"hello")),
        pass_fx("transit IPv6 to a non-local address: pass unchanged",
                srv6("fc00:b::5", ["fc00:b::5"], 0)),
        pass_fx("IPv4 on the WAN port: pass unchanged", inner4(dst="192.0.2.77")),
        Fx(name="End with SL 0 (ICMPv6 for the SID): pass unchanged, sl_zero_to_kernel",
           prog="endpoint", iface="wan0",
           pkt=wan_frame(srv6(SID_END, [SID_END, "fc00:b::1"], 0,
                              inner=ICMPv6EchoRequest(id=5, seq=1))),
           verdict="XDP_PASS", out=None, events={"sl_zero_to_kernel": 1}, decap=0),
        Fx(name="End with SL 0 and hop limit 1: SL checked first (RFC 8986 4.1 S02)",
           prog="endpoint", iface="wan0",
           pkt=wan_frame(srv6(SID_END, [SID_END, "fc00:b::1"], 0,
                              inner=ICMPv6EchoRequest(id=5, seq=2), hlim=1)),
           verdict="XDP_PASS", out=None, events={"sl_zero_to_kernel": 1}, decap=0),
    ]


def exthdr_fixtures():
    """Extension headers around the SRH (RFC 8200 order: hop-by-hop first,
    destination options before the routing header)."""
    wire = ["fc00:c::6", SID_END]
    inner = inner4()
    base = IPv6(src=REMOTE_SRC, dst=SID_END, hlim=64, tc=OUTER_TC, fl=OUTER_FL)
    srh_in = IPv6ExtHdrSegmentRouting(nh=4, segleft=1, lastentry=1, addresses=wire)
    srh_out = IPv6ExtHdrSegmentRouting(nh=4, segleft=0, lastentry=1, addresses=wire)
    end_in = base / IPv6ExtHdrHopByHop(nh=43) / srh_in / inner
    out_ip = base.copy()
    out_ip.dst, out_ip.hlim = wire[0], 63
    end_out = Ether(dst=NH_WAN1[1], src=WAN1_MAC) / out_ip / IPv6ExtHdrHopByHop(nh=43) / srh_out / inner
    dt = IPv6(src=REMOTE_SRC, dst=SID_DT4, hlim=64) / IPv6ExtHdrDestOpt(nh=43) / \
        IPv6ExtHdrSegmentRouting(nh=4, segleft=0, lastentry=0, addresses=[SID_DT4]) / inner
    ip = raw(inner)
    eth = Ether(dst=NH4_T100[1], src=CUST0_MAC, type=0x0800)
    return [
        Fx(name="End: hop-by-hop header before the SRH (kept)", prog="endpoint", iface="wan0",
           pkt=wan_frame(end_in), verdict="XDP_REDIRECT", out=end_out, encap=0, decap=0),
        Fx(name="End.DT4: destination options before the SRH, all removed", prog="endpoint",
           iface="wan0", pkt=wan_frame(dt), verdict="XDP_REDIRECT",
           out=(raw(eth / Raw(ip)), raw(eth / Raw(dec_ttl(ip)))), encap=0, decap=1),
    ]


def fib_exception_fixtures():
    """FIB results other than a next hop (fwd.h): blackhole -> drop
    fib_blackhole; no route -> kernel (fib_to_kernel); a port aigw does not
    manage -> kernel (no_tx_port). Verdict and counters only."""
    def fx(name, l3, verdict, drops, events):
        return Fx(name=name, prog="endpoint", iface="wan0", pkt=wan_frame(l3), verdict=verdict,
                  drops=drops, events=events)
    return [
        fx("End: next SID in a blackhole route", srv6(SID_END, ["fc00:d::1", SID_END], 1),
           "XDP_DROP", {"fib_blackhole": 1}, {}),
        fx("End: next SID without any route", srv6(SID_END, ["fc00:99::1", SID_END], 1),
           "XDP_PASS", {}, {"fib_to_kernel": 1}),
        fx("End: next SID behind a port aigw does not manage (ext0)",
           srv6(SID_END, ["fc00:9::1", SID_END], 1), "XDP_PASS", {}, {"no_tx_port": 1}),
        fx("End.DT4: inner destination blackholed in table 100",
           srv6(SID_DT4, inner=inner4(dst="203.0.113.200")), "XDP_DROP", {"fib_blackhole": 1}, {}),
        fx("End.DT6: inner destination blackholed in table 100",
           srv6(SID_DT6, inner=inner6(dst="2001:db8:3:0:8000::9")), "XDP_DROP",
           {"fib_blackhole": 1}, {}),
        # No route in table 100: the kernel would route a passed packet in
        # main, leaking between VRFs, so a non-main DT table drops instead.
        fx("End.DT4: inner destination with no route in table 100",
           srv6(SID_DT4, inner=inner4(dst="198.51.100.77")), "XDP_DROP", {"dt_no_route": 1}, {}),
        fx("End.DT6: inner destination with no route in table 100",
           srv6(SID_DT6, inner=inner6(dst="2001:db8:7::9")), "XDP_DROP", {"dt_no_route": 1}, {}),
    ]


ALL_TSHARK = end_fixtures() + decap_fixtures()


class Endpoint(TsharkMixin, DatapathCase):
    TAG = "ep"
    observed_ttl = set()

    @classmethod
    def tearDownClass(cls):
        if cls.observed_ttl:
            print(f"\nnote: decapsulated inner TTL/hop limit decrement observed: "
                  f"{sorted(cls.observed_ttl)}", file=sys.stderr)
        super().tearDownClass()

    def all_tshark_fixtures(self):
        return ALL_TSHARK

    def test_end_and_end_x(self):
        self.run_fixtures(end_fixtures())

    def test_decap_behaviours(self):
        self.run_fixtures(decap_fixtures())
        self.assertLessEqual(len(self.observed_ttl), 1,
                             "inconsistent inner TTL handling across decap behaviours")

    def test_extension_headers_around_srh(self):
        self.run_fixtures(exthdr_fixtures())

    def test_fib_exceptions(self):
        for fx in fib_exception_fixtures():
            with self.subTest(fx.name):
                frame = _b(fx.pkt)
                res = self.send(fx.prog, fx.iface, frame)
                self.assertEqual(res.verdict, fx.verdict, f"drops {res.drops} events {res.events}")
                self.assert_counters(res, fx.drops, fx.events)
                self.assert_iface_counters(res, frame)

    def test_pass_unchanged(self):
        self.run_fixtures(pass_fixtures())

    def test_end_same_port(self):
        """End whose next SID is reached through the ingress port (wan0):
        XDP_REDIRECT (or XDP_TX) to fc00:12::2's MAC from wan0's MAC."""
        self.run_fx(end_fx("End: next SID out the ingress port", SID_END,
                           ["fc00:b::9", SID_END], 1, W0, verdict=("XDP_REDIRECT", "XDP_TX")))

    def test_main_and_table_100_differ(self):
        """Sanity of the topology the End.DT* fixtures rely on: main and table
        100 route the inner destinations through different next hops."""
        for fam, pfx, main_nh, t100_nh in (("-4", "203.0.113.0/24", NH4_MAIN[0], NH4_T100[0]),
                                          ("-6", "2001:db8:3::/64", NH6_MAIN[0], NH6_T100[0])):
            for table, nh in (("main", main_nh), ("100", t100_nh)):
                r = subprocess.run(["ip", "-n", self.ns.name, fam, "route", "show", "table", table,
                                    "exact", pfx], capture_output=True, text=True).stdout
                self.assertIn(f"via {nh} ", r, f"table {table} route for {pfx}")


if __name__ == "__main__":
    run_module()
