#!/usr/bin/python3
"""Classification and accounting fixtures: first-match rules over interface,
addresses, protocol, ports and DSCP; DSCP remarking (IPv4 header checksum,
IPv6 traffic class, copied to the outer header); a rule steering traffic
into a policy that no prefix selects; usage, flow, policy and APN app-group
counters after N packets (read through aigw-dp-run's accounting commands);
the flow cache following a configuration change.

Expected values are computed here from the configuration below and the
packets sent (RFC 2474 DSCP, RFC 1071 checksums), never from the
datapath's output.
Run: tests/datapath/test_classify.py --runner build/tests/tools/aigw-dp-run
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dptest import (  # noqa: E402
    CUST0_MAC, HOST_IP4, HOST_IP6, HOST_MAC, NH_WAN0, POLICIES, WAN0_MAC, DatapathCase,
    Ether, Fx, IP, IPv6, Raw, TCP, UDP, dec_ttl, h_encaps, ip4_csum, raw,
    run_module)

NO_RULE = 0xFFFFFFFF
TRAINING, INFERENCE, DATA_INGEST, MODEL_DIST, STORAGE, BULK = 1, 2, 3, 4, 5, 6
ACME, BETA = 7, 9
APN = bytes.fromhex("0000000d00000002")

RULES = """classification:
  default:
    tenant: acme
    class: best-effort
  rules:
    - name: rdma
      priority: 10
      match:
        dst: [198.51.100.16/28, 2001:db8:2:1::/64]
        protocol: udp
        dport: 4791
      set:
        tenant: beta
        class: training
        dscp: 26
        apn: "0x{apn}"
    - name: steer-storage
      priority: 20
      match:
        interface: cust0
        dst: [203.0.113.0/24]
        protocol: tcp
        dport: 5001-5009
      set:
        tenant: {steer_tenant}
        class: storage
        policy: e3
    - name: apn-app42
      priority: 25
      match:
        apn:
          value: "0x0000002a00000000"
          mask: "0xffffffff00000000"
      set:
        tenant: beta
        class: model-distribution
    - name: apn-exact
      priority: 26
      match:
        apn: "0x0000002b00000005"
      set:
        class: data-ingest
    - name: marked
      priority: 30
      match:
        src: [192.0.2.0/25]
        dscp: 10
      set:
        class: inference
    - name: bulk-src-ports
      priority: 40
      match:
        protocol: udp
        sport: 7000-7999
      set:
        class: bulk
flows:
  enabled: true
"""


def config(steer_tenant="beta") -> str:
    pols = "".join(POLICIES[n].yaml() for n in ("e1", "e3"))
    return f"""# test_classify.py
datapath:
  hop_limit: 50
interfaces:
  - name: cust0
    role: customer
  - name: wan0
    role: wan
  - name: wan1
    role: wan
policies:
{pols}apn:
  option_type: 0x13
  header: hop-by-hop
  id_bits: 64
  app_group_bits: 32
  user_group_bits: 32
tenants:
  - name: acme
    id: {ACME}
  - name: beta
    id: {BETA}
classes:
  - name: bulk
    id: {BULK}
""" + RULES.replace("{apn}", APN.hex()).replace("{steer_tenant}", steer_tenant)


def frame(inner) -> bytes:
    return raw(Ether(dst=CUST0_MAC, src=HOST_MAC) / inner)


def remark4(ip: bytes, dscp: int) -> bytes:
    """IPv4 with a new DSCP (ECN kept) and the header checksum recomputed."""
    b = bytearray(ip)
    b[1] = (dscp << 2) | (b[1] & 3)
    ihl = (b[0] & 0xf) * 4
    b[10:12] = b"\0\0"
    b[10:12] = struct.pack("!H", ip4_csum(bytes(b[:ihl])))
    return bytes(b)


def remark6(ip: bytes, dscp: int) -> bytes:
    b = bytearray(ip)
    w = struct.unpack("!I", b[:4])[0]
    w = (w & ~(0xfc << 20)) | (dscp << 22)
    b[:4] = struct.pack("!I", w)
    return bytes(b)


def apn_hbh(nh: int, apn_id: bytes) -> bytes:
    """protocols.md APN6 option (64-bit ID) in a Hop-by-Hop header: 16 bytes, no padding."""
    return bytes([nh, 1, 0x13, 12, 2, 0, 0, 0]) + apn_id


def with_hbh(encap_frame: bytes, hbh: bytes) -> bytes:
    """Insert an options header after the outer IPv6 header of an encapsulated frame."""
    b = bytearray(encap_frame)
    first_nh = b[14 + 6]
    assert hbh[0] == first_nh
    b[14 + 6] = 0
    plen = struct.unpack("!H", b[18:20])[0] + len(hbh)
    b[18:20] = struct.pack("!H", plen)
    return bytes(b[:54]) + hbh + bytes(b[54:])


EG = (NH_WAN0[1], WAN0_MAC)


class Classify(DatapathCase):
    TAG = "cls"
    CONFIG = config()

    def encap_expect(self, ip_after: bytes, pol_name: str, apn_id=None) -> bytes:
        pol = POLICIES[pol_name]
        hlim = pol.hop_limit if pol.hop_limit is not None else 50  # datapath.hop_limit here
        out = raw(h_encaps(dec_ttl(ip_after), pol.segments, pol.mode, pol.source, hlim, *EG))
        return with_hbh(out, apn_hbh(out[14 + 6], apn_id)) if apn_id else out

    def test_remark_v4_checksum(self):
        inner = IP(src=HOST_IP4, dst="198.51.100.20", tos=0xB9, ttl=64, flags="DF") / UDP(
            sport=40000, dport=4791) / Raw(b"r" * 48)
        ip = raw(inner)
        exp_ip = remark4(ip, 26)
        self.assertEqual(ip4_csum(exp_ip[:20]), 0, "builder: remarked header checksum")
        out = self.encap_expect(exp_ip, "e1", APN)
        res = self.run_fx(Fx(name="remark-v4", prog="headend", iface="cust0", pkt=frame(inner),
                             verdict="XDP_REDIRECT", out=out, encap=1, flow=("r4",),
                             events={"apn_imposed": 1}))
        got_inner = res.out[14 + 40 + 16 + 24:]
        self.assertEqual(got_inner[1], (26 << 2) | 1, "inner TOS: DSCP 26, ECN kept")
        self.assertEqual(ip4_csum(got_inner[:20]), 0, "inner IPv4 checksum valid")
        self.assertEqual(IPv6(res.out[14:]).tc, (26 << 2) | 1, "outer TC copies the remark")

    def test_remark_v6_tc(self):
        inner = IPv6(src=HOST_IP6, dst="2001:db8:2:1::20", tc=0x62, hlim=64) / UDP(
            sport=40000, dport=4791) / Raw(b"s" * 48)
        exp_ip = remark6(raw(inner), 26)
        out = self.encap_expect(exp_ip, "e1", APN)
        res = self.run_fx(Fx(name="remark-v6", prog="headend", iface="cust0", pkt=frame(inner),
                             verdict="XDP_REDIRECT", out=out, encap=1, flow=("r6",),
                             events={"apn_imposed": 1}))
        self.assertEqual(IPv6(res.out[14 + 40 + 16 + 24:]).tc, (26 << 2) | 2,
                         "inner traffic class: DSCP 26, ECN kept")

    def test_apn_match(self):
        # The host's APN ID (cust0: rewrite, so classification sees it) under
        # two masks: the app-group prefix and the exact ID.
        cases = [(bytes.fromhex("0000002a00000009"), 50001, BETA, MODEL_DIST),
                 (bytes.fromhex("0000002b00000005"), 50002, ACME, DATA_INGEST),
                 (bytes.fromhex("0000002b00000006"), 50003, ACME, 0),
                 (bytes.fromhex("0000002a"), 50004, ACME, 0)]  # 32-bit: other length
        from scapy.layers.inet6 import HBHOptUnknown, IPv6ExtHdrHopByHop
        for apn_id, sport, tenant, cls in cases:
            data = bytes([{4: 1, 8: 2}[len(apn_id)], 0, 0, 0]) + apn_id
            pkt = IPv6(src=HOST_IP6, dst="2001:db8:9::2", hlim=64) / IPv6ExtHdrHopByHop(
                options=[HBHOptUnknown(otype=0x13, optlen=len(data), optdata=data)]) / UDP(
                sport=sport, dport=9) / Raw(b"q" * 20)
            res = self.run_fx(Fx(name=f"apn-{apn_id.hex()}", prog="headend", iface="cust0",
                                 pkt=frame(pkt), verdict="XDP_PASS", out=None, encap=0))
            self.assertEqual(res.verdict, "XDP_PASS")
            flows = self.runner.request({"cmd": "flows"})["flows"]
            f = self.find_flow(flows, HOST_IP6, "2001:db8:9::2", sport, 9)
            self.assertEqual((f["tenant"], f["cls"]), (tenant, cls), f"APN {apn_id.hex()}")
            self.assertEqual(f["apn"], "", "rewrite port, no rule sets an APN: none carried")

    def test_no_match_no_remark(self):
        # Same destination, another port: the default decision (no remark, no APN).
        inner = IP(src=HOST_IP4, dst="198.51.100.20", tos=0xB9, ttl=64, flags="DF") / UDP(
            sport=40000, dport=4792) / Raw(b"r" * 48)
        out = self.encap_expect(raw(inner), "e1")
        self.run_fx(Fx(name="no-remark", prog="headend", iface="cust0", pkt=frame(inner),
                       verdict="XDP_REDIRECT", out=out, encap=1, flow=("nr",)))

    def test_rule_steers_into_policy(self):
        # 203.0.113.0/24 is in no policy: TCP 5001-5009 is steered into e3 by
        # the rule; other ports go to the kernel unchanged.
        inner = IP(src=HOST_IP4, dst="203.0.113.9", ttl=64, flags="DF") / TCP(
            sport=33000, dport=5005, flags="A", seq=1, ack=1) / Raw(b"t" * 20)
        out = self.encap_expect(raw(inner), "e3")
        self.run_fx(Fx(name="steer-e3", prog="headend", iface="cust0", pkt=frame(inner),
                       verdict="XDP_REDIRECT", out=out, encap=1, flow=("st",)))
        other = IP(src=HOST_IP4, dst="203.0.113.9", ttl=64, flags="DF") / TCP(
            sport=33000, dport=80, flags="A") / Raw(b"t" * 20)
        self.run_fx(Fx(name="not-steered", prog="headend", iface="cust0", pkt=frame(other),
                       verdict="XDP_PASS", out=None, encap=0))

    def counters(self):
        got = {}
        for cmd in ("flows", "usage", "apn_usage", "pol_stats"):
            r = self.runner.request({"cmd": cmd})
            self.assertNotIn("error", r, f"runner {cmd}")
            got[cmd] = r[cmd]
        return got

    def find_flow(self, flows, src, dst, sport, dport):
        m = [f for f in flows if (f["src"], f["dst"], f["sport"], f["dport"]) ==
             (src, dst, sport, dport)]
        self.assertEqual(len(m), 1, f"flow {src}:{sport} -> {dst}:{dport} in {flows}")
        return m[0]

    def test_zz_counters_after_n_packets(self):
        self.assertIn("ok", self.runner.request({"cmd": "reset"}))
        # A: 5 UDP packets matching "rdma" (beta/training, remark 26, APN).
        a = IP(src=HOST_IP4, dst="198.51.100.22", tos=0x28, ttl=64, flags="DF") / UDP(
            sport=41000, dport=4791) / Raw(b"a" * 100)
        # B: 3 UDP packets, DSCP 10 from 192.0.2.0/25: "marked" (acme/inference).
        b = IP(src=HOST_IP4, dst="198.51.100.23", tos=10 << 2, ttl=64, flags="DF") / UDP(
            sport=41001, dport=9) / Raw(b"b" * 60)
        # C: 2 TCP packets (SYN, then ACK) steered by "steer-storage" into e3.
        c_syn = IP(src=HOST_IP4, dst="203.0.113.10", ttl=64, flags="DF") / TCP(
            sport=34000, dport=5001, flags="S", seq=1)
        c_ack = IP(src=HOST_IP4, dst="203.0.113.10", ttl=64, flags="DF") / TCP(
            sport=34000, dport=5001, flags="A", seq=2, ack=1) / Raw(b"c" * 10)
        # D: IPv6 UDP from source port 7500: "bulk-src-ports" (acme/bulk), no policy.
        d = IPv6(src=HOST_IP6, dst="2001:db8:9::1", hlim=64) / UDP(sport=7500, dport=53) / Raw(
            b"d" * 30)
        sent = [(a, 5), (b, 3), (c_syn, 1), (c_ack, 1), (d, 2)]
        for pkt, n in sent:
            for _ in range(n):
                r = self.runner.request({"prog": "headend", "ifindex": self.ifindex["cust0"],
                                         "pkt": frame(pkt).hex()})
                self.assertNotIn("error", r)
        la, lb, lsyn, lack, ld = (len(raw(p)) for p, _ in sent)
        got = self.counters()
        fa = self.find_flow(got["flows"], HOST_IP4, "198.51.100.22", 41000, 4791)
        self.assertEqual((fa["packets"], fa["bytes"]), (5, 5 * la), "flow A packets / L3 bytes")
        self.assertEqual((fa["tenant"], fa["cls"], fa["dscp"], fa["dir"]),
                         (BETA, TRAINING, 26, "out"), "flow A decision")
        self.assertNotEqual(fa["rule_id"], NO_RULE, "flow A matched a rule")
        self.assertEqual(fa["apn"], APN.hex(), "flow A carries the rule's APN")
        self.assertTrue(fa["flags"] & 0x1, "flow A remarked (AIGW_ACT_F_REMARK)")
        self.assertLessEqual(fa["first_ns"], fa["last_ns"])
        fb = self.find_flow(got["flows"], HOST_IP4, "198.51.100.23", 41001, 9)
        self.assertEqual((fb["packets"], fb["bytes"], fb["tenant"], fb["cls"], fb["dscp"]),
                         (3, 3 * lb, ACME, INFERENCE, 10), "flow B")
        fc = self.find_flow(got["flows"], HOST_IP4, "203.0.113.10", 34000, 5001)
        self.assertEqual((fc["packets"], fc["bytes"], fc["tenant"], fc["cls"]),
                         (2, lsyn + lack, BETA, STORAGE), "flow C")
        self.assertEqual(fc["tcp_flags"], 0x12, "flow C: SYN | ACK seen")
        self.assertNotEqual(fc["policy_slot"], 0, "flow C steered by a policy")
        fd = self.find_flow(got["flows"], HOST_IP6, "2001:db8:9::1", 7500, 53)
        self.assertEqual((fd["packets"], fd["family"], fd["tenant"], fd["cls"],
                          fd["policy_slot"]), (2, 6, ACME, BULK, 0), "flow D (not steered)")

        usage = {(u["dir"], u["tenant"], u["cls"]): (u["packets"], u["bytes"])
                 for u in got["usage"]}
        self.assertEqual(usage, {("out", BETA, TRAINING): (5, 5 * la),
                                 ("out", ACME, INFERENCE): (3, 3 * lb),
                                 ("out", BETA, STORAGE): (2, lsyn + lack),
                                 ("out", ACME, BULK): (2, 2 * ld)}, "usage per tenant/class")
        pol = {p["policy"]: (p["packets"], p["bytes"]) for p in got["pol_stats"]}
        self.assertEqual(pol, {"e1": (8, 5 * la + 3 * lb), "e3": (2, lsyn + lack)},
                         "packets and inner L3 bytes per policy")
        self.assertEqual([(g["dir"], g["app_group"], g["packets"], g["bytes"])
                          for g in got["apn_usage"]], [("out", 0xd, 5, 5 * la)],
                         "APN app-group: leading 32 bits of the ID")

        # A configuration change (bumps the generation): flow C's cached
        # decision is replaced at its next packet.
        path = os.path.join(self.runner.tmp, "changed.yaml")
        with open(path, "w") as f:
            f.write(config(steer_tenant="acme"))
        r = self.runner.request({"cmd": "apply", "config": path})
        if "error" in r:
            self.fail(f"apply: {r}")
        r = self.runner.request({"prog": "headend", "ifindex": self.ifindex["cust0"],
                                 "pkt": frame(c_ack).hex()})
        self.assertEqual(r["verdict"], "XDP_REDIRECT")
        got = self.counters()
        fc = self.find_flow(got["flows"], HOST_IP4, "203.0.113.10", 34000, 5001)
        self.assertEqual((fc["packets"], fc["tenant"]), (3, ACME), "flow C after the change")
        usage = {(u["dir"], u["tenant"], u["cls"]): u["packets"] for u in got["usage"]}
        self.assertEqual(usage.get(("out", ACME, STORAGE)), 1, "new decision counted")


class TablesFull(DatapathCase):
    """aigw_flows with room for 2 flows, aigw_apn_usage for 1 app-group: what
    does not fit is counted as an event; the packet is forwarded and still
    in the usage totals."""
    TAG = "clsf"
    CONFIG = config().replace("  hop_limit: 50\n", "  hop_limit: 50\n  map_sizes:\n"
                              "    flows: 2\n    apn_groups: 1\n").replace(
        "flows:\n  enabled: true\n", """    - name: group-e
      priority: 5
      match:
        dst: [198.51.100.30/32]
        protocol: udp
      set:
        apn: "0x0000000e00000001"
flows:
  enabled: true
""")

    def test_full(self):
        self.assertIn("map_sizes", self.CONFIG)
        self.assertIn("group-e", self.CONFIG)
        self.assertIn("ok", self.runner.request({"cmd": "reset"}))
        pkts = [IP(src=HOST_IP4, dst=dst, ttl=64, flags="DF") / UDP(sport=42000, dport=dport)
                / Raw(b"f" * 40) for dst, dport in
                (("198.51.100.22", 4791), ("198.51.100.23", 9), ("198.51.100.30", 9))]
        # 1: rule "rdma" (app-group 0xd): a flow and an app-group entry.
        self.run_fx(Fx(name="first", prog="headend", iface="cust0", pkt=frame(pkts[0]),
                       verdict="XDP_REDIRECT", encap=1, events={"apn_imposed": 1}, flow=("f1",)))
        # 2: the default (no APN): the second and last flow entry.
        self.run_fx(Fx(name="second", prog="headend", iface="cust0", pkt=frame(pkts[1]),
                       verdict="XDP_REDIRECT", encap=1, flow=("f2",)))
        # 3: rule "group-e" (app-group 0xe): neither table has room.
        self.run_fx(Fx(name="third", prog="headend", iface="cust0", pkt=frame(pkts[2]),
                       verdict="XDP_REDIRECT", encap=1, flow=("f3",),
                       events={"apn_imposed": 1, "flow_table_full": 1, "apn_table_full": 1}))
        flows = self.runner.request({"cmd": "flows"})["flows"]
        self.assertEqual(sorted(f["dst"] for f in flows), ["198.51.100.22", "198.51.100.23"])
        usage = {(u["dir"], u["tenant"], u["cls"]): u["packets"]
                 for u in self.runner.request({"cmd": "usage"})["usage"]}
        self.assertEqual(usage, {("out", BETA, TRAINING): 1, ("out", ACME, 0): 2},
                         "every packet in the usage totals")
        groups = self.runner.request({"cmd": "apn_usage"})["apn_usage"]
        self.assertEqual([(g["app_group"], g["packets"]) for g in groups], [(0xd, 1)])


if __name__ == "__main__":
    run_module()
