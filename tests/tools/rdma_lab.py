"""A RoCEv2 WAN lab in throw-away namespaces, for the RDMA proxy's tests and
benchmark: requester -- gateway A -- WAN (fixed delay) -- gateway B --
responder. The gateways are either plain two-port bridges or the proxy
(aigw-rdma-relay); the WAN's loss is aigw-xdp-loss on B's WAN port (data
from A is lost, and resends too; NACKs and ACKs are not).

    rq:rqv --- ga_h [ga] ga_w --- dla [dl] dlb --- gb_w [gb] gb_h --- rsv:rs
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "datapath"))
import dptest  # noqa: E402  (Netns, cleanup on exit)

RQ, RS = "fc00:e::1", "fc00:e::2"


class RdmaLab:
    def __init__(self, tools: str):
        self.tools = os.path.abspath(tools)
        self.rq, self.ga, self.dl, self.gb, self.rs = (dptest.Netns(t) for t in
                                                       ("rq", "ga", "dl", "gb", "rs"))
        for ns in (self.ga, self.dl, self.gb):  # bridges: no addresses, nothing of their own
            ns.sysctl("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        for a, an, b, bn in ((self.rq, "rqv", self.ga, "ga_h"), (self.ga, "ga_w", self.dl, "dla"),
                             (self.dl, "dlb", self.gb, "gb_w"), (self.gb, "gb_h", self.rs, "rsv")):
            dptest.sh("ip", "link", "add", an, "netns", a.name, "type", "veth", "peer", "name", bn,
                      "netns", b.name)
        for ns, devs in ((self.rq, ["rqv"]), (self.ga, ["ga_h", "ga_w"]), (self.dl, ["dla", "dlb"]),
                         (self.gb, ["gb_w", "gb_h"]), (self.rs, ["rsv"])):
            ns.ip_batch("link set lo up\n" + "".join(f"link set {d} up\n" for d in devs))
        for ns, dev, addr in ((self.rq, "rqv", RQ), (self.rs, "rsv", RS)):
            ns.ip_batch(f"addr add {addr}/64 dev {dev} nodad\n")
            # the bridges relay frames as they are: no checksum left to a device
            dptest.sh("ip", "netns", "exec", ns.name, "ethtool", "-K", dev, "tx", "off")
        self.procs = []

    def tool(self, ns, *args, **kw):
        return subprocess.run(["ip", "netns", "exec", ns.name, os.path.join(self.tools, args[0]),
                               *map(str, args[1:])], capture_output=True, text=True, **kw)

    def _start(self, ns, *args):
        p = subprocess.Popen(["ip", "netns", "exec", ns.name, os.path.join(self.tools, args[0]),
                              *map(str, args[1:])], stdout=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        if '"ready"' not in line:
            raise RuntimeError(f"{args[0]} did not start: {line!r}")
        self.procs.append((args[0], p))
        return p

    def start(self, rtt_ms: float, proxy: bool, nack_ms: int = 3):
        """The WAN's delay (half the round trip each way) and the gateways."""
        self.stop()
        self._start(self.dl, "aigw-delay-line", "--a", "dla", "--b", "dlb",
                    "--delay-us", int(rtt_ms * 500), "--queue", 200000)
        for ns, h, w in ((self.ga, "ga_h", "ga_w"), (self.gb, "gb_h", "gb_w")):
            if proxy:
                self._start(ns, "aigw-rdma-relay", "--host", h, "--wan", w,
                            "--nack-ms", max(nack_ms, int(rtt_ms * 1.5) + 1),
                            "--give-up-ms", max(100, int(rtt_ms * 10)))
            else:
                self._start(ns, "aigw-delay-line", "--a", h, "--b", w, "--delay-us", 0)
        # neighbours resolved before the first window: else the kernel
        # queues 3 packets of it and drops the rest (not the WAN's loss)
        dptest.sh("ip", "netns", "exec", self.rq.name, "ping", "-q", "-c", "2", "-i", "0.2", RS)

    def stop(self) -> dict:
        """Stops the gateways and the WAN; their last JSON lines by name
        (relay A and B as aigw-rdma-relay/0 and /1)."""
        out = {}
        for i, (name, p) in enumerate(self.procs):
            p.terminate()
            text, _ = p.communicate(timeout=10)
            lines = [l for l in text.splitlines() if l.startswith("{")]
            if lines:
                out[f"{name}/{i}"] = json.loads(lines[-1])
        self.procs = []
        return out

    def loss(self, fraction: float, seed: int):
        if fraction:
            r = self.tool(self.gb, "aigw-xdp-loss", "attach", "gb_w", "--loss", fraction,
                          "--seed", seed)
            if r.returncode:
                raise RuntimeError(r.stderr)
        else:
            self.tool(self.gb, "aigw-xdp-loss", "detach", "gb_w")

    def loss_stats(self) -> dict:
        return json.loads(self.tool(self.gb, "aigw-xdp-loss", "stats", "gb_w").stdout)

    def transfer(self, packets: int, window: int = 1024, mtu: int = 1024, timeout_ms: int = 100,
                 psn: int = 0xfffff0, qp: int = 0x11):
        """(requester, responder) JSON of one transfer. A new QP of real
        hosts starts at a new PSN: give each transfer its own."""
        ids = ["--psn", str(psn), "--qp", str(qp)]
        resp = subprocess.Popen(
            ["ip", "netns", "exec", self.rs.name, os.path.join(self.tools, "aigw-roce-ep"),
             "responder", "--local", RS, "--packets", str(packets), "--deadline-s", "75",
             "--linger-ms", "100", *ids], stdout=subprocess.PIPE, text=True)
        time.sleep(0.2)
        r = self.tool(self.rq, "aigw-roce-ep", "requester", "--local", RQ, "--peer", RS,
                      "--packets", packets, "--window", window, "--mtu", mtu,
                      "--timeout-ms", timeout_ms, "--deadline-s", 60, *ids, timeout=90)
        out, _ = resp.communicate(timeout=90)
        return json.loads(r.stdout), json.loads(out)

    def close(self):
        self.stop()
        for ns in (self.rq, self.ga, self.dl, self.gb, self.rs):
            ns.close()
