#!/usr/bin/python3
"""Hostile input (issue 8): packets whose headers disagree with the bytes
around them.

- P2: every header the parser accepts (extension headers, SRH, APN option,
  L4 header; the inner packet of a decapsulation) lies within the IP length
  the header declares, not merely within the frame: beyond it is a
  truncation.
- P3: bytes after the IP packet (Ethernet padding, garbage) are never
  forwarded: End/End.X trim to the IPv6 length, decapsulating behaviours to
  the inner packet's length (as the kernel's ip_rcv/ipv6_rcv do).
- P4: IPv4 header checksums (options included) are verified wherever an
  IPv4 header is forwarded (RFC 1812 5.2.2): bad_ipv4_csum.
- The endpoint program acts only on ports configured as WAN: elsewhere it
  hands every packet to the kernel untouched (port_not_wan).

Run: tests/datapath/test_hostile.py --runner build/tests/tools/aigw-dp-run
"""
import dataclasses
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dptest import (  # noqa: E402
    CUST0_MAC, HOST_IP4, HOST_IP6, HOST_MAC, NH4_DX4, NH4_T100, NH6_DX6, NH6_T100, NH_WAN1,
    PEER_MAC, SID_DT4, SID_DT6, SID_DT46, SID_DX4, SID_DX6, SID_END, SID_ENDX, WAN0_MAC,
    WAN1_MAC, DatapathCase, Ether, Fx, IP, IPv6, Raw, TCP, UDP, pol_dst4, pol_dst6, raw,
    run_module)
from scapy.layers.inet6 import IPv6ExtHdrHopByHop, IPv6ExtHdrSegmentRouting  # noqa: E402
from scapy.layers.inet import IPOption  # noqa: E402

import test_endpoint as ep  # noqa: E402
import test_headend as he  # noqa: E402

D4, D6 = pol_dst4("e2"), pol_dst6("e2")   # steered destinations (policy e2)
GARBAGE = bytes(range(0xa0, 0xa0 + 22))   # trailing bytes after the IP packet
W1 = (WAN1_MAC, NH_WAN1[1])
REMOTE = "fc00:b::1"


def cust(l3: bytes) -> bytes:
    return raw(Ether(dst=CUST0_MAC, src=HOST_MAC, type=0x0800 if l3[0] >> 4 == 4 else 0x86DD)) + l3


def wan(l3: bytes, dst_mac=WAN0_MAC) -> bytes:
    return raw(Ether(dst=dst_mac, src=PEER_MAC, type=0x86DD)) + l3


def ip6(nh, plen, dst, src=HOST_IP6, hlim=64) -> bytes:
    """A raw IPv6 header with the payload length given (not computed)."""
    return raw(IPv6(src=src, dst=dst, nh=nh, plen=plen, hlim=hlim))


def ip4(proto, tot_len, l4: bytes, dst=D4) -> bytes:
    """An IPv4 header with the total length given and a valid checksum, then l4."""
    return raw(IP(src=HOST_IP4, dst=dst, proto=proto, len=tot_len, ttl=64)) + l4


def bad_csum(ip: bytes) -> bytes:
    """The IPv4 packet with its header checksum broken."""
    b = bytearray(ip)
    b[10] ^= 0x5a
    return bytes(b)


UDP8 = raw(UDP(sport=1111, dport=2222, len=8, chksum=0))
INNER4 = raw(IP(src="198.51.100.10", dst="203.0.113.9", ttl=40) / UDP(sport=1, dport=2) /
             Raw(b"x" * 8))
INNER6 = raw(IPv6(src="2001:db8:2::10", dst="2001:db8:3::9", hlim=40) / UDP(sport=1, dport=2) /
             Raw(b"x" * 8))
APN_HBH = bytes([17, 1, 0x13, 8, 1, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 0, 0])  # 16 bytes


def drop(name, prog, frame, reason, iface=None):
    return Fx(name=name, prog=prog, iface=iface or ("cust0" if prog == "headend" else "wan0"),
              pkt=frame, verdict="XDP_DROP", out=None, drops={reason: 1}, events={},
              encap=0, decap=0)


def srh(nh, segs, sl):
    return raw(IPv6ExtHdrSegmentRouting(nh=nh, len=2 * len(segs), segleft=sl,
                                        lastentry=len(segs) - 1, addresses=list(segs)))


# ------------------------------------------------------------------ P2

def beyond_ip_length_fixtures():
    H, E = "headend", "endpoint"
    two = ["fc00:c::1", SID_END]
    s = srh(41, two, 1)
    return [
        drop("headend: hop-by-hop header after an IPv6 payload length of 0", H,
             cust(ip6(0, 0, D6) + bytes([17, 0, 1, 4, 0, 0, 0, 0]) + UDP8), "trunc_exthdr"),
        drop("headend: hop-by-hop with an APN option running past the payload length", H,
             cust(ip6(0, 8, D6) + APN_HBH + UDP8), "trunc_exthdr"),
        drop("headend: IPv6 UDP header beyond the payload length (4 of 8 inside)", H,
             cust(ip6(17, 4, D6) + UDP8 + b"q" * 8), "trunc_l4"),
        drop("headend: IPv6 TCP options beyond the payload length", H,
             cust(ip6(6, 20, D6) + raw(TCP(sport=1, dport=2, dataofs=6,
                                           options=[("NOP", None)] * 4))), "trunc_l4"),
        drop("headend: IPv4 UDP header beyond the total length (20)", H,
             cust(ip4(17, 20, UDP8)), "trunc_l4"),
        drop("headend: IPv4 UDP header beyond the total length (24)", H,
             cust(ip4(17, 24, UDP8 + b"q" * 4)), "trunc_l4"),
        drop("headend: IPv4 TCP options beyond the total length", H,
             cust(ip4(6, 40, raw(TCP(sport=1, dport=2, dataofs=6,
                                     options=[("NOP", None)] * 4)))), "trunc_l4"),
        drop("End: SRH after an IPv6 payload length of 0", E,
             wan(ip6(43, 0, SID_END, REMOTE) + s + INNER6), "trunc_exthdr"),
        drop("End: SRH of 40 bytes, payload length 24", E,
             wan(ip6(43, 24, SID_END, REMOTE) + s + INNER6), "trunc_exthdr"),
        drop("End: UDP after an SRH with SL 0, beyond the payload length", E,
             wan(ip6(43, 40, SID_END, REMOTE) + srh(17, [SID_END, REMOTE], 0) + UDP8),
             "trunc_l4"),
        drop("End.DT4: inner IPv4 total length > outer payload (frame has it all)", E,
             wan(ip6(4, 20, SID_DT4, REMOTE) + INNER4), "bad_ipv4"),
        drop("End.DT4: inner IPv4 header beyond the outer payload", E,
             wan(ip6(4, 12, SID_DT4, REMOTE) + INNER4), "trunc_ipv4"),
        drop("End.DX6: inner IPv6 payload length > outer payload (frame has it all)", E,
             wan(ip6(41, 40, SID_DX6, REMOTE) + INNER6), "bad_ipv6"),
        drop("End.DT6: inner IPv6 header beyond the outer payload", E,
             wan(ip6(41, 30, SID_DT6, REMOTE) + INNER6), "trunc_ipv6"),
        drop("End.DT46: inner IPv4 total length > outer payload after an SRH", E,
             wan(ip6(43, 24 + 20, SID_DT46, REMOTE) + srh(4, [SID_DT46], 0) + INNER4),
             "bad_ipv4"),
        # Decapsulated, then found malformed when classified: dropped, not
        # forwarded uncounted.
        dataclasses.replace(drop(
            "End.DX6: inner hop-by-hop header running past the inner payload length", E,
            wan(ip6(41, 40 + 16, SID_DX6, REMOTE) + ip6(0, 8, "2001:db8:3::9", "2001:db8:2::10")
                + APN_HBH), "trunc_exthdr"), decap=1),
    ]


# ------------------------------------------------------------------ P3

def with_tail(fx: Fx, tail: bytes, what: str) -> Fx:
    return dataclasses.replace(fx, name=f"{fx.name} + {what}", pkt=raw(fx.pkt) + tail, tshark=None)


def trim_fixtures():
    i4, i6 = ep.inner4(), ep.inner6()
    end = ep.end_fx("End: SL 1->0", SID_END, ["fc00:c::6", SID_END], 1, W1)
    endx = ep.end_fx("End.X", SID_ENDX, ["fc00:b::9", SID_ENDX], 1, W1)
    dx4 = ep.decap_fx("End.DX4", SID_DX4, i4, NH4_DX4[1], wire=[SID_DX4, REMOTE])
    dx6 = ep.decap_fx("End.DX6", SID_DX6, i6, NH6_DX6[1])
    dt4 = ep.decap_fx("End.DT4", SID_DT4, i4, NH4_T100[1])
    dt6 = ep.decap_fx("End.DT6", SID_DT6, i6, NH6_T100[1], wire=[SID_DT6])
    dt46 = ep.decap_fx("End.DT46", SID_DT46, i4, NH4_T100[1])
    fx = [with_tail(f, GARBAGE, "22 garbage bytes after the IPv6 packet")
          for f in (end, endx, dx4, dx6, dt4, dt6, dt46)]
    # The inner packet shorter than the outer payload: the rest is not the
    # inner packet's and is not forwarded.
    for f, sid, inner, nh in ((dx4, SID_DX4, i4, 4), (dt6, SID_DT6, i6, 41)):
        l3 = ip6(nh, len(raw(inner)) + 8, sid, ep.REMOTE_SRC) + raw(inner) + b"\xee" * 8
        fx.append(dataclasses.replace(f, name=f"{f.name}: 8 bytes after the inner packet, "
                                              "inside the outer payload", pkt=wan(l3), tshark=None))
    return fx


# ------------------------------------------------------------------ P4

def csum_fixtures():
    H, E = "headend", "endpoint"
    good4 = raw(IP(src=HOST_IP4, dst=D4, ttl=64) / UDP(sport=1111, dport=2222) / Raw(b"q" * 16))
    opts4 = raw(IP(src=HOST_IP4, dst=D4, ttl=64, options=[IPOption(b"\x01\x01\x01\x00")]) /
                UDP(sport=1111, dport=2222) / Raw(b"q" * 16))
    opts4_bad_opt = bytearray(opts4)
    opts4_bad_opt[20] = 0x00  # an option byte changed, the checksum not
    inner_bad = bad_csum(INNER4)
    return [
        drop("headend: IPv4 with a bad header checksum", H, cust(bad_csum(good4)),
             "bad_ipv4_csum"),
        drop("headend: IPv4 with options, bad header checksum", H, cust(bad_csum(opts4)),
             "bad_ipv4_csum"),
        drop("headend: IPv4 with an option byte changed (checksum covers options)", H,
             cust(bytes(opts4_bad_opt)), "bad_ipv4_csum"),
        drop("End.DX4: inner IPv4 with a bad header checksum", E,
             wan(ip6(4, len(inner_bad), SID_DX4, REMOTE) + inner_bad), "bad_ipv4_csum"),
        drop("End.DT4: inner IPv4 with a bad header checksum (SRH)", E,
             wan(ip6(43, 24 + len(inner_bad), SID_DT4, REMOTE) + srh(4, [SID_DT4], 0)
                 + inner_bad), "bad_ipv4_csum"),
        drop("End.DT46: inner IPv4 with a bad header checksum", E,
             wan(ip6(4, len(inner_bad), SID_DT46, REMOTE) + inner_bad), "bad_ipv4_csum"),
    ]


def csum_good_fixtures():
    """Valid checksums, options included, still go through."""
    inner = IP(src=HOST_IP4, dst=D4, ttl=30, options=[IPOption(b"\x01\x01\x01\x00")]) / UDP(
        sport=43000, dport=2222) / Raw(b"o" * 12)
    i4 = IP(src="198.51.100.10", dst="203.0.113.9", ttl=40, tos=0x28, id=7,
            options=[IPOption(b"\x01\x01\x01\x00")]) / UDP(sport=4001, dport=4791) / Raw(b"o" * 8)
    return [
        he.encap_fx("headend: IPv4 with 4 bytes of options, valid checksum", "e2", inner,
                    tshark=False),
        # decap_fx's own check sums a 20-byte header: the output is compared whole
        dataclasses.replace(ep.decap_fx("End.DT4: inner IPv4 with options, valid checksum",
                                        SID_DT4, i4, NH4_T100[1]), tshark=None, check=None),
    ]


# ------------------------------------------------------------------ ports

def not_wan(name, iface, frame):
    return Fx(name=name, prog="endpoint", iface=iface, pkt=frame, verdict="XDP_PASS", out=None,
              events={"port_not_wan": 1}, encap=0, decap=0)


def port_fixtures():
    dt4 = wan(raw(IPv6(src=REMOTE, dst=SID_DT4, nh=4)) + INNER4, CUST0_MAC)
    end = wan(ip6(43, 40 + len(INNER6), SID_END, REMOTE) + srh(41, ["fc00:c::1", SID_END], 1)
              + INNER6, CUST0_MAC)
    return [
        not_wan("endpoint on cust0 (customer port): End.DT4 SID not acted on", "cust0", dt4),
        not_wan("endpoint on cust0 (customer port): End SID not acted on", "cust0", end),
        not_wan("endpoint on cust0: a malformed packet is the kernel's, not dropped", "cust0",
                wan(ip6(43, 24, SID_END, REMOTE) + srh(41, ["fc00:c::1", SID_END], 1)[:24],
                    CUST0_MAC)),
        not_wan("endpoint on ext0 (not configured): End.DT4 SID not acted on", "ext0", dt4),
    ]


class Hostile(DatapathCase):
    TAG = "ho"
    observed_ttl = set()  # filled by test_endpoint.decap_fx's checks

    def test_p2_headers_within_ip_length(self):
        self.run_fixtures(beyond_ip_length_fixtures())

    def test_p3_trailing_bytes_not_forwarded(self):
        self.run_fixtures(trim_fixtures())

    def test_p4_ipv4_header_checksum(self):
        self.run_fixtures(csum_fixtures())

    def test_p4_valid_checksums_pass(self):
        self.run_fixtures(csum_good_fixtures())

    def test_endpoint_only_on_wan_ports(self):
        self.run_fixtures(port_fixtures())

    def test_endpoint_on_wan_port_still_acts(self):
        """Control for the port test: the same End.DT4 packet on wan0 is decapsulated."""
        self.run_fx(dataclasses.replace(
            ep.decap_fx("End.DT4 on wan0", SID_DT4, IP(INNER4), NH4_T100[1]), tshark=None))


if __name__ == "__main__":
    run_module()
