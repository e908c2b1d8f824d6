#!/usr/bin/python3
"""RoCEv2 goodput through two real aigw gateways (aigwd, XDP, AF_XDP), with
and without the RDMA proxy, against WAN loss; and the proxy's packets per
second per core of CPU its threads used.

The lab of deploy/lab/topology.py: host1 (aigw-roce-ep requester) - gwa -
core (a plain IPv6 router) - gwb - host2 (responder). RoCEv2 (UDP 4791) is
classified into tenant "ai" on both gateways; "proxy" selects it for the
proxy (rdma_proxy.select), "go-back-N" selects nothing (the XDP fast path).
The loss is aigw-xdp-loss on the core's port from gwa (seeded; data and
resends, not ACKs or NACKs). --rtts 1,10 adds a WAN round trip: the link
gwa - core is cut in two with a namespace between them where
aigw-delay-line relays every frame, half the round trip each way (this
kernel has no netem); 0 is the lab's own round trip (tens of
microseconds). --window: the requester's window in packets (its
outstanding PSNs): at 10 ms a window must hold what is sent in two round
trips for the proxy to hide a loss (while a hole waits for its resend the
responder cannot acknowledge what follows). --rate-mbps: the requester's
rate limit (a NIC's, as DCQCN sets one; 0, the default: as fast as the
window allows). Unpaced, a window larger than the path's bandwidth-delay
product waits in the slowest hop's queue (here the delay line's socket), and
a resend waits behind it: a hole takes a round trip plus that queue to
fill.

Memory: per row the most bytes gwa cached for a transfer's stream and the
most packets gwb held for it (`aigwctl rdma show`: cached_peak_bytes,
max_depth; the largest of the runs), and after each table each aigwd's
peak resident memory (VmHWM: the UMEM, the caches, everything).

pps per core: packets the two gateways' proxies sent on (to hosts and to
the WAN, from `aigwctl rdma show`) over the CPU time of their aigw-rdma-q*
threads (/proc, utime + stime) during the lossless proxied runs.

Run (root): tests/bench/rdma_gateways.py [--build build] [--runs 3] [--packets 20000]
            [--rtts 0,1,10] [--window 1024] [--losses 0,0.0001,0.001,0.01,0.02]
            [--rate-mbps 0] [--aigwd PATH]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "deploy", "lab"))
import topology as T  # noqa: E402

LOSSES = [0.0, 0.0001, 0.001, 0.01, 0.02]
SELECT = {"select": [{"tenant": "ai"}], "nack_ms": 3, "give_up_ms": 100, "cache_ms": 100}


def sized(window):
    """The proxy sized for a requester's window, as an operator sizes it for
    the hosts' traffic: the sending side caches a stream's whole window (a
    resend asked for after two round trips must still be there: cache_bytes
    of 4 KiB a packet of the window, which holds these ~1.1 KiB frames
    several times over, and cache_packets of two windows), the receiving
    side may hold it (max_held), and the AF_XDP rings take a window's burst
    (the requester sends one at its start and after each hole fills). A frame the ring has
    no room for is lost inside the gateway, before the sending side's cache:
    no NACK can bring it back. For a window of 1,024 packets this is the
    defaults (ring 2048, frames 4096, a 4 MiB and 8,192-packet cache and
    4096 packets held per stream)."""
    ring = 2048
    while ring < 2 * window:
        ring *= 2
    return dict(SELECT, ring=ring, frames=2 * ring, cache_bytes=max(4 << 20, 4096 * window),
                cache_packets=max(8192, 2 * window), max_held=max(4096, 2 * window))
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, build, packets, window=1024, delay=False, aigwd=None, rate_mbps=0):
        self.tools = os.path.join(build, "tests", "tools")
        self.packets, self.window, self.rate_mbps = packets, window, rate_mbps
        self.delay_line = None
        self.topo = T.Topology(f"aigwt-bench-{os.getpid()}-",
                               modes={"gwa": "aigw", "core": "transit", "gwb": "aigw"},
                               build_dir=build, aigwd=aigwd)
        self.topo.up(start_agents=False)
        if delay:
            self.splice_delay()
        for g in ("gwa", "gwb"):
            c = self.topo.configs[g]
            c["tenants"] = [{"name": "ai", "id": 5}]
            c["classification"] = {"rules": [{
                "name": "roce", "match": {"protocol": "udp", "dport": "4791"},
                "set": {"tenant": "ai", "class": "training"}}]}
            c["rdma_proxy"] = sized(window)
            self.topo.write_config(g)
            self.topo.start_agent(g)
        for src, dst in (("host1", T.SITES["gwb"].host6()), ("host2", T.SITES["gwa"].host6())):
            self.topo.wait_ping(src, dst, attempts=4)
        self.proxy_on = True
        self.qp = 0x100

    def tool(self, node, *args, **kw):
        return self.topo.run(node, [os.path.join(self.tools, args[0]), *map(str, args[1:])], **kw)

    def splice_delay(self):
        """gwa-core --- dla [dl] dlb --- core-gwa: core's end moves into a
        new namespace as dla; a new core-gwa (its MAC, addresses and routes)
        takes its place, paired with dlb."""
        t, dev = self.topo, "core-gwa"
        self.dl = t.ns("dl")
        T.run(["ip", "netns", "add", self.dl])
        t._created.append(self.dl)
        mac = t.run("core", ["cat", f"/sys/class/net/{dev}/address"]).stdout.strip()
        addrs = [a for a in T.json.loads(t.ip("core", "-j", "addr", "show", "dev", dev).stdout)[0]
                 ["addr_info"] if a.get("scope") == "global"]
        routes = [t.ip("core", fam, "route", "show", "dev", dev).stdout.splitlines()
                  for fam in ("-4", "-6")]
        t.ip("core", "link", "set", "dev", dev, "xdp", "off")
        t.ip("core", "link", "set", "dev", dev, "netns", self.dl)
        lines = [f"link set {dev} name dla", "link set dla address 02:a1:9e:00:dd:01",
                 "link add dlb type veth peer name core-gwa", "link set lo up",
                 "link set dla up", "link set dlb up"]
        for ln in lines:
            T.run(["ip", "-n", self.dl, *ln.split()])
        T.run(["ip", "-n", self.dl, "link", "set", dev, "netns", t.ns("core")])
        t.ip("core", "link", "set", "dev", dev, "address", mac, "mtu", str(t.mtu))
        T.run(["ip", "-n", self.dl, "link", "set", "dlb", "mtu", str(t.mtu)])
        T.run(["ip", "-n", self.dl, "link", "set", "dla", "mtu", str(t.mtu)])
        t.ip("core", "link", "set", dev, "up")
        t.run("core", ["ethtool", "-K", dev, "tx", "off"])
        for a in addrs:
            t.ip("core", "addr", "add", f"{a['local']}/{a['prefixlen']}", "dev", dev, "nodad")
        for fam, rs in zip(("-4", "-6"), routes):
            for r in rs:
                if "proto kernel" in r or not r.strip():
                    continue
                t.ip("core", fam, "route", "replace", *r.split(), "dev", dev)
        # gwa's XDP redirects into gwa-core: its peer needs XDP to take them
        T.run(["ip", "-n", self.dl, "link", "set", "dev", "dla", "xdpdrv", "obj",
               t.xdp_pass_obj, "sec", "xdp"])
        t.ip("core", "link", "set", "dev", dev, "xdpdrv", "obj", t.xdp_pass_obj, "sec", "xdp")
        self.set_rtt(0)

    def set_rtt(self, rtt_ms):
        """The delay line, half the round trip each way."""
        if self.delay_line:
            self.delay_line.terminate()
            self.delay_line.wait(timeout=10)
        self.delay_line = subprocess.Popen(
            ["ip", "netns", "exec", self.dl, os.path.join(self.tools, "aigw-delay-line"),
             "--a", "dla", "--b", "dlb", "--delay-us", str(int(rtt_ms * 500)),
             "--queue", "200000"], stdout=subprocess.PIPE, text=True)
        if '"ready"' not in self.delay_line.stdout.readline():
            raise SystemExit("aigw-delay-line did not start")

    def set_proxy(self, on):
        if on == self.proxy_on:
            return
        for g in ("gwa", "gwb"):
            self.topo.configs[g]["rdma_proxy"] = sized(self.window) if on else {"select": []}
            self.topo.write_config(g)
            self.topo.ctl(g, "config", "reload")
        self.proxy_on = on

    def loss(self, fraction, seed):
        dev = "core-gwa"
        self.tool("core", "aigw-xdp-loss", "detach", dev, check=False)
        if fraction:
            self.topo.run("core", ["ip", "link", "set", "dev", dev, "xdp", "off"], check=False)
            self.tool("core", "aigw-xdp-loss", "attach", dev, "--loss", fraction, "--seed", seed)
        else:
            self.topo.run("core", ["ip", "link", "set", "dev", dev, "xdp", "obj",
                                   self.topo.xdp_pass_obj, "sec", "xdp"], check=False)

    def transfer(self):
        import json
        self.qp += 1
        ids = ["--psn", str((self.qp * 7919) & 0xffffff), "--qp", str(self.qp)]
        resp = self.topo.popen("host2", [os.path.join(self.tools, "aigw-roce-ep"), "responder",
                                         "--local", T.SITES["gwb"].host6(), "--packets",
                                         str(self.packets), "--deadline-s", "75",
                                         "--linger-ms", "100", *ids], text=True)
        time.sleep(0.3)
        r = self.tool("host1", "aigw-roce-ep", "requester", "--local", T.SITES["gwa"].host6(),
                      "--peer", T.SITES["gwb"].host6(), "--packets", self.packets, "--window",
                      self.window, "--mtu", 1024, "--timeout-ms", 100, "--deadline-s", 60,
                      "--rate-mbps", self.rate_mbps, *ids,
                      timeout=90, check=False)
        out, _ = resp.communicate(timeout=90)
        return json.loads(r.stdout), json.loads(out)

    def proxy_cpu_s(self):
        """CPU seconds (user, user + system) of both gateways' aigw-rdma-q*
        threads. System time includes what the kernel does in their
        syscalls: the AF_XDP copy-mode transmit, and with veth the peer's
        receive (softirq work run on the way out of sendto)."""
        user = total = 0.0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
                if self.topo.workdir.encode() not in cmd or b"aigwd" not in cmd:
                    continue
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/stat") as f:
                        st = f.read()
                    comm = st[st.index("(") + 1:st.rindex(")")]
                    if comm.startswith("aigw-rdma-q"):
                        fields = st[st.rindex(")") + 2:].split()
                        user += int(fields[11]) / CLK_TCK
                        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
            except (OSError, ValueError):
                continue
        return user, total

    def proxy_packets(self):
        n = 0
        for g in ("gwa", "gwb"):
            c = self.topo.ctl(g, "rdma", "show").get("counters", {})
            n += c.get("to_host", 0) + c.get("to_wan", 0)
        return n

    def stream_peaks(self, gwa_show):
        """(gwa's peak cached bytes, gwb's most packets held) of the last
        transfer's stream, read before it idles out (1 s); gwa_show: gwa's
        `rdma show`, read already."""
        a = gwa_show.get("sending", [])
        b = self.topo.ctl("gwb", "rdma", "show").get("receiving", [])
        return (max([s["cached_peak_bytes"] for s in a if s["qp"] == self.qp] or [0]),
                max([s["max_depth"] for s in b if s["qp"] == self.qp] or [0]))

    def peak_rss_mib(self, node):
        """aigwd's peak resident memory so far (VmHWM)."""
        with open(f"/proc/{self.topo.agent_pid(node)}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def close(self):
        if self.delay_line:
            self.delay_line.terminate()
            self.delay_line.wait(timeout=10)
        self.topo.down()


def table(b, a, rtt, losses):
    pace = f"paced at {a.rate_mbps:g} Mbit/s" if a.rate_mbps else "unpaced"
    print(f"RoCEv2 goodput through gwa and gwb (aigwd), {a.packets} packets of 1024 bytes, "
          f"window {a.window}, {pace}, median of {a.runs} runs; WAN round trip "
          + (f"{rtt:g} ms (delay line)" if rtt else "of the lab (no added delay)"))
    print(f"{'loss':>7} | {'go-back-N Mbit/s':>16} {'resent':>7} | {'proxy Mbit/s':>12} "
          f"{'of loss-free':>12} {'NACK-resent':>11} {'host resent':>11} {'out of order':>12} "
          f"{'cache KiB':>9} {'held':>5}")
    base = None
    pps = []
    for loss in losses:
        row = {}
        for on in (False, True):
            b.set_proxy(on)
            good, resent, ooo, gw_resent, peaks = [], [], [], [], [(0, 0)]
            for run in range(a.runs):
                b.loss(loss, seed=11 + run)
                (u0, c0), p0 = b.proxy_cpu_s(), b.proxy_packets() if on else 0
                a0 = b.topo.ctl("gwa", "rdma", "show").get("counters", {}) if on else {}
                rq, rs = b.transfer()
                if on:
                    show = b.topo.ctl("gwa", "rdma", "show")
                    a1 = show.get("counters", {})
                    gw_resent.append(a1.get("resent", 0) - a0.get("resent", 0))
                    peaks.append(b.stream_peaks(show))
                    if loss == 0:
                        u1, c1 = b.proxy_cpu_s()
                        n = b.proxy_packets() - p0
                        if u1 > u0 and c1 > c0:
                            pps.append((n / (u1 - u0), n / (c1 - c0)))
                b.loss(0, 0)
                good.append(rq["goodput_mbps"] if rq["done"] else 0.0)
                resent.append(rq["retransmitted"])
                ooo.append(rs["out_of_order"])
            row[on] = (statistics.median(good), statistics.median(resent),
                       statistics.median(ooo), statistics.median(gw_resent or [0]),
                       max(p[0] for p in peaks), max(p[1] for p in peaks))
        if base is None:
            base = (row[False][0], row[True][0])
        g0, r0 = row[False][:2]
        g1, r1, o1, n1, cache, held = row[True]
        print(f"{loss * 100:>6.2f}% | {g0:>16.0f} {r0:>7.0f} | {g1:>12.0f} "
              f"{g1 / base[1] if base[1] else 0:>12.2f} {n1:>11.0f} {r1:>11.0f} {o1:>12.0f} "
              f"{cache / 1024:>9.0f} {held:>5}"
              f"   (go-back-N {g0 / base[0] if base[0] else 0:.2f} of its loss-free)", flush=True)
    print(f"aigwd's peak resident memory so far: gwa {b.peak_rss_mib('gwa'):.0f} MiB, "
          f"gwb {b.peak_rss_mib('gwb'):.0f} MiB")
    return pps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--packets", type=int, default=20000)
    ap.add_argument("--window", type=int, default=1024)
    ap.add_argument("--rtts", default="0", help="WAN round trips in ms, e.g. 0,1,10")
    ap.add_argument("--losses", default=",".join(f"{x:g}" for x in LOSSES))
    ap.add_argument("--rate-mbps", type=float, default=0,
                    help="the requester's rate limit (0: as fast as its window allows)")
    ap.add_argument("--aigwd", help="another aigwd binary to measure (default: the build's)")
    a = ap.parse_args()
    rtts = [float(x) for x in a.rtts.split(",")]
    losses = [float(x) for x in a.losses.split(",")]
    b = Bench(os.path.abspath(a.build), a.packets, a.window, delay=any(rtts), aigwd=a.aigwd,
              rate_mbps=a.rate_mbps)
    pps = []
    try:
        for rtt in rtts:
            if any(rtts):
                b.set_rtt(rtt)
            pps += table(b, a, rtt, losses)
        if pps:
            user = statistics.median(p[0] for p in pps) / 1e6
            total = statistics.median(p[1] for p in pps) / 1e6
            print(f"proxy: {user:.2f} Mpps per core of its threads' user CPU, {total:.2f} Mpps "
                  f"per core of user + system (the kernel's copy-mode transmit and veth "
                  f"delivery in their syscalls); median of {len(pps)} lossless runs, both "
                  f"gateways' packets over both gateways' proxy threads "
                  f"(tests/bench/rdma_pps.py isolates each side on a CPU of its own)")
    finally:
        b.close()


if __name__ == "__main__":
    main()
