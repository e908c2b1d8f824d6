#!/usr/bin/python3
"""APN6 fixtures: the APN option imposed by the headend (Hop-by-Hop or
Destination Options, between the outer IPv6 header and the SRH, or the inner
packet for H.Encaps.Red with one SID), 32/64/128-bit IDs, the headroom bound,
the customer ports' trust / rewrite / strip behaviours, a malformed host
option, and the endpoint decapsulating a packet that carries an outer APN
option (counted direction in).

Expected frames are built here from the option layout in
shared/reference/protocols.md (APN6) and RFC 8200 4.2-4.3 (options, PadN,
8-octet alignment), never from the datapath's output. tshark (which has no
APN6 dissector) checks the generic option fields of the expected frames.
Run: tests/datapath/test_apn.py --runner build/tests/tools/aigw-dp-run
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dptest import (  # noqa: E402
    CUST0_MAC, HOST_IP4, HOST_IP6, HOST_MAC, NH_WAN0, NH6_DX6, PEER_MAC, POLICIES, Pol,
    SID_DX6, WAN0_IP6, WAN0_MAC, DatapathCase, Dot1Q, Ether, Fx, IP, IPv6, Raw, TsharkMixin,
    UDP, dec_ttl, ip4_csum, l3_of, raw, run_module, segs, srh)
from scapy.layers.inet6 import HBHOptUnknown, IPv6ExtHdrHopByHop  # noqa: E402

OPT_TYPE = 0x13
APN64 = bytes.fromhex("0000000a00000001")       # rule "to-e1" (64-bit)
APN32 = bytes.fromhex("0000000b")               # rule "to-r1" (32-bit)
APN128 = bytes.fromhex("0000000c000000010000000200000003")  # rule "to-e2" (128-bit)
HOST_APN = bytes.fromhex("0000002a00000007")    # what a host puts in its packets
ID_TYPE = {4: 1, 8: 2, 16: 3}

P10 = Pol("p10", "198.51.100.160/28", "2001:db8:2:a::/64", "encap", segs(0x10, 10))
P9 = Pol("p9", "198.51.100.176/28", "2001:db8:2:9::/64", "encap", segs(0x9, 9))
USED = [POLICIES[n] for n in ("e1", "e2", "r1", "r2")] + [P10, P9]


def config(header: str) -> str:
    pols = "".join(p.yaml() for p in USED)
    return f"""# test_apn.py
datapath:
  hop_limit: 50
interfaces:
  - name: cust0
    role: customer
    apn_trust: trust
  - name: cust0
    role: customer
    vlan: 200
    apn_trust: strip
  - name: cust0
    role: customer
    vlan: 300
    apn_trust: rewrite
  - name: wan0
    role: wan
  - name: wan1
    role: wan
policies:
{pols}sids:
  - sid: {SID_DX6}/128
    behavior: End.DX6
    nexthop: {NH6_DX6[0]}
    interface: cust0
apn:
  option_type: {OPT_TYPE:#x}
  header: {header}
  id_bits: 64
  app_group_bits: 32
  user_group_bits: 32
tenants:
  - name: acme
    id: 7
classification:
  default:
    tenant: acme
    class: best-effort
  rules:
    - name: to-e1
      match:
        dst: [198.51.100.16/28, 2001:db8:2:1::/64]
      set:
        apn: "0x{APN64.hex()}"
    - name: to-r1
      match:
        dst: [198.51.100.80/28, 2001:db8:2:5::/64]
      set:
        apn: "0x{APN32.hex()}"
    - name: to-e2
      match:
        dst: [198.51.100.32/28, 2001:db8:2:2::/64, 2001:db8:2:6::/64, 2001:db8:2:9::/64]
      set:
        apn: "0x{APN128.hex()}"
    - name: to-p10
      match:
        dst: [2001:db8:2:a::/64]
      set:
        apn: "0x{APN32.hex()}"
flows:
  enabled: true
"""


def apn_option(apn_id: bytes, opt_type=OPT_TYPE) -> bytes:
    """The APN option TLV: type, length, APN-ID-Type, flags 0, APN-Para-Type 0, ID."""
    data = bytes([ID_TYPE[len(apn_id)], 0, 0, 0]) + apn_id
    return bytes([opt_type, len(data)]) + data


def opts_header(nh: int, options: bytes) -> bytes:
    """An options header (Hop-by-Hop / Destination Options) holding options,
    padded to a multiple of 8 octets with Pad1 / PadN (RFC 8200 4.2)."""
    body = bytes([nh, 0]) + options
    pad = -len(body) % 8
    if pad == 1:
        body += b"\x00"
    elif pad:
        body += bytes([1, pad - 2]) + bytes(pad - 2)
    return bytes([nh, len(body) // 8 - 1]) + body[2:]


def expected_encap(inner_ip: bytes, pol: Pol, apn_id, hdr_type: int, eth_dst: str,
                   eth_src: str, hlim=50) -> bytes:
    """RFC 8986 H.Encaps(.Red) with the APN options header after the outer
    IPv6 header (apn_id None: none). Outer flow label 0 (masked)."""
    segments = pol.segments
    n = len(segments)
    nh_inner = 4 if inner_ip[0] >> 4 == 4 else 41
    if pol.mode == "encap":
        ext = raw(srh(list(reversed(segments)), sl=n - 1, le=n - 1, nh=nh_inner))
    elif n == 1:
        ext = b""
    else:
        ext = raw(srh(list(reversed(segments[1:])), sl=n - 1, le=n - 2, nh=nh_inner))
    after = 43 if ext else nh_inner
    opts = opts_header(after, apn_option(apn_id)) if apn_id else b""
    first_nh = hdr_type if apn_id else after
    tc = inner_ip[1] if inner_ip[0] >> 4 == 4 else ((inner_ip[0] & 0xf) << 4) | (inner_ip[1] >> 4)
    payload = opts + ext + inner_ip
    outer = IPv6(version=6, tc=tc, fl=0, plen=len(payload), nh=first_nh, hlim=hlim,
                 src=pol.source, dst=segments[0])
    return raw(Ether(dst=eth_dst, src=eth_src, type=0x86DD) / outer / Raw(payload))


def host6(dst, apn_opt: bytes = None, dport=4791, payload=b"y" * 32):
    """A host's IPv6/UDP packet, with an APN option in a Hop-by-Hop header
    (built by scapy, so that the UDP checksum covers the real headers)."""
    ip = IPv6(src=HOST_IP6, dst=dst, hlim=64, tc=0x62, fl=0x12345)
    if apn_opt is not None:
        ip = ip / IPv6ExtHdrHopByHop(options=[HBHOptUnknown(otype=apn_opt[0],
                                                            optlen=apn_opt[1],
                                                            optdata=apn_opt[2:])])
    return ip / UDP(sport=40000, dport=dport) / Raw(payload)


def host4(dst, dport=4791):
    return IP(src=HOST_IP4, dst=dst, ttl=64, tos=0xB8, flags="DF") / UDP(
        sport=40000, dport=dport) / Raw(b"x" * 32)


def frame(inner, vlan=None) -> bytes:
    e = Ether(dst=CUST0_MAC, src=HOST_MAC)
    return raw(e / Dot1Q(vlan=vlan) / inner) if vlan else raw(e / inner)


EG = (NH_WAN0[1], WAN0_MAC)  # every policy here leaves by wan0 (fc00:b::/48)


def enc_fx(name, inner, pol, apn_id, hdr_type, vlan=None, events=None, tshark=None):
    f = frame(inner, vlan)
    ip = l3_of(f)[1]
    exp = expected_encap(dec_ttl(ip), pol, apn_id, hdr_type, *EG)
    ev = dict(events or {})
    if apn_id and "apn_no_room" not in ev:
        ev.setdefault("apn_imposed", 1)
    return Fx(name=name, prog="headend", iface="cust0", pkt=f, verdict="XDP_REDIRECT", out=exp,
              events=ev, encap=1, flow=(name,), tshark=tshark)


def tshark_opt(apn_id, hdr="hopopts"):
    """tshark's view of the imposed option (generic: no APN6 dissector)."""
    opt_len = 4 + len(apn_id)
    fields = {"ipv6.opt.type": f"{OPT_TYPE:#x}" + (",0x01" if len(apn_id) == 4 else ""),
              "ipv6.opt.length": str(opt_len) + (",2" if len(apn_id) == 4 else ""),
              "ipv6.opt.unknown": (bytes([ID_TYPE[len(apn_id)], 0, 0, 0]) + apn_id).hex()}
    fields[f"ipv6.{hdr}.len"] = str((2 + 2 + opt_len + 7) // 8 - 1)
    return fields


class ApnHopByHop(TsharkMixin, DatapathCase):
    TAG = "apnh"
    CONFIG = config("hop-by-hop")
    HDR = 0           # Hop-by-Hop Options
    HDR_NAME = "hopopts"

    def fixtures(self):
        h = self.HDR
        e1, e2, r1, r2 = (POLICIES[n] for n in ("e1", "e2", "r1", "r2"))
        t = self.HDR_NAME
        return [
            # trust port, host sends no APN: the rule's ID, every length, both modes.
            enc_fx("v6-e1-64bit", host6("2001:db8:2:1::5"), e1, APN64, h,
                   tshark=tshark_opt(APN64, t)),
            enc_fx("v4-e1-64bit", host4("198.51.100.21"), e1, APN64, h,
                   tshark=tshark_opt(APN64, t)),
            enc_fx("v6-r1-32bit-red-no-srh", host6("2001:db8:2:5::5"), r1, APN32, h,
                   tshark=tshark_opt(APN32, t)),
            enc_fx("v4-r1-32bit-red-no-srh", host4("198.51.100.85"), r1, APN32, h),
            enc_fx("v6-e2-128bit", host6("2001:db8:2:2::5"), e2, APN128, h,
                   tshark=tshark_opt(APN128, t)),
            enc_fx("v6-r2-128bit-red", host6("2001:db8:2:6::5"), r2, APN128, h),
            # 9 SIDs + 24-byte header = 216 bytes: exactly the headroom bound.
            enc_fx("v6-9sids-128bit-fits", host6("2001:db8:2:9::5"), P9, APN128, h),
            # 10 SIDs + header > 216 bytes: sent without the option, counted.
            enc_fx("v6-10sids-no-room", host6("2001:db8:2:a::5"), P10, None, h,
                   events={"apn_no_room": 1}),
        ]

    def test_imposed(self):
        self.run_fixtures(self.fixtures())

    def all_tshark_fixtures(self):
        return self.fixtures()


class ApnDestOpts(ApnHopByHop):
    TAG = "apnd"
    CONFIG = config("destination")
    HDR = 60          # Destination Options, before the SRH
    HDR_NAME = "dstopts"


class ApnTrustModes(DatapathCase):
    """trust (untagged cust0), strip (VLAN 200), rewrite (VLAN 300); the rule
    for 2001:db8:2:1::/64 sets APN64."""
    TAG = "apnm"
    CONFIG = config("hop-by-hop")

    def test_trust_carries_host_id(self):
        inner = host6("2001:db8:2:1::7", apn_option(HOST_APN))
        self.run_fx(enc_fx("trust-host-id", inner, POLICIES["e1"], HOST_APN, 0))

    def test_rewrite_carries_rule_id_inner_untouched(self):
        inner = host6("2001:db8:2:1::8", apn_option(HOST_APN))
        self.run_fx(enc_fx("rewrite-rule-id", inner, POLICIES["e1"], APN64, 0, vlan=300))

    def test_strip_padn_and_nothing_imposed(self):
        inner = host6("2001:db8:2:1::9", apn_option(HOST_APN))
        f = frame(inner, vlan=200)
        ip = bytearray(l3_of(f)[1])
        # The host's option (after IPv6 40 + HBH next header/length 2) becomes
        # PadN with zero data; the header keeps its size.
        opt = apn_option(HOST_APN)
        self.assertEqual(bytes(ip[42:42 + len(opt)]), opt, "builder: option where expected")
        ip[42:42 + len(opt)] = bytes([1, len(opt) - 2]) + bytes(len(opt) - 2)
        exp = expected_encap(dec_ttl(bytes(ip)), POLICIES["e1"], None, 0, *EG)
        fx = Fx(name="strip", prog="headend", iface="cust0", pkt=f, verdict="XDP_REDIRECT",
                out=exp, events={"apn_stripped": 1}, encap=1, flow=("strip",))
        self.run_fx(fx)

        def udp_ok(tc, out):  # L4 checksum still valid after the strip
            inner_ip = out[14 + 40 + 24:]
            p = IPv6(inner_ip)
            c = p[UDP].chksum
            del p[UDP].chksum
            tc.assertEqual(IPv6(raw(p))[UDP].chksum, c, "UDP checksum after strip")
        res = self.send("headend", "cust0", f)
        udp_ok(self, res.out)

    def test_malformed_option_forwarded(self):
        # APN-ID-Type 2 (64-bit) in an option only 8 bytes long: inconsistent.
        bad = bytes([OPT_TYPE, 8, 2, 0, 0, 0]) + HOST_APN[:4]
        inner = host6("2001:db8:2:1::a", bad)
        # trust port: the host's ID is unusable, so the rule's applies.
        self.run_fx(enc_fx("malformed", inner, POLICIES["e1"], APN64, 0,
                           events={"apn_malformed": 1, "apn_imposed": 1}))

    def test_endpoint_outer_apn_counted_in(self):
        self.assertIn("ok", self.runner.request({"cmd": "reset"}))
        inner = IPv6(src="2001:db8:2:1::7", dst=HOST_IP6, hlim=60) / UDP(
            sport=4791, dport=40000) / Raw(b"z" * 40)
        hbh = opts_header(43, apn_option(APN64))
        s = raw(srh([SID_DX6], sl=0, le=0, nh=41))
        l3 = raw(IPv6(src="fc00:b::1", dst=SID_DX6, nh=0, hlim=60,
                      plen=len(hbh) + len(s) + len(raw(inner)))) + hbh + s + raw(inner)
        f = raw(Ether(dst=WAN0_MAC, src=PEER_MAC, type=0x86DD) / Raw(l3))
        ip = raw(inner)
        eth = Ether(dst=NH6_DX6[1], src=CUST0_MAC, type=0x86DD)
        alts = (raw(eth / Raw(ip)), raw(eth / Raw(dec_ttl(ip))))
        self.run_fx(Fx(name="dx6-outer-hbh", prog="endpoint", iface="wan0", pkt=f,
                       verdict="XDP_REDIRECT", out=alts, encap=0, decap=1))
        flows = self.runner.request({"cmd": "flows"})
        self.assertNotIn("error", flows)
        mine = [x for x in flows["flows"] if x["dir"] == "in"]
        self.assertEqual(len(mine), 1, f"one inbound flow: {flows}")
        fl = mine[0]
        self.assertEqual((fl["src"], fl["dst"], fl["sport"], fl["dport"], fl["proto"]),
                         ("2001:db8:2:1::7", HOST_IP6, 4791, 40000, 17), "flow key (packet order)")
        self.assertEqual((fl["packets"], fl["bytes"]), (1, len(ip)), "L3 bytes of the inner packet")
        self.assertEqual(fl["apn"], APN64.hex(), "the outer packet's APN")
        self.assertEqual(fl["ifslot"], self.runner.slots["cust0"], "egress customer port")
        self.assertEqual(fl["tenant"], 7, "default tenant acme")
        # Rules are written from the customer side: the inbound packet's
        # source (2001:db8:2:1::7) is matched as destination, by "to-e1".
        self.assertNotEqual(fl["rule_id"], 0xFFFFFFFF, "rule to-e1 matched the swapped tuple")
        usage = self.runner.request({"cmd": "usage"})["usage"]
        self.assertIn({"dir": "in", "tenant": 7, "cls": 0, "packets": 1, "bytes": len(ip)},
                      usage)
        groups = self.runner.request({"cmd": "apn_usage"})["apn_usage"]
        self.assertIn({"dir": "in", "app_group": 0xa, "packets": 1, "bytes": len(ip)}, groups)


if __name__ == "__main__":
    run_module()
