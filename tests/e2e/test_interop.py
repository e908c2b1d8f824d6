#!/usr/bin/python3
"""(d) Interoperability with the Linux kernel's SRv6, both ways:

KernelGwa: gwa is kernel-only, gwb runs aigw (core runs aigw End).
  kernel headend -> aigw endpoints: gwa encapsulates with `ip route ... encap
  seg6` towards gwb's End.DT46 (host2 .10 / ::10), End.DX4 (.11), End.DX6
  (::11) and End.DT6 (::12) SIDs; aigw headend -> kernel endpoints: gwb's
  policies target gwa's seg6local End.DX4 (IPv4), End.DT6 (IPv6) and End.DX6
  (host1 ::11).
KernelGwb: the mirror image (gwb kernel-only, gwa aigw).

Every ping is checked against the aigw gateway's counters, so that the
traffic provably went through aigw's decapsulation and encapsulation."""

import e2e_common as E

T = E.T


class InteropMixin:
    KERNEL = None   # the kernel-only site gateway
    AIGW = None     # the aigw site gateway
    N = 3

    @property
    def k(self):
        return T.SITES[self.KERNEL]

    @property
    def a(self):
        return T.SITES[self.AIGW]

    def _ping_through(self, src_host, dst, what):
        """Ping; assert aigw's gateway decapsulated and encapsulated >= N."""
        a = self.a
        before = self.topo.stats(self.AIGW)
        self.assertPing(src_host, dst, count=self.N)
        after = self.topo.stats(self.AIGW)
        dec = E.delta(before, after, a.wan_if, "decap")
        enc = E.delta(before, after, a.cust_if, "encap")
        self.assertGreaterEqual(dec, self.N, f"{what}: {self.AIGW} decap {dec}{self.diag()}")
        self.assertGreaterEqual(enc, self.N, f"{what}: {self.AIGW} encap {enc}{self.diag()}")
        self.assertNoDrops({self.AIGW: before}, {self.AIGW: after})

    def test_01_kernel_headend_to_aigw_end_dt46(self):
        for dst in (self.a.host4(10), self.a.host6(10)):
            self._ping_through(self.k.host, dst, f"kernel H.Encaps -> aigw End.DT46 ({dst})")

    def test_02_kernel_headend_to_aigw_end_dx4(self):
        dst = self.a.host4(11)
        self._ping_through(self.k.host, dst, f"kernel H.Encaps -> aigw End.DX4 ({dst})")

    def test_03_kernel_headend_to_aigw_end_dx6(self):
        dst = self.a.host6(11)
        self._ping_through(self.k.host, dst, f"kernel H.Encaps -> aigw End.DX6 ({dst})")

    def test_04_kernel_headend_to_aigw_end_dt6(self):
        dst = self.a.host6(12)
        self._ping_through(self.k.host, dst, f"kernel H.Encaps -> aigw End.DT6 ({dst})")

    def test_05_aigw_headend_to_kernel_end_dx4(self):
        dst = self.k.host4(10)
        self._ping_through(self.a.host, dst, f"aigw H.Encaps -> kernel End.DX4 ({dst})")

    def test_06_aigw_headend_to_kernel_end_dt6(self):
        dst = self.k.host6(10)
        self._ping_through(self.a.host, dst, f"aigw H.Encaps -> kernel End.DT6 ({dst})")

    def test_07_aigw_headend_to_kernel_end_dx6(self):
        dst = self.k.host6(11)
        self._ping_through(self.a.host, dst, f"aigw H.Encaps -> kernel End.DX6 ({dst})")

    def test_08_udp_both_ways(self):
        # Bounded UDP, both families, kernel site -> aigw site and back (-R).
        for dst in (self.a.host4(), self.a.host6()):
            for reverse in (False, True):
                before = self.topo.stats(self.AIGW)
                r = self.topo.iperf3(dst, udp=True, rate="10M", length=1000, seconds=2,
                                     server=self.a.host, client=self.k.host,
                                     extra=["-R"] if reverse else [])
                after = self.topo.stats(self.AIGW)
                s = r["end"]["sum"]
                what = f"UDP {self.k.host} {'<-' if reverse else '->'} {dst}"
                self.assertGreater(s["packets"], 1000, f"{what}: {s}")
                self.assertEqual(s["lost_packets"], 0, f"{what}: {s}{self.diag()}")
                ctr = ("cust_if", "encap") if reverse else ("wan_if", "decap")
                moved = E.delta(before, after, getattr(self.a, ctr[0]), ctr[1])
                self.assertGreaterEqual(moved, s["packets"],
                                        f"{what}: {self.AIGW} {ctr[1]} {moved}{self.diag()}")


class KernelGwa(InteropMixin, E.TopoCase):
    MODES = {"gwa": "kernel", "core": "aigw", "gwb": "aigw"}
    KERNEL, AIGW = "gwa", "gwb"


class KernelGwb(InteropMixin, E.TopoCase):
    MODES = {"gwa": "aigw", "core": "aigw", "gwb": "kernel"}
    KERNEL, AIGW = "gwb", "gwa"


if __name__ == "__main__":
    E.main()
