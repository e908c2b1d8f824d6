#!/usr/bin/env bash
# aigw benchmarks: one command, as root; prints a table and ratios, ends with
# a summary block (also written to tests/bench/results/latest.txt, except
# with --smoke). About 4 minutes (2.5 with --generator trafgen); exit status 0 only when every fixture took
# its path and the captures showed SRv6 (timings are never asserted).
#
#   tests/bench/run.sh [--build-dir DIR] [--no-build] [--smoke]
#                      [--repeat N] [--runs K] [--pps-runs N] [--pps-seconds S]
#                      [--skip-prog] [--skip-pps] [--only he_encap4_1,ep_end,...] [--hh WINDOW_MS [--hh-ab]] [--new-flows] [--keep]
#                      [--generator trafgen|xdp|both] [--skip-cls] [--skip-ops] [--spine-build DIR]
#                      [--isolated | --skip-iso] [--route-change]
#
# (a) Per-packet cost of each datapath path (aigw-bench-prog): the XDP
#     programs loaded and programmed by aigw::Datapath from
#     tests/bench/prog_bench.yaml, run with BPF_PROG_TEST_RUN in live-frames
#     mode (frames really go out: XDP_PASS into the stack, XDP_REDIRECT out
#     of a veth whose peer runs a count-and-drop sink), --repeat frames per
#     run, median of --runs; each against a trivial XDP program with the same
#     verdict class run on the same frame in the same run (trivial XDP_PASS;
#     trivial bpf_redirect_map to the same egress port), plus the harness
#     floor (trivial XDP_DROP) and a reference row: a bare encapsulation
#     (template copy + FIB + redirect, tests/bench/bench_xdp.bpf.c) on the
#     same frame, i.e. what aigw's own logic adds on top of the minimum
#     work an XDP H.Encaps does. Every fixture is first checked to take its
#     path (verdict, output length and bytes, datapath counters), and every
#     live run is checked again (counters, sink) - a row that measured
#     something else is printed FAILED, never as a figure.
# (b) Packets per second forwarded, namespaces gen --veth-- gw --veth-- sink:
#     trafgen in gen sends one flow of 60-byte UDP/IPv4 frames to
#     198.51.100.10; gw encapsulates it in SRv6 (H.Encaps, 2 SIDs) either
#     with aigw (aigwd: customer port towards gen, WAN port towards sink) or
#     with the kernel's seg6 lwtunnel (no XDP on gw); the sink (XDP on the
#     sink veth) counts, checks that each frame is SRv6 with the first SID as
#     destination, and drops. Received pps over a steady-state window, median
#     of --pps-runs runs (modes take turns), the generator's send rate over
#     the same window, and the ratio aigw/kernel. Two references in the same
#     run: the bare XDP encapsulation on gw instead of aigwd, and the
#     generator alone (XDP drop on gw's ingress), from which the gw's share
#     of the per-packet cost is derived. A tshark capture per mode (sink in
#     pass mode) shows the SRv6 packets. On veth everything runs in the
#     sender's context, i.e. on trafgen's CPU: pps = 1 / (generator + gw +
#     sink cost per packet). --generator xdp (or both, the default) repeats
#     the same comparison with a much cheaper generator: aigw-xdp-gen
#     (tests/bench/xdp_gen.c, compiled here with cc + libbpf), BPF_PROG_TEST_RUN
#     live frames returning XDP_TX out of the gen's veth, i.e. xdp-trafficgen's
#     mechanism (Debian's xdp-trafficgen 1.3 is IPv6-only and does not load
#     on Linux 6.18). Frames redirected into a veth need NAPI on the peer:
#     XDP is attached on gwc in the aigw/bare/generator-alone modes; for the
#     kernel mode GRO is turned on on gwc (in the gw namespace) for the run.
# (d) --isolated: tests/bench/iso.sh, the same forwarding with the gateway's
#     packet processing alone on CPU 1 (threaded NAPI kthread pinned there)
#     and the generator on CPU 0: headend and End.DX4/End.DT6 against the
#     kernel, gateway pps, its CPU busy %, ns of gateway CPU per packet and a
#     perf split. Off by default (~3 min); --skip-iso is the default.
# (e) --route-change: tests/bench/route_change.sh (route replace / link
#     down -> first frame on the new next hop).
# (f) With (a): aigw-bench-ops, the cost of one operation of the per-packet
#     work (each kind of map lookup the datapath does, the clock helpers,
#     bpf_fib_lookup, bpf_redirect_map), in ns, in (a)'s namespace.
#
# Safety: everything happens in namespaces aigwt-bench-<pid>-<node> and
# under /sys/fs/bpf/aigwt-bench-<pid>; both are removed on exit (also on
# failure or Ctrl-C), every process started here is stopped by its pid.
# Nothing is attached or changed in the root network namespace.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

BUILD=${AIGW_BUILD_DIR:-$REPO/build}
DO_BUILD=1
REPEAT=1000000
RUNS=5
PPS_RUNS=5
PPS_SECONDS=3
PPS_WARMUP=1
SKIP_PROG=0
SKIP_PPS=0
SKIP_CLS=0
SKIP_OPS=0
SPINE_BUILD=
KEEP=0
SMOKE=0
ONLY=
HH=
NEW_FLOWS=
HH_AB=
GENERATOR=both
ISO=0
ROUTE=0
GEN_CPU=0  # the CPU trafgen -P 1 runs on
PROG_CPU=$(($(nproc) - 1))

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) BUILD=$2; shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    --smoke) SMOKE=1; shift ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --pps-runs) PPS_RUNS=$2; shift 2 ;;
    --pps-seconds) PPS_SECONDS=$2; shift 2 ;;
    --skip-prog) SKIP_PROG=1; shift ;;
    --skip-pps) SKIP_PPS=1; shift ;;
    --skip-cls) SKIP_CLS=1; shift ;;
    --skip-ops) SKIP_OPS=1; shift ;;
    --spine-build) SPINE_BUILD=$(cd "$2" && pwd); shift 2 ;;
    --keep) KEEP=1; shift ;;
    --only) ONLY=$2; shift 2 ;;
    --hh) HH=$2; shift 2 ;;
    --new-flows) NEW_FLOWS=--new-flows; shift ;;
    --hh-ab) HH_AB=--hh-ab; shift ;;
    --generator) GENERATOR=$2; shift 2 ;;
    --isolated) ISO=1; shift ;;
    --skip-iso) ISO=0; shift ;;
    --route-change) ROUTE=1; shift ;;
    -h|--help) usage ;;
    *) echo "run.sh: unknown argument $1" >&2; usage ;;
  esac
done
case $GENERATOR in
  trafgen) GENS=(trafgen) ;;
  xdp) GENS=(xdp) ;;
  both) GENS=(trafgen xdp) ;;
  *) echo "run.sh: --generator must be trafgen, xdp or both" >&2; exit 2 ;;
esac
if [[ $SMOKE == 1 ]]; then
  REPEAT=20000; RUNS=1; PPS_RUNS=1; PPS_SECONDS=1; PPS_WARMUP=0.5
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "run.sh: run as root (BPF, network namespaces)" >&2
  exit 1
fi
for t in ip nsenter timeout awk; do
  command -v $t >/dev/null || { echo "run.sh: missing $t" >&2; exit 1; }
done

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ------------------------------------------------------------------ build
if [[ $DO_BUILD == 1 ]]; then
  log "building in $BUILD"
  if [[ ! -f $BUILD/CMakeCache.txt ]]; then
    cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$BUILD" -j"$(nproc)" --target aigwd aigw-bench-prog aigw-bench-xdp \
    aigw-bench-ops >/dev/null
fi
BUILD=$(cd "$BUILD" && pwd)
AIGWD=$BUILD/agent/aigwd
PROG=$BUILD/tests/bench/aigw-bench-prog
XDPT=$BUILD/tests/bench/aigw-bench-xdp
OPS=$BUILD/tests/bench/aigw-bench-ops
for f in "$AIGWD" "$PROG" "$XDPT" "$OPS"; do
  [[ -x $f ]] || { echo "run.sh: missing $f (build first or pass --build-dir)" >&2; exit 1; }
done

# ------------------------------------------------------------------ cleanup
PFX=aigwt-bench-$$
NS_DUT=$PFX-dut NS_GEN=$PFX-gen NS_GW=$PFX-gw NS_SINK=$PFX-sink
PIN=/sys/fs/bpf/$PFX
WORK=$(mktemp -d "/tmp/$PFX.XXXXXX")
source "$HERE/lib.sh"
BENCH_NAMESPACES=("$NS_DUT" "$NS_GEN" "$NS_GW" "$NS_SINK")
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# Leftovers of a crashed earlier run (its pid is gone).
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^aigwt-bench-[0-9]+-' || true); do
  pid=${ns#aigwt-bench-}; pid=${pid%%-*}
  if ! kill -0 "$pid" 2>/dev/null; then ip netns del "$ns" 2>/dev/null || true; fi
done
for d in /sys/fs/bpf/aigwt-bench-*; do
  [[ -e $d ]] || continue
  pid=${d#/sys/fs/bpf/aigwt-bench-}
  if [[ $pid =~ ^[0-9]+$ ]] && ! kill -0 "$pid" 2>/dev/null; then rm -rf "$d" || true; fi
done

bench_bpffs
# Programs that pin run under `nsenter --net=/run/netns/NS` (keeps the
# host's /sys/fs/bpf; `ip netns exec` mounts a fresh /sys). Background jobs
# are started as plain commands, never through a shell function, so that $!
# is the program itself (nsenter and `ip netns exec` exec it in place).
fwd_on() { ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1; }

KVER=$(uname -r)
COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
# Not a git checkout (a release tarball): no commit, and no early exit.
DIRTY=$(git -C "$REPO" status --porcelain -- bpf agent include 2>/dev/null | head -1 || true)
[[ -n $DIRTY ]] && COMMIT="$COMMIT+local changes"
CPUS=$(nproc)

# ================================================================== (a)
PROG_OUT=$WORK/prog.txt PROG_TSV=$WORK/prog.tsv PROG_RC=0
OPS_OUT=$WORK/ops.txt OPS_RC=0
CLS_OUT=$WORK/cls.txt CLS_TSV=$WORK/cls.tsv CLS_RC=0
if [[ $SKIP_PROG == 0 ]]; then
  log "(a) per-path cost: namespace $NS_DUT"
  ip netns add "$NS_DUT"
  ip -n "$NS_DUT" link set lo up
  ip -n "$NS_DUT" link add bc0 type veth peer name bc0p
  ip -n "$NS_DUT" link add bw0 type veth peer name bw0p
  for i in bc0 bc0p bw0 bw0p; do ip -n "$NS_DUT" link set "$i" up; done
  fwd_on "$NS_DUT"
  ip -n "$NS_DUT" addr add 192.0.2.1/24 dev bc0
  ip -n "$NS_DUT" -6 addr add 2001:db8:1::1/64 dev bc0 nodad
  ip -n "$NS_DUT" -6 addr add fc00:ff::1/64 dev bw0 nodad
  ip -n "$NS_DUT" -6 route add fc00:b::/32 via fc00:ff::2 dev bw0
  ip -n "$NS_DUT" -6 neigh replace fc00:ff::2 lladdr "$(mac "$NS_DUT" bw0p)" dev bw0 nud permanent
  ip -n "$NS_DUT" neigh replace 192.0.2.10 lladdr "$(mac "$NS_DUT" bc0p)" dev bc0 nud permanent
  ip -n "$NS_DUT" -6 neigh replace 2001:db8:1::10 lladdr "$(mac "$NS_DUT" bc0p)" dev bc0 nud permanent
  # Where the pass paths' frames end in the kernel: a cheap, fixed drop.
  ip -n "$NS_DUT" route add blackhole 203.0.113.0/24
  ip -n "$NS_DUT" -6 route add blackhole 2001:db8:ff::/48
  # Let the namespace's kernel finish announcing its new addresses (MLD
  # reports, repeated for about a second; they reach the sinks). Without
  # the pause the first row often FAILED: a frame or two redirected but
  # never seen by the sink, whose page then came back unrestored and took
  # another path (a few passes). With it, 0 failures in 5 runs against
  # about every other run. Suspected, not shown: a report sent from the
  # other CPU moves the sink's NAPI there and the veth ring overflows.
  sleep 3

  log "(a) aigw-bench-prog: $REPEAT frames x $RUNS runs per program (CPU $PROG_CPU)"
  set +e
  timeout 240 nsenter --net="/run/netns/$NS_DUT" "$PROG" --config "$HERE/prog_bench.yaml" \
    --pin "$PIN/prog" --repeat "$REPEAT" --runs "$RUNS" --cpu "$PROG_CPU" --tsv "$PROG_TSV" \
    ${ONLY:+--only "$ONLY"} ${HH:+--hh "$HH"} $HH_AB $NEW_FLOWS \
    >"$PROG_OUT" 2>"$WORK/prog.err"
  PROG_RC=$?
  set -e
  cat "$PROG_OUT"
  if [[ $PROG_RC != 0 ]]; then
    log "(a) aigw-bench-prog exited with $PROG_RC:"
    cat "$WORK/prog.err" >&2
  fi
  if [[ $SKIP_CLS == 0 ]]; then
    # The spine as it was before classification and accounting existed: an
    # older build's aigw-bench-prog on the same frame, before and after (c).
    spine_ref() {
      [[ -n $SPINE_BUILD ]] || return 0
      timeout 120 nsenter --net="/run/netns/$NS_DUT" "$SPINE_BUILD/tests/bench/aigw-bench-prog" \
        --config "$HERE/prog_bench.yaml" --pin "$PIN/spine$1" --repeat "$REPEAT" --runs "$RUNS" \
        --cpu "$PROG_CPU" --only he_encap4_1 --tsv "$WORK/spine$1.tsv" >"$WORK/spine$1.txt" 2>&1 \
        || log "(c) spine reference run $1 failed: $(tail -3 "$WORK/spine$1.txt")"
    }
    spine_ref 1
    log "(c) aigw-bench-prog --cls: classification / flow counting variants of the H.Encaps and End.DT6 paths"
    set +e
    timeout 600 nsenter --net="/run/netns/$NS_DUT" "$PROG" --config "$HERE/prog_bench.yaml" \
      --pin "$PIN/cls" --repeat "$REPEAT" --runs "$RUNS" --cpu "$PROG_CPU" --tsv "$CLS_TSV" --cls \
      >"$CLS_OUT" 2>"$WORK/cls.err"
    CLS_RC=$?
    set -e
    spine_ref 2
    cat "$CLS_OUT"
    if [[ $CLS_RC != 0 ]]; then
      log "(c) aigw-bench-prog --cls exited with $CLS_RC:"
      cat "$WORK/cls.err" >&2
    fi
  fi
  if [[ $SKIP_OPS == 0 ]]; then
    log "(f) aigw-bench-ops: cost of each per-packet operation (CPU $PROG_CPU)"
    set +e
    timeout 120 nsenter --net="/run/netns/$NS_DUT" "$OPS" --port bw0 --fib-dst fc00:b::2 \
      --cpu "$PROG_CPU" $([[ $SMOKE == 1 ]] && echo --repeat 2000 --runs 1) >"$OPS_OUT" 2>&1
    OPS_RC=$?
    set -e
    cat "$OPS_OUT"
  fi
  ip netns del "$NS_DUT"
fi

# ================================================================== (b)
PPS_OK=0
declare -A RX TX SRV6
if [[ $SKIP_PPS == 0 ]]; then
  if ! command -v trafgen >/dev/null; then
    log "(b) skipped: trafgen (Debian netsniff-ng) not installed"
    SKIP_PPS=2
  fi
fi
XGEN=$WORK/aigw-xdp-gen
if [[ $SKIP_PPS == 0 && " ${GENS[*]} " == *" xdp "* ]]; then
  if ! command -v ethtool >/dev/null || ! cc -O2 -Wall -o "$XGEN" "$HERE/xdp_gen.c" -lbpf 2>"$WORK/xgen-cc.err"; then
    log "(b) xdp generator skipped: needs ethtool, cc and libbpf-dev"; cat "$WORK/xgen-cc.err" >&2 2>/dev/null || true
    GENS=("${GENS[@]/xdp/}"); GENS=(${GENS[@]})
    [[ ${#GENS[@]} -gt 0 ]] || SKIP_PPS=2
  fi
fi
if [[ $SKIP_PPS == 0 ]]; then
  log "(b) forwarding: namespaces $NS_GEN -- $NS_GW -- $NS_SINK"
  for ns in "$NS_GEN" "$NS_GW" "$NS_SINK"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  ip -n "$NS_GEN" link add g0 type veth peer name gwc netns "$NS_GW"
  ip -n "$NS_GW" link add gww type veth peer name s0 netns "$NS_SINK"
  ip -n "$NS_GEN" link set g0 up
  ip -n "$NS_GW" link set gwc up
  ip -n "$NS_GW" link set gww up
  ip -n "$NS_SINK" link set s0 up
  fwd_on "$NS_GW"
  ip -n "$NS_GEN" addr add 192.0.2.2/24 dev g0
  ip -n "$NS_GW" addr add 192.0.2.1/24 dev gwc
  ip -n "$NS_GW" -6 addr add fc00:ff::1/64 dev gww nodad
  ip -n "$NS_SINK" -6 addr add fc00:ff::2/64 dev s0 nodad
  ip -n "$NS_GW" -6 route add fc00:b::/32 via fc00:ff::2 dev gww
  ip -n "$NS_GW" -6 neigh replace fc00:ff::2 lladdr "$(mac "$NS_SINK" s0)" dev gww nud permanent
  ip -n "$NS_GW" sr tunsrc set fc00:a::1
  SID1=fc00:b::1 SID2=fc00:b::2

  cat >"$WORK/gw.yaml" <<EOF
# aigwd on the gw node of tests/bench/run.sh (b)
$(aigwd_yaml_agent)
datapath:
  xdp_mode: native
  hop_limit: 64
  tcp_mss_clamp: auto
interfaces:
  - name: gwc
    role: customer
    vrf: 0
  - name: gww
    role: wan
policies:
  - name: bench
    vrf: 0
    prefixes: [198.51.100.0/24]
    mode: encap
    source: fc00:a::1
    segments: [$SID1, $SID2]
sids: []
EOF
  # One flow of 60-byte frames (64 on a wire), the gw's MAC as destination.
  cat >"$WORK/pkt.trafgen" <<EOF
{
  eth(da=$(mac "$NS_GW" gwc), sa=$(mac "$NS_GEN" g0)),
  ipv4(sa=192.0.2.2, da=198.51.100.10, ttl=64, df),
  udp(sp=9, dp=9),
  fill(0x00, 18)
}
EOF

  AIGWD_PID=
  start_aigwd() {
    local i
    nsenter --net="/run/netns/$NS_GW" "$AIGWD" --config "$WORK/gw.yaml" >>"$WORK/aigwd.log" 2>&1 &
    AIGWD_PID=$!
    track "$AIGWD_PID"
    for ((i = 0; i < 150; i++)); do
      if ! kill -0 "$AIGWD_PID" 2>/dev/null; then
        log "aigwd exited:"; tail -20 "$WORK/aigwd.log" >&2; return 1
      fi
      if ip -n "$NS_GW" link show gwc | grep -q ' xdp' && ip -n "$NS_GW" link show gww | grep -q ' xdp'; then
        return 0
      fi
      sleep 0.1
    done
    log "aigwd: no XDP program on gwc/gww after 15 s"; tail -20 "$WORK/aigwd.log" >&2
    return 1
  }
  stop_aigwd() {
    [[ -n $AIGWD_PID ]] || return 0
    stop_pid "$AIGWD_PID" 10
    AIGWD_PID=
    detach_aigwd "$NS_GW" "$WORK/gw.yaml"
    if ip -n "$NS_GW" link show gwc | grep -q ' xdp'; then
      log "XDP still attached to gwc after aigwd stopped"; return 1
    fi
  }
  # Reference: a bare XDP H.Encaps + FIB + redirect (bench_encap) on gwc.
  start_bare() { start_bare_encap "$NS_GW" gwc gww 400; }
  # A kernel without SRv6 routes (CONFIG_IPV6_SEG6_LWTUNNEL unset) has no
  # kernel rows: said in the log and the summary, never a failure.
  KERNEL_SEG6=1 KERNEL_SEG6_WHY=
  if ! KERNEL_SEG6_WHY=$(ip -n "$NS_GW" -6 route add fc00:ffff::e/128 encap seg6local action End \
      dev lo 2>&1); then
    KERNEL_SEG6=0
    log "(b) this kernel has no SRv6 routes (ip route ... encap seg6local: $KERNEL_SEG6_WHY): no kernel rows"
  fi
  ip -n "$NS_GW" -6 route del fc00:ffff::e/128 2>/dev/null || true
  kernel_on() {
    [[ $KERNEL_SEG6 == 1 ]] || return 1
    ip -n "$NS_GW" route add 198.51.100.0/24 encap seg6 mode encap segs "$SID1,$SID2" dev gww
  }
  kernel_off() { ip -n "$NS_GW" route del 198.51.100.0/24 2>/dev/null || true; }

  # Count-and-drop sinks (bench_sink), by name: "out" on s0 (what the gw
  # forwards), "gen" on gwc itself (generator-only reference).
  declare -A SINK_PIDS=()
  start_sink() {  # name ns dev [--pass]
    local name=$1 ns=$2 dev=$3
    shift 3
    rm -f "$PIN/sink-$name"
    nsenter --net="/run/netns/$ns" "$XDPT" sink --dev "$dev" --pin-counters "$PIN/sink-$name" \
      --expect-dst "$SID1" --max-seconds 400 "$@" >"$WORK/sink-$name.out" 2>&1 &
    SINK_PIDS[$name]=$!
    track "$!"
    wait_ready "${SINK_PIDS[$name]}" "$WORK/sink-$name.out" "sink $name"
  }
  stop_sink() { [[ -n ${SINK_PIDS[$1]:-} ]] && stop_pid "${SINK_PIDS[$1]}" 5; unset "SINK_PIDS[$1]"; }
  sink_read() { "$XDPT" read "$PIN/sink-$1"; }  # frames srv6 srv6_dst_ok ipv6_no_srh bytes
  gen_tx() { ip netns exec "$NS_GEN" awk '$1 == "g0:" {print $11}' /proc/net/dev; }

  # --no-sock-mem and --notouch-irq: trafgen leaves the global socket memory
  # sysctls and IRQ affinities alone.
  TRAFGEN=(trafgen -o g0 -i "$WORK/pkt.trafgen" -P 1 --no-sock-mem --notouch-irq --no-cpu-stats)
  # A capture of a few packets at the sink (in pass mode); prints one line.
  capture() {  # mode
    local mode=$1 cap=$WORK/cap-$1.txt i s0 s1
    ip netns exec "$NS_SINK" timeout 20 tshark -n -l -i s0 -c 5 -f "ip6 proto 43" -T fields -E separator=/t \
      -e ipv6.src -e ipv6.dst -e ipv6.routing.type -e ipv6.routing.segleft -e ipv6.routing.srh.addr \
      -e ip.src -e ip.dst -e udp.dstport >"$cap" 2>"$WORK/cap-$1.err" &
    local tp=$!
    track "$tp"
    for ((i = 0; i < 100; i++)); do
      grep -q Capturing "$WORK/cap-$1.err" 2>/dev/null && break
      sleep 0.1
    done
    sleep 0.3
    read -r s0 _ <<<"$(sink_read out | awk '{print $3}')"
    ip netns exec "$NS_GEN" timeout 20 "${TRAFGEN[@]}" -n 20 -t 10ms >"$WORK/trafgen-cap-$1.log" 2>&1 || true
    for ((i = 0; i < 50; i++)); do alive "$tp" || break; sleep 0.1; done
    stop_pid "$tp" 5
    read -r s1 _ <<<"$(sink_read out | awk '{print $3}')"
    local n
    n=$(grep -c . "$cap" || true)
    CAPTURE[$mode]=$(awk -F'\t' -v n="$n" -v good="$((s1 - s0))" 'NR == 1 {
      segs = $5; gsub(",", " ", segs)
      printf "%d packets captured; sink: %d/20 SRv6 to first SID; first: %s > %s, routing type %s (SRH), SL %s, segments [%s], inner %s > %s udp/%s", n, good, $1, $2, $3, $4, segs, $6, $7, $8 }' "$cap")
    [[ -n ${CAPTURE[$mode]} ]] || CAPTURE[$mode]="no packet captured (sink saw $((s1 - s0))/20 SRv6)"
    CAPTURE_OK[$mode]=0
    if [[ $n -ge 1 && $((s1 - s0)) -ge 18 ]] && awk -F'\t' -v sid="$SID1" 'NR == 1 && $3 == 4 && $2 == sid { ok = 1 } END { exit !ok }' "$cap"; then
      CAPTURE_OK[$mode]=1
    fi
  }

  # One measurement: trafgen runs (bounded by count and time); the sink's
  # counter and the generator's tx counter are read at the start and end of
  # a window in its steady state.
  XGEN_CMD=("$XGEN" --dev g0 --dst-mac "$(mac "$NS_GW" gwc)" --src-mac "$(mac "$NS_GEN" g0)"
    --src 192.0.2.2 --dst 198.51.100.10 --cpu "$GEN_CPU" --count 4000000000)
  measure() {  # generator mode run [sink name]
    local gen=$1 mode=$2 run=$3 sink=${4:-out} tg t0 t1 a0 a1 g0 g1 c0 c1
    if [[ $gen == xdp ]]; then
      ip netns exec "$NS_GEN" timeout $(( ${PPS_SECONDS%.*} + 10 )) "${XGEN_CMD[@]}" \
        --seconds $(( ${PPS_SECONDS%.*} + 5 )) >"$WORK/xdpgen-$mode-$run.log" 2>&1 &
    else
      ip netns exec "$NS_GEN" timeout $(( ${PPS_SECONDS%.*} + 10 )) "${TRAFGEN[@]}" -n 200000000 \
        >"$WORK/trafgen-$mode-$run.log" 2>&1 &
    fi
    tg=$!
    mode=$gen.$mode
    track "$tg"
    sleep "$PPS_WARMUP"
    t0=$(date +%s.%N); g0=$(gen_tx); read -r a0 _ c0 _ <<<"$(sink_read "$sink")"
    sleep "$PPS_SECONDS"
    t1=$(date +%s.%N); g1=$(gen_tx); read -r a1 _ c1 _ <<<"$(sink_read "$sink")"
    stop_pid "$tg" 5
    RX[$mode,$run]=$(awk -v a="$((a1 - a0))" -v t="$t0" -v u="$t1" 'BEGIN { printf "%.0f", a / (u - t) }')
    TX[$mode,$run]=$(awk -v a="$((g1 - g0))" -v t="$t0" -v u="$t1" 'BEGIN { printf "%.0f", a / (u - t) }')
    SRV6[$mode,$run]=$(awk -v d="$((a1 - a0))" -v c="$((c1 - c0))" 'BEGIN { printf "%.1f", d ? 100 * c / d : 0 }')
    if [[ $sink == out ]]; then
      log "(b) $gen ${mode#*.} run $run: received ${RX[$mode,$run]} pps, generator ${TX[$mode,$run]} pps, SRv6 to first SID ${SRV6[$mode,$run]}%"
    else
      log "(b) $gen ${mode#*.} run $run: ${RX[$mode,$run]} pps dropped at the gw's ingress, generator ${TX[$mode,$run]} pps"
    fi
  }

  declare -A CAPTURE CAPTURE_OK
  PPS_OK=1
  # Capture check first (sink passes frames to the kernel so tshark sees them).
  start_sink out "$NS_SINK" s0 --pass
  if start_aigwd; then capture aigw; stop_aigwd; else PPS_OK=0; fi
  if kernel_on; then capture kernel; kernel_off; fi
  stop_sink out
  log "(b) capture aigw: ${CAPTURE[aigw]:-}"
  log "(b) capture kernel: ${CAPTURE[kernel]:-}"

  # Throughput runs: aigw, kernel, the bare XDP reference and the generator
  # alone (frames dropped by XDP on the gw's ingress) in turn.
  start_sink out "$NS_SINK" s0
  # With the XDP generator the kernel mode needs NAPI on gwc without XDP:
  # GRO on (inside the gw namespace), for that run only.
  gro() { ip netns exec "$NS_GW" ethtool -K gwc gro "$1" >/dev/null; }
  for ((r = 1; r <= PPS_RUNS && PPS_OK == 1; r++)); do
    for g in "${GENS[@]}"; do
      if start_aigwd; then measure "$g" aigw "$r"; stop_aigwd; else PPS_OK=0; break 2; fi
      if kernel_on; then
        [[ $g == xdp ]] && gro on; measure "$g" kernel "$r"; [[ $g == xdp ]] && gro off; kernel_off
      fi
      if start_bare; then measure "$g" bare "$r"; stop_bare; else PPS_OK=0; break 2; fi
      if start_sink gen "$NS_GW" gwc; then measure "$g" gen "$r" gen; stop_sink gen; else PPS_OK=0; break 2; fi
    done
  done
  stop_sink out
fi

# ================================================================== (d), (e)
ISO_RC=0 ISO_SUM=$WORK/iso.txt ROUTE_RC=0 ROUTE_SUM=$WORK/route.txt
if [[ $ISO == 1 ]]; then
  log "(d) isolated gateway CPU: tests/bench/iso.sh"
  set +e
  "$HERE/iso.sh" --build-dir "$BUILD" --summary "$ISO_SUM" $([[ $SMOKE == 1 ]] && echo --smoke) >"$WORK/iso.out"
  ISO_RC=$?
  set -e
fi
if [[ $ROUTE == 1 ]]; then
  log "(e) route change: tests/bench/route_change.sh"
  set +e
  "$HERE/route_change.sh" --build-dir "$BUILD" $([[ $SMOKE == 1 ]] && echo --reps 1 --no-link) >"$ROUTE_SUM"
  ROUTE_RC=$?
  set -e
fi

# ================================================================== summary
median() {
  printf '%s\n' "$@" | { grep . || true; } | sort -g | awk '{ v[NR] = $1 }
    END { if (!NR) print 0; else if (NR % 2) printf "%.0f\n", v[(NR + 1) / 2];
          else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
SUMMARY=$WORK/summary.txt
{
  echo "==== aigw bench summary ($(date -u +%Y-%m-%dT%H:%MZ), aigw $COMMIT, Linux $KVER, $CPUS CPUs) ===="
  if [[ $SKIP_PROG == 0 ]]; then
    echo "Per-packet cost of each XDP path: BPF_PROG_TEST_RUN live frames (frames really go out),"
    echo "$REPEAT frames x $RUNS runs, median ns/packet; baseline = trivial XDP program with the same"
    echo "verdict on the same frame in the same run (PASS: return XDP_PASS; REDIRECT: bpf_redirect_map"
    echo "to the same egress veth). Kernel stack / veth transmit costs are in both figures."
    if [[ -s $PROG_TSV ]]; then
      awk -F'\t' 'NR == 1 { next }
        $1 == "floor_drop" { floor = $6; next }
        $10 != "ok" { printf "  %-38s %-8s FAILED (see above)\n", $2, $3; next }
        { printf "  %-38s %-8s %4d>%-4d %6d ns  baseline %6d ns  x%.2f  (+%d ns)\n", $2, $3, $4, $5, $6, $7, $8, $9 }
        END { if (floor != "") printf "  %-38s %-8s %9s %6d ns\n", "harness floor: trivial XDP_DROP", "DROP", "", floor }' "$PROG_TSV"
    else
      echo "  (no results: aigw-bench-prog failed, exit $PROG_RC)"
    fi
  fi
  if [[ $SKIP_PROG == 0 ]]; then
    echo "Cost of one operation of the per-packet work (aigw-bench-ops: each program repeats it 16 times"
    echo "on a key that hits; BPF_PROG_TEST_RUN; (program - empty program) / 16, median):"
    if [[ $SKIP_OPS == 1 ]]; then echo "  (skipped: --skip-ops)"; elif [[ $OPS_RC == 0 ]]; then sed -n '3,$p' "$OPS_OUT" | sed 's/^/  /'; else echo "  (failed, exit $OPS_RC: see above)"; fi
  fi
  if [[ $SKIP_PROG == 0 && $SKIP_CLS == 0 ]]; then
    echo "Classification and flow counting (issue 3) on the headend H.Encaps IPv4 1-SID path, same"
    echo "frame and measurement as above, each variant programmed by apply() into the same datapath,"
    echo "rounds alternating; ratio = variant / spine path (no rules, flows off) in the same run."
    echo "The frame matches only the last (lowest-precedence) rule. 'adversarial': every bitmap word"
    echo "holds candidates of two fields that never match together (the aggregated bit vector's worst case)."
    echo "End.DT6 rows: the decapsulating path, flow counting and classification of the inner packet;"
    echo "ratio = variant / End.DT6 with flows off (their ratios to the trivial redirect: (c)'s output above)."
    if [[ -s $CLS_TSV ]]; then
      awk -F'\t' 'NR == 1 { next }
        $5 != "ok" { printf "  %-44s FAILED (see above)\n", $1; next }
        { printf "  %-44s %6d ns  x%.2f  (apply %d ms)\n", $1, $2, $3, $4 }' "$CLS_TSV"
      if [[ -n $SPINE_BUILD ]]; then
        sp=() sb=()
        for f in "$WORK"/spine1.tsv "$WORK"/spine2.tsv; do
          [[ -s $f ]] || continue
          sp+=("$(awk -F'\t' '$1 == "he_encap4_1" && $10 == "ok" { print $6 }' "$f")")
          sb+=("$(awk -F'\t' '$1 == "he_encap4_1" && $10 == "ok" { print $7 }' "$f")")
        done
        spine_ns=$(median "${sp[@]}")
        all_on=$(awk -F'\t' '$1 == "10,000 rules + flow counting" && $5 == "ok" { print $2 }' "$CLS_TSV")
        feat_off=$(awk -F'\t' 'NR == 2 && $5 == "ok" { print $2 }' "$CLS_TSV")
        echo "  reference: the spine before issue 3 ($(git -C "$SPINE_BUILD/.." rev-parse --short HEAD 2>/dev/null || echo "$SPINE_BUILD"), same frame, runs before and after (c)): ${sp[*]:-none} ns (trivial redirect ${sb[*]:-?} ns)"
        awk -v s="$spine_ns" -v a="$all_on" -v f="$feat_off" 'BEGIN { if (s > 0 && a > 0)
          printf "  all on (10,000 rules + flow counting) / spine before issue 3: x%.2f (target <= 1.30); features off / spine before: x%.2f\n", a / s, f / s }'
      fi
    else
      echo "  (no results: aigw-bench-prog --cls failed, exit $CLS_RC)"
    fi
  fi
  if [[ $SKIP_PPS == 0 ]]; then
    declare -A MRX MTX RUNS_OF SRV6_OF
    for g in "${GENS[@]}"; do
    for mode in aigw kernel bare gen; do
      rx=() tx=() sv=()
      for ((r = 1; r <= PPS_RUNS; r++)); do
        [[ -n ${RX[$g.$mode,$r]:-} ]] || continue
        rx+=("${RX[$g.$mode,$r]}"); tx+=("${TX[$g.$mode,$r]}"); sv+=("${SRV6[$g.$mode,$r]}")
      done
      MRX[$mode]=$(median "${rx[@]}"); MTX[$mode]=$(median "${tx[@]}")
      RUNS_OF[$mode]="${rx[*]:-none}"; SRV6_OF[$mode]="${sv[*]:-?}"
    done
    if [[ $g == xdp ]]; then
      echo "Forwarding gen -> gw -> sink, generator aigw-xdp-gen (BPF_PROG_TEST_RUN live frames, XDP_TX out of"
      echo "the gen veth, 1 thread on CPU $GEN_CPU; kernel mode with GRO on gwc for veth NAPI), same 60-byte UDP/IPv4 flow;"
    else
      echo "Forwarding gen -> gw -> sink (veth pairs; trafgen, 1 process, one flow of 60-byte UDP/IPv4"
      echo "frames; gw adds H.Encaps with 2 SIDs, 140-byte frames out; the sink counts in XDP);"
    fi
    echo "received pps over ${PPS_SECONDS}s windows after ${PPS_WARMUP}s warm-up, median of $PPS_RUNS runs per mode:"
    printf '  %-36s %9s pps   (generator sent %9s pps; runs: %s)\n' \
      "aigw (aigwd, XDP native)" "${MRX[aigw]}" "${MTX[aigw]}" "${RUNS_OF[aigw]}" \
      "kernel seg6 encap (no XDP on gw)" "${MRX[kernel]}" "${MTX[kernel]}" "${RUNS_OF[kernel]}" \
      "reference: bare XDP encap+redirect" "${MRX[bare]}" "${MTX[bare]}" "${RUNS_OF[bare]}"
    printf '  %-36s %9s pps   (XDP drop on the gw ingress: generator + veth delivery)\n' \
      "reference: generator alone" "${MRX[gen]}"
    awk -v a="${MRX[aigw]}" -v k="${MRX[kernel]}" -v b="${MRX[bare]}" -v g="${MRX[gen]}" -v gen="$g" 'BEGIN {
      if (k <= 0) { print "  aigw / kernel: n/a"; exit }
      printf "  [%s] aigw / kernel: %.2fx   (target >= 1.6x, generator cost included; bare XDP encap / kernel: %.2fx)\n", gen, a / k, b / k
      if (gen == "xdp") { print "  (no derived per-packet shares: aigw-xdp-gen is not CPU-bound here - ~0.2 s CPU per 2 s run, CPU 0 ~90% idle -"
        print "   so its rate is a ceiling, not a cost; aigw at the generator-alone rate means aigw kept up with it)"; exit }
      if (a > g || b > g || k > g || g <= 0) exit
      ca = 1e9 / a - 1e9 / g; ck = 1e9 / k - 1e9 / g; cb = 1e9 / b - 1e9 / g
      printf "  derived gw share per packet (1/pps - 1/generator-alone pps): aigw %.0f ns, kernel %.0f ns, bare %.0f ns\n", ca, ck, cb
      printf "  -> kernel / aigw %.2fx, kernel / bare %.2fx without the generator (approximate: veth skb->XDP copy counted as generator)\n", ck / ca, ck / cb }'
    echo "  SRv6 with the first SID as outer destination, % of frames at the sink: aigw ${SRV6_OF[aigw]}, kernel ${SRV6_OF[kernel]}, bare ${SRV6_OF[bare]}"
    done
    echo "  capture aigw:   ${CAPTURE[aigw]:-none}"
    echo "  capture kernel: ${CAPTURE[kernel]:-none}"
    [[ ${KERNEL_SEG6:-1} == 1 ]] || echo "  kernel rows: none, this kernel has no SRv6 routes (${KERNEL_SEG6_WHY})"
  elif [[ $SKIP_PPS == 2 ]]; then
    echo "Forwarding benchmark skipped: trafgen (netsniff-ng) not installed."
  fi
  if [[ $ISO == 1 ]]; then
    if [[ -s $ISO_SUM ]]; then cat "$ISO_SUM"; else echo "Isolated gateway CPU: no results (iso.sh exit $ISO_RC)"; fi
  fi
  if [[ $ROUTE == 1 ]]; then
    if [[ -s $ROUTE_SUM ]]; then cat "$ROUTE_SUM"; else echo "Route change: no results (route_change.sh exit $ROUTE_RC)"; fi
  fi
  [[ $SMOKE == 1 ]] && echo "(smoke run: tiny counts, figures not meaningful)"
} >"$SUMMARY"
echo
cat "$SUMMARY"
if [[ $SMOKE == 0 ]]; then
  mkdir -p "$HERE/results"
  cp "$SUMMARY" "$HERE/results/latest.txt"
  log "summary written to tests/bench/results/latest.txt"
fi

fail=0
[[ $ISO == 1 && $ISO_RC != 0 ]] && fail=1
[[ $ROUTE == 1 && $ROUTE_RC != 0 ]] && fail=1
[[ $SKIP_PROG == 0 && $PROG_RC != 0 ]] && fail=1
[[ $SKIP_PROG == 0 && $OPS_RC != 0 ]] && fail=1
[[ $SKIP_PROG == 0 && $SKIP_CLS == 0 && $CLS_RC != 0 ]] && fail=1
if [[ $SKIP_PPS == 0 ]]; then
  [[ $PPS_OK == 1 ]] || fail=1
  [[ ${CAPTURE_OK[aigw]:-} == 1 && ( ${KERNEL_SEG6:-1} == 0 || ${CAPTURE_OK[kernel]:-} == 1 ) ]] ||
    { log "capture check failed"; fail=1; }
fi
exit $fail
