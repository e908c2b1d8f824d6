#!/usr/bin/python3
"""Agent lifecycle: SIGTERM stops the agent and leaves the XDP programs
attached and forwarding (the next agent takes them over); the pinned maps
keep counters and entries across a restart; `aigwd --detach` takes aigw off
its ports and `aigwd --unpin` removes the pins, both refused while an agent
runs; `aigwd --check` validates without touching anything."""

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
        # Valid, but naming an interface this namespace does not have.
        missing = t.path("missing.yaml")
        cfg = dict(t.configs["gwa"])
        cfg["interfaces"] = cfg["interfaces"] + [{"name": "gwa-nosuch", "role": "wan"}]
        with open(missing, "w") as f:
            f.write(t.render_config(cfg, "gwa"))
        cp = t.run("gwa", [t.aigwd, "--check", "--config", missing], check=False)
        self.assertNotEqual(cp.returncode, 0, "aigwd --check accepted a missing interface")
        n = len(cfg["interfaces"]) - 1
        self.assertRegex(cp.stderr, rf"{re.escape(missing)}:\d+: interfaces\[{n}\]\.name: "
                         r"interface 'gwa-nosuch' does not exist")

    def test_02_stop_leaves_programs_forwarding(self):
        """SIGTERM stops the agent, not the datapath: the programs stay
        attached and forward with the pinned maps (customer traffic never
        reaches the kernel unencapsulated); the next agent replaces them
        atomically and its counters continue."""
        t = self.topo
        self.assertPing("host1", B.host4(), count=5)
        enc1 = E.pkts(t.stats("gwa"), A.cust_if, "encap")
        self.assertGreaterEqual(enc1, 5)
        ids = {ifn: self.xdp_ids("gwa", ifn) for ifn in (A.cust_if, A.wan_if)}
        self.assertNotIn(None, ids.values(), f"no XDP program on gwa: {ids}")

        rc = t.stop_agent("gwa", unpin=False)
        self.assertEqual(rc, 0, f"aigwd exit code after SIGTERM{self.diag(['gwa'])}")
        self.assertEqual({ifn: self.xdp_ids("gwa", ifn) for ifn in ids}, ids,
                         "a stopped agent changed the programs on its ports")
        self.assertIn("stay attached to 2 port(s)", t.log_tail("gwa", 5))
        self.assertTrue(os.path.isdir(t.pin_dir_outside("gwa")), "pins gone after a plain stop")
        # gwa's kernel has no route to B: only aigw's programs can answer.
        self.assertPing("host1", B.host4(), count=3)

        t.start_agent("gwa")
        now = {ifn: self.xdp_ids("gwa", ifn) for ifn in ids}
        self.assertNotIn(None, now.values(), now)
        for ifn in ids:
            self.assertNotEqual(now[ifn], ids[ifn], f"{ifn}: the new agent kept the old program")
        self.assertIn("taking over the aigw programs left attached on 2 port(s)", t.log_tail("gwa"))
        enc2 = E.pkts(t.stats("gwa"), A.cust_if, "encap")
        self.assertGreaterEqual(enc2, enc1 + 3, "the pings forwarded without an agent were not "
                                "counted, or the counters did not survive the restart")
        self.assertPing("host1", B.host4(), count=3)
        self.assertGreaterEqual(E.pkts(t.stats("gwa"), A.cust_if, "encap"), enc2 + 3)

    def test_03_detach_then_unpin(self):
        """`aigwd --detach` is the explicit way off the ports; `--unpin`
        refuses while programs are attached (they would keep maps no later
        agent could find)."""
        t = self.topo
        t.stop_agent("gwa", unpin=False)
        self.assertTrue(os.path.isdir(t.pin_dir_outside("gwa")))
        cp = t.aigwd_cmd("gwa", "--unpin")
        self.assertNotEqual(cp.returncode, 0, "--unpin removed the pins under attached programs")
        self.assertIn("aigwd --detach", cp.stdout + cp.stderr)
        self.assertTrue(os.listdir(t.pin_dir_outside("gwa")), "the refused --unpin removed pins")

        cp = t.aigwd_cmd("gwa", "--detach")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("detached from 2 port(s)", cp.stdout)
        for ifn in (A.cust_if, A.wan_if):
            self.assertIsNone(self.xdp_ids("gwa", ifn), f"XDP still attached to {ifn} after --detach")
        self.assertNoPing("host1", B.host4())
        cp = t.aigwd_cmd("gwa", "--detach")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("detached from 0 port(s)", cp.stdout)

        cp = t.aigwd_cmd("gwa", "--unpin")
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
        for verb in ("--unpin", "--detach"):
            cp = t.aigwd_cmd("gwa", verb)
            self.assertNotEqual(cp.returncode, 0, f"{verb} went ahead under a running agent")
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

    def test_06_failed_start_keeps_the_running_datapath(self):
        """A restart that fails (here: a configured port that vanished) keeps
        the programs it took over on the other ports: traffic continues."""
        t = self.topo
        if not t.agent_pid("gwa"):
            t.start_agent("gwa")
        t.stop_agent("gwa", unpin=False)
        ids = {ifn: self.xdp_ids("gwa", ifn) for ifn in (A.cust_if, A.wan_if)}
        good = t.configs["gwa"]
        bad = dict(good, interfaces=good["interfaces"] + [{"name": "gwa-nosuch", "role": "wan"}])
        t.write_config("gwa", bad)
        try:
            cp = t.aigwd_cmd("gwa", timeout=60)
            self.assertNotEqual(cp.returncode, 0, "aigwd started with a missing interface")
            self.assertIn("gwa-nosuch", cp.stdout + cp.stderr)
            now = {ifn: self.xdp_ids("gwa", ifn) for ifn in ids}
            self.assertNotIn(None, now.values(), f"the failed start left a port bare: {now}")
            self.assertPing("host1", B.host4(), count=3)
        finally:
            t.write_config("gwa", good)
        t.start_agent("gwa")
        t.wait_ping("host1", B.host4(), attempts=3)


if __name__ == "__main__":
    E.main()
