#!/usr/bin/python3
"""Endpoint (WAN interface) fixtures: RFC 8986 End, End.X, End.DX4, End.DX6,
End.DT4, End.DT6, End.DT46 (table 100 vs main), reduced SRH, no SRH,
locator+function SID with arguments, unknown SIDs; the ICMPv6 errors of RFC
8986 / RFC 8754 (Time Exceeded at End/End.X, Parameter Problem for a bad
SRH) and the inner hop of the decapsulating behaviours (TTL decremented;
expiring: Time Exceeded routed back to the inner source), with the cases
that must not be answered and the rate limit.

Expected outputs are built with scapy from RFC 8986 / RFC 8754; see dptest.py.
Run: tests/datapath/test_endpoint.py --runner build/tests/tools/aigw-dp-run
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dptest import (  # noqa: E402
    CUST0_MAC, NH4_DX4, NH4_DX4L, NH4_MAIN, NH4_T100, NH6_DX6, NH6_MAIN, NH6_T100, NH_WAN0,
    NH_WAN1, PEER_MAC, REPLY4, REPLY6, SID_DT4, SID_DT6, SID_DT46, SID_DX4, SID_DX6, SID_END,
    SID_END_IN_LOC, SID_ENDX, WAN0_IP6, WAN0_MAC, WAN1_MAC, BASE_CONFIG, CUST0_IP4, DatapathCase,
    Ether, Fx, IP, IPv6, Raw, TsharkMixin, UDP, _b, dec_ttl, ip4_csum, l3_of, raw, run_module)
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6EchoRequest, ICMPv6TimeExceeded, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop,
    IPv6ExtHdrSegmentRouting, IPv6ExtHdrSegmentRoutingTLVPadN)

REMOTE_SRC = "fc00:b::1"  # the remote headend
OUTER_TC, OUTER_FL = 0x48, 0xABCDE


def inner4(dst="203.0.113.9", ttl=40, sport=4000, src=REPLY4):
    return IP(src=src, dst=dst, ttl=ttl, tos=0x28, id=99) / UDP(
        sport=sport, dport=4791) / Raw(b"i4" * 20)


def inner6(dst="2001:db8:3::9", hlim=40, sport=4000, src=REPLY6):
    return IPv6(src=src, dst=dst, hlim=hlim, tc=0x28) / UDP(
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
    """A decapsulating behaviour: the inner packet forwarded from cust0 to
    nh_mac, one router hop later (TTL / hop limit - 1, as the kernel's
    End.DX* / End.DT* forward it)."""
    frame = wan_frame(srv6(sid, wire, sl, le, inner, hlim=hlim))
    ip = raw(inner)
    v4 = isinstance(inner, IP)
    eth = Ether(dst=nh_mac, src=CUST0_MAC, type=0x0800 if v4 else 0x86DD)

    def check(tc, out):
        e = Ether(out)
        tc.assertEqual((e.dst, e.src), (nh_mac, CUST0_MAC), "Ethernet: next hop MAC / cust0 MAC")
        tc.assertEqual(e.type, 0x0800 if v4 else 0x86DD, "EtherType of the inner packet")
        got = out[14:]
        tc.assertEqual(len(got), len(ip), "decapsulated packet length")
        if v4:
            tc.assertEqual(ip4_csum(got[:20]), 0, "inner IPv4 header checksum valid")
            tc.assertEqual(got[8], ip[8] - 1, "inner TTL decremented")
        else:
            tc.assertEqual(got[7], ip[7] - 1, "inner hop limit decremented")

    t = {"eth.dst": nh_mac, "eth.src": CUST0_MAC}
    if v4:
        t.update({"ip.dst": inner.dst, "ip.checksum.status": "1", "ipv6.dst": "",
                  "ip.ttl": str(inner.ttl - 1)})
    else:
        t.update({"ipv6.dst": inner.dst, "ipv6.routing.segleft": "",
                  "ipv6.hlim": str(inner.hlim - 1)})
    return Fx(name=name, prog="endpoint", iface="wan0", pkt=frame, verdict="XDP_REDIRECT",
              out=raw(eth / Raw(dec_ttl(ip))), encap=0, decap=1, check=check,
              events=events or {}, tshark=t)


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
        end_fx("End /128 inside the End.DX4 block fc00:a:0:d4::/64: End (longest match)",
               SID_END_IN_LOC, ["fc00:c::6", SID_END_IN_LOC], 1, W1),
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


def icmp6_check(frame, icmp_type, pointer=None):
    """An ICMPv6 error from wan0 back to the sender (XDP_TX)."""
    def check(tc, out):
        tc.check_icmp_reply(out, frame, True, icmp_type, 0, WAN0_IP6, mtu=pointer)
    return check


def answer_fx(name, l3, icmp_type, event, pointer=None, decap=0):
    frame = wan_frame(l3)
    t = {"icmpv6.type": str(icmp_type), "icmpv6.code": "0", "eth.dst": PEER_MAC}
    if pointer is not None:
        t["icmpv6.pointer"] = str(pointer)
    return Fx(name=name, prog="endpoint", iface="wan0", pkt=frame, verdict="XDP_TX",
              events={event: 1}, encap=0, decap=decap, check=icmp6_check(frame, icmp_type, pointer),
              tshark=t)


SL_PTR = 40 + 3  # Segments Left, from the start of the IPv6 header


def answer_fixtures():
    wire = ["fc00:c::6", SID_END]
    hbh_bad_sl = IPv6(src=REMOTE_SRC, dst=SID_END, hlim=64) / IPv6ExtHdrHopByHop(nh=43) / \
        IPv6ExtHdrSegmentRouting(nh=4, segleft=3, lastentry=1, addresses=wire) / inner4()
    return [
        answer_fx("End: hop limit 1: Time Exceeded", srv6(SID_END, wire, 1, hlim=1), 3,
                  "icmp_ttl_sent"),
        answer_fx("End: hop limit 0: Time Exceeded", srv6(SID_END, wire, 1, hlim=0), 3,
                  "icmp_ttl_sent"),
        answer_fx("End.X: hop limit 1: Time Exceeded", srv6(SID_ENDX, ["fc00:b::9", SID_ENDX], 1,
                                                            hlim=1), 3, "icmp_ttl_sent"),
        answer_fx("End: hop limit 1 and a bad SRH: Time Exceeded first (S05 before S08)",
                  srv6(SID_END, wire, 3, hlim=1), 3, "icmp_ttl_sent"),
        answer_fx("End: Segments Left 3 > Last Entry + 1: Parameter Problem at SL",
                  srv6(SID_END, wire, 3), 4, "icmp_param_sent", SL_PTR),
        answer_fx("End: Last Entry 4 beyond Hdr Ext Len (2 segments): Parameter Problem at SL",
                  srv6(SID_END, wire, 1, le=4), 4, "icmp_param_sent", SL_PTR),
        answer_fx("End: hop-by-hop header before a bad SRH: pointer 40 + 8 + 3",
                  hbh_bad_sl, 4, "icmp_param_sent", 40 + 8 + 3),
        answer_fx("End.X: Segments Left > Last Entry + 1: Parameter Problem",
                  srv6(SID_ENDX, ["fc00:b::9", SID_ENDX], 4), 4, "icmp_param_sent", SL_PTR),
        answer_fx("End.DX4 with Segments Left 1: Parameter Problem (RFC 8986 4.4 S03)",
                  srv6(SID_DX4, [SID_DX4, "fc00:b::1"], 1), 4, "icmp_param_sent", SL_PTR),
        answer_fx("End.DT6 with Segments Left 1: Parameter Problem",
                  srv6(SID_DT6, [SID_DT6, "fc00:b::1"], 1, inner=inner6()), 4,
                  "icmp_param_sent", SL_PTR),
    ]


def drop_fx(name, frame, reason, events=None):
    return Fx(name=name, prog="endpoint", iface="wan0", pkt=frame, verdict="XDP_DROP",
              drops={reason: 1}, events=events or {}, encap=0, decap=0)


def unanswered_fixtures():
    wire = ["fc00:c::6", SID_END]

    def frm(src, sl=1, hlim=1, inner=None):
        o = srv6(SID_END, wire, sl, inner=inner, hlim=hlim)
        o.src = src
        return wan_frame(o)

    err = ICMPv6TimeExceeded() / inner6()
    short = frm(REMOTE_SRC)[:-10]  # the IPv6 payload length says 10 bytes more
    return [
        drop_fx("End, hop limit 1, from a multicast source", frm("ff0e::1"), "hop_limit"),
        drop_fx("End, hop limit 1, from the unspecified source", frm("::"), "hop_limit"),
        drop_fx("End, hop limit 1, carrying an ICMPv6 error", frm(REMOTE_SRC, inner=err),
                "hop_limit"),
        drop_fx("End, bad SRH, from a multicast source", frm("ff0e::1", sl=3, hlim=64),
                "srh_sl_exceeds_le"),
        drop_fx("End, hop limit 1, frame shorter than its IPv6 length", short, "bad_ipv6"),
        drop_fx("End.DT4, Segments Left 0 but Last Entry beyond Hdr Ext Len: silent drop",
                wan_frame(srv6(SID_DT4, [SID_DT4], 0, le=3)), "srh_bad_len"),
        drop_fx("End, Segments Left 0 but Last Entry beyond Hdr Ext Len: silent drop",
                wan_frame(srv6(SID_END, wire, 0, le=5,
                               inner=ICMPv6EchoRequest(id=1, seq=1))), "srh_bad_len"),
    ]


def routed_icmp_fx(name, sid, inner, src, events=None):
    """The decapsulated inner packet expires here: ICMP Time Exceeded from
    src to the inner source, routed via wan0's next hop NH_WAN0."""
    frame = wan_frame(srv6(sid, None, inner=inner))
    ip = raw(inner)
    v4 = isinstance(inner, IP)

    def check(tc, out):
        e = Ether(out)
        tc.assertEqual((e.dst, e.src), (NH_WAN0[1], WAN0_MAC), "routed via wan0's next hop")
        if v4:
            q = e[IP]
            tc.assertEqual((q.src, q.dst, q.proto), (src, inner.src, 1), "ICMP addresses")
            tc.assertEqual(ip4_csum(raw(q)[:20]), 0, "IPv4 header checksum")
            icmp = raw(q)[20:q.len]
            tc.assertEqual((icmp[0], icmp[1]), (11, 0), "Time Exceeded in transit")
            tc.assertEqual(ip4_csum(icmp), 0, "ICMP checksum")
        else:
            q = e[IPv6]
            tc.assertEqual((q.src, q.dst, q.nh), (src, inner.src, 58), "ICMPv6 addresses")
            icmp = raw(q)[40:]
            tc.assertEqual((icmp[0], icmp[1]), (3, 0), "Time Exceeded in transit")
            c = IPv6(raw(q))
            ck = c.payload.cksum
            c.payload.cksum = None
            tc.assertEqual(IPv6(raw(c)).payload.cksum, ck, "ICMPv6 checksum (scapy recompute)")
        tc.assertEqual(icmp[8:], ip, "quote = the decapsulated packet, TTL unchanged")

    # tshark lists the error's fields, then the quoted packet's.
    t = {"icmp.type": "11", "ip.src": f"{src},{inner.src}"} if v4 else {
        "icmpv6.type": "3", "ipv6.src": f"{src},{inner.src}"}
    t["eth.dst"] = NH_WAN0[1]
    return Fx(name=name, prog="endpoint", iface="wan0", pkt=frame, verdict="XDP_REDIRECT",
              events=events or {"icmp_ttl_sent": 1}, encap=0, decap=1, check=check, tshark=t)


def expiry_fixtures():
    no_route4, no_route6 = "198.51.100.11", "2001:db8:2::11"
    dx4_pass = inner4(ttl=1, src=no_route4)
    decapped = Ether(dst=WAN0_MAC, src=PEER_MAC, type=0x0800) / Raw(raw(dx4_pass))
    return [
        routed_icmp_fx("End.DX4 inner TTL 1: from cust0's address (wan0 has no IPv4)", SID_DX4,
                       inner4(ttl=1), CUST0_IP4),
        routed_icmp_fx("End.DT4 table 100 inner TTL 1", SID_DT4, inner4(ttl=1), CUST0_IP4),
        routed_icmp_fx("End.DX6 inner hop limit 1: from wan0's address", SID_DX6,
                       inner6(hlim=1), WAN0_IP6),
        routed_icmp_fx("End.DT6 table 100 inner hop limit 1", SID_DT6, inner6(hlim=1), WAN0_IP6),
        routed_icmp_fx("End.DT46 inner TTL 0", SID_DT46, inner4(ttl=0), CUST0_IP4),
        decap_fx("End.DX4 inner TTL 2: forwarded with 1", SID_DX4, inner4(ttl=2), NH4_DX4[1]),
        decap_fx("End.DT6 inner hop limit 2: forwarded with 1", SID_DT6, inner6(hlim=2),
                 NH6_T100[1]),
        Fx(name="End.DX4 inner TTL 1, no route back from XDP: the kernel answers",
           prog="endpoint", iface="wan0", pkt=wan_frame(srv6(SID_DX4, None, inner=dx4_pass)),
           verdict="XDP_PASS", out=decapped, events={"ttl_to_kernel": 1}, encap=0, decap=1),
        Fx(name="End.DT4 table 100 inner TTL 1, no route back in table 100: dropped",
           prog="endpoint", iface="wan0",
           pkt=wan_frame(srv6(SID_DT4, None, inner=inner4(ttl=1, src=no_route4))),
           verdict="XDP_DROP", drops={"hop_limit": 1}, encap=0, decap=1),
        Fx(name="End.DT6 table 100 inner hop limit 1, no route back: dropped",
           prog="endpoint", iface="wan0",
           pkt=wan_frame(srv6(SID_DT6, None, inner=inner6(hlim=1, src=no_route6))),
           verdict="XDP_DROP", drops={"hop_limit": 1}, encap=0, decap=1),
        Fx(name="End.DX4 inner TTL 1 to a multicast destination: not answered",
           prog="endpoint", iface="wan0",
           pkt=wan_frame(srv6(SID_DX4, None, inner=inner4(ttl=1, dst="224.0.0.5"))),
           verdict="XDP_DROP", drops={"hop_limit": 1}, encap=0, decap=1),
    ]


ALL_TSHARK = end_fixtures() + decap_fixtures() + answer_fixtures() + expiry_fixtures()[:7]


class Endpoint(TsharkMixin, DatapathCase):
    TAG = "ep"

    def all_tshark_fixtures(self):
        return ALL_TSHARK

    def test_end_and_end_x(self):
        self.run_fixtures(end_fixtures())

    def test_decap_behaviours(self):
        self.run_fixtures(decap_fixtures())

    def test_icmp_at_end(self):
        """RFC 8986 4.1 S05-S10, RFC 8754 4.3.1.1: Time Exceeded and
        Parameter Problem back out wan0, from wan0's address."""
        self.run_fixtures(answer_fixtures())

    def test_icmp_not_sent(self):
        """Never in reply to an ICMPv6 error, to a multicast or unspecified
        source, nor about a packet shorter than it says (RFC 4443 2.4(e))."""
        self.run_fixtures(unanswered_fixtures())

    def test_inner_expiry(self):
        """A decapsulated packet that expires here: Time Exceeded to its
        source, routed in the behaviour's table; without a route back, the
        kernel answers (main) or it is dropped (table 100)."""
        self.run_fixtures(expiry_fixtures())

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


RATELIMIT_CONFIG = BASE_CONFIG.replace(
    "  tcp_mss_clamp: auto\n", "  tcp_mss_clamp: auto\n  icmp_rate_limit: 1\n  icmp_burst: 3\n")


class EndpointIcmpRateLimit(DatapathCase):
    """The endpoint's ICMP errors share the datapath's per-CPU token bucket
    (datapath.icmp_rate_limit / icmp_burst): with 1/s and a burst of 3, of
    ten errors due in a row (Time Exceeded and Parameter Problem in turn) at
    most 3 per CPU (+1 refill) are sent; the rest are dropped and counted."""
    TAG = "er"
    CONFIG = RATELIMIT_CONFIG

    def test_burst_then_drop(self):
        assert "icmp_rate_limit: 1" in self.CONFIG
        wire = ["fc00:c::6", SID_END]
        sent = limited = 0
        for i in range(10):
            ttl = i % 2 == 0
            l3 = srv6(SID_END, wire, 1 if ttl else 3, hlim=1 if ttl else 64,
                      inner=inner4(sport=47000 + i))
            res = self.send("endpoint", "wan0", wan_frame(l3))
            if res.verdict == "XDP_TX":
                self.assert_counters(res, {}, {"icmp_ttl_sent" if ttl else "icmp_param_sent": 1})
                sent += 1
            else:
                self.assertEqual(res.verdict, "XDP_DROP")
                self.assert_counters(res, {"hop_limit" if ttl else "srh_sl_exceeds_le": 1},
                                     {"icmp_ratelimited": 1})
                limited += 1
        self.assertGreaterEqual(sent, 3)
        self.assertLessEqual(sent, 8)
        self.assertEqual(sent + limited, 10)


if __name__ == "__main__":
    run_module()
