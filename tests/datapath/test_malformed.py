#!/usr/bin/python3
"""Malformed and exceptional packets: each must get its verdict and bump
exactly one named drop reason counter (aigw_drop_reason_name() in abi.h) by
exactly 1, and no other drop reason or event.

Frames are assembled byte by byte where scapy would repair the malformation.
Run: tests/datapath/test_malformed.py --runner build/tests/tools/aigw-dp-run
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dptest import (  # noqa: E402
    CUST0_MAC, CUST1_MAC, HOST_IP4, HOST_IP6, HOST_MAC, PEER_MAC, SID_DT4, SID_DT6, SID_DT46,
    SID_DX4, SID_DX6, SID_END, SID_ENDX, WAN0_IP6, WAN0_MAC, DatapathCase, Dot1Q, Ether, Fx,
    IP, IPv6, Raw, RunnerError, TCP, UDP, pol_dst4, pol_dst6, raw, run_module)
from scapy.layers.inet6 import IPv6ExtHdrSegmentRouting  # noqa: E402

D4, D6 = pol_dst4("e2"), pol_dst6("e2")   # steered destinations (policy e2)


def eth_c(et):
    return raw(Ether(dst=CUST0_MAC, src=HOST_MAC, type=et))


def eth_w(et):
    return raw(Ether(dst=WAN0_MAC, src=PEER_MAC, type=et))


def ip6_hdr(nh, plen, dst=D6, src=HOST_IP6, hlim=64):
    """A raw IPv6 header with the payload length given (not computed)."""
    return raw(IPv6(src=src, dst=dst, nh=nh, plen=plen, hlim=hlim))


GOOD4 = raw(IP(src=HOST_IP4, dst=D4, ttl=64) / UDP(sport=1111, dport=2222) / Raw(b"q" * 16))
GOOD6 = raw(IPv6(src=HOST_IP6, dst=D6) / UDP(sport=1111, dport=2222) / Raw(b"q" * 16))


def patch(b, off, val: bytes):
    b = bytearray(b)
    b[off:off + len(val)] = val
    return bytes(b)


def v4_l4(proto, l4: bytes, dst=D4):
    """IPv4 header (valid checksum, total length covering l4) + raw L4 bytes."""
    return raw(IP(src=HOST_IP4, dst=dst, proto=proto, len=20 + len(l4)) / Raw(l4))


def v6_l4(nh, l4: bytes, dst=D6):
    return ip6_hdr(nh, len(l4), dst) + l4


def destopt(nh):
    return bytes([nh, 0, 1, 4, 0, 0, 0, 0])  # 8 bytes: PadN of 4


def srh_bytes(nh, segs, sl, le, hdr_len=None):
    hdr_len = 2 * len(segs) if hdr_len is None else hdr_len
    return raw(IPv6ExtHdrSegmentRouting(nh=nh, len=hdr_len, segleft=sl, lastentry=le,
                                        addresses=list(segs)))


def drop(name, prog, frame, reason, iface=None):
    return Fx(name=name, prog=prog, iface=iface or ("cust0" if prog == "headend" else "wan0"),
              pkt=frame, verdict="XDP_DROP", out=None, drops={reason: 1}, events={},
              encap=0, decap=0)


def param_problem(name, frame):
    """A bad SRH on a SID with segments left (or a decapsulating SID with
    any): ICMPv6 Parameter Problem back out wan0, pointing at Segments Left
    (RFC 8754 4.3.1.1, RFC 8986 4.4); the packet itself is discarded."""
    def check(tc, out):
        tc.check_icmp_reply(out, frame, True, 4, 0, WAN0_IP6, mtu=40 + 3)
    return Fx(name=name + ": Parameter Problem", prog="endpoint", iface="wan0", pkt=frame,
              verdict="XDP_TX", events={"icmp_param_sent": 1}, encap=0, decap=0, check=check)


INNER4 = raw(IP(src="198.51.100.10", dst="203.0.113.9", ttl=40) / UDP(sport=1, dport=2) /
             Raw(b"x" * 8))
INNER6 = raw(IPv6(src="2001:db8:2::10", dst="2001:db8:3::9", hlim=40) / UDP(sport=1, dport=2) /
             Raw(b"x" * 8))


def wan_srv6(da, segs, sl, inner, nh, le=None, hlim=64, hdr_len=None):
    s = srh_bytes(nh, segs, sl, len(segs) - 1 if le is None else le, hdr_len)
    return eth_w(0x86DD) + ip6_hdr(43, len(s) + len(inner), da, "fc00:b::1", hlim) + s + inner


def wan_plain(da, inner, nh, hlim=64):
    return eth_w(0x86DD) + ip6_hdr(nh, len(inner), da, "fc00:b::1", hlim) + inner


def headend_fixtures():
    H = "headend"
    vlan_hdr = raw(Ether(dst=CUST1_MAC, src=HOST_MAC) / Dot1Q(vlan=100, type=0x0800))
    return [
        drop("802.1Q tag cut short", H, eth_c(0x8100) + b"\x00\x64", "trunc_vlan"),
        drop("IPv4 header cut at 12 bytes", H, eth_c(0x0800) + GOOD4[:12], "trunc_ipv4"),
        drop("IPv4 header cut at 12 bytes behind a VLAN tag (cust1)", H, vlan_hdr + GOOD4[:12],
             "trunc_ipv4", iface="cust1"),
        drop("IPv4 IHL 4 (< 5)", H, eth_c(0x0800) + patch(GOOD4, 0, b"\x44"), "bad_ipv4"),
        drop("IPv4 total length > frame", H,
             eth_c(0x0800) + patch(GOOD4, 2, struct.pack("!H", len(GOOD4) + 20)), "bad_ipv4"),
        drop("IPv4 total length < header length", H,
             eth_c(0x0800) + patch(GOOD4, 2, struct.pack("!H", 16)), "bad_ipv4"),
        drop("IPv4 EtherType carrying version 6", H, eth_c(0x0800) + patch(GOOD4, 0, b"\x65"),
             "bad_ipv4"),
        drop("IPv6 header cut at 30 bytes", H, eth_c(0x86DD) + GOOD6[:30], "trunc_ipv6"),
        drop("IPv6 payload length > frame", H,
             eth_c(0x86DD) + patch(GOOD6, 4, struct.pack("!H", len(GOOD6) - 40 + 8)), "bad_ipv6"),
        drop("IPv6 EtherType carrying version 4", H, eth_c(0x86DD) + patch(GOOD6, 0, b"\x40"),
             "bad_ipv6"),
        # 40 + payload length wrapped the 16-bit L3 length (issue 8 P1).
        drop("IPv6 payload length 65496 (40 + it = 65536)", H,
             eth_c(0x86DD) + patch(GOOD6, 4, struct.pack("!H", 65496)), "bad_ipv6"),
        drop("IPv6 payload length 65535", H,
             eth_c(0x86DD) + patch(GOOD6, 4, b"\xff\xff"), "bad_ipv6"),
        drop("hop-by-hop header cut at 1 byte", H, eth_c(0x86DD) + ip6_hdr(0, 1) + b"\x11",
             "trunc_exthdr"),
        drop("hop-by-hop header announcing 16 bytes, 8 present", H,
             eth_c(0x86DD) + ip6_hdr(0, 8) + bytes([17, 1, 1, 4, 0, 0, 0, 0]), "trunc_exthdr"),
        drop("SRH announcing 40 bytes, 24 present", H,
             eth_c(0x86DD) + ip6_hdr(43, 24) + srh_bytes(41, ["fc00:b::1", "fc00:b::2"], 1, 1)[:24],
             "trunc_exthdr"),
        drop("fragment header cut at 4 bytes", H, eth_c(0x86DD) + ip6_hdr(44, 4) + b"\x11\0\0\0",
             "trunc_exthdr"),
        drop("9 destination options headers (> 8)", H,
             eth_c(0x86DD) + ip6_hdr(60, 9 * 8 + 8) + b"".join(destopt(60) for _ in range(8))
             + destopt(17) + raw(UDP(sport=1, dport=2, len=8, chksum=0)), "exthdr_chain"),
        drop("IPv4 TCP header cut at 10 bytes", H, eth_c(0x0800) + v4_l4(6, b"\x01" * 10),
             "trunc_l4"),
        drop("IPv4 TCP data offset 15 (60 bytes), 20 present", H,
             eth_c(0x0800) + v4_l4(6, raw(TCP(sport=1, dport=2, dataofs=15))), "trunc_l4"),
        drop("IPv4 UDP header cut at 4 bytes", H, eth_c(0x0800) + v4_l4(17, b"\x01\x02\x03\x04"),
             "trunc_l4"),
        drop("IPv4 ICMP header cut at 4 bytes", H, eth_c(0x0800) + v4_l4(1, b"\x08\0\0\0"),
             "trunc_l4"),
        drop("IPv6 TCP header cut at 10 bytes", H, eth_c(0x86DD) + v6_l4(6, b"\x01" * 10),
             "trunc_l4"),
        drop("IPv6 UDP header cut at 4 bytes", H, eth_c(0x86DD) + v6_l4(17, b"\x01\x02\x03\x04"),
             "trunc_l4"),
        drop("ICMPv6 header cut at 4 bytes", H, eth_c(0x86DD) + v6_l4(58, b"\x80\0\0\0"),
             "trunc_l4"),
        drop("IPv6 UDP cut at 4 bytes after a destination options header", H,
             eth_c(0x86DD) + ip6_hdr(60, 12) + destopt(17) + b"\x01\x02\x03\x04", "trunc_l4"),
    ]


def endpoint_fixtures():
    E = "endpoint"
    two = ["fc00:c::1", SID_END]
    return [
        drop("802.1Q tag cut short (wan0)", E, eth_w(0x8100) + b"\x00\x64", "trunc_vlan"),
        drop("IPv6 header cut at 30 bytes (wan0)", E, eth_w(0x86DD) + GOOD6[:30], "trunc_ipv6"),
        drop("IPv6 payload length > frame (to End SID)", E,
             eth_w(0x86DD) + ip6_hdr(41, len(INNER6) + 8, SID_END) + INNER6, "bad_ipv6"),
        drop("IPv6 payload length 65535 (to End SID; wrapped 40 + it)", E,
             eth_w(0x86DD) + ip6_hdr(41, 65535, SID_END) + INNER6, "bad_ipv6"),
        drop("SRH announcing 40 bytes, 24 present (to End SID)", E,
             eth_w(0x86DD) + ip6_hdr(43, 24, SID_END) + srh_bytes(41, two, 1, 1)[:24],
             "trunc_exthdr"),
        drop("SRH cut inside its fixed part (4 bytes)", E,
             eth_w(0x86DD) + ip6_hdr(43, 4, SID_END) + bytes([41, 4, 4, 1]), "trunc_exthdr"),
        param_problem("SRH Hdr Ext Len 2 (1 segment) with Last Entry 2",
                      wan_srv6(SID_END, [SID_END], 1, INNER6, 41, le=2)),
        param_problem("SRH Hdr Ext Len 4 (2 segments) with Last Entry 5",
                      wan_srv6(SID_END, two, 1, INNER6, 41, le=5)),
        param_problem("SRH Segments Left 3 > Last Entry 1 + 1",
                      wan_srv6(SID_END, two, 3, INNER6, 41)),
        drop("SRH Hdr Ext Len 4 (2 segments) with Last Entry 5, no segment left", E,
             wan_srv6(SID_END, two, 0, INNER6, 41, le=5), "srh_bad_len"),
        param_problem("End.DT4 with Segments Left 1",
                      wan_srv6(SID_DT4, ["fc00:b::1", SID_DT4], 1, INNER4, 4)),
        param_problem("End.DX6 with Segments Left 1",
                      wan_srv6(SID_DX6, ["fc00:b::1", SID_DX6], 1, INNER6, 41)),
        param_problem("End.DT46 with Segments Left 2",
                      wan_srv6(SID_DT46, ["fc00:b::1", "fc00:b::2", SID_DT46], 2, INNER4, 4)),
        drop("End.DX4 with an IPv6 inner packet", E,
             wan_srv6(SID_DX4, [SID_DX4], 0, INNER6, 41), "inner_proto"),
        drop("End.DX4 (no SRH) with an IPv6 inner packet", E, wan_plain(SID_DX4, INNER6, 41),
             "inner_proto"),
        drop("End.DT4 with an IPv6 inner packet", E,
             wan_srv6(SID_DT4, [SID_DT4], 0, INNER6, 41), "inner_proto"),
        drop("End.DT6 with an IPv4 inner packet", E,
             wan_srv6(SID_DT6, [SID_DT6], 0, INNER4, 4), "inner_proto"),
        drop("End.DX6 with an IPv4 inner packet", E, wan_plain(SID_DX6, INNER4, 4),
             "inner_proto"),
        drop("9 destination options headers before the SRH (to End SID)", E,
             eth_w(0x86DD) + ip6_hdr(60, 9 * 8 + 40 + len(INNER6), SID_END, "fc00:b::1")
             + b"".join(destopt(60) for _ in range(8)) + destopt(43)
             + srh_bytes(41, two, 1, 1) + INNER6, "exthdr_chain"),
        drop("End.DT4: inner IPv4 cut at 10 bytes", E, wan_plain(SID_DT4, INNER4[:10], 4),
             "trunc_ipv4"),
        drop("End.DT4: inner IPv4 total length > what is left", E,
             wan_plain(SID_DT4, patch(INNER4, 2, struct.pack("!H", len(INNER4) + 40)), 4),
             "bad_ipv4"),
        drop("End.DT6: inner IPv6 cut at 20 bytes", E, wan_plain(SID_DT6, INNER6[:20], 41),
             "trunc_ipv6"),
        drop("End.DT6: inner IPv6 payload length > what is left", E,
             wan_plain(SID_DT6, patch(INNER6, 4, struct.pack("!H", len(INNER6))), 41),
             "bad_ipv6"),
        drop("End without SRH, IPv6 payload (nothing for End to do)", E,
             wan_plain(SID_END, INNER6, 41), "srh_missing"),
        drop("End.X without SRH, IPv4 payload", E, wan_plain(SID_ENDX, INNER4, 4),
             "srh_missing"),
        drop("UDP cut at 4 bytes after an SRH with SL 0 (to End SID)", E,
             wan_srv6(SID_END, [SID_END, "fc00:b::1"], 0, b"\x01\x02\x03\x04", 17),
             "trunc_l4"),
    ]


class Malformed(DatapathCase):
    TAG = "mf"

    def test_headend_malformed(self):
        self.run_fixtures(headend_fixtures())

    def test_endpoint_malformed(self):
        self.run_fixtures(endpoint_fixtures())

    def test_eight_extension_headers_are_fine(self):
        """Exactly AIGW_MAX_EXT_HDRS (8) extension headers: not exthdr_chain."""
        udp = raw(UDP(sport=1, dport=2, len=8, chksum=0))
        frame = (eth_c(0x86DD) + ip6_hdr(60, 8 * 8 + 8) + b"".join(destopt(60) for _ in range(7))
                 + destopt(17) + udp)
        res = self.send("headend", "cust0", frame)
        self.assertNotIn(res.verdict, ("XDP_DROP", "XDP_ABORTED"),
                         f"8 extension headers dropped: {res.drops}")
        self.assertEqual({k: v for k, v in res.drops.items() if v}, {})

    def test_truncated_ethernet(self):
        """Shorter than an Ethernet header: trunc_eth. The kernel refuses
        BPF_PROG_TEST_RUN input shorter than ETH_HLEN (and NICs/veth never
        deliver such frames), so this is skipped when refused."""
        for prog, iface in (("headend", "cust0"), ("endpoint", "wan0")):
            for n in (1, 13):
                frame = eth_c(0x0800)[:n]
                try:
                    res = self.send(prog, iface, frame)
                except RunnerError as e:
                    self.skipTest(f"kernel refuses {n}-byte test input ({e}): trunc_eth "
                                  "unreachable through BPF_PROG_TEST_RUN")
                with self.subTest(prog=prog, n=n):
                    self.assertEqual(res.verdict, "XDP_DROP")
                    self.assertEqual({k: v for k, v in res.drops.items() if v}, {"trunc_eth": 1})

    def test_runner_reports_errors_as_json(self):
        """aigw-dp-run answers every bad request with {"error"} and keeps going."""
        good = {"prog": "headend", "ifindex": self.ifindex["cust0"], "pkt": (eth_c(0x0800) + GOOD4).hex()}
        bad = [
            "this is not json",
            "[1, 2]",
            json.dumps({"prog": "nope", "ifindex": 1, "pkt": "00"}),
            json.dumps({"prog": "headend", "pkt": "zz"}),
            json.dumps({"prog": "headend", "pkt": "abc"}),
            json.dumps({"prog": "headend"}),
            json.dumps({"prog": "headend", "ifindex": -1, "pkt": good["pkt"]}),
            json.dumps({"prog": "headend", "ifindex": 99999, "pkt": good["pkt"]}),
            json.dumps({"prog": "headend", "ifindex": self.ifindex["cust0"], "pkt": "0011"}),
            json.dumps({"cmd": "frobnicate"}),
        ]
        for line in bad:
            with self.subTest(line=line):
                r = self.runner.request_raw(line)
                self.assertIn("error", r)
        r = self.runner.request(good)
        self.assertEqual(r.get("verdict"), "XDP_REDIRECT", r)
        self.assertEqual(self.runner.request({"cmd": "reset"}), {"ok": True})
        s = self.stats()
        self.assertFalse(any(s["drops"].values()) or any(s["events"].values()),
                         "counters not zero after reset")
        self.assertFalse(any(v for c in s["ifaces"].values() for v in c.values()),
                         "interface counters not zero after reset")

    def _hop_limit_expired(self, sid, hlim):
        """End / End.X with hop limit <= 1 and SL > 0: expired. Spec: drop
        with reason hop_limit; sending ICMPv6 Time Exceeded (RFC 8986 4.1 S04,
        event icmp_ttl_sent) or handing it to the kernel (ttl_to_kernel) is
        accepted when counted consistently."""
        frame = wan_srv6(sid, ["fc00:c::1", sid], 1, INNER6, 41, hlim=hlim)
        res = self.send("endpoint", "wan0", frame)
        drops = {k: v for k, v in res.drops.items() if v}
        events = {k: v for k, v in res.events.items() if v}
        if res.verdict == "XDP_DROP":
            self.assertEqual((drops, events), ({"hop_limit": 1}, {}))
        elif res.verdict == "XDP_TX":
            self.assertEqual((drops, events), ({}, {"icmp_ttl_sent": 1}))
            self.check_icmp_reply(res.out, frame, True, 3, 0, WAN0_IP6)
        elif res.verdict == "XDP_PASS":
            self.assertEqual((drops, events), ({}, {"ttl_to_kernel": 1}))
            self.assert_frame(res.out, frame, False, "expired packet passed to the kernel")
        else:
            self.fail(f"verdict {res.verdict}, drops {drops}, events {events}")
        self.assert_iface_counters(res, frame, encap=0, decap=0)

    def test_end_hop_limit_1(self):
        self._hop_limit_expired(SID_END, 1)

    def test_end_hop_limit_0(self):
        self._hop_limit_expired(SID_END, 0)

    def test_end_x_hop_limit_1(self):
        self._hop_limit_expired(SID_ENDX, 1)


if __name__ == "__main__":
    run_module()
