#!/usr/bin/python3
"""The RDMA proxy's packets per second per core (issue 12), each side on
a CPU of its own, in AF_XDP copy mode.

The lab of deploy/lab/topology.py: host1 - gwa - core - gwb - host2, aigwd
on both gateways, RoCEv2 of tenant "ai" selected for the proxy. host1 sends
one RoCEv2 stream (RDMA WRITE middle packets of --payload bytes, the PSN
counting up: aigw-xdp-gen --psn-off, tests/bench/xdp_gen.c, live frames
out of host1's veth) at the highest rate it can. gwa's headend hands each
packet to its proxy (sending side: cached, sent on out of the WAN port's
TX ring); gwb's endpoint hands it to its proxy (receiving side: through the
stream's reorder buffer, delivered out of the customer port's TX ring);
host2 counts and drops (aigw-bench-xdp sink).

CPU placement, 2 cores: the proxy threads (aigw-rdma-q0 of gwa and of gwb)
on CPU 1; everything else on CPU 0: the generator, and the NAPI threads
(threaded NAPI) of every port that receives (gwa-h1: gwa's XDP headend;
core-gwa: the core; gwb-core: gwb's XDP endpoint; host2's eth0: the sink).
So a proxy thread's CPU time is its own work: the rings, the proxy's
logic, and the copy-mode transmit in its sendto (skb, veth enqueue), not
the next hop's receive. But the next hops' NAPI threads share the proxies'
CPU, and a veth whose peer has not taken its frames yet refuses more (the
proxy counts them at tx_full).

--side send or --side receive measures one side with a core to itself, as
a NIC queue's interrupt and its proxy thread share one: only that gateway
proxies, and CPU 1 runs its proxy thread and the NAPI thread of the port
the packets come in by (the XDP program that hands them to the socket, and
the copy into the UMEM); everything else runs on CPU 0. send: the next hop
after gwa is a sink (aigw-bench-xdp on the core's port from gwa: XDP,
count, drop), so the core, gwb and host2 do nothing. receive: gwa and the
core forward without a proxy (the XDP fast path, the kernel), gwb's
endpoint hands the packets to its proxy, host2 sinks. The figure is then
the packets the proxy sent on over all of CPU 1's busy time (/proc/stat),
and CPU 1's busy share says whether the core was the limit (near 100 %)
or what its side was offered. Per gateway: packets its proxy sent on (`aigwctl
rdma show`: to_wan on gwa, to_host on gwb) over its thread's CPU time
(/proc/TID/schedstat), as ns per packet and Mpps per core; the thread's
busy share of the window (below 100 % the figure is what it costs at that
load, not a saturated rate) and its user/system split.

Run (root): tests/bench/rdma_pps.py [--build build] [--runs 3] [--seconds 3]
            [--payload 128] [--rate PPS] [--side both|send|receive]
            [--aigwd PATH]
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "deploy", "lab"))
import topology as T  # noqa: E402

SELECT = {"select": [{"tenant": "ai"}], "nack_ms": 3, "give_up_ms": 100, "cache_ms": 100}
CLK_TCK = os.sysconf("SC_CLK_TCK")
GEN_CPU, PROXY_CPU = 0, 1
# Receiving ports, threaded NAPI, and the CPU of their thread: gwa's
# customer port beside the generator (the generator's frames wait in its
# ring while the generator runs: it paces itself), the others beside the
# proxies.
NAPI_PORTS = (("gwa", "gwa-h1", GEN_CPU), ("core", "core-gwa", PROXY_CPU),
              ("gwb", "gwb-core", PROXY_CPU), ("host2", "eth0", PROXY_CPU))
# --side: the gateways that proxy, where the sink is, and every receiving
# port's NAPI thread beside the generator
SIDES = {"both": (("gwa", "gwb"), ("host2", "eth0"), NAPI_PORTS),
         "send": (("gwa",), ("core", "core-gwa"),
                  (("gwa", "gwa-h1", PROXY_CPU), ("core", "core-gwa", GEN_CPU))),
         "receive": (("gwb",), ("host2", "eth0"),
                     tuple((n, d, PROXY_CPU if d == "gwb-core" else GEN_CPU)
                           for n, d, _ in NAPI_PORTS))}


def cpu_busy_ns(cpu):
    """CPU `cpu`'s busy time so far (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                v = [int(x) for x in line.split()[1:]]
                return (sum(v) - v[3] - v[4]) * 1e9 / CLK_TCK
    raise SystemExit(f"no cpu{cpu} in /proc/stat")


def roce_frame(payload: int) -> (str, int):
    """An IPv6 RoCEv2 RDMA WRITE middle frame host1 -> host2 as hex, and
    the offset of its PSN."""
    from scapy.all import UDP, Ether, IPv6, Raw, raw  # noqa: E402
    from scapy.contrib.roce import BTH  # noqa: E402
    f = Ether() / IPv6(src=T.SITES["gwa"].host6(), dst=T.SITES["gwb"].host6(), hlim=64) / \
        UDP(sport=49152, dport=4791) / BTH(opcode=0x07, dqpn=0x42, psn=0) / Raw(b"\0" * payload)
    return raw(f).hex(), 14 + 40 + 8 + 9


class Bench:
    def __init__(self, build, gen, aigwd=None, side="both"):
        self.gen = gen
        proxies, (sink_node, sink_dev), napi = SIDES[side]
        self.tools = os.path.join(build, "tests", "bench")
        self.topo = T.Topology(f"aigwt-bench-{os.getpid()}-",
                               modes={"gwa": "aigw", "core": "transit", "gwb": "aigw"},
                               build_dir=build, aigwd=aigwd)
        self.topo.up(start_agents=False)
        for g in ("gwa", "gwb"):
            c = self.topo.configs[g]
            c["tenants"] = [{"name": "ai", "id": 5}]
            # both directions: the generator's source port is not 4791, as
            # a NIC's is not (rules are written from the hosts' side)
            c["classification"] = {"rules": [
                {"name": f"roce-{d}", "match": {"protocol": "udp", f"{p}port": "4791"},
                 "set": {"tenant": "ai", "class": "training"}}
                for d, p in (("out", "d"), ("in", "s"))]}
            if g in proxies:
                c["rdma_proxy"] = dict(SELECT)
            self.topo.write_config(g)
            self.topo.start_agent(g)
        self.topo.wait_ping("host1", T.SITES["gwb"].host6(), attempts=4)
        self.pin = tempfile.mkdtemp(prefix="aigwt-bench-sink-", dir="/sys/fs/bpf")
        os.rmdir(self.pin)
        self.topo.run(sink_node, ["ip", "link", "set", "dev", sink_dev, "xdp", "off"])
        # nsenter, not `ip netns exec` (which remounts /sys, bpffs included)
        self.sink = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{self.topo.ns(sink_node)}",
             os.path.join(self.tools, "aigw-bench-xdp"), "sink", "--dev", sink_dev,
             "--pin-counters", self.pin, "--max-seconds", "3000"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.wait_line(self.sink, "ready")
        self.threads = {g: self.proxy_thread(g) for g in proxies}
        for tid in self.threads.values():
            subprocess.run(["taskset", "-pc", str(PROXY_CPU), tid], check=True,
                           capture_output=True)
        for node, dev, cpu in napi:
            for tid in self.napi_threads(node, dev):
                subprocess.run(["taskset", "-pc", str(cpu), tid], check=True,
                               capture_output=True)

    @staticmethod
    def wait_line(p, word, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            line = p.stdout.readline()
            if word in line:
                return
            if not line and p.poll() is not None:
                break
        raise SystemExit(f"no '{word}' from {p.args}: {p.stderr.read() if p.stderr else ''}")

    def proxy_thread(self, node):
        pid = self.topo.agent_pid(node)
        for comm in glob.glob(f"/proc/{pid}/task/*/comm"):
            if open(comm).read().strip() == "aigw-rdma-q0":
                return comm.split("/")[4]
        raise SystemExit(f"{node}: no aigw-rdma-q0 thread (is the proxy running?)")

    def napi_threads(self, node, dev):
        """Threaded NAPI on dev; its kernel threads."""
        before = set(self.napi_pids(dev))
        self.topo.run(node, ["sh", "-c", f"echo 1 > /sys/class/net/{dev}/threaded"])
        time.sleep(0.1)
        pids = self.napi_pids(dev)
        if not pids:
            raise SystemExit(f"{node}/{dev}: no NAPI thread")
        new = [p for p in pids if p not in before]  # host1 has an eth0 too
        return new or pids

    @staticmethod
    def napi_pids(dev):
        out = []
        for comm in glob.glob("/proc/[0-9]*/comm"):
            try:
                if open(comm).read().strip().startswith(f"napi/{dev}-"):
                    out.append(comm.split("/")[2])
            except OSError:
                pass
        return out

    def thread_cpu(self, node):
        """(schedstat ns, utime ticks, stime ticks) of node's proxy thread."""
        pid, tid = self.topo.agent_pid(node), self.threads[node]
        ns = int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[0])
        st = open(f"/proc/{pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()
        return ns, int(st[11]), int(st[12])

    def sent(self):
        out = {}
        for g, to in (("gwa", "to_wan"), ("gwb", "to_host")):
            if g in self.threads:
                c = self.topo.ctl(g, "rdma", "show")["counters"]
                out[g], out[g + "_full"] = c[to], c.get("tx_full", 0)
        return out

    def sink_frames(self):
        r = subprocess.run([os.path.join(self.tools, "aigw-bench-xdp"), "read", self.pin],
                           capture_output=True, text=True, check=True)
        return int(r.stdout.split()[0])

    def run(self, seconds, payload, rate):
        t = self.topo
        frame, psn_off = roce_frame(payload)
        mac = {n: t.run(n, ["cat", f"/sys/class/net/{d}/address"]).stdout.strip()
               for n, d in (("host1", "eth0"), ("gwa", "gwa-h1"))}
        c0 = {g: self.thread_cpu(g) for g in self.threads}
        s0, k0, w0 = self.sent(), self.sink_frames(), time.monotonic()
        b0 = cpu_busy_ns(PROXY_CPU)
        g = t.run("host1", [self.gen, "--dev", "eth0", "--dst-mac", mac["gwa"], "--src-mac",
                            mac["host1"], "--frame", frame, "--psn-off", str(psn_off),
                            "--seconds", str(seconds), "--count", "100000000", "--cpu",
                            str(GEN_CPU), "--batch", "256", "--rate", str(rate)],
                  timeout=seconds + 30)
        time.sleep(0.2)  # what is in flight
        c1 = {g: self.thread_cpu(g) for g in self.threads}
        b1 = cpu_busy_ns(PROXY_CPU)
        s1, k1, w1 = self.sent(), self.sink_frames(), time.monotonic()
        offered = int(g.stdout.split()[-1])
        out = {"offered": offered, "at_sink": k1 - k0, "wall": w1 - w0,
               "core_busy": (b1 - b0) / 1e9 / (w1 - w0), "core_ns": b1 - b0}
        for gw in self.threads:
            pk = s1[gw] - s0[gw]
            ns = c1[gw][0] - c0[gw][0]
            ut, stt = c1[gw][1] - c0[gw][1], c1[gw][2] - c0[gw][2]
            out[gw] = {"packets": pk, "ns_per_packet": ns / max(pk, 1),
                       "core_ns_per_packet": out["core_ns"] / max(pk, 1),
                       "tx_full": s1[gw + "_full"] - s0[gw + "_full"],
                       "busy": ns / 1e9 / (w1 - w0),
                       "user_share": ut / max(ut + stt, 1)}
        return out

    def close(self):
        self.sink.terminate()
        self.sink.wait(timeout=10)
        if os.path.exists(self.pin):
            os.unlink(self.pin)
        self.topo.down()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("AIGW_BUILD_DIR", "build"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--payload", type=int, default=128, help="RDMA payload bytes (<= 160)")
    ap.add_argument("--aigwd", help="another aigwd binary to measure (default: the build's)")
    ap.add_argument("--rate", type=float, default=0,
                    help="frames a second host1 offers (default: as many as it can)")
    ap.add_argument("--side", choices=SIDES, default="both",
                    help="both proxies, CPU 1 shared; or one side's, CPU 1 its own")
    a = ap.parse_args()
    if os.cpu_count() < 2:
        raise SystemExit("needs 2 CPUs")
    work = tempfile.mkdtemp(prefix="aigw-bench-")
    gen = os.path.join(work, "aigw-xdp-gen")
    subprocess.run(["cc", "-O2", "-Wall", "-o", gen, os.path.join(HERE, "xdp_gen.c"), "-lbpf"],
                   check=True)
    b = Bench(os.path.abspath(a.build), gen, a.aigwd, a.side)
    runs = []
    try:
        for i in range(a.runs):
            r = b.run(a.seconds, a.payload, a.rate)
            runs.append(r)
            print(f"run {i + 1}: offered {r['offered'] / r['wall'] / 1e3:.0f} kpps, the sink "
                  f"({SIDES[a.side][1][0]}) got {r['at_sink']} packets; " + "; ".join(
                      f"{g} ({'sending' if g == 'gwa' else 'receiving'} side) {r[g]['packets']} "
                      f"packets ({r[g]['tx_full']} dropped at tx_full), "
                      f"{r[g]['ns_per_packet']:.0f} ns/packet, busy "
                      f"{100 * r[g]['busy']:.0f} %, user {100 * r[g]['user_share']:.0f} %"
                      + (f"; CPU {PROXY_CPU} busy {100 * r['core_busy']:.0f} %, "
                         f"{r[g]['core_ns_per_packet']:.0f} ns/packet of it"
                         if a.side != "both" else "")
                      for g in b.threads), flush=True)
    finally:
        b.close()
        os.unlink(gen)
        os.rmdir(work)
    print(f"\nRDMA proxy, AF_XDP copy mode, one stream of {a.payload}-byte RDMA writes, "
          f"each proxy thread on CPU {PROXY_CPU} (median of {a.runs} runs):")
    for g, side in (("gwa", "sending side (cache, to the WAN)"),
                    ("gwb", "receiving side (reorder, to the host)")):
        if g not in b.threads:
            continue
        ns = statistics.median(r[g]["ns_per_packet"] for r in runs)
        kpps = statistics.median(r[g]["packets"] / r["wall"] for r in runs) / 1e3
        busy = statistics.median(r[g]["busy"] for r in runs)
        print(f"  {g} {side}: {ns:.0f} ns/packet = {1e3 / ns:.2f} Mpps per core "
              f"(ran {kpps:.0f} kpps at {100 * busy:.0f} % of the core)")
        if a.side != "both":
            ns = statistics.median(r[g]["core_ns_per_packet"] for r in runs)
            busy = statistics.median(r["core_busy"] for r in runs)
            print(f"  {g} with its port's receive (CPU {PROXY_CPU} busy {100 * busy:.0f} %): "
                  f"{ns:.0f} ns/packet = {1e3 / ns:.2f} Mpps per core")


if __name__ == "__main__":
    main()
