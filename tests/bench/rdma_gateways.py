#!/usr/bin/python3
"""RoCEv2 goodput through two real aigw gateways (aigwd, XDP, AF_XDP), with
and without the RDMA proxy, against WAN loss; and the proxy's packets per
second per core of CPU its threads used.

The lab of deploy/lab/topology.py: host1 (aigw-roce-ep requester) - gwa -
core (a plain IPv6 router) - gwb - host2 (responder). RoCEv2 (UDP 4791) is
classified into tenant "ai" on both gateways; "proxy" selects it for the
proxy (rdma_proxy.select), "go-back-N" selects nothing (the XDP fast path).
The loss is aigw-xdp-loss on the core's port from gwa (seeded; data and
resends, not ACKs or NACKs). This lab adds no delay: the round trip is the
namespaces' (tens of microseconds); tests/bench/rdma_goodput.py has the
1 ms / 10 ms table with the proxy's logic in a relay.

pps per core: packets the two gateways' proxies sent on (to hosts and to
the WAN, from `aigwctl rdma show`) over the CPU time of their aigw-rdma-q*
threads (/proc, utime + stime) during the lossless proxied runs.

Run (root): tests/bench/rdma_gateways.py [--build build] [--runs 3] [--packets 20000]
"""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "deploy", "lab"))
import topology as T  # noqa: E402

LOSSES = [0.0, 0.0001, 0.001, 0.01, 0.02]
SELECT = {"select": [{"tenant": "ai"}], "nack_ms": 3, "give_up_ms": 100, "cache_ms": 100}
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, build, packets):
        self.tools = os.path.join(build, "tests", "tools")
        self.packets = packets
        self.topo = T.Topology(f"aigwt-bench-{os.getpid()}-",
                               modes={"gwa": "aigw", "core": "transit", "gwb": "aigw"},
                               build_dir=build)
        self.topo.up(start_agents=False)
        for g in ("gwa", "gwb"):
            c = self.topo.configs[g]
            c["tenants"] = [{"name": "ai", "id": 5}]
            c["classification"] = {"rules": [{
                "name": "roce", "match": {"protocol": "udp", "dport": "4791"},
                "set": {"tenant": "ai", "class": "training"}}]}
            c["rdma_proxy"] = dict(SELECT)
            self.topo.write_config(g)
            self.topo.start_agent(g)
        for src, dst in (("host1", T.SITES["gwb"].host6()), ("host2", T.SITES["gwa"].host6())):
            self.topo.wait_ping(src, dst, attempts=4)
        self.proxy_on = True
        self.qp = 0x100

    def tool(self, node, *args, **kw):
        return self.topo.run(node, [os.path.join(self.tools, args[0]), *map(str, args[1:])], **kw)

    def set_proxy(self, on):
        if on == self.proxy_on:
            return
        for g in ("gwa", "gwb"):
            self.topo.configs[g]["rdma_proxy"] = dict(SELECT) if on else {"select": []}
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
                      1024, "--mtu", 1024, "--timeout-ms", 100, "--deadline-s", 60, *ids,
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

    def close(self):
        self.topo.down()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--packets", type=int, default=20000)
    a = ap.parse_args()
    b = Bench(os.path.abspath(a.build), a.packets)
    try:
        print(f"RoCEv2 goodput through gwa and gwb (aigwd), {a.packets} packets of 1024 bytes, "
              f"window 1024, median of {a.runs} runs; no added delay")
        print(f"{'loss':>7} | {'go-back-N Mbit/s':>16} {'resent':>7} | {'proxy Mbit/s':>12} "
              f"{'of loss-free':>12} {'NACK-resent':>11} {'host resent':>11} {'out of order':>12}")
        base = None
        pps = []
        for loss in LOSSES:
            row = {}
            for on in (False, True):
                b.set_proxy(on)
                good, resent, ooo, gw_resent = [], [], [], []
                for run in range(a.runs):
                    b.loss(loss, seed=11 + run)
                    (u0, c0), p0 = b.proxy_cpu_s(), b.proxy_packets() if on else 0
                    a0 = b.topo.ctl("gwa", "rdma", "show").get("counters", {}) if on else {}
                    rq, rs = b.transfer()
                    if on:
                        a1 = b.topo.ctl("gwa", "rdma", "show").get("counters", {})
                        gw_resent.append(a1.get("resent", 0) - a0.get("resent", 0))
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
                           statistics.median(ooo), statistics.median(gw_resent or [0]))
            if base is None:
                base = row[True][0]
            g0, r0, _, _ = row[False]
            g1, r1, o1, n1 = row[True]
            print(f"{loss * 100:>6.2f}% | {g0:>16.0f} {r0:>7.0f} | {g1:>12.0f} "
                  f"{g1 / base if base else 0:>12.2f} {n1:>11.0f} {r1:>11.0f} {o1:>12.0f}")
        if pps:
            user = statistics.median(p[0] for p in pps) / 1e6
            total = statistics.median(p[1] for p in pps) / 1e6
            print(f"proxy: {user:.2f} Mpps per core of its threads' user CPU, {total:.2f} Mpps "
                  f"per core of user + system (the kernel's copy-mode transmit and veth "
                  f"delivery in their syscalls); median of {len(pps)} lossless runs, both "
                  f"gateways' packets over both gateways' proxy threads")
    finally:
        b.close()


if __name__ == "__main__":
    main()
