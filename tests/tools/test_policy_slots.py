#!/usr/bin/python3
"""Policy slots through reloads and a restart (issue 8 K1, K2), through
aigw-dp-run on the real kernel, read back from the pinned aigw_policies map:

- a reload that renames every policy (same tunnels) is accepted when the map
  holds the set once but not twice: a renamed policy keeps its slot;
- a removed policy's slot is invalid as soon as the apply returns;
- released slots are free for the very next reload, also right after a
  restart (no timed quarantine);
- a reload that needs more fresh slots than are free is refused with the
  numbers, and the running policies stay.

The map has 4 entries: slot 0 is never used, so 3 policies fill it.

Run: test_policy_slots.py --runner build/tests/tools/aigw-dp-run --source-dir .
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "datapath"))
import dptest  # noqa: E402  (Netns, Runner)

TOPOLOGY = """
link add cust0 address 02:00:00:00:0c:00 type veth peer name cust0p
link add wan0 address 02:00:00:00:0a:00 type veth peer name wan0p
link set lo up
link set cust0p up
link set wan0p up
link set cust0 up
link set wan0 up
addr add 192.0.2.1/25 dev cust0
addr add fc00:12::1/64 dev wan0 nodad
neigh add fc00:12::2 lladdr 02:00:00:00:00:02 dev wan0 nud permanent
route add fc00:b::/48 via fc00:12::2 dev wan0
"""


def config(policies):
    """policies: (name, tunnel number, hop limit) each; tunnel i steers
    198.51.100.(16 i)/28 over segment fc00:b::(i)."""
    text = """datapath:
  map_sizes:
    policies: 4
interfaces:
  - name: cust0
    role: customer
  - name: wan0
    role: wan
policies:
"""
    for name, i, hop in policies:
        text += f"""  - name: {name}
    prefixes: [198.51.100.{16 * i}/28]
    source: fc00:a::1
    segments: [fc00:b::{i}]
    hop_limit: {hop}
"""
    return text if policies else text.replace("policies:\n", "policies: []\n")


class PolicySlots(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="aigwt-slots-")
        # A bpffs of our own outside the runner's mount namespace: the pins
        # survive the runner, as an agent's do across a restart.
        cls.bpffs = os.path.join(cls.tmp, "bpffs")
        os.mkdir(cls.bpffs)
        subprocess.run(["mount", "-t", "bpf", "aigwt-bpf", cls.bpffs], check=True)
        with dptest._cleanup_lock:  # also on a signal or a failed setUp
            dptest._cleanups.append(cls.unmount)
        cls.ns = dptest.Netns("slots")
        cls.ns.ip_batch(TOPOLOGY)
        cls.runner = None

    @classmethod
    def tearDownClass(cls):
        if cls.runner:
            cls.runner.close()
        cls.ns.close()
        cls.unmount()

    @classmethod
    def unmount(cls):
        subprocess.run(["umount", "-l", cls.bpffs], check=False, stderr=subprocess.DEVNULL)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def start(self, policies):
        if PolicySlots.runner:
            PolicySlots.runner.close()
        PolicySlots.runner = dptest.Runner(self.ns, config(policies), "slots", bpffs=self.bpffs)

    def apply(self, policies, expect_error=False):
        path = os.path.join(self.tmp, "next.yaml")
        with open(path, "w") as f:
            f.write(config(policies))
        a = self.runner.request({"cmd": "apply", "config": path})
        (self.assertIn if expect_error else self.assertNotIn)("error", a, a)
        return a

    def valid(self):
        a = self.runner.request({"cmd": "policy_slots"})
        self.assertNotIn("error", a, a)
        self.assertEqual(a["max_entries"], 4)
        return {e["slot"]: e for e in a["valid"]}

    def test_reloads_and_restart(self):
        self.start([("p1", 1, 40), ("p2", 2, 40), ("p3", 3, 40)])
        full = self.valid()
        self.assertEqual(sorted(full), [1, 2, 3])

        # K1: every policy renamed, the tunnels the same: accepted, and the
        # slots (so the prefixes and counters) stay.
        self.apply([("q1", 1, 40), ("q2", 2, 40), ("q3", 3, 40)])
        self.assertEqual(self.valid(), full, "a rename rewrote policy slots")

        # K2: removed policies' slots are invalid once the apply returns.
        self.apply([("q1", 1, 40)])
        left = self.valid()
        self.assertEqual(len(left), 1, f"released slots still valid: {left}")

        # Released slots are free for the very next reload: two new tunnels.
        self.apply([("q1", 1, 40), ("r2", 4, 41), ("r3", 5, 41)])
        self.assertEqual(len(self.valid()), 3)

        # More fresh slots than are free: refused with the numbers; the
        # running policies stay in the map.
        before = self.valid()
        a = self.apply([("q1", 1, 40), ("r2", 4, 41), ("r3", 5, 41), ("r4", 6, 41)],
                       expect_error=True)
        self.assertIn("map_sizes.policies", a["error"])
        self.assertEqual(self.valid(), before)

        # A restart with the same tunnels renamed adopts the slots left in
        # the map; the slot it does not need (r3's) is released at once, so a
        # reload right after the restart can use it.
        self.start([("t1", 1, 40), ("t2", 4, 41)])
        self.assertEqual(len(self.valid()), 2, "the restart left an unused slot valid")
        self.apply([("t1", 1, 40), ("t2", 4, 41), ("u3", 7, 42)])
        self.assertEqual(len(self.valid()), 3)


if __name__ == "__main__":
    dptest.main()
