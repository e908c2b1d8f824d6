#!/usr/bin/python3
"""Accounting accuracy in the lab (issue 3, item 8).

Two tenants send concurrently from host1 through gwa, APN-tagged and
untagged traffic mixed, IPv4 and IPv6, plus WAN->customer traffic from host2
decapsulated at gwa. The lab is lossless (every receiver must see every
datagram), so gwa's per-tenant and per-class packet and byte counts must
equal exactly what the generators sent: L3 bytes = IP header (+ options) +
UDP header + payload, per direction.

Judges:
  * the kernel's own view of the counters: `bpftool map lookup` on gwa's
    pinned aigw_usage map (independent of aigw's reader code);
  * what the product reports: `aigwctl -j tenant show` / `class show`;
  * the APN option gwa imposes on the outer IPv6 header, decoded by tshark
    on the gwa-core link (core runs the kernel's End so packets cross its
    stack and are visible to packet sockets): option type 0x13, APN-ID-Type 2,
    and the 64-bit ID the configuration decided (trust: the host's own ID).
"""

import json
import os
import struct
import subprocess
import time

import e2e_common as E
from e2e_common import A, B

OPT_TYPE = 0x13
ALPHA, BETA = 11, 12
CLS = {"best-effort": 0, "training": 1, "inference": 2, "data-ingest": 3,
       "model-distribution": 4, "storage": 5}
MAX_TENANTS, MAX_CLASSES = 1024, 16  # include/aigw/abi.h
DIR_OUT, DIR_IN = 0, 1


def apn64(app, user):
    return struct.pack("!II", app, user)


def hbh_apn(app, user):
    """A Hop-by-Hop header (as IPV6_HOPOPTS takes it) with one APN option:
    APN-ID-Type 2 (64-bit), flags 0, parameter bitmap 0 (protocols.md)."""
    data = bytes([2, 0, 0, 0]) + apn64(app, user)
    opt = bytes([OPT_TYPE, len(data)]) + data  # 14 bytes
    body = opt  # 2 (next header, length) + 14 = 16: no padding needed
    return (bytes([0, (2 + len(body)) // 8 - 1]) + body).hex()


# name, tenant, class, sender node, receiver node, bind, dst, port, count, size, hbh,
# expected outer APN (app, user) or None, direction at gwa
FLOWS = [
    ("alpha-v4", ALPHA, "inference", "host1", "host2", A.host4(10), B.host4(), 6001, 3000, 200,
     None, (100, 7), DIR_OUT),
    ("alpha-v6-apn", ALPHA, "training", "host1", "host2", A.host6(10), B.host6(), 6002, 2000, 300,
     (100, 5), (100, 5), DIR_OUT),
    ("alpha-v6", ALPHA, "inference", "host1", "host2", A.host6(10), B.host6(), 6003, 1000, 120,
     None, (100, 7), DIR_OUT),
    ("beta-v4", BETA, "storage", "host1", "host2", A.host4(11), B.host4(), 6004, 2500, 500,
     None, (200, 9), DIR_OUT),
    ("beta-v6", BETA, "storage", "host1", "host2", A.host6(11), B.host6(), 6005, 1500, 100,
     None, (200, 9), DIR_OUT),
    ("alpha-in-v4", ALPHA, "inference", "host2", "host1", B.host4(), A.host4(10), 6006, 1000, 80,
     None, None, DIR_IN),
]
RATE = 1500  # datagrams per second per flow (bounded: the largest flow takes ~2 s)


class Accounting(E.TopoCase):
    MODES = {"gwa": "aigw", "core": "kernel", "gwb": "aigw"}
    KERNEL_FALLBACK = "transit"  # the core is there to be captured on, not judged

    @classmethod
    def configure(cls, topo):
        g = topo.configs["gwa"]
        for i in g["interfaces"]:
            if i["role"] == "customer":
                i["apn_trust"] = "trust"
        g["apn"] = {"option_type": OPT_TYPE, "header": "hop-by-hop", "id_bits": 64,
                    "app_group_bits": 32, "user_group_bits": 32}
        g["tenants"] = [{"name": "alpha", "id": ALPHA}, {"name": "beta", "id": BETA}]
        ports = "6000-6999"
        g["classification"] = {"rules": [
            {"name": "alpha-apn-training",
             "match": {"src": [A.host4(10) + "/32", A.host6(10) + "/128"], "protocol": "udp",
                       "dport": ports, "apn": {"value": "100:0", "mask": "0xffffffff00000000"}},
             "set": {"tenant": "alpha", "class": "training"}},
            {"name": "alpha-inference",
             "match": {"src": [A.host4(10) + "/32", A.host6(10) + "/128"], "protocol": "udp",
                       "dport": ports},
             "set": {"tenant": "alpha", "class": "inference", "apn": "100:7"}},
            # WAN -> customer: rules are written from the customer side, the
            # datapath swaps source and destination (ports too) for it.
            {"name": "alpha-inbound",
             "match": {"src": [A.host4(10) + "/32"], "protocol": "udp", "sport": ports},
             "set": {"tenant": "alpha", "class": "inference"}},
            {"name": "beta-storage",
             "match": {"src": [A.host4(11) + "/32", A.host6(11) + "/128"], "protocol": "udp",
                       "dport": ports},
             "set": {"tenant": "beta", "class": "storage", "apn": "200:9", "dscp": 10}},
        ]}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        t = cls.topo
        cls.before = cls.kernel_usage()
        cls.ctl_before = cls.ctl_totals()
        cls.pcap = t.path("core-gwa.pcap")
        cls.sent, cls.recv = {}, {}
        with E.capture(t, "core", "core-gwa", "ip6 and src host " + A.loopback, cls.pcap,
                       seconds=90):
            rcvs = {}
            for f in FLOWS:
                name, _, _, snd, rcv, bind, dst, port = f[:8]
                rcvs[name] = t.popen(rcv, [E.PY, E.FLOWTOOLS, "udp-recv", "--bind", dst,
                                           "--port", str(port), "--idle", "3",
                                           "--max-time", "60"])
            for f in FLOWS:
                if not t.wait_listen(f[4], f[7], proto="udp"):
                    raise RuntimeError(f"udp-recv for {f[0]} did not bind")
            snds = {}
            for f in FLOWS:  # all at once: the tenants send concurrently
                name, _, _, snd, rcv, bind, dst, port, count, size, hbh = f[:11]
                args = ["udp-send", "--bind", bind, "--dst", dst, "--port", str(port),
                        "--rate", str(RATE), "--count", str(count), "--size", str(size),
                        "--no-end"]
                if hbh:
                    args += ["--hbh", hbh_apn(*hbh)]
                snds[name] = t.popen(snd, [E.PY, E.FLOWTOOLS, *args])
            for name, p in snds.items():
                out, errs = p.communicate(timeout=60)
                t.procs.remove(p)
                if p.returncode != 0:
                    raise RuntimeError(f"udp-send {name}: {errs}")
                cls.sent[name] = json.loads(out)
            for name, p in rcvs.items():
                out, errs = p.communicate(timeout=90)
                t.procs.remove(p)
                cls.recv[name] = json.loads(out) if p.returncode == 0 else {"error": errs}
            time.sleep(0.5)
        cls.after = cls.kernel_usage()
        cls.ctl_after = cls.ctl_totals()

    # ------------------------------------------------------------ readers
    @classmethod
    def kernel_usage(cls):
        """{(dir, tenant, class): (packets, bytes)} for the cells this test
        uses, read by bpftool from gwa's pinned map (summed over CPUs)."""
        path = os.path.join(cls.topo.pin_dir_outside("gwa"), "aigw_usage")
        out = {}
        cells = {(f[12], f[1], CLS[f[2]]) for f in FLOWS}
        cells |= {(d, t, c) for d in (DIR_OUT, DIR_IN) for t in (0, ALPHA, BETA)
                  for c in CLS.values()}
        for d, ten, c in cells:
            idx = (d * MAX_TENANTS + ten) * MAX_CLASSES + c
            key = [f"{b}" for b in struct.pack("<I", idx)]
            cp = subprocess.run(["bpftool", "-j", "map", "lookup", "pinned", path, "key", *key],
                                capture_output=True, text=True, timeout=30)
            if cp.returncode != 0:
                raise RuntimeError(f"bpftool map lookup {path}: {cp.stderr}")
            j = json.loads(cp.stdout)
            pk = by = 0
            for v in j.get("values", []):
                raw = v["value"]
                if isinstance(raw, dict):  # BTF-formatted
                    pk += int(raw["packets"])
                    by += int(raw["bytes"])
                else:  # bytes as hex strings: two little-endian u64
                    b = bytes(int(x, 16) for x in raw)
                    p_, b_ = struct.unpack("<QQ", b[:16])
                    pk += p_
                    by += b_
            out[(d, ten, c)] = (pk, by)
        return out

    def expected(self):
        exp = {}
        for f in FLOWS:
            k = (f[12], f[1], CLS[f[2]])
            s = self.sent[f[0]]
            p, b = exp.get(k, (0, 0))
            exp[k] = (p + s["sent"], b + s["l3_bytes"])
        return exp

    # -------------------------------------------------------------- tests
    def test_01_lossless(self):
        for f in FLOWS:
            s, r = self.sent[f[0]], self.recv[f[0]]
            self.assertEqual(s["send_errors"], 0, f"{f[0]}: send errors {s}")
            self.assertEqual(s["sent"], f[8], f"{f[0]}: sender {s}")
            self.assertEqual(r.get("unique"), s["sent"],
                             f"{f[0]}: the lab lost packets (sent {s}, received {r}): "
                             f"accounting cannot be judged exactly{self.diag()}")

    def test_02_kernel_counters_exact(self):
        exp = self.expected()
        got = {k: (self.after[k][0] - self.before[k][0], self.after[k][1] - self.before[k][1])
               for k in self.after}
        names = {ALPHA: "alpha", BETA: "beta", 0: "unclassified"}
        cls_names = {v: k for k, v in CLS.items()}
        for k in sorted(set(exp) | {k for k, v in got.items() if v != (0, 0) and k[1]}):
            d, ten, c = k
            what = f"{'out' if d == DIR_OUT else 'in'} {names[ten]}/{cls_names[c]}"
            self.assertEqual(got.get(k, (0, 0)), exp.get(k, (0, 0)),
                             f"{what}: (packets, bytes) counted vs sent{self.diag(['gwa'])}")

    def test_03_product_reports_exact(self):
        """aigwctl's totals (cumulative since the pinned maps were created):
        per tenant (`tenant show`) and per class (`class show`), taken before
        and after the traffic, grow by exactly what was sent. Only this
        test's flows can reach tenants alpha/beta and classes training,
        inference and storage (the rules match UDP to/from ports 6000-6999)."""
        exp_t, exp_c = {}, {}
        for (d, ten, c), (p, b) in self.expected().items():
            for m, k in ((exp_t, (ten, d)), (exp_c, (c, d))):
                m[k] = (m.get(k, (0, 0))[0] + p, m.get(k, (0, 0))[1] + b)
        for what, exp, before, after in (("tenant show", exp_t, self.ctl_before["tenant"],
                                          self.ctl_after["tenant"]),
                                         ("class show", exp_c, self.ctl_before["class"],
                                          self.ctl_after["class"])):
            for (ident, d), v in exp.items():
                dn = "out" if d == DIR_OUT else "in"
                b0, a0 = before.get((ident, dn), (0, 0)), after.get((ident, dn), (0, 0))
                self.assertEqual((a0[0] - b0[0], a0[1] - b0[1]), v,
                                 f"aigwctl {what}: id {ident} {dn}: (packets, bytes) grew by "
                                 f"vs sent{self.diag(['gwa'])}")

    @classmethod
    def ctl_totals(cls):
        out = {}
        for obj in ("tenant", "class"):
            rep = cls.topo.ctl("gwa", obj, "show")
            rows = rep if isinstance(rep, list) else rep.get(obj + "s", rep.get("classes", []))
            out[obj] = {(r["id"], dn): (r[dn]["packets"], r[dn]["bytes"])
                        for r in rows for dn in ("out", "in")}
        return out

    def test_04_apn_on_the_wire(self):
        """tshark decodes gwa's outer Hop-by-Hop option: type 0x13, length 12,
        APN-ID-Type 2, and the ID the configuration decided, per flow (inner
        UDP destination port identifies the flow)."""
        fields = ["ipv6.src", "ipv6.nxt", "ipv6.opt.type", "ipv6.opt.length",
                  "ipv6.opt.unknown", "udp.dstport", "ip.dsfield.dscp"]
        cp = subprocess.run(["tshark", "-n", "-r", self.pcap, "-T", "fields",
                             "-E", "separator=/t", "-E", "aggregator=|",
                             *sum((["-e", f] for f in fields), [])],
                            capture_output=True, text=True, timeout=120)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        by_port = {}
        for line in cp.stdout.splitlines():
            v = dict(zip(fields, line.split("\t")))
            port = (v.get("udp.dstport") or "").split("|")[0]
            if port:
                by_port.setdefault(int(port), []).append(v)
        for f in FLOWS:
            if f[12] != DIR_OUT:
                continue
            name, port, count, apn = f[0], f[7], f[8], f[11]
            pk = by_port.get(port, [])
            self.assertEqual(len(pk), count, f"{name}: SRv6 packets captured on core-gwa "
                             f"(ports seen: { {p: len(x) for p, x in by_port.items()} })")
            want = (bytes([2, 0, 0, 0]) + apn64(*apn)).hex()
            bad = 0
            for v in pk:
                # The outer header's option comes first; an inner HBH (the
                # host's own) follows when the host sent one.
                types = v["ipv6.opt.type"].split("|")
                data = v["ipv6.opt.unknown"].replace(":", "").split("|")
                if v["ipv6.nxt"].split("|")[0] != "0" or int(types[0], 0) != OPT_TYPE or \
                        int(v["ipv6.opt.length"].split("|")[0], 0) != 12 or data[0] != want:
                    bad += 1
            self.assertEqual(bad, 0, f"{name}: {bad}/{len(pk)} packets without the expected "
                             f"outer APN option {want}; first: {pk[:1]}")
            if name.startswith("beta-v4"):
                self.assertTrue(all(v["ip.dsfield.dscp"] == "10" for v in pk),
                                f"{name}: inner DSCP not remarked to 10: {pk[:1]}")


if __name__ == "__main__":
    E.main()
