#!/usr/bin/python3
"""(f) `aigwctl policy add/del` at runtime: the change shows in `config show`
and `policy show`, and takes effect on traffic (a prefix only reachable
through the tunnel starts and stops working)."""

import e2e_common as E
from e2e_common import A, B

T = E.T
NEW4, NEW6 = E.EXTRA4, E.EXTRA6
PFX4, PFX6 = E.EXTRA_PFX4, E.EXTRA_PFX6


class RuntimePolicy(E.TopoCase):

    @classmethod
    def configure(cls, topo):
        # host2 owns addresses in prefixes nobody steers yet.
        E.add_extra_prefix(topo)

    def policy_names(self):
        cfg, yaml = self.running_config("gwa")
        return {p["name"]: p for p in cfg.get("policies", [])}, yaml

    def encap(self):
        return E.pkts(self.topo.stats("gwa"), A.cust_if, "encap")

    def test_policy_add_then_del(self):
        t = self.topo
        # Before: no policy, gwa's kernel has no route either.
        self.assertNoPing("host1", NEW4)
        self.assertNoPing("host1", NEW6)

        cp = t.ctl_raw("gwa", "policy", "add", "extra", "prefix", f"{PFX4},{PFX6}",
                       "segs", f"{T.CORE_END},{B.sid('d46')}", "src", A.loopback)
        self.assertEqual(cp.returncode, 0, f"policy add: {cp.stdout}{cp.stderr}{self.diag(['gwa'])}")
        pols, yaml = self.policy_names()
        self.assertIn("extra", pols, f"config show after add: {list(pols)}")
        self.assertEqual(sorted(pols["extra"]["prefixes"]), sorted([PFX4, PFX6]))
        self.assertEqual(pols["extra"]["segments"], [T.CORE_END, B.sid("d46")])
        self.assertIn("extra", yaml)
        self.assertIn(PFX4, yaml)
        shown = t.ctl("gwa", "policy", "show", "extra")
        self.assertEqual([p["name"] for p in shown], ["extra"])
        self.assertEqual(t.ctl("gwa", "status")["policies"], 2)

        before = self.encap()
        self.assertPing("host1", NEW4, count=3)
        self.assertPing("host1", NEW6, count=3)
        self.assertGreaterEqual(self.encap() - before, 6, f"not encapsulated{self.diag()}")

        # Adding it again is refused; the running policy stays.
        cp = t.ctl_raw("gwa", "policy", "add", "extra", "prefix", PFX4,
                       "segs", T.CORE_END, "src", A.loopback)
        self.assertEqual(cp.returncode, 2, f"duplicate add: rc {cp.returncode} {cp.stdout}{cp.stderr}")

        cp = t.ctl_raw("gwa", "policy", "del", "extra")
        self.assertEqual(cp.returncode, 0, f"policy del: {cp.stdout}{cp.stderr}")
        pols, yaml = self.policy_names()
        self.assertNotIn("extra", pols)
        self.assertNotIn(PFX4, yaml)
        before = self.encap()
        self.assertNoPing("host1", NEW4)
        self.assertNoPing("host1", NEW6)
        self.assertEqual(self.encap() - before, 0, "traffic still encapsulated after del")
        # The original policy is untouched throughout.
        self.assertPing("host1", B.host4())
        self.assertPing("host1", B.host6())

        cp = t.ctl_raw("gwa", "policy", "del", "extra")
        self.assertEqual(cp.returncode, 2, f"del of a missing policy: rc {cp.returncode}")

    def test_policy_add_overlapping_prefix_refused(self):
        # A prefix may appear in one policy per VRF.
        cp = self.topo.ctl_raw("gwa", "policy", "add", "dup", "prefix", B.prefix4,
                               "segs", T.CORE_END, "src", A.loopback)
        self.assertEqual(cp.returncode, 2, f"rc {cp.returncode} {cp.stdout}{cp.stderr}")
        self.assertNotIn("dup", self.policy_names()[0])
        self.assertPing("host1", B.host4())


if __name__ == "__main__":
    E.main()
