"""Shared pieces of the aigw end-to-end tests (tests/e2e/test_*.py).

Paths come from the environment (ctest sets them, see CMakeLists.txt):
  AIGWD, AIGWCTL      the programs under test
  AIGW_BPF_DIR        the build's bpf/ (xdp_pass.bpf.o for the host ends)
  AIGW_BUILD_DIR      alternative: a build dir holding agent/ and bpf/
  AIGW_E2E_KEEP=1     keep each topology's work dir (configs, aigwd logs,
                      captures) under /tmp after the run
Every topology uses namespaces aigwt-e2e-<pid>-<node> and is removed in
tearDownClass, at exit and on SIGTERM/SIGINT; a class's setUpClass first
removes leftovers of crashed earlier runs (deploy/lab/lab.py cleanup).
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LAB = os.path.join(REPO, "deploy", "lab")
sys.path.insert(0, LAB)
import topology as T  # noqa: E402

PY = "/usr/bin/python3"
FLOWTOOLS = os.path.join(HERE, "flowtools.py")
PREFIX_BASE = "aigwt-e2e-"
A, B = T.SITES["gwa"], T.SITES["gwb"]


def prefix():
    return f"{PREFIX_BASE}{os.getpid()}-"


def cleanup_stale():
    """Leftovers of a crashed earlier run (pid in the name no longer alive)."""
    cp = subprocess.run([PY, os.path.join(LAB, "lab.py"), "cleanup", "--prefix", PREFIX_BASE],
                        text=True, capture_output=True, timeout=120)
    if cp.returncode != 0:
        raise RuntimeError(f"lab.py cleanup failed: {cp.stderr}")
    if "removed 0 namespaces" not in cp.stdout:
        print(f"[e2e] {cp.stdout.strip()}", file=sys.stderr)


def require_env(need_agent=True):
    if os.geteuid() != 0:
        raise RuntimeError("the e2e tests need root (network namespaces, XDP)")
    missing = [t for t in ("ip", "ping", "iperf3", "tshark", "ss", "ethtool")
               if not shutil.which(t)]
    if missing:
        raise RuntimeError(f"missing tools: {' '.join(missing)} (deploy/install-deps.sh)")


# ------------------------------------------------------------------ capture
@contextlib.contextmanager
def capture(topo, node, iface, bpf_filter, pcap, seconds=60):
    """tshark on node's iface writing pcap for at most `seconds`: the block
    runs once tshark is capturing; on leaving, tshark is stopped (SIGINT,
    then killed) and the file is complete."""
    errpath = pcap + ".err"
    err = open(errpath, "w")
    cap = topo.popen(node, ["tshark", "-q", "-n", "-i", iface, "-f", bpf_filter, "-w", pcap,
                            "-a", f"duration:{seconds}"], stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with open(errpath) as f:
                if "Capturing on" in f.read():
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"tshark on {node} {iface} did not start capturing")
        time.sleep(0.5)
        yield cap
    finally:
        if cap.poll() is None:
            cap.send_signal(signal.SIGINT)
        try:
            cap.wait(15)
        except subprocess.TimeoutExpired:
            topo.stop_proc(cap)
        err.close()
        if cap in topo.procs:
            topo.procs.remove(cap)


# ------------------------------------------------------------------ stats
def iface(stats, name):
    for i in stats["interfaces"]:
        if i["name"] == name:
            return i
    raise AssertionError(f"interface {name} not in stats: {[i['name'] for i in stats['interfaces']]}")


def pkts(stats, name, counter):
    return iface(stats, name)[counter]["packets"]


def drops(stats):
    return {d["reason"]: d["packets"] for d in stats["drops"] if d["packets"]}


def events(stats):
    return {e["event"]: e["packets"] for e in stats["events"] if e["packets"]}


def event(stats, name):
    return next((e["packets"] for e in stats["events"] if e["event"] == name), 0)


def total_drops(stats):
    return sum(d["packets"] for d in stats["drops"]) + sum(
        i["drop"]["packets"] for i in stats["interfaces"])


def delta(before, after, name, counter):
    return pkts(after, name, counter) - pkts(before, name, counter)


def nonzero(stats):
    """Compact view of a stats object for failure messages."""
    out = {}
    for i in stats["interfaces"]:
        out[i["name"]] = {k: v["packets"] for k, v in i.items()
                          if isinstance(v, dict) and v.get("packets")}
    out["drops"] = drops(stats)
    out["events"] = events(stats)
    return json.dumps(out)


# ------------------------------------------------------------------ site B
# Addresses of host2 that no policy steers at first: a prefix only a policy
# added by the test reaches (gwb routes it to host2; End.DT46 looks the
# inner destination up in table 254).
EXTRA4, EXTRA6 = "203.0.113.10", "2001:db8:3::10"
EXTRA_PFX4, EXTRA_PFX6 = "203.0.113.0/24", "2001:db8:3::/64"


def add_extra_prefix(topo):
    # On lo, so that they are never picked as the source of host2's traffic.
    topo.ip("host2", "addr", "add", EXTRA4 + "/32", "dev", "lo")
    topo.ip("host2", "addr", "add", EXTRA6 + "/128", "dev", "lo", "nodad")
    topo.ip("gwb", "route", "add", EXTRA_PFX4, "via", B.host4(), "dev", B.cust_if)
    topo.ip("gwb", "route", "add", EXTRA_PFX6, "via", B.host6(), "dev", B.cust_if)


# ------------------------------------------------------------------ base
class TopoCase(unittest.TestCase):
    """One topology per test class (modes from MODES)."""

    MODES = {"gwa": "aigw", "core": "aigw", "gwb": "aigw"}
    # What a kernel-mode node becomes on a kernel without SRv6 routes, said
    # in the output: None, the test is about the kernel's SRv6 and is
    # skipped there; "aigw"; or, for the core, "transit" (a plain IPv6
    # router: packet captures on its links still see every frame, and the
    # gateways' policies skip its End).
    KERNEL_FALLBACK = None
    STATIC_NEIGH = False
    START_AGENTS = True
    WARM_UP = True
    topo = None

    @classmethod
    def configure(cls, topo):
        """Hook: change topo.configs / kernel routes before the agents start."""

    @classmethod
    def setUpClass(cls):
        require_env()
        cleanup_stale()
        t0 = time.monotonic()
        cls.topo = T.Topology(prefix(), modes=cls.modes(), static_neigh=cls.STATIC_NEIGH,
                              keep_workdir=os.environ.get("AIGW_E2E_KEEP") == "1")
        try:
            cls.topo.up(start_agents=False)
            cls.configure(cls.topo)
            for g in cls.topo.aigw_nodes():
                cls.topo.write_config(g)
            if cls.START_AGENTS:
                for g in cls.topo.aigw_nodes():
                    cls.topo.start_agent(g)
            if cls.WARM_UP and cls.START_AGENTS:
                cls.warm_up()
        except BaseException:
            cls.tearDownClass()
            raise
        print(f"\n[e2e] {cls.__name__}: topology ready in {time.monotonic() - t0:.1f}s "
              f"({cls.topo.workdir})", file=sys.stderr)

    @classmethod
    def modes(cls):
        """MODES, or what this kernel allows of them (see KERNEL_FALLBACK)."""
        kernel = [g for g, m in cls.MODES.items() if m == "kernel"]
        if not kernel:
            return cls.MODES
        ok, answer = T.kernel_srv6()
        if ok:
            return cls.MODES
        why = (f"this kernel has no SRv6 routes (CONFIG_IPV6_SEG6_LWTUNNEL; `ip route ... encap "
               f"seg6local`: {answer})")
        if cls.KERNEL_FALLBACK is None:
            raise unittest.SkipTest(f"needs the kernel's SRv6 on {', '.join(kernel)}: {why}")
        modes = {g: (cls.KERNEL_FALLBACK if m == "kernel" else m) for g, m in cls.MODES.items()}
        print(f"\n[e2e] {cls.__name__}: {why}; runs as {modes}", file=sys.stderr)
        return modes

    @classmethod
    def warm_up(cls):
        """One answered ping per direction: neighbours resolved, path proven.
        Failures are left to the tests to report."""
        t = cls.topo
        for src, dst in (("host1", B.host4()), ("host1", B.host6()),
                         ("host2", A.host4()), ("host2", A.host6())):
            t.wait_ping(src, dst, attempts=4)

    @classmethod
    def tearDownClass(cls):
        if cls.topo is not None:
            if os.environ.get("AIGW_E2E_KEEP") == "1":
                print(f"[e2e] kept {cls.topo.workdir}", file=sys.stderr)
            cls.topo.down()
            cls.topo = None

    # -------------------------------------------------------------- helpers
    def stats(self, node):
        return self.topo.stats(node)

    def all_stats(self):
        return {g: self.topo.stats(g) for g in self.topo.aigw_nodes()}

    def running_config(self, node="gwa"):
        """(config object, YAML text) from `aigwctl config show`."""
        j = self.topo.ctl(node, "config", "show")
        cfg = j["config"] if isinstance(j, dict) and "config" in j else j
        cp = self.topo.ctl_raw(node, "config", "show")
        self.assertEqual(cp.returncode, 0, f"aigwctl config show: {cp.stderr}")
        return cfg, cp.stdout

    def diag(self, nodes=None):
        """aigwd logs and counters, appended to failure messages."""
        t = self.topo
        out = []
        for g in nodes or t.aigw_nodes():
            try:
                s = nonzero(t.stats(g))
            except Exception as e:  # noqa: BLE001
                s = f"(stats unavailable: {e})"
            out.append(f"--- {g} stats: {s}\n--- {g} aigwd log (tail):\n{t.log_tail(g, 15)}")
        return "\n" + "\n".join(out)

    def assertPing(self, src, dst, count=3, **kw):
        ok, out = self.topo.ping(src, dst, count=count, **kw)
        self.assertTrue(ok, f"ping {src} -> {dst} failed:\n{out}{self.diag()}")
        return out

    def assertNoPing(self, src, dst, count=2):
        ok, out = self.topo.ping(src, dst, count=count, wait=1)
        self.assertFalse(ok, f"ping {src} -> {dst} unexpectedly answered:\n{out}")

    def assertNoDrops(self, before, after, nodes=None):
        for g in nodes or after:
            b = drops(before[g]) if before else {}
            a = drops(after[g])
            grown = {k: a[k] - b.get(k, 0) for k in a if a[k] != b.get(k, 0)}
            self.assertEqual(grown, {}, f"{g}: drop counters grew{self.diag([g])}")

    def start_flow(self, node, *args):
        return self.topo.popen(node, [PY, FLOWTOOLS, *args])

    def finish_flow(self, p, timeout=60):
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.topo.stop_proc(p)
            self.fail(f"flowtools {p.args} did not finish in {timeout}s")
        if p in self.topo.procs:
            self.topo.procs.remove(p)
        if p.returncode != 0:
            self.fail(f"flowtools {p.args[4:]} failed (rc {p.returncode}):\n{err}")
        return json.loads(out.decode().strip().splitlines()[-1])

    def tcp_transfer(self, dst, nbytes, port=9100, seed=7, timeout=120):
        """nbytes host1 -> host2 over TCP; returns (sender, receiver) JSON."""
        rcv = self.start_flow("host2", "tcp-recv", "--bind", dst, "--port", str(port),
                              "--max-time", str(timeout))
        self.assertTrue(self.topo.wait_listen("host2", port), "tcp-recv did not listen")
        snd = self.start_flow("host1", "tcp-send", "--dst", dst, "--port", str(port),
                              "--bytes", str(nbytes), "--seed", str(seed))
        s = self.finish_flow(snd, timeout)
        r = self.finish_flow(rcv, 30)
        return s, r


# Exit status of a run whose every test was skipped (ctest SKIP_RETURN_CODE).
EXIT_ALL_SKIPPED = 77


def main():
    T.install_cleanup_handlers()
    r = unittest.main(verbosity=2, exit=False).result
    if not r.wasSuccessful():
        sys.exit(1)
    if r.skipped and r.testsRun <= len(r.skipped):
        sys.exit(EXIT_ALL_SKIPPED)
    sys.exit(0)
