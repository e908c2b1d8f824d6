#!/usr/bin/python3
"""The shaped path's cost against the XDP fast path (issue 13), per packet,
through a real gateway.

The lab of deploy/lab/topology.py (host1 - gwa - core - gwb - host2). On
gwa, UDP to port 5201 is tenant "shaped", with a rate at the WAN port's
speed (10 Gbit/s on veth: the queue never holds anything back, so what is
measured is the path, not the shaper): encapsulated in XDP, passed to the
kernel, tc_customer_ingress, the WAN port's HTB. UDP to 5202 is tenant
"fast", unshaped: encapsulated and redirected in XDP. The tenants take
turns. Two generators (--generator):
  xdp (default): aigw-xdp-gen (tests/bench/xdp_gen.c, built here with cc)
        sends 60-byte UDP frames out of host1's veth by XDP_TX, so gwa's
        customer port receives XDP frames as from a NIC;
  iperf3: iperf3 -u -b 0 (256-byte payloads) from host1's UDP socket: the
        veth must first copy every skb into an XDP buffer, a cost both
        paths share (and host2's iperf3 reports what arrived).

gwa-h1 (the customer port) runs threaded NAPI, so all of gwa's work for
a packet (XDP; for the shaped path also the skb, TC and the HTB up to the
WAN veth's transmit) runs in that port's NAPI kernel thread; its CPU time
(/proc/PID/schedstat, ns) over the packets gwa forwarded (its `fwd`
counter) is the cost per packet. Printed per run, then medians and the
ratio shaped / fast.

Run (root): tests/bench/shaping.py [--build build] [--runs 5] [--seconds 3]
            [--generator xdp|iperf3]
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "deploy", "lab"))
import topology as T  # noqa: E402

PORTS = {"shaped": 5201, "fast": 5202}


class Bench:
    def __init__(self, build):
        self.topo = T.Topology(f"aigwt-bench-{os.getpid()}-",
                               modes={"gwa": "aigw", "core": "transit", "gwb": "aigw"},
                               build_dir=build)
        self.topo.up(start_agents=False)
        g = self.topo.configs["gwa"]
        g["tenants"] = [{"name": "shaped", "id": 7, "rate": "10gbit"}, {"name": "fast", "id": 8}]
        g["classification"] = {"rules": [
            {"name": t, "match": {"protocol": "udp", "dport": str(p)}, "set": {"tenant": t}}
            for t, p in PORTS.items()]}
        for n in ("gwa", "gwb"):
            self.topo.write_config(n)
            self.topo.start_agent(n)
        self.topo.wait_ping("host1", T.SITES["gwb"].host4(), attempts=4)
        self.cust = T.SITES["gwa"].cust_if
        self.topo.run("gwa", ["sh", "-c", f"echo 1 > /sys/class/net/{self.cust}/threaded"])
        self.napi = self.napi_threads()

    def napi_threads(self):
        """PIDs of the NAPI threads of gwa's customer port."""
        pids = []
        for comm in glob.glob("/proc/[0-9]*/comm"):
            try:
                name = open(comm).read().strip()
            except OSError:
                continue
            if name.startswith(f"napi/{self.cust}-"):
                pids.append(comm.split("/")[2])
        if not pids:
            raise SystemExit(f"no NAPI thread for {self.cust} (threaded NAPI?)")
        return pids

    def cpu_ns(self):
        return sum(int(open(f"/proc/{p}/schedstat").read().split()[0]) for p in self.napi)

    def fwd(self):
        s = self.topo.ctl("gwa", "stats", "show")
        return next(i["fwd"]["packets"] for i in s["interfaces"]
                    if i["name"] == self.cust)

    def gen_frame(self, port):
        """Ethernet/IPv4/UDP host1 -> host2:port, 60 bytes, as hex."""
        from scapy.all import IP, UDP, Ether, Raw, raw  # noqa: E402
        f = Ether() / IP(src=T.SITES["gwa"].host4(), dst=T.SITES["gwb"].host4(), ttl=64) / \
            UDP(sport=4000, dport=port) / Raw(b"\0" * 18)
        return raw(f).hex()

    def run_xdp(self, tenant, seconds, gen):
        t, site = self.topo, T.SITES["gwa"]
        mac = {n: t.run(n, ["cat", f"/sys/class/net/{d}/address"]).stdout.strip()
               for n, d in (("host1", "eth0"), ("gwa", self.cust))}
        f0, c0 = self.fwd(), self.cpu_ns()
        t.run("host1", [gen, "--dev", "eth0", "--dst-mac", mac["gwa"], "--src-mac",
                        mac["host1"], "--frame", self.gen_frame(PORTS[tenant]), "--seconds",
                        str(seconds), "--count", "50000000", "--cpu", "0"], timeout=seconds + 30)
        f1, c1 = self.fwd(), self.cpu_ns()
        pk = f1 - f0
        return {"tenant": tenant, "packets": pk, "ns_per_packet": (c1 - c0) / max(pk, 1),
                "kpps": pk / seconds / 1e3, "received_mbps": float("nan"), "lost_percent": 0.0}

    def run(self, tenant, seconds):
        t, port, dst = self.topo, PORTS[tenant], T.SITES["gwb"].host4()
        srv = t.popen("host2", ["iperf3", "-s", "-1", "-J", "-p", str(port), "-B", dst])
        t.wait_listen("host2", port)
        f0, c0 = self.fwd(), self.cpu_ns()
        cli = t.run("host1", ["iperf3", "-c", dst, "-p", str(port), "-u", "-b", "0", "-l", "256",
                              "-t", str(seconds), "-J"], timeout=seconds + 30)
        f1, c1 = self.fwd(), self.cpu_ns()
        out, _ = srv.communicate(timeout=30)
        recv = json.loads(out)["end"]["sum_received"]
        sent = json.loads(cli.stdout)["end"]["sum"]
        pk = f1 - f0
        return {"tenant": tenant, "packets": pk, "ns_per_packet": (c1 - c0) / max(pk, 1),
                "kpps": pk / seconds / 1e3, "received_mbps": recv["bits_per_second"] / 1e6,
                "lost_percent": recv["lost_percent"], "sent_packets": sent.get("packets", 0)}

    def close(self):
        self.topo.down()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("AIGW_BUILD_DIR", "build"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--generator", choices=("xdp", "iperf3"), default="xdp")
    a = ap.parse_args()
    gen = None
    if a.generator == "xdp":
        gen = os.path.join(tempfile.mkdtemp(prefix="aigw-bench-"), "aigw-xdp-gen")
        subprocess.run(["cc", "-O2", "-Wall", "-o", gen, os.path.join(HERE, "xdp_gen.c"), "-lbpf"],
                       check=True)
    b = Bench(os.path.abspath(a.build))
    res = {"shaped": [], "fast": []}
    try:
        for i in range(a.runs):
            for tenant in ("fast", "shaped"):
                r = b.run_xdp(tenant, a.seconds, gen) if gen else b.run(tenant, a.seconds)
                res[tenant].append(r)
                print(f"run {i + 1} {tenant:6}: {r['packets']:8d} pkts {r['kpps']:7.1f} kpps  "
                      f"{r['ns_per_packet']:6.0f} ns/pkt in gwa's NAPI thread"
                      + ("" if gen else f"  received {r['received_mbps']:7.1f} Mbit/s "
                                        f"(lost {r['lost_percent']:.1f} %)"),
                      flush=True)
    finally:
        b.close()
        if gen:
            os.unlink(gen)
            os.rmdir(os.path.dirname(gen))
    med = {t: statistics.median(r["ns_per_packet"] for r in rs) for t, rs in res.items()}
    kpps = {t: statistics.median(r["kpps"] for r in rs) for t, rs in res.items()}
    print(f"\n{a.generator} generator, median over {a.runs} runs: fast path {med['fast']:.0f} ns/pkt ({kpps['fast']:.0f} kpps), "
          f"shaped path {med['shaped']:.0f} ns/pkt ({kpps['shaped']:.0f} kpps); "
          f"ratio shaped/fast {med['shaped'] / med['fast']:.2f}x")


if __name__ == "__main__":
    main()
