#!/usr/bin/python3
"""Headend (customer interface) fixtures: policy steering, H.Encaps and
H.Encaps.Red with 1/2/3/8 SIDs, IPv4 and IPv6 inner, VLAN, LPM and VRF,
padding, TTL expiry, MTU (ICMP too big / frag-no-DF), TCP MSS clamping,
unresolved next hop, flow label.

Expected outputs are built with scapy from RFC 8986 / the README; see
dptest.py. Run: tests/datapath/test_headend.py --runner build/tests/tools/aigw-dp-run
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dptest import (  # noqa: E402
    ARP, CUST0_IP4, CUST0_IP6, CUST0_MAC, CUST1_MAC, HOST_IP4, HOST_IP6, HOST_MAC, NH_WAN0,
    NH_WAN1, POLICIES, Pol, segs, WAN0_MAC, WAN1_MAC, WAN1_MTU, DatapathCase, Dot1Q, Ether, Fx,
    ICMPv6EchoRequest, IP, IPv6, Padding, Raw, TCP, TsharkMixin, UDP, dec_ttl, encap_overhead,
    _b, h_encaps, l3_of, pol_dst4, pol_dst6, pol_hlim, raw, run_module)
from scapy.layers.inet import IPOption  # noqa: E402
from scapy.layers.inet6 import ICMPv6ND_NS, IPv6ExtHdrHopByHop  # noqa: E402


def egress_of(first_sid: str):
    """(egress port MAC, next hop MAC) for the first SID, from the topology."""
    if first_sid.startswith("fc00:c:"):
        return WAN1_MAC, NH_WAN1[1]
    return WAN0_MAC, NH_WAN0[1]


def cust_frame(inner, vlan=None, dst_mac=CUST0_MAC):
    e = Ether(dst=dst_mac, src=HOST_MAC)
    return raw(e / Dot1Q(vlan=vlan) / inner) if vlan else raw(e / inner)


def inner4(dst, sport=40000, dport=4791, ttl=64, tos=0xB9, payload=b"x" * 32, df=False,
           ident=0x1234):
    return (IP(src=HOST_IP4, dst=dst, ttl=ttl, tos=tos, id=ident, flags="DF" if df else 0)
            / UDP(sport=sport, dport=dport) / Raw(payload))


def inner6(dst, sport=40000, dport=4791, hlim=64, tc=0x62, payload=b"y" * 32, fl=0x12345):
    return (IPv6(src=HOST_IP6, dst=dst, hlim=hlim, tc=tc, fl=fl)
            / UDP(sport=sport, dport=dport) / Raw(payload))


def flow_key(pol_name, inner):
    ip = inner.getlayer(IP) or inner.getlayer(IPv6)
    l4 = inner.getlayer(UDP) or inner.getlayer(TCP)
    if l4 is None:
        return (pol_name, ip.src, ip.dst, ip.payload.__class__.__name__)
    return (pol_name, ip.src, ip.dst, l4.__class__.__name__, l4.sport, l4.dport)


def tshark_expect(pol, inner_ip: bytes, eg_mac, nh_mac):
    """What tshark must decode in the expected frame (computed from the
    policy, not from the scapy-built frame)."""
    n = len(pol.segments)
    v4 = inner_ip[0] >> 4 == 4
    t = {"eth.dst": nh_mac, "eth.src": eg_mac, "eth.type": "0x86dd"}
    if v4:
        t["ipv6.src"] = pol.source
        t["ipv6.dst"] = pol.segments[0]
        t["ipv6.hlim"] = str(pol_hlim(pol))
        t["ip.ttl"] = str(inner_ip[8] - 1)
        t["ip.checksum.status"] = "1"
    else:
        t["ipv6.src"] = f"{pol.source},{IPv6(inner_ip).src}"
        t["ipv6.dst"] = f"{pol.segments[0]},{IPv6(inner_ip).dst}"
        t["ipv6.hlim"] = f"{pol_hlim(pol)},{inner_ip[7] - 1}"
    if pol.mode == "encap" or n > 1:
        wire = list(reversed(pol.segments if pol.mode == "encap" else pol.segments[1:]))
        t["ipv6.routing.segleft"] = str(n - 1)
        t["ipv6.routing.srh.last_entry"] = str(len(wire) - 1)
        t["ipv6.routing.srh.addr"] = ",".join(wire)
    else:
        t["ipv6.routing.segleft"] = ""
    return t


def encap_fx(name, pol_name, inner, iface="cust0", vlan=None, frame=None, tshark=True,
             inner_out=None, events=None, verdict="XDP_REDIRECT", eth=None, check=None):
    """A packet steered into policy pol_name: XDP_REDIRECT of the H.Encaps(.Red)
    packet to the first SID's next hop."""
    pol = POLICIES[pol_name]
    dst_mac = CUST1_MAC if iface == "cust1" else CUST0_MAC
    frame = frame or cust_frame(inner, vlan, dst_mac)
    inner_ip = raw(inner)
    out_ip = inner_out if inner_out is not None else dec_ttl(inner_ip)
    eg_mac, nh_mac = eth or egress_of(pol.segments[0])
    exp = h_encaps(out_ip, pol.segments, pol.mode, pol.source, pol_hlim(pol), nh_mac, eg_mac)

    def default_check(tc, out):
        tc.check_encap_decode(out, frame, pol, nh_mac, eg_mac)

    return Fx(name=name, prog="headend", iface=iface, pkt=frame, verdict=verdict, out=exp,
              events=events or {}, encap=1, flow=flow_key(pol_name, inner),
              check=check or (default_check if inner_out is None else None),
              tshark=tshark_expect(pol, inner_ip, eg_mac, nh_mac) if tshark else None)


# ---------------------------------------------------------------- fixtures

def encap_fixtures():
    fx = []
    for pol_name in ("e1", "e2", "e3", "e8", "r1", "r2", "r3", "r8"):
        p = POLICIES[pol_name]
        fx.append(encap_fx(f"{p.mode} {len(p.segments)} SID(s), IPv4 inner ({pol_name})", pol_name,
                           inner4(pol_dst4(pol_name), sport=41000 + len(fx))))
        fx.append(encap_fx(f"{p.mode} {len(p.segments)} SID(s), IPv6 inner ({pol_name})", pol_name,
                           inner6(pol_dst6(pol_name), sport=41000 + len(fx))))
    # ECN CE and another DSCP copied into the outer traffic class
    fx.append(encap_fx("encap IPv4 inner DSCP 10 ECN CE -> outer TC 0x2b", "e2",
                       inner4(pol_dst4("e2"), sport=41100, tos=0x2B)))
    fx.append(encap_fx("encap IPv6 inner TC 0x03 (ECN CE) -> outer TC 0x03", "e2",
                       inner6(pol_dst6("e2"), sport=41101, tc=0x03)))
    # a TCP inner and an ICMP inner
    fx.append(encap_fx("encap IPv4/TCP inner", "e2",
                       IP(src=HOST_IP4, dst=pol_dst4("e2"), ttl=30) /
                       TCP(sport=5555, dport=80, flags="A") / Raw(b"z" * 20)))
    fx.append(encap_fx("encap IPv6/ICMPv6 echo inner", "r2",
                       IPv6(src=HOST_IP6, dst=pol_dst6("r2"), hlim=7) /
                       ICMPv6EchoRequest(id=1, seq=1, data=b"ping" * 4)))
    # IPv4 options, fragments, IPv6 extension headers: carried intact
    fx.append(encap_fx("encap IPv4 inner with options (IHL 6)", "e3",
                       IP(src=HOST_IP4, dst=pol_dst4("e3"), ttl=9,
                          options=IPOption(b"\x01\x01\x01\x00")) /
                       UDP(sport=41200, dport=9) / Raw(b"o" * 12)))
    fx.append(encap_fx("encap IPv4 first fragment (MF)", "e2",
                       IP(src=HOST_IP4, dst=pol_dst4("e2"), flags="MF", id=77) /
                       UDP(sport=41201, dport=9, len=200) / Raw(b"f" * 64)))
    fx.append(encap_fx("encap IPv4 non-first fragment (offset 1000)", "e2",
                       IP(src=HOST_IP4, dst=pol_dst4("e2"), frag=125, id=77, proto=17) /
                       Raw(b"g" * 64)))
    fx.append(encap_fx("encap IPv6 inner with a hop-by-hop header", "r3",
                       IPv6(src=HOST_IP6, dst=pol_dst6("r3"), hlim=2) / IPv6ExtHdrHopByHop() /
                       UDP(sport=41202, dport=9) / Raw(b"h" * 16)))
    return fx


def lpm_vrf_fixtures():
    return [
        encap_fx("LPM: /32 host prefix wins over /28 (198.51.100.17 -> host)", "host",
                 inner4("198.51.100.17", sport=42001)),
        encap_fx("LPM: /28 wins over /24 (198.51.100.18 -> e1)", "e1",
                 inner4("198.51.100.18", sport=42002)),
        encap_fx("LPM: only /24 covers 198.51.100.3 -> wide", "wide",
                 inner4("198.51.100.3", sport=42003)),
        encap_fx("LPM: /128 wins over /64 (2001:db8:2:1::17 -> host)", "host",
                 inner6("2001:db8:2:1::17", sport=42004)),
        encap_fx("LPM: /64 wins over /48 (2001:db8:2:1::18 -> e1)", "e1",
                 inner6("2001:db8:2:1::18", sport=42005)),
        encap_fx("LPM: only /48 covers 2001:db8:2:ff::1 -> wide", "wide",
                 inner6("2001:db8:2:ff::1", sport=42006)),
        encap_fx("VLAN 100 on cust1 (VRF 7): IPv4 -> vrf7 policy, tag removed", "vrf7",
                 inner4("198.51.100.17", sport=42007), iface="cust1", vlan=100),
        encap_fx("VLAN 100 on cust1 (VRF 7): IPv6 -> vrf7 policy, tag removed", "vrf7",
                 inner6("2001:db8:2:1::17", sport=42008), iface="cust1", vlan=100),
        encap_fx("VLAN 100 on cust1 (VRF 7): 198.51.100.40 (e2 in VRF 0) -> vrf7", "vrf7",
                 inner4(pol_dst4("e2", 8), sport=42009), iface="cust1", vlan=100),
    ]


def padding_fixtures():
    small = inner4(pol_dst4("e2"), sport=42100, payload=b"abcd")  # 32-byte IPv4 packet
    frame = raw(Ether(dst=CUST0_MAC, src=HOST_MAC) / small / Padding(b"\xaa" * 14))
    assert len(frame) == 60
    small6 = inner6(pol_dst6("r2"), sport=42101, payload=b"")
    frame6 = raw(Ether(dst=CUST0_MAC, src=HOST_MAC) / small6 / Padding(b"\x55" * 6))
    return [
        encap_fx("IPv4 inner in a padded 60-byte frame: padding not carried", "e2", small,
                 frame=frame),
        encap_fx("IPv6 inner with trailing bytes after payload length: not carried", "r2",
                 small6, frame=frame6),
    ]


def pass_fixtures():
    def pfx(name, frame, iface="cust0"):
        return Fx(name=name, prog="headend", iface=iface, pkt=frame, verdict="XDP_PASS",
                  out=None, encap=0)
    return [
        pfx("no policy (IPv4 203.0.113.7): pass unchanged",
            cust_frame(inner4("203.0.113.7"))),
        pfx("no policy (IPv6 2001:db8:9::1): pass unchanged",
            cust_frame(inner6("2001:db8:9::1"))),
        pfx("no policy, TTL 1: pass unchanged (not ours to expire)",
            cust_frame(inner4("203.0.113.200", ttl=1))),
        # cust0 has an untagged entry only: a frame tagged with VID 300 is not
        # its untagged traffic and is not steered into VRF 0's policies.
        Fx(name="VLAN 300 on cust0 (no entry for the VID): pass unchanged, vlan_unknown",
           prog="headend", iface="cust0",
           pkt=cust_frame(inner4(pol_dst4("e2"), sport=42300), vlan=300), verdict="XDP_PASS",
           out=None, encap=0, events={"vlan_unknown": 1}),
        pfx("ARP: pass unchanged",
            raw(Ether(dst="ff:ff:ff:ff:ff:ff", src=HOST_MAC) /
                ARP(op=1, hwsrc=HOST_MAC, psrc=HOST_IP4, pdst=CUST0_IP4))),
        pfx("IPv6 neighbour solicitation (multicast): pass unchanged",
            raw(Ether(dst="33:33:ff:00:00:01", src=HOST_MAC) /
                IPv6(src=HOST_IP6, dst="ff02::1:ff00:1", hlim=255) /
                ICMPv6ND_NS(tgt=CUST0_IP6))),
    ]


def mtu_payload(total, v6):
    """UDP payload size giving an IP packet of `total` bytes."""
    return total - (40 if v6 else 20) - 8


MTU_POL = POLICIES["mtu"]
MTU_MAX_INNER = WAN1_MTU - encap_overhead(MTU_POL.mode, len(MTU_POL.segments))  # 1320


def mtu_fit_fixtures():
    fx = []
    for v6 in (False, True):
        for df in ((True, False) if not v6 else (None,)):
            n = MTU_MAX_INNER
            name = (f"{'IPv6' if v6 else 'IPv4'}{'' if v6 else (' DF' if df else ' no DF')} "
                    f"{n}-byte inner fits wan1 MTU {WAN1_MTU} exactly: forwarded")
            inner = (inner6(pol_dst6("mtu"), sport=43000 + len(fx), payload=b"m" * mtu_payload(n, True))
                     if v6 else inner4(pol_dst4("mtu"), sport=43000 + len(fx), df=df,
                                       payload=b"m" * mtu_payload(n, False)))
            fx.append(encap_fx(name, "mtu", inner, tshark=False))
    return fx


def tcp_syn(v6, dst, opts, sport=33000, flags="S", ttl=64):
    l3 = (IPv6(src=HOST_IP6, dst=dst, hlim=ttl) if v6 else
          IP(src=HOST_IP4, dst=dst, ttl=ttl, id=7))
    return l3 / TCP(sport=sport, dport=443, flags=flags, seq=1000, window=64240, options=opts)


SYN_OPTS = lambda mss: [("MSS", mss), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None),
                        ("WScale", 7)]


def mss_fx(name, pol_name, v6, in_opts, out_opts, clamped, iface="cust0", vlan=None,
           flags="S", sport=33000):
    """A TCP segment steered into pol_name; the inner packet expected inside
    is built from scratch by scapy with out_opts (checksums recomputed)."""
    dst = pol_dst6(pol_name) if v6 else pol_dst4(pol_name)
    inner = tcp_syn(v6, dst, in_opts, sport=sport, flags=flags)
    inner_out = raw(tcp_syn(v6, dst, out_opts, sport=sport, flags=flags, ttl=63))
    want_mss = dict((k, v) for k, v in out_opts if k == "MSS").get("MSS")

    def check(tc, out):
        _, l3 = l3_of(out)
        pkt = IPv6(l3)
        inner_pkt = pkt[IPv6].payload
        while not isinstance(inner_pkt, (IP, IPv6)):
            inner_pkt = inner_pkt.payload
        t = inner_pkt[TCP]
        mss = dict((k, v) for k, v in t.options if k == "MSS").get("MSS")
        tc.assertEqual(mss, want_mss, "TCP MSS option in the tunnelled SYN")
        c = t.chksum
        q = inner_pkt.__class__(raw(inner_pkt))
        q[TCP].chksum = None
        tc.assertEqual(inner_pkt.__class__(raw(q))[TCP].chksum, c, "TCP checksum (scapy recompute)")

    f = encap_fx(name, pol_name, inner, iface=iface, vlan=vlan, inner_out=inner_out,
                 events={"mss_clamped": 1} if clamped else {}, check=check)
    if f.tshark is not None and want_mss is not None:
        f.tshark["tcp.options.mss_val"] = str(want_mss)
        f.tshark["tcp.checksum.status"] = "1"
    return f


def mss_fixtures():
    # auto: egress MTU - encapsulation - IP header - 20 (TCP)
    e2 = POLICIES["e2"]
    ov_e2 = encap_overhead(e2.mode, len(e2.segments))
    ov_mtu = encap_overhead(MTU_POL.mode, len(MTU_POL.segments))
    auto4_wan0, auto6_wan0 = 1500 - ov_e2 - 20 - 20, 1500 - ov_e2 - 40 - 20   # 1380, 1360
    auto4_wan1, auto6_wan1 = WAN1_MTU - ov_mtu - 40, WAN1_MTU - ov_mtu - 60   # 1280, 1260
    return [
        mss_fx(f"SYN MSS 1460 IPv4 via wan0 (MTU 1500): auto -> {auto4_wan0}", "e2", False,
               SYN_OPTS(1460), SYN_OPTS(auto4_wan0), True),
        mss_fx(f"SYN MSS 1460 IPv6 via wan0 (MTU 1500): auto -> {auto6_wan0}", "e2", True,
               SYN_OPTS(1460), SYN_OPTS(auto6_wan0), True),
        mss_fx(f"SYN MSS 1460 IPv4 via wan1 (MTU {WAN1_MTU}): auto -> {auto4_wan1}", "mtu", False,
               SYN_OPTS(1460), SYN_OPTS(auto4_wan1), True, sport=33001),
        mss_fx(f"SYN MSS 1460 IPv6 via wan1 (MTU {WAN1_MTU}): auto -> {auto6_wan1}", "mtu", True,
               SYN_OPTS(1460), SYN_OPTS(auto6_wan1), True, sport=33001),
        mss_fx("SYN MSS 1460 IPv4, policy tcp_mss 1200 -> 1200", "mss1200", False,
               SYN_OPTS(1460), SYN_OPTS(1200), True),
        mss_fx("SYN MSS 1460 IPv6, policy tcp_mss 1200 -> 1200", "mss1200", True,
               SYN_OPTS(1460), SYN_OPTS(1200), True),
        mss_fx("SYN MSS 1460 IPv4, policy tcp_mss off: untouched", "mssoff", False,
               SYN_OPTS(1460), SYN_OPTS(1460), False),
        mss_fx("SYN MSS 1460 IPv6, policy tcp_mss off: untouched", "mssoff", True,
               SYN_OPTS(1460), SYN_OPTS(1460), False),
        mss_fx("SYN without MSS option: untouched", "e2", False,
               [("NOP", None), ("WScale", 7)], [("NOP", None), ("WScale", 7)], False,
               sport=33002),
        mss_fx("SYN MSS 1000 below the clamp: untouched", "e2", False,
               SYN_OPTS(1000), SYN_OPTS(1000), False, sport=33003),
        mss_fx(f"SYN with MSS after NOP,NOP,SAckOK: clamped -> {auto4_wan0}", "e2", False,
               [("NOP", None), ("NOP", None), ("SAckOK", b""), ("MSS", 1460)],
               [("NOP", None), ("NOP", None), ("SAckOK", b""), ("MSS", auto4_wan0)], True,
               sport=33004),
        mss_fx("SYN-less ACK carrying an MSS option: untouched", "e2", False,
               [("MSS", 1460), ("NOP", None), ("NOP", None)],
               [("MSS", 1460), ("NOP", None), ("NOP", None)], False, flags="A", sport=33005),
        mss_fx("SYN on cust1 (mss_clamp: false): untouched", "vrf7", False,
               SYN_OPTS(1460), SYN_OPTS(1460), False, iface="cust1", vlan=100, sport=33006),
    ]


def noneigh_fixtures():
    fx = []
    for v6 in (False, True):
        inner = inner6(pol_dst6("noneigh"), sport=44000) if v6 else inner4(pol_dst4("noneigh"),
                                                                           sport=44000)
        # handed to the kernel encapsulated, Ethernet addresses as received
        f = encap_fx(f"unresolved next hop ({'IPv6' if v6 else 'IPv4'} inner): pass "
                     "encapsulated, no_neigh_to_kernel", "noneigh", inner,
                     verdict="XDP_PASS", events={"no_neigh_to_kernel": 1},
                     eth=(HOST_MAC, CUST0_MAC), tshark=False)
        fx.append(f)
    return fx


def fib_exception_fixtures():
    """The first SID's FIB result is not a forwarding next hop (fwd.h): a
    blackhole drops (fib_blackhole); unreachable drops (no_route_to_sid:
    handing a steered packet to the kernel unencapsulated would route tenant
    traffic natively); an egress port aigw does not manage gets the
    encapsulated packet to the kernel (no_tx_port). Only verdict and counters
    are specified."""
    fx = []
    for pol_name, verdict, drops, events in (
            ("blackhole", "XDP_DROP", {"fib_blackhole": 1}, {}),
            ("unreach", "XDP_DROP", {"no_route_to_sid": 1}, {}),
            ("notx", "XDP_PASS", {}, {"no_tx_port": 1})):
        for v6 in (False, True):
            inner = inner6(pol_dst6(pol_name)) if v6 else inner4(pol_dst4(pol_name))
            fx.append(Fx(name=f"first SID {POLICIES[pol_name].segments[0]} ({pol_name}), "
                              f"{'IPv6' if v6 else 'IPv4'} inner",
                         prog="headend", iface="cust0", pkt=cust_frame(inner), verdict=verdict,
                         drops=drops, events=events,
                         encap=0 if verdict == "XDP_DROP" else None))
    return fx


ALL_TSHARK = (encap_fixtures() + lpm_vrf_fixtures() + padding_fixtures() + mss_fixtures())


class Headend(TsharkMixin, DatapathCase):
    TAG = "he"

    def all_tshark_fixtures(self):
        return ALL_TSHARK

    def test_encap_modes_and_sid_counts(self):
        self.run_fixtures(encap_fixtures())

    def test_lpm_and_vrf(self):
        self.run_fixtures(lpm_vrf_fixtures())

    def test_padding_not_carried(self):
        self.run_fixtures(padding_fixtures())

    def test_no_policy_passes_unchanged(self):
        self.run_fixtures(pass_fixtures())

    def test_mss_clamp(self):
        self.run_fixtures(mss_fixtures())

    def test_unresolved_next_hop(self):
        self.run_fixtures(noneigh_fixtures())

    def test_fib_exceptions(self):
        for fx in fib_exception_fixtures():
            with self.subTest(fx.name):
                frame = _b(fx.pkt)
                res = self.send(fx.prog, fx.iface, frame)
                self.assertEqual(res.verdict, fx.verdict, f"drops {res.drops} events {res.events}")
                self.assert_counters(res, fx.drops, fx.events)
                self.assert_iface_counters(res, frame, fx.encap)

    def test_mtu_fits(self):
        self.run_fixtures(mtu_fit_fixtures())

    # ---- TTL expiry: ICMP time exceeded from XDP, or the kernel answers
    def _ttl_expired(self, v6):
        inner = (inner6(pol_dst6("e2"), hlim=1, sport=45000) if v6
                 else inner4(pol_dst4("e2"), ttl=1, sport=45000))
        frame = cust_frame(inner)
        res = self.send("headend", "cust0", frame)
        if res.verdict == "XDP_TX":
            self.assert_counters(res, {}, {"icmp_ttl_sent": 1})
            self.check_icmp_reply(res.out, frame, v6, 3 if v6 else 11, 0,
                                  CUST0_IP6 if v6 else CUST0_IP4)
        elif res.verdict == "XDP_PASS":
            self.assert_counters(res, {}, {"ttl_to_kernel": 1})
            self.assert_frame(res.out, frame, False, "expired packet passed to the kernel")
        else:
            self.fail(f"inner TTL 1: verdict {res.verdict} (want XDP_TX with ICMP or XDP_PASS "
                      f"unchanged); drops {res.drops} events {res.events}")
        self.assert_iface_counters(res, frame, encap=0)

    def test_ttl_expired_ipv4(self):
        self._ttl_expired(False)

    def test_ttl_expired_ipv6(self):
        self._ttl_expired(True)

    # ---- too big after encapsulation
    def _too_big(self, v6, size, df=True):
        inner = (inner6(pol_dst6("mtu"), sport=46000, payload=b"B" * mtu_payload(size, True))
                 if v6 else inner4(pol_dst4("mtu"), sport=46000, df=df,
                                   payload=b"B" * mtu_payload(size, False)))
        frame = cust_frame(inner)
        res = self.send("headend", "cust0", frame)
        if not v6 and not df:
            self.assertEqual(res.verdict, "XDP_DROP",
                             f"IPv4 without DF too big: drops {res.drops} events {res.events}")
            self.assert_counters(res, {"frag_no_df": 1}, {})
        else:
            self.assertEqual(res.verdict, "XDP_TX",
                             f"too big: want ICMP sent back; drops {res.drops} events {res.events}")
            self.assertIn({k: v for k, v in res.drops.items() if v}, ({}, {"mtu_exceeded": 1}),
                          "drop counters for a too-big packet answered with ICMP")
            self.assertEqual({k: v for k, v in res.events.items() if v}, {"icmp_mtu_sent": 1},
                             "event counters")
            if v6:
                self.check_icmp_reply(res.out, frame, True, 2, 0, CUST0_IP6, mtu=MTU_MAX_INNER)
            else:
                self.check_icmp_reply(res.out, frame, False, 3, 4, CUST0_IP4, mtu=MTU_MAX_INNER)
        self.assert_iface_counters(res, frame)

    def test_too_big_ipv6_1400(self):
        self._too_big(True, 1400)

    def test_too_big_ipv6_one_over(self):
        self._too_big(True, MTU_MAX_INNER + 1)

    def test_too_big_ipv4_df_1400(self):
        self._too_big(False, 1400)

    def test_too_big_ipv4_df_one_over(self):
        self._too_big(False, MTU_MAX_INNER + 1)

    def test_too_big_ipv4_no_df(self):
        self._too_big(False, 1400, df=False)

    # ---- outer flow label
    def test_flow_label_same_flow(self):
        """Packets of one flow (5-tuple) get one label, whatever their length,
        TTL, IP id or payload."""
        for v6 in (False, True):
            labels = set()
            for i, (plen, ttl) in enumerate([(10, 64), (300, 20), (1000, 5)]):
                inner = (inner6(pol_dst6("e2"), sport=47000, hlim=ttl, payload=b"f" * plen)
                         if v6 else inner4(pol_dst4("e2"), sport=47000, ttl=ttl, ident=i,
                                           payload=b"f" * plen))
                with self.subTest(v6=v6, i=i):
                    self.run_fx(encap_fx(f"flow {v6} {i}", "e2", inner, tshark=False))
                    labels.add(self.flows[flow_key("e2", inner)])
            self.assertEqual(len(labels), 1)

    def test_flow_label_entropy(self):
        """Different flows get different labels (ECMP entropy, RFC 6438):
        flows differing only in the UDP source port (RoCEv2 entropy), and
        flows differing only in the source address."""
        groups = {
            "IPv4 UDP sport": [inner4(pol_dst4("e2"), sport=49152 + i) for i in range(16)],
            "IPv6 UDP sport": [inner6(pol_dst6("e2"), sport=49152 + i) for i in range(16)],
            "IPv4 source": [inner4(pol_dst4("e2"), sport=50000) for _ in range(8)],
        }
        for i, p in enumerate(groups["IPv4 source"]):
            p[IP].src = f"192.0.2.{20 + i}"
        for gname, inners in groups.items():
            labels = []
            for inner in inners:
                res = self.send("headend", "cust0", cust_frame(inner))
                self.assertEqual(res.verdict, "XDP_REDIRECT", gname)
                labels.append(self.assert_flow_label(res.out, None))
            with self.subTest(gname):
                self.assertGreaterEqual(len(set(labels)), len(labels) - 1,
                                        f"{gname}: labels {[hex(l) for l in labels]}")


GLOBALS_POLICIES = {
    "inherit": Pol("inherit", "198.51.100.0/26", "2001:db8:2:1::/64", "encap", segs(0x21, 2)),
    "auto": Pol("auto", "198.51.100.64/26", "2001:db8:2:2::/64", "encap", segs(0x22, 2),
                tcp_mss="auto"),
}

GLOBALS_CONFIG = f"""# datapath settings: hop_limit left at its default (64), tcp_mss_clamp 1300
datapath:
  tcp_mss_clamp: 1300
interfaces:
  - name: cust0
    role: customer
  - name: wan0
    role: wan
policies:
{''.join(p.yaml() for p in GLOBALS_POLICIES.values())}"""


class HeadendDatapathSettings(DatapathCase):
    """datapath.hop_limit default (64) and datapath.tcp_mss_clamp inherited
    by a policy without tcp_mss, overridden by a policy's tcp_mss: auto."""
    TAG = "hg"
    CONFIG = GLOBALS_CONFIG

    def _fx(self, pol, inner, inner_out=None, events=None):
        eg_mac, nh_mac = egress_of(pol.segments[0])
        frame = cust_frame(inner)
        out_ip = inner_out if inner_out is not None else dec_ttl(raw(inner))
        exp = h_encaps(out_ip, pol.segments, pol.mode, pol.source, 64, nh_mac, eg_mac)
        return Fx(name=f"{pol.name}: {inner.summary()}", prog="headend", iface="cust0",
                  pkt=frame, verdict="XDP_REDIRECT", out=exp, encap=1, events=events or {},
                  flow=("g", pol.name, inner.summary()))

    def test_default_hop_limit_64(self):
        pol = GLOBALS_POLICIES["inherit"]
        self.run_fx(self._fx(pol, inner4("198.51.100.5", sport=51000)))
        self.run_fx(self._fx(pol, inner6("2001:db8:2:1::5", sport=51000)))

    def test_mss_inherited_and_overridden(self):
        for pol, want4, want6 in ((GLOBALS_POLICIES["inherit"], 1300, 1300),
                                  (GLOBALS_POLICIES["auto"], 1500 - 80 - 40, 1500 - 80 - 60)):
            for v6, want in ((False, want4), (True, want6)):
                dst = {"inherit": ("198.51.100.9", "2001:db8:2:1::5"),
                       "auto": ("198.51.100.69", "2001:db8:2:2::5")}[pol.name][v6]
                inner = tcp_syn(v6, dst, SYN_OPTS(1460), sport=52000)
                out = raw(tcp_syn(v6, dst, SYN_OPTS(want), sport=52000, ttl=63))
                with self.subTest(pol=pol.name, v6=v6):
                    self.run_fx(self._fx(pol, inner, out, {"mss_clamped": 1}))



RATELIMIT_CONFIG = GLOBALS_CONFIG.replace(
    "  tcp_mss_clamp: 1300\n", "  tcp_mss_clamp: 1300\n  icmp_rate_limit: 1\n  icmp_burst: 3\n")


class HeadendIcmpRateLimit(DatapathCase):
    """ICMP errors built in XDP bypass the kernel's ICMP rate limits, so the
    datapath has its own per-CPU token bucket (datapath.icmp_rate_limit /
    icmp_burst): with 1/s and a burst of 3, ten expiring packets in a row get
    at most 3 (+1 refill) errors; the rest are dropped and counted."""
    TAG = "hr"
    CONFIG = RATELIMIT_CONFIG

    def test_burst_then_drop(self):
        assert "icmp_rate_limit: 1" in self.CONFIG
        sent = limited = 0
        for i in range(10):
            frame = cust_frame(inner4("198.51.100.7", ttl=1, sport=46000 + i))
            res = self.send("headend", "cust0", frame)
            if res.verdict == "XDP_TX":
                self.assert_counters(res, {}, {"icmp_ttl_sent": 1})
                sent += 1
            else:
                self.assertEqual(res.verdict, "XDP_DROP")
                self.assert_counters(res, {"hop_limit": 1}, {"icmp_ratelimited": 1})
                limited += 1
        # The runner may sit on either CPU between packets: each CPU has its
        # own bucket of 3 (+ at most one token refilled during the test).
        self.assertGreaterEqual(sent, 3)
        self.assertLessEqual(sent, 8)
        self.assertEqual(sent + limited, 10)


DEFAULT_ROUTE_POLICIES = {
    "all": Pol("all", "0.0.0.0/0", "::/0", "encap", segs(0x31, 2)),
}

DEFAULT_ROUTE_CONFIG = f"""# a policy steering everything: what is for the router stays local
interfaces:
  - name: cust0
    role: customer
  - name: wan0
    role: wan
policies:
{''.join(p.yaml() for p in DEFAULT_ROUTE_POLICIES.values())}"""


class HeadendLocalTraffic(DatapathCase):
    """Even under a policy for 0.0.0.0/0 and ::/0, traffic for the router
    itself (the port's own addresses), multicast (ND, routing protocols),
    broadcast and link-local destinations is never tunnelled."""
    TAG = "hl"
    CONFIG = DEFAULT_ROUTE_CONFIG

    def test_local_and_multicast_pass(self):
        for dst in (CUST0_IP4, "224.0.0.5", "255.255.255.255"):
            frame = cust_frame(inner4(dst))
            res = self.send("headend", "cust0", frame)
            self.assertEqual(res.verdict, "XDP_PASS", dst)
            self.assert_frame(res.out, frame, False, f"{dst} passed unchanged")
        for dst in (CUST0_IP6, "ff02::1:ff00:1", "fe80::1"):
            frame = cust_frame(inner6(dst))
            res = self.send("headend", "cust0", frame)
            self.assertEqual(res.verdict, "XDP_PASS", dst)
            self.assert_frame(res.out, frame, False, f"{dst} passed unchanged")

    def test_remote_is_steered(self):
        for inner in (inner4("203.0.113.9"), inner6("2001:db8:9::9")):
            res = self.send("headend", "cust0", cust_frame(inner))
            self.assertEqual(res.verdict, "XDP_REDIRECT", inner.summary())


NHCACHE_CONFIG = GLOBALS_CONFIG.replace(
    "  tcp_mss_clamp: 1300\n", "  tcp_mss_clamp: 1300\n  nexthop_cache_ms: 1000\n")


class HeadendNexthopCache(DatapathCase):
    """datapath.nexthop_cache_ms: the route to a policy's first SID is reused
    for that long, then looked up again (a changed neighbour MAC shows)."""
    TAG = "hn"
    CONFIG = NHCACHE_CONFIG
    NEW_MAC = "02:00:00:00:aa:aa"

    def _dst_mac(self, frame):
        res = self.send("headend", "cust0", frame)
        self.assertEqual(res.verdict, "XDP_REDIRECT", f"drops {res.drops} events {res.events}")
        return Ether(res.out).dst

    def test_cached_then_refreshed(self):
        assert "nexthop_cache_ms: 1000" in self.CONFIG
        # One CPU, one cache: BPF_PROG_TEST_RUN runs on the runner's CPU.
        os.sched_setaffinity(self.runner.proc.pid, {0})
        frame = cust_frame(inner4("198.51.100.5", sport=52000))
        self.assertEqual(self._dst_mac(frame), NH_WAN0[1])
        self.ns.ip_batch(f"neigh replace {NH_WAN0[0]} lladdr {self.NEW_MAC} dev wan0 "
                         f"nud permanent\n")
        try:
            self.assertEqual(self._dst_mac(frame), NH_WAN0[1], "within validity: cached")
            time.sleep(1.2)
            self.assertEqual(self._dst_mac(frame), self.NEW_MAC, "cache expired: new MAC")
        finally:
            self.ns.ip_batch(f"neigh replace {NH_WAN0[0]} lladdr {NH_WAN0[1]} dev wan0 "
                             f"nud permanent\n")


class HeadendNexthopCacheCoarseClock(HeadendNexthopCache):
    """The same, on the caches' fallback clock: the programs loaded with
    CONFIG_HZ=0, as where the kernel's configuration cannot be read (the
    coarse ns clock instead of jiffies, bpf/lib/nhcache.h)."""
    TAG = "hc"

    @classmethod
    def setUpClass(cls):
        os.environ["AIGW_DP_KCONFIG"] = "CONFIG_HZ=0\n"
        try:
            super().setUpClass()
        finally:
            del os.environ["AIGW_DP_KCONFIG"]


if __name__ == "__main__":
    run_module()
