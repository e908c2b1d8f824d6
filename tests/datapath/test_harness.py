#!/usr/bin/python3
"""Self-tests of the datapath harness (no root needed): the scapy builders
of expected outputs against frames assembled by hand with struct from RFC
8754/8986, and the comparison helpers' ability to fail."""
import os
import socket
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dptest import (  # noqa: E402
    IP, UDP, DatapathCase, Raw, dec_ttl, encap_overhead, field_diff, h_encaps, ip4_csum, ip_tc,
    mask_flow_label, outer_flow_label, raw)


def a6(s):
    return socket.inet_pton(socket.AF_INET6, s)


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


INNER = raw(IP(src="192.0.2.10", dst="198.51.100.37", ttl=63, tos=0xB9, id=1) /
            UDP(sport=1, dport=2) / Raw(b"abcd"))
S = ["fc00:b::2:1", "fc00:f::2:2", "fc00:f::2:3"]


def by_hand(mode, segs, hlim=50):
    """H.Encaps(.Red) assembled field by field (RFC 8754 section 2, RFC 8986 5.1/5.2)."""
    n = len(segs)
    if mode == "encap":
        wire, le = list(reversed(segs)), n - 1
    else:
        wire, le = list(reversed(segs[1:])), n - 2
    has_srh = bool(wire)
    srh = b""
    if has_srh:
        srh = struct.pack("!BBBBBBH", 4, 2 * len(wire), 4, n - 1, le, 0, 0) + b"".join(
            a6(x) for x in wire)
    ver_tc_fl = (6 << 28) | (0xB9 << 20)  # flow label 0
    ip6 = struct.pack("!IHBB", ver_tc_fl, len(srh) + len(INNER), 43 if has_srh else 4, hlim)
    ip6 += a6("fc00:a::1") + a6(segs[0])
    return mac("02:00:00:00:00:02") + mac("02:00:00:00:0a:00") + b"\x86\xdd" + ip6 + srh + INNER


class Harness(unittest.TestCase):
    def test_h_encaps_matches_hand_assembly(self):
        for mode in ("encap", "encap.red"):
            for n in (1, 2, 3):
                with self.subTest(mode=mode, n=n):
                    got = raw(h_encaps(INNER, S[:n], mode, "fc00:a::1", 50, "02:00:00:00:00:02",
                                       "02:00:00:00:0a:00"))
                    self.assertEqual(got, by_hand(mode, S[:n]), field_diff(by_hand(mode, S[:n]), got))
                    self.assertEqual(len(got) - 14 - len(INNER), encap_overhead(mode, n))

    def test_dec_ttl_keeps_checksum_valid(self):
        out = dec_ttl(INNER)
        self.assertEqual(out[8], INNER[8] - 1)
        self.assertEqual(ip4_csum(out[:20]), 0)
        p = IP(out)
        del p.chksum
        self.assertEqual(IP(out).chksum, IP(raw(p)).chksum, "scapy recomputes the same checksum")

    def test_ip_tc(self):
        self.assertEqual(ip_tc(INNER), 0xB9)
        six = struct.pack("!I", (6 << 28) | (0x62 << 20) | 0x12345) + b"\0" * 36
        self.assertEqual(ip_tc(six), 0x62)

    def test_flow_label_mask(self):
        f = by_hand("encap", S[:2])
        g = bytearray(f)
        g[15] |= 0x0A
        g[16], g[17] = 0xBC, 0xDE
        self.assertEqual(outer_flow_label(bytes(g)), 0xABCDE)
        self.assertNotEqual(bytes(g), f)
        self.assertEqual(mask_flow_label(bytes(g)), f)
        g[14] ^= 0x10  # a traffic class bit: not masked
        self.assertNotEqual(mask_flow_label(bytes(g)), f)

    def test_comparison_can_fail(self):
        tc = DatapathCase("run")
        f = by_hand("encap", S[:3])
        for off in (13, 21, 60, len(f) - 1):
            g = bytearray(f)
            g[off] ^= 1
            with self.subTest(off=off):
                with self.assertRaises(AssertionError):
                    tc.assert_frame(bytes(g), f, masked=True)
        with self.assertRaises(AssertionError):
            tc.assert_frame(f + b"\0", f, masked=True)
        tc.assert_frame(f, f, masked=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
