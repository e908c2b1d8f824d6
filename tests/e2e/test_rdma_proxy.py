#!/usr/bin/python3
"""The RDMA proxy in aigwd (issue 12): RoCEv2 between host1 (requester,
aigw-roce-ep) and host2 (responder) is classified into tenant "ai" at both
gateways, whose XDP programs hand it to aigwd's AF_XDP sockets: gwa caches
what it encapsulates, gwb reorders what it decapsulates and NACKs holes;
the NACKs enter the SRv6 tunnel back through gwb's headend program, and gwa
resends from its cache. The WAN loses 1 % of what gwa sends (aigw-xdp-loss
on the core's port from gwa, seeded), resends included.

  test_1: no loss: every packet crosses both proxies (rdma_to_proxy
          events, aigwctl rdma show), in order, ICRC intact.
  test_2: 1 GiB at 1 % loss (test_2b: 0.1 %): the responder never sees a
          PSN out of order (no NAK, so the requester never goes back N);
          gwb NACKed, gwa resent; memory stayed bounded (the stream's
          cache and reorder buffer within their budgets, neither aigwd's
          RSS growing after the first quarter of the transfer).
  test_2c: IPv4 RoCEv2 at 1 % loss, captured on both hosts' interfaces
          (what each host sent and what the proxies delivered to it: data
          with gwa's resends to host2, ACKs to host1): scapy's RoCE layer
          recomputes the ICRC of every packet; every PSN reached host2,
          none out of order.
  test_2d: the transfer's last packets lost (no hole for gwb to see):
          gwa's tail loss probe recovers them before the requester's
          timeout.
  test_2e: a sending-side cache too small for the window: gwa answers
          NACKs for evicted packets with a MISS, gwb releases those holes
          at once (none waits for give_up_ms).
  test_2f: 1 % of the WAN's packets arrive with a wrong ICRC: gwb drops
          them (counted) and gwa's cache fills the holes; the responder
          sees no wrong ICRC (test_4b: without the proxy it does;
          test_2g: with verify_icrc off, too).
  test_2h: with rdma_proxy.key_file on both gateways NACKs carry an HMAC
          and loss is hidden as before; with different keys gwa refuses
          gwb's NACKs (counted) and the hosts go back N; a key file that
          cannot be read refuses the reload.
  test_3: the proxy's metrics in /metrics, and `aigwctl rdma show`.
  test_3b: a reload that changes a proxy setting restarts the proxy on the
          same queues at once (the kernel frees a closed socket's queue in
          deferred work: the new socket waits for it) and traffic goes
          through it again.
  test_4: with the proxy's selection removed (reload), the same loss makes
          the hosts go back N: the contrast, and the fast path again.
"""
import os
import json
import sys
import threading
import time

import e2e_common as E

T = E.T
A, B = E.A, E.B
TOOLS_SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools")
TOOLS = os.environ.get("AIGW_TOOLS_DIR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(os.environ.get("AIGWD", "build/agent/aigwd")))),
    "tests", "tools")
sys.path.insert(0, TOOLS_SRC)
import roce_pcap  # noqa: E402  (dumpcap capture, scapy's ICRC check)

PACKETS = 20000
GIB = 1 << 20  # 1 GiB of 1024-byte payloads (issue 12: at least 1 GiB through two gateways)
LOSS = 0.01
SELECT = {"select": [{"tenant": "ai"}], "nack_ms": 3, "give_up_ms": 100, "cache_ms": 100}


class RssWatch:
    """Processes' resident memory (VmRSS, KiB) every half second while in
    the with block."""

    def __init__(self, pids):
        self.pids, self.samples = pids, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self, pid):
        with open(f"/proc/{pid}/status") as f:
            return next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS:"))

    def _run(self):
        while True:
            self.samples.append((time.monotonic(), {n: self._rss(p) for n, p in self.pids.items()}))
            if self._stop.wait(0.5):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def growth_after(self, share):
        """Per process: the most its RSS rose after `share` of the time,
        over the sample at that point (KiB)."""
        t0, t1 = self.samples[0][0], self.samples[-1][0]
        later = [m for t, m in self.samples if t >= t0 + share * (t1 - t0)]
        return {n: max(m[n] for m in later) - later[0][n] for n in self.pids}


def changed(before, after):
    """The counters that moved, by how much."""
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


class RdmaProxy(E.TopoCase):
    MODES = {"gwa": "aigw", "core": "kernel", "gwb": "aigw"}
    KERNEL_FALLBACK = "transit"

    @classmethod
    def configure(cls, topo):
        for g in ("gwa", "gwb"):
            c = topo.configs[g]
            c["tenants"] = [{"name": "ai", "id": 5}]
            c["classification"] = {"rules": [{
                "name": "roce", "match": {"protocol": "udp", "dport": "4791"},
                "set": {"tenant": "ai", "class": "training"}}]}
            c["rdma_proxy"] = dict(SELECT)
            c["agent"]["metrics_listen"] = "127.0.0.1:9469"

    def tool(self, node, *args, **kw):
        return self.topo.run(node, [os.path.join(TOOLS, args[0]), *map(str, args[1:])], **kw)

    def loss(self, fraction, seed=5, drop=(), mode="drop"):
        """The WAN loses `fraction` of the RoCEv2 datagrams gwa sends, and
        the ones numbered `drop` (a range, in the order seen from now);
        mode "corrupt": it passes them with a wrong ICRC instead."""
        dev = "core-gwa"
        if fraction or drop:
            self.topo.run("core", ["ip", "link", "set", "dev", dev, "xdp", "off"])
            only = ["--drop-from", drop.start, "--drop-count", len(drop)] if drop else []
            self.tool("core", "aigw-xdp-loss", "attach", dev, "--loss", fraction, "--seed", seed,
                      "--mode", mode, *only)
        else:
            self.tool("core", "aigw-xdp-loss", "detach", dev, check=False)
            self.topo.run("core", ["ip", "link", "set", "dev", dev, "xdp", "obj",
                                   self.topo.xdp_pass_obj, "sec", "xdp"], check=False)

    def loss_stats(self):
        return json.loads(self.tool("core", "aigw-xdp-loss", "stats", "core-gwa").stdout)

    def transfer(self, psn, qp, packets=PACKETS, deadline_s=60, v4=False):
        ids = ["--psn", str(psn), "--qp", str(qp)]
        src, dst = (A.host4(), B.host4()) if v4 else (A.host6(), B.host6())
        resp = self.topo.popen("host2", [os.path.join(TOOLS, "aigw-roce-ep"), "responder",
                                         "--local", dst, "--packets", str(packets),
                                         "--deadline-s", str(deadline_s + 15),
                                         "--linger-ms", "100", *ids],
                               text=True)
        time.sleep(0.3)
        r = self.tool("host1", "aigw-roce-ep", "requester", "--local", src, "--peer",
                      dst, "--packets", packets, "--window", 1024, "--mtu", 1024,
                      "--timeout-ms", 100, "--deadline-s", deadline_s, *ids,
                      timeout=deadline_s + 30, check=False)
        out, err = resp.communicate(timeout=deadline_s + 30)
        self.assertTrue(r.stdout.strip() and out.strip(), f"requester: {r.stdout} {r.stderr}; "
                                                          f"responder: {out} {err}")
        return json.loads(r.stdout), json.loads(out)

    def lossy_transfer(self, psn, qp, loss=LOSS, packets=PACKETS, deadline_s=60, v4=False,
                       drop=(), mode="drop", seed=5):
        """(requester, responder, loss stage counters) of a transfer over
        the WAN losing `loss` (and the packets numbered `drop`; mode
        "corrupt": passing them with a wrong ICRC instead)."""
        self.loss(loss, seed=seed, drop=drop, mode=mode)
        try:
            rq, rs = self.transfer(psn=psn, qp=qp, packets=packets, deadline_s=deadline_s, v4=v4)
            return rq, rs, self.loss_stats()
        finally:
            self.loss(0)

    def rdma(self, node):
        return self.topo.ctl(node, "rdma", "show")

    def proxied(self, node):
        return E.event(self.stats(node), "rdma_to_proxy")

    def test_1_no_loss_through_both_proxies(self):
        before = {g: self.proxied(g) for g in ("gwa", "gwb")}
        rq, rs = self.transfer(psn=0x10, qp=0x31, packets=5000)
        self.assertTrue(rq["done"] and rs["done"], (rq, rs))
        self.assertEqual((rs["received"], rs["out_of_order"], rs["bad_icrc"]), (5000, 0, 0))
        for g in ("gwa", "gwb"):
            # data one way and ACKs the other cross each gateway's proxy
            self.assertGreaterEqual(self.proxied(g) - before[g], 5000, f"{g}{self.diag([g])}")
        a, b = self.rdma("gwa"), self.rdma("gwb")
        self.assertTrue(a["running"] and b["running"], (a, b))
        self.assertTrue(a["sending"], f"gwa caches nothing: {a}")
        self.assertTrue(b["receiving"], f"gwb reorders nothing: {b}")
        # the XDP programs tell the proxy each packet's tenant (its budget)
        self.assertEqual({s["tenant"] for s in a["sending"]}, {"ai"}, a["sending"])
        self.assertEqual({s["tenant"] for s in b["receiving"]}, {"ai"}, b["receiving"])
        ta = {t["tenant"]: t for t in a["tenants"]}
        self.assertEqual((ta["ai"]["tx_streams"], ta["ai"]["budget_bytes"]), (1, 256 << 20), ta)

    def loss_hidden(self, loss, psn, qp):
        """A 1 GiB transfer over the WAN losing `loss`: the responder sees
        every PSN in order (no NAK, so the requester never goes back N),
        ICRC intact; gwb NACKed the holes and gwa resent them."""
        a0, b0 = self.rdma("gwa")["counters"], self.rdma("gwb")["counters"]
        t0 = time.monotonic()
        with RssWatch({g: self.topo.agent_pid(g) for g in ("gwa", "gwb")}) as mem:
            rq, rs, st = self.lossy_transfer(psn=psn, qp=qp, loss=loss, packets=GIB,
                                             deadline_s=120)
        took = time.monotonic() - t0
        bs, as_ = self.rdma("gwb"), self.rdma("gwa")  # within the streams' idle time (1 s)
        a, b = as_["counters"], bs["counters"]
        # bounded memory under sustained loss: the stream kept within its
        # budgets (cache_bytes, max_held: the defaults), and once the
        # caches and buffers had filled (the first quarter), neither aigwd
        # grew (a leak of 11 bytes a packet would be 8 MiB)
        peak = [e["cached_peak_bytes"] for e in as_["sending"] if e["qp"] == qp]
        depth = [e["max_depth"] for e in bs["receiving"] if e["qp"] == qp]
        self.assertTrue(peak and 0 < peak[0] <= 4 << 20, as_["sending"])
        self.assertTrue(depth and 0 < depth[0] <= 4096, bs["receiving"])
        grew = mem.growth_after(0.25)
        print(f"\n  memory: gwa cached at most {peak[0]} bytes, gwb held at most {depth[0]} "
              f"packets; RSS growth after the first quarter (KiB): {grew}")
        for g, kib in grew.items():
            self.assertLessEqual(kib, 8 << 10, f"{g}'s aigwd grew: {mem.samples}")
        # the holes' measured fill time: a WAN round trip and a little more
        fill = [s["fill_ms"] for s in bs["receiving"] if s["qp"] == qp]
        self.assertEqual(len(fill), 1, bs["receiving"])
        self.assertTrue(isinstance(fill[0], float) and 0 < fill[0] < 100, fill)
        grown = {"gwa": changed(a0, a), "gwb": changed(b0, b)}
        print(f"\n  {loss:.1%} loss, 1 GiB in {took:.1f} s\n  requester {rq}\n  responder {rs}"
              f"\n  loss {st}\n  gwa {grown['gwa']}\n  gwb {grown['gwb']}")
        self.assertTrue(rq["done"] and rs["done"], (rq, rs))
        self.assertEqual(rs["received"], GIB)
        self.assertEqual((rs["bad_icrc"], rq["bad_icrc"]), (0, 0))
        self.assertTrue(loss / 2 < st["dropped"] / st["seen"] < loss * 2, st)
        self.assertEqual(rs["out_of_order"], 0, "the responder saw a PSN past the next")
        self.assertEqual((rs["naks_sent"], rq["naks"], rq["retransmitted"]), (0, 0, 0))
        self.assertGreater(b["nacks_sent"] - b0["nacks_sent"], 0)
        self.assertGreater(a["nacks_received"] - a0["nacks_received"], 0)
        self.assertGreaterEqual(a["resent"] - a0["resent"], st["dropped"])
        self.assertEqual(b["given_up"] - b0["given_up"], 0)

    def test_2_loss_hidden_from_the_hosts(self):
        self.loss_hidden(LOSS, psn=0xfff000, qp=0x32)

    def test_2b_light_loss_hidden_too(self):
        self.loss_hidden(0.001, psn=0x7ffff0, qp=0x34)

    def test_2c_ipv4_icrc_checked_by_scapy(self):
        work = self.topo.workdir
        caps = [roce_pcap.Capture(self.topo.ns(h), "eth0", os.path.join(work, f"{h}.pcap"))
                for h in ("host1", "host2")]
        b0 = self.rdma("gwb")["counters"]
        for c in caps:
            c.start()
        try:
            rq, rs, st = self.lossy_transfer(psn=0xffff00, qp=0x35, packets=5000, v4=True)
        finally:
            for c in caps:
                c.stop()
        b = self.rdma("gwb")["counters"]
        acks, data = (roce_pcap.check(c.path) for c in caps)
        print(f"\n  IPv4: requester {rq}\n  responder {rs}\n  loss {st}\n  scapy: "
              f"{data['packets']} packets at host2, {data['bad']} bad; {acks['packets']} at "
              f"host1, {acks['bad']} bad")
        self.assertTrue(rq["done"] and rs["done"], (rq, rs))
        self.assertEqual((rs["out_of_order"], rq["retransmitted"]), (0, 0))
        self.assertGreater(st["dropped"], 0)
        self.assertGreater(b["nacks_sent"] - b0["nacks_sent"], 0, "gwb's proxy filled holes")
        # host2's capture: every PSN the requester sent (each once from
        # host1; the lost ones resent by gwa), and its ACKs going back
        psns = data["psns"].get(0x35, set())
        want = {(0xffff00 + i) & 0xffffff for i in range(5000)}
        self.assertEqual(want - psns, set(), "PSNs missing at host2")
        self.assertGreater(acks["packets"], 0)
        for side in (data, acks):
            self.assertEqual((side["bad"], side["bad_examples"], side["unchecked"]), (0, [], 0))

    def test_2d_lost_tail_probed(self):
        """The transfer's last three packets lost: nothing follows them, so
        gwb sees no hole; gwa's tail loss probe resends the newest, whose
        arrival opens the hole gwb NACKs, before the requester's 100 ms
        timeout would go back N."""
        n = 5000
        a0 = self.rdma("gwa")["counters"]
        rq, rs, st = self.lossy_transfer(psn=0x123450, qp=0x37, loss=0, packets=n,
                                         drop=range(n - 3, n))
        a = self.rdma("gwa")["counters"]
        print(f"\n  tail: requester {rq}\n  responder {rs}\n  loss {st}\n  gwa probes "
              f"{a['tail_probes'] - a0['tail_probes']}, resent {a['resent'] - a0['resent']}")
        self.assertTrue(rq["done"] and rs["done"], (rq, rs))
        self.assertEqual(st["dropped"], 3, st)
        self.assertEqual((rs["received"], rs["out_of_order"]), (n, 0))
        self.assertEqual((rq["timeouts"], rq["retransmitted"]), (0, 0), "the requester went back")
        self.assertGreaterEqual(a["tail_probes"] - a0["tail_probes"], 1)
        self.assertGreaterEqual(a["resent"] - a0["resent"], 2)

    def test_2f_wrong_icrc_dropped_and_refilled(self):
        """1 % of what gwa sends reaches gwb with a wrong ICRC (two words of
        the payload swapped on the WAN: the UDP checksum still right). gwb
        drops them, counted, as the NIC would; to the stream each is a
        hole, which gwa fills from its cache: the responder sees no wrong
        ICRC and no PSN out of order, and the hosts never go back N.
        Without the proxy (test_4b) the responder counts them."""
        n = 20000
        a0, b0 = self.rdma("gwa")["counters"], self.rdma("gwb")["counters"]
        rq, rs, st = self.lossy_transfer(psn=0x400, qp=0x39, packets=n, mode="corrupt", seed=9)
        a, b = self.rdma("gwa")["counters"], self.rdma("gwb")["counters"]
        grown = {"gwa": changed(a0, a), "gwb": changed(b0, b)}
        print(f"\n  1% corrupted: requester {rq}\n  responder {rs}\n  stage {st}"
              f"\n  gwa {grown['gwa']}\n  gwb {grown['gwb']}")
        self.assertTrue(rq["done"] and rs["done"], (rq, rs))
        self.assertEqual((st["dropped"], st["seen"] > n), (0, True), st)
        self.assertGreater(st["corrupted"], n // 200, st)
        self.assertEqual(b["bad_icrc"] - b0["bad_icrc"], st["corrupted"], grown)
        self.assertEqual((rs["received"], rs["bad_icrc"], rs["out_of_order"]), (n, 0, 0), rs)
        self.assertEqual((rq["retransmitted"], rq["naks"]), (0, 0), rq)
        self.assertGreaterEqual(a["resent"] - a0["resent"], st["corrupted"], grown)

    def test_2g_icrc_not_verified_when_off(self):
        """verify_icrc: false: gwb passes the corrupted packets on as
        delivered, and the responder is the one that drops them."""
        self.set_proxy(dict(SELECT, verify_icrc=False))
        try:
            b0 = self.rdma("gwb")["counters"]
            rq, rs, st = self.lossy_transfer(psn=0x600, qp=0x3b, packets=5000, mode="corrupt",
                                             seed=9)
            b = self.rdma("gwb")["counters"]
        finally:
            self.set_proxy(dict(SELECT))
        print(f"\n  verify_icrc off, 1% corrupted: requester {rq}\n  responder {rs}\n  stage {st}")
        self.assertTrue(rq["done"] and rs["done"], (rq, rs))
        self.assertGreater(st["corrupted"], 0, st)
        self.assertEqual(b["bad_icrc"], b0["bad_icrc"])
        self.assertGreaterEqual(rs["bad_icrc"], 1, rs)

    def test_2h_nacks_authenticated_with_a_shared_key(self):
        """rdma_proxy.key_file on both gateways: NACKs and MISSes carry an
        HMAC; 1 % loss is hidden as without one. gwb then given another
        key: gwa refuses its NACKs (counted, none resent), gwb gives the
        holes up and the hosts go back N, and the transfer completes."""
        keys = []
        for i, digits in enumerate(("ab" * 32, "cd" * 32)):
            path = os.path.join(self.topo.workdir, f"nack{i}.key")
            with open(path, "w") as f:
                f.write(digits + "\n")
            keys.append(path)
        try:
            self.set_proxy(dict(SELECT, key_file=keys[0]))
            a0 = self.rdma("gwa")["counters"]
            rq, rs, st = self.lossy_transfer(psn=0x700, qp=0x3c, packets=20000)
            a = self.rdma("gwa")["counters"]
            print(f"\n  same key: requester {rq}\n  responder {rs}\n  gwa {changed(a0, a)}")
            self.assertTrue(rq["done"] and rs["done"], (rq, rs))
            self.assertGreater(st["dropped"], 0, st)
            self.assertEqual((rs["out_of_order"], rq["retransmitted"]), (0, 0), (rq, rs))
            self.assertGreater(a["nacks_received"], 0, a)
            self.assertEqual(a["nacks_unauthenticated"], 0, a)
            self.topo.configs["gwb"]["rdma_proxy"] = dict(SELECT, key_file=keys[1])
            self.topo.write_config("gwb")
            self.topo.ctl("gwb", "config", "reload")
            a0 = self.rdma("gwa")["counters"]
            rq, rs, st = self.lossy_transfer(psn=0x800, qp=0x3d, packets=3000)
            a = self.rdma("gwa")["counters"]
            print(f"\n  other key: requester {rq}\n  responder {rs}\n  gwa {changed(a0, a)}")
            self.assertTrue(rq["done"] and rs["done"], (rq, rs))
            self.assertGreater(a["nacks_unauthenticated"] - a0["nacks_unauthenticated"], 0, a)
            self.assertEqual(a["resent"] - a0["resent"], 0, a)
            self.assertGreater(rq["retransmitted"], 0, rq)
            # a key file that cannot be read: the reload is refused, naming
            # it, and the proxy keeps its key
            missing = os.path.join(self.topo.workdir, "no-such.key")
            self.topo.configs["gwb"]["rdma_proxy"] = dict(SELECT, key_file=missing)
            self.topo.write_config("gwb")
            cp = self.topo.ctl_raw("gwb", "config", "reload")
            self.assertEqual(cp.returncode, 2, f"accepted: {cp.stdout}{cp.stderr}")
            self.assertIn("rdma_proxy.key_file", cp.stdout + cp.stderr)
            self.assertTrue(self.rdma("gwb")["running"])
        finally:
            self.set_proxy(dict(SELECT))

    def set_proxy(self, settings):
        for g in ("gwa", "gwb"):
            self.topo.configs[g]["rdma_proxy"] = settings
            self.topo.write_config(g)
            self.topo.ctl(g, "config", "reload")

    def test_2e_not_cached_answered_by_miss(self):
        """gwa's cache far too small for the requester's window (64 KiB, ~60
        packets of the 1,024 in flight): NACKs name packets gwa evicted.
        gwa answers each such NACK with a MISS (along the stream, through
        the tunnel), and gwb releases the hole at once, to the hosts'
        go-back-N, instead of holding it for give_up_ms (100 ms here)."""
        self.set_proxy(dict(SELECT, cache_bytes=65536))
        try:
            a0, b0 = self.rdma("gwa")["counters"], self.rdma("gwb")["counters"]
            rq, rs, st = self.lossy_transfer(psn=0x300, qp=0x38, packets=3000)
            a, b = self.rdma("gwa")["counters"], self.rdma("gwb")["counters"]
        finally:
            self.set_proxy(dict(SELECT))
        grown = {"gwa": changed(a0, a), "gwb": changed(b0, b)}
        print(f"\n  small cache: requester {rq}\n  responder {rs}\n  loss {st}"
              f"\n  gwa {grown['gwa']}\n  gwb {grown['gwb']}")
        self.assertTrue(rq["done"] and rs["done"], (rq, rs))
        self.assertGreater(st["dropped"], 0, st)
        self.assertGreater(a["misses_sent"] - a0["misses_sent"], 0, grown)
        self.assertGreater(b["misses_received"] - b0["misses_received"], 0, grown)
        self.assertGreater(b["unfillable"] - b0["unfillable"], 0, grown)
        self.assertEqual(b["given_up"] - b0["given_up"], 0, grown)

    def test_3_metrics(self):
        self.transfer(psn=0x40, qp=0x36, packets=2000)  # streams to show (idle ones go in ~1 s)
        self.assertIn('aigw_rdma_tenant_cache_bytes{tenant="ai"}', self.scrape("gwa"))
        text = self.scrape("gwb")
        for name in ("aigw_rdma_nacks_total", "aigw_rdma_retransmits_total",
                     "aigw_rdma_cache_misses_total", "aigw_rdma_reorder_depth",
                     'aigw_rdma_xsk_drops_total{reason="no_frame"}',
                     'aigw_rdma_nacks_refused_total{reason="unauthenticated"}',
                     'aigw_rdma_packets_total{to="bad_icrc"}',
                     'aigw_rdma_tenant_held_packets{tenant="ai"}'):
            self.assertIn(name, text)
        out = self.topo.ctl_raw("gwb", "rdma", "show").stdout
        self.assertIn("RECEIVING", out)

    def test_3b_reload_restarts_the_proxy(self):
        self.set_proxy(dict(SELECT, nack_ms=4))
        for g in ("gwa", "gwb"):
            r = self.rdma(g)
            self.assertTrue(r["running"] and "error" not in r, f"{g}: {r}")
        before = {g: self.proxied(g) for g in ("gwa", "gwb")}
        rq, rs = self.transfer(psn=0x50, qp=0x37, packets=2000)
        self.assertTrue(rq["done"] and rs["done"], (rq, rs))
        for g in ("gwa", "gwb"):
            self.assertGreaterEqual(self.proxied(g) - before[g], 2000, g)

    def scrape(self, node):
        py = ("import urllib.request;print(urllib.request.urlopen("
              "'http://127.0.0.1:9469/metrics', timeout=10).read().decode())")
        return self.topo.run(node, [E.PY, "-c", py]).stdout

    def test_4b_without_the_proxy_the_responder_sees_wrong_icrc(self):
        """The contrast to test_2f: the corrupted packets reach the
        responder, which counts and drops them, and the hosts go back N."""
        self.set_proxy({"select": []})
        try:
            rq, rs, st = self.lossy_transfer(psn=0x500, qp=0x3a, packets=5000, mode="corrupt",
                                             seed=9)
        finally:
            self.set_proxy(dict(SELECT))
        print(f"\n  no proxy, 1% corrupted: requester {rq}\n  responder {rs}\n  stage {st}")
        self.assertTrue(rq["done"] and rs["done"], (rq, rs))
        self.assertGreater(st["corrupted"], 0, st)
        self.assertGreaterEqual(rs["bad_icrc"], 1, rs)
        self.assertGreater(rq["retransmitted"], 0, rq)

    def test_4_without_the_proxy_the_hosts_go_back(self):
        self.set_proxy({"select": []})
        before = self.proxied("gwb")
        rq, rs, st = self.lossy_transfer(psn=0x200, qp=0x33)
        print(f"\n  no proxy: requester {rq}\n  responder {rs}\n  loss {st}")
        self.assertTrue(rq["done"] and rs["done"], (rq, rs))
        self.assertGreater(rs["out_of_order"], 0)
        self.assertGreater(rq["retransmitted"], st["dropped"])
        self.assertEqual(self.proxied("gwb"), before, "the fast path again")
        self.assertFalse(self.rdma("gwb")["running"])


if __name__ == "__main__":
    E.main()
