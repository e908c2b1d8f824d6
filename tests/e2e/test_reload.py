#!/usr/bin/python3
"""(e) Reloading gwa's configuration under steady traffic loses no packet of
the policies that did not change.

A sequence-numbered UDP stream host1 -> host2 (policy to-site-b, fixed
rate, counted at both ends) runs while gwa's file is rewritten and reloaded
8 times, alternating SIGHUP and `aigwctl config reload`, each time changing
only OTHER policies (203.0.113.0/24: added, re-pointed, re-moded, split,
reordered before to-site-b, removed, re-added), plus two invalid files
(one per trigger) that must be refused while the stream keeps flowing."""

import copy
import json
import signal
import time

import e2e_common as E
from e2e_common import A, B

T = E.T
OTHER = "203.0.113.0/24"
RATE, SECONDS = 1000, 12


class ReloadUnderTraffic(E.TopoCase):

    def other(self, **kw):
        p = {"name": "other", "prefixes": [OTHER], "source": A.loopback,
             "segments": [T.CORE_END, B.sid("d46")]}
        p.update(kw)
        return p

    def variants(self):
        """(description, trigger, policies or None for an invalid file)."""
        base = copy.deepcopy(self.topo.default_config("gwa")["policies"])
        p1 = base[0]
        return [
            ("add other", "sighup", [p1, self.other()]),
            ("re-point other", "aigwctl",
             [p1, self.other(segments=[T.CORE_END, B.sid("e"), B.sid("d46")])]),
            ("other hop_limit 17, encap.red", "sighup",
             [p1, self.other(hop_limit=17, mode="encap.red")]),
            ("invalid file (unknown key)", "aigwctl", None),
            ("split other, list it first", "sighup",
             [self.other(prefixes=["203.0.113.0/25", "203.0.113.128/25"]), p1]),
            ("remove other", "aigwctl", [p1]),
            ("invalid file (bad segment)", "sighup", None),
            ("add other-2", "sighup", [p1, self.other(name="other-2",
                                                      prefixes=["203.0.113.64/26"])]),
            ("other-2 -> other", "aigwctl", [p1, self.other()]),
        ]

    def running_policies(self):
        cfg, _ = self.running_config("gwa")
        return {p["name"]: p for p in cfg.get("policies", [])}

    def matches(self, want):
        got = self.running_policies()
        if set(got) != {p["name"] for p in want}:
            return False
        for p in want:
            g = got[p["name"]]
            for k in ("prefixes", "segments", "mode", "hop_limit"):
                if k in p and g.get(k) != p[k]:
                    return False
        return True

    def status(self):
        return self.topo.ctl("gwa", "status")

    def write(self, policies):
        t = self.topo
        if policies is None:
            return
        cfg = t.default_config("gwa")
        cfg["policies"] = policies
        t.write_config("gwa", cfg)

    def write_invalid(self, desc):
        t = self.topo
        cfg = t.default_config("gwa")
        text = t.render_config(cfg, "gwa")
        if "unknown key" in desc:
            text += "bogus_key: 1\n"
        else:
            text = text.replace(f'"{T.CORE_END}", "{B.sid("d46")}"',
                                f'"{T.CORE_END}", "not-an-address"', 1)
        t.write_config("gwa", raw=text)

    def test_reload_under_traffic_is_lossless(self):
        t = self.topo
        port = 9200
        before = self.all_stats()
        rcv = self.start_flow("host2", "udp-recv", "--bind", B.host4(), "--port", str(port),
                              "--idle", "5", "--max-time", str(SECONDS + 30))
        self.assertTrue(t.wait_listen("host2", port, proto="udp"), "udp-recv did not bind")
        snd = self.start_flow("host1", "udp-send", "--dst", B.host4(), "--port", str(port),
                              "--rate", str(RATE), "--count", str(RATE * SECONDS))
        log = []
        t0 = time.monotonic()
        try:
            time.sleep(1.5)
            for desc, trigger, policies in self.variants():
                prev = self.status()["last_reload"]
                if policies is None:
                    self.write_invalid(desc)
                else:
                    self.write(policies)
                if trigger == "aigwctl":
                    cp = t.ctl_raw("gwa", "config", "reload")
                    if policies is None:
                        self.assertEqual(cp.returncode, 2,
                                         f"{desc}: aigwctl config reload should be refused "
                                         f"(exit 2), got {cp.returncode}: {cp.stdout}{cp.stderr}")
                    else:
                        self.assertEqual(cp.returncode, 0,
                                         f"{desc}: reload failed: {cp.stdout}{cp.stderr}"
                                         f"{self.diag(['gwa'])}")
                else:
                    t.signal_agent("gwa", signal.SIGHUP)
                # Wait until gwa reports this reload.
                deadline = time.monotonic() + 10
                while True:
                    st = self.status()["last_reload"]
                    if policies is None:
                        done = st["ok"] is False and (st != prev)
                    else:
                        done = st["ok"] is True and self.matches(policies)
                    if done or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
                self.assertTrue(done, f"{desc} ({trigger}): gwa did not report it; "
                                f"last_reload {st}, policies {list(self.running_policies())}"
                                f"{self.diag(['gwa'])}")
                log.append(f"{time.monotonic() - t0:5.1f}s {trigger:7} {desc}: {st['message'][:90]}")
                time.sleep(0.6)
                if snd.poll() is not None:
                    self.fail(f"sender finished before the reloads did (rate too high?): {log}")
        finally:
            s = self.finish_flow(snd, SECONDS + 30)
            r = self.finish_flow(rcv, 30)
        after = self.all_stats()
        print("\n[e2e] reloads:\n  " + "\n  ".join(log))
        print(f"[e2e] stream: sent {s}, received {r}")
        self.assertEqual(s["send_errors"], 0, f"sender errors: {s}")
        self.assertEqual(r["sender_total"], s["sent"], f"receiver missed the end marker: {r}")
        self.assertEqual(r["missing"], 0, f"lost {r['missing']} of {s['sent']} packets "
                         f"(first: {r['missing_first']}) during reloads:\n" + "\n".join(log)
                         + self.diag())
        self.assertEqual(r["unique"], s["sent"], f"sent {s} received {r}")
        enc = E.delta(before["gwa"], after["gwa"], A.cust_if, "encap")
        self.assertGreaterEqual(enc, s["sent"], f"gwa encap {enc} < sent {s['sent']}")
        self.assertNoDrops(before, after)
        # The final state is the last valid file, and the running config is it.
        self.assertTrue(self.matches(self.variants()[-1][2]))

    def test_refused_reload_keeps_running_config(self):
        t = self.topo
        good = self.running_policies()
        self.write_invalid("unknown key")
        try:
            cp = t.ctl_raw("gwa", "config", "reload")
            self.assertEqual(cp.returncode, 2, f"invalid file accepted: {cp.stdout}{cp.stderr}")
            self.assertIn("bogus_key", cp.stdout + cp.stderr,
                          "the refusal should name the offending field")
            self.assertEqual(self.running_policies(), good)
            st = self.status()["last_reload"]
            self.assertFalse(st["ok"], f"status last_reload {st}")
            self.assertPing("host1", B.host4())
            self.assertPing("host1", B.host6())
        finally:
            t.write_config("gwa", t.default_config("gwa"))
            cp = t.ctl_raw("gwa", "config", "reload")
            self.assertEqual(cp.returncode, 0, f"{cp.stdout}{cp.stderr}")


if __name__ == "__main__":
    E.main()
