#!/usr/bin/python3
"""The two-site aigw lab in network namespaces, reusable by the lab CLI
(deploy/lab/lab.py) and the end-to-end tests (tests/e2e/).

    host1 ---- gwa ==== core ==== gwb ---- host2
       site A      SRv6 WAN (IPv6)      site B

Every namespace is named <prefix><node> (the lab uses "aigw-lab-", the tests
"aigwt-e2e-<pid>-"). Nothing is created in, attached to or routed in the root
network namespace: veth pairs are created directly inside the namespaces.

Each gateway (gwa, core, gwb) runs either aigw ("aigw": aigwd attaches the
XDP programs, the config is generated here) or the Linux kernel's own SRv6
("kernel": `ip route ... encap seg6` headend with `ip sr tunsrc`, `seg6local`
endpoints). The core may also be "transit": a plain IPv6 router without
SRv6, for kernels that have no SRv6 routes; the gateways' policies then go
straight to the peer's SID. Kernel-only nodes and the hosts get the trivial
xdp_pass program
on every veth end, because XDP_REDIRECT into a veth only delivers when the
peer end has an XDP program.

Addressing (documentation / ULA space only):

    host1 eth0     192.0.2.10/24 (+.11 .12)  2001:db8:1::10/64 (+::11 ::12)
    gwa   gwa-h1   192.0.2.1/24              2001:db8:1::1/64       customer
    gwa   gwa-core fc00:a1::1/64  -- core-gwa fc00:a1::2/64         WAN
    core  core-gwb fc00:b1::2/64  -- gwb-core fc00:b1::1/64         WAN
    gwb   gwb-h2   198.51.100.1/24           2001:db8:2::1/64       customer
    host2 eth0     198.51.100.10/24 (+.11 .12) 2001:db8:2::10/64 (+::11 ::12)
    lo: gwa fc00:a::1/128, core fc00:c::1/128, gwb fc00:b::1/128
    locators: gwa fc00:a::/48, core fc00:c::/48, gwb fc00:b::/48 (static routes)

SIDs (same function numbers on both sites, X = a or b):

    fc00:X::e    End
    fc00:X::d4   End.DX4  next hop = the site host's .10
    fc00:X::d6   End.DX6  next hop = the site host's ::10
    fc00:X::f6   End.DT6  table 254      (f: FIB lookup)
    fc00:X::d46  End.DT46 table 254      (aigw only: the kernel needs a VRF)
    fc00:c::e    End on core

Default steering (see default_policies / default_kernel_routes): towards an
aigw peer everything uses its End.DT46 SID (segments [fc00:c::e,
fc00:X::d46]); towards a kernel peer IPv4 uses End.DX4, IPv6 End.DT6, and the
peer host's ::11 End.DX6. A kernel headend towards an aigw peer additionally
steers the peer host's .11 to End.DX4, ::11 to End.DX6 and ::12 to End.DT6,
so that every aigw decapsulation behaviour sees kernel-encapsulated traffic.
"""

import atexit
import contextlib
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

NODES = ("host1", "gwa", "core", "gwb", "host2")
GATEWAYS = ("gwa", "core", "gwb")
# "transit" (core only): a plain IPv6 router, no SRv6 End, for kernels
# without SRv6 routes; the gateways' policies then skip the core's SID.
MODES = ("aigw", "kernel", "transit")

# (node, ifname, node, ifname): veth pairs.
LINKS = (
    ("host1", "eth0", "gwa", "gwa-h1"),
    ("gwa", "gwa-core", "core", "core-gwa"),
    ("core", "core-gwb", "gwb", "gwb-core"),
    ("gwb", "gwb-h2", "host2", "eth0"),
)

CORE_LOOPBACK = "fc00:c::1"
CORE_LOCATOR = "fc00:c::/48"
CORE_END = "fc00:c::e"

# SID function -> behaviour (see the module docstring).
SID_FUNCS = {"e": "End", "d4": "End.DX4", "d6": "End.DX6", "f6": "End.DT6", "d46": "End.DT46"}
KERNEL_BEHAVIORS = ("End", "End.DX4", "End.DX6", "End.DT6")


class Site:
    """One customer site: a host behind a gateway."""

    def __init__(self, gw, host, letter, peer, cust_if, wan_if, core_if, net4, net6, link6):
        self.gw, self.host, self.letter, self.peer = gw, host, letter, peer
        self.cust_if, self.wan_if, self.core_if = cust_if, wan_if, core_if
        self.net4, self.net6, self.link6 = net4, net6, link6

    # Addresses.
    def host4(self, n=10):
        return f"{self.net4}.{n}"

    def host6(self, n=10):
        return f"{self.net6}::{n}"

    @property
    def gw4(self):
        return f"{self.net4}.1"

    @property
    def gw6(self):
        return f"{self.net6}::1"

    @property
    def prefix4(self):
        return f"{self.net4}.0/24"

    @property
    def prefix6(self):
        return f"{self.net6}::/64"

    @property
    def loopback(self):
        return f"fc00:{self.letter}::1"

    @property
    def locator(self):
        return f"fc00:{self.letter}::/48"

    @property
    def wan_addr(self):  # the gateway's end of its core link
        return f"{self.link6}::1"

    @property
    def core_addr(self):  # core's end of the link
        return f"{self.link6}::2"

    def sid(self, func):
        return f"fc00:{self.letter}::{func}"


SITES = {
    "gwa": Site("gwa", "host1", "a", "gwb", "gwa-h1", "gwa-core", "core-gwa",
                "192.0.2", "2001:db8:1", "fc00:a1"),
    "gwb": Site("gwb", "host2", "b", "gwa", "gwb-h2", "gwb-core", "core-gwb",
                "198.51.100", "2001:db8:2", "fc00:b1"),
}
HOST_SITE = {"host1": SITES["gwa"], "host2": SITES["gwb"]}


class LabError(RuntimeError):
    pass


# --------------------------------------------------------------- utilities
def log(msg):
    if os.environ.get("AIGW_LAB_QUIET") != "1":
        print(f"[lab] {msg}", file=sys.stderr, flush=True)


def run(cmd, check=True, timeout=60, input=None, capture=True):
    """Runs a command (list); returns CompletedProcess with text output."""
    try:
        cp = subprocess.run(cmd, input=input, timeout=timeout, text=True,
                            stdout=subprocess.PIPE if capture else None,
                            stderr=subprocess.PIPE if capture else None)
    except subprocess.TimeoutExpired as e:
        raise LabError(f"timeout after {timeout}s: {' '.join(cmd)}") from e
    if check and cp.returncode != 0:
        raise LabError(f"command failed (rc {cp.returncode}): {' '.join(cmd)}\n"
                       f"stdout: {(cp.stdout or '').strip()}\nstderr: {(cp.stderr or '').strip()}")
    return cp


class KernelLacksSrv6(LabError):
    """The running kernel has no SRv6 lightweight tunnels (seg6/seg6local
    routes: CONFIG_IPV6_SEG6_LWTUNNEL), so no node can run in "kernel" mode."""


_SRV6_PROBE = {}  # the answer of kernel_srv6(), once per process


def kernel_srv6():
    """(True, "") when the kernel accepts seg6local routes, else (False, the
    kernel's answer). Probed in a throw-away namespace, removed at once."""
    if "answer" not in _SRV6_PROBE:
        ns = f"aigwt-seg6probe-{os.getpid()}"
        run(["ip", "netns", "add", ns])
        try:
            cp = run(["ip", "-n", ns, "-6", "route", "add", "fc00:ffff::e/128", "encap",
                      "seg6local", "action", "End", "dev", "lo"], check=False)
            _SRV6_PROBE["answer"] = (cp.returncode == 0, (cp.stderr or "").strip())
        finally:
            run(["ip", "netns", "del", ns], check=False)
    return _SRV6_PROBE["answer"]


def require_kernel_srv6(why):
    ok, answer = kernel_srv6()
    if not ok:
        raise KernelLacksSrv6(
            f"{why}: this kernel has no SRv6 routes (seg6/seg6local lightweight tunnels, "
            f"CONFIG_IPV6_SEG6_LWTUNNEL); `ip route add ... encap seg6local` says: {answer}")


def netns_list():
    cp = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in (cp.stdout or "").splitlines() if line.strip()]


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_pid(pid, timeout=5.0, sig=signal.SIGTERM):
    """Terminates one process by id (SIGTERM, then SIGKILL after timeout)."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            wpid, _ = os.waitpid(pid, os.WNOHANG)
            if wpid == pid:
                return
        except ChildProcessError:
            if not pid_alive(pid):
                return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def ns_pids(ns):
    cp = run(["ip", "netns", "pids", ns], check=False)
    return [int(p) for p in (cp.stdout or "").split() if p.isdigit()]


def mounts_under(path_prefix):
    out = []
    with open("/proc/self/mounts") as f:
        for line in f:
            mnt = line.split()[1].replace("\\040", " ")
            if mnt.startswith(path_prefix):
                out.append(mnt)
    return sorted(out, key=len, reverse=True)


def yaml_dump(obj, indent=0):
    """Block YAML for dicts/lists of str/int/bool (strings double-quoted)."""
    pad = "  " * indent

    def scalar(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            return json.dumps(v)
        raise TypeError(f"cannot dump {type(v).__name__}")

    def flow(v):
        return "[" + ", ".join(scalar(x) for x in v) + "]"

    lines = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, dict):
                lines.append(f"{pad}{k}:")
                lines.append(yaml_dump(v, indent + 1))
            elif isinstance(v, list) and v and isinstance(v[0], dict):
                lines.append(f"{pad}{k}:")
                lines.append(yaml_dump(v, indent + 1))
            elif isinstance(v, list):
                lines.append(f"{pad}{k}: {flow(v)}")
            else:
                lines.append(f"{pad}{k}: {scalar(v)}")
    elif isinstance(obj, list):
        for item in obj:
            sub = yaml_dump(item, indent + 1).splitlines()
            first = sub[0].lstrip()
            lines.append(f"{pad}- {first}")
            lines.extend(sub[1:])
    else:
        lines.append(pad + scalar(obj))
    return "\n".join(lines)


# ------------------------------------------------------ registry & signals
_LIVE = []


def _teardown_all():
    for topo in list(_LIVE):
        with contextlib.suppress(Exception):
            topo.down()


def _on_signal(signum, _frame):
    _teardown_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


_HANDLERS_INSTALLED = False


def install_cleanup_handlers():
    """Tear every live topology down at exit and on SIGTERM/SIGINT/SIGHUP."""
    global _HANDLERS_INSTALLED
    if _HANDLERS_INSTALLED:
        return
    _HANDLERS_INSTALLED = True
    atexit.register(_teardown_all)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, _on_signal)


# ----------------------------------------------------------- default plans
def default_policies(site, peer_mode, via_core=True):
    """aigw policies of `site` towards its peer (a list of YAML dicts);
    via_core: through the core's End first (not when the core is transit)."""
    peer = SITES[site.peer]
    seg = lambda f: [CORE_END, peer.sid(f)] if via_core else [peer.sid(f)]  # noqa: E731
    if peer_mode == "aigw":
        return [{"name": f"to-site-{peer.letter}", "prefixes": [peer.prefix4, peer.prefix6],
                 "source": site.loopback, "segments": seg("d46")}]
    return [
        {"name": f"to-site-{peer.letter}-v4", "prefixes": [peer.prefix4],
         "source": site.loopback, "segments": seg("d4")},
        {"name": f"to-site-{peer.letter}-v6", "prefixes": [peer.prefix6],
         "source": site.loopback, "segments": seg("f6")},
        {"name": f"to-site-{peer.letter}-dx6", "prefixes": [peer.host6(11) + "/128"],
         "source": site.loopback, "segments": seg("d6")},
    ]


def default_sids(site):
    """aigw SIDs of a site gateway (all behaviours, see module docstring)."""
    return [
        {"sid": site.sid("d46") + "/128", "behavior": "End.DT46", "table": 254},
        {"sid": site.sid("f6") + "/128", "behavior": "End.DT6", "table": 254},
        {"sid": site.sid("d4") + "/128", "behavior": "End.DX4", "nexthop": site.host4(),
         "interface": site.cust_if},
        {"sid": site.sid("d6") + "/128", "behavior": "End.DX6", "nexthop": site.host6(),
         "interface": site.cust_if},
        {"sid": site.sid("e") + "/128", "behavior": "End"},
    ]


def default_kernel_routes(site, peer_mode):
    """Kernel headend of `site`: [(prefix, [segments])]."""
    peer = SITES[site.peer]
    seg = lambda f: [CORE_END, peer.sid(f)]  # noqa: E731
    if peer_mode == "aigw":
        return [
            (peer.prefix4, seg("d46")),
            (peer.host4(11) + "/32", seg("d4")),
            (peer.prefix6, seg("d46")),
            (peer.host6(11) + "/128", seg("d6")),
            (peer.host6(12) + "/128", seg("f6")),
        ]
    return [
        (peer.prefix4, seg("d4")),
        (peer.prefix6, seg("f6")),
        (peer.host6(11) + "/128", seg("d6")),
    ]


def default_kernel_sids(site):
    """Kernel seg6local SIDs of a site gateway: [(sid, behaviour, args)]."""
    return [
        (site.sid("d4"), "End.DX4", f"nh4 {site.host4()} dev {site.cust_if}"),
        (site.sid("d6"), "End.DX6", f"nh6 {site.host6()} dev {site.cust_if}"),
        (site.sid("f6"), "End.DT6", f"table 254 dev {site.wan_if}"),
        (site.sid("e"), "End", f"dev {site.wan_if}"),
    ]


# ---------------------------------------------------------------- topology
class Topology:
    """Builds, runs and tears down one instance of the two-site lab.

    modes: {"gwa": "aigw"|"kernel", "core": ..., "gwb": ...}
    build_dir: a CMake build dir (agent/aigwd, agent/aigwctl, bpf/*.bpf.o);
    aigwd / aigwctl / bpf_dir override the paths individually.
    workdir: configs, logs, control sockets and the bpffs mount; a fresh temp
    dir by default (removed by down() unless keep_workdir).
    """

    def __init__(self, prefix, modes=None, build_dir=None, aigwd=None, aigwctl=None,
                 bpf_dir=None, workdir=None, mtu=1500, xdp_mode="native", log_level="info",
                 static_neigh=False, keep_workdir=False):
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", prefix):
            raise LabError(f"bad prefix {prefix!r}")
        self.prefix = prefix
        self.modes = {"gwa": "aigw", "core": "aigw", "gwb": "aigw"}
        self.modes.update(modes or {})
        for g, m in self.modes.items():
            if g not in GATEWAYS or m not in MODES or (m == "transit" and g != "core"):
                raise LabError(f"bad mode {g}={m}")
        build_dir = build_dir or os.environ.get("AIGW_BUILD_DIR")
        self.aigwd = aigwd or os.environ.get("AIGWD") or (
            build_dir and os.path.join(build_dir, "agent", "aigwd"))
        self.aigwctl = aigwctl or os.environ.get("AIGWCTL") or (
            build_dir and os.path.join(build_dir, "agent", "aigwctl"))
        self.bpf_dir = bpf_dir or os.environ.get("AIGW_BPF_DIR") or (
            build_dir and os.path.join(build_dir, "bpf"))
        self.mtu = mtu
        self.xdp_mode = xdp_mode
        self.log_level = log_level
        self.static_neigh = static_neigh
        self.keep_workdir = keep_workdir
        self._own_workdir = workdir is None
        self.workdir = workdir
        self.agents = {}      # node -> Popen
        self.procs = []       # other Popens we started
        self.configs = {}     # node -> config dict (aigw nodes)
        self.kernel_routes = {}  # node -> [(prefix, segs)] (kernel site gateways)
        self.is_up = False
        self._created = []    # namespaces this instance created (down() removes them)

    # ---------------------------------------------------------------- names
    def ns(self, node):
        return f"{self.prefix}{node}"

    def namespaces(self):
        return [self.ns(n) for n in NODES]

    def path(self, name):
        return os.path.join(self.workdir, name)

    def socket_path(self, node):
        return self.path(f"{node}.sock")

    def config_path(self, node):
        return self.path(f"{node}.yaml")

    def log_path(self, node):
        return self.path(f"{node}.log")

    @property
    def bpffs(self):
        return self.path("bpffs")

    def pin_path(self, node):  # as aigwd sees it (bpffs bound on /sys/fs/bpf)
        return f"/sys/fs/bpf/{self.prefix}{node}"

    def pin_dir_outside(self, node):  # the same directory seen from here
        return os.path.join(self.bpffs, f"{self.prefix}{node}")

    def aigw_nodes(self):
        return [g for g in GATEWAYS if self.modes[g] == "aigw"]

    @property
    def xdp_pass_obj(self):
        return os.path.join(self.bpf_dir or "", "xdp_pass.bpf.o")

    # ------------------------------------------------------------ commands
    def ip(self, node, *args, check=True):
        return run(["ip", "-n", self.ns(node), *args], check=check)

    def ip_batch(self, node, lines):
        if not lines:
            return
        run(["ip", "-n", self.ns(node), "-batch", "-"], input="\n".join(lines) + "\n")

    def run(self, node, cmd, check=True, timeout=60, input=None):
        """Runs cmd (list) inside node's namespace."""
        return run(["ip", "netns", "exec", self.ns(node), *cmd], check=check,
                   timeout=timeout, input=input)

    def popen(self, node, cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw):
        """Starts cmd inside node's namespace; down() kills it."""
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(node), *cmd], stdout=stdout,
                             stderr=stderr, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def stop_proc(self, p, timeout=5.0, sig=signal.SIGTERM):
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
                p.wait(5)
        for f in (p.stdout, p.stderr, p.stdin):
            if f is not None:
                with contextlib.suppress(Exception):
                    f.close()
        if p in self.procs:
            self.procs.remove(p)

    def sysctl(self, node, settings):
        args = [f"{k}={v}" for k, v in settings]
        self.run(node, ["sysctl", "-q", "-w", *args])

    # ------------------------------------------------------------------ up
    def up(self, start_agents=True):
        """Builds the topology (and starts aigwd on the aigw nodes)."""
        _LIVE.append(self)
        install_cleanup_handlers()
        try:
            self._up(start_agents)
        except BaseException:
            self.down()
            raise
        return self

    def _check_prereqs(self):
        if os.geteuid() != 0:
            raise LabError("needs root (network namespaces, BPF)")
        if not os.path.isfile(self.xdp_pass_obj):
            raise LabError(f"missing {self.xdp_pass_obj} (build the project first)")
        if self.aigw_nodes():
            for f in (self.aigwd, self.aigwctl):
                if not f or not os.access(f, os.X_OK):
                    raise LabError(f"missing executable {f} (build aigwd/aigwctl first)")
        kernel = [g for g, m in self.modes.items() if m == "kernel"]
        if kernel:
            require_kernel_srv6(f"{', '.join(kernel)} in kernel mode")
        clash = [n for n in self.namespaces() if n in netns_list()]
        if clash:
            raise LabError(f"namespaces already exist: {', '.join(clash)} "
                           f"(deploy/lab/lab.py cleanup --prefix {self.prefix})")

    def _up(self, start_agents):
        t0 = time.monotonic()
        self._check_prereqs()
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix=self.prefix)
        os.makedirs(self.workdir, exist_ok=True)
        self.is_up = True
        for n in NODES:
            run(["ip", "netns", "add", self.ns(n)])
            self._created.append(self.ns(n))
        self._sysctls_global()
        self._links()
        self._addresses_and_routes()
        self._xdp_pass()
        for g in ("gwa", "gwb"):
            if self.modes[g] == "kernel":
                self.setup_kernel_site(g)
        if self.modes["core"] == "kernel":
            self.ip("core", "-6", "route", "add", CORE_END + "/128", "encap", "seg6local", "action",
                    "End", "dev", "core-gwa")
        if self.aigw_nodes():
            os.makedirs(self.bpffs, exist_ok=True)
            run(["mount", "-t", "bpf", "bpf", self.bpffs])
            for g in self.aigw_nodes():
                self.configs[g] = self.default_config(g)
                self.write_config(g)
            if start_agents:
                for g in self.aigw_nodes():
                    self.start_agent(g)
        log(f"topology {self.prefix}* up in {time.monotonic() - t0:.1f}s "
            f"(gwa={self.modes['gwa']} core={self.modes['core']} gwb={self.modes['gwb']})")

    def _sysctls_global(self):
        for n in NODES:
            router = n in GATEWAYS
            s = [("net.ipv6.conf.all.accept_dad", 0), ("net.ipv6.conf.default.accept_dad", 0),
                 ("net.ipv6.conf.all.dad_transmits", 0), ("net.ipv6.conf.default.dad_transmits", 0),
                 ("net.ipv6.conf.all.accept_ra", 0), ("net.ipv6.conf.default.accept_ra", 0),
                 ("net.ipv4.conf.all.rp_filter", 0), ("net.ipv4.conf.default.rp_filter", 0),
                 ("net.ipv6.conf.all.seg6_enabled", 1), ("net.ipv6.conf.default.seg6_enabled", 1),
                 ("net.ipv4.ip_forward", 1 if router else 0),
                 ("net.ipv6.conf.all.forwarding", 1 if router else 0)]
            self.sysctl(n, s)
            self.ip(n, "link", "set", "lo", "up")

    def _mac(self, link_idx, side):
        return f"02:a1:9e:00:{link_idx + 1:02x}:{side + 1:02x}"

    def _links(self):
        for i, (na, ia, nb, ib) in enumerate(LINKS):
            run(["ip", "-n", self.ns(na), "link", "add", ia, "address", self._mac(i, 0),
                 "mtu", str(self.mtu), "type", "veth", "peer", "name", ib,
                 "address", self._mac(i, 1), "mtu", str(self.mtu), "netns", self.ns(nb)])
        for na, ia, nb, ib in LINKS:
            for n, ifn in ((na, ia), (nb, ib)):
                self.sysctl(n, [(f"net.ipv6.conf.{ifn}.accept_dad", 0),
                                (f"net.ipv6.conf.{ifn}.seg6_enabled", 1),
                                (f"net.ipv4.conf.{ifn}.rp_filter", 0)])
                # No TX checksum offload: a veth hands its peer CHECKSUM_PARTIAL
                # packets (L4 checksum not yet computed), and XDP_REDIRECT drops
                # that state, so redirected TCP/UDP would arrive with bad
                # checksums. Packets from a real NIC are always complete.
                self.run(n, ["ethtool", "-K", ifn, "tx", "off"])

    def _addresses_and_routes(self):
        cmds = {n: [] for n in NODES}
        for g, site in SITES.items():
            h = site.host
            cmds[h] += [f"addr add {site.host4(n)}/24 dev eth0" for n in (10, 11, 12)]
            # Secondaries deprecated: never chosen as source, still answered.
            cmds[h] += [f"addr add {site.host6(10)}/64 dev eth0 nodad"]
            cmds[h] += [f"addr add {site.host6(n)}/64 dev eth0 nodad preferred_lft 0"
                        for n in (11, 12)]
            cmds[h] += ["link set eth0 up",
                        f"route add default via {site.gw4} dev eth0",
                        f"route add default via {site.gw6} dev eth0"]
            cmds[g] += [f"addr add {site.gw4}/24 dev {site.cust_if}",
                        f"addr add {site.gw6}/64 dev {site.cust_if} nodad",
                        f"addr add {site.wan_addr}/64 dev {site.wan_if} nodad",
                        f"addr add {site.loopback}/128 dev lo nodad",
                        f"link set {site.cust_if} up", f"link set {site.wan_if} up"]
            peer = SITES[site.peer]
            for dst in (CORE_LOCATOR, peer.locator, f"{peer.link6}::/64"):
                cmds[g].append(f"route add {dst} via {site.core_addr} dev {site.wan_if}")
            cmds["core"] += [f"addr add {site.core_addr}/64 dev {site.core_if} nodad",
                             f"link set {site.core_if} up",
                             f"route add {site.locator} via {site.wan_addr} dev {site.core_if}"]
        cmds["core"].append(f"addr add {CORE_LOOPBACK}/128 dev lo nodad")
        if self.static_neigh:
            for g, site in SITES.items():
                ci = 0 if g == "gwa" else 3
                hm = self._mac(ci, 0 if g == "gwa" else 1)   # host end
                gm = self._mac(ci, 1 if g == "gwa" else 0)   # gateway end
                for n in (10, 11, 12):
                    cmds[g] += [f"neigh replace {site.host4(n)} lladdr {hm} dev {site.cust_if} nud permanent",
                                f"neigh replace {site.host6(n)} lladdr {hm} dev {site.cust_if} nud permanent"]
                cmds[site.host] += [f"neigh replace {site.gw4} lladdr {gm} dev eth0 nud permanent",
                                    f"neigh replace {site.gw6} lladdr {gm} dev eth0 nud permanent"]
                li = 1 if g == "gwa" else 2
                gw_end = self._mac(li, 0 if g == "gwa" else 1)
                core_end = self._mac(li, 1 if g == "gwa" else 0)
                cmds[g].append(f"neigh replace {site.core_addr} lladdr {core_end} dev {site.wan_if} nud permanent")
                cmds["core"].append(f"neigh replace {site.wan_addr} lladdr {gw_end} dev {site.core_if} nud permanent")
        for n in NODES:
            self.ip_batch(n, cmds[n])

    def _xdp_pass(self):
        """xdp_pass on host ends and on every veth end of a kernel-only node."""
        targets = [("host1", "eth0"), ("host2", "eth0")]
        for na, ia, nb, ib in LINKS:
            for n, ifn in ((na, ia), (nb, ib)):
                if n in GATEWAYS and self.modes[n] in ("kernel", "transit"):
                    targets.append((n, ifn))
        for n, ifn in targets:
            self.ip(n, "link", "set", "dev", ifn, "xdpdrv", "obj", self.xdp_pass_obj, "sec", "xdp")

    # ------------------------------------------------------ kernel gateways
    def setup_kernel_site(self, g, routes=None, sids=None):
        """Kernel SRv6 on a site gateway: tunnel source, headend routes and
        seg6local SIDs (defaults: default_kernel_routes / default_kernel_sids)."""
        site = SITES[g]
        peer_mode = self.modes[site.peer]
        routes = default_kernel_routes(site, peer_mode) if routes is None else routes
        sids = default_kernel_sids(site) if sids is None else sids
        self.ip(g, "sr", "tunsrc", "set", site.loopback)
        lines = []
        for sid, beh, args in sids:
            lines.append(f"route add {sid}/128 encap seg6local action {beh} {args}")
        for pfx, segs in routes:
            lines.append(f"route add {pfx} encap seg6 mode encap segs {','.join(segs)} "
                         f"dev {site.wan_if}")
        self.ip_batch(g, lines)
        self.kernel_routes[g] = list(routes)
        # The kernel encapsulates forwarded packets on input, before the
        # forwarding MTU check: a packet too big for the tunnel is dropped and
        # the Packet Too Big goes to the tunnel source (the gateway itself), so
        # the hosts never learn the path MTU. Give the site's host the tunnel
        # MTU towards the peer site, as a kernel-headend deployment has to.
        peer = SITES[site.peer]
        overhead = 40 + 8 + 16 * max(len(segs) for _, segs in routes)
        mtu = self.mtu - overhead
        self.ip_batch(site.host, [
            f"route replace {peer.prefix4} via {site.gw4} dev eth0 mtu lock {mtu}",
            f"route replace {peer.prefix6} via {site.gw6} dev eth0 mtu lock {mtu}"])

    def kernel_route_replace(self, g, pfx, segs, mode="encap"):
        site = SITES[g]
        fam = "-6" if ":" in pfx else "-4"
        self.ip(g, fam, "route", "replace", pfx, "encap", "seg6", "mode", mode, "segs",
                ",".join(segs), "dev", site.wan_if)

    # ------------------------------------------------------- aigw configs
    def default_config(self, node):
        cfg = {
            "agent": {"socket": self.socket_path(node), "socket_mode": "0600",
                      "pin_path": self.pin_path(node), "log_level": self.log_level},
            "datapath": {"xdp_mode": self.xdp_mode, "hop_limit": 64, "tcp_mss_clamp": "auto"},
            # Per-node usage records and accounting state in the lab's work
            # dir: never the host's /var/lib/aigw, never shared between nodes.
            "accounting": {"state_dir": self.path(f"{node}-state"),
                           "usage_dir": self.path(f"{node}-usage")},
        }
        if node == "core":
            cfg["interfaces"] = [{"name": "core-gwa", "role": "wan"},
                                 {"name": "core-gwb", "role": "wan"}]
            cfg["policies"] = []
            cfg["sids"] = [{"sid": CORE_END + "/128", "behavior": "End"}]
        else:
            site = SITES[node]
            cfg["interfaces"] = [{"name": site.cust_if, "role": "customer"},
                                 {"name": site.wan_if, "role": "wan"}]
            cfg["policies"] = default_policies(site, self.modes[site.peer],
                                               via_core=self.modes["core"] != "transit")
            cfg["sids"] = default_sids(site)
        return cfg

    def render_config(self, cfg, node=None):
        head = f"# generated by deploy/lab/topology.py ({self.prefix}{node or ''})\n"
        body = {k: v for k, v in cfg.items() if not (isinstance(v, list) and not v)}
        # An empty list is written as [] so that the key stays explicit.
        text = yaml_dump(body)
        for k, v in cfg.items():
            if isinstance(v, list) and not v:
                text += f"\n{k}: []"
        return head + text + "\n"

    def write_config(self, node, cfg=None, raw=None):
        """Writes node's config file (cfg dict, or raw text); returns the path."""
        if cfg is not None:
            self.configs[node] = cfg
        text = raw if raw is not None else self.render_config(self.configs[node], node)
        tmp = self.config_path(node) + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config_path(node))
        return self.config_path(node)

    # --------------------------------------------------------------- agents
    def _bpffs_exec(self, node, cmd):
        """cmd inside node's namespace with the run's bpffs on /sys/fs/bpf
        (`ip netns exec` remounts /sys, which hides any host bpffs)."""
        script = 'mount --bind "$0" /sys/fs/bpf || exit 125; exec "$@"'
        return ["ip", "netns", "exec", self.ns(node), "sh", "-c", script, self.bpffs, *cmd]

    def start_agent(self, node, timeout=30.0, extra_args=()):
        """Starts aigwd in node's namespace and waits for its control socket."""
        if node in self.agents and self.agents[node].poll() is None:
            raise LabError(f"aigwd already running on {node}")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path(node))
        logf = open(self.log_path(node), "ab")
        logf.write(f"==== {time.strftime('%H:%M:%S')} aigwd start on {node}\n".encode())
        logf.flush()
        p = subprocess.Popen(self._bpffs_exec(node, [self.aigwd, "--config",
                                                     self.config_path(node), *extra_args]),
                             stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                             start_new_session=True)
        logf.close()
        self.agents[node] = p
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise LabError(f"aigwd on {node} exited with {p.returncode}:\n"
                               f"{self.log_tail(node)}")
            if os.path.exists(self.socket_path(node)):
                cp = self.ctl_raw(node, "status", timeout=5)
                if cp.returncode == 0:
                    return p
            time.sleep(0.1)
        raise LabError(f"aigwd on {node}: no control socket after {timeout}s:\n"
                       f"{self.log_tail(node)}")

    def agent_pid(self, node):
        p = self.agents.get(node)
        return p.pid if p and p.poll() is None else None

    def stop_agent(self, node, timeout=15.0, unpin=True):
        """SIGTERM (clean stop: the XDP programs stay attached and forward);
        SIGKILL after timeout. unpin: then `aigwd --detach` and `--unpin`.
        Returns aigwd's exit code (None if it had to be killed)."""
        p = self.agents.pop(node, None)
        rc = None
        if p is not None:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    rc = p.wait(timeout)
                except subprocess.TimeoutExpired:
                    log(f"aigwd on {node} ignored SIGTERM for {timeout}s: killing")
                    p.kill()
                    p.wait(5)
            else:
                rc = p.returncode
        if unpin:
            self.unpin(node)
        return rc

    def signal_agent(self, node, sig=signal.SIGHUP):
        p = self.agents[node]
        if p.poll() is not None:
            raise LabError(f"aigwd on {node} is not running (rc {p.returncode})")
        p.send_signal(sig)

    def aigwd_cmd(self, node, *args, timeout=30):
        """`aigwd ARGS --config <node's config>` in node's namespace, with
        the run's bpffs (no agent is started): the CompletedProcess."""
        return run(self._bpffs_exec(node, [self.aigwd, *args, "--config", self.config_path(node)]),
                   check=False, timeout=timeout)

    def unpin(self, node):
        """Detach the programs the stopped agent left attached, then remove
        its pins."""
        d = self.pin_dir_outside(node)
        if not os.path.isdir(d):
            return
        if self.aigwd and os.access(self.aigwd, os.X_OK) and os.path.exists(self.config_path(node)):
            self.aigwd_cmd(node, "--detach")
            self.aigwd_cmd(node, "--unpin")
        if os.path.isdir(d):
            shutil.rmtree(d, ignore_errors=True)

    def log_tail(self, node, lines=40):
        try:
            with open(self.log_path(node), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_text(self, node):
        try:
            with open(self.log_path(node), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # --------------------------------------------------------------- aigwctl
    def ctl_raw(self, node, *args, json_out=False, timeout=30):
        cmd = [self.aigwctl] + (["-j"] if json_out else []) + ["-S", self.socket_path(node),
                                                               *args]
        return self.run(node, cmd, check=False, timeout=timeout)

    def ctl(self, node, *args, timeout=30):
        """aigwctl -j ... in node's namespace; parsed JSON (raises on rc != 0)."""
        cp = self.ctl_raw(node, *args, json_out=True, timeout=timeout)
        if cp.returncode != 0:
            raise LabError(f"aigwctl {' '.join(args)} on {node}: rc {cp.returncode}: "
                           f"{cp.stderr.strip()} {cp.stdout.strip()}")
        out = cp.stdout.strip()
        return json.loads(out) if out else None

    def stats(self, node):
        return self.ctl(node, "stats", "show")

    # --------------------------------------------------------------- traffic
    def ping(self, node, dst, count=3, interval=0.2, wait=2, size=None, timeout=30, src=None,
             extra=()):
        """Pings dst from node; returns (ok, output). ICMP errors are listed
        (no -q) when extra is given."""
        cmd = ["ping", "-n", "-c", str(count), "-i", str(interval), "-W", str(wait)]
        if not extra:
            cmd.append("-q")
        if size is not None:
            cmd += ["-s", str(size)]
        if src:
            cmd += ["-I", src]
        cmd += list(extra)
        cmd.append(dst)
        cp = self.run(node, cmd, check=False, timeout=timeout)
        return cp.returncode == 0, (cp.stdout or "") + (cp.stderr or "")

    def wait_ping(self, node, dst, attempts=10):
        """Pings until one answer (neighbour resolution, agent warm-up)."""
        out = ""
        for _ in range(attempts):
            ok, out = self.ping(node, dst, count=1, wait=1)
            if ok:
                return True, out
        return False, out

    def wait_listen(self, node, port, proto="tcp", timeout=10.0):
        flag = "-Hltn" if proto == "tcp" else "-Hlun"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cp = self.run(node, ["ss", flag, f"sport = :{port}"], check=False)
            if cp.stdout.strip():
                return True
            time.sleep(0.1)
        return False

    def iperf3(self, dst, port=5201, udp=False, seconds=3, nbytes=None, rate=None,
               length=None, server="host2", client="host1", timeout=None, extra=()):
        """Bounded iperf3 run; returns the client's JSON result."""
        srv = self.popen(server, ["iperf3", "-s", "-1", "-p", str(port), "-B", dst])
        try:
            if not self.wait_listen(server, port):
                raise LabError(f"iperf3 server on {server} did not listen")
            cmd = ["iperf3", "-c", dst, "-p", str(port), "-J", "--connect-timeout", "5000"]
            cmd += ["-n", str(nbytes)] if nbytes else ["-t", str(seconds)]
            if udp:
                # -w: a 2 MiB socket buffer at both ends (the default ~200 KiB
                # overflows when the receiver is briefly starved of CPU).
                cmd += ["-u", "-b", str(rate or "10M"), "-w", "2M"]
            elif rate:
                cmd += ["-b", str(rate)]
            if length:
                cmd += ["-l", str(length)]
            cmd += list(extra)
            cp = self.run(client, cmd, check=False, timeout=timeout or (seconds + 30))
            try:
                res = json.loads(cp.stdout)
            except ValueError:
                raise LabError(f"iperf3 gave no JSON (rc {cp.returncode}): "
                               f"{cp.stdout[-500:]} {cp.stderr[-500:]}")
            if "error" in res:
                raise LabError(f"iperf3 error: {res['error']}")
            return res
        finally:
            self.stop_proc(srv, timeout=3)

    # ----------------------------------------------------------------- down
    def down(self):
        """Stops everything this topology started and removes it (idempotent)."""
        if self in _LIVE:
            _LIVE.remove(self)
        if not self.is_up and not self._created:
            return
        for p in list(self.procs):
            with contextlib.suppress(Exception):
                self.stop_proc(p, timeout=2)
        for node in list(self.agents):
            with contextlib.suppress(Exception):
                self.stop_agent(node, unpin=True)
        remove_namespaces(self._created)
        self._created = []
        if self.workdir and (self._own_workdir or self.is_up):
            remove_workdir(self.workdir, rm=self._own_workdir and not self.keep_workdir)
        self.is_up = False


# ---------------------------------------------------------------- cleanup
def remove_namespaces(names):
    """Deletes the given namespaces that exist, after killing (by id) the
    processes running inside them. Returns the names removed."""
    existing = set(netns_list())
    removed = []
    for ns in names:
        if ns not in existing:
            continue
        for pid in ns_pids(ns):
            if pid != os.getpid():
                kill_pid(pid, timeout=3)
        r = run(["ip", "netns", "del", ns], check=False)
        if r.returncode == 0:
            removed.append(ns)
        else:
            log(f"cannot delete {ns}: {r.stderr.strip()}")
    return removed


def remove_workdir(d, rm=True):
    """Unmounts whatever is mounted under d (the run's bpffs), removes d."""
    for m in mounts_under(os.path.realpath(d) + "/"):
        run(["umount", "-l", m], check=False)
    if rm and os.path.isdir(d):
        shutil.rmtree(d, ignore_errors=True)


def _owner_alive(name, prefix):
    """For names like <prefix><pid>-...: is <pid> a live process other than us?"""
    m = re.match(re.escape(prefix) + r"(\d+)-", name)
    return bool(m) and int(m.group(1)) != os.getpid() and pid_alive(int(m.group(1)))


def cleanup_prefix(prefix, skip_live_owners=False, dirs=True):
    """Removes leftovers of earlier runs: namespaces named <prefix>* (their
    processes killed by id first), and work dirs <tmp>/<prefix>* and
    /run/<prefix>* with what is mounted under them (bpffs, hence pins).

    skip_live_owners: names of the form <prefix><pid>-... whose pid is alive
    belong to a running test process and are left alone.
    Returns (namespaces removed, dirs removed)."""
    if not prefix or len(prefix) < 4:
        raise LabError("refusing to clean up with a prefix shorter than 4 characters")
    names = [n for n in netns_list() if n.startswith(prefix)
             and not (skip_live_owners and _owner_alive(n, prefix))]
    removed = remove_namespaces(names)
    gone = []
    if dirs:
        for base in (tempfile.gettempdir(), "/run"):
            with contextlib.suppress(OSError):
                for e in sorted(os.listdir(base)):
                    full = os.path.join(base, e)
                    if (e.startswith(prefix) and os.path.isdir(full)
                            and not (skip_live_owners and _owner_alive(e, prefix))):
                        remove_workdir(full)
                        gone.append(full)
    return removed, gone
