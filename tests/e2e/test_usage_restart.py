#!/usr/bin/python3
"""Usage records are exact across an agent restart and a reload (issue 3).

One tenant ("acme": UDP from host1 to host2's port 7000) sends a fixed
number of datagrams through gwa with `accounting.periods: [10s]`. In the
middle of the traffic gwa's aigwd is stopped (SIGTERM) and started again,
later reloaded (SIGHUP). While it is down its XDP programs stay attached
and keep forwarding and counting in the pinned maps (gwa's kernel has no
route: a datagram the programs did not carry would be lost), so every
datagram reaches host2 and is counted once.

Judges, all independent of the accounting code:
  * the receiver's own count (unique datagrams, no duplicates) and the
    sender's (what it sent: all of it must arrive);
  * the kernel's counter: gwa's pinned aigw_usage cell of (out, acme,
    training) read with bpftool before and after.
The sum of the usage records written for acme (every 10 s file) must equal
the receiver's packets and L3 bytes (IP total length) exactly, and the
kernel counter's growth: nothing lost or counted twice across the restart
and the reload.
"""

import glob
import json
import os
import signal
import struct
import subprocess
import sys
import time

import e2e_common as E
from e2e_common import A, B

# Namespaces: aigwt-e2e-<pid>-* under ctest; a developer may set another
# prefix (AIGW_E2E_PREFIX) to keep separate from a concurrent suite.
E.PREFIX_BASE = os.environ.get("AIGW_E2E_PREFIX", E.PREFIX_BASE)

TENANT, CLS_TRAINING = 21, 1
PORT = 7000
RATE, COUNT, SIZE = 400, 8000, 200  # 20 s of traffic, bounded
L3_EACH = 20 + 8 + SIZE             # IPv4 + UDP + payload (flowtools udp-send --size)
PERIOD = 10
MAX_TENANTS, MAX_CLASSES, DIR_OUT = 1024, 16, 0  # include/aigw/abi.h


class UsageRestart(E.TopoCase):
    MODES = {"gwa": "aigw", "core": "kernel", "gwb": "aigw"}
    KERNEL_FALLBACK = "transit"  # the core is there to be captured on, not judged

    @classmethod
    def configure(cls, topo):
        g = topo.configs["gwa"]
        g["tenants"] = [{"name": "acme", "id": TENANT}]
        g["classification"] = {"rules": [
            {"name": "acme-udp",
             "match": {"src": [A.host4(10) + "/32"], "protocol": "udp", "dport": str(PORT)},
             "set": {"tenant": "acme", "class": "training"}}]}
        g["accounting"] = {"periods": [f"{PERIOD}s"], "sample_interval": "1s",
                           "usage_dir": topo.path("usage"), "state_dir": topo.path("state")}

    def kernel_cell(self):
        """(packets, bytes) of aigw_usage[(out, acme, training)] by bpftool."""
        path = os.path.join(self.topo.pin_dir_outside("gwa"), "aigw_usage")
        idx = (DIR_OUT * MAX_TENANTS + TENANT) * MAX_CLASSES + CLS_TRAINING
        key = [str(b) for b in struct.pack("<I", idx)]
        cp = subprocess.run(["bpftool", "-j", "map", "lookup", "pinned", path, "key", *key],
                            capture_output=True, text=True, timeout=30)
        self.assertEqual(cp.returncode, 0, f"bpftool map lookup {path}: {cp.stderr}")
        pk = by = 0
        for v in json.loads(cp.stdout).get("values", []):
            raw = v["value"]
            if isinstance(raw, dict):
                pk += int(raw["packets"])
                by += int(raw["bytes"])
            else:
                p_, b_ = struct.unpack("<QQ", bytes(int(x, 16) for x in raw)[:16])
                pk += p_
                by += b_
        return pk, by

    def records(self):
        out = []
        for f in sorted(glob.glob(os.path.join(self.topo.path("usage"), f"usage-{PERIOD}s-*.jsonl"))):
            with open(f) as fh:
                for line in fh:
                    out.append((os.path.basename(f), json.loads(line)))
        return out

    def test_usage_exact_across_restart_and_reload(self):
        t = self.topo
        k0 = self.kernel_cell()
        rcv = t.popen("host2", [E.PY, E.FLOWTOOLS, "udp-recv", "--bind", B.host4(), "--port",
                                str(PORT), "--idle", "12", "--max-time", "120"])
        self.assertTrue(t.wait_listen("host2", PORT, proto="udp"), "udp-recv did not bind")
        snd = t.popen("host1", [E.PY, E.FLOWTOOLS, "udp-send", "--bind", A.host4(10), "--dst",
                                B.host4(), "--port", str(PORT), "--rate", str(RATE), "--count",
                                str(COUNT), "--size", str(SIZE), "--no-end"])
        time.sleep(4)
        top = t.ctl("gwa", "flow", "top", "-n", "5")
        self.assertTrue(any(f["dport"] == PORT and f["tenant"] == "acme" for f in top["flows"]),
                        f"flow top does not show the acme flow: {top}{self.diag(['gwa'])}")

        down_at = time.monotonic()
        rc = t.stop_agent("gwa", unpin=False)
        self.assertEqual(rc, 0, f"aigwd exit code after SIGTERM{self.diag(['gwa'])}")
        time.sleep(1.0)
        t.start_agent("gwa")
        downtime = time.monotonic() - down_at

        time.sleep(3)
        cfg = t.configs["gwa"]
        cfg["flows"] = {"active_timeout": "30s"}  # a real change for the reload to apply
        t.write_config("gwa", cfg)
        t.signal_agent("gwa", signal.SIGHUP)

        s = self.finish_flow(snd, 90)
        r = self.finish_flow(rcv, 60)
        last_packet = time.time()
        self.assertEqual(s["send_errors"], 0, s)
        self.assertEqual(s["sent"], COUNT, s)
        self.assertEqual(r["duplicates"], 0, r)
        self.assertEqual(r["unique"], COUNT, f"datagrams lost across the restart ({downtime:.1f}s "
                         f"without an agent): {r}{self.diag(['gwa'])}")

        # Wait for the period holding the last datagram to close and be written.
        boundary = (int(last_packet) // PERIOD + 1) * PERIOD
        deadline = time.monotonic() + (boundary - time.time()) + 15
        while True:
            u = t.ctl("gwa", "usage", "show", "--period", f"{PERIOD}s")
            cur = u["periods"][0]["current"]
            if (time.time() > boundary + 1 and u["pending_batches"] == 0 and cur
                    and cur["start"] >= time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(boundary))):
                break
            self.assertLess(time.monotonic(), deadline,
                            f"period did not close: {u}{self.diag(['gwa'])}")
            time.sleep(0.5)

        k1 = self.kernel_cell()
        recs = [(f, x) for f, x in self.records() if x["tenant_id"] == TENANT]
        self.assertTrue(recs, f"no usage records for acme in {t.path('usage')}")
        keys = [(x["period_start"], x["period_s"]) for _, x in recs]
        self.assertEqual(len(keys), len(set(keys)), "a period was written twice")
        billed_p = sum(x["out"]["packets"] for _, x in recs)
        billed_b = sum(x["out"]["bytes"] for _, x in recs)
        per_class = sum(c["out"]["packets"] for _, x in recs for c in x["classes"]
                        if c["class"] == "training")
        for f, x in recs:
            self.assertEqual(x["tenant"], "acme")
            self.assertEqual(x["period_s"], PERIOD)
            self.assertIn(x["period_start"].replace("-", "").replace(":", ""), f)
            self.assertEqual(x["in"]["packets"], 0)
            if x["out"]["packets"]:
                self.assertGreater(x["out"]["peak_bps"], 0)
                self.assertGreaterEqual(x["out"]["peak_bps"], x["out"]["p95_bps"])

        kp, kb = k1[0] - k0[0], k1[1] - k0[1]
        print(f"\n[e2e] sent {s['sent']}, received {r['unique']} (down {downtime:.1f}s), "
              f"kernel +{kp} pkts +{kb} B, records {billed_p} pkts {billed_b} B in "
              f"{len(recs)} periods", file=sys.stderr)
        detail = (f"\nsender {s}\nreceiver {r}\nkernel +{kp} pkts +{kb} B\n"
                  f"records {[(f, x['out']) for f, x in recs]}{self.diag(['gwa'])}")
        self.assertEqual(kp, r["unique"], "kernel counter != datagrams received" + detail)
        self.assertEqual(kb, r["unique"] * L3_EACH, "kernel bytes != L3 bytes received" + detail)
        self.assertEqual(billed_p, r["unique"], "usage records != datagrams received" + detail)
        self.assertEqual(billed_b, r["unique"] * L3_EACH, "usage bytes != L3 bytes" + detail)
        self.assertEqual(per_class, billed_p, "class breakdown does not add up" + detail)

        log = t.log_text("gwa")
        self.assertIn("accounting: state loaded", log, "restart did not load the state")
        self.assertIn("SIGHUP: ", log)
        self.assertNotIn("SIGHUP: reload refused", log, self.diag(["gwa"]))
        ten = {x["name"]: x for x in t.ctl("gwa", "tenant", "show")}
        self.assertEqual(ten["acme"]["out"]["packets"], k1[0], ten)


if __name__ == "__main__":
    E.main()
