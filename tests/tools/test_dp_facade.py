#!/usr/bin/python3
"""The agent's datapath facade for classification and accounting
(agent/datapath), through aigw-dp-run on the real kernel: what apply()
writes into the double-banked classification maps (read back from the pinned
maps, not from the agent's own bookkeeping), when it flips banks, that a
classifier that cannot be compiled leaves everything in force, and the
accounting read commands. Independent of what the XDP programs do with the
maps; the classify_batch check runs once the headend creates flow entries.

Run: test_dp_facade.py --runner build/tests/tools/aigw-dp-run --source-dir .
"""
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "datapath"))
import dptest  # noqa: E402  (Netns, Runner, topology helpers)

MAP_SIZES = """datapath:
  map_sizes:
    class_prefixes: 8
    class_port_bitmaps: 64
"""

INTERFACES = """interfaces:
  - name: cust0
    role: customer
  - name: wan0
    role: wan
"""

TOPOLOGY = """
link add cust0 address 02:00:00:00:0c:00 type veth peer name cust0p
link add wan0 address 02:00:00:00:0a:00 type veth peer name wan0p
link set lo up
link set cust0p up
link set wan0p up
link set cust0 up
link set wan0 up
addr add 192.0.2.1/25 dev cust0
addr add 2001:db8:1::1/64 dev cust0 nodad
addr add fc00:12::1/64 dev wan0 nodad
neigh add fc00:12::2 lladdr 02:00:00:00:00:02 dev wan0 nud permanent
route add fc00:b::/48 via fc00:12::2 dev wan0
"""


def config(policy_hop_limit=40, rules="", flows=True):
    text = MAP_SIZES + INTERFACES + f"""policies:
  - name: p1
    prefixes: [198.51.100.0/24, 2001:db8:2::/48]
    source: fc00:a::1
    segments: [fc00:b::1]
    hop_limit: {policy_hop_limit}
tenants:
  - name: acme
    id: 7
flows:
  enabled: {"true" if flows else "false"}
"""
    if rules:
        text += "classification:\n  rules:\n" + rules
    return text


RULES_A = """    - name: train
      match: {src: 192.0.2.0/24, dst: [198.51.100.0/25, 198.51.100.128/25], protocol: tcp, dport: "5000-5010"}
      set: {tenant: acme, class: training, dscp: 10}
    - name: store
      match: {dst: 2001:db8:2::/48}
      set: {class: storage, policy: p1}
"""
# Same rules, renamed: nothing the datapath sees changes.
RULES_A_RENAMED = RULES_A.replace("name: train", "name: training")
# One more IPv4 destination prefix in the first rule.
RULES_B = RULES_A.replace("198.51.100.128/25]", "198.51.100.128/26, 198.51.100.192/26]")
# Five distinct IPv4 destinations: more than class_prefixes / 2 = 4.
RULES_TOO_MANY = """    - name: many
      match: {dst: [198.51.100.0/28, 198.51.100.16/28, 198.51.100.32/28, 198.51.100.48/28, 198.51.100.64/28]}
      set: {class: inference}
"""


class FacadeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="aigwt-facade-")
        cls.ns = dptest.Netns("fac")
        cls.ns.ip_batch(TOPOLOGY)
        cls.ns.sysctl(*dptest.SYSCTLS)
        cls.runner = dptest.Runner(cls.ns, config(rules=RULES_A), "fac")

    @classmethod
    def tearDownClass(cls):
        cls.runner.close()
        cls.ns.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def req(self, r):
        a = self.runner.request(r)
        self.assertNotIn("error", a, f"{r} -> {a}")
        return a

    def apply(self, text, expect_error=False):
        path = os.path.join(self.tmp, "next.yaml")
        with open(path, "w") as f:
            f.write(text)
        a = self.runner.request({"cmd": "apply", "config": path})
        if expect_error:
            self.assertIn("error", a, a)
        else:
            self.assertNotIn("error", a, a)
        return a

    def info(self):
        return self.req({"cmd": "cls_info"})

    def assert_bank(self, info, nrules, dst4, dst6, src4):
        b = info["active_bank"]
        self.assertIn(b, (0, 1))
        self.assertEqual(info["meta"][b]["nrules"], nrules)
        self.assertEqual(info["meta"][b]["nwords"], (nrules + 63) // 64)
        e = info["entries"]
        want = {"aigw_cls_dst4": dst4, "aigw_cls_dst6": dst6, "aigw_cls_src4": src4,
                "aigw_cls_src6": 0, "aigw_cls_misc": 8, "aigw_cls_apn": 0}
        for name, n in want.items():
            exp = [0, 0, 0]
            exp[b] = n
            self.assertEqual(e[name], exp, f"{name} per bank (active {b})")
        # Port bitmaps: some in the active bank, none left in the other.
        self.assertGreater(e["aigw_cls_portbv"][b], 0)
        self.assertEqual(e["aigw_cls_portbv"][1 - b], 0)
        self.assertEqual(e["aigw_cls_portbv"][2], 0)

    def test_1_banks(self):
        i0 = self.info()
        self.assert_bank(i0, nrules=2, dst4=2, dst6=1, src4=1)
        self.assertEqual(i0["meta"][i0["active_bank"]]["flows_on"], 1)

        # A reload that changes nothing classification sees (a rule renamed)
        # rewrites no bank.
        self.apply(config(rules=RULES_A_RENAMED))
        i1 = self.info()
        self.assertEqual(i1["active_bank"], i0["active_bank"], "no flip for a rename")
        self.assertEqual(i1["gen"], i0["gen"] + 1, "one generation bump per apply")
        self.assert_bank(i1, nrules=2, dst4=2, dst6=1, src4=1)

        # Changed rules: the other bank is filled and becomes active; the old
        # bank's hash/LPM entries are gone; generation bumped twice (apply +
        # flip).
        self.apply(config(rules=RULES_B))
        i2 = self.info()
        self.assertEqual(i2["active_bank"], 1 - i1["active_bank"])
        self.assertEqual(i2["gen"], i1["gen"] + 2)
        self.assert_bank(i2, nrules=2, dst4=3, dst6=1, src4=1)

        # A policy change moves the policy to a fresh slot: the rule that
        # steers into it changes, so the banks flip.
        self.apply(config(rules=RULES_B, policy_hop_limit=41))
        i3 = self.info()
        self.assertEqual(i3["active_bank"], 1 - i2["active_bank"])
        self.assert_bank(i3, nrules=2, dst4=3, dst6=1, src4=1)

        # flows.enabled is carried in cls_meta.
        self.apply(config(rules=RULES_B, policy_hop_limit=41, flows=False))
        i4 = self.info()
        self.assertEqual(i4["active_bank"], 1 - i3["active_bank"])
        self.assertEqual(i4["meta"][i4["active_bank"]]["flows_on"], 0)

        # Rules that do not fit: refused before anything is written.
        a = self.apply(config(rules=RULES_TOO_MANY, policy_hop_limit=99), expect_error=True)
        self.assertIn("prefixes", a["error"])
        i5 = self.info()
        self.assertEqual(i5, i4, "a refused apply writes nothing (not even the generation)")

        # No rules at all: the bank holds the default only (nrules 0).
        self.apply(config(rules=""))
        i6 = self.info()
        self.assertEqual(i6["meta"][i6["active_bank"]]["nrules"], 0)
        e = i6["entries"]
        for name in ("aigw_cls_dst4", "aigw_cls_dst6", "aigw_cls_src4", "aigw_cls_apn"):
            self.assertEqual(e[name], [0, 0, 0], name)
        self.apply(config(rules=RULES_A))

    def test_2_accounting_reads(self):
        self.req({"cmd": "reset"})
        for cmd, key in (("flows", "flows"), ("usage", "usage"), ("apn_usage", "apn_usage"),
                         ("pol_stats", "pol_stats")):
            a = self.req({"cmd": cmd})
            self.assertEqual(a[key], [], f"{cmd} after reset")
        self.assertEqual(self.req({"cmd": "flush_flows"}), {"ok": True, "deleted": 0})

    def test_3_classify_batch(self):
        from scapy.all import Ether, IP, IPv6, TCP, UDP, raw  # noqa: E402
        host = "02:00:00:00:0c:10"
        cust = "02:00:00:00:0c:00"
        frames = [
            Ether(src=host, dst=cust) / IP(src="192.0.2.10", dst="198.51.100.5") /
            TCP(sport=40000, dport=5005),
            Ether(src=host, dst=cust) / IP(src="192.0.2.10", dst="198.51.100.200") /
            TCP(sport=40000, dport=5011),
            Ether(src=host, dst=cust) / IPv6(src="2001:db8:1::10", dst="2001:db8:2::5") /
            UDP(sport=1, dport=2),
        ]
        path = os.path.join(self.tmp, "frames.hex")
        with open(path, "w") as f:
            for fr in frames:
                f.write(raw(fr).hex() + "\n")
            f.write("zz\n")
        a = self.req({"cmd": "classify_batch", "prog": "headend", "iface": "cust0",
                      "frames_file": path})
        self.assertEqual(a["frames"], 4)
        r = a["results"]
        self.assertIn("error", r[3], "bad hex is reported per frame")
        if all(x.get("flow") is False for x in r[:3]):
            self.skipTest("the headend creates no flow entries yet (classification datapath)")
        self.assertEqual((r[0]["rule_id"], r[0]["tenant"], r[0]["cls"], r[0]["dscp"]),
                         (0, 7, 1, 10))
        self.assertEqual(r[1]["rule_id"], 4294967295, "port 5011 is outside 5000-5010")
        self.assertEqual((r[2]["rule_id"], r[2]["cls"]), (1, 5))
        self.assertNotEqual(r[2]["policy_slot"], 0)
        self.assertEqual(self.req({"cmd": "flows"})["flows"], [], "batch leaves no flows")

        # Usage (per-CPU sums read by the agent): one packet per (tenant,
        # class), L3 bytes of each frame (test_2 reset the counters).
        l3 = [len(raw(fr[1])) for fr in frames]
        usage = {(u["dir"], u["tenant"], u["cls"]): (u["packets"], u["bytes"])
                 for u in self.req({"cmd": "usage"})["usage"]}
        self.assertEqual(usage, {("out", 7, 1): (1, l3[0]), ("out", 0, 0): (1, l3[1]),
                                 ("out", 0, 5): (1, l3[2])})
        # Every frame was steered into p1 (its prefixes cover all three).
        pol = self.req({"cmd": "pol_stats"})["pol_stats"]
        self.assertEqual([(p["policy"], p["packets"]) for p in pol], [("p1", 3)], pol)
        self.assertEqual(pol[0]["slot"], r[2]["policy_slot"])

    def test_4_flows(self):
        from scapy.all import Ether, IP, TCP, raw  # noqa: E402
        self.req({"cmd": "reset"})
        fr = (Ether(src="02:00:00:00:0c:10", dst="02:00:00:00:0c:00") /
              IP(src="192.0.2.10", dst="198.51.100.5", tos=0) / TCP(sport=40000, dport=5005,
                                                                   flags="S"))
        for _ in range(2):
            a = self.req({"prog": "headend", "ifindex": self.cust0_ifindex(),
                          "pkt": raw(fr).hex()})
            self.assertIn(a["verdict"], ("XDP_REDIRECT", "XDP_PASS", "XDP_TX"), a)
        flows = self.req({"cmd": "flows"})["flows"]
        if not flows:
            self.skipTest("the headend creates no flow entries yet")
        self.assertEqual(len(flows), 1, flows)
        f = flows[0]
        self.assertEqual((f["src"], f["dst"], f["sport"], f["dport"], f["proto"], f["family"],
                          f["dir"], f["ifslot"]),
                         ("192.0.2.10", "198.51.100.5", 40000, 5005, 6, 4, "out",
                          self.runner.slots["cust0"]))
        self.assertEqual((f["packets"], f["bytes"]), (2, 2 * len(raw(fr[1]))))
        self.assertEqual((f["rule_id"], f["tenant"], f["cls"], f["dscp"]), (0, 7, 1, 10))
        self.assertLessEqual(f["first_ns"], f["last_ns"])
        self.assertTrue(f["tcp_flags"] & 0x02, "SYN seen")
        self.assertEqual(self.req({"cmd": "flush_flows"}), {"ok": True, "deleted": 1})
        self.assertEqual(self.req({"cmd": "flows"})["flows"], [])

    def cust0_ifindex(self):
        return self.ns.links()["cust0"]["ifindex"]


if __name__ == "__main__":
    dptest.main()
