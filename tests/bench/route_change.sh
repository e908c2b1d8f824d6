#!/usr/bin/env bash
# Route-change reaction of aigw's headend (issue 9 item 3), as root.
#
#   tests/bench/route_change.sh [--build-dir DIR] [--reps N] [--cache-ms MS]
#                               [--pps-gap US] [--no-ref] [--no-link] [--keep]
#
# gen --g0/gi-- gw --wa/pa-- a     gw runs aigwd: gi customer, wa and wb WAN,
#               gw --wb/pb-- b     policy 198.51.100.0/24 -> H.Encaps
#                                  [fc00:b::1, fc00:b::2], datapath.nexthop_cache_ms
#                                  = --cache-ms (default 1000, the maximum).
# trafgen in gen sends a paced stream (one 60-byte UDP/IPv4 frame every
# --pps-gap us, default 50 = 20 kpps; bounded by count and time). An XDP stamp
# (stamp.bpf.c, compiled here) on pa and pb counts frames and records
# bpf_ktime_get_ns() (CLOCK_MONOTONIC) of the first and last.
#
# (1) route replace, event-driven: traffic flows to A (fc00:b::/32 via
#     fc00:fa::2 dev wa); both stamps are reset; CLOCK_MONOTONIC t0, `ip -6
#     route replace fc00:b::/32 via fc00:fb::2 dev wb`, t1; the delay to the
#     first frame at B lies in [first_B - t1, first_B - t0]. Also: how long
#     frames still reached A after t0. Median of --reps.
# (2) reference without route events (--no-ref skips): the same, with aigwd
#     stopped (SIGSTOP) from just before the change until the first frame at B
#     (then SIGCONT): the datapath's next-hop cache lives in BPF and expires
#     by itself after nexthop_cache_ms, so this is what the headend does when
#     nothing bumps the generation (no agent change needed).
# (3) link down (--no-link skips): routes via A (metric 100) and B (metric
#     200); `ip link set wa down`; delay to the first frame at B, frames at A
#     after the change, and redirects into the down link: xdp:xdp_redirect_err
#     events of aigw's headend program towards wa's ifindex (perf, 1 s after
#     the change).
# Timings are printed, never asserted; exit 0 when the runs completed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=${AIGW_BUILD_DIR:-$REPO/build}
REPS=7
CACHE_MS=1000
GAP_US=50
REF=1
LINK=1
KEEP=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) BUILD=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --cache-ms) CACHE_MS=$2; shift 2 ;;
    --pps-gap) GAP_US=$2; shift 2 ;;
    --no-ref) REF=0; shift ;;
    --no-link) LINK=0; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    *) echo "route_change.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "route_change.sh: run as root" >&2; exit 1; }
for t in ip nsenter timeout awk trafgen bpftool clang python3; do
  command -v $t >/dev/null || { echo "route_change.sh: missing $t" >&2; exit 1; }
done
BUILD=$(cd "$BUILD" && pwd)
AIGWD=$BUILD/agent/aigwd
[[ -x $AIGWD ]] || { echo "route_change.sh: missing $AIGWD" >&2; exit 1; }

log() { printf '[route %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
PFX=aigwt-bench-$$
NS_GEN=$PFX-rgen NS_GW=$PFX-rgw NS_A=$PFX-ra NS_B=$PFX-rb
PIN=/sys/fs/bpf/$PFX
WORK=$(mktemp -d "/tmp/$PFX-route.XXXXXX")
source "$HERE/lib.sh"
BENCH_NAMESPACES=("$NS_GEN" "$NS_GW" "$NS_A" "$NS_B")
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_bpffs

ARCH_INC=/usr/include/$(uname -m)-linux-gnu
clang -O2 -g -target bpf ${ARCH_INC:+-I"$ARCH_INC"} -c "$HERE/stamp.bpf.c" -o "$WORK/stamp.o" 2>"$WORK/stamp-cc.err" ||
  { cat "$WORK/stamp-cc.err" >&2; exit 1; }

for ns in "$NS_GEN" "$NS_GW" "$NS_A" "$NS_B"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip -n "$NS_GEN" link add g0 type veth peer name gi netns "$NS_GW"
ip -n "$NS_GW" link add wa type veth peer name pa netns "$NS_A"
ip -n "$NS_GW" link add wb type veth peer name pb netns "$NS_B"
ip -n "$NS_GEN" link set g0 up
ip -n "$NS_A" link set pa up
ip -n "$NS_B" link set pb up
for d in gi wa wb; do ip -n "$NS_GW" link set "$d" up; done
ip netns exec "$NS_GW" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n "$NS_GEN" addr add 192.0.2.2/24 dev g0
ip -n "$NS_GW" addr add 192.0.2.1/24 dev gi
net_wan() {  # addresses, neighbours (again after a link was down)
  ip -n "$NS_GW" -6 addr replace fc00:fa::1/64 dev wa nodad
  ip -n "$NS_GW" -6 addr replace fc00:fb::1/64 dev wb nodad
  ip -n "$NS_GW" -6 neigh replace fc00:fa::2 lladdr "$(mac "$NS_A" pa)" dev wa nud permanent
  ip -n "$NS_GW" -6 neigh replace fc00:fb::2 lladdr "$(mac "$NS_B" pb)" dev wb nud permanent
}
net_wan
ip -n "$NS_GW" -6 route add fc00:b::/32 via fc00:fa::2 dev wa
for s in a b; do
  ns=$NS_A dev=pa
  [[ $s == b ]] && ns=$NS_B dev=pb
  bpftool prog load "$WORK/stamp.o" "$PIN/stamp-$s" type xdp pinmaps "$PIN/stamp-$s-maps"
  nsenter --net="/run/netns/$ns" bpftool net attach xdpdrv pinned "$PIN/stamp-$s" dev "$dev"
done
stamp_reset() { bpftool map update pinned "$PIN/stamp-$1-maps/stamp" key hex 00 00 00 00 value hex $(printf '00 %.0s' {1..24}); }
stamp_read() {  # -> "frames first_ns last_ns"
  bpftool -j map lookup pinned "$PIN/stamp-$1-maps/stamp" key hex 00 00 00 00 |
    python3 -c 'import json, struct, sys; v = json.load(sys.stdin)["value"]; print(*struct.unpack("<3Q", bytes(int(b, 16) for b in v)))'
}
# CLOCK_MONOTONIC right before and right after a command: "t0 t1".
timed() {
  python3 -c 'import subprocess, sys, time
t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
r = subprocess.run(sys.argv[1:])
t1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
print(t0, t1) if r.returncode == 0 else sys.exit(r.returncode)' "$@"
}

cat >"$WORK/gw.yaml" <<EOF
$(aigwd_yaml_agent)
datapath:
  xdp_mode: native
  hop_limit: 64
  nexthop_cache_ms: $CACHE_MS
interfaces:
  - name: gi
    role: customer
    vrf: 0
  - name: wa
    role: wan
  - name: wb
    role: wan
policies:
  - name: bench
    vrf: 0
    prefixes: [198.51.100.0/24]
    mode: encap
    source: fc00:a::1
    segments: [fc00:b::1, fc00:b::2]
sids: []
EOF
nsenter --net="/run/netns/$NS_GW" "$AIGWD" --config "$WORK/gw.yaml" >"$WORK/aigwd.log" 2>&1 &
AIGWD_PID=$!
track "$AIGWD_PID"
for ((i = 0; i < 150; i++)); do
  alive "$AIGWD_PID" || { log "aigwd exited:"; tail -20 "$WORK/aigwd.log" >&2; exit 1; }
  ip -n "$NS_GW" link show gi | grep -q ' xdp' && ip -n "$NS_GW" link show wb | grep -q ' xdp' && break
  sleep 0.1
done
ip -n "$NS_GW" link show gi | grep -q ' xdp' || { log "aigwd did not attach"; tail -20 "$WORK/aigwd.log" >&2; exit 1; }
HE_PROG=$(ip -n "$NS_GW" -d link show gi | awk '/prog\/xdp id/ { for (i = 1; i <= NF; i++) if ($i == "id") { print $(i + 1); exit } }')
WA_IFINDEX=$(ip -n "$NS_GW" -o link show wa | awk -F: '{print $1}')

cat >"$WORK/pkt.trafgen" <<EOF
{ eth(da=$(mac "$NS_GW" gi), sa=$(mac "$NS_GEN" g0)), ipv4(sa=192.0.2.2, da=198.51.100.10, ttl=64, df), udp(sp=9, dp=9), fill(0x00, 18) }
EOF
TOTAL_S=$(( 30 + REPS * 6 * (1 + REF) + LINK * 20 ))
ip netns exec "$NS_GEN" timeout "$TOTAL_S" trafgen -o g0 -i "$WORK/pkt.trafgen" -P 1 --no-sock-mem --notouch-irq \
  --no-cpu-stats -t "${GAP_US}us" -n $(( TOTAL_S * 1000000 / GAP_US )) >"$WORK/trafgen.log" 2>&1 &
TG_PID=$!
track "$TG_PID"
sleep 1

to_a() {  # route back to A and wait until the change has surely taken effect
  ip -n "$NS_GW" -6 route replace fc00:b::/32 via fc00:fa::2 dev wa
  sleep "$(awk -v c="$CACHE_MS" 'BEGIN { printf "%.2f", c / 1000 + 0.3 }')"
  stamp_reset a; stamp_reset b
  sleep 0.2
  local fa fb
  read -r fa _ <<<"$(stamp_read a)"; read -r fb _ <<<"$(stamp_read b)"
  [[ $fa -gt 0 && $fb -eq 0 ]] || { log "traffic is not on A only before the change (A $fa, B $fb frames)"; return 1; }
  stamp_reset a; stamp_reset b
}
wait_b() {  # until the first frame at B, at most 3 s
  local f end=$((SECONDS + 3))
  while ((SECONDS <= end)); do
    read -r f _ <<<"$(stamp_read b)"
    [[ $f -gt 0 ]] && return 0
    sleep 0.005
  done
  return 1
}
# prints "lo_ms hi_ms a_after_ms a_frames_after b_frames" or "none"
result() {  # t0 t1
  local b a
  b=$(stamp_read b); a=$(stamp_read a)
  awk -v t0="$1" -v t1="$2" -v b="$b" -v a="$a" 'BEGIN { split(b, x); split(a, y)
    if (x[2] == 0) { print "none"; exit }
    printf "%.3f %.3f %.3f %d %d\n", (x[2] - t1) / 1e6, (x[2] - t0) / 1e6, (y[3] > t0) ? (y[3] - t0) / 1e6 : 0, y[1], x[1] }'
}

declare -A RES
run_replace() {  # kind rep
  local t0 t1 k=$1
  to_a || return 1
  [[ $k == ref ]] && kill -STOP "$AIGWD_PID"
  read -r t0 t1 <<<"$(timed ip -n "$NS_GW" -6 route replace fc00:b::/32 via fc00:fb::2 dev wb)"
  wait_b || true
  [[ $k == ref ]] && kill -CONT "$AIGWD_PID"
  RES[$k,$2]=$(result "$t0" "$t1")
  log "$k rep $2: first frame at B after [${RES[$k,$2]% * * *}] ms (lo hi); A: last frame $(awk '{print $3}' <<<"${RES[$k,$2]}") ms after t0, $(awk '{print $4}' <<<"${RES[$k,$2]}") frames since the reset"
}
run_link() {  # rep
  local t0 t1 e
  ip -n "$NS_GW" link set wa up
  sleep 0.5  # carrier, IPv6 addresses
  net_wan
  ip -n "$NS_GW" -6 route replace fc00:b::/32 via fc00:fa::2 dev wa metric 100
  ip -n "$NS_GW" -6 route replace fc00:b::/32 via fc00:fb::2 dev wb metric 200
  sleep "$(awk -v c="$CACHE_MS" 'BEGIN { printf "%.2f", c / 1000 + 0.3 }')"
  stamp_reset a; stamp_reset b; sleep 0.2
  read -r e _ <<<"$(stamp_read a)"
  [[ $e -gt 0 ]] || { log "link rep $1: no traffic on A before: $(ip -n "$NS_GW" -6 route show fc00:b::/32 | tr '\n' ';') $(ip -n "$NS_GW" -br link show wa)"; return 1; }
  stamp_reset a; stamp_reset b
  timeout 10 perf stat -a -x, -e xdp:xdp_redirect_err --filter "prog_id == $HE_PROG && to_ifindex == $WA_IFINDEX" \
    -o "$WORK/perf-link-$1.csv" -- sleep 1.5 2>/dev/null &
  local pp=$!
  sleep 0.3
  read -r t0 t1 <<<"$(timed ip -n "$NS_GW" link set wa down)"
  wait_b || true
  wait "$pp" || true
  e=$(awk -F, '/xdp_redirect_err/ {print $1}' "$WORK/perf-link-$1.csv" 2>/dev/null | head -1)
  RES[link,$1]="$(result "$t0" "$t1") ${e:-n/a}"
  log "link rep $1: first frame at B after [$(awk '{print $1, $2}' <<<"${RES[link,$1]}")] ms; frames at A after t0: last at $(awk '{print $3}' <<<"${RES[link,$1]}") ms; redirect errors into wa (1.5 s window incl. 0.3 s before): ${e:-n/a}"
  ip -n "$NS_GW" -6 route del fc00:b::/32 via fc00:fb::2 dev wb metric 200 2>/dev/null || true
}

log "aigwd up (headend prog $HE_PROG), nexthop_cache_ms $CACHE_MS, stream every ${GAP_US} us"
for ((r = 1; r <= REPS; r++)); do
  run_replace event "$r" || true
  [[ $REF == 1 ]] && { run_replace ref "$r" || true; }
done
if [[ $LINK == 1 ]]; then
  for ((r = 1; r <= 3; r++)); do run_link "$r" || true; done
fi
stop_pid "$TG_PID" 5

median_col() {  # kind col reps
  local k=$1 c=$2 n=$3 i
  for ((i = 1; i <= n; i++)); do
    [[ -n ${RES[$k,$i]:-} && ${RES[$k,$i]} != none* ]] && awk -v c="$c" '{print $c}' <<<"${RES[$k,$i]}"
  done | sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
count_ok() { local k=$1 n=$2 i c=0; for ((i = 1; i <= n; i++)); do [[ -n ${RES[$k,$i]:-} && ${RES[$k,$i]} != none* ]] && c=$((c + 1)); done; echo "$c/$n"; }
{
  echo "Route change -> first encapsulated frame on the new next hop (aigwd headend, nexthop_cache_ms $CACHE_MS,"
  echo "stream of 60-byte frames every ${GAP_US} us; delay bounds: first frame at B - CLOCK_MONOTONIC after/before the ip command):"
  printf '  %-52s %12s %12s %14s %s\n' case "median lo ms" "median hi ms" "A until (ms)" "reps with a frame at B"
  printf '  %-52s %12s %12s %14s %s\n' "route replace, route events (aigwd running)" \
    "$(median_col event 1 "$REPS")" "$(median_col event 2 "$REPS")" "$(median_col event 3 "$REPS")" "$(count_ok event "$REPS")"
  [[ $REF == 1 ]] && printf '  %-52s %12s %12s %14s %s\n' "route replace, no route events (aigwd SIGSTOPped)" \
    "$(median_col ref 1 "$REPS")" "$(median_col ref 2 "$REPS")" "$(median_col ref 3 "$REPS")" "$(count_ok ref "$REPS")"
  if [[ $LINK == 1 ]]; then
    printf '  %-52s %12s %12s %14s %s\n' "ip link set wa down (backup route via B, metric 200)" \
      "$(median_col link 1 3)" "$(median_col link 2 3)" "$(median_col link 3 3)" "$(count_ok link 3)"
    echo "  link down, per rep: redirect errors into wa (xdp:xdp_redirect_err of prog $HE_PROG to ifindex $WA_IFINDEX, 1.5 s): $(for i in 1 2 3; do awk '{printf "%s ", $6}' <<<"${RES[link,$i]:-x x x x x n/a}"; done)"
    echo "  ('A until' = last frame at A after t0; with the link down nothing can arrive at A, so redirect errors are the measure)"
  fi
  echo "  per rep (lo hi A-until A-frames B-frames):"
  for k in event ref link; do
    for ((i = 1; i <= REPS; i++)); do
      if [[ -n ${RES[$k,$i]:-} ]]; then echo "    $k $i: ${RES[$k,$i]}"; fi
    done
  done
} | tee "$WORK/route-summary.txt"
