#!/usr/bin/python3
"""Differential test of classification: a plain reference classifier against
the real headend XDP program.

Seeded, reproducible random rule sets (10 to 10,000 rules: interfaces incl. a
VLAN entry, nested IPv4/IPv6 prefixes, protocols, port ranges, DSCP, APN
value/mask with partial masks, priorities with ties) are written as a YAML
configuration that the real parser reads and the real Datapath programs
(aigw-dp-run). Random frames, biased to hit rule boundaries (prefix edges and
the addresses just outside, port range ends, APN bits inside and outside the
mask), run through the headend with BPF_PROG_TEST_RUN (classify_batch); the
decision each one got is read back from its flow entry.

The expected decision comes from `reference()`: a first-match scan over the
rules in precedence order (priority, then file order) written from the README
("Classification") and nothing else; it never sees the compiled form. It is
batched over packets with numpy (one pass per rule over the packets no earlier
rule took), which is still a linear scan, just many packets at a time.

A sample of the frames is dissected with scapy to check that the hand-built
frames carry the fields the reference was given.

Optionally (--compiled PATH) the same packets also go through
classify_compiled() (the agent's software twin of the datapath lookup) via
aigw-cls-compiled, and must agree with the reference too.

Usage: test_differential.py --runner PATH [--compiled PATH] [--seed N]
       [--scale F]   (F multiplies the packet counts)
Mismatches are printed with the seed, the rule set size, the rule and the
packet (description and frame hex); exit status 1.
"""

import argparse
import ipaddress
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "datapath"))
import dptest  # noqa: E402  (namespace, runner, cleanup on exit)
from dptest import Dot1Q, Ether, IP, IPv6, TCP, UDP, raw  # noqa: E402
from scapy.layers.inet6 import (  # noqa: E402
    IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop)
from scapy.layers.sctp import SCTP  # noqa: E402

NO_RULE = 0xFFFFFFFF
M64 = (1 << 64) - 1
APN_OPT = 0x13
BUILTIN_CLASSES = ["best-effort", "training", "inference", "data-ingest",
                   "model-distribution", "storage"]
PORTS = ("c1", "c2")
IFACE_KEYS = ("c1", "c1 vlan 10", "c2")
# (wire VID or None, interface key) per port. A VID without an entry of its
# own is not classified at all (handed to the kernel, event vlan_unknown:
# datapath_headend checks it), so only configured VIDs are generated.
INGRESS = {"c1": [(None, "c1"), (10, "c1 vlan 10")],
           "c2": [(None, "c2")]}
PROTO_NAMES = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "sctp": 132}
PORT_PROTOS = (6, 17, 132)
# At most 8 distinct (mask, length) pairs (AIGW_APN_MAX_MASKS).
APN_MASKS = [
    (8, 0xFFFFFFFFFFFFFFFF), (8, 0xFFFFFFFF00000000), (8, 0x00000000FFFFFFFF),
    (8, 0xFFFF0000FFFF0000), (8, 0xFFFFFFF000000000), (4, 0xFFFFFFFF), (4, 0xFFFF0000),
    (16, (1 << 128) - 1)]

V4_POOLS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24",
                                               "203.0.113.0/24")]
COLD_V6 = int(ipaddress.IPv6Address("fc00:1234::"))  # fc00:1234::/32
V6_POOLS = [ipaddress.ip_network(n) for n in ("2001:db8::/48", "2001:db8:1::/48",
                                               "2001:db8:ff00::/40", "fd00:a::/32")]


# ------------------------------------------------------------------ rules

@dataclass
class Rule:
    name: str
    priority: Optional[int] = None     # None: not written (default 100)
    iface: Optional[str] = None
    src: List[Tuple[int, int, int]] = field(default_factory=list)  # (family, net, len)
    dst: List[Tuple[int, int, int]] = field(default_factory=list)
    proto: Optional[int] = None
    proto_text: str = ""
    sport: Optional[Tuple[int, int]] = None
    dport: Optional[Tuple[int, int]] = None
    dscp: Optional[int] = None
    apn: Optional[Tuple[int, int, int]] = None  # (len bytes, value, mask)
    apn_text: Tuple[str, str] = ("", "")
    tenant: Optional[str] = None
    cls: Optional[str] = None
    set_dscp: Optional[int] = None
    set_apn: Optional[str] = None

    @property
    def prio(self) -> int:
        return 100 if self.priority is None else self.priority


def pfx_str(p):
    fam, net, plen = p
    a = ipaddress.IPv4Address(net) if fam == 4 else ipaddress.IPv6Address(net)
    return f"{a}/{plen}"


def rand_addr(rng: random.Random, fam: int) -> int:
    pools = V4_POOLS if fam == 4 else V6_POOLS
    n = rng.choice(pools)
    base, size = int(n.network_address), n.num_addresses
    if fam == 6 and rng.random() < 0.8:
        # Few distinct interface ids, so that long prefixes nest and get hit.
        return base + (rng.randrange(16) << 64 if size > (1 << 64) else 0) + rng.randrange(64)
    return base + rng.randrange(min(size, 1 << 20) if fam == 6 and rng.random() < 0.5 else size)


def rand_prefix(rng: random.Random, fam: int) -> Tuple[int, int, int]:
    bits = 32 if fam == 4 else 128
    if fam == 4:
        plen = rng.choice([8, 16, rng.randint(17, 24), rng.randint(24, 32), rng.randint(24, 32),
                           32])
    else:
        plen = rng.choice([16, 32, rng.randint(33, 64), rng.randint(48, 128),
                           rng.randint(100, 128), 128])
    if rng.random() < 0.01:
        plen = 0
    a = rand_addr(rng, fam)
    mask = ((1 << plen) - 1) << (bits - plen) if plen else 0
    return (fam, a & mask, plen)


def rand_range(rng: random.Random) -> Tuple[int, int]:
    kind = rng.random()
    if kind < 0.2:
        p = rng.choice([22, 53, 80, 443, 4739, 8080, rng.randrange(65536)])
        return (p, p)
    if kind < 0.3:
        return (0, rng.randrange(1024))
    if kind < 0.4:
        return (rng.randrange(1024, 65536), 65535)
    lo = rng.choice([rng.randrange(65536), rng.randrange(1000, 1100), rng.randrange(0, 2000)])
    hi = min(65535, lo + rng.choice([1, 10, 100, 1000, rng.randrange(30000)]))
    return (lo, hi)


def apn_hex(nbytes: int, v: int) -> str:
    return "0x" + format(v, f"0{2 * nbytes}x")


def rand_apn_value(rng: random.Random, nbytes: int) -> int:
    """Few app/user groups, so packets and rules collide often."""
    if nbytes == 8:
        return (rng.randrange(6) << 32) | rng.randrange(6)
    if nbytes == 4:
        return (rng.randrange(4) << 16) | rng.randrange(4)
    return (rng.randrange(4) << 64) | rng.randrange(4)


def specificity(r: Rule) -> float:
    s = 0.0
    for lst in (r.src, r.dst):
        if lst:
            s += min(p[2] if p[0] == 4 else p[2] / 4 for p in lst)
    s += 6 * (r.proto is not None) + 8 * bool(r.sport) + 8 * bool(r.dport)
    s += 6 * (r.dscp is not None) + 10 * bool(r.apn) + 4 * bool(r.iface)
    return s


def gen_rules(rng: random.Random, n: int, tenants, classes, specific=False) -> List[Rule]:
    """specific: every rule has an address condition (so that many packets
    reach the default decision)."""
    rules = []
    for i in range(n):
        r = Rule(name=f"r{i}")
        if rng.random() < 0.7:
            r.priority = rng.choice([10, 50, 100, 100, 200, rng.randrange(1000)])
        if rng.random() < 0.3:
            r.iface = rng.choice(IFACE_KEYS)
        fams = rng.choice([(4,), (4,), (6,), (6,), (4, 6)])
        for lst in (r.src, r.dst):
            if rng.random() < 0.35:
                continue
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                lst.append(rand_prefix(rng, rng.choice(fams)))
        if specific and not r.src and not r.dst:
            r.dst.append(rand_prefix(rng, rng.choice(fams)))
        # src and dst need a family in common (else the parser refuses the rule).
        if r.src and r.dst and not ({p[0] for p in r.src} & {p[0] for p in r.dst}):
            r.dst.append(rand_prefix(rng, r.src[0][0]))
        if rng.random() < 0.5:
            name = rng.choice(["tcp", "tcp", "udp", "udp", "icmp", "icmpv6", "sctp", "47"])
            r.proto = PROTO_NAMES.get(name, int(name) if name.isdigit() else None)
            r.proto_text = name
        if r.proto is None or r.proto in PORT_PROTOS:
            if rng.random() < 0.25:
                r.sport = rand_range(rng)
            if rng.random() < 0.4:
                r.dport = rand_range(rng)
        if rng.random() < 0.15:
            r.dscp = rng.choice([0, 10, 18, 46, rng.randrange(64)])
        if rng.random() < 0.25:
            nbytes, mask = rng.choice(APN_MASKS)
            val = rand_apn_value(rng, nbytes)
            if nbytes == 8 and rng.random() < 0.3:
                vtext = f"{val >> 32}:{val & 0xFFFFFFFF}"   # APP:USER template
            else:
                vtext = apn_hex(nbytes, val)
            r.apn = (nbytes, val, mask)
            r.apn_text = (vtext, apn_hex(nbytes, mask))
        # Mostly, specific rules rank first (with ties: even numbers), else a
        # broad rule of high precedence would take nearly every packet of a
        # large set; some rules keep a random priority or the default.
        if specificity(r) < 40 or rng.random() < 0.7:
            r.priority = max(0, 200 - int(specificity(r))) // 4 * 4
        if rng.random() < 0.5:
            r.tenant = rng.choice(tenants)[0]
        if rng.random() < 0.6:
            r.cls = rng.choice(BUILTIN_CLASSES + [c[0] for c in classes])
        if rng.random() < 0.2:
            r.set_dscp = rng.randrange(64)
        if rng.random() < 0.1:
            r.set_apn = apn_hex(8, rand_apn_value(rng, 8))
        rules.append(r)
    return rules


def config_yaml(rules: List[Rule], tenants, classes, default) -> str:
    out = ["interfaces:",
           "  - {name: c1, role: customer, apn_trust: trust}",
           "  - {name: c1, role: customer, vlan: 10, apn_trust: rewrite}",
           "  - {name: c2, role: customer, apn_trust: rewrite}",
           f"apn: {{option_type: {APN_OPT:#x}, header: hop-by-hop, id_bits: 64, "
           "app_group_bits: 32, user_group_bits: 32}",
           "tenants:"]
    out += [f"  - {{name: {n}, id: {i}}}" for n, i in tenants]
    out.append("classes:")
    out += [f"  - {{name: {n}, id: {i}}}" for n, i in classes]
    out.append("classification:")
    d = ", ".join(f"{k}: {v}" for k, v in default.items())
    out.append(f"  default: {{{d}}}")
    out.append("  rules:")
    for r in rules:
        out.append(f"    - name: {r.name}")
        if r.priority is not None:
            out.append(f"      priority: {r.priority}")
        m = []
        if r.iface:
            m.append(f'interface: "{r.iface}"')
        for key, lst in (("src", r.src), ("dst", r.dst)):
            if len(lst) == 1 and int(r.name[1:]) % 2:  # both spellings
                m.append(f'{key}: "{pfx_str(lst[0])}"')
            elif lst:
                m.append(f"{key}: [{', '.join(repr(pfx_str(p)) for p in lst)}]")
        if r.proto is not None:
            m.append(f"protocol: {r.proto_text}")
        for key, rg in (("sport", r.sport), ("dport", r.dport)):
            if rg:
                m.append(f'{key}: "{rg[0]}-{rg[1]}"' if rg[0] != rg[1] else f"{key}: {rg[0]}")
        if r.dscp is not None:
            m.append(f"dscp: {r.dscp}")
        if r.apn:
            m.append(f'apn: {{value: "{r.apn_text[0]}", mask: "{r.apn_text[1]}"}}')
        if m:
            out.append(f"      match: {{{', '.join(m)}}}")
        s = []
        if r.tenant:
            s.append(f"tenant: {r.tenant}")
        if r.cls:
            s.append(f"class: {r.cls}")
        if r.set_dscp is not None:
            s.append(f"dscp: {r.set_dscp}")
        if r.set_apn:
            s.append(f'apn: "{r.set_apn}"')
        if s:
            out.append(f"      set: {{{', '.join(s)}}}")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ packets

@dataclass
class Pkt:
    port: str
    vid: Optional[int]
    key: str            # interface entry the frame belongs to
    fam: int
    src: int
    dst: int
    proto: int
    later_frag: bool    # a fragment that is not the first: no ports
    sport: int
    dport: int
    dscp: int
    apn_len: int        # 0 = none
    apn: int
    apn_in_dopt: bool

    @property
    def has_ports(self) -> bool:
        return self.proto in PORT_PROTOS and not self.later_frag

    def addr(self, v: int) -> str:
        return str(ipaddress.IPv4Address(v) if self.fam == 4 else ipaddress.IPv6Address(v))

    def describe(self) -> str:
        a = self.addr
        s = (f"{self.key} (port {self.port} vid {self.vid}) IPv{self.fam} {a(self.src)} -> "
             f"{a(self.dst)} proto {self.proto}")
        s += f" ports {self.sport}->{self.dport}" if self.has_ports else " no ports"
        s += f" dscp {self.dscp}"
        if self.later_frag:
            s += " later-fragment"
        if self.apn_len:
            s += f" apn {apn_hex(self.apn_len, self.apn)}{' (dest opts)' if self.apn_in_dopt else ''}"
        return s


def pick_in_prefix(rng: random.Random, p, outside_ok=True) -> int:
    fam, net, plen = p
    bits = 32 if fam == 4 else 128
    size = 1 << (bits - plen)
    first, last = net, net + size - 1
    x = rng.random()
    if outside_ok and x < 0.12 and first > 0:
        return first - 1
    if outside_ok and x < 0.24 and last < (1 << bits) - 1:
        return last + 1
    if x < 0.45:
        return first
    if x < 0.65:
        return last
    # Inside: from the address pools when the prefix covers some of them.
    for _ in range(4):
        a = rand_addr(rng, fam)
        if first <= a <= last:
            return a
    return first + rng.randrange(size)


def pick_port(rng: random.Random, rg) -> int:
    if rg is None:
        return rng.choice([rng.randrange(65536), rng.choice([0, 53, 80, 443, 1024, 65535])])
    lo, hi = rg
    x = rng.random()
    if x < 0.1 and lo > 0:
        return lo - 1
    if x < 0.2 and hi < 65535:
        return hi + 1
    if x < 0.45:
        return lo
    if x < 0.7:
        return hi
    return rng.randint(lo, hi)


def unusable_dst(fam: int, a: int) -> bool:
    """Destinations the headend never classifies (the router's or the
    segment's): multicast, limited broadcast, IPv6 link-local."""
    # The ports have no address: their "own address" is 0.0.0.0 / ::.
    if fam == 4:
        return (a >> 28) == 0xE or a == 0xFFFFFFFF or a == 0
    return (a >> 120) == 0xFF or (a >> 118) == (0xFE80 >> 6) or a == 0


def gen_packet(rng: random.Random, rules: List[Rule]) -> Pkt:
    r = rng.choice(rules) if rules and rng.random() < 0.75 else None
    # Ingress: the rule's interface, else any.
    if r and r.iface:
        choices = [(port, vid, key) for port in PORTS for vid, key in INGRESS[port]
                   if key == r.iface]
    else:
        choices = [(port, vid, key) for port in PORTS for vid, key in INGRESS[port]]
    port, vid, key = rng.choice(choices)
    # Family: one the rule can match.
    fams = {4, 6}
    if r:
        for lst in (r.src, r.dst):
            if lst:
                fams &= {p[0] for p in lst}
        if r.apn and 6 in fams:
            fams = {6} if rng.random() < 0.9 else fams
    fam = rng.choice(sorted(fams)) if fams else rng.choice([4, 6])
    # Some untargeted packets from a range no generated prefix but /0 or a
    # /16 and shorter covers: they exercise the "no prefix matched" bitmaps.
    cold = r is None and rng.random() < 0.3
    if cold:
        fam = 6

    def addr(lst):
        cand = [p for p in lst if p[0] == fam] if (r and lst) else []
        if cand and rng.random() < 0.9:
            return pick_in_prefix(rng, rng.choice(cand))
        return rand_addr(rng, fam)

    src = addr(r.src if r else [])
    dst = addr(r.dst if r else [])
    if cold:
        src = COLD_V6 + rng.getrandbits(96)
        dst = COLD_V6 + rng.getrandbits(96)
    for _ in range(20):
        if not unusable_dst(fam, dst):
            break
        dst = rand_addr(rng, fam)
    # Protocol.
    icmp = 1 if fam == 4 else 58
    if r and r.proto is not None and rng.random() < 0.9:
        proto = r.proto
    elif r and (r.sport or r.dport) and rng.random() < 0.9:
        proto = rng.choice(PORT_PROTOS)
    else:
        proto = rng.choice([6, 6, 17, 17, 132, icmp, 47])
    later_frag = rng.random() < 0.04
    sport = pick_port(rng, r.sport if r else None)
    dport = pick_port(rng, r.dport if r else None)
    if r and r.dscp is not None and rng.random() < 0.85:
        dscp = r.dscp
    else:
        dscp = rng.choice([0, 0, 10, 46, rng.randrange(64)])
    apn_len, apn, in_dopt = 0, 0, False
    if fam == 6 and rng.random() < 0.6:
        if r and r.apn and rng.random() < 0.85:
            apn_len, val, mask = r.apn
            full = (1 << (8 * apn_len)) - 1
            noise = rng.getrandbits(8 * apn_len)
            apn = (val & mask) | (noise & ~mask & full)
            if rng.random() < 0.15:   # one bit inside the mask flipped
                bits = [b for b in range(8 * apn_len) if (mask >> b) & 1]
                if bits:
                    apn ^= 1 << rng.choice(bits)
        else:
            apn_len = rng.choice([8, 8, 8, 4, 16])
            apn = rand_apn_value(rng, apn_len)
        in_dopt = rng.random() < 0.15
    return Pkt(port, vid, key, fam, src, dst, proto, later_frag, sport, dport, dscp, apn_len,
               apn, in_dopt)


HOST_MAC = bytes.fromhex("02000000" "0c10")
PORT_MAC = bytes.fromhex("02000000" "0c00")


def ip4_csum(h: bytes) -> int:
    s = sum(struct.unpack(f"!{len(h) // 2}H", h))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def apn_option_header(nh: int, p: Pkt) -> bytes:
    """Hop-by-Hop / Destination Options header with the APN option
    (protocols.md: APN-ID-Type, Flags, APN-Para-Type, ID), padded to 8."""
    idtype = {4: 1, 8: 2, 16: 3}[p.apn_len]
    data = struct.pack("!BBH", idtype, 0, 0) + p.apn.to_bytes(p.apn_len, "big")
    opts = bytes([APN_OPT, len(data)]) + data
    pad = (-(2 + len(opts))) % 8
    if pad == 1:
        opts += b"\x00"
    elif pad:
        opts += bytes([1, pad - 2]) + bytes(pad - 2)
    return bytes([nh, (2 + len(opts)) // 8 - 1]) + opts


def l4_bytes(p: Pkt) -> bytes:
    if p.later_frag:
        return bytes(range(16))
    if p.proto == 6:
        return struct.pack("!HHIIBBHHH", p.sport, p.dport, 1, 0, 5 << 4, 0x02, 8192, 0, 0)
    if p.proto == 17:
        return struct.pack("!HHHH", p.sport, p.dport, 8 + 4, 0) + b"abcd"
    if p.proto == 132:
        return struct.pack("!HHII", p.sport, p.dport, 0x1234, 0)
    if p.proto in (1, 58):
        return struct.pack("!BBHHH", 8 if p.proto == 1 else 128, 0, 0, 1, 1)
    return b"\x00\x00\x08\x00" + bytes(8)   # GRE-ish


def frame(p: Pkt) -> bytes:
    eth = PORT_MAC + HOST_MAC
    if p.vid is not None:
        eth += struct.pack("!HH", 0x8100, p.vid)
    l4 = l4_bytes(p)
    if p.fam == 4:
        frag = 0x0000
        if p.later_frag:
            frag = 0x2000 | 185   # MF, offset 1480 bytes
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, p.dscp << 2, 20 + len(l4), 0x1234, frag, 64,
                          p.proto, 0, p.src.to_bytes(4, "big"), p.dst.to_bytes(4, "big"))
        hdr = hdr[:10] + struct.pack("!H", ip4_csum(hdr)) + hdr[12:]
        return eth + struct.pack("!H", 0x0800) + hdr + l4
    # IPv6: [HBH with APN] [Dest Opts with APN] [Fragment] L4
    chain = []
    if p.apn_len:
        chain.append("dopt" if p.apn_in_dopt else "hbh")
    if p.later_frag:
        chain.append("frag")
    nhs = {"hbh": 0, "dopt": 60, "frag": 44}
    ext = b""
    for i, h in enumerate(chain):
        nh = nhs[chain[i + 1]] if i + 1 < len(chain) else p.proto
        if h == "frag":
            ext += struct.pack("!BBHI", nh, 0, (185 << 3) | 1, 0xABCD)
        else:
            ext += apn_option_header(nh, p)
    first = nhs[chain[0]] if chain else p.proto
    hdr = struct.pack("!IHBB16s16s", (6 << 28) | (p.dscp << 22), len(ext) + len(l4), first, 64,
                      p.src.to_bytes(16, "big"), p.dst.to_bytes(16, "big"))
    return eth + struct.pack("!H", 0x86DD) + hdr + ext + l4


def scapy_check(p: Pkt, f: bytes) -> Optional[str]:
    """Dissect the frame with scapy: the fields must be what `p` says."""
    e = Ether(f)
    if (p.vid is not None) != (Dot1Q in e) or (p.vid is not None and e[Dot1Q].vlan != p.vid):
        return "VLAN tag"
    ipl = e[IP] if p.fam == 4 else e[IPv6]
    if int(ipaddress.ip_address(ipl.src)) != p.src or int(ipaddress.ip_address(ipl.dst)) != p.dst:
        return "addresses"
    if (ipl.tos if p.fam == 4 else ipl.tc) >> 2 != p.dscp:
        return "DSCP"
    if p.fam == 4:
        if ipl.proto != p.proto or bool(ipl.frag) != p.later_frag:
            return "protocol/fragment"
        c = IP(bytes(ipl))
        c.chksum = None
        if IP(raw(c)).chksum != ipl.chksum:
            return "IPv4 checksum"
    else:
        if p.apn_len:
            hdr = e[IPv6ExtHdrDestOpt] if p.apn_in_dopt else e[IPv6ExtHdrHopByHop]
            opt = [o for o in hdr.options if o.otype == APN_OPT]
            if len(opt) != 1:
                return "APN option missing"
            d = bytes(opt[0].optdata)
            if d[0] != {4: 1, 8: 2, 16: 3}[p.apn_len] or \
                    int.from_bytes(d[4:4 + p.apn_len], "big") != p.apn:
                return "APN option content"
        if p.later_frag != (IPv6ExtHdrFragment in e):
            return "fragment header"
    if p.has_ports:
        l4 = {6: TCP, 17: UDP, 132: SCTP}[p.proto]
        if l4 not in e or e[l4].sport != p.sport or e[l4].dport != p.dport:
            return "ports"
    return None


# ------------------------------------------------------------------ reference

def reference(rules: List[Rule], tenants, classes, default, pk: List[Pkt]):
    """First match in precedence order (priority, then file order); returns
    per packet (rule index or NO_RULE, tenant id, class id, DSCP after
    remarking). Unset actions come from classification.default."""
    n = len(pk)
    fam = np.array([p.fam for p in pk], dtype=np.uint8)
    key = np.array([IFACE_KEYS.index(p.key) for p in pk], dtype=np.uint8)

    def hi_lo(vals):
        return (np.array([v >> 64 for v in vals], dtype=np.uint64),
                np.array([v & M64 for v in vals], dtype=np.uint64))
    # IPv4 addresses in the low word, IPv6 split in two.
    src_hi, src_lo = hi_lo([p.src for p in pk])
    dst_hi, dst_lo = hi_lo([p.dst for p in pk])
    proto = np.array([p.proto for p in pk], dtype=np.uint16)
    has_ports = np.array([p.has_ports for p in pk], dtype=bool)
    sport = np.array([p.sport for p in pk], dtype=np.int32)
    dport = np.array([p.dport for p in pk], dtype=np.int32)
    dscp = np.array([p.dscp for p in pk], dtype=np.int32)
    apn_len = np.array([p.apn_len for p in pk], dtype=np.uint8)
    # APN IDs left-aligned in 128 bits.
    apn_hi, apn_lo = hi_lo([p.apn << (8 * (16 - p.apn_len)) if p.apn_len else 0 for p in pk])

    def in_prefix(hi, lo, p):
        f, net, plen = p
        m = fam == f
        if f == 4:
            if plen:
                s = np.uint64(32 - plen)
                m &= (lo >> s) == np.uint64(net >> (32 - plen))
            return m
        nhi, nlo = net >> 64, net & M64
        if 0 < plen <= 64:
            s = np.uint64(64 - plen)
            m &= (hi >> s) == np.uint64(nhi >> (64 - plen))
        elif plen > 64:
            s = np.uint64(128 - plen)
            m &= (hi == np.uint64(nhi)) & ((lo >> s) == np.uint64(nlo >> (128 - plen)))
        return m

    def any_prefix(hi, lo, lst):
        m = np.zeros(n, dtype=bool)
        for p in lst:
            m |= in_prefix(hi, lo, p)
        return m

    tid = dict(tenants)
    tid["unclassified"] = 0
    cid = {c: i for i, c in enumerate(BUILTIN_CLASSES)}
    cid.update(dict(classes))
    d_tenant = tid[default.get("tenant", "unclassified")]
    d_cls = cid[default.get("class", "best-effort")]

    out_rule = np.full(n, NO_RULE, dtype=np.uint64)
    out_tenant = np.full(n, d_tenant, dtype=np.int32)
    out_cls = np.full(n, d_cls, dtype=np.int32)
    out_dscp = dscp.copy()
    open_ = np.arange(n)   # packets no rule has taken yet
    order = sorted(range(len(rules)), key=lambda i: rules[i].prio)  # stable: file order on ties
    for i in order:
        if open_.size == 0:
            break
        r = rules[i]
        m = np.ones(open_.size, dtype=bool)
        sub = open_
        if r.iface is not None:
            m &= key[sub] == IFACE_KEYS.index(r.iface)
        if r.src:
            m &= any_prefix(src_hi, src_lo, r.src)[sub]
        if r.dst:
            m &= any_prefix(dst_hi, dst_lo, r.dst)[sub]
        if r.proto is not None:
            m &= proto[sub] == r.proto
        if r.sport or r.dport:
            m &= has_ports[sub]
        if r.sport:
            m &= (sport[sub] >= r.sport[0]) & (sport[sub] <= r.sport[1])
        if r.dport:
            m &= (dport[sub] >= r.dport[0]) & (dport[sub] <= r.dport[1])
        if r.dscp is not None:
            m &= dscp[sub] == r.dscp
        if r.apn:
            nbytes, val, mask = r.apn
            sh = 8 * (16 - nbytes)
            v, mk = (val & mask) << sh, mask << sh
            m &= apn_len[sub] == nbytes
            m &= (apn_hi[sub] & np.uint64(mk >> 64)) == np.uint64(v >> 64)
            m &= (apn_lo[sub] & np.uint64(mk & M64)) == np.uint64(v & M64)
        hit = sub[m]
        if hit.size:
            out_rule[hit] = i
            if r.tenant:
                out_tenant[hit] = tid[r.tenant]
            if r.cls:
                out_cls[hit] = cid[r.cls]
            if r.set_dscp is not None:
                out_dscp[hit] = r.set_dscp
            open_ = sub[~m]
    return out_rule, out_tenant, out_cls, out_dscp


# ------------------------------------------------------------------ datapath

class Ns(dptest.Netns):
    """Namespace with the two customer ports (veth pairs, no addresses)."""

    def __init__(self, prefix: str, tag: str):  # noqa: super().__init__ names it otherwise
        self.name = f"{prefix}-{os.getpid()}-{tag}"
        dptest.sh("ip", "netns", "add", self.name)
        with dptest._cleanup_lock:
            dptest._cleanups.append(self.close)
        self.closed = False
        self.ip_batch("link add c1 type veth peer name c1p\n"
                      "link add c2 type veth peer name c2p\n"
                      "link set c1 up\nlink set c1p up\nlink set c2 up\nlink set c2p up\n"
                      "link set lo up\n")


def run_datapath(ns, tmp: str, tag: str, cfg: str, pk: List[Pkt], frames: List[bytes]):
    runner = dptest.Runner(ns, cfg, tag)
    try:
        res = [None] * len(pk)
        for port in PORTS:
            idx = [i for i, p in enumerate(pk) if p.port == port]
            fpath = os.path.join(tmp, f"frames-{tag}-{port}.hex")
            rpath = os.path.join(tmp, f"results-{tag}-{port}.jsonl")
            with open(fpath, "w") as f:
                for i in idx:
                    f.write(frames[i].hex() + "\n")
            ans = runner.request({"cmd": "classify_batch", "prog": "headend", "iface": port,
                                  "frames_file": fpath, "results_file": rpath})
            if "error" in ans or ans.get("frames") != len(idx):
                raise RuntimeError(f"classify_batch on {port}: {ans}")
            with open(rpath) as f:
                lines = [json.loads(x) for x in f if x.strip()]
            for i, r in zip(idx, lines):
                res[i] = r
        return res
    finally:
        runner.close()


def run_compiled(tool: str, cfg_path: str, pk: List[Pkt]):
    """classify_compiled() on the same packets (aigw-cls-compiled)."""
    lines = []
    for p in pk:
        lines.append(json.dumps({
            "iface": p.key, "family": p.fam, "src": p.addr(p.src), "dst": p.addr(p.dst),
            "proto": p.proto, "has_ports": p.has_ports, "sport": p.sport, "dport": p.dport,
            "dscp": p.dscp, "apn": apn_hex(p.apn_len, p.apn)[2:] if p.apn_len else ""}))
    r = subprocess.run([tool, "--config", cfg_path], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"{tool}: exit {r.returncode}: {r.stderr[-2000:]}")
    return [json.loads(x) for x in r.stdout.splitlines() if x.strip()]


# ------------------------------------------------------------------ main

def rule_yaml(rules: List[Rule], i: int, tenants, classes, default) -> str:
    text = config_yaml([rules[i]], tenants, classes, default)
    return text[text.index("  rules:") + 9:].rstrip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runner", required=True)
    ap.add_argument("--compiled", help="aigw-cls-compiled: also check classify_compiled()")
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--ns-prefix", default=os.environ.get("AIGW_TEST_NS_PREFIX", "aigwt-cls"))
    ap.add_argument("--scapy-sample", type=int, default=300, help="frames per set dissected")
    args = ap.parse_args()
    dptest.RUNNER = args.runner

    # (rules, packets) per set; >= 100,000 packets in total at scale 1.
    # (rules, packets, every rule has an address condition)
    sets = [(10, 15000, False), (300, 25000, False), (1000, 10000, True), (2000, 30000, False),
            (10000, 25000, False)]
    t_start = time.time()
    total = failed = 0
    tmp = tempfile.mkdtemp(prefix="aigwt-cls-")
    with dptest._cleanup_lock:
        dptest._cleanups.append(lambda: subprocess.run(["rm", "-rf", tmp]))
    ns = Ns(args.ns_prefix, "diff")
    for k, (nrules, npk, specific) in enumerate(sets):
        seed = args.seed * 100 + k
        rng = random.Random(seed)
        npk = max(1, int(npk * args.scale))
        tenants = [(f"tenant{j}", rng.randrange(1, 1024)) for j in range(6)]
        tenants = list(dict((i, (n, i)) for n, i in tenants).values())  # unique ids
        classes = [("gold", 6), ("silver", 7), ("bulk", 15)]
        default = {}
        if rng.random() < 0.7:
            default["tenant"] = rng.choice(tenants)[0]
        if rng.random() < 0.7:
            default["class"] = rng.choice(BUILTIN_CLASSES + [c[0] for c in classes])
        rules = gen_rules(rng, nrules, tenants, classes, specific)
        cfg = config_yaml(rules, tenants, classes, default)
        cfg_path = os.path.join(tmp, f"set{k}.yaml")
        with open(cfg_path, "w") as f:
            f.write(cfg)
        t0 = time.time()
        pk = [gen_packet(rng, rules) for _ in range(npk)]
        frames = [frame(p) for p in pk]
        for i in rng.sample(range(npk), min(npk, args.scapy_sample)):
            why = scapy_check(pk[i], frames[i])
            if why:
                print(f"FAIL seed {seed}: frame {i} does not carry what the test meant ({why}): "
                      f"{pk[i].describe()}\n  {frames[i].hex()}")
                return 1
        t1 = time.time()
        want = reference(rules, tenants, classes, default, pk)
        t2 = time.time()
        got = run_datapath(ns, tmp, f"s{k}", cfg, pk, frames)
        t3 = time.time()
        comp = run_compiled(args.compiled, cfg_path, pk) if args.compiled else None
        t4 = time.time()

        bad = 0
        matched = np.count_nonzero(want[0] != NO_RULE)
        for i, p in enumerate(pk):
            w = (int(want[0][i]), int(want[1][i]), int(want[2][i]), int(want[3][i]))
            g = got[i]
            gv = (g.get("rule_id"), g.get("tenant"), g.get("cls"), g.get("dscp"))
            problems = []
            if gv != w:
                problems.append(f"datapath {g}")
            if comp is not None:
                c = comp[i]
                if (c.get("rule_id"), c.get("tenant"), c.get("cls")) != w[:3]:
                    problems.append(f"classify_compiled {c}")
            if problems:
                bad += 1
                if bad <= 10:
                    rid = w[0]
                    print(f"MISMATCH seed {seed} set {nrules} rules, packet {i}: "
                          f"{p.describe()}\n  frame {frames[i].hex()}\n"
                          f"  reference: rule {rid if rid != NO_RULE else 'none'} tenant {w[1]} "
                          f"cls {w[2]} dscp {w[3]}\n  " + "\n  ".join(problems))
                    if rid != NO_RULE:
                        print("  reference rule:\n" + rule_yaml(rules, rid, tenants, classes,
                                                                default))
                    grid = g.get("rule_id")
                    if isinstance(grid, int) and grid != NO_RULE and grid < len(rules):
                        print("  datapath rule:\n" + rule_yaml(rules, grid, tenants, classes,
                                                               default))
        distinct = len(set(int(x) for x in want[0] if x != NO_RULE))
        print(f"seed {seed}: {nrules} rules, {npk} packets, {matched} matched a rule "
              f"({distinct} distinct rules), {bad} mismatches; generate {t1 - t0:.1f}s, "
              f"reference {t2 - t1:.1f}s, datapath {t3 - t2:.1f}s"
              + (f", classify_compiled {t4 - t3:.1f}s" if comp is not None else ""),
              flush=True)
        total += npk
        failed += bad
        # The generator must exercise the rules, not just the default.
        if nrules >= 300 and (matched < npk // 2 or distinct < min(nrules, npk) // 10):
            print(f"FAIL seed {seed}: the packets hit too few rules ({matched} packets, "
                  f"{distinct} rules)")
            failed += 1
    ns.close()
    print(f"{total} packets in {time.time() - t_start:.1f}s")
    print(f"{total - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
