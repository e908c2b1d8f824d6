# Shared by the bench scripts (run.sh, iso.sh, route_change.sh): the
# processes a script starts, its namespaces, bpffs pins and work dir, all
# removed on exit. Sourced after the script has set:
#   PFX                  aigwt-bench-<pid>, the prefix of everything it creates
#   BENCH_NAMESPACES     array of its namespaces (may be set later, before use)
#   PIN WORK KEEP        its pin dir, work dir, and whether to keep the work dir
# and defined log(). Background jobs are started as plain commands, never
# through a shell function, so that $! is the program itself.

declare -A PIDS=()  # background processes started here and not yet reaped
BENCH_NAMESPACES=()

track() { PIDS[$1]=1; }

alive() {  # running (a child that exited stays a zombie until waited for)
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z ]]
}

stop_pid() {  # pid [seconds]: SIGTERM (after SIGCONT: it may be stopped), SIGKILL after the grace time; reaps it
  local p=$1 t=${2:-10} i
  kill -CONT "$p" 2>/dev/null || true
  if alive "$p"; then
    kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < t * 10; i++)); do
      alive "$p" || break
      sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null || true
  fi
  wait "$p" 2>/dev/null || true
  unset "PIDS[$p]"
}

bench_cleanup() {
  local rc=$? p ns
  trap - EXIT INT TERM
  for p in "${!PIDS[@]}"; do stop_pid "$p" 5; done
  for ns in "${BENCH_NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$PIN" 2>/dev/null || true
  if [[ $KEEP == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}

# The pins need a bpf filesystem on /sys/fs/bpf, as aigwd does (systemd
# mounts one at boot; a bare machine or container may have none until some
# aigwd mounts it). Mounted as aigwd itself would (agent/datapath/loader.cpp).
bench_bpffs() {
  if [[ $(stat -f -c %T /sys/fs/bpf 2>/dev/null) != bpf_fs ]]; then
    mount -t bpf -o mode=0700 bpf /sys/fs/bpf ||
      { echo "$(basename "$0"): /sys/fs/bpf is not a bpf filesystem and mounting one failed" >&2; exit 1; }
  fi
  mkdir -p "$PIN"
}

mac() { ip -n "$1" -br link show "$2" | awk '{print $3}'; }

# Waits (up to 10 s) until the background program PID has written "ready"
# to FILE; else logs WHAT and the file and fails.
wait_ready() {  # pid file what
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q ready "$2" 2>/dev/null && return 0
    alive "$1" || break
    sleep 0.1
  done
  log "$3 did not start:"; cat "$2" >&2; return 1
}

# A stopped aigwd leaves its programs attached (zero-loss restarts): take
# them off the ports before the next mode measures without aigw.
#   detach_aigwd NS CONFIG
detach_aigwd() {
  nsenter --net="/run/netns/$1" "$AIGWD" --detach --config "$2" >>"$WORK/aigwd.log" 2>&1 ||
    log "aigwd --detach failed: $(tail -1 "$WORK/aigwd.log")"
}

# The agent and accounting sections of a bench aigwd's configuration: its
# socket, pins and state in the run's own directories (never the host's
# /var/lib/aigw), no metrics listener.
aigwd_yaml_agent() {
  cat <<EOF_AGENT
agent:
  socket: $WORK/gw.sock
  socket_mode: "0600"
  pin_path: $PIN/gw
  log_level: info
  metrics_listen: "off"
accounting:
  state_dir: $WORK/state
  usage_dir: $WORK/usage
EOF_AGENT
}

# The bare XDP H.Encaps reference (aigw-bench-xdp encap: template copy + FIB
# + redirect, no aigw) on DEV in namespace NS, out of TX, to $SID1,$SID2:
#   start_bare_encap NS DEV TX MAX_SECONDS   (needs XDPT, SID1, SID2)
BARE_PID=
start_bare_encap() {
  nsenter --net="/run/netns/$1" "$XDPT" encap --dev "$2" --tx "$3" --src fc00:a::1 \
    --segs "$SID1,$SID2" --max-seconds "$4" >"$WORK/bare.out" 2>&1 &
  BARE_PID=$!
  track "$BARE_PID"
  wait_ready "$BARE_PID" "$WORK/bare.out" bench_encap
}
stop_bare() { [[ -n $BARE_PID ]] && stop_pid "$BARE_PID" 5; BARE_PID=; }
