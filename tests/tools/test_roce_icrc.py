#!/usr/bin/python3
"""agent/rdma's RoCEv2 parser and ICRC (through aigw-roce-check) against
independent implementations: scapy's RoCE layer (scapy.contrib.roce, which
computes the ICRC of IPv4 RoCEv2 packets) and, for IPv6, which scapy does
not cover, the IB Annex A17 rule written here with zlib's CRC-32. Seeded
random packets; the fields routers change never change the ICRC, anything
else does; malformed packets get their named error.

Run: tests/tools/test_roce_icrc.py --checker build/tests/tools/aigw-roce-check
"""
import argparse
import json
import random
import subprocess
import sys
import unittest
import zlib

import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, IPv6, UDP, Raw, raw  # noqa: E402
from scapy.contrib.roce import BTH  # noqa: E402

CHECKER = None
SEED = 11
N = 300
RC_OPCODES = [0x00, 0x01, 0x02, 0x04, 0x06, 0x07, 0x08, 0x0a, 0x0c, 0x0d, 0x0e, 0x10, 0x11]


def check(packets):
    """aigw-roce-check's verdict on each packet (bytes)."""
    out = subprocess.run([CHECKER], input="".join(p.hex() + "\n" for p in packets),
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def bth(rnd):
    return BTH(opcode=rnd.choice(RC_OPCODES), solicited=rnd.getrandbits(1),
               migreq=rnd.getrandbits(1), padcount=rnd.getrandbits(2),
               pkey=rnd.getrandbits(16), fecn=rnd.getrandbits(1), becn=rnd.getrandbits(1),
               dqpn=rnd.getrandbits(24), ackreq=rnd.getrandbits(1), psn=rnd.getrandbits(24))


def payload(rnd):
    return Raw(bytes(rnd.getrandbits(8) for _ in range(rnd.choice([0, 4, 60, 256, 1024]))))


def icrc_v6(b):
    """The ICRC of an IPv6 RoCEv2 packet by IB Annex A17.3.3: CRC-32 of
    8 bytes of ones, then the packet up to the ICRC with traffic class, flow
    label, hop limit, UDP checksum and the BTH's FECN/BECN/reserved byte set
    to ones; little-endian on the wire."""
    m = bytearray(b[:-4])
    m[0] |= 0x0f
    m[1] = m[2] = m[3] = 0xff
    m[7] = 0xff
    m[46] = m[47] = 0xff  # UDP checksum (40 + 6)
    m[52] = 0xff          # BTH byte 4 (48 + 4)
    return zlib.crc32(b"\xff" * 8 + bytes(m)) & 0xffffffff


class Icrc(unittest.TestCase):
    def test_1_ipv4_matches_scapy(self):
        rnd = random.Random(SEED)
        pkts = []
        for _ in range(N):
            p = (IP(src="192.0.2.%d" % rnd.randint(1, 254), dst="198.51.100.%d" % rnd.randint(1, 254),
                    tos=rnd.getrandbits(8), ttl=rnd.randint(1, 255), id=rnd.getrandbits(16),
                    flags=rnd.choice([0, 2]))
                 / UDP(sport=rnd.randint(1024, 65535), dport=4791) / bth(rnd) / payload(rnd))
            pkts.append(raw(p))
        for b, r in zip(pkts, check(pkts)):
            self.assertNotIn("error", r, b.hex())
            scapy_icrc = int.from_bytes(b[-4:], "little")
            self.assertEqual(r["icrc_computed"], scapy_icrc, b.hex())
            self.assertTrue(r["icrc_ok"])
            p = IP(b)
            self.assertEqual((r["dqp"], r["psn"], r["opcode"]),
                             (p[BTH].dqpn, p[BTH].psn, p[BTH].opcode))
        print(f"\n  {N} IPv4 RoCEv2 packets: the ICRC equals scapy's for every one")

    def test_2_ipv6_matches_the_rule(self):
        rnd = random.Random(SEED + 1)
        pkts = []
        for _ in range(N):
            p = (IPv6(src="2001:db8::%x" % rnd.getrandbits(16), dst="fc00:b::%x" % rnd.getrandbits(16),
                      tc=rnd.getrandbits(8), fl=rnd.getrandbits(20), hlim=rnd.randint(1, 255))
                 / UDP(sport=rnd.randint(1024, 65535), dport=4791) / bth(rnd) / payload(rnd))
            b = bytearray(raw(p))
            b[-4:] = icrc_v6(bytes(b)).to_bytes(4, "little")
            pkts.append(bytes(b))
        for b, r in zip(pkts, check(pkts)):
            self.assertNotIn("error", r, b.hex())
            self.assertTrue(r["icrc_ok"], b.hex())

    def test_3_routed_fields_do_not_count_the_rest_does(self):
        rnd = random.Random(SEED + 2)
        v4 = raw(IP(src="192.0.2.1", dst="198.51.100.2") / UDP(sport=5000, dport=4791)
                 / bth(rnd) / payload(random.Random(1)))
        same, changed = [], []
        for off, val in [(1, 0xb9), (8, 1), (10, 0x12), (11, 0x34), (26, 0xab), (27, 0xcd),
                         (32, 0x80 | 0x40 | 0x3f)]:
            b = bytearray(v4)
            b[off] = val
            same.append(bytes(b))
        for off in [12, 16, 20, 22, 28, 29, 30, 33, 36, 38, len(v4) - 5]:
            b = bytearray(v4)
            b[off] ^= 0x01
            changed.append(bytes(b))
        res = check(same + changed)
        for b, r in zip(same, res[:len(same)]):
            self.assertTrue(r.get("icrc_ok"), b.hex())
        for b, r in zip(changed, res[len(same):]):
            self.assertFalse(r.get("icrc_ok"), b.hex())

    def test_4_malformed_named(self):
        good = raw(IP(src="192.0.2.1", dst="198.51.100.2") / UDP(sport=5000, dport=4791)
                   / BTH(opcode=4, psn=1) / Raw(b"abcd"))
        frag = bytearray(good)
        frag[6] |= 0x20  # more fragments
        cases = {
            "truncated IP": (good[:30], "truncated"),
            "BTH cut": (raw(IP(src="192.0.2.1", dst="198.51.100.2") / UDP(sport=5000, dport=4791)
                            / Raw(b"\x04\x00\xff\xff\x00\x00\x00")), "truncated"),
            "other port": (raw(IP(src="192.0.2.1", dst="198.51.100.2") / UDP(sport=5000, dport=4792)
                               / BTH() / Raw(b"abcd")), "not_roce"),
            "TCP": (raw(IP(src="192.0.2.1", dst="198.51.100.2", proto=6) / Raw(good[20:])), "not_udp"),
            "fragment": (bytes(frag), "ip_options"),
            "IPv6 extension header": (raw(IPv6(src="2001:db8::1", dst="fc00:b::1", nh=0)
                                          / Raw(b"\x11\x00" + b"\x00" * 6) / UDP(dport=4791)
                                          / BTH() / Raw(b"abcd")), "ip_options"),
            "not IP": (b"\x00" * 60, "not_ip"),
        }
        res = check([b for b, _ in cases.values()])
        for (label, (_, want)), r in zip(cases.items(), res):
            self.assertEqual(r.get("error"), want, label)


def main():
    global CHECKER
    ap = argparse.ArgumentParser()
    ap.add_argument("--checker", required=True)
    args, rest = ap.parse_known_args()
    CHECKER = args.checker
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
