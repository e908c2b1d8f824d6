#!/usr/bin/python3
"""(g) Agent memory: aigwd with 1,000 generated policies stays under 64 MiB
resident (after start, and after a reload that rewrites them all)."""

import signal
import time

import e2e_common as E
from e2e_common import A, B

T = E.T
NPOL = 1000
LIMIT_KIB = 64 * 1024


def generated(n, shift=0):
    pols = []
    for i in range(n):
        prefixes = [f"2001:db8:{0x1000 + i:x}::/48"]
        if i < 256:
            prefixes.append(f"203.0.113.{i}/32")
        pols.append({"name": f"gen-{i:04d}", "prefixes": prefixes, "source": A.loopback,
                     "segments": [T.CORE_END, B.sid("d46")],
                     "hop_limit": 64 - (shift + i) % 32})
    return pols


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "VmSize"):
                out[k] = int(v.split()[0])
    return out


class AgentMemory(E.TopoCase):
    MODES = {"gwa": "aigw", "core": "kernel", "gwb": "kernel"}
    KERNEL_FALLBACK = "aigw"  # only gwa's agent is measured (core and gwb forward the ping)
    START_AGENTS = False

    def test_rss_with_1000_policies(self):
        t = self.topo
        cfg = t.default_config("gwa")
        base = cfg["policies"]            # site B's own policies, for the final ping
        cfg["policies"] = base + generated(NPOL)
        t.write_config("gwa", cfg)
        t0 = time.monotonic()
        p = t.start_agent("gwa", timeout=60)
        startup = time.monotonic() - t0
        with open(f"/proc/{p.pid}/cmdline", "rb") as f:
            self.assertIn(b"aigwd", f.read(), "measuring the wrong process")
        st = t.ctl("gwa", "status")
        self.assertEqual(st["policies"], len(cfg["policies"]))
        self.assertEqual(len(t.ctl("gwa", "policy", "show")), len(cfg["policies"]))
        time.sleep(1)
        m1 = proc_status(p.pid)

        cfg["policies"] = base + generated(NPOL, shift=1)   # every generated policy changes
        t.write_config("gwa", cfg)
        t0 = time.monotonic()
        t.signal_agent("gwa", signal.SIGHUP)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pol = t.ctl("gwa", "policy", "show", "gen-0000")[0]
            if pol["hop_limit"] == 63:
                break
            time.sleep(0.2)
        reload_s = time.monotonic() - t0
        self.assertEqual(pol["hop_limit"], 63, f"reload not applied{self.diag(['gwa'])}")
        self.assertTrue(t.ctl("gwa", "status")["last_reload"]["ok"])
        m2 = proc_status(p.pid)
        print(f"\n[e2e] aigwd with {NPOL} policies: start {startup:.1f}s, VmRSS {m1['VmRSS']} KiB; "
              f"after full reload ({reload_s:.1f}s) VmRSS {m2['VmRSS']} KiB, VmHWM {m2['VmHWM']} KiB")
        self.assertLess(m1["VmRSS"], LIMIT_KIB, f"VmRSS after start: {m1}")
        self.assertLess(m2["VmRSS"], LIMIT_KIB, f"VmRSS after reload: {m2}")
        # Still forwarding with the big table (through aigw on core and gwb
        # when this kernel cannot be them).
        for g in ("core", "gwb"):
            if t.modes[g] == "aigw":
                t.start_agent(g)
        t.wait_ping("host1", B.host4(), attempts=3)
        self.assertPing("host1", B.host4())


if __name__ == "__main__":
    E.main()
