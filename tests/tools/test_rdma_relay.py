#!/usr/bin/python3
"""The RDMA proxy's logic on real packets (aigw-rdma-relay, a pair of them
standing in the wire at each end of a WAN with a 2 ms round trip and seeded
1 % loss of RoCEv2 datagrams): the responder sees every PSN in order (no
sequence error, so no NAK and no go-back-N: the requester never sends a
packet twice), the receiving relay NACKed the holes and the sending relay
resent from its cache. The same WAN without the relays makes the hosts go
back N (the contrast). aigw-roce-ep checks the ICRC of every packet it
receives, resends included.

Run: tests/tools/test_rdma_relay.py --tools build/tests/tools
"""
import argparse
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rdma_lab  # noqa: E402

TOOLS = None
PACKETS = 20000


class Relay(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = rdma_lab.RdmaLab(TOOLS)

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def run_lossy(self, proxy):
        self.lab.start(rtt_ms=2, proxy=proxy)
        self.lab.loss(0.01, seed=5)
        try:
            rq, rs = self.lab.transfer(PACKETS, psn=0xfff000 if proxy else 0x100, qp=0x21)
            st = self.lab.loss_stats()
        finally:
            self.lab.loss(0, 0)
            gw = self.lab.stop()
        print(f"\n  proxy {proxy}: {rq['goodput_mbps']:.0f} Mbit/s; requester {rq}; responder {rs};"
              f" loss {st}; gateways {gw}")
        self.assertTrue(rq["done"] and rs["done"], (rq, rs))
        self.assertEqual(rs["received"], PACKETS)
        self.assertEqual((rs["bad_icrc"], rq["bad_icrc"]), (0, 0))
        self.assertTrue(0.005 < st["dropped"] / st["seen"] < 0.015, st)
        return rq, rs, st, gw

    def test_1_with_the_relays_no_go_back_n(self):
        rq, rs, st, gw = self.run_lossy(proxy=True)
        a, b = gw["aigw-rdma-relay/1"], gw["aigw-rdma-relay/2"]
        self.assertEqual(rs["out_of_order"], 0, "the responder never saw a PSN past the next")
        self.assertEqual((rs["naks_sent"], rq["naks"], rq["retransmitted"]), (0, 0, 0))
        self.assertEqual((b["given_up"], b["overflows"]), (0, 0))
        self.assertGreater(b["holes"], 0)
        self.assertGreater(b["nacks_sent"], 0)
        self.assertEqual(a["nacks_received"], b["nacks_sent"])
        self.assertGreaterEqual(a["resent"], st["dropped"])
        self.assertGreater(a["acks_matched"], 0)

    def test_2_without_the_relays_the_hosts_go_back(self):
        rq, rs, st, gw = self.run_lossy(proxy=False)
        self.assertGreater(rs["out_of_order"], 0)
        self.assertGreater(rq["retransmitted"], st["dropped"])


def main():
    global TOOLS
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True, help="the build's tests/tools directory")
    args, rest = ap.parse_known_args()
    TOOLS = os.path.abspath(args.tools)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
