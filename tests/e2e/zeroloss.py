"""Steady traffic through the lab while something is done to the agents
(restarts, a package upgrade), judged independently of aigw's own counters:
  * the receivers: every datagram the senders sent arrives, none twice;
  * tshark on the core's two links (outer headers only, BPF filter): no
    customer packet crosses the WAN unencapsulated (routed natively by a
    gateway's kernel, a leak between tenants and the underlay), while the
    SRv6 frames are there (the capture works);
  * the agents' Prometheus endpoint: the interface counters scraped after
    every action never go down, and grow by at least what was sent
    (counters continue, no reset).
UDP over IPv4 host1 -> host2 and over IPv6 host2 -> host1; gwa and gwb run
aigw, the core the kernel."""

import re
import subprocess
import time

import e2e_common as E
from e2e_common import A, B

METRICS = "127.0.0.1:9469"  # the agents' default metrics_listen (in each namespace)
PORT4, PORT6 = 7100, 7101
SIZE = 200

FETCH = ("import sys, urllib.request\n"
         "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())\n")


class ZeroLossCase(E.TopoCase):
    MODES = {"gwa": "aigw", "core": "kernel", "gwb": "aigw"}
    KERNEL_FALLBACK = "transit"  # the core is there to be captured on, not judged

    def counter(self, node, ifname, name):
        """aigw_interface_<name>_packets_total of ifname, from node's /metrics."""
        cp = self.topo.run(node, [E.PY, "-c", FETCH, f"http://{METRICS}/metrics"], check=False)
        self.assertEqual(cp.returncode, 0, f"scrape of {node}: {cp.stderr}")
        m = re.search(rf'^aigw_interface_{name}_packets_total\{{interface="{re.escape(ifname)}"\}} '
                      r'(\S+)$', cp.stdout, re.M)
        self.assertIsNotNone(m, f"no aigw_interface_{name}_packets_total for {ifname} on {node}")
        return float(m.group(1))

    def counters(self):
        return {("gwa", "encap"): self.counter("gwa", A.cust_if, "encap"),
                ("gwa", "decap"): self.counter("gwa", A.wan_if, "decap"),
                ("gwb", "encap"): self.counter("gwb", B.cust_if, "encap"),
                ("gwb", "decap"): self.counter("gwb", B.wan_if, "decap")}

    def frames(self, pcap):
        """(SRv6 frames, frames whose outer source is a customer host)."""
        cp = subprocess.run(["tshark", "-n", "-r", pcap, "-T", "fields", "-e", "eth.type",
                             "-e", "ipv6.nxt"], capture_output=True, text=True, timeout=120)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        srv6 = native = 0
        for line in cp.stdout.splitlines():
            etype, _, nxt = line.partition("\t")
            if etype == "0x86dd" and nxt.split(",")[0] == "43":
                srv6 += 1
            else:
                native += 1
        return srv6, native

    def restart(self, g, label):
        """SIGTERM (the programs stay attached), a moment with no agent, a
        new agent (which takes the programs over)."""
        rc = self.topo.stop_agent(g, unpin=False)
        self.assertEqual(rc, 0, f"{label}: aigwd on {g} exit code{self.diag([g])}")
        time.sleep(0.3)  # traffic runs with no agent on g
        self.topo.start_agent(g)

    def run_under_traffic(self, actions, rate, seconds):
        """Runs each (label, callable) of actions while both flows send
        rate datagrams a second for `seconds`; then judges as above."""
        t = self.topo
        count = rate * seconds  # per flow, bounded
        before = self.counters()
        flows = [("host2", B.host4(), PORT4, "host1", A.host4(10)),
                 ("host1", A.host6(), PORT6, "host2", B.host6())]
        rcvs = []
        for rnode, dst, port, _, _ in flows:
            rcvs.append(t.popen(rnode, [E.PY, E.FLOWTOOLS, "udp-recv", "--bind", dst, "--port",
                                        str(port), "--idle", "10", "--max-time",
                                        str(seconds + 40)]))
            self.assertTrue(t.wait_listen(rnode, port, proto="udp"), f"udp-recv {port} did not bind")
        # Outer headers only: SRv6 (the positive control) or a customer source.
        bpf = " or ".join(["(ip6 and ip6[6] == 43)"] +
                          [f"(ip src net {s.prefix4}) or (ip6 src net {s.prefix6})" for s in (A, B)])
        pcaps = {ifn: t.path(f"zeroloss-{ifn}.pcap") for ifn in (A.core_if, B.core_if)}
        with E.capture(t, "core", A.core_if, bpf, pcaps[A.core_if], seconds=seconds + 60), \
                E.capture(t, "core", B.core_if, bpf, pcaps[B.core_if], seconds=seconds + 60):
            snds = [t.popen(snode, [E.PY, E.FLOWTOOLS, "udp-send", "--bind", src, "--dst", dst,
                                    "--port", str(port), "--rate", str(rate), "--count",
                                    str(count), "--size", str(SIZE), "--no-end"])
                    for _, dst, port, snode, src in flows]
            time.sleep(2)
            last = self.counters()
            for label, action in actions:
                action()
                now = self.counters()
                for k, v in now.items():
                    self.assertGreaterEqual(v, last[k], f"{label}: {k} went down")
                last = now
            self.assertTrue(all(s.poll() is None for s in snds),
                            "the traffic ended before the actions did: raise seconds")
            sent = [self.finish_flow(s, seconds + 60) for s in snds]
            got = [self.finish_flow(r, 60) for r in rcvs]
        for s, r, (_, dst, port, _, _) in zip(sent, got, flows):
            self.assertEqual(s["sent"], count, s)
            self.assertEqual(r["duplicates"], 0, r)
            self.assertEqual(r["unique"], count, f"to {dst} port {port}: lost across "
                             f"{len(actions)} actions: {r}{self.diag(['gwa', 'gwb'])}")
        for ifn, pcap in pcaps.items():
            srv6, native = self.frames(pcap)
            self.assertEqual(native, 0, f"{ifn}: {native} customer packets crossed the WAN "
                             "unencapsulated")
            self.assertGreaterEqual(srv6, count, f"{ifn}: the capture saw {srv6} SRv6 frames")
        after = self.counters()
        for (g, what), v in after.items():
            self.assertGreaterEqual(v - before[(g, what)], count,
                                    f"{g} {what}: the counters did not continue")
        print(f"\n[e2e] {len(actions)} actions, {len(flows)} flows x {count} datagrams: "
              f"all received, 0 native on the WAN", flush=True)
