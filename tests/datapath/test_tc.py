#!/usr/bin/python3
"""The first TC program (tc_customer_egress) and the loader's TC hook.

The TC program is loaded by the agent's one Loader beside the XDP programs
(sharing their maps) and run here with BPF_PROG_TEST_RUN on an skb: it never
changes a packet, returns TC_ACT_OK, and counts per customer port in
aigw_tc_stats (seen, ip, bad, and flow_hit for a packet of a flow the
endpoint accounts). The loader attaches it at TC egress of a veth in the
test's namespace (clsact, handle 0xa16, priority 0xa16), replaces its own
filter atomically, detaches only its own, and refuses to replace a foreign
filter at its handle (`tc` itself is the independent judge of what is
attached).
Run: tests/datapath/test_tc.py --runner build/tests/tools/aigw-dp-run
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dptest import (  # noqa: E402
    CUST0_MAC, HOST_MAC, PEER_MAC, SID_DT4, WAN0_IP6, WAN0_MAC, ARP, DatapathCase, Ether, IP,
    IPv6, Raw, UDP, _b, run_module)

TC_PROG = "tc_customer_egress"
AIGW_TC_PREF = 0xa16
FOREIGN_SRC = r"""
__attribute__((section("tc"), used)) int foreign_tc(void *skb) { return 0; }
char _license[] __attribute__((section("license"), used)) = "GPL";
"""


def inner4(sport=4000):
    return IP(src="198.51.100.10", dst="203.0.113.9", ttl=40) / UDP(
        sport=sport, dport=4791) / Raw(b"t4" * 20)


class TcProgram(DatapathCase):
    TAG = "tc"

    def tc_stats(self) -> dict:
        r = self.runner.request({"cmd": "tc_stats"})
        if "error" in r:
            self.fail(f"tc_stats: {r['error']}")
        return r["tc"]

    def run_tc(self, iface: str, frame: bytes) -> dict:
        """One packet through the TC program; the delta of every slot's counters."""
        before = self.tc_stats()
        r = self.runner.request({"prog": TC_PROG, "ifindex": self.ifindex[iface],
                                 "pkt": frame.hex()})
        self.assertNotIn("error", r, r)
        self.assertEqual(r["verdict"], "TC_ACT_OK")
        self.assertEqual(bytes.fromhex(r["out"]), frame, "the TC program changed the packet")
        after = self.tc_stats()
        delta = {}
        for slot in set(before) | set(after):
            b, a = before.get(slot, {}), after.get(slot, {})
            d = {k: a.get(k, 0) - b.get(k, 0) for k in a if a.get(k, 0) != b.get(k, 0)}
            if d:
                delta[slot] = d
        return delta

    def test_ip_packet_counted_on_its_port(self):
        frame = _b(Ether(src=CUST0_MAC, dst=HOST_MAC) / inner4(sport=4100))
        slot = str(self.runner.slots["cust0"])
        self.assertEqual(self.run_tc("cust0", frame), {
            slot: {"seen": 1, "seen_bytes": len(frame), "ip": 1, "ip_bytes": len(frame)}})

    def test_non_ip_and_malformed(self):
        slot = str(self.runner.slots["cust0"])
        arp = _b(Ether(src=CUST0_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="192.0.2.10"))
        self.assertEqual(self.run_tc("cust0", arp),
                         {slot: {"seen": 1, "seen_bytes": len(arp)}})
        ip = bytearray(_b(inner4()))
        ip[0] = 0x44  # IHL 4: shorter than an IPv4 header
        bad = _b(Ether(src=CUST0_MAC, dst=HOST_MAC, type=0x0800)) + bytes(ip)
        self.assertEqual(self.run_tc("cust0", bad),
                         {slot: {"seen": 1, "seen_bytes": len(bad), "bad": 1,
                                 "bad_bytes": len(bad)}})

    def test_unconfigured_port_is_slot_zero(self):
        frame = _b(Ether(src="02:00:00:00:0e:00", dst=HOST_MAC) / inner4())
        self.assertEqual(self.run_tc("ext0", frame), {
            "0": {"seen": 1, "seen_bytes": len(frame), "ip": 1, "ip_bytes": len(frame)}})

    def test_flow_of_the_endpoint_is_recognised(self):
        """A packet End.DT4 decapsulated to cust0 created a flow (direction in):
        the same packet seen at cust0's TC egress is a flow hit; another flow
        is not."""
        self.runner.request({"cmd": "flush_flows"})
        pkt = _b(Ether(src=PEER_MAC, dst=WAN0_MAC) /
                 IPv6(src="fc00:b::1", dst=SID_DT4, hlim=64) / inner4(sport=4200))
        r = self.runner.request({"prog": "endpoint", "ifindex": self.ifindex["wan0"],
                                 "pkt": pkt.hex()})
        self.assertEqual(r.get("verdict"), "XDP_REDIRECT", r)
        decapped = bytes.fromhex(r["out"])
        slot = str(self.runner.slots["cust0"])
        n = len(decapped)
        self.assertEqual(self.run_tc("cust0", decapped), {
            slot: {"seen": 1, "seen_bytes": n, "ip": 1, "ip_bytes": n, "flow_hit": 1,
                   "flow_hit_bytes": n}})
        other = _b(Ether(src=CUST0_MAC, dst=HOST_MAC) / inner4(sport=4201))
        self.assertNotIn("flow_hit", self.run_tc("cust0", other)[slot])


class TcAttach(DatapathCase):
    TAG = "tca"
    DEV = "cust0p"  # a veth end aigw does not configure

    def tc(self, *args, check=True):
        return subprocess.run(["ip", "netns", "exec", self.ns.name, "tc", *args],
                              capture_output=True, text=True, check=check)

    def filters(self) -> list:
        out = self.tc("-j", "filter", "show", "dev", self.DEV, "egress").stdout.strip()
        return [f for f in json.loads(out or "[]") if f.get("options")]

    def ours(self) -> list:
        return [f for f in self.filters() if f.get("pref") == AIGW_TC_PREF]

    def attach(self, hook="tc_egress"):
        return self.runner.request({"cmd": "attach", "ifname": self.DEV, "hook": hook,
                                    "prog": TC_PROG})

    def detach(self):
        return self.runner.request({"cmd": "detach", "ifname": self.DEV, "hook": "tc_egress"})

    def test_1_attach_replace_detach(self):
        self.assertEqual(self.attach(), {"ok": True})
        mine = self.ours()
        self.assertEqual(len(mine), 1, self.filters())
        self.assertEqual(mine[0]["options"]["handle"], "0xa16")
        self.assertTrue(mine[0]["options"].get("bpf_name", "").startswith("tc_customer_eg"),
                        mine[0])
        # Attaching again replaces our own filter in place: still one.
        self.assertEqual(self.attach(), {"ok": True})
        self.assertEqual(len(self.ours()), 1, self.filters())
        self.assertEqual(self.detach(), {"ok": True})
        self.assertEqual(self.ours(), [])

    def test_2_foreign_filter_is_never_replaced(self):
        with tempfile.TemporaryDirectory(prefix="aigwt-tc-") as d:
            src, obj = os.path.join(d, "foreign.c"), os.path.join(d, "foreign.o")
            with open(src, "w") as f:
                f.write(FOREIGN_SRC)
            clang = "clang-14" if subprocess.run(["which", "clang-14"],
                                                 capture_output=True).returncode == 0 else "clang"
            subprocess.run([clang, "-O2", "-target", "bpf", "-c", src, "-o", obj], check=True)
            self.tc("qdisc", "add", "dev", self.DEV, "clsact", check=False)
            self.tc("filter", "add", "dev", self.DEV, "egress", "pref", str(AIGW_TC_PREF),
                    "handle", "0xa16", "bpf", "da", "obj", obj, "sec", "tc")
        before = self.ours()
        self.assertEqual(len(before), 1, self.filters())
        self.assertIn("foreign", before[0]["options"].get("bpf_name", ""))
        r = self.attach()
        self.assertIn("error", r)
        self.assertIn("foreign", r["error"])
        self.assertEqual(self.ours(), before, "the foreign filter was touched")
        # Detach of a program we never attached leaves the foreign one alone.
        self.assertEqual(self.detach(), {"ok": True})
        self.assertEqual(self.ours(), before)
        self.tc("filter", "del", "dev", self.DEV, "egress", "pref", str(AIGW_TC_PREF))

    def test_3_bad_hook_and_unknown_program(self):
        self.assertIn("error", self.attach(hook="tc_sideways"))
        r = self.runner.request({"cmd": "attach", "ifname": self.DEV, "hook": "tc_egress",
                                 "prog": "no_such_prog"})
        self.assertIn("no_such_prog", r.get("error", ""))


if __name__ == "__main__":
    run_module()
