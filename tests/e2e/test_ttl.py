#!/usr/bin/python3
"""The inner TTL / hop limit across SRv6 tunnels, aigw and the kernel's SRv6
mixed both ways (issue 9):

  aigw: each aigw gateway is one router hop for the carried packet: its
  headend decrements the TTL before encapsulating, its endpoints
  (End.DX*/DT*) after decapsulating. An End in the core touches only the
  outer hop limit.

  kernel: the kernel's seg6 headend encapsulates on input, before
  forwarding: it does not decrement the inner TTL (and gives an IPv6
  packet's hop limit to the outer header, so an inner hop limit of 1 dies
  in the kernel headend's own forwarding, the error going to its tunnel
  source, itself). Its End.DX4/DX6/DT6 forward the decapsulated packet and
  decrement it.

  So a packet crossing host -> gw -> core -> gw -> host loses: aigw -> aigw
  2, aigw -> kernel 2, kernel -> aigw 1 (kernel -> kernel 1). Checked here
  from the echo reply's TTL in every combination, both families.

  A packet that expires at a gateway gets ICMP Time Exceeded from that
  gateway: at an aigw headend (TTL 1 from the host) and at the egress
  endpoint (TTL 1 on arrival there). The egress gateway's error travels
  back through the tunnel on the gateway's own route to the peer site; an
  aigw gateway gets such a route here (`ip route ... encap seg6`, what an
  operator configures for the router's own traffic): XDP cannot route into
  a kernel encap route, so aigw hands the expired packet to the kernel,
  which answers (event ttl_to_kernel).

Classes: all aigw, kernel gwa, kernel gwb. Replies are read from ping's
output (ttl=N of the echo reply; "From X ... Time to live exceeded")."""

import json
import re
import unittest

import e2e_common as E

T = E.T

TTL_RE = re.compile(r"ttl=(\d+)")
EXCEEDED_RE = re.compile(r"From (\S+?):? icmp_seq=\d+ Time (?:to live exceeded|exceeded)")
HOST_TTL = 64  # the hosts' default TTL and hop limit


class TtlMixin:
    @classmethod
    def configure(cls, topo):
        """aigw site gateways get kernel routes to the peer site for their
        own traffic (ICMP errors), as kernel-SRv6 gateways have."""
        ok, answer = T.kernel_srv6()
        if not ok:
            raise unittest.SkipTest("the gateways' own ICMP errors need the kernel's seg6 routes: "
                                    f"this kernel has none (`ip route ... encap seg6`: {answer})")
        for g in ("gwa", "gwb"):
            if topo.modes[g] != "aigw":
                continue
            site = T.SITES[g]
            peer = T.SITES[site.peer]
            aigw_peer = topo.modes[site.peer] == "aigw"
            segs = lambda f: f"{T.CORE_END},{peer.sid(f)}"  # noqa: E731
            topo.ip(g, "sr", "tunsrc", "set", site.loopback)
            topo.ip_batch(g, [
                f"route add {peer.prefix4} encap seg6 mode encap segs "
                f"{segs('d46' if aigw_peer else 'd4')} dev {site.wan_if}",
                f"route add {peer.prefix6} encap seg6 mode encap segs "
                f"{segs('d46' if aigw_peer else 'f6')} dev {site.wan_if}"])

    def addresses(self, node):
        out = self.topo.run(node, ["ip", "-j", "addr", "show"]).stdout
        return {a["local"] for link in json.loads(out) for a in link.get("addr_info", [])}

    def paths(self):
        """(source host, destination, ingress gateway, egress gateway)."""
        for src_gw, dst_site in (("gwa", T.SITES["gwb"]), ("gwb", T.SITES["gwa"])):
            for dst in (dst_site.host4(), dst_site.host6()):
                yield T.SITES[src_gw].host, dst, src_gw, T.SITES[src_gw].peer

    def mode(self, g):
        return self.topo.modes[g]

    def headend_hops(self, g):
        """What the headend at g takes off the inner TTL."""
        return 1 if self.mode(g) == "aigw" else 0

    def expect_exceeded(self, src, dst, ttl, frm):
        ok, out = self.topo.ping(src, dst, count=1, wait=2, extra=["-t", str(ttl)])
        self.assertFalse(ok, f"TTL {ttl} reached {dst}:\n{out}")
        m = EXCEEDED_RE.search(out)
        self.assertIsNotNone(m, f"no Time Exceeded for TTL {ttl} to {dst}:\n{out}{self.diag()}")
        self.assertIn(m.group(1), self.addresses(frm),
                      f"Time Exceeded for TTL {ttl} to {dst} not from {frm}:\n{out}")

    def test_01_hops_per_tunnel(self):
        for src, dst, ing, egr in self.paths():
            with self.subTest(src=src, dst=dst):
                out = self.assertPing(src, dst, count=1, extra=["-t", str(HOST_TTL)])
                m = TTL_RE.search(out)
                self.assertIsNotNone(m, out)
                # The echo reply came back dst -> src: through egr's headend
                # and ing's endpoint (which always decrements).
                want = HOST_TTL - self.headend_hops(egr) - 1
                self.assertEqual(int(m.group(1)), want,
                                 f"reply {dst} -> {src}: {egr} ({self.mode(egr)}) headend, "
                                 f"{ing} ({self.mode(ing)}) endpoint\n{out}")

    def test_02_expires_at_the_egress_endpoint(self):
        for src, dst, ing, egr in self.paths():
            if self.mode(ing) == "kernel" and ":" in dst:
                continue  # dies in the kernel headend (see the module docstring)
            with self.subTest(src=src, dst=dst):
                ttl = self.headend_hops(ing) + 1  # arrives at egr with 1
                before = self.stats(egr) if self.mode(egr) == "aigw" else None
                self.expect_exceeded(src, dst, ttl, egr)
                if before is not None:
                    after = self.stats(egr)
                    answered = sum(E.event(after, e) - E.event(before, e)
                                   for e in ("ttl_to_kernel", "icmp_ttl_sent"))
                    self.assertGreaterEqual(answered, 1, f"{egr}: expiry not seen by aigw"
                                                         f"{self.diag([egr])}")
                self.assertPing(src, dst, count=1, extra=["-t", str(ttl + 1)])

    def test_03_expires_at_an_aigw_headend(self):
        for src, dst, ing, _ in self.paths():
            if self.mode(ing) != "aigw":
                continue
            with self.subTest(src=src, dst=dst):
                before = self.stats(ing)
                self.expect_exceeded(src, dst, 1, ing)
                after = self.stats(ing)
                self.assertGreaterEqual(E.event(after, "icmp_ttl_sent") -
                                        E.event(before, "icmp_ttl_sent"), 1)


class AigwBoth(TtlMixin, E.TopoCase):
    MODES = {"gwa": "aigw", "core": "aigw", "gwb": "aigw"}


class KernelGwa(TtlMixin, E.TopoCase):
    MODES = {"gwa": "kernel", "core": "aigw", "gwb": "aigw"}


class KernelGwb(TtlMixin, E.TopoCase):
    MODES = {"gwa": "aigw", "core": "aigw", "gwb": "kernel"}


if __name__ == "__main__":
    E.main()
