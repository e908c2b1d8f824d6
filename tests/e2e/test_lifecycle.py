#!/usr/bin/python3
"""Agent lifecycle: SIGTERM is a clean stop that detaches the XDP programs;
the pinned maps keep counters and entries across a restart; `aigwd --unpin`
removes the pins; `aigwd --check` validates without touching anything."""

import os
import re

import e2e_common as E
from e2e_common import A, B

T = E.T


class AgentLifecycle(E.TopoCase):
    MODES = {"gwa": "aigw", "core": "aigw", "gwb": "aigw"}

    def xdp_ids(self, node, ifname):
        out = self.topo.ip(node, "-d", "link", "show", "dev", ifname).stdout
        m = re.search(r"prog/xdp id (\d+)", out) or re.search(r"xdp(?:/id:| id )(\d+)", out)
        return m.group(1) if m else None

    def test_01_check_mode(self):
        t = self.topo
        cp = t.run("gwa", [t.aigwd, "--check", "--config", t.config_path("gwa")], check=False)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        bad = t.path("bad.yaml")
        with open(bad, "w") as f:
            f.write(t.render_config(t.configs["gwa"], "gwa") + "bogus_key: 1\n")
        cp = t.run("gwa", [t.aigwd, "--check", "--config", bad], check=False)
        self.assertNotEqual(cp.returncode, 0, "aigwd --check accepted an unknown key")
        self.assertIn("bogus_key", cp.stdout + cp.stderr)

    def test_02_restart_keeps_counters_sigterm_detaches(self):
        t = self.topo
        self.assertPing("host1", B.host4(), count=5)
        enc1 = E.pkts(t.stats("gwa"), A.cust_if, "encap")
        self.assertGreaterEqual(enc1, 5)
        self.assertIsNotNone(self.xdp_ids("gwa", A.cust_if), "no XDP program on gwa-h1")

        rc = t.stop_agent("gwa", unpin=False)
        self.assertEqual(rc, 0, f"aigwd exit code after SIGTERM{self.diag(['gwa'])}")
        for ifn in (A.cust_if, A.wan_if):
            self.assertIsNone(self.xdp_ids("gwa", ifn), f"XDP still attached to {ifn} after SIGTERM")
        self.assertTrue(os.path.isdir(t.pin_dir_outside("gwa")), "pins gone after a plain stop")
        self.assertNoPing("host1", B.host4())   # gwa's kernel has no route: aigw is the path

        t.start_agent("gwa")
        enc2 = E.pkts(t.stats("gwa"), A.cust_if, "encap")
        self.assertGreaterEqual(enc2, enc1, "counters did not survive the restart")
        t.wait_ping("host1", B.host4(), attempts=3)
        self.assertPing("host1", B.host4(), count=3)
        self.assertGreaterEqual(E.pkts(t.stats("gwa"), A.cust_if, "encap"), enc1 + 3)

    def test_03_unpin_removes_pins(self):
        t = self.topo
        t.stop_agent("gwa", unpin=False)
        self.assertTrue(os.path.isdir(t.pin_dir_outside("gwa")))
        cp = T.run(t._bpffs_exec("gwa", [t.aigwd, "--unpin", "--config", t.config_path("gwa")]),
                   check=False)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        left = os.listdir(t.pin_dir_outside("gwa")) if os.path.isdir(t.pin_dir_outside("gwa")) else []
        self.assertEqual(left, [], "aigwd --unpin left pins behind")
        # A fresh start from nothing works and forwards.
        t.start_agent("gwa")
        t.wait_ping("host1", B.host4(), attempts=3)
        self.assertPing("host1", B.host4())

    def test_04_one_agent_per_datapath(self):
        """A second aigwd (same config; or same pin path with its own socket)
        and `aigwd --unpin` are refused while an agent runs, before they touch
        anything: the first agent keeps its ports, pins and traffic."""
        t = self.topo
        if not t.agent_pid("gwa"):
            t.start_agent("gwa")
        pid = t.agent_pid("gwa")
        ids = {ifn: self.xdp_ids("gwa", ifn) for ifn in (A.cust_if, A.wan_if)}
        other = t.path("second.yaml")
        with open(other, "w") as f:
            f.write(t.render_config(t.configs["gwa"], "gwa").replace(
                t.socket_path("gwa"), t.path("second.sock")))
        for cfg, lock in ((t.config_path("gwa"), "control socket"),
                          (other, "datapath pinned at")):
            cp = T.run(t._bpffs_exec("gwa", [t.aigwd, "--config", cfg]), check=False, timeout=30)
            out = cp.stdout + cp.stderr
            self.assertNotEqual(cp.returncode, 0, f"a second aigwd started ({cfg}): {out}")
            self.assertIn("in use by another aigwd", out)
            self.assertIn(lock, out)
            self.assertIn(f"pid {pid}", out, "the refusal names the running agent")
        cp = T.run(t._bpffs_exec("gwa", [t.aigwd, "--unpin", "--config", t.config_path("gwa")]),
                   check=False, timeout=30)
        self.assertNotEqual(cp.returncode, 0, "--unpin removed a running agent's pins")
        self.assertIn("in use by another aigwd", cp.stdout + cp.stderr)
        self.assertTrue(os.listdir(t.pin_dir_outside("gwa")), "pins gone")
        self.assertEqual({ifn: self.xdp_ids("gwa", ifn) for ifn in ids}, ids,
                         "the refused instance changed the first agent's programs")
        self.assertPing("host1", B.host4(), count=3)

    def test_05_attached_is_read_from_the_kernel(self):
        t = self.topo
        if not t.agent_pid("gwa"):
            t.start_agent("gwa")
        show = {i["name"]: i["attached"] for i in t.ctl("gwa", "interface", "show")}
        self.assertTrue(show[A.wan_if], show)
        for mode in ("xdp", "xdpgeneric"):
            t.ip("gwa", "link", "set", "dev", A.wan_if, mode, "off", check=False)
        show = {i["name"]: i["attached"] for i in t.ctl("gwa", "interface", "show")}
        self.assertFalse(show[A.wan_if], f"status reports a program someone removed: {show}")
        self.assertTrue(show[A.cust_if], show)
        t.stop_agent("gwa", unpin=False)
        t.start_agent("gwa")
        t.wait_ping("host1", B.host4(), attempts=3)


if __name__ == "__main__":
    E.main()
