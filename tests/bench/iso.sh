#!/usr/bin/env bash
# Isolated-gateway-CPU forwarding benchmark (issue 9 item 4), as root.
#
#   tests/bench/iso.sh [--build-dir DIR] [--seconds S] [--warmup S] [--runs N]
#                      [--modes LIST] [--no-rt] [--no-profile] [--smoke]
#                      [--flush-ns NS] [--summary FILE] [--keep]
#
# gen --veth g0/gi-- gw --veth go/s0-- sink. The generator (aigw-xdp-gen,
# BPF_PROG_TEST_RUN live frames, XDP_TX out of g0) runs pinned to CPU 0. The
# gw's ingress veth gi has threaded NAPI (/sys/class/net/gi/threaded = 1), its
# kthread napi/gi-N pinned to CPU 1 (SCHED_FIFO 50 unless --no-rt, so that
# other load on the machine does not take the gateway's CPU), and
# napi_defer_hard_irqs = 100 / gro_flush_timeout = --flush-ns (20 us): napi_complete does
# not re-arm the producer's wake-up (an IPI from CPU 0), the kthread is woken
# by a local hrtimer instead, so it keeps polling while there is work. The
# live-frames generator does not abort under back-pressure: frames that do not
# fit veth's 256-entry ring are dropped at g0 (ethtool xdp_xmit_errors), which
# is the sign that the generator out-paced the gateway.
# The sink (count-and-drop XDP on s0) is scheduled from the gw's kthread and
# runs on CPU 1 too (a few tens of ns per frame, the same in every mode).
#
# Modes (each a separate window, modes take turns, median of --runs):
#   he_aigw    aigwd, gi customer / go WAN, policy H.Encaps 2 SIDs (IPv4 in)
#   he_kernel  ip route ... encap seg6 mode encap (GRO on gi for veth NAPI)
#   he_bare    the bare XDP H.Encaps reference (bench_encap)
#   ep_dx4_aigw   aigwd End.DX4 (gi WAN, go customer), SRv6 frame in
#   ep_dx4_kernel seg6local End.DX4 nh4 ... dev go
#   ep_dt6_aigw   aigwd End.DT6 table 254
#   ep_dt6_kernel seg6local End.DT6 table 254
# Per mode: sink pps, offered pps (g0 tx + xmit errors), ring overflow %,
# gateway busy % = CPU time of the NAPI kthread (/proc/PID/schedstat, ns,
# includes the softirqs it runs) / window, ns per packet = that CPU time /
# packets at the sink. Saturated = busy >= 90 % and the generator out-paced
# the gateway (overflow > 1 %); only then is pps the gateway's capacity.
# Profile (unless --no-profile): one more window per mode with perf record
# -t <kthread> (cpu-clock; this VM has no PMU, so bpftool prog profile's
# cycles/instructions are not available - its error is printed) and, for
# aigw modes, bpf run-time stats (BPF_ENABLE_STATS) of the attached program:
# ns per packet split into the XDP program, veth/XDP redirect, skb and
# forwarding work.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=${AIGW_BUILD_DIR:-$REPO/build}
SECONDS_W=3
WARMUP=1
RUNS=3
MODES="he_aigw he_kernel he_bare ep_dx4_aigw ep_dx4_kernel ep_dt6_aigw ep_dt6_kernel"
RT=1
PROFILE=1
SMOKE=0
SUMMARY_OUT=
KEEP=0
GEN_CPU=0
GW_CPU=1
FLUSH_NS=20000

while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) BUILD=$2; shift 2 ;;
    --seconds) SECONDS_W=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --modes) MODES=${2//,/ }; shift 2 ;;
    --no-rt) RT=0; shift ;;
    --flush-ns) FLUSH_NS=$2; shift 2 ;;
    --no-profile) PROFILE=0; shift ;;
    --smoke) SMOKE=1; shift ;;
    --summary) SUMMARY_OUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    *) echo "iso.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ $SMOKE == 1 ]]; then SECONDS_W=1; WARMUP=0.5; RUNS=1; PROFILE=0; fi
[[ $(id -u) -eq 0 ]] || { echo "iso.sh: run as root" >&2; exit 1; }
[[ $(nproc) -ge 2 ]] || { echo "iso.sh: needs 2 CPUs" >&2; exit 1; }
for t in ip nsenter timeout awk ethtool python3 cc taskset chrt; do
  command -v $t >/dev/null || { echo "iso.sh: missing $t" >&2; exit 1; }
done
BUILD=$(cd "$BUILD" && pwd)
AIGWD=$BUILD/agent/aigwd
XDPT=$BUILD/tests/bench/aigw-bench-xdp
for f in "$AIGWD" "$XDPT"; do
  [[ -x $f ]] || { echo "iso.sh: missing $f (build first or pass --build-dir)" >&2; exit 1; }
done

log() { printf '[iso %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

PFX=aigwt-bench-$$
NS_GEN=$PFX-igen NS_GW=$PFX-igw NS_SINK=$PFX-isink
PIN=/sys/fs/bpf/$PFX
WORK=$(mktemp -d "/tmp/$PFX-iso.XXXXXX")
source "$HERE/lib.sh"
BENCH_NAMESPACES=("$NS_GEN" "$NS_GW" "$NS_SINK")
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_bpffs

XGEN=$WORK/aigw-xdp-gen
cc -O2 -Wall -o "$XGEN" "$HERE/xdp_gen.c" -lbpf 2>"$WORK/xgen-cc.err" ||
  { cat "$WORK/xgen-cc.err" >&2; echo "iso.sh: cannot build aigw-xdp-gen (libbpf-dev)" >&2; exit 1; }

for ns in "$NS_GEN" "$NS_GW" "$NS_SINK"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip -n "$NS_GEN" link add g0 type veth peer name gi netns "$NS_GW"
ip -n "$NS_GW" link add go type veth peer name s0 netns "$NS_SINK"
ip -n "$NS_GEN" link set g0 up
ip -n "$NS_GW" link set gi up
ip -n "$NS_GW" link set go up
ip -n "$NS_SINK" link set s0 up
ip netns exec "$NS_GW" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
  net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
S0MAC=$(mac "$NS_SINK" s0)
# gi: customer side of the headend (192.0.2.0/24), WAN side of the endpoint (fc00:ff::/64)
ip -n "$NS_GW" addr add 192.0.2.1/24 dev gi
ip -n "$NS_GW" -6 addr add fc00:ff::1/64 dev gi nodad
# go: WAN side of the headend (fc00:fe::/64), customer side of the endpoint
ip -n "$NS_GW" -6 addr add fc00:fe::1/64 dev go nodad
ip -n "$NS_GW" addr add 203.0.113.1/24 dev go
ip -n "$NS_GW" -6 addr add 2001:db8:1::1/64 dev go nodad
ip -n "$NS_GW" -6 route add fc00:b::/32 via fc00:fe::2 dev go
ip -n "$NS_GW" -6 route add 2001:db8:2::/64 via 2001:db8:1::10 dev go
ip -n "$NS_GW" -6 neigh replace fc00:fe::2 lladdr "$S0MAC" dev go nud permanent
ip -n "$NS_GW" -6 neigh replace 2001:db8:1::10 lladdr "$S0MAC" dev go nud permanent
ip -n "$NS_GW" neigh replace 203.0.113.10 lladdr "$S0MAC" dev go nud permanent
# The kernel's End.DX4 looks the route up for nh4 but, the route being a
# connected one, resolves the neighbour of the inner destination: without
# this entry it ARPs for 198.51.100.10 on go and forwards nothing.
ip -n "$NS_GW" neigh replace 198.51.100.10 lladdr "$S0MAC" dev go nud permanent
ip -n "$NS_GW" sr tunsrc set fc00:a::1
SID1=fc00:b::1 SID2=fc00:b::2 SID_DX4=fc00:a::d4 SID_DT6=fc00:a::f6
GIMAC=$(mac "$NS_GW" gi) G0MAC=$(mac "$NS_GEN" g0)

# Frames (hex; MACs are filled in by the generator).
read -r FRAME_HE FRAME_DX4 FRAME_DT6 < <(python3 - "$SID_DX4" "$SID_DT6" <<'EOF'
import ipaddress, struct, sys
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def ip4(src, dst, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, 17, 0,
                    ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload
def udp4():
    return struct.pack("!HHHH", 9, 9, 26, 0) + bytes(18)
def ip6(src, dst, nh, payload, hl=64):
    return struct.pack("!IHBB", 6 << 28, len(payload), nh, hl) + \
        ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + payload
def udp6(src, dst):
    u = struct.pack("!HHHH", 9, 9, 26, 0) + bytes(18)
    ph = ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + struct.pack("!IxxxB", 26, 17)
    return u[:6] + struct.pack("!H", csum(ph + u)) + u[8:]
def srv6(sid, nh, inner):
    segs = [sid, "fc00:c::e"]           # SL 0: the last segment (index 0) is this gw's SID
    srh = struct.pack("!BBBBBBH", nh, 2 * len(segs), 4, 0, len(segs) - 1, 0, 0) + \
        b"".join(ipaddress.IPv6Address(s).packed for s in segs)
    return ip6("fc00:c::1", sid, 43, srh + inner)
eth = lambda t, p: bytes(12) + struct.pack("!H", t) + p
he = eth(0x0800, ip4("192.0.2.2", "198.51.100.10", udp4()))
dx4 = eth(0x86DD, srv6(sys.argv[1], 4, ip4("192.0.2.2", "198.51.100.10", udp4())))
dt6 = eth(0x86DD, srv6(sys.argv[2], 41, ip6("2001:db8:3::2", "2001:db8:2::10", 17,
                                            udp6("2001:db8:3::2", "2001:db8:2::10"))))
print(he.hex(), dx4.hex(), dt6.hex())
EOF
)

# aigwd configurations: headend (gi customer, go WAN) and endpoint (gi WAN, go customer).
write_cfg() {  # file role_gi role_go policies sids
  cat >"$1" <<EOF
$(aigwd_yaml_agent)
datapath:
  xdp_mode: native
  hop_limit: 64
  tcp_mss_clamp: auto
interfaces:
  - name: gi
    role: $2
$( [[ $2 == customer ]] && echo "    vrf: 0" )
  - name: go
    role: $3
$( [[ $3 == customer ]] && echo "    vrf: 0" )
$4
$5
EOF
}
write_cfg "$WORK/he.yaml" customer wan "policies:
  - name: bench
    vrf: 0
    prefixes: [198.51.100.0/24]
    mode: encap
    source: fc00:a::1
    segments: [$SID1, $SID2]" "sids: []"
write_cfg "$WORK/ep.yaml" wan customer "policies: []" "sids:
  - sid: $SID_DX4/128
    behavior: End.DX4
    nexthop: 203.0.113.10
    interface: go
  - sid: $SID_DT6/128
    behavior: End.DT6
    table: 254"

AIGWD_PID= AIGWD_CFG=
start_aigwd() {  # config
  local i
  AIGWD_CFG=$1
  nsenter --net="/run/netns/$NS_GW" "$AIGWD" --config "$1" >>"$WORK/aigwd.log" 2>&1 &
  AIGWD_PID=$!
  track "$AIGWD_PID"
  for ((i = 0; i < 150; i++)); do
    alive "$AIGWD_PID" || { log "aigwd exited:"; tail -20 "$WORK/aigwd.log" >&2; return 1; }
    if ip -n "$NS_GW" link show gi | grep -q ' xdp' && ip -n "$NS_GW" link show go | grep -q ' xdp'; then
      sleep 0.3; return 0
    fi
    sleep 0.1
  done
  log "aigwd: no XDP on gi/go after 15 s"; tail -20 "$WORK/aigwd.log" >&2; return 1
}
stop_aigwd() {
  [[ -n $AIGWD_PID ]] || return 0
  stop_pid "$AIGWD_PID" 10
  AIGWD_PID=
  detach_aigwd "$NS_GW" "$AIGWD_CFG"
}
start_bare() { start_bare_encap "$NS_GW" gi go 600; }
gro() { ip netns exec "$NS_GW" ethtool -K gi gro "$1" >/dev/null; }

SINK_PID=
rm -f "$PIN/sink"
nsenter --net="/run/netns/$NS_SINK" "$XDPT" sink --dev s0 --pin-counters "$PIN/sink" \
  --expect-dst "$SID1" --max-seconds 3000 >"$WORK/sink.out" 2>&1 &
SINK_PID=$!
track "$SINK_PID"
wait_ready "$SINK_PID" "$WORK/sink.out" sink || exit 1
sink_read() { "$XDPT" read "$PIN/sink"; }  # frames srv6 srv6_dst_ok ipv6_no_srh bytes

# Threaded NAPI on gi, its kthread pinned to the gw CPU. Called once the
# mode has created gi's NAPI (XDP attached or GRO on); sets KT.
KT=
napi_iso() {
  local before after p i
  before=$(pgrep -x 'napi/gi-[0-9]*' | sort || true)
  ip netns exec "$NS_GW" sh -c 'echo 1 > /sys/class/net/gi/threaded &&
    echo 100 > /sys/class/net/gi/napi_defer_hard_irqs && echo '"$FLUSH_NS"' > /sys/class/net/gi/gro_flush_timeout'
  KT=
  for ((i = 0; i < 20; i++)); do
    [[ -z $KT ]] || break
    after=$(pgrep -x 'napi/gi-[0-9]*' | sort || true)
    KT=$(comm -13 <(echo "$before") <(echo "$after") | head -1)
    [[ -n $KT ]] || sleep 0.05
  done
  [[ -n $KT ]] || { log "no new napi/gi kthread"; return 1; }
  taskset -pc "$GW_CPU" "$KT" >/dev/null
  [[ $RT == 1 ]] && chrt -f -p 50 "$KT"
  return 0
}
napi_off() {
  ip netns exec "$NS_GW" sh -c 'echo 0 > /sys/class/net/gi/threaded; echo 0 > /sys/class/net/gi/napi_defer_hard_irqs;
    echo 0 > /sys/class/net/gi/gro_flush_timeout' 2>/dev/null || true
  KT=
}

mode_on() {  # mode
  case $1 in
    he_aigw) start_aigwd "$WORK/he.yaml" ;;
    he_kernel) ip -n "$NS_GW" route add 198.51.100.0/24 encap seg6 mode encap segs "$SID1,$SID2" dev go && gro on ;;
    he_bare) start_bare ;;
    ep_dx4_aigw|ep_dt6_aigw) start_aigwd "$WORK/ep.yaml" ;;
    ep_dx4_kernel) ip -n "$NS_GW" -6 route add "$SID_DX4/128" encap seg6local action End.DX4 nh4 203.0.113.10 dev go && gro on ;;
    ep_dt6_kernel) ip -n "$NS_GW" -6 route add "$SID_DT6/128" encap seg6local action End.DT6 table 254 dev gi && gro on ;;
  esac && napi_iso
}
mode_off() {
  napi_off
  case $1 in
    he_aigw|ep_dx4_aigw|ep_dt6_aigw) stop_aigwd ;;
    he_kernel) gro off; ip -n "$NS_GW" route del 198.51.100.0/24 2>/dev/null || true ;;
    he_bare) stop_bare ;;
    ep_dx4_kernel) gro off; ip -n "$NS_GW" -6 route del "$SID_DX4/128" 2>/dev/null || true ;;
    ep_dt6_kernel) gro off; ip -n "$NS_GW" -6 route del "$SID_DT6/128" 2>/dev/null || true ;;
  esac
}
frame_of() { case $1 in he_*) echo "$FRAME_HE" ;; ep_dx4_*) echo "$FRAME_DX4" ;; ep_dt6_*) echo "$FRAME_DT6" ;; esac; }
# expected output length at the sink
outlen_of() { case $1 in he_*) echo 140 ;; ep_dx4_*) echo 60 ;; ep_dt6_*) echo 80 ;; esac; }

gen_start() {  # mode seconds
  local rt=()
  [[ $RT == 1 ]] && rt=(chrt -f 40)
  ip netns exec "$NS_GEN" "${rt[@]}" timeout $(( ${2%.*} + 10 )) "$XGEN" --dev g0 --dst-mac "$GIMAC" --src-mac "$G0MAC" \
    --frame "$(frame_of "$1")" --cpu "$GEN_CPU" --batch 256 --count 4000000000 --seconds "$2" \
    >"$WORK/gen-$1.log" 2>&1 &
  GEN_PID=$!
  track "$GEN_PID"
}
# A snapshot of the counters, run at SCHED_FIFO 60 (above the generator and
# the kthread, so it is not delayed by them): "wall_ns kthread_ns sink_frames
# sink_bytes sink_ipv6_no_srh g0_tx g0_xmit_err cpu_busy_ticks cpu_total_ticks
# ksoftirqd_ns go_xmit_err".
cat >"$WORK/snap.sh" <<'EOF'
# snap.sh KT XDPT PIN NS_GEN CPU KSOFTIRQD NS_GW
t=$(date +%s%N)
k=$(awk '{print $1}' "/proc/$1/schedstat" 2>/dev/null || echo 0)
q=$(awk '{print $1}' "/proc/$6/schedstat" 2>/dev/null || echo 0)
o=$(ip netns exec "$7" ethtool -S go | awk '/xdp_xmit_errors/ {print $2}')
s=$("$2" read "$3" | awk '{print $1, $5, $4}')
g=$(ip netns exec "$4" awk '$1 == "g0:" {print $11}' /proc/net/dev)
e=$(ip netns exec "$4" ethtool -S g0 | awk '/xdp_xmit_errors/ {print $2}')
c=$(awk -v c="cpu$5" '$1 == c { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6 - $9, t }' /proc/stat)
echo "$t $k $s $g $e $c $q ${o:-0}"
EOF
KSOFTIRQD=$(pgrep -x "ksoftirqd/$GW_CPU" | head -1)
snap() { chrt -f 60 bash "$WORK/snap.sh" "$KT" "$XDPT" "$PIN/sink" "$NS_GEN" "$GW_CPU" "$KSOFTIRQD" "$NS_GW"; }

declare -A R_PPS R_OFF R_OVF R_BUSY R_NS R_CPU R_LEN R_OK R_SIRQ R_LOST
measure() {  # mode run
  local m=$1 r=$2 a b
  gen_start "$m" "$(awk -v w="$WARMUP" -v s="$SECONDS_W" 'BEGIN { printf "%d", w + s + 3 }')"
  sleep "$WARMUP"
  a=$(snap); sleep "$SECONDS_W"; b=$(snap)
  stop_pid "$GEN_PID" 5
  read -r R_PPS[$m,$r] R_OFF[$m,$r] R_OVF[$m,$r] R_BUSY[$m,$r] R_NS[$m,$r] R_CPU[$m,$r] R_LEN[$m,$r] R_SIRQ[$m,$r] R_LOST[$m,$r] < <(
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x); split(b, y)
      dt = (y[1] - x[1]) / 1e9; kt = y[2] - x[2] + y[10] - x[10]; rx = y[3] - x[3]; by = y[4] - x[4]
      tx = y[6] - x[6]; er = y[7] - x[7]; cb = y[8] - x[8]; ct = y[9] - x[9]; lo = y[11] - x[11]
      printf "%.0f %.0f %.1f %.1f %.0f %.1f %.1f %.1f %.0f\n", rx / dt, (tx + er) / dt, (tx + er) ? 100 * er / (tx + er) : 0,
        100 * kt / (dt * 1e9), rx ? kt / rx : 0, ct ? 100 * cb / ct : 0, rx ? by / rx : 0,
        100 * (y[10] - x[10]) / (dt * 1e9), lo / dt }')
  R_OK[$m,$r]=1
  [[ ${R_LEN[$m,$r]%.*} == "$(outlen_of "$m")" ]] || R_OK[$m,$r]=0
  log "$m run $r: ${R_PPS[$m,$r]} pps at the sink (offered ${R_OFF[$m,$r]}, ring overflow ${R_OVF[$m,$r]}%), gw busy ${R_BUSY[$m,$r]}% (of which ksoftirqd ${R_SIRQ[$m,$r]}%), lost gw->sink ${R_LOST[$m,$r]} pps (CPU $GW_CPU busy ${R_CPU[$m,$r]}% incl. other load), ${R_NS[$m,$r]} ns/packet, ${R_LEN[$m,$r]} bytes/frame at the sink"
}

# Profile window: perf (cpu-clock samples of the NAPI kthread) and, for aigw, bpf run-time stats.
declare -A P_PROG P_SPLIT
profile() {  # mode
  local m=$1 id=
  gen_start "$m" "$(awk -v w="$WARMUP" -v s="$SECONDS_W" 'BEGIN { printf "%d", w + s + 3 }')"
  sleep "$WARMUP"
  if [[ $m == *aigw || $m == he_bare ]]; then
    id=$(ip -n "$NS_GW" -d link show gi | awk '/prog\/xdp id/ { for (i = 1; i <= NF; i++) if ($i == "id") { print $(i + 1); exit } }')
  fi
  if [[ -n $id ]]; then
    # bpftool prog profile needs hardware cycles/instructions counters.
    if ! timeout 5 bpftool prog profile id "$id" duration 1 cycles instructions >"$WORK/bpfprof-$m.txt" 2>&1; then
      P_PROG[$m]="bpftool prog profile: $(grep -v '^$' "$WORK/bpfprof-$m.txt" | head -1 | cut -c1-100)"
    else
      P_PROG[$m]="bpftool prog profile: $(tr -s ' \n' ' ' <"$WORK/bpfprof-$m.txt" | cut -c1-160)"
    fi
    # BPF_ENABLE_STATS (run_time_ns / run_cnt), held by a python process for 2 s.
    python3 -c '
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
attr = (ctypes.c_uint32 * 32)()      # union bpf_attr, enable_stats.type = BPF_STATS_RUN_TIME (0)
fd = libc.syscall(321, 32, attr, 128) # __NR_bpf, BPF_ENABLE_STATS
if fd < 0: sys.exit("BPF_ENABLE_STATS: " + os.strerror(ctypes.get_errno()))
time.sleep(float(sys.argv[1]))' 2 >"$WORK/stats-$m.err" 2>&1 &
    local sp=$! s0 s1
    track "$sp"
    sleep 0.2
    s0=$(bpftool prog show id "$id" | grep -o 'run_time_ns [0-9]* run_cnt [0-9]*' || true)
    sleep 1.5
    s1=$(bpftool prog show id "$id" | grep -o 'run_time_ns [0-9]* run_cnt [0-9]*' || true)
    stop_pid "$sp" 3
    P_PROG[$m]+="; XDP program $id (bpf stats): $(awk -v a="$s0" -v b="$s1" 'BEGIN { split(a, x); split(b, y)
      n = y[4] - x[4]; if (n > 0) printf "%.0f ns/run (%d runs)", (y[2] - x[2]) / n, n; else print "no stats" }')"
  fi
  if command -v perf >/dev/null; then
    timeout 20 perf record -q -t "$KT" -e cpu-clock -F 4999 -o "$WORK/perf-$m.data" -- sleep "$SECONDS_W" \
      >/dev/null 2>"$WORK/perf-$m.err" || true
    perf report -i "$WORK/perf-$m.data" --no-children --sort sym --stdio -q 2>/dev/null \
      | awk 'NF >= 3 && $1 ~ /%$/ { p = $1; sub(/%/, "", p); s = $NF; print p "\t" s }' >"$WORK/perf-$m.tsv" || true
  fi
  stop_pid "$GEN_PID" 5
}

# A kernel without SRv6 routes (CONFIG_IPV6_SEG6_LWTUNNEL unset) has no
# seg6 / seg6local to compare with: its modes are left out, and said so.
NO_SEG6=""
if ! ip -n "$NS_GW" -6 route add fc00:ffff::/128 encap seg6local action End dev lo 2>/dev/null; then
  NO_SEG6=$(printf '%s\n' $MODES | grep _kernel | tr '\n' ' ' || true)
  MODES=$(printf '%s\n' $MODES | grep -v _kernel | tr '\n' ' ' || true)
  log "this kernel has no SRv6 routes (seg6local refused): left out: $NO_SEG6"
else
  ip -n "$NS_GW" -6 route del fc00:ffff::/128 2>/dev/null || true
fi

# ------------------------------------------------------------------ runs
log "isolated layout: generator on CPU $GEN_CPU, gw NAPI kthread on CPU $GW_CPU$([[ $RT == 1 ]] && echo ' (SCHED_FIFO)'); modes: $MODES"
FAIL=0
for ((r = 1; r <= RUNS; r++)); do
  for m in $MODES; do
    if mode_on "$m"; then measure "$m" "$r"; else FAIL=1; log "$m: setup failed"; fi
    mode_off "$m"
  done
done
if [[ $PROFILE == 1 ]]; then
  for m in $MODES; do
    if mode_on "$m"; then profile "$m"; else FAIL=1; fi
    mode_off "$m"
  done
fi

# ------------------------------------------------------------------ summary
median() {
  printf '%s\n' "$@" | { grep . || true; } | sort -g | awk '{ v[NR] = $1 }
    END { if (!NR) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
declare -A M_PPS M_BUSY M_NS M_OVF M_OFF M_OK
for m in $MODES; do
  a=() b=() c=() d=() e=(); ok=1
  for ((r = 1; r <= RUNS; r++)); do
    [[ -n ${R_PPS[$m,$r]:-} ]] || { ok=0; continue; }
    a+=("${R_PPS[$m,$r]}"); b+=("${R_BUSY[$m,$r]}"); c+=("${R_NS[$m,$r]}"); d+=("${R_OVF[$m,$r]}"); e+=("${R_OFF[$m,$r]}")
    [[ ${R_OK[$m,$r]} == 1 ]] || ok=0
  done
  M_PPS[$m]=$(median "${a[@]}"); M_BUSY[$m]=$(median "${b[@]}"); M_NS[$m]=$(median "${c[@]}")
  M_OVF[$m]=$(median "${d[@]}"); M_OFF[$m]=$(median "${e[@]}"); M_OK[$m]=$ok
  [[ $ok == 1 ]] || FAIL=1
done
ref_of() { case $1 in he_*) echo he_kernel ;; ep_dx4_*) echo ep_dx4_kernel ;; ep_dt6_*) echo ep_dt6_kernel ;; esac; }
target_of() { case $1 in he_aigw) echo 2.5 ;; ep_*_aigw) echo 2.0 ;; *) echo "" ;; esac; }
label_of() {
  case $1 in
    he_aigw) echo "headend aigw (aigwd H.Encaps 2 SIDs)" ;; he_kernel) echo "headend kernel seg6 encap" ;;
    he_bare) echo "headend bare XDP encap (reference)" ;;
    ep_dx4_aigw) echo "End.DX4 aigw" ;; ep_dx4_kernel) echo "End.DX4 kernel seg6local" ;;
    ep_dt6_aigw) echo "End.DT6 aigw" ;; ep_dt6_kernel) echo "End.DT6 kernel seg6local" ;;
  esac
}
SUM=$WORK/iso-summary.txt
{
  echo "Isolated gateway CPU: generator (aigw-xdp-gen, batch 256) on CPU $GEN_CPU, the gw's ingress NAPI"
  echo "(threaded, kthread pinned to CPU $GW_CPU$([[ $RT == 1 ]] && echo ', SCHED_FIFO'), napi_defer_hard_irqs 100, gro_flush_timeout $FLUSH_NS ns) on CPU $GW_CPU;"
  echo "${SECONDS_W}s windows after ${WARMUP}s, median of $RUNS runs. busy = the NAPI kthread's CPU time / window"
  echo "(schedstat; includes the sink's XDP, run from it); ns/pkt = that CPU time / packets at the sink;"
  echo "sat = busy >= 90% and the generator out-paced the gw (veth ring overflow > 1%): only then is pps the gw's capacity."
  printf '  %-38s %9s %6s %7s %8s %5s  %s\n' mode "gw pps" busy% ns/pkt overflow sat "ratio to kernel (pps; by ns/pkt)"
  for m in $NO_SEG6; do
    printf '  %-38s %s\n' "$(label_of "$m")" "not run: this kernel has no SRv6 routes (CONFIG_IPV6_SEG6_LWTUNNEL unset)"
  done
  for m in $MODES; do
    ref=$(ref_of "$m")
    awk -v l="$(label_of "$m")" -v p="${M_PPS[$m]}" -v b="${M_BUSY[$m]}" -v n="${M_NS[$m]}" -v o="${M_OVF[$m]}" \
        -v ok="${M_OK[$m]}" -v rp="${M_PPS[$ref]:-0}" -v rn="${M_NS[$ref]:-0}" -v rb="${M_BUSY[$ref]:-0}" -v ro="${M_OVF[$ref]:-0}" \
        -v self="$([[ $m == "$ref" ]] && echo 1 || echo 0)" -v tgt="$(target_of "$m")" 'BEGIN {
      sat = (b >= 90 && o > 1) ? "yes" : "NO"
      rs = (rb >= 90 && ro > 1)
      if (self) r = "-"
      else if (rp > 0 && n > 0) {
        r = sprintf("x%.2f; x%.2f", p / rp, rn / n)
        if (!(sat == "yes" && rs)) r = r " (pps ratio not a cost ratio: a side is not saturated)"
        if (tgt != "") r = r sprintf("  target >= %.1f: %s", tgt, (rn / n >= tgt) ? "met (by ns/pkt)" : "MISSED")
      } else r = "n/a"
      printf "  %-38s %9d %6.1f %7.0f %7.1f%% %5s  %s%s\n", l, p, b, n, o, sat, r, ok == 1 ? "" : "  [FAILED: wrong output length at the sink]" }'
  done
  if [[ $PROFILE == 1 ]]; then
    echo "Where the gw CPU's nanoseconds go (perf record -t <NAPI kthread> cpu-clock over one ${SECONDS_W}s window per mode;"
    echo "ns of each group = its share of the kthread's samples x the median ns/pkt above):"
    for m in $MODES; do
      if [[ ! -s $WORK/perf-$m.tsv ]]; then
        echo "  $(label_of "$m"): no perf data ($(head -c 120 "$WORK/perf-$m.err" 2>/dev/null))"
        [[ -n ${P_PROG[$m]:-} ]] && echo "    ${P_PROG[$m]}"
        continue
      fi
      awk -F'\t' -v l="$(label_of "$m")" -v n="${M_NS[$m]}" -v b="${M_BUSY[$m]}" '
        function grp(s) {
          if (s ~ /^bpf_prog_/) return "XDP program"
          if (s ~ /xdp|bq_|dev_map|veth_xdp_xmit|__xdp|page_pool/) return "XDP redirect/xmit, page pool"
          if (s ~ /^veth_|ptr_ring/) return "veth rx/tx"
          if (s ~ /seg6|lwtunnel|ip6_|ipv6_|ip_|fib|rt6|dst_|neigh|nf_hook|icmp|inet/) return "IP forwarding, seg6, FIB, neigh"
          if (s ~ /skb|kmem|kfree|slab|alloc|build_skb|napi_gro|gro|netif_receive|__netif|dev_gro|eth_type_trans|memcpy|memset|csum/) return "skb alloc/free, GRO, netif_receive"
          if (s ~ /dev_queue|sch_|qdisc|dev_hard_start|netdev_core_pick|validate_xmit|skb_tx/) return "qdisc/xmit"
          if (s ~ /idle|poll_idle|default_idle|cpuidle|acpi_idle/) return "idle"
          return "other kernel"
        }
        { g = grp($2); share[g] += $1; tot += $1; if (++k <= 8) top = top sprintf(" %s %.1f%%", $2, $1) }
        END {
          printf "  %s: %.0f ns/pkt (busy %.0f%%):", l, n, b
          for (g in share) printf " %s %.0f%% (%.0f ns);", g, share[g], share[g] / 100 * n
          printf "\n    top symbols:%s\n", top }' "$WORK/perf-$m.tsv"
      [[ -n ${P_PROG[$m]:-} ]] && echo "    ${P_PROG[$m]}"
    done
  fi
  [[ $SMOKE == 1 ]] && echo "  (smoke run: 1 s windows, figures not meaningful)"
} >"$SUM"
cat "$SUM"
[[ -n $SUMMARY_OUT ]] && cp "$SUM" "$SUMMARY_OUT"
exit $FAIL
