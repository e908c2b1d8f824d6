#!/usr/bin/python3
"""IPFIX end to end: gwa classifies and tracks flows, exports them to nfcapd
(Debian nfdump) running in gwa's namespace on 127.0.0.1, and nfdump must count
exactly what the generators sent through gwa.

  - UDP host1 -> host2, IPv4 and IPv6 (direction out: steered into the SRv6
    policy to-site-b), and UDP host2 -> host1 (direction in: decapsulated at
    gwa). Known counts and sizes: the L3 bytes (IP header + UDP + payload)
    are what aigw counts and what IPFIX octetDeltaCount carries, and what
    flowtools.py udp-send reports.
  - TCP host1 -> host2 (a 300 kB transfer): both of its flows at gwa (data
    out, ACKs in) are compared with tshark captures where the packets leave
    the lab's gateways (host2 eth0 for out, host1 eth0 for in).
  - flows.idle_timeout is 2 s: the flows end, gwa reports them, then nfcapd
    is stopped (SIGTERM closes its file) and `nfdump -R DIR -o json` read.
  - nfdump 1.7 does not decode the RFC 9487 SRv6 elements (nor our
    enterprise elements): a second collector, a plain UDP socket, keeps the
    datagrams; tshark decodes them (written to a pcap) and the SRv6 elements
    of the out flows must name the policy's segments.

Namespaces: aigwt-e2e-<pid>-* (AIGW_E2E_PREFIX replaces "aigwt-e2e-").
"""

import ipaddress
import json
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_common as E  # noqa: E402

if os.environ.get("AIGW_E2E_PREFIX"):
    E.PREFIX_BASE = os.environ["AIGW_E2E_PREFIX"]

A, B = E.A, E.B
NFCAPD_PORT, RAW_PORT = 9995, 9996
UDP4_PORT, UDP6_PORT, UDP_IN_PORT, TCP_PORT = 9200, 9201, 9202, 9210
TCP_BYTES = 300_000
IDLE_TIMEOUT = 2
PEN = 32473
SEGMENTS = ["fc00:c::e", B.sid("d46")]  # default policy to-site-b of gwa

# A collector that keeps every datagram: one hex line each (bounded run).
RAW_COLLECTOR = """\
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.5)
end = time.monotonic() + float(sys.argv[3])
with open(sys.argv[2], "w") as f:
    print("ready", flush=True)
    while time.monotonic() < end:
        try:
            d = s.recv(65535)
        except socket.timeout:
            continue
        f.write(d.hex() + "\\n")
        f.flush()
"""

# The kept datagrams as a pcap (an IPv4/UDP envelope around each) for tshark.
PCAP_FROM_HEX = """\
import sys
from scapy.all import IP, UDP, Raw, wrpcap
pkts = [IP(src="127.0.0.1", dst="127.0.0.1") / UDP(sport=40000, dport=4739) /
        Raw(bytes.fromhex(l.strip())) for l in open(sys.argv[1]) if l.strip()]
wrpcap(sys.argv[2], pkts)
print(len(pkts))
"""


def have(tool):
    return shutil.which(tool) is not None


class IpfixE2E(E.TopoCase):
    MODES = {"gwa": "aigw", "core": "aigw", "gwb": "aigw"}

    @classmethod
    def configure(cls, topo):
        cfg = topo.configs["gwa"]
        cfg["tenants"] = [{"name": "acme", "id": 7}]
        cfg["classification"] = {"rules": [
            {"name": "acme-udp", "match": {"protocol": "udp", "dport": f"{UDP4_PORT}-{UDP6_PORT}"},
             "set": {"tenant": "acme", "class": "training"}},
        ]}
        cfg["flows"] = {"enabled": True, "idle_timeout": f"{IDLE_TIMEOUT}s",
                        "active_timeout": "60s"}
        cfg["accounting"] = {"usage_dir": topo.path("usage-gwa"),
                             "state_dir": topo.path("state-gwa")}
        cfg["ipfix"] = {"collectors": [f"127.0.0.1:{NFCAPD_PORT}", f"127.0.0.1:{RAW_PORT}"],
                        "observation_domain": 42, "template_refresh": "10s",
                        "enterprise": PEN}

    @classmethod
    def setUpClass(cls):
        missing = [t for t in ("nfcapd", "nfdump", "tshark") if not have(t)]
        if missing:
            raise unittest.SkipTest(f"missing {' '.join(missing)} (Debian nfdump, tshark)")
        super().setUpClass()
        t = cls.topo
        cls.flowdir = t.path("nfcapd")
        os.makedirs(cls.flowdir, exist_ok=True)
        cls.rawfile = t.path("ipfix-raw.hex")
        try:
            cls.nfcapd = t.popen("gwa", ["nfcapd", "-w", cls.flowdir, "-b", "127.0.0.1",
                                         "-p", str(NFCAPD_PORT), "-B", "4194304"])
            cls.raw = t.popen("gwa", [E.PY, "-c", RAW_COLLECTOR, str(RAW_PORT), cls.rawfile,
                                      "240"])
            assert cls.raw.stdout.readline().strip() == b"ready"
            deadline = time.monotonic() + 10
            while f":{NFCAPD_PORT:04X} " not in t.run("gwa", ["cat", "/proc/net/udp"]).stdout:
                if cls.nfcapd.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nfcapd not listening: {cls.nfcapd.stderr.read()}")
                time.sleep(0.1)
        except BaseException:
            cls.tearDownClass()
            raise

    def send_udp(self, src, dst, port, count, size, rate=500):
        rcv = self.start_flow("host2" if src == "host1" else "host1", "udp-recv", "--bind", dst,
                              "--port", str(port), "--idle", "2", "--max-time", "30")
        time.sleep(0.5)  # the receiver binds
        snd = self.start_flow(src, "udp-send", "--dst", dst, "--port", str(port), "--rate",
                              str(rate), "--count", str(count), "--size", str(size), "--no-end")
        s = self.finish_flow(snd, 60)
        r = self.finish_flow(rcv, 40)
        self.assertEqual(s["sent"], count, s)
        self.assertEqual(r["unique"], count, f"lost in the lab: {r}{self.diag()}")
        return s

    def capture(self, node, path):
        """tshark on node's eth0 (TCP_PORT only); returns once it captures."""
        p = self.topo.popen(node, ["tshark", "-i", "eth0", "-q", "-w", path, "-f",
                                   f"tcp port {TCP_PORT}"])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = p.stderr.readline()
            if not line:
                self.fail(f"tshark on {node} exited: {p.wait()}")
            if b"Capturing on" in line:
                return p
        self.fail(f"tshark on {node} did not start")

    def captured(self, path, src):
        """(packets, sum of IPv4 total lengths) from src in a capture."""
        cp = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "ip.len", "-Y",
                             f"ip.src == {src} && tcp.port == {TCP_PORT}"], text=True,
                            capture_output=True, timeout=60)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        lens = [int(x) for x in cp.stdout.split()]
        return len(lens), sum(lens)

    def test_flows_reach_nfdump_exactly(self):
        t = self.topo
        sent = {
            "udp4": self.send_udp("host1", B.host4(), UDP4_PORT, 300, 700),
            "udp6": self.send_udp("host1", B.host6(), UDP6_PORT, 200, 1000),
            "in4": self.send_udp("host2", A.host4(), UDP_IN_PORT, 150, 400),
        }
        cap_out, cap_in = t.path("tcp-host2.pcap"), t.path("tcp-host1.pcap")
        tsh = [self.capture("host2", cap_out), self.capture("host1", cap_in)]
        s, r = self.tcp_transfer(B.host4(), TCP_BYTES, port=TCP_PORT)
        self.assertEqual(r["sha256"], s["sha256"])
        time.sleep(1)
        for p in tsh:
            t.stop_proc(p, timeout=10)
        # Out: what host2 received from host1; in: what host1 received from host2.
        tcp_out, tcp_in = self.captured(cap_out, A.host4()), self.captured(cap_in, B.host4())
        sent["tcp_out"] = {"sent": tcp_out[0], "l3_bytes": tcp_out[1]}
        sent["tcp_in"] = {"sent": tcp_in[0], "l3_bytes": tcp_in[1]}
        # Flows end after the idle timeout; the tracker reports them within
        # its scan interval. Then nfcapd closes its file on SIGTERM.
        time.sleep(IDLE_TIMEOUT + 4)
        t.stop_proc(self.nfcapd, timeout=10)
        out = subprocess.run(["nfdump", "-R", self.flowdir, "-o", "json"], text=True,
                             capture_output=True, timeout=60, env={**os.environ, "TZ": "UTC"})
        self.assertEqual(out.returncode, 0, out.stderr)
        recs = json.loads(out.stdout or "[]")

        def pick(port, proto=17, field="dst_port"):
            return [r for r in recs if r.get(field) == port and r.get("proto") == proto]

        for key, rs, src, dst, direction in (
                ("udp4", pick(UDP4_PORT), A.host4(), B.host4(), 0),
                ("udp6", pick(UDP6_PORT), A.host6(), B.host6(), 0),
                ("in4", pick(UDP_IN_PORT), B.host4(), A.host4(), 1),
                ("tcp_out", pick(TCP_PORT, 6), A.host4(), B.host4(), 0),
                ("tcp_in", pick(TCP_PORT, 6, "src_port"), B.host4(), A.host4(), 1)):
            self.assertTrue(rs, f"no nfdump record for {key}: {recs[:5]}{self.diag()}")
            pk = sum(r["in_packets"] for r in rs)
            by = sum(r["in_bytes"] for r in rs)
            E.T.log(f"{key}: nfdump {pk} packets {by} bytes in {len(rs)} record(s); "
                    f"sent {sent[key]['sent']} packets {sent[key]['l3_bytes']} L3 bytes")
            self.assertEqual(pk, sent[key]["sent"], f"{key}: {rs}")
            self.assertEqual(by, sent[key]["l3_bytes"], f"{key}: {rs}")
            for r in rs:
                self.assertEqual(r.get("src4_addr", r.get("src6_addr")), src, r)
                self.assertEqual(r.get("dst4_addr", r.get("dst6_addr")), dst, r)
                self.assertEqual(r.get("direction"), direction, r)
                # The customer port: in = ingress (input_snmp), out = egress.
                snmp = r["input_snmp"] if direction == 0 else r["output_snmp"]
                self.assertGreater(snmp, 0, r)
                if key.startswith("tcp"):  # the OR of the flags seen: SYN, ACK and FIN
                    self.assertTrue(set("SAF") <= set(r.get("tcp_flags", "")), r)

    def test_srv6_elements_in_tshark(self):
        # Runs after the nfdump test (alphabetical): the raw collector has
        # everything gwa exported by then.
        if not os.path.exists(self.rawfile) or not os.path.getsize(self.rawfile):
            self.skipTest("no IPFIX captured (the nfdump test sends the traffic)")
        pcap = self.topo.path("ipfix.pcap")
        cp = subprocess.run([E.PY, "-c", PCAP_FROM_HEX, self.rawfile, pcap], text=True,
                            capture_output=True, timeout=60)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        cp = subprocess.run(["tshark", "-r", pcap, "-d", "udp.port==4739,cflow", "-T", "fields",
                             "-e", "cflow.od_id", "-e", "cflow.dstport",
                             "-e", "cflow.enterprise_private_entry",
                             "-E", "occurrence=a", "-E", "aggregator=|"], text=True,
                            capture_output=True, timeout=60)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        values = cp.stdout.replace("\t", "|").replace("\n", "|").split("|")
        seg = lambda a: ipaddress.IPv6Address(a).packed.hex()  # noqa: E731
        active = seg(SEGMENTS[0])
        section = "".join(seg(s) for s in reversed(SEGMENTS))
        clean = [v.replace(":", "").strip() for v in values]
        self.assertIn("42", clean, "observation domain 42 not seen")
        self.assertIn(active, clean, "srhActiveSegmentIPv6 = first segment not seen")
        self.assertIn(section, clean, "srhSegmentIPv6ListSection not seen")
        self.assertIn("to-site-b".encode().hex(), clean, "policy name not seen")
        self.assertIn("acme".encode().hex(), clean, "tenant name not seen")


if __name__ == "__main__":
    E.main()
