#!/usr/bin/python3
"""The RDMA proxy's redirect (abi.h "RDMA proxy", bpf/lib/rdma.h).

RoCEv2 of the tenants and classes `rdma_proxy.select` names is handed by the
XDP programs to the AF_XDP socket of the port and queue it arrived on, after
the program's own work (the headend encapsulates it, the endpoint
decapsulates it), with struct aigw_xsk_meta ahead of it: where it goes, where
its IP packet starts, its tenant. The runner opens the socket the way aigwd
does (dp::XskSocket, copy mode, queue 0), puts it in aigw_xsks and writes
aigw_rdma_sel as the module plans it. Each packet runs twice:
BPF_PROG_TEST_RUN without side effects (verdict and output frame), then in
live-frames mode, where the redirect really delivers into the socket; what
the socket received is read back and compared with the first run's output
and with the frame scapy builds from the spec. The ICRC of IPv4 RoCEv2
packets is computed and checked by scapy's RoCE layer (scapy.contrib.roce).

Run: tests/datapath/test_rdma.py --runner build/tests/tools/aigw-dp-run
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dptest import (  # noqa: E402
    CUST0_MAC, DP_HOP_LIMIT, HOST_MAC, NH4_T100, NH6_T100, NH_WAN0, PEER_MAC, POLICIES, SID_DT4, SID_DT6,
    WAN0_IP6, WAN0_MAC,
    DatapathCase, Ether, IP, IPv6, Raw, UDP, dec_ttl, encap_overhead, h_encaps, l3_of, pol_dst4, pol_dst6,
    pol_hlim, raw, run_module)
from scapy.contrib.roce import BTH  # noqa: E402

ROCE, NACK_PORT = 4791, 4793
AI, OTHER = 5, 6
TRAINING, INFERENCE = 1, 2
XSK_EGRESS, XSK_INGRESS, XSK_NACK = 1, 2, 3  # enum aigw_xsk_kind
REMOTE6 = "2001:db8:3::10"     # a host behind cust0 (table 100)
REMOTE4 = "203.0.113.10"

CONFIG = f"""# test_rdma.py
datapath:
  hop_limit: {DP_HOP_LIMIT}
interfaces:
  - name: cust0
    role: customer
  - name: wan0
    role: wan
policies:
{POLICIES["e1"].yaml()}{POLICIES["e2"].yaml()}sids:
  - sid: {SID_DT4}/128
    behavior: End.DT4
    table: 100
  - sid: {SID_DT6}/128
    behavior: End.DT6
    table: 100
tenants:
  - name: ai
    id: {AI}
  - name: other
    id: {OTHER}
classification:
  rules:
    # e2's destinations: RoCEv2 of another class of the same tenant
    - name: roce-inference
      priority: 10
      match: {{protocol: udp, dport: "{ROCE}", dst: ["{POLICIES["e2"].v4}", "{POLICIES["e2"].v6}"]}}
      set: {{tenant: ai, class: inference}}
    # UDP port 5000 as the source: RoCEv2 of a tenant the proxy does not take
    - name: roce-other
      priority: 20
      match: {{protocol: udp, sport: "5000", dport: "{ROCE}"}}
      set: {{tenant: other, class: training}}
    # both directions (rules are written from the customer side, so what
    # arrives from the WAN has the host's port as its source)
    - name: roce-out
      priority: 30
      match: {{protocol: udp, dport: "{ROCE}"}}
      set: {{tenant: ai, class: training}}
    - name: roce-in
      priority: 31
      match: {{protocol: udp, sport: "{ROCE}"}}
      set: {{tenant: ai, class: training}}
rdma_proxy:
  select: [{{tenant: ai, class: training}}]
"""


def roce4(src, dst, sport=49152, psn=7, dqp=0x11, ttl=40):
    """An IPv4 RoCEv2 RDMA WRITE-only packet, its ICRC computed by scapy."""
    p = IP(src=src, dst=dst, ttl=ttl, flags="DF") / UDP(sport=sport, dport=ROCE, chksum=0) / BTH(
        opcode=0x0A, dqpn=dqp, psn=psn) / Raw(b"\x00" * 16 + b"w" * 64)
    return IP(raw(p))


def roce6(src, dst, sport=49152, psn=7, dqp=0x11, hlim=40, dport=ROCE):
    """An IPv6 RoCEv2 packet (scapy computes no ICRC over IPv6: the bytes
    are what they are; the proxy and the programs do not check it)."""
    return IPv6(src=src, dst=dst, hlim=hlim) / UDP(sport=sport, dport=dport) / BTH(
        opcode=0x0A, dqpn=dqp, psn=psn) / Raw(b"\x00" * 16 + b"6" * 64 + b"icrc")


def icrc_ok(ip4: bytes) -> bool:
    p = IP(ip4)
    return raw(p[UDP].payload)[-4:] == p[BTH].compute_icrc(None)


class RdmaRedirect(DatapathCase):
    TAG = "rdma"
    CONFIG = CONFIG

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            r = cls.runner.request({"cmd": "rdma_select"})
            assert r.get("select") == {str(AI): 1 << TRAINING}, r
        except Exception:
            cls.tearDownClass()
            raise

    def setUp(self):
        for iface in ("cust0", "wan0"):
            r = self.runner.request({"cmd": "xsk_open", "iface": iface})
            self.assertNotIn("error", r, r)

    def read(self, iface: str) -> list:
        r = self.runner.request({"cmd": "xsk_read", "iface": iface})
        self.assertNotIn("error", r, r)
        self.assertEqual(r["bad_meta"], 0, "frames without aigw's metadata")
        return r["frames"]

    def live(self, prog: str, iface: str, frame: bytes):
        r = self.runner.request({"prog": prog, "ifindex": self.ifindex[iface],
                                 "pkt": frame.hex(), "live": True})
        self.assertEqual(r, {"ok": True})

    def through(self, prog: str, iface: str, frame: bytes):
        """Both runs of one frame: (result of the plain run, the frames each
        socket received from the live run)."""
        for i in ("cust0", "wan0"):
            self.read(i)
        res = self.send(prog, iface, frame)
        self.live(prog, iface, frame)
        return res, {i: self.read(i) for i in ("cust0", "wan0")}

    def assert_proxied(self, res, got, port, kind, egress, ip_off=14, tenant=AI):
        self.assertEqual(res.verdict, "XDP_REDIRECT")
        self.assertEqual(res.events, {"rdma_to_proxy": 1}, "events")
        self.assertEqual(res.drops, {}, "drops")
        other = "wan0" if port == "cust0" else "cust0"
        self.assertEqual(got[other], [], f"nothing in {other}'s socket")
        self.assertEqual(len(got[port]), 1, f"one frame in {port}'s socket: {got[port]}")
        f = got[port][0]
        self.assertEqual((f["kind"], f["egress"], f["ip_off"], f["tenant"]),
                         (kind, self.ifindex[egress], ip_off, tenant),
                         "metadata (kind, egress ifindex, where the RoCEv2 packet starts, "
                         "tenant)")
        out = bytes.fromhex(f["frame"])
        self.assertEqual(out, res.out, "the socket's frame is the program's output")
        return out

    def assert_fast_path(self, res, got, events=None):
        self.assertEqual(res.verdict, "XDP_REDIRECT")
        self.assertEqual(res.events, events or {}, "events")
        self.assertEqual(got, {"cust0": [], "wan0": []}, "nothing in the proxy's sockets")

    # ---- headend: encapsulated, then to the customer port's socket
    def headend_expect(self, pol, inner: bytes) -> bytes:
        return raw(h_encaps(dec_ttl(inner), pol.segments, pol.mode, pol.source, pol_hlim(pol),
                            PEER_MAC, WAN0_MAC))

    def test_headend_ipv6_selected(self):
        pol = POLICIES["e1"]
        inner = raw(roce6("2001:db8:1::10", pol_dst6("e1")))
        frame = raw(Ether(src=HOST_MAC, dst=CUST0_MAC) / IPv6(inner))
        res, got = self.through("headend", "cust0", frame)
        out = self.assert_proxied(res, got, "cust0", XSK_EGRESS, "wan0",
                                  ip_off=14 + encap_overhead(pol.mode, len(pol.segments)))
        self.assert_frame(out, self.headend_expect(pol, inner), masked=True)
        self.assertEqual(res.iface.get("encap", 0), 1)

    def test_headend_ipv4_selected_icrc_kept(self):
        pol = POLICIES["e1"]
        inner = raw(roce4("192.0.2.10", pol_dst4("e1")))
        self.assertTrue(icrc_ok(inner))
        frame = raw(Ether(src=HOST_MAC, dst=CUST0_MAC) / IP(inner))
        res, got = self.through("headend", "cust0", frame)
        out = self.assert_proxied(res, got, "cust0", XSK_EGRESS, "wan0",
                                  ip_off=14 + encap_overhead(pol.mode, len(pol.segments)))
        self.assert_frame(out, self.headend_expect(pol, inner), masked=True)
        carried = out[14 + encap_overhead(pol.mode, len(pol.segments)):]
        self.assertTrue(icrc_ok(carried), "scapy: the carried packet's ICRC is still valid")

    def test_socket_behind_drops_counted(self):
        """The proxy behind: every receive frame of the socket (half of the
        default 4,096) waits in its RX ring, unread. The kernel drops what
        the program redirects next before the proxy sees it (so no NACK
        can bring it back) and counts it (XDP_STATISTICS, which aigwd's
        `rdma show` and aigw_rdma_xsk_drops_total read the same way)."""
        pol = POLICIES["e1"]
        frame = raw(Ether(src=HOST_MAC, dst=CUST0_MAC) /
                    IPv6(raw(roce6("2001:db8:1::10", pol_dst6("e1")))))
        rx_frames, extra = 2048, 100
        r = self.runner.request({"prog": "headend", "ifindex": self.ifindex["cust0"],
                                 "pkt": frame.hex(), "live": True, "runs": rx_frames + extra})
        self.assertEqual(r, {"ok": True})
        got = self.runner.request({"cmd": "xsk_read", "iface": "cust0"})
        self.assertEqual(len(got["frames"]), rx_frames)
        k = got["kernel_drops"]
        print(f"\n  kernel drops after {rx_frames + extra} frames: {k}")
        self.assertEqual(k["no_frame"] + k["rx_ring_full"], extra, k)
        self.assertEqual(k["invalid"], 0, k)
        # read, the frames are free again: the next one is received
        self.live("headend", "cust0", frame)
        again = self.runner.request({"cmd": "xsk_read", "iface": "cust0"})
        self.assertEqual(len(again["frames"]), 1)
        self.assertEqual(again["kernel_drops"], k)

    def test_headend_other_class_and_tenant_keep_fast_path(self):
        for name, inner in (
                ("class inference", roce4("192.0.2.10", pol_dst4("e2"))),
                ("tenant other", roce4("192.0.2.10", pol_dst4("e1"), sport=5000))):
            with self.subTest(name):
                frame = raw(Ether(src=HOST_MAC, dst=CUST0_MAC) / inner)
                res, got = self.through("headend", "cust0", frame)
                self.assert_fast_path(res, got)

    def test_headend_never_takes_nack_port(self):
        """A host's UDP to the NACK port is not the proxy's at the headend."""
        inner = IP(src="192.0.2.10", dst=pol_dst4("e1"), ttl=40) / UDP(
            sport=4791, dport=NACK_PORT) / Raw(b"n" * 40)
        res, got = self.through("headend", "cust0", raw(Ether(src=HOST_MAC, dst=CUST0_MAC) /
                                                        inner))
        self.assert_fast_path(res, got)

    def test_headend_no_socket_keeps_fast_path(self):
        """The socket closed (it leaves aigw_xsks): the same packet takes the
        fast path, the same frame out of wan0, counted rdma_no_socket."""
        pol = POLICIES["e1"]
        inner = raw(roce4("192.0.2.10", pol_dst4("e1"), psn=99))
        frame = raw(Ether(src=HOST_MAC, dst=CUST0_MAC) / IP(inner))
        self.assertEqual(self.runner.request({"cmd": "xsk_close", "iface": "cust0"}), {"ok": True})
        res = self.send("headend", "cust0", frame)
        self.assertEqual(res.verdict, "XDP_REDIRECT")
        self.assertEqual(res.events, {"rdma_no_socket": 1})
        self.assert_frame(res.out, self.headend_expect(pol, inner), masked=True)
        self.live("headend", "cust0", frame)
        self.assertEqual(self.read("wan0"), [])

    # ---- endpoint: decapsulated, then to the WAN port's socket
    def endpoint_frame(self, sid: str, inner) -> bytes:
        return raw(Ether(src=PEER_MAC, dst=WAN0_MAC) / IPv6(src="fc00:b::1", dst=sid, hlim=60,
                                                           nh=4 if IP in inner else 41) /
                   Raw(raw(inner)))

    def test_endpoint_dt6_selected(self):
        inner = roce6(pol_dst6("e1"), REMOTE6, sport=ROCE, dport=ROCE)
        res, got = self.through("endpoint", "wan0", self.endpoint_frame(SID_DT6, inner))
        out = self.assert_proxied(res, got, "wan0", XSK_INGRESS, "cust0")
        exp = raw(Ether(src=CUST0_MAC, dst=NH6_T100[1], type=0x86DD)) + dec_ttl(raw(inner))
        self.assert_frame(out, exp, masked=False)
        self.assertEqual(res.iface.get("decap", 0), 1)

    def test_endpoint_dt4_selected_icrc_kept(self):
        inner = roce4(pol_dst4("e1"), REMOTE4, sport=ROCE)
        res, got = self.through("endpoint", "wan0", self.endpoint_frame(SID_DT4, inner))
        out = self.assert_proxied(res, got, "wan0", XSK_INGRESS, "cust0")
        exp = raw(Ether(src=CUST0_MAC, dst=NH4_T100[1], type=0x0800)) + dec_ttl(raw(inner))
        self.assert_frame(out, exp, masked=False)
        self.assertEqual(l3_of(out)[1], dec_ttl(raw(inner)))
        self.assertTrue(icrc_ok(out[14:]), "scapy: the delivered packet's ICRC is still valid")

    def test_endpoint_not_selected_keeps_fast_path(self):
        # from an e2 host: class inference (rules are from the customer side)
        inner = roce4(pol_dst4("e2"), REMOTE4, sport=ROCE)
        res, got = self.through("endpoint", "wan0", self.endpoint_frame(SID_DT4, inner))
        self.assert_fast_path(res, got)

    def test_endpoint_takes_nack_whatever_class(self):
        """A peer gateway's NACK (UDP to 4793) decapsulated: to the proxy,
        though no rule selects it (tenant 0, class 0)."""
        inner = IPv6(src=pol_dst6("e1"), dst=REMOTE6, hlim=40) / UDP(
            sport=NACK_PORT, dport=NACK_PORT) / Raw(b"\xa1\x6e\x01\x01" + b"\x00" * 40)
        res, got = self.through("endpoint", "wan0", self.endpoint_frame(SID_DT6, inner))
        self.assert_proxied(res, got, "wan0", XSK_NACK, "cust0",
                            tenant=0)

    def test_endpoint_no_socket_nack_takes_fast_path_uncounted(self):
        """Without the proxy, UDP to 4793 is anyone's: forwarded, no event."""
        self.assertEqual(self.runner.request({"cmd": "xsk_close", "iface": "wan0"}), {"ok": True})
        inner = IPv6(src=pol_dst6("e1"), dst=REMOTE6, hlim=40) / UDP(
            sport=NACK_PORT, dport=NACK_PORT) / Raw(b"x" * 20)
        res = self.send("endpoint", "wan0", self.endpoint_frame(SID_DT6, inner))
        self.assertEqual((res.verdict, res.events), ("XDP_REDIRECT", {}))
        exp = raw(Ether(src=CUST0_MAC, dst=NH6_T100[1], type=0x86DD)) + dec_ttl(raw(inner))
        self.assert_frame(res.out, exp, masked=False)

    # ---- the socket's transmit (what the proxy sends)
    def rx_packets(self, dev: str) -> int:
        out = subprocess.run(["ip", "-n", self.ns.name, "-s", "-j", "link", "show", dev],
                             capture_output=True, text=True, check=True).stdout
        return json.loads(out)[0]["stats64"]["rx"]["packets"]

    def test_socket_sends_a_burst_whole(self):
        """A pass of the proxy's loop can queue more frames than copy mode
        transmits per send call (the socket's TX budget, 32; the kernel says
        EAGAIN while more wait): the pass's one flush hands them all to the
        port. None waits in the TX ring for the next frame the proxy sends
        (before: 32 of the 300 reached the peer)."""
        n = 300
        frame = raw(Ether(src=WAN0_MAC, dst=PEER_MAC) / IPv6(src=WAN0_IP6, dst=NH_WAN0[0]) /
                    UDP(sport=49152, dport=ROCE) / BTH(opcode=0x0A, dqpn=0x11, psn=1) /
                    Raw(b"t" * 64))
        before = self.rx_packets("wan0p")
        r = self.runner.request({"cmd": "xsk_send", "iface": "wan0", "frame": frame.hex(),
                                 "count": n})
        self.assertNotIn("error", r, r)
        self.assertEqual((r["queued"], r["tx_full"]), (n, 0), r)
        got = 0
        for _ in range(50):  # the peer's count, once the kernel has counted
            got = self.rx_packets("wan0p") - before
            if got >= n:
                break
            time.sleep(0.02)
        # at least: the kernel's own IPv6 on wan0 (a router solicitation)
        # may add a frame
        self.assertGreaterEqual(got, n, "frames that reached the port's peer after the one flush")


if __name__ == "__main__":
    run_module()
