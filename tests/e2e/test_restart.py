#!/usr/bin/python3
"""Zero-loss restart (issue 10): aigwd is stopped (SIGTERM) and started again
ten times on each gateway, alternating gwa and gwb, under steady traffic in
both directions (UDP over IPv4 host1 -> host2, over IPv6 host2 -> host1).

A stopped agent leaves its XDP programs attached; they forward with the
pinned maps until the next agent replaces them atomically. Judged
independently of aigw's own counters:
  * the receivers: every datagram the senders sent arrives, none twice;
  * tshark on the core's two links (outer headers only, BPF filter): no
    customer packet crosses the WAN unencapsulated (routed natively by a
    gateway's kernel, a leak between tenants and the underlay), while the
    SRv6 frames are there (the capture works);
  * the agents' Prometheus endpoint: the interface counters scraped before
    and after every restart never go down, and grow by at least what was
    sent (counters continue, no reset)."""

import re
import subprocess
import time

import e2e_common as E
from e2e_common import A, B

T = E.T

PORT4, PORT6 = 7100, 7101
RATE, SECONDS, SIZE = 200, 110, 200  # a restart takes ~3 s here: 20 of them fit
COUNT = RATE * SECONDS  # per flow, bounded
RESTARTS = 10           # per gateway
METRICS = "127.0.0.1:9469"  # the agents' default metrics_listen (in each namespace)

FETCH = ("import sys, urllib.request\n"
         "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())\n")


class ZeroLossRestart(E.TopoCase):
    MODES = {"gwa": "aigw", "core": "kernel", "gwb": "aigw"}

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

    def test_ten_restarts_each_lose_nothing(self):
        t = self.topo
        before = self.counters()
        flows = [("host2", B.host4(), PORT4, "host1", A.host4(10)),
                 ("host1", A.host6(), PORT6, "host2", B.host6())]
        rcvs = []
        for rnode, dst, port, _, _ in flows:
            rcvs.append(t.popen(rnode, [E.PY, E.FLOWTOOLS, "udp-recv", "--bind", dst, "--port",
                                        str(port), "--idle", "10", "--max-time", "150"]))
            self.assertTrue(t.wait_listen(rnode, port, proto="udp"), f"udp-recv {port} did not bind")
        # Outer headers only: SRv6 (the positive control) or a customer source.
        bpf = " or ".join(["(ip6 and ip6[6] == 43)"] +
                          [f"(ip src net {s.prefix4}) or (ip6 src net {s.prefix6})" for s in (A, B)])
        pcaps = {ifn: t.path(f"restart-{ifn}.pcap") for ifn in (A.core_if, B.core_if)}
        with E.capture(t, "core", A.core_if, bpf, pcaps[A.core_if], seconds=SECONDS + 60), \
                E.capture(t, "core", B.core_if, bpf, pcaps[B.core_if], seconds=SECONDS + 60):
            snds = [t.popen(snode, [E.PY, E.FLOWTOOLS, "udp-send", "--bind", src, "--dst", dst,
                                    "--port", str(port), "--rate", str(RATE), "--count",
                                    str(COUNT), "--size", str(SIZE), "--no-end"])
                    for _, dst, port, snode, src in flows]
            time.sleep(2)
            last = self.counters()
            for i in range(2 * RESTARTS):
                g = ("gwa", "gwb")[i % 2]
                rc = t.stop_agent(g, unpin=False)
                self.assertEqual(rc, 0, f"restart {i + 1}: aigwd on {g} exit code{self.diag([g])}")
                time.sleep(0.3)  # traffic runs with no agent on g
                t.start_agent(g)
                now = self.counters()
                for k, v in now.items():
                    self.assertGreaterEqual(v, last[k], f"restart {i + 1} ({g}): {k} went down")
                last = now
            self.assertTrue(all(s.poll() is None for s in snds),
                            "the traffic ended before the restarts did: raise SECONDS")
            sent = [self.finish_flow(s, SECONDS + 60) for s in snds]
            got = [self.finish_flow(r, 60) for r in rcvs]
        for s, r, (_, dst, port, _, _) in zip(sent, got, flows):
            self.assertEqual(s["sent"], COUNT, s)
            self.assertEqual(r["duplicates"], 0, r)
            self.assertEqual(r["unique"], COUNT, f"to {dst} port {port}: lost across "
                             f"{2 * RESTARTS} restarts: {r}{self.diag(['gwa', 'gwb'])}")
        for ifn, pcap in pcaps.items():
            srv6, native = self.frames(pcap)
            self.assertEqual(native, 0, f"{ifn}: {native} customer packets crossed the WAN "
                             "unencapsulated")
            self.assertGreaterEqual(srv6, COUNT, f"{ifn}: the capture saw {srv6} SRv6 frames")
        after = self.counters()
        for (g, what), v in after.items():
            self.assertGreaterEqual(v - before[(g, what)], COUNT,
                                    f"{g} {what}: the counters did not continue across restarts")
        print(f"\n[e2e] {2 * RESTARTS} restarts, {len(flows)} flows x {COUNT} datagrams: "
              f"all received, 0 native on the WAN", flush=True)


if __name__ == "__main__":
    E.main()
