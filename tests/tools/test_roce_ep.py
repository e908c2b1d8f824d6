#!/usr/bin/python3
"""The RoCEv2 endpoint emulator (aigw-roce-ep) and the WAN loss stage
(aigw-xdp-loss) between two namespaces joined by a veth pair: without loss
a transfer is in order end to end; with seeded 1 % loss of RoCEv2 datagrams
on the responder's side the responder sees PSN sequence errors, NAKs them,
and the requester's go-back-N still completes the transfer, with no ICRC
error either way. (What the RDMA proxy will be measured against.) Over
IPv4, scapy's RoCE layer recomputes the ICRC of every packet captured on
the responder's side (data, resends and ACKs): the endpoint's IPv4 ICRC
agrees with an independent implementation. With --rate-mbps the requester
sends no faster than the rate.

Run: tests/tools/test_roce_ep.py --tools build/tests/tools
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "datapath"))
import dptest  # noqa: E402  (Netns, cleanup on exit)
import roce_pcap  # noqa: E402  (dumpcap capture, scapy's ICRC check)

TOOLS = None
PACKETS = 20000
RQ, RS = "fc00:e::1", "fc00:e::2"
RQ4, RS4 = "192.0.2.1", "192.0.2.2"


class RoceEp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rq = dptest.Netns("rq")
        cls.rs = dptest.Netns("rs")
        dptest.sh("ip", "link", "add", "rqv", "netns", cls.rq.name, "type", "veth",
                  "peer", "name", "rsv", "netns", cls.rs.name)
        for ns, dev, a in ((cls.rq, "rqv", RQ), (cls.rs, "rsv", RS)):
            ns.ip_batch(f"link set lo up\nlink set {dev} up\naddr add {a}/64 dev {dev} nodad\n")
        cls.rq.ip_batch(f"addr add {RQ4}/24 dev rqv\n")
        cls.rs.ip_batch(f"addr add {RS4}/24 dev rsv\n")
        # neighbours resolved first: the kernel keeps only 3 packets of a
        # window sent to an unresolved neighbour
        dptest.sh("ip", "netns", "exec", cls.rq.name, "ping", "-q", "-c", "1", RS)
        dptest.sh("ip", "netns", "exec", cls.rq.name, "ping", "-q", "-c", "1", RS4)
        cls.tmp = tempfile.mkdtemp(prefix="aigwt-roce-")

    @classmethod
    def tearDownClass(cls):
        cls.rq.close()
        cls.rs.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tool(self, ns, *args, **kw):
        return subprocess.run(["ip", "netns", "exec", ns.name, os.path.join(TOOLS, args[0]),
                               *args[1:]], capture_output=True, text=True, **kw)

    def transfer(self, rq_addr=RQ, rs_addr=RS, packets=PACKETS, **extra):
        resp = subprocess.Popen(
            ["ip", "netns", "exec", self.rs.name, os.path.join(TOOLS, "aigw-roce-ep"),
             "responder", "--local", rs_addr, "--packets", str(packets), "--deadline-s", "60"],
            stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)
        args = ["requester", "--local", rq_addr, "--peer", rs_addr, "--packets", str(packets),
                "--deadline-s", "50"]
        for k, v in extra.items():
            args += ["--" + k.replace("_", "-"), str(v)]
        rq = self.tool(self.rq, "aigw-roce-ep", *args, timeout=70)
        out, _ = resp.communicate(timeout=70)
        self.assertEqual(rq.returncode, 0, rq.stderr + rq.stdout)
        self.assertEqual(resp.returncode, 0, out)
        return json.loads(rq.stdout), json.loads(out)

    def test_1_no_loss_in_order(self):
        rq, rs = self.transfer()
        print(f"\n  no loss: {rq['goodput_mbps']:.0f} Mbit/s; requester {rq}; responder {rs}")
        self.assertTrue(rq["done"] and rs["done"])
        self.assertEqual(rs["received"], PACKETS)
        self.assertEqual((rs["out_of_order"], rs["bad_icrc"], rq["bad_icrc"]), (0, 0, 0))
        self.assertEqual(rq["retransmitted"], 0)

    def test_4_rate_limited(self):
        # --rate-mbps: the requester's datagrams (IPv6 + UDP + BTH + 1 KiB +
        # ICRC: 1,088 bytes) leave no faster than the rate, after a first
        # burst of 16
        packets, mbps, wire = 3000, 40, 40 + 8 + 12 + 1024 + 4
        rq, rs = self.transfer(packets=packets, rate_mbps=mbps, window=1024)
        floor = (packets - 16) * wire * 8 / (mbps * 1e6)
        print(f"\n  paced at {mbps} Mbit/s: {rq['seconds']:.3f} s (at least {floor:.3f}); {rq}")
        self.assertEqual((rs["received"], rs["out_of_order"], rq["retransmitted"]), (packets, 0, 0))
        self.assertGreaterEqual(rq["seconds"], 0.99 * floor)  # unpaced: ~0.05 s
        r = self.tool(self.rq, "aigw-roce-ep", "requester", "--local", RQ, "--peer", RS,
                      "--packets", "1", "--rate-mbps", "-1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--rate-mbps", r.stderr)

    def lossy(self, **kw):
        r = self.tool(self.rs, "aigw-xdp-loss", "attach", "rsv", "--loss", "0.01", "--seed", "7")
        self.assertEqual(r.returncode, 0, r.stderr)
        try:
            rq, rs = self.transfer(**kw)
            return rq, rs, json.loads(self.tool(self.rs, "aigw-xdp-loss", "stats", "rsv").stdout)
        finally:
            self.tool(self.rs, "aigw-xdp-loss", "detach", "rsv")

    def test_2_loss_go_back_n(self):
        rq, rs, st = self.lossy()
        print(f"\n  1% loss: {rq['goodput_mbps']:.0f} Mbit/s; requester {rq}; responder {rs};"
              f" loss stage {st}")
        self.assertTrue(rq["done"] and rs["done"])
        self.assertEqual(rs["received"], PACKETS)
        self.assertGreater(st["dropped"], 0)
        self.assertTrue(0.005 < st["dropped"] / st["seen"] < 0.015, st)
        # go-back-N: the gaps reached the responder, which NAKed them, and
        # the requester sent again more than was lost
        self.assertGreater(rs["out_of_order"], 0)
        self.assertGreater(rs["naks_sent"], 0)
        self.assertGreater(rq["naks"] + rq["timeouts"], 0)
        self.assertGreaterEqual(rq["retransmitted"], st["dropped"])
        self.assertEqual((rs["bad_icrc"], rq["bad_icrc"]), (0, 0))

    def test_3_ipv4_icrc_checked_by_scapy(self):
        cap = roce_pcap.Capture(self.rs.name, "rsv", os.path.join(self.tmp, "v4.pcap")).start()
        try:
            rq, rs, st = self.lossy(rq_addr=RQ4, rs_addr=RS4, packets=5000)
        finally:
            cap.stop()
        got = roce_pcap.check(cap.path)
        print(f"\n  IPv4, 1% loss: requester {rq}; responder {rs}; loss {st}; scapy checked "
              f"{got['packets']} packets, {got['bad']} bad")
        self.assertTrue(rq["done"] and rs["done"])
        self.assertEqual((rs["bad_icrc"], rq["bad_icrc"]), (0, 0))
        self.assertGreater(rq["retransmitted"], 0)
        # every data packet that passed the loss stage, resends included,
        # and the ACKs: sent = st["seen"] data packets, of which the
        # survivors were captured
        self.assertGreaterEqual(got["packets"], st["seen"] - st["dropped"], got["packets"])
        self.assertEqual(set(got["psns"]), {0x11}, "data and ACKs of QP 0x11")
        self.assertEqual((got["bad"], got["bad_examples"]), (0, []))
        # the check can fail: one payload byte changed
        from scapy.all import Ether, rdpcap
        p = rdpcap(cap.path, count=1)[0]
        b = bytearray(bytes(p))
        b[-8] ^= 0x01
        carried, want = roce_pcap.icrc_of(Ether(bytes(b)))
        self.assertNotEqual(carried, want)


def main():
    global TOOLS
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True, help="the build's tests/tools directory")
    args, rest = ap.parse_known_args()
    TOOLS = os.path.abspath(args.tools)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
