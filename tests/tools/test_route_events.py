#!/usr/bin/python3
"""Kernel routing changes invalidate the headend's and the endpoint's
next-hop caches (issue 9 items 2 and 3), through aigw-dp-run on the real kernel: the runner watches
rtnetlink as aigwd's route-events module does (netlink/route_watch.hpp)
and, asked for "route_events", drains the notifications and bumps the
datapath generation when one of them can move a next hop.

With nexthop_cache_ms at its maximum (1 s), a route replaced or a
neighbour's link-layer address changed shows in the next encapsulated
packet's destination MAC as soon as the events are drained; a neighbour
confirmation (same address) and an unrelated new neighbour do not
invalidate anything. The endpoint's cache is per flow: over a multipath
route, each flow keeps the member the FIB chose for it (its cached answer
is its uncached one) and the flows spread over both members.

Run: test_route_events.py --runner build/tests/tools/aigw-dp-run --source-dir .
"""
import json
import os
import struct
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "datapath"))
import dptest  # noqa: E402  (Netns, Runner)

CUST_MAC = "02:00:00:00:0c:00"
HOST_MAC = "02:00:00:00:0c:10"
NH_A = "02:00:00:00:00:0a"
NH_B = "02:00:00:00:00:0b"
NH_C = "02:00:00:00:00:0c"
EP_A = "02:00:00:00:00:e1"  # next hops of the endpoint tests (their own: the
EP_B = "02:00:00:00:00:e2"  # headend tests change NH_A/NH_B's neighbours)

TOPOLOGY = f"""
link add cust0 address {CUST_MAC} type veth peer name cust0p
link add wan0 address 02:00:00:00:0a:00 type veth peer name wan0p
link set lo up
link set cust0p up
link set wan0p up
link set cust0 up
link set wan0 up
addr add 192.0.2.1/25 dev cust0
addr add fc00:12::1/64 dev wan0 nodad
neigh add fc00:12::a lladdr {NH_A} dev wan0 nud permanent
neigh add fc00:12::b lladdr {NH_B} dev wan0 nud permanent
route add fc00:b::/48 via fc00:12::a dev wan0
neigh add fc00:12::e1 lladdr {EP_A} dev wan0 nud permanent
neigh add fc00:12::e2 lladdr {EP_B} dev wan0 nud permanent
route add fc00:c::/48 via fc00:12::e1 dev wan0
route add fc00:d::/48 nexthop via fc00:12::e1 dev wan0 nexthop via fc00:12::e2 dev wan0
"""

CONFIG = """datapath:
  nexthop_cache_ms: 1000
interfaces:
  - name: cust0
    role: customer
  - name: wan0
    role: wan
policies:
  - name: p1
    prefixes: [198.51.100.0/24]
    source: fc00:a::1
    segments: [fc00:b::1]
sids:
  - sid: fc00:a::e/128
    behavior: End
"""
WAN_MAC = "02:00:00:00:0a:00"
EP_NH_BITS = 13  # AIGW_EP_NH_BITS
AF_INET6 = 10


def ep_nh_slot(dst, src, flowinfo, ifindex, tbid=0, family=AF_INET6):
    """The slot bpf/lib/nhcache.h's aigw_fib_cached picks for this key
    (struct aigw_ep_nh_key: ifindex, flowinfo in network order, source,
    destination, table, family; read as six little-endian 64-bit words)."""
    import ipaddress
    b = (struct.pack("<I", ifindex) + struct.pack(">I", flowinfo) +
         ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed +
         struct.pack("<II", tbid, family))
    h = 0
    for i, (w,) in enumerate(struct.iter_unpack("<Q", b)):
        h = (h + w * ((0x9e3779b97f4a7c15 + 2 * i * 0xc2b2ae3d27d4eb4f) % (1 << 64))) % (1 << 64)
    return h >> (64 - EP_NH_BITS)


class RouteEvents(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ns = dptest.Netns("rtev")
        # Before the links exist, so that they inherit them: no duplicate
        # address detection finishing (an address change) during a test.
        cls.ns.sysctl(*dptest.SYSCTLS)
        cls.ns.ip_batch(TOPOLOGY)
        # One CPU: the next-hop cache is per CPU.
        os.environ["AIGW_DP_CPU"] = "0"
        try:
            cls.runner = dptest.Runner(cls.ns, CONFIG, "rtev")
        finally:
            del os.environ["AIGW_DP_CPU"]

    @classmethod
    def tearDownClass(cls):
        cls.runner.close()
        cls.ns.close()

    def frame(self):
        from scapy.all import Ether, IP, UDP, raw  # noqa: E402
        return raw(Ether(dst=CUST_MAC, src=HOST_MAC) / IP(src="192.0.2.10", dst="198.51.100.5") /
                   UDP(sport=40000, dport=4791) / (b"x" * 32)).hex()

    def next_hop_mac(self):
        """Destination MAC of the encapsulated packet the headend sends."""
        a = self.runner.request({"prog": "headend", "ifindex": self.runner_ifindex(),
                                 "pkt": self.frame()})
        self.assertNotIn("error", a, a)
        self.assertIn(a["verdict"], ("XDP_TX", "XDP_REDIRECT"), a)
        out = bytes.fromhex(a["out"])
        return ":".join(f"{b:02x}" for b in out[:6])

    def end_frame(self, next_sid, flowlabel=0):
        from scapy.all import Ether, IP, IPv6, UDP, raw  # noqa: E402
        from scapy.layers.inet6 import IPv6ExtHdrSegmentRouting  # noqa: E402
        return raw(Ether(dst=WAN_MAC, src=NH_A) /
                   IPv6(src="fc00:b::1", dst="fc00:a::e", fl=flowlabel) /
                   IPv6ExtHdrSegmentRouting(nh=4, segleft=1, addresses=[next_sid, "fc00:a::e"]) /
                   IP(src="198.51.100.5", dst="192.0.2.10") / UDP(sport=1, dport=2) /
                   (b"y" * 16)).hex()

    def end_mac(self, next_sid="fc00:c::1", flowlabel=0):
        """Destination MAC of what End sends on towards next_sid."""
        a = self.runner.request({"prog": "endpoint", "ifindex": self.ns.links()["wan0"]["ifindex"],
                                 "pkt": self.end_frame(next_sid, flowlabel)})
        self.assertNotIn("error", a, a)
        self.assertIn(a["verdict"], ("XDP_TX", "XDP_REDIRECT"), a)
        return ":".join(f"{b:02x}" for b in bytes.fromhex(a["out"])[:6])

    def runner_ifindex(self):
        return self.ns.links()["cust0"]["ifindex"]

    def events(self):
        a = self.runner.request({"cmd": "route_events"})
        self.assertNotIn("error", a, a)
        return a

    def cached_until_drained(self, change, old_mac, new_mac, mac_of=None):
        """Applies `change`; before the drain the cache may still answer
        old_mac (checked when the cache cannot have expired yet); after it,
        the very next packet goes to new_mac."""
        mac_of = mac_of or self.next_hop_mac
        gen = self.events()["gen"]
        t0 = time.monotonic()
        self.ns.ip_batch(change)
        before = mac_of()
        if time.monotonic() - t0 < 0.8:
            self.assertEqual(before, old_mac, "the next-hop cache is not in use")
        ev = self.events()
        self.assertGreaterEqual(ev["changes"], 1, ev)
        self.assertEqual(ev["gen"], gen + 1, ev)
        self.assertEqual(mac_of(), new_mac)

    def test_1_route_replace(self):
        self.events()
        self.assertEqual(self.next_hop_mac(), NH_A)
        self.cached_until_drained("route replace fc00:b::/48 via fc00:12::b dev wan0\n",
                                  NH_A, NH_B)

    def test_2_neighbour_address_change(self):
        self.events()
        self.next_hop_mac()  # fill the cache
        current = self.next_hop_mac()
        ip = "fc00:12::b" if current == NH_B else "fc00:12::a"
        self.cached_until_drained(f"neigh replace {ip} lladdr {NH_C} dev wan0 nud permanent\n",
                                  current, NH_C)

    def settle(self, quiet=0.6, limit=10.0):
        """Drains until no change has come for `quiet` seconds: the kernel's
        own late events (link-local addresses, routes of a link coming up)
        must not be taken for the test's."""
        deadline = time.monotonic() + limit
        last_change = time.monotonic()
        while time.monotonic() - last_change < quiet:
            self.assertLess(time.monotonic(), deadline, "the namespace never went quiet")
            if self.events()["changes"]:
                last_change = time.monotonic()
            time.sleep(0.1)

    def test_3_no_change_no_invalidation(self):
        self.settle()
        # The same neighbour confirmed with the same address, and a new
        # neighbour no route uses: nothing can have moved.
        self.ns.ip_batch("neigh add fc00:12::99 lladdr 02:00:00:00:00:99 dev wan0 nud reachable\n"
                         "neigh change fc00:12::99 lladdr 02:00:00:00:00:99 dev wan0 nud stale\n")
        ev = self.events()
        self.assertEqual(ev["changes"], 0, ev)

    def test_4_endpoint_route_replace(self):
        self.events()
        self.assertEqual(self.end_mac(), EP_A)
        self.cached_until_drained("route replace fc00:c::/48 via fc00:12::e2 dev wan0\n",
                                  EP_A, EP_B, self.end_mac)

    def test_5_endpoint_cache_per_flow(self):
        self.events()
        first = {fl: self.end_mac("fc00:d::1", fl) for fl in range(1, 33)}   # FIB, cached
        again = {fl: self.end_mac("fc00:d::1", fl) for fl in range(1, 33)}   # from the cache
        self.assertEqual(again, first, "a flow's cached next hop is not the FIB's choice")
        self.assertEqual(set(first.values()), {EP_A, EP_B},
                         "32 flow labels over a 2-way multipath route all took one member")


    def slot_flowinfo(self, slot):
        """The flow information of the key in CPU 0's slot of aigw_ep_nh,
        read with bpftool in the runner's mount namespace (its bpffs)."""
        cp = subprocess.run(["nsenter", "-t", str(self.runner.proc.pid), "-m", "-n", "bpftool",
                             "-j", "map", "lookup", "pinned", f"{self.runner.pin}/aigw_ep_nh",
                             "key", *[str(b) for b in struct.pack("<I", slot)]],
                            capture_output=True, text=True, timeout=30)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        value = bytes(int(x, 16) for x in json.loads(cp.stdout)["values"][0]["value"])
        return struct.unpack(">I", value[4:8])[0]  # aigw_ep_nh_key.flowinfo

    def test_6_endpoint_cache_collisions(self):
        """The endpoint's cache is direct-mapped: flows whose keys hash to
        one slot take it over in turn (bpftool shows the slot holding the
        last one's key), and each still gets its own FIB answer."""
        self.events()
        ifindex = self.ns.links()["wan0"]["ifindex"]
        by_slot, pairs = {}, []
        for fl in range(1, 1 << 20):
            sl = ep_nh_slot("fc00:d::1", "fc00:b::1", fl, ifindex)
            if sl in by_slot:
                pairs.append((by_slot.pop(sl), fl, sl))
                if len(pairs) == 16:
                    break
            else:
                by_slot[sl] = fl
        differ = 0
        for a, b, sl in pairs:
            truth = {fl: self.end_mac("fc00:d::1", fl) for fl in (a, b)}
            self.assertEqual(self.slot_flowinfo(sl), b, f"slot {sl} after flow {b}")
            differ += truth[a] != truth[b]
            for fl in (a, b, a, b):
                self.assertEqual(self.end_mac("fc00:d::1", fl), truth[fl],
                                 f"flow label {fl} (slot {sl}, shared with {a ^ b ^ fl})")
                self.assertEqual(self.slot_flowinfo(sl), fl)
        self.assertGreater(differ, 0, "no colliding pair took different members: not a test")


if __name__ == "__main__":
    dptest.main()
