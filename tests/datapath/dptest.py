"""Shared harness of the aigw datapath test suite.

The suite drives the real XDP programs (as loaded and programmed by the agent's
Datapath from a YAML configuration parsed by the real parser) through
`aigw-dp-run`, which runs one BPF_PROG_TEST_RUN per packet inside a network
namespace built here (interfaces, addresses, routes, permanent neighbours).

Expected outputs are built independently with scapy from the spec (RFC 8986,
RFC 8754, README "Configuration reference") and never from bytes produced by
the code under test. Only the outer IPv6 flow label of encapsulated packets is
masked (it is implementation-defined); it is checked separately.

Safety: everything happens in namespaces named aigwt-dp-<pid>-<tag>, deleted
on exit (finally + atexit + SIGTERM/SIGINT); maps are pinned on a private
bpffs mounted in the runner's own mount namespace (`ip netns exec` creates
one), under /sys/fs/bpf/aigwt-dp-<pid>-<tag>, and unpinned by the runner.
"""

import argparse
import atexit
import json
import logging
import os
import queue
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import unittest
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
# Some of these are re-exported for the test modules.
from scapy.all import (  # noqa: E402,F401
    ARP, Dot1Q, Ether, ICMP, IP, IPv6, Packet, Padding, Raw, TCP, UDP, raw, wrpcap)
from scapy.layers.inet6 import (  # noqa: E402,F401
    ICMPv6EchoRequest, IPv6ExtHdrSegmentRouting)

# --------------------------------------------------------------- arguments

RUNNER = os.environ.get("AIGW_DP_RUNNER", "")
SOURCE_DIR = os.environ.get("AIGW_SOURCE_DIR", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))


def main():
    """unittest.main() taking --runner PATH and --source-dir DIR first."""
    global RUNNER, SOURCE_DIR
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--runner")
    ap.add_argument("--source-dir")
    args, rest = ap.parse_known_args()
    if args.runner:
        RUNNER = args.runner
    if args.source_dir:
        SOURCE_DIR = args.source_dir
    if not RUNNER:
        for cand in ("build", "build-dp"):
            p = os.path.join(SOURCE_DIR, cand, "tests", "tools", "aigw-dp-run")
            if os.path.exists(p):
                RUNNER = p
                break
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


# --------------------------------------------------------------- topology
# One topology for every module (each module builds it in its own netns).

CUST0_MAC = "02:00:00:00:0c:00"   # customer port, untagged, VRF 0
CUST1_MAC = "02:00:00:00:0c:01"   # customer port, VLAN 100 only, VRF 7, mss_clamp false
WAN0_MAC = "02:00:00:00:0a:00"    # WAN port, MTU 1500
WAN1_MAC = "02:00:00:00:0b:00"    # WAN port, MTU 1400
HOST_MAC = "02:00:00:00:0c:10"    # a customer host sending to cust0/cust1
PEER_MAC = "02:00:00:00:00:02"    # the WAN router (fc00:12::2) sending to wan0

CUST0_IP4, CUST0_IP6 = "192.0.2.1", "2001:db8:1::1"
CUST1_IP4, CUST1_IP6 = "192.0.2.129", "2001:db8:1:1::1"
HOST_IP4, HOST_IP6 = "192.0.2.10", "2001:db8:1::10"
WAN0_IP6, WAN1_IP6 = "fc00:12::1", "fc00:13::1"
WAN1_MTU = 1400

# Neighbours (all PERMANENT) and their MACs.
NH_WAN0 = ("fc00:12::2", "02:00:00:00:00:02")    # fc00:b::/48 goes here
NH_WAN0_B = ("fc00:12::3", "02:00:00:00:00:03")  # unused by routes (decoy)
NH_WAN1 = ("fc00:13::2", "02:00:00:00:00:13")    # fc00:c::/48 goes here, End.X adjacency
NH_NONEIGH = "fc00:12::99"                       # fc00:e::/48 goes here: no neighbour entry
NH4_MAIN = ("192.0.2.2", "02:00:00:00:01:02")    # main: 203.0.113.0/24
NH4_T100 = ("192.0.2.3", "02:00:00:00:01:03")    # table 100: 203.0.113.0/24
NH4_DX4 = ("192.0.2.4", "02:00:00:00:01:04")     # End.DX4 next hop
NH4_DX4L = ("192.0.2.5", "02:00:00:00:01:05")    # locator+function End.DX4 next hop
NH6_MAIN = ("2001:db8:1::2", "02:00:00:00:01:62")  # main: 2001:db8:3::/64
NH6_T100 = ("2001:db8:1::3", "02:00:00:00:01:63")  # table 100: 2001:db8:3::/64
NH6_DX6 = ("2001:db8:1::4", "02:00:00:00:01:64")   # End.DX6 next hop
# ext0: a port aigw does not manage (not in the config, so not in aigw_tx).
EXT0_MAC = "02:00:00:00:0e:00"
NH_EXT0 = ("fc00:14::2", "02:00:00:00:00:14")     # fc00:9::/48 goes here
# Remote hosts behind the WAN (main and table 100 route them via NH_WAN0):
# where ICMP errors about decapsulated packets from them are routed.
REPLY4, REPLY6 = "198.51.100.10", "2001:db8:2::10"
# FIB exceptions: blackhole fc00:d::/48, unreachable fc00:d:1::/48, and in
# table 100 blackhole 203.0.113.128/25 and 2001:db8:3:0:8000::/65.

TOPOLOGY = f"""
link add cust0 address {CUST0_MAC} type veth peer name cust0p
link add cust1 address {CUST1_MAC} type veth peer name cust1p
link add wan0 address {WAN0_MAC} type veth peer name wan0p
link add wan1 address {WAN1_MAC} mtu {WAN1_MTU} type veth peer name wan1p
link set wan1p mtu {WAN1_MTU}
link add ext0 address {EXT0_MAC} type veth peer name ext0p
link set ext0p up
link set ext0 up
link set lo up
link set cust0p up
link set cust1p up
link set wan0p up
link set wan1p up
link set cust0 up
link set cust1 up
link set wan0 up
link set wan1 up
addr add {CUST0_IP4}/25 dev cust0
addr add {CUST0_IP6}/64 dev cust0 nodad
addr add {CUST1_IP4}/25 dev cust1
addr add {CUST1_IP6}/64 dev cust1 nodad
addr add {WAN0_IP6}/64 dev wan0 nodad
addr add {WAN1_IP6}/64 dev wan1 nodad
addr add fc00:14::1/64 dev ext0 nodad
neigh add {NH_EXT0[0]} lladdr {NH_EXT0[1]} dev ext0 nud permanent
neigh add {NH_WAN0[0]} lladdr {NH_WAN0[1]} dev wan0 nud permanent
neigh add {NH_WAN0_B[0]} lladdr {NH_WAN0_B[1]} dev wan0 nud permanent
neigh add {NH_WAN1[0]} lladdr {NH_WAN1[1]} dev wan1 nud permanent
neigh add {NH4_MAIN[0]} lladdr {NH4_MAIN[1]} dev cust0 nud permanent
neigh add {NH4_T100[0]} lladdr {NH4_T100[1]} dev cust0 nud permanent
neigh add {NH4_DX4[0]} lladdr {NH4_DX4[1]} dev cust0 nud permanent
neigh add {NH4_DX4L[0]} lladdr {NH4_DX4L[1]} dev cust0 nud permanent
neigh add {NH6_MAIN[0]} lladdr {NH6_MAIN[1]} dev cust0 nud permanent
neigh add {NH6_T100[0]} lladdr {NH6_T100[1]} dev cust0 nud permanent
neigh add {NH6_DX6[0]} lladdr {NH6_DX6[1]} dev cust0 nud permanent
route add fc00:b::/48 via {NH_WAN0[0]} dev wan0
route add fc00:c::/48 via {NH_WAN1[0]} dev wan1
route add fc00:e::/48 via {NH_NONEIGH} dev wan0
route add 203.0.113.0/24 via {NH4_MAIN[0]} dev cust0
route add 203.0.113.0/24 via {NH4_T100[0]} dev cust0 table 100
route add 2001:db8:3::/64 via {NH6_MAIN[0]} dev cust0
route add 2001:db8:3::/64 via {NH6_T100[0]} dev cust0 table 100
route add fc00:9::/48 via {NH_EXT0[0]} dev ext0
route add blackhole fc00:d::/48
route add unreachable fc00:d:1::/48
route add blackhole 203.0.113.128/25 table 100
route add blackhole 2001:db8:3:0:8000::/65 table 100
route add {REPLY4}/32 via inet6 {NH_WAN0[0]} dev wan0
route add {REPLY4}/32 via inet6 {NH_WAN0[0]} dev wan0 table 100
route add {REPLY6}/128 via {NH_WAN0[0]} dev wan0
route add {REPLY6}/128 via {NH_WAN0[0]} dev wan0 table 100
"""

SYSCTLS = [
    "net.ipv6.conf.all.forwarding=1", "net.ipv6.conf.default.forwarding=1",
    "net.ipv4.ip_forward=1", "net.ipv6.conf.all.accept_dad=0",
    "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.default.accept_ra=0",
]


def segs(tag: int, n: int, first_loc: str = "fc00:b") -> list:
    """n SIDs for a test policy: the first routed (fc00:b::/48 via wan0 by
    default), the others anywhere (they are only carried)."""
    return [f"{first_loc}::{tag:x}:1"] + [f"fc00:f::{tag:x}:{k}" for k in range(2, n + 1)]


@dataclass
class Pol:
    name: str
    v4: str
    v6: str
    mode: str
    segments: list
    vrf: int = 0
    source: str = "fc00:a::1"
    hop_limit: Optional[int] = None
    tcp_mss: Optional[str] = None

    def yaml(self) -> str:
        s = (f"  - name: {self.name}\n    vrf: {self.vrf}\n"
             f"    prefixes: [{self.v4}, {self.v6}]\n    mode: {self.mode}\n"
             f"    source: {self.source}\n    segments: [{', '.join(self.segments)}]\n")
        if self.hop_limit is not None:
            s += f"    hop_limit: {self.hop_limit}\n"
        if self.tcp_mss is not None:
            s += f"    tcp_mss: {self.tcp_mss}\n"
        return s


DP_HOP_LIMIT = 50  # datapath.hop_limit (not the built-in default, to prove it is used)

POLICIES = {p.name: p for p in [
    Pol("wide", "198.51.100.0/24", "2001:db8:2::/48", "encap", segs(0xff, 1)),
    Pol("e1", "198.51.100.16/28", "2001:db8:2:1::/64", "encap", segs(1, 1)),
    Pol("e2", "198.51.100.32/28", "2001:db8:2:2::/64", "encap", segs(2, 2)),
    Pol("e3", "198.51.100.48/28", "2001:db8:2:3::/64", "encap", segs(3, 3), hop_limit=17),
    Pol("e8", "198.51.100.64/28", "2001:db8:2:4::/64", "encap", segs(4, 8)),
    Pol("r1", "198.51.100.80/28", "2001:db8:2:5::/64", "encap.red", segs(5, 1)),
    Pol("r2", "198.51.100.96/28", "2001:db8:2:6::/64", "encap.red", segs(6, 2)),
    Pol("r3", "198.51.100.112/28", "2001:db8:2:7::/64", "encap.red", segs(7, 3)),
    Pol("r8", "198.51.100.128/28", "2001:db8:2:8::/64", "encap.red", segs(8, 8)),
    Pol("mtu", "198.51.100.144/28", "2001:db8:2:9::/64", "encap", segs(9, 2, "fc00:c")),
    Pol("mss1200", "198.51.100.160/28", "2001:db8:2:a::/64", "encap", segs(0xa, 2),
        tcp_mss="1200"),
    Pol("mssoff", "198.51.100.176/28", "2001:db8:2:b::/64", "encap", segs(0xb, 2),
        tcp_mss="off"),
    Pol("noneigh", "198.51.100.192/28", "2001:db8:2:c::/64", "encap", segs(0xc, 2, "fc00:e")),
    Pol("blackhole", "198.51.100.208/28", "2001:db8:2:d::/64", "encap", segs(0xd, 2, "fc00:d")),
    Pol("unreach", "198.51.100.224/28", "2001:db8:2:e::/64", "encap", segs(0xe, 2, "fc00:d:1")),
    Pol("notx", "198.51.100.240/28", "2001:db8:2:f::/64", "encap", segs(0xf, 2, "fc00:9")),
    Pol("host", "198.51.100.17/32", "2001:db8:2:1::17/128", "encap", segs(0x11, 2)),
    Pol("vrf7", "198.51.100.0/24", "2001:db8:2::/48", "encap.red", segs(0x77, 2), vrf=7,
        source="fc00:a::7", hop_limit=99),
]}


def pol_dst4(name: str, host: int = 5) -> str:
    """An IPv4 destination inside policy `name`'s IPv4 prefix."""
    net = POLICIES[name].v4.split("/")[0]
    a = [int(x) for x in net.split(".")]
    a[3] += host
    return ".".join(map(str, a))


def pol_dst6(name: str, host: int = 5) -> str:
    net = POLICIES[name].v6.split("/")[0]
    return net.rstrip(":") + f"::{host:x}" if net.endswith("::") else net


def pol_hlim(p: Pol) -> int:
    return p.hop_limit if p.hop_limit is not None else DP_HOP_LIMIT


# SIDs (local, fc00:a::/48).
SID_END = "fc00:a::e"
SID_ENDX = "fc00:a::e1"
SID_DX4 = "fc00:a::d4"
SID_DX6 = "fc00:a::d6"
SID_DT4 = "fc00:a::74"
SID_DT6 = "fc00:a::76"
SID_DT46 = "fc00:a::7446"
SID_LOC_DX4 = "fc00:a:0:d4::"   # /64 locator+function, End.DX4 via NH4_DX4L
SID_END_IN_LOC = "fc00:a:0:d4::e"  # /128 End inside SID_LOC_DX4's block (longest match)

BASE_CONFIG = f"""# aigw datapath test configuration (tests/datapath/dptest.py)
datapath:
  hop_limit: {DP_HOP_LIMIT}
  tcp_mss_clamp: auto
interfaces:
  - name: cust0
    role: customer
    vrf: 0
  - name: cust1
    role: customer
    vlan: 100
    vrf: 7
    mss_clamp: false
  - name: wan0
    role: wan
  - name: wan1
    role: wan
policies:
{''.join(p.yaml() for p in POLICIES.values())}sids:
  - sid: {SID_END}/128
    behavior: End
  - sid: {SID_ENDX}/128
    behavior: End.X
    nexthop: {NH_WAN1[0]}
    interface: wan1
  - sid: {SID_DX4}/128
    behavior: End.DX4
    nexthop: {NH4_DX4[0]}
    interface: cust0
  - sid: {SID_DX6}/128
    behavior: End.DX6
    nexthop: {NH6_DX6[0]}
    interface: cust0
  - sid: {SID_DT4}/128
    behavior: End.DT4
    table: 100
  - sid: {SID_DT6}/128
    behavior: End.DT6
    table: 100
  - sid: {SID_DT46}/128
    behavior: End.DT46
    table: 100
  - sid: {SID_LOC_DX4}/64
    behavior: End.DX4
    nexthop: {NH4_DX4L[0]}
    interface: cust0
  - sid: {SID_END_IN_LOC}/128
    behavior: End
"""

# --------------------------------------------------------------- cleanup

_cleanups = []
_cleanup_lock = threading.Lock()


def _run_cleanups():
    with _cleanup_lock:
        while _cleanups:
            fn = _cleanups.pop()
            try:
                fn()
            except Exception as e:  # keep cleaning the rest
                print(f"dptest cleanup: {e}", file=sys.stderr)


def _on_signal(signum, _frame):
    _run_cleanups()
    sys.exit(128 + signum)


atexit.register(_run_cleanups)
for _s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_s, _on_signal)


def sh(*args, check=True, input=None, timeout=30):
    r = subprocess.run(list(args), input=input, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


class Netns:
    """A network namespace aigwt-dp-<pid>-<tag>, deleted on close or exit."""

    def __init__(self, tag: str):
        self.name = f"aigwt-dp-{os.getpid()}-{tag}"
        sh("ip", "netns", "add", self.name)
        with _cleanup_lock:
            _cleanups.append(self.close)
        self.closed = False

    def close(self):
        if not self.closed:
            self.closed = True
            sh("ip", "netns", "del", self.name, check=False)

    def ip_batch(self, text: str):
        sh("ip", "-n", self.name, "-batch", "-", input=text)

    def sysctl(self, *kv):
        sh("ip", "netns", "exec", self.name, "sysctl", "-q", "-w", *kv)

    def links(self) -> Dict[str, dict]:
        out = sh("ip", "-n", self.name, "-j", "link", "show").stdout
        return {l["ifname"]: l for l in json.loads(out)}


class RunnerError(Exception):
    pass


class Runner:
    """aigw-dp-run inside a netns, on a private bpffs, talking JSON lines."""

    def __init__(self, ns: Netns, config_text: str, tag: str, bpffs: Optional[str] = None):
        """bpffs: a bpffs mount the caller owns, so that pins outlive this
        runner (a restart); by default each runner mounts a private one."""
        if not RUNNER or not os.access(RUNNER, os.X_OK):
            raise RunnerError(f"aigw-dp-run not found (pass --runner PATH): {RUNNER!r}")
        self.tmp = tempfile.mkdtemp(prefix=f"aigwt-dp-{os.getpid()}-")
        with _cleanup_lock:
            _cleanups.append(lambda: shutil.rmtree(self.tmp, ignore_errors=True))
        self.config_path = os.path.join(self.tmp, "aigw.yaml")
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.pin = f"{bpffs or '/sys/fs/bpf'}/aigwt-dp-{os.getpid()}-{tag}"
        self.stderr_path = os.path.join(self.tmp, "runner.stderr")
        self._stderr = open(self.stderr_path, "w")
        # `ip netns exec` gives the runner its own mount namespace with a
        # fresh sysfs; mount a private bpffs there for the pins.
        script = 'mount -t bpf aigwt-bpf /sys/fs/bpf || exit 97; exec "$0" "$@"'
        if bpffs:
            script = 'exec "$0" "$@"'
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns.name, "sh", "-c", script, RUNNER,
             "--config", self.config_path, "--pin", self.pin],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
            bufsize=1)
        with _cleanup_lock:
            _cleanups.append(self.close)
        self.dead = ""  # why the runner cannot answer any more
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()
        threading.Thread(target=self._reader, daemon=True).start()
        first = self._get(timeout=60)
        if "ready" not in first:
            raise RunnerError(f"runner did not start: {first} stderr: {self.stderr()}")
        self.slots: Dict[str, int] = first.get("slots", {})

    def _reader(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def stderr(self) -> str:
        try:
            self._stderr.flush()
            with open(self.stderr_path) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def _get(self, timeout=20) -> dict:
        if self.dead:
            raise RunnerError(self.dead)
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.dead = f"runner timed out; stderr: {self.stderr()}"
            raise RunnerError(self.dead)
        if line is None:
            rc = self.proc.wait(timeout=5)
            self.dead = f"runner exited ({rc}); stderr: {self.stderr()}"
            raise RunnerError(self.dead)
        return json.loads(line)

    def request_raw(self, line: str) -> dict:
        if self.dead:
            raise RunnerError(self.dead)
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as e:
            self.dead = f"runner stdin closed ({e}); stderr: {self.stderr()}"
            raise RunnerError(self.dead)
        return self._get()

    def request(self, req: dict) -> dict:
        return self.request_raw(json.dumps(req))

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._stderr.close()


# --------------------------------------------------------------- packets

def ip4_csum(hdr: bytes) -> int:
    """RFC 1071 checksum (own implementation, independent of scapy)."""
    if len(hdr) % 2:
        hdr += b"\0"
    s = sum(struct.unpack(f"!{len(hdr) // 2}H", hdr))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def dec_ttl(ip: bytes) -> bytes:
    """The IP packet with TTL / hop limit decremented (IPv4 checksum recomputed)."""
    b = bytearray(ip)
    if b[0] >> 4 == 4:
        ihl = (b[0] & 0xf) * 4
        b[8] -= 1
        b[10:12] = b"\0\0"
        b[10:12] = struct.pack("!H", ip4_csum(bytes(b[:ihl])))
    else:
        b[7] -= 1
    return bytes(b)


def ip_tc(ip: bytes) -> int:
    """DSCP+ECN byte of an IPv4 or IPv6 header."""
    if ip[0] >> 4 == 4:
        return ip[1]
    return ((ip[0] & 0xf) << 4) | (ip[1] >> 4)


def srh(addresses_wire: Sequence[str], sl: int, le: int, nh: int) -> IPv6ExtHdrSegmentRouting:
    """An SRH with explicitly computed length (no TLVs)."""
    return IPv6ExtHdrSegmentRouting(nh=nh, len=2 * len(addresses_wire), type=4, segleft=sl,
                                    lastentry=le, tag=0, addresses=list(addresses_wire))


def h_encaps(inner_ip: bytes, segments: Sequence[str], mode: str, source: str, hlim: int,
             eth_dst: str, eth_src: str) -> Ether:
    """RFC 8986 H.Encaps / H.Encaps.Red of an IP packet (already TTL-decremented),
    outer flow label 0 (masked in comparisons), traffic class from the inner packet."""
    n = len(segments)
    nh = 4 if inner_ip[0] >> 4 == 4 else 41
    tc = ip_tc(inner_ip)
    if mode == "encap":
        wire = list(reversed(segments))           # SegList[0] = last SID
        ext = srh(wire, sl=n - 1, le=n - 1, nh=nh)
    elif n == 1:
        ext = None
    else:
        wire = list(reversed(segments[1:]))       # first SID only in the DA
        ext = srh(wire, sl=n - 1, le=n - 2, nh=nh)
    ext_len = 0 if ext is None else 8 + 16 * len(ext.addresses)
    outer = IPv6(version=6, tc=tc, fl=0, plen=ext_len + len(inner_ip),
                 nh=43 if ext is not None else nh, hlim=hlim, src=source, dst=segments[0])
    l3 = outer / ext / Raw(inner_ip) if ext is not None else outer / Raw(inner_ip)
    return Ether(dst=eth_dst, src=eth_src, type=0x86DD) / l3


def encap_overhead(mode: str, n: int) -> int:
    if mode == "encap":
        return 40 + 8 + 16 * n
    return 40 if n == 1 else 40 + 8 + 16 * (n - 1)


def l3_of(frame: bytes) -> Tuple[int, bytes]:
    """(EtherType, L3 bytes) of an Ethernet frame, skipping one 802.1Q tag."""
    et = struct.unpack("!H", frame[12:14])[0]
    if et in (0x8100, 0x88A8):
        return struct.unpack("!H", frame[16:18])[0], frame[18:]
    return et, frame[14:]


def outer_flow_label(frame: bytes) -> Optional[int]:
    et, l3 = l3_of(frame)
    if et != 0x86DD or len(l3) < 4:
        return None
    return ((l3[1] & 0x0f) << 16) | (l3[2] << 8) | l3[3]


def mask_flow_label(frame: bytes) -> bytes:
    """Zero the outer IPv6 flow label of an untagged Ethernet frame."""
    b = bytearray(frame)
    if len(b) >= 18 and b[12:14] == b"\x86\xdd":
        b[15] &= 0xf0
        b[16] = 0
        b[17] = 0
    return bytes(b)


def short_hex(b: bytes, limit: int = 160) -> str:
    return b.hex() if len(b) <= limit else f"{b[:limit].hex()}... ({len(b)} bytes)"


def field_diff(exp: bytes, got: bytes) -> str:
    """Human-readable difference between two frames: per-field (scapy) + bytes."""
    lines = [f"expected {len(exp)} bytes, got {len(got)} bytes"]
    first = next((i for i in range(min(len(exp), len(got))) if exp[i] != got[i]), None)
    if first is not None:
        lines.append(f"first differing byte at offset {first} "
                     f"(expected {exp[first]:#04x}, got {got[first]:#04x})")
    try:
        a, b = Ether(exp), Ether(got)
        depth = 0
        while a is not None and b is not None and depth < 12:
            if type(a) is not type(b):
                lines.append(f"layer {depth}: expected {a.name}, got {b.name}")
                break
            for f in a.fields_desc:
                va, vb = a.getfieldval(f.name), b.getfieldval(f.name)
                if va != vb and not isinstance(va, Packet):
                    lines.append(f"  {a.name}.{f.name}: expected {va!r}, got {vb!r}")
            a = a.payload if a.payload and not isinstance(a.payload, (Raw, Padding)) else None
            b = b.payload if b.payload and not isinstance(b.payload, (Raw, Padding)) else None
            depth += 1
    except Exception as e:  # decoding is best effort
        lines.append(f"(scapy decode failed: {e})")
    lines.append(f"expected: {short_hex(exp)}")
    lines.append(f"got:      {short_hex(got)}")
    return "\n".join(lines)


# --------------------------------------------------------------- fixtures

VERDICTS = ("XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT")
VERDICT_CTR = {"XDP_REDIRECT": "fwd", "XDP_PASS": "pass", "XDP_DROP": "drop",
               "XDP_TX": "tx", "XDP_ABORTED": "drop"}


@dataclass
class Fx:
    """One fixture: input frame, ingress, and what must come out.

    out:     expected output frame (bytes or scapy); None with XDP_PASS means
             "unchanged"; a tuple lists acceptable alternatives.
    drops/events: exact deltas of the named counters; every other drop reason
             and event must stay unchanged.
    encap/decap: expected delta of the interface's encap/decap counter (None:
             not checked).
    flow:    flow key; the outer flow label is masked, must be a non-zero
             20-bit value, equal for fixtures with the same key.
    check:   extra decode assertions: check(testcase, out_bytes).
    tshark:  {field: expected value} checked on the expected output by tshark.
    """
    name: str
    prog: str
    iface: str
    pkt: Union[bytes, Packet]
    verdict: Union[str, Tuple[str, ...]]
    out: Union[None, bytes, Packet, Tuple] = None
    drops: Dict[str, int] = field(default_factory=dict)
    events: Dict[str, int] = field(default_factory=dict)
    encap: Optional[int] = None
    decap: Optional[int] = None
    flow: Optional[object] = None
    check: Optional[Callable] = None
    tshark: Optional[Dict[str, str]] = None


@dataclass
class Result:
    verdict: str
    out: bytes
    drops: Dict[str, int]
    events: Dict[str, int]
    iface: Dict[str, int]
    raw: dict
    other_slots: Dict[str, dict] = field(default_factory=dict)


def _delta(a: dict, b: dict) -> dict:
    return {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b) if b.get(k, 0) != a.get(k, 0)}


def _b(p) -> bytes:
    return p if isinstance(p, (bytes, bytearray)) else raw(p)


class DatapathCase(unittest.TestCase):
    """A test module's netns + runner, with fixture checking."""

    TAG = "dp"
    CONFIG = BASE_CONFIG
    ns: Netns = None
    runner: Runner = None
    flows: Dict[object, int] = {}

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("datapath tests need root (BPF, network namespaces)")
        cls.flows = {}
        cls.ns = Netns(cls.TAG)
        try:
            cls.ns.sysctl(*SYSCTLS)
            cls.ns.ip_batch(TOPOLOGY)
            cls.links = cls.ns.links()
            cls.ifindex = {n: l["ifindex"] for n, l in cls.links.items()}
            cls.runner = Runner(cls.ns, cls.CONFIG, cls.TAG)
        except Exception:
            cls.ns.close()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.runner:
            cls.runner.close()
        if cls.ns:
            cls.ns.close()

    # ---- primitives
    def stats(self) -> dict:
        s = self.runner.request({"cmd": "stats"})
        if "error" in s:
            self.fail(f"stats: {s['error']}")
        return s

    def slot_key(self, iface: str, frame: bytes) -> str:
        """The counter slot key of the interface entry a frame belongs to:
        "cust1 vlan 100" for a tagged frame when that entry exists."""
        if len(frame) >= 16 and frame[12:14] in (b"\x81\x00", b"\x88\xa8"):
            key = f"{iface} vlan {struct.unpack('!H', frame[14:16])[0] & 0xfff}"
            if key in self.runner.slots:
                return key
        return iface

    def send(self, prog: str, iface: str, frame: bytes) -> Result:
        slot = str(self.runner.slots.get(self.slot_key(iface, frame), 0))
        s0 = self.stats()
        r = self.runner.request({"prog": prog, "ifindex": self.ifindex[iface], "pkt": frame.hex()})
        if "error" in r:
            raise RunnerError(r["error"])
        s1 = self.stats()
        names = {str(v): k for k, v in self.runner.slots.items()}
        names["0"] = "unconfigured"
        others = {}
        for sl in set(s0["ifaces"]) | set(s1["ifaces"]):
            d = _delta(s0["ifaces"].get(sl, {}), s1["ifaces"].get(sl, {}))
            if d and sl != slot:
                others[f"{sl} ({names.get(sl, '?')})"] = d
        return Result(
            verdict=r["verdict"], out=bytes.fromhex(r["out"]),
            drops=_delta(s0["drops"], s1["drops"]), events=_delta(s0["events"], s1["events"]),
            iface=_delta(s0["ifaces"].get(slot, {}), s1["ifaces"].get(slot, {})), raw=r,
            other_slots=others)

    # ---- assertions
    def assert_iface_counters(self, res: Result, frame: bytes, encap=None, decap=None):
        d = res.iface
        self.assertEqual(d.get("rx", 0), 1, f"interface rx counter delta {d}; counted in other "
                                            f"slots: {res.other_slots or 'none'}")
        self.assertEqual(res.other_slots, {}, "counters of other interface slots changed")
        self.assertEqual(d.get("rx_bytes", 0), len(frame), f"interface rx_bytes delta {d}")
        want = VERDICT_CTR[res.verdict]
        for c in ("fwd", "pass", "drop", "tx"):
            self.assertEqual(d.get(c, 0), 1 if c == want else 0,
                             f"verdict {res.verdict}: interface counter '{c}' delta "
                             f"{d.get(c, 0)} (all deltas {d})")
        if encap is not None:
            self.assertEqual(d.get("encap", 0), encap, f"interface encap delta (all {d})")
        if decap is not None:
            self.assertEqual(d.get("decap", 0), decap, f"interface decap delta (all {d})")

    def assert_counters(self, res: Result, drops: dict, events: dict):
        self.assertEqual({k: v for k, v in res.drops.items() if v}, drops,
                         "drop reason counter deltas")
        self.assertEqual({k: v for k, v in res.events.items() if v}, events,
                         "event counter deltas")

    def assert_flow_label(self, out: bytes, flow) -> int:
        fl = outer_flow_label(out)
        self.assertIsNotNone(fl, "output has no outer IPv6 header")
        self.assertNotEqual(fl, 0, "outer flow label must be non-zero")
        self.assertLess(fl, 1 << 20)
        if flow is not None:
            prev = type(self).flows.setdefault(flow, fl)
            self.assertEqual(fl, prev, f"flow {flow!r}: flow label {fl:#x} differs from "
                                       f"{prev:#x} of an earlier packet of the same flow")
        return fl

    def assert_frame(self, got: bytes, exp: bytes, masked: bool, what="output"):
        g, e = (mask_flow_label(got), mask_flow_label(exp)) if masked else (got, exp)
        if g != e:
            self.fail(f"{what} differs from the expected frame"
                      f"{' (outer flow label masked)' if masked else ''}:\n{field_diff(e, g)}")

    def run_fx(self, fx: Fx) -> Result:
        """Send one fixture and check everything it declares; all mismatches
        are reported together."""
        frame = _b(fx.pkt)
        res = self.send(fx.prog, fx.iface, frame)
        errors = []

        def soft(fn, *args):
            try:
                fn(*args)
            except AssertionError as e:
                errors.append(str(e))
            except Exception as e:  # a decode of an unexpected output
                errors.append(f"{getattr(fn, '__name__', fn)} raised {e!r}")

        verdicts = (fx.verdict,) if isinstance(fx.verdict, str) else fx.verdict
        soft(self.assertIn, res.verdict, verdicts, "verdict")
        soft(self.assert_counters, res, fx.drops, fx.events)
        soft(self.assert_iface_counters, res, frame, fx.encap, fx.decap)
        if res.verdict in verdicts:
            masked = fx.flow is not None
            if fx.check:
                soft(fx.check, self, res.out)
            if masked:
                soft(self.assert_flow_label, res.out, fx.flow)
            if fx.out is None:
                if res.verdict == "XDP_PASS":
                    soft(self.assert_frame, res.out, frame, False,
                         "passed packet (must be unchanged)")
            elif isinstance(fx.out, tuple):
                alts = [_b(o) for o in fx.out]
                g = mask_flow_label(res.out) if masked else res.out
                if not any(g == (mask_flow_label(a) if masked else a) for a in alts):
                    errors.append("output matches none of the acceptable frames:\n" +
                                  "\n--\n".join(field_diff(a, res.out) for a in alts))
            else:
                soft(self.assert_frame, res.out, _b(fx.out), masked)
        elif res.out != frame:
            errors.append(f"output: {short_hex(res.out)}")
        if errors:
            self.fail(f"[{fx.name}] verdict {res.verdict}\n  - " + "\n  - ".join(errors))
        return res

    def run_fixtures(self, fixtures: Sequence[Fx]):
        for fx in fixtures:
            with self.subTest(fx.name):
                self.run_fx(fx)

    # ---- decode checks shared by modules
    def check_inner_ip(self, inner: bytes, orig_ip: bytes, ttl_dec: int = 1):
        """The carried inner packet is the original with TTL/hop limit - ttl_dec
        and (IPv4) a valid header checksum."""
        self.assertEqual(len(inner), len(orig_ip), "inner packet length")
        if orig_ip[0] >> 4 == 4:
            p = IP(inner)
            self.assertEqual(p.ttl, orig_ip[8] - ttl_dec, "inner IPv4 TTL")
            c = p.chksum
            del p.chksum
            self.assertEqual(IP(raw(p)).chksum, c, "inner IPv4 header checksum (scapy recompute)")
            self.assertEqual(ip4_csum(inner[:(inner[0] & 0xf) * 4]), 0,
                             "inner IPv4 header checksum (RFC 1071 verify)")
            self.assertEqual(inner[:8] + inner[9:10] + inner[12:], orig_ip[:8] + orig_ip[9:10]
                             + orig_ip[12:], "inner IPv4 packet (other than TTL/checksum)")
        else:
            p = IPv6(inner)
            self.assertEqual(p.hlim, orig_ip[7] - ttl_dec, "inner IPv6 hop limit")
            self.assertEqual(inner[:7] + inner[8:], orig_ip[:7] + orig_ip[8:],
                             "inner IPv6 packet (other than hop limit)")

    def check_encap_decode(self, out: bytes, orig_frame: bytes, pol: Pol, eth_dst: str,
                           eth_src: str):
        """Decode an H.Encaps(.Red) output with scapy and assert its fields."""
        _, orig_ip = l3_of(orig_frame)
        orig_ip = orig_ip[:ip_total_len(orig_ip)]
        e = Ether(out)
        self.assertFalse(e.haslayer(Dot1Q), "VLAN tag must be removed")
        self.assertEqual(e.type, 0x86DD, "EtherType")
        self.assertEqual(e.dst, eth_dst, "Ethernet destination (next hop MAC)")
        self.assertEqual(e.src, eth_src, "Ethernet source (egress port MAC)")
        o = e[IPv6]
        n = len(pol.segments)
        self.assertEqual(o.src, pol.source, "outer source = policy source")
        self.assertEqual(o.dst, pol.segments[0], "outer destination = first SID")
        self.assertEqual(o.hlim, pol_hlim(pol), "outer hop limit")
        self.assertEqual(o.tc, ip_tc(orig_ip), "outer traffic class = inner DSCP+ECN")
        self.assertEqual(o.plen, len(out) - 14 - 40, "outer payload length")
        inner_nh = 4 if orig_ip[0] >> 4 == 4 else 41
        has_srh = pol.mode == "encap" or n > 1
        if has_srh:
            self.assertEqual(o.nh, 43, "outer next header (routing)")
            s = o[IPv6ExtHdrSegmentRouting]
            want = list(reversed(pol.segments if pol.mode == "encap" else pol.segments[1:]))
            self.assertEqual(s.type, 4, "SRH routing type")
            self.assertEqual(s.nh, inner_nh, "SRH next header")
            self.assertEqual(s.addresses, want, "SRH segment list (SegList[0] = last SID)")
            self.assertEqual(s.segleft, n - 1, "SRH Segments Left")
            self.assertEqual(s.lastentry, len(want) - 1, "SRH Last Entry")
            self.assertEqual(s.len, 2 * len(want), "SRH Hdr Ext Len")
            self.assertEqual((s.tag, s.unused1, s.protected, s.oam, s.alert, s.hmac, s.unused2),
                             (0, 0, 0, 0, 0, 0, 0), "SRH flags/tag")
            inner = raw(out)[14 + 40 + 8 + 16 * len(want):]
        else:
            self.assertEqual(o.nh, inner_nh, "outer next header (no SRH for one SID, reduced)")
            inner = out[14 + 40:]
        self.check_inner_ip(inner, orig_ip)

    def check_icmp_reply(self, out: bytes, orig_frame: bytes, v6: bool, icmp_type: int,
                         code: int, src: str, mtu: Optional[int] = None):
        """An ICMP error sent back out the ingress port (XDP_TX)."""
        _, orig_ip = l3_of(orig_frame)
        orig_ip = orig_ip[:ip_total_len(orig_ip)]
        e = Ether(out)
        ie = Ether(orig_frame)
        self.assertEqual(e.dst, ie.src, "ICMP reply: Ethernet destination = sender")
        self.assertEqual(e.src, ie.dst, "ICMP reply: Ethernet source = our port")
        if v6:
            self.assertEqual(e.type, 0x86DD)
            ip = e[IPv6]
            self.assertEqual(ip.src, src, "ICMPv6 source = the interface's address")
            self.assertEqual(ip.dst, IPv6(orig_ip).src, "ICMPv6 destination = original source")
            self.assertEqual(ip.nh, 58)
            self.assertEqual(ip.plen, len(out) - 14 - 40, "ICMPv6 payload length")
            self.assertLessEqual(len(out) - 14, 1280, "ICMPv6 error must fit the IPv6 minimum MTU")
            self.assertGreater(ip.hlim, 1)
            icmp = raw(ip.payload)
            self.assertEqual((icmp[0], icmp[1]), (icmp_type, code), "ICMPv6 type/code")
            if mtu is not None:
                self.assertEqual(struct.unpack("!I", icmp[4:8])[0], mtu, "ICMPv6 PTB MTU")
            # checksum over the RFC 4443 pseudo-header, recomputed by scapy
            q = IPv6(raw(ip))
            c = q.payload.cksum
            q.payload.cksum = None
            self.assertEqual(IPv6(raw(q)).payload.cksum, c, "ICMPv6 checksum (scapy recompute)")
            quote = icmp[8:]
            self.assertGreaterEqual(len(quote), 48, "ICMPv6 quotes at least IPv6 header + 8 bytes")
            self.assertLessEqual(len(quote), len(orig_ip), "ICMPv6 quote longer than the packet")
            strip = lambda b: b[:7] + b[8:]  # the hop limit may reflect a decrement
            self.assertEqual(strip(quote), strip(orig_ip[:len(quote)]),
                             "ICMPv6 quote = start of the invoking packet")
        else:
            self.assertEqual(e.type, 0x0800)
            ip = e[IP]
            self.assertEqual(ip.src, src, "ICMP source = the interface's address")
            self.assertEqual(ip.dst, IP(orig_ip).src, "ICMP destination = original source")
            self.assertEqual(ip.proto, 1)
            self.assertEqual(ip.len, len(out) - 14, "ICMP IPv4 total length")
            self.assertEqual(ip4_csum(raw(ip)[:ip.ihl * 4]), 0, "ICMP IPv4 header checksum")
            self.assertLessEqual(ip.len, 576, "ICMP error SHOULD NOT exceed 576 bytes (RFC 1812)")
            self.assertGreater(ip.ttl, 1)
            icmp = raw(ip)[ip.ihl * 4:]
            self.assertEqual((icmp[0], icmp[1]), (icmp_type, code), "ICMP type/code")
            self.assertEqual(ip4_csum(icmp), 0, "ICMP checksum")
            if mtu is not None:
                self.assertEqual(struct.unpack("!H", icmp[6:8])[0], mtu, "ICMP next-hop MTU")
            quote = icmp[8:]
            ihl = (orig_ip[0] & 0xf) * 4
            self.assertGreaterEqual(len(quote), ihl + 8, "ICMP quotes IP header + 64 bits")
            self.assertLessEqual(len(quote), len(orig_ip), "ICMP quote longer than the packet")
            # TTL (8) and header checksum (10-11) may reflect a decrement
            strip = lambda b: b[:8] + b[9:10] + b[12:]
            self.assertEqual(strip(quote), strip(orig_ip[:len(quote)]),
                             "ICMP quote = start of the invoking packet")


def ip_total_len(ip: bytes) -> int:
    if ip[0] >> 4 == 4:
        return struct.unpack("!H", ip[2:4])[0]
    return 40 + struct.unpack("!H", ip[4:6])[0]


# --------------------------------------------------------------- tshark

TSHARK = shutil.which("tshark")


def tshark_fields(frames: Sequence[bytes], fields: Sequence[str]) -> list:
    """Decode frames with tshark; one {field: 'v1,v2'} per frame."""
    with tempfile.TemporaryDirectory(prefix="aigwt-dp-") as d:
        pcap = os.path.join(d, "x.pcap")
        wrpcap(pcap, [Ether(f) for f in frames])
        cmd = [TSHARK, "-n", "-r", pcap, "-o", "ip.check_checksum:TRUE",
               "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
               "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
        for f in fields:
            cmd += ["-e", f]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"tshark failed: {r.stderr}")
        rows = [l.split("\t") for l in r.stdout.rstrip("\n").split("\n")]
        return [dict(zip(fields, row)) for row in rows]


class TsharkMixin:
    """test_zz_tshark: the expected outputs of the fixtures that declare
    `tshark` fields, decoded by tshark (a second, independent decoder); a
    fixture without an expected frame (an ICMP error: checked by decoding)
    is sent again and its actual output decoded."""

    def test_zz_tshark_crosscheck(self):
        if not TSHARK:
            self.skipTest("tshark not installed: second-decoder cross-check skipped")
        fxs = [fx for fx in self.all_tshark_fixtures() if fx.tshark]
        self.assertTrue(fxs, "no fixture declares tshark expectations")
        fields = sorted({f for fx in fxs for f in fx.tshark})
        frames = [self.send(fx.prog, fx.iface, _b(fx.pkt)).out if fx.out is None else
                  _b(fx.out if not isinstance(fx.out, tuple) else fx.out[0]) for fx in fxs]
        rows = tshark_fields(frames, fields)
        self.assertEqual(len(rows), len(fxs))
        for fx, row in zip(fxs, rows):
            with self.subTest(fx.name):
                for f, want in fx.tshark.items():
                    self.assertEqual(row.get(f, ""), want, f"tshark {f} of the output")


def run_module():
    main()
