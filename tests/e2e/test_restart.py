#!/usr/bin/python3
"""Zero-loss restart (issue 10): aigwd is stopped (SIGTERM) and started again
ten times on each gateway, alternating gwa and gwb, under steady traffic in
both directions. A stopped agent leaves its XDP programs attached; they
forward with the pinned maps until the next agent replaces them
atomically. Judged by zeroloss.py: every datagram arrives once, no customer
packet crosses the WAN natively, the Prometheus counters continue."""

import e2e_common as E
import zeroloss as Z

RATE, SECONDS = 200, 110  # a restart takes ~3 s here: 20 of them fit
RESTARTS = 10             # per gateway


class ZeroLossRestart(Z.ZeroLossCase):
    def test_ten_restarts_each_lose_nothing(self):
        actions = []
        for i in range(2 * RESTARTS):
            g = ("gwa", "gwb")[i % 2]
            label = f"restart {i + 1} ({g})"
            actions.append((label, lambda g=g, label=label: self.restart(g, label)))
        self.run_under_traffic(actions, RATE, SECONDS)


if __name__ == "__main__":
    E.main()
