#!/usr/bin/python3
"""(c) What aigw puts on the wire, judged by an independent decoder: tshark
captures on the gwa-core link inside the core namespace.

core runs the kernel's End here: a core running aigw would XDP_REDIRECT the
packets, and redirected frames never reach packet sockets (tshark would see
nothing). The kernel End forwards through the stack, so both directions are
visible on core-gwa: gwa's encapsulation as it left gwa (SL 1, DA = first
SID), and gwb's after core's End (SL 0, DA = gwa's SID)."""

import subprocess
import time

import e2e_common as E
from e2e_common import A, B

RED_V4, RED_V6 = B.host4(12), B.host6(12)
FIELDS = ["frame.number", "ipv6.src", "ipv6.dst", "ipv6.hlim", "ipv6.routing.type",
          "ipv6.routing.nxt", "ipv6.routing.segleft", "ipv6.routing.srh.last_entry",
          "ipv6.routing.srh.addr", "ip.src", "ip.dst", "ip.ttl", "icmp.type", "icmpv6.type"]


class SrhOnTheWire(E.TopoCase):
    MODES = {"gwa": "aigw", "core": "kernel", "gwb": "aigw"}
    PINGS = 3

    @classmethod
    def configure(cls, topo):
        # H.Encaps.Red towards host2's .12 / ::12.
        topo.configs["gwa"]["policies"].append(
            {"name": "to-site-b-red", "prefixes": [RED_V4 + "/32", RED_V6 + "/128"],
             "mode": "encap.red", "source": A.loopback, "segments": [E.T.CORE_END, B.sid("d46")],
             "hop_limit": 17})

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        t = cls.topo
        cls.pcap = t.path("core-gwa.pcap")
        with E.capture(t, "core", "core-gwa", "ip6", cls.pcap):
            cls.ping_ok = {}
            for dst in (B.host4(), B.host6(), RED_V4, RED_V6):
                cls.ping_ok[dst] = t.ping("host1", dst, count=cls.PINGS, interval=0.2)
            time.sleep(0.5)
        cp = subprocess.run(["tshark", "-n", "-r", cls.pcap, "-Y", "ipv6.routing.type == 4",
                             "-T", "fields", "-E", "separator=/t", "-E", "aggregator=,",
                             *sum((["-e", f] for f in FIELDS), [])],
                            capture_output=True, text=True, timeout=60)
        cls.decode_err = cp.stderr
        cls.records = []
        for line in cp.stdout.splitlines():
            vals = line.split("\t")
            rec = dict(zip(FIELDS, vals + [""] * (len(FIELDS) - len(vals))))
            rec = {k: (v.split(",") if v else []) for k, v in rec.items()}
            cls.records.append(rec)

    # ---------------------------------------------------------------- helpers
    def outer(self, src, dst):
        """SRv6 packets with outer source/destination src/dst."""
        return [r for r in self.records
                if r["ipv6.src"][:1] == [src] and r["ipv6.dst"][:1] == [dst]]

    def inner_dst(self, r):
        # Inner IPv4: ip.dst; inner IPv6: second ipv6.dst.
        return (r["ip.dst"] or r["ipv6.dst"][1:] or [""])[0]

    def check(self, dst, *, src, outer_dst, hlim, sl, le, segs, nxt, inner_ttl=None):
        pkts = [r for r in self.outer(src, outer_dst) if self.inner_dst(r) == dst]
        self.assertGreaterEqual(
            len(pkts), self.PINGS,
            f"expected {self.PINGS} SRv6 packets {src} -> {outer_dst} carrying {dst}; "
            f"captured SRv6 packets: {[(r['ipv6.src'], r['ipv6.dst']) for r in self.records]}"
            f"\n{self.decode_err}")
        for r in pkts:
            what = f"packet {r['frame.number']} ({src} -> {outer_dst}, inner {dst})"
            self.assertEqual(r["ipv6.routing.type"], ["4"], what)
            self.assertEqual(r["ipv6.routing.segleft"], [str(sl)], f"{what}: Segments Left")
            self.assertEqual(r["ipv6.routing.srh.last_entry"], [str(le)], f"{what}: Last Entry")
            self.assertEqual(r["ipv6.routing.srh.addr"], segs, f"{what}: segment list")
            self.assertEqual(r["ipv6.routing.nxt"], [str(nxt)], f"{what}: SRH next header")
            self.assertEqual(r["ipv6.hlim"][0], str(hlim), f"{what}: outer hop limit")
            if inner_ttl is not None:
                got = r["ip.ttl"][0] if nxt == 4 else r["ipv6.hlim"][1]
                self.assertEqual(got, str(inner_ttl), f"{what}: inner TTL/hop limit")
        return pkts

    # ------------------------------------------------------------------ tests
    def test_01_pings_answered(self):
        for dst, (ok, out) in self.ping_ok.items():
            self.assertTrue(ok, f"ping host1 -> {dst}:\n{out}{self.diag()}")

    def test_02_gwa_h_encaps_ipv4(self):
        # SegList[0] is the last segment: wire order is the reverse of the config.
        self.check(B.host4(), src=A.loopback, outer_dst=E.T.CORE_END, hlim=64, sl=1, le=1,
                   segs=[B.sid("d46"), E.T.CORE_END], nxt=4)

    def test_03_gwa_h_encaps_ipv6(self):
        self.check(B.host6(), src=A.loopback, outer_dst=E.T.CORE_END, hlim=64, sl=1, le=1,
                   segs=[B.sid("d46"), E.T.CORE_END], nxt=41)

    def test_04_gwb_replies_after_core_end(self):
        # gwb's encapsulation of the replies, after the kernel's End on core.
        for dst, nxt in ((A.host4(), 4), (A.host6(), 41)):
            self.check(dst, src=B.loopback, outer_dst=A.sid("d46"), hlim=63, sl=0, le=1,
                       segs=[A.sid("d46"), E.T.CORE_END], nxt=nxt)

    def test_05_gwa_h_encaps_red(self):
        # H.Encaps.Red: the first SID only in the DA; the SRH holds the rest.
        # This policy also sets its own outer hop limit (17).
        for dst, nxt in ((RED_V4, 4), (RED_V6, 41)):
            self.check(dst, src=A.loopback, outer_dst=E.T.CORE_END, hlim=17, sl=1, le=0,
                       segs=[B.sid("d46")], nxt=nxt)

    def test_06_inner_ttl_decremented(self):
        # The inner packet is forwarded by gwa: host1 sends TTL/hop limit 64.
        self.check(B.host4(), src=A.loopback, outer_dst=E.T.CORE_END, hlim=64, sl=1, le=1,
                   segs=[B.sid("d46"), E.T.CORE_END], nxt=4, inner_ttl=63)
        self.check(B.host6(), src=A.loopback, outer_dst=E.T.CORE_END, hlim=64, sl=1, le=1,
                   segs=[B.sid("d46"), E.T.CORE_END], nxt=41, inner_ttl=63)


if __name__ == "__main__":
    E.main()
