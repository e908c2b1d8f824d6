#!/usr/bin/python3
"""aigw two-site lab: host1 - gwa - core - gwb - host2 in network namespaces.

    lab.py up [--build-dir DIR] [--kernel gwa,core,gwb] [--prefix P]
                                       build the lab, start aigwd (tears an old lab down first)
    lab.py down [--prefix P]           stop the agents, remove namespaces, pins and state
    lab.py status [--prefix P]         namespaces, agents, `aigwctl status`
    lab.py traffic [--prefix P]        ping both families both ways, a short iperf3 run,
                                       then `aigwctl status` / `stats show` of gwa and gwb
    lab.py ctl NODE ARGS...            aigwctl ARGS in NODE's namespace (its socket)
    lab.py exec NODE CMD...            CMD in NODE's namespace
    lab.py cleanup --prefix P [--force]
                                       remove leftovers of crashed runs: namespaces P*,
                                       work dirs /tmp/P* and /run/P* (with their bpffs
                                       mounts); names P<pid>-... of a live pid are kept
                                       unless --force

Nodes: host1 gwa core gwb host2. State of a running lab: /run/<prefix>run/lab.json.
"""

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import topology as T  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_PREFIX = "aigw-lab-"


def state_dir(prefix):
    return f"/run/{prefix}run"


def state_file(prefix):
    return os.path.join(state_dir(prefix), "lab.json")


def load_state(prefix):
    try:
        with open(state_file(prefix)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def topo_from_state(st):
    t = T.Topology(st["prefix"], modes=st["modes"], aigwd=st["aigwd"], aigwctl=st["aigwctl"],
                   bpf_dir=st["bpf_dir"], workdir=st["workdir"], mtu=st.get("mtu", 1500))
    t.is_up = True
    t.configs = {}
    return t


def is_aigwd(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"aigwd" in f.read()
    except OSError:
        return False


# ---------------------------------------------------------------- commands
def cmd_down(args, quiet=False):
    prefix = args.prefix
    st = load_state(prefix)
    if st:
        t = topo_from_state(st)
        for node, pid in st.get("agents", {}).items():
            if T.pid_alive(pid) and is_aigwd(pid):
                T.kill_pid(pid, timeout=15)  # SIGTERM: programs stay (namespaces go)
            with contextlib.suppress(Exception):
                t.unpin(node)
    removed, dirs = T.cleanup_prefix(prefix)
    if not quiet:
        if removed or dirs:
            print(f"lab {prefix}: removed {len(removed)} namespaces"
                  + (f", {', '.join(dirs)}" if dirs else ""))
        else:
            print(f"lab {prefix}: nothing to remove")
    return 0


def demo_accounting(t):
    """The lab's gateways classify their site's traffic: host .10 / ::10 is
    tenant "research" (training, APN ID 100:1 imposed on the WAN), the rest
    of the site tenant "lab" (best-effort)."""
    for g, site in T.SITES.items():
        cfg = t.configs.get(g)
        if not cfg or t.modes.get(g) != "aigw":
            continue
        cfg["tenants"] = [{"name": "research", "id": 1}, {"name": "lab", "id": 2}]
        cfg["classification"] = {
            "default": {"tenant": "lab"},
            "rules": [{"name": "research-hosts",
                       "match": {"src": [site.host4(10) + "/32", site.host6(10) + "/128"]},
                       "set": {"tenant": "research", "class": "training", "apn": "100:1"}}]}


def cmd_up(args):
    if os.geteuid() != 0:
        print("lab.py up: run as root", file=sys.stderr)
        return 1
    prefix = args.prefix
    if load_state(prefix) or any(n.startswith(prefix) for n in T.netns_list()):
        print(f"lab {prefix}: tearing down the previous lab first")
        cmd_down(args, quiet=True)
    modes = {g: "aigw" for g in T.GATEWAYS}
    for g in filter(None, (args.kernel or "").split(",")):
        if g not in T.GATEWAYS:
            print(f"lab.py up: --kernel takes gwa,core,gwb (got {g})", file=sys.stderr)
            return 1
        modes[g] = "kernel"
    build = os.path.abspath(args.build_dir)
    wd = state_dir(prefix)
    os.makedirs(wd, exist_ok=True)
    t = T.Topology(prefix, modes=modes, build_dir=build, workdir=wd, mtu=args.mtu,
                   xdp_mode=args.xdp_mode, log_level=args.log_level)
    t.up(start_agents=False)
    demo_accounting(t)
    for g in t.aigw_nodes():
        t.write_config(g)
        t.start_agent(g)
    # Hand the running lab over to `lab.py down`: no teardown at our exit.
    if t in T._LIVE:
        T._LIVE.remove(t)
    st = {"prefix": prefix, "modes": modes, "workdir": wd, "aigwd": t.aigwd,
          "aigwctl": t.aigwctl, "bpf_dir": t.bpf_dir, "mtu": args.mtu,
          "agents": {n: p.pid for n, p in t.agents.items()},
          "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    with open(state_file(prefix), "w") as f:
        json.dump(st, f, indent=2)
    print(f"lab {prefix}: up (gwa={modes['gwa']} core={modes['core']} gwb={modes['gwb']}); "
          f"configs and aigwd logs in {wd}")
    return 0


def need_state(prefix):
    st = load_state(prefix)
    if not st:
        print(f"lab {prefix}: not running (deploy/lab/lab.py up)", file=sys.stderr)
        sys.exit(1)
    return st


def cmd_status(args):
    st = load_state(args.prefix)
    nss = [n for n in T.netns_list() if n.startswith(args.prefix)]
    if not st:
        print(f"lab {args.prefix}: no state" + (f"; stray namespaces: {' '.join(nss)} "
                                                 f"(lab.py down)" if nss else ""))
        return 1 if nss else 0
    t = topo_from_state(st)
    print(f"lab {args.prefix}: started {st['started']}, workdir {st['workdir']}")
    print(f"namespaces: {' '.join(nss) or '(none)'}")
    rc = 0
    for g in T.GATEWAYS:
        if st["modes"][g] != "aigw":
            print(f"\n== {g}: kernel-only SRv6")
            continue
        pid = st["agents"].get(g)
        alive = pid and T.pid_alive(pid) and is_aigwd(pid)
        print(f"\n== {g}: aigwd pid {pid} {'running' if alive else 'NOT RUNNING'}")
        cp = t.ctl_raw(g, "status")
        print((cp.stdout + cp.stderr).rstrip())
        rc |= 0 if alive and cp.returncode == 0 else 1
    return rc


def cmd_ctl(args):
    t = topo_from_state(need_state(args.prefix))
    cp = subprocess.run(["ip", "netns", "exec", t.ns(args.node), t.aigwctl, "-S",
                         t.socket_path(args.node), *args.rest])
    return cp.returncode


def cmd_exec(args):
    t = topo_from_state(need_state(args.prefix))
    if not args.rest:
        print("lab.py exec NODE CMD...", file=sys.stderr)
        return 1
    return subprocess.run(["ip", "netns", "exec", t.ns(args.node), *args.rest]).returncode


def cmd_traffic(args):
    st = need_state(args.prefix)
    t = topo_from_state(st)
    a, b = T.SITES["gwa"], T.SITES["gwb"]
    failures = 0
    print("== ping (3 packets each)")
    for src, dst in (("host1", b.host4()), ("host1", b.host6()),
                     ("host2", a.host4()), ("host2", a.host6())):
        ok, out = t.wait_ping(src, dst, attempts=5)  # first packets resolve neighbours
        if ok:
            ok, out = t.ping(src, dst, count=3)
        summary = [l for l in out.splitlines() if "transmitted" in l or "rtt" in l]
        print(f"  {src} -> {dst:16} {'ok  ' if ok else 'FAIL'} {' | '.join(summary)}")
        failures += not ok
    print(f"== iperf3 TCP host1 -> host2 ({args.seconds}s, IPv4 and IPv6)")
    for dst in (b.host4(), b.host6()):
        try:
            r = t.iperf3(dst, seconds=args.seconds)
            s = r["end"]["sum_received"]
            print(f"  {dst:16} {s['bytes'] / 1e6:8.1f} MB  {s['bits_per_second'] / 1e6:8.1f} Mbit/s"
                  f"  retransmits {r['end']['sum_sent'].get('retransmits', '?')}")
            failures += s["bytes"] == 0
        except T.LabError as e:
            print(f"  {dst:16} FAIL {e}")
            failures += 1
        finally:
            t.procs.clear()
    for g in ("gwa", "gwb"):
        if st["modes"][g] != "aigw":
            continue
        for what in (["status"], ["stats", "show"], ["tenant", "show"], ["flow", "top", "-n", "5"]):
            print(f"\n== {g}: aigwctl {' '.join(what)}")
            cp = t.ctl_raw(g, *what)
            print((cp.stdout + cp.stderr).rstrip())
            failures += cp.returncode != 0
    print(f"\n{'all traffic passed' if not failures else f'{failures} check(s) FAILED'}")
    return 1 if failures else 0


def cmd_cleanup(args):
    removed, dirs = T.cleanup_prefix(args.prefix, skip_live_owners=not args.force)
    print(f"cleanup {args.prefix}: removed {len(removed)} namespaces"
          + (f" ({' '.join(removed)})" if removed else "")
          + (f", dirs {' '.join(dirs)}" if dirs else ""))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="lab.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prefix", default=DEFAULT_PREFIX, help="namespace name prefix")
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up")
    up.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    up.add_argument("--kernel", default="", help="gateways to run kernel-only SRv6 (gwa,core,gwb)")
    up.add_argument("--mtu", type=int, default=1500)
    up.add_argument("--xdp-mode", default="native", choices=("native", "generic"))
    up.add_argument("--log-level", default="info", choices=("debug", "info", "warn", "error"))
    sub.add_parser("down")
    sub.add_parser("status")
    tr = sub.add_parser("traffic")
    tr.add_argument("--seconds", type=int, default=3)
    for name in ("ctl", "exec"):
        p = sub.add_parser(name)
        p.add_argument("node", choices=T.NODES)
        p.add_argument("rest", nargs=argparse.REMAINDER)
    cl = sub.add_parser("cleanup")
    cl.add_argument("--force", action="store_true",
                    help="also remove names whose embedded pid is a live process")
    # `--prefix` is accepted after the subcommand too.
    for p in sub.choices.values():
        p.add_argument("--prefix", dest="prefix", default=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    try:
        return {"up": cmd_up, "down": cmd_down, "status": cmd_status, "traffic": cmd_traffic,
                "ctl": cmd_ctl, "exec": cmd_exec, "cleanup": cmd_cleanup}[args.cmd](args)
    except T.LabError as e:
        print(f"lab.py {args.cmd}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        sys.exit(1)
