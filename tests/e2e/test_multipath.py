#!/usr/bin/python3
"""Multipath policies in the lab (issue 11, item 1): a policy added at
runtime with `aigwctl policy add ... path ... weight ...` and two paths to
site B, one through the core's End (fc00:c::e) and one straight to gwb's
End.DT46 (the core routes it as plain IPv6). TCP connections to a prefix
only that policy reaches each arrive whole (sha256 at the receiver); both
paths carry some of them, as gwa's per-path counters, the flows' paths and
the core's own counters (End forwarded vs. handed to its kernel) show; the
per-path counters add up to the policy's."""

import time

import e2e_common as E
from e2e_common import A, B

T = E.T
NEW4, NEW6 = E.EXTRA4, E.EXTRA6
PFX4, PFX6 = E.EXTRA_PFX4, E.EXTRA_PFX6
CONNS4, CONNS6, NBYTES = 24, 8, 32 * 1024  # 2 equal paths: all on one has p = 2^-31
UDP_STREAMS, UDP_COUNT = 24, 300                # 3 s each at 100/s, concurrent


class Multipath(E.TopoCase):

    @classmethod
    def configure(cls, topo):
        E.add_extra_prefix(topo)  # host2 owns addresses nobody steers yet

    def core_counts(self):
        st = self.topo.stats("core")
        return E.pkts(st, A.core_if, "fwd"), E.pkts(st, A.core_if, "pass")

    def test_two_paths_carry_the_flows(self):
        t = self.topo
        via_core, direct = [T.CORE_END, B.sid("d46")], [B.sid("d46")]
        cp = t.ctl_raw("gwa", "policy", "add", "mp", "prefix", f"{PFX4},{PFX6}",
                       "path", ",".join(via_core), "weight", "1",
                       "path", ",".join(direct), "weight", "1", "src", A.loopback)
        self.assertEqual(cp.returncode, 0, f"policy add: {cp.stdout}{cp.stderr}{self.diag(['gwa'])}")
        pol = t.ctl("gwa", "policy", "show", "mp")[0]
        self.assertEqual([p["segments"] for p in pol["paths"]], [via_core, direct])
        self.assertNotEqual(pol["paths"][0]["slot"], pol["paths"][1]["slot"])

        core0 = self.core_counts()
        for i in range(CONNS4 + CONNS6):
            dst = NEW4 if i < CONNS4 else NEW6
            s, r = self.tcp_transfer(dst, NBYTES, port=9200 + i, seed=i + 1)
            self.assertEqual((r["bytes"], r["sha256"]), (NBYTES, s["sha256"]),
                             f"connection {i} to {dst}{self.diag()}")
        core1 = self.core_counts()

        pol = t.ctl("gwa", "policy", "show", "mp")[0]
        per_path = [p["packets"] for p in pol["paths"]]
        self.assertTrue(all(n > 0 for n in per_path), f"a path carried nothing: {per_path}")
        self.assertEqual(sum(per_path), pol["packets"], "the paths add up to the policy")
        # Path 0 crosses the core's End (XDP forwards it), path 1 only its
        # kernel's IPv6 forwarding (the endpoint program passes it).
        self.assertGreater(core1[0] - core0[0], 0, "nothing through the core's End")
        self.assertGreater(core1[1] - core0[1], 0, "nothing routed natively by the core")

        # Concurrent UDP streams (the TCP connections above ended, and ended
        # flows leave the table): each arrives whole; while they run, the
        # flow table names the path of each, and both paths are there.
        recv = [self.start_flow("host2", "udp-recv", "--bind", NEW4, "--port", str(9300 + i),
                                "--max-time", "30") for i in range(UDP_STREAMS)]
        for i in range(UDP_STREAMS):
            self.assertTrue(t.wait_listen("host2", 9300 + i, proto="udp"), f"udp-recv {i}")
        send = [self.start_flow("host1", "udp-send", "--dst", NEW4, "--port", str(9300 + i),
                                "--rate", "100", "--count", str(UDP_COUNT))
                for i in range(UDP_STREAMS)]
        time.sleep(2.5)  # > the flow tracker's 1 s tick
        flows = t.ctl("gwa", "flow", "show", "dst", PFX4, "dir", "out")
        flows = flows.get("flows", []) if isinstance(flows, dict) else flows
        ours = [f for f in flows if f.get("policy") == "mp" and f.get("proto") == 17]
        for p in send:
            self.finish_flow(p, 60)
        for i, p in enumerate(recv):
            r = self.finish_flow(p, 60)
            self.assertEqual((r["unique"], r["duplicates"]), (UDP_COUNT, 0), f"stream {i}: {r}")
        self.assertEqual(len(ours), UDP_STREAMS, f"a flow entry per stream: {flows}")
        self.assertEqual({f.get("path") for f in ours}, {0, 1}, f"the flows' paths: {ours}")

        cp = t.ctl_raw("gwa", "policy", "del", "mp")
        self.assertEqual(cp.returncode, 0, f"policy del: {cp.stdout}{cp.stderr}")
        self.assertNoPing("host1", NEW4)
        self.assertPing("host1", B.host4())


if __name__ == "__main__":
    E.main()
