#!/usr/bin/python3
"""Zero-loss package upgrade (issue 10 item 6), run by
tests/packaging/test_deb.sh with the Debian package installed: the lab's
gateways run the installed /usr/sbin/aigwd (AIGWD), steady traffic flows
both ways, `dpkg -i` installs the newer package (AIGW_UPGRADE_DEB) under
it, and each gateway's agent is restarted onto the new binary, as the
package's postinst has systemd do (this machine has no systemd as PID 1).
Judged by zeroloss.py: every datagram arrives once, no customer packet
crosses the WAN natively, the Prometheus counters continue."""

import os
import subprocess

import e2e_common as E
import zeroloss as Z

RATE, SECONDS = 200, 30


class PackageUpgrade(Z.ZeroLossCase):
    def upgrade(self):
        deb = os.environ["AIGW_UPGRADE_DEB"]
        cp = subprocess.run(["dpkg", "-i", deb], capture_output=True, text=True, timeout=300)
        self.assertEqual(cp.returncode, 0, f"dpkg -i {deb}:\n{cp.stdout}{cp.stderr}")

    def test_upgrade_under_traffic_loses_nothing(self):
        self.assertEqual(self.topo.aigwd, "/usr/sbin/aigwd", "run with the installed aigwd")
        before = os.stat(self.topo.aigwd).st_ino
        self.run_under_traffic([("dpkg -i", self.upgrade),
                                ("restart gwa", lambda: self.restart("gwa", "restart gwa")),
                                ("restart gwb", lambda: self.restart("gwb", "restart gwb"))],
                               RATE, SECONDS)
        self.assertNotEqual(os.stat(self.topo.aigwd).st_ino, before,
                            "dpkg did not replace /usr/sbin/aigwd")
        for g in ("gwa", "gwb"):
            exe = os.readlink(f"/proc/{self.topo.agent_pid(g)}/exe")
            self.assertEqual(exe, self.topo.aigwd, f"{g} does not run the new binary: {exe}")


if __name__ == "__main__":
    E.main()
