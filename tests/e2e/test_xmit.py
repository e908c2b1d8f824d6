#!/usr/bin/python3
"""Frames aigw redirects that the kernel then does not send are counted and
reported (issue 10 item 2). gwb decapsulates host1's packets and redirects
them into gwb-h2, whose veth peer is host2's eth0:

- with neither an XDP program nor GRO on host2's eth0, the kernel refuses
  the redirect (the port has no ndo_xdp_xmit then): each lost frame counts
  once as xmit_no_xdp on gwb-h2, in the named drop reason and in
  aigwctl's text; the agent warns at start (with the fix) and when the
  counter grows;
- with host2's eth0 down, the frames are lost at the send: xmit_down;
- with xdp_pass back on host2's eth0, traffic flows and nothing more is
  counted.
Only gwb's own ports are counted: gwa and core, whose agents' tracing
programs see the same kernel events, count nothing."""

import time

import e2e_common as E
from e2e_common import B

T = E.T
N = 20


def port(stats, name):
    for p in stats.get("ports", []):
        if p["name"] == name:
            return p
    raise AssertionError(f"port {name} not in stats: {stats.get('ports')}")


def xmit_total(stats):
    return sum(p["xmit_no_xdp"] + p["xmit_down"] + p["xmit_failed"] for p in stats["ports"])


class TransmitDrops(E.TopoCase):
    MODES = {"gwa": "aigw", "core": "aigw", "gwb": "aigw"}
    # Permanent neighbours: they outlive host2's eth0 going down (test_3),
    # so the programs still redirect into gwb-h2 then.
    STATIC_NEIGH = True

    def host2_no_xdp(self):
        t = self.topo
        t.ip("host2", "link", "set", "dev", "eth0", "xdp", "off")
        t.run("host2", ["ethtool", "-K", "eth0", "gro", "off"])

    def host2_xdp_pass(self):
        """host2's eth0 back as the lab made it: up, its default routes
        (a link going down takes them), xdp_pass attached."""
        t = self.topo
        t.ip("host2", "link", "set", "dev", "eth0", "up")
        t.ip("host2", "route", "replace", "default", "via", B.gw4, "dev", "eth0")
        t.ip("host2", "-6", "route", "replace", "default", "via", B.gw6, "dev", "eth0")
        t.ip("host2", "link", "set", "dev", "eth0", "xdpdrv", "off")
        t.ip("host2", "link", "set", "dev", "eth0", "xdpdrv", "obj", t.xdp_pass_obj, "sec", "xdp")

    def lose(self, count=N):
        """host1 pings host2 count times; none may be answered."""
        ok, out = self.topo.ping("host1", B.host4(), count=count, interval=0.05, wait=1)
        self.assertFalse(ok, f"pings were answered:\n{out}")

    def test_1_no_xdp_on_the_peer(self):
        t = self.topo
        self.assertPing("host1", B.host4())
        self.host2_no_xdp()
        try:
            before = self.all_stats()
            self.lose()
            after = self.all_stats()
        finally:
            self.host2_xdp_pass()
        b, a = before["gwb"], after["gwb"]
        lost = port(a, B.cust_if)["xmit_no_xdp"] - port(b, B.cust_if)["xmit_no_xdp"]
        self.assertEqual(lost, N, f"gwb {B.cust_if} xmit_no_xdp{self.diag(['gwb'])}")
        self.assertEqual(E.drops(a).get("xmit_no_xdp", 0) - E.drops(b).get("xmit_no_xdp", 0), N)
        # The program counted them as forwarded: this is what was missing.
        self.assertGreaterEqual(E.delta(b, a, B.wan_if, "fwd"), N)
        for g in ("gwa", "core"):
            self.assertEqual(xmit_total(after[g]), xmit_total(before[g]),
                             f"{g} counted another namespace's transmit drops")
        text = t.ctl_raw("gwb", "stats").stdout
        self.assertRegex(text, rf"{B.cust_if}\s+{port(a, B.cust_if)['xmit_no_xdp']}\s+0\s+0")
        # The agent's periodic check (once a second) reports the growth.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "redirected frames were not sent" not in t.log_text("gwb"):
            time.sleep(0.2)
        self.assertIn(f"{B.cust_if}: ", t.log_text("gwb"))
        self.assertIn("redirected frames were not sent", t.log_text("gwb"))
        self.assertPing("host1", B.host4())

    def test_2_warning_at_start(self):
        """An agent starting with a port that takes no redirected frames says
        so, with the fix; once the peer has XDP again, a restart is quiet."""
        t = self.topo
        self.host2_no_xdp()
        try:
            self.assertEqual(t.stop_agent("gwb", unpin=False), 0)
            t.start_agent("gwb")
            log = t.log_text("gwb")
            self.assertIn(f"{B.cust_if}: the kernel takes no XDP_REDIRECT frames", log)
            self.assertIn("ethtool -K PEER gro on", log)
        finally:
            self.host2_xdp_pass()
        self.assertEqual(t.stop_agent("gwb", unpin=False), 0)
        t.start_agent("gwb")
        self.assertNotIn("takes no XDP_REDIRECT frames",
                         t.log_text("gwb").split("aigwd start on gwb")[-1])
        self.assertPing("host1", B.host4())

    def test_3_peer_down(self):
        t = self.topo
        self.assertPing("host1", B.host4())
        before = t.stats("gwb")
        t.sysctl("host2", [("net.ipv6.conf.eth0.keep_addr_on_down", 1)])
        t.ip("host2", "link", "set", "dev", "eth0", "down")
        try:
            self.lose()
            after = t.stats("gwb")
        finally:
            self.host2_xdp_pass()
        p_b, p_a = port(before, B.cust_if), port(after, B.cust_if)
        lost = sum(p_a[k] - p_b[k] for k in ("xmit_no_xdp", "xmit_down", "xmit_failed"))
        fwd = E.delta(before, after, B.wan_if, "fwd")
        # Every frame redirected into the port with its peer down is lost
        # and counted.
        self.assertGreaterEqual(fwd, N, f"gwb did not redirect{self.diag(['gwb'])}")
        self.assertEqual(lost, fwd, f"fwd {fwd}, counted lost {lost}{self.diag(['gwb'])}")
        self.assertEqual(p_a["xmit_down"] - p_b["xmit_down"], lost)
        self.assertPing("host1", B.host4(), count=5)

    def test_4_nothing_counted_when_delivered(self):
        before = self.topo.stats("gwb")
        self.assertPing("host1", B.host4(), count=10)
        self.assertPing("host1", B.host6(), count=10)
        after = self.topo.stats("gwb")
        self.assertEqual(xmit_total(after), xmit_total(before))


if __name__ == "__main__":
    E.main()
