#!/usr/bin/env bash
# Side-by-side comparison of etcd 3.4 (slot A) and our akka-etcd member (slot B) on this machine.
#
# Both servers run with the same etcd flags on loopback, one member each or three members each (--members 3), data
# dirs in one temp folder (same filesystem, so the same fsync cost). Identical workloads of akka-etcd-benchmark run
# against each IN ALTERNATION (A, B, then B, A in the next round, ...) for N rounds; the table shows the median of
# the rounds, and the CPU the servers spent per operation (read from /proc before and after each run, the client not
# counted: it moves less from run to run than ops/s on a shared machine). Then each server is restarted empty, loaded
# with K keys of 256 bytes, its peak RSS (VmHWM) is read, it is stopped (SIGTERM) and started again on the same data
# dir to time its start-up. Optionally (--check-perf) each slot then gets `etcdctl check perf --load=s` and
# `--load=l` on a fresh data dir.
#
# usage: bench/compare.sh [--quick | --full] [--rounds N] [--total N] [--rss-keys N] [--members 1|3]
#                         [--check-perf | --no-check-perf] [--ours-cmd "CMD ..."] [--ours-etcd]
#                         [--port-base P] [--keep] [--workloads NAME,NAME]
#   --quick         small totals, 1 round (a smoke run, ~1-2 minutes with one member)
#   (default)       --total 20000, 3 rounds, 100,000 keys for RSS (under ~5 minutes on 2 cores)
#   --full          --total 100000, 5 rounds, 1,000,000 keys for RSS, and --check-perf
#   --members 3     three members per server (etcd x3 in slot A, ours x3 in slot B); the benchmark gets all three
#                   client endpoints; RSS is the leader's VmHWM plus the sum over the three
#   --check-perf    run `etcdctl check perf --load=s` then `--load=l` against each slot (fresh data dir per run,
#                   60 s of writes each: ~5 minutes more); on by default with --full, off otherwise
#   --ours-cmd      command that starts our member (default: dotnet <built src/Node>/akka-etcd.dll); etcd flags are appended
#   --ours-etcd     put /usr/bin/etcd in slot B too: an etcd-vs-etcd calibration of the tool and the machine
#   --port-base P   first loopback port (default 23790; moved up by 100 while any of its 16 ports is in use)
#   --keep          keep the temp folder (data dirs, logs, per-run JSON)
#   --workloads L   run only the workloads whose names start with one of the comma-separated L (e.g. put,txn-put)
# Needs: dotnet, jq, awk, ss, /usr/bin/etcd, /usr/bin/etcdctl. Exit code 0 when slot A ran (a slot B that fails to
# start is reported in the table, not fatal). Every server started here is stopped on exit, Ctrl-C or error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ETCD_BIN="${ETCD_BIN:-/usr/bin/etcd}"
ETCDCTL_BIN="${ETCDCTL_BIN:-/usr/bin/etcdctl}"

MODE=default
ROUNDS=""
TOTAL=""
RSS_KEYS=""
OURS_CMD=""
OURS_LABEL="ours"
MEMBERS=1
CHECK_PERF=""
PORT_BASE=23790
KEEP=0
ONLY=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --rounds) ROUNDS="$2"; shift ;;
    --total) TOTAL="$2"; shift ;;
    --rss-keys) RSS_KEYS="$2"; shift ;;
    --ours-cmd) OURS_CMD="$2"; shift ;;
    --ours-etcd) OURS_CMD="$ETCD_BIN"; OURS_LABEL="etcd(B)" ;;
    --members) MEMBERS="$2"; shift ;;
    --check-perf) CHECK_PERF=1 ;;
    --no-check-perf) CHECK_PERF=0 ;;
    --port-base) PORT_BASE="$2"; shift ;;
    --keep) KEEP=1 ;;
    --workloads) ONLY="$2"; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

case "$MODE" in
  quick) : "${ROUNDS:=1}" "${TOTAL:=2000}" "${RSS_KEYS:=100000}" "${CHECK_PERF:=0}"; WATCH_PUTS=20 ;;
  default) : "${ROUNDS:=3}" "${TOTAL:=20000}" "${RSS_KEYS:=100000}" "${CHECK_PERF:=0}"; WATCH_PUTS=100 ;;
  full) : "${ROUNDS:=5}" "${TOTAL:=100000}" "${RSS_KEYS:=1000000}" "${CHECK_PERF:=1}"; WATCH_PUTS=500 ;;
esac
if [[ "$MEMBERS" != 1 && "$MEMBERS" != 3 ]]; then
  echo "--members $MEMBERS: only 1 or 3 members per server" >&2
  exit 2
fi
for tool in jq awk ss "$ETCD_BIN" "$ETCDCTL_BIN" dotnet; do
  command -v "$tool" >/dev/null || { echo "missing required tool: $tool" >&2; exit 2; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/akka-etcd-compare.XXXXXX")"
mkdir -p "$WORK/logs" "$WORK/data"
PIDS=() # every server process started here and not yet stopped
cleanup() {
  trap - INT TERM
  local pid
  for pid in "${PIDS[@]:-}"; do if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi; done
  for pid in "${PIDS[@]:-}"; do if [[ -n "$pid" ]]; then wait_exit "$pid" 30; fi; done
  if [[ $KEEP == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
# Background servers ignore SIGINT (non-interactive shell), so Ctrl-C must go through the EXIT trap to stop them.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
now() { date +%s.%N; }
elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }

# wait_exit PID SECONDS: waits for PID (a child of this shell) to exit, SIGKILLs it after SECONDS, reaps it.
wait_exit() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    log "  pid $pid still running $2 s after SIGTERM: SIGKILL"
    kill -9 "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- ports
# Slot A members use client ports BASE, BASE+2, BASE+4 and peer ports BASE+10, +12, +14; slot B the odd ones
# (BASE+1, +3, +5 and +11, +13, +15). One member: A = 23790/23800, B = 23791/23801 as before.
ports_free() {
  local base=$1 listening
  listening=$(ss -Hltn | awk '{n = split($4, a, ":"); print a[n]}')
  local p
  for ((p = base; p < base + 16; p++)); do
    grep -qx "$p" <<<"$listening" && return 1
  done
  return 0
}
for ((try = 0; try < 20; try++)); do
  ports_free "$PORT_BASE" && break
  PORT_BASE=$((PORT_BASE + 100))
done
ports_free "$PORT_BASE" || { echo "no free block of 16 loopback ports found" >&2; exit 2; }

client_port() { local offset=0; [[ $1 == B ]] && offset=1; echo $((PORT_BASE + offset + 2 * ($2 - 1))); }
peer_port() { echo $(($(client_port "$1" "$2") + 10)); }
# endpoints SLOT -> "127.0.0.1:P1,127.0.0.1:P2,..." (every member's client address)
endpoints() {
  local slot=$1 i list=""
  for ((i = 1; i <= MEMBERS; i++)); do list+="${list:+,}127.0.0.1:$(client_port "$slot" "$i")"; done
  echo "$list"
}
member_name() { if ((MEMBERS == 1)); then echo "$1"; else echo "$1-$2"; fi; }

# ---------------------------------------------------------------- build
log "building akka-etcd-benchmark (Release)"
dotnet build "$ROOT/bench/Benchmark/Akka.Etcd.Benchmark.csproj" -c Release -o "$WORK/bench-bin" -v quiet -nologo >"$WORK/build-bench.log" 2>&1 \
  || { cat "$WORK/build-bench.log" >&2; exit 1; }
BENCH=(dotnet "$WORK/bench-bin/akka-etcd-benchmark.dll")

B_BUILD_ERROR=""
if [[ -z "$OURS_CMD" ]]; then
  log "building akka-etcd (Release)"
  # As scripts/run-member.sh runs it (a ReadyToRun publish on x64): start-up is one of the figures.
  if bash "$ROOT/scripts/build-member.sh" "$WORK/node-bin" -v quiet -nologo >"$WORK/build-node.log" 2>&1; then
    OURS_CMD="dotnet $WORK/node-bin/akka-etcd.dll"
  else
    B_BUILD_ERROR="build of src/Node failed (see build-node.log)"
  fi
fi
read -r -a A_CMD <<<"$ETCD_BIN"
read -r -a B_CMD <<<"${OURS_CMD:-false}"
A_LABEL="etcd"
B_LABEL="$OURS_LABEL"

# ---------------------------------------------------------------- servers
# A cluster is MEMBERS processes of one slot, named TAG (one member) or TAG-1..TAG-3, data dirs $WORK/data/TAG/NAME,
# logs $WORK/logs/NAME.log (appended across restarts). CLUSTER_PIDS holds the member PIDs in member order.

# launch_cluster SLOT TAG: execs every member (all at once: a new 3-member cluster needs its quorum up), no waiting.
launch_cluster() {
  local slot=$1 tag=$2 i name initial="" port peer
  local -a cmd
  if [[ $slot == A ]]; then cmd=("${A_CMD[@]}"); else cmd=("${B_CMD[@]}"); fi
  for ((i = 1; i <= MEMBERS; i++)); do
    initial+="${initial:+,}$(member_name "$tag" "$i")=http://127.0.0.1:$(peer_port "$slot" "$i")"
  done
  CLUSTER_PIDS=()
  for ((i = 1; i <= MEMBERS; i++)); do
    name=$(member_name "$tag" "$i"); port=$(client_port "$slot" "$i"); peer=$(peer_port "$slot" "$i")
    mkdir -p "$WORK/data/$tag"
    echo "--- $(date +%H:%M:%S.%N) exec ${cmd[*]} (member $i of $MEMBERS) ---" >>"$WORK/logs/$name.log"
    "${cmd[@]}" --name "$name" --data-dir "$WORK/data/$tag/$name" \
      --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "$initial" --initial-cluster-state new --initial-cluster-token "compare-$tag" \
      >>"$WORK/logs/$name.log" 2>&1 &
    PIDS+=("$!")
    CLUSTER_PIDS+=("$!")
  done
}

# cluster_exited SLOT TAG: true (after printing which member exited and its last log lines) when a member is gone.
cluster_exited() {
  local slot=$1 tag=$2 i pid code name
  for ((i = 1; i <= MEMBERS; i++)); do
    pid=${CLUSTER_PIDS[i - 1]}
    kill -0 "$pid" 2>/dev/null && continue
    code=0
    wait "$pid" 2>/dev/null || code=$?
    name=$(member_name "$tag" "$i")
    echo "slot $slot ($name) exited with code $code during start-up (it never answered a get); last log lines:" >&2
    tail -n 5 "$WORK/logs/$name.log" | sed 's/^/    /' >&2
    return 0
  done
  return 1
}

# start_cluster SLOT TAG: launches the cluster and waits (30 s for one member, 60 s for three) until it has a leader
# and every member answers a linearizable get. Returns 1 after printing why (the members stay in PIDS for cleanup).
start_cluster() {
  local slot=$1 tag=$2 i name
  launch_cluster "$slot" "$tag"
  local limit=$((MEMBERS == 1 ? 30 : 60))
  local deadline=$((SECONDS + limit)) ready
  while ((SECONDS < deadline)); do
    if cluster_exited "$slot" "$tag"; then stop_cluster "$slot" "${CLUSTER_PIDS[@]}"; return 1; fi
    ready=1
    for ((i = 1; i <= MEMBERS; i++)); do
      if ! ETCDCTL_API=3 "$ETCDCTL_BIN" --endpoints="127.0.0.1:$(client_port "$slot" "$i")" --dial-timeout=1s \
          --command-timeout=2s get compare-ready >/dev/null 2>&1; then
        ready=0
        break
      fi
    done
    [[ $ready == 1 ]] && return 0
    sleep 0.2
  done
  echo "slot $slot ($tag) did not answer a linearizable get through every member within $limit s; last log lines:" >&2
  for ((i = 1; i <= MEMBERS; i++)); do
    name=$(member_name "$tag" "$i")
    echo "  $name:" >&2
    tail -n 5 "$WORK/logs/$name.log" | sed 's/^/    /' >&2
  done
  stop_cluster "$slot" "${CLUSTER_PIDS[@]}" # so that a half-started slot does not load the CPUs during the other's runs
  return 1
}

# stop_cluster SLOT PID...: SIGTERM to the members (PIDs in member order), waiting for each (SIGKILL after 60 s).
# Three members go leader first, one at a time: a leader that gets SIGTERM hands its leadership to a follower
# (etcd's TransferLeadership on stop), which takes 7 s to time out when the followers are already gone.
stop_cluster() {
  local slot=$1 pid kept=() p leader
  shift
  local -a pids=("$@")
  if ((MEMBERS > 1 && ${#pids[@]} == MEMBERS)); then
    local -a stopped=()
    while ((${#stopped[@]} < MEMBERS - 1)); do
      leader=$(leader_index "$slot")
      [[ -z "$leader" ]] && break
      pid=${pids[leader - 1]}
      kill "$pid" 2>/dev/null || true
      wait_exit "$pid" 60
      stopped+=("$pid")
    done
  fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait_exit "$pid" 60; done
  for p in "${PIDS[@]:-}"; do
    for pid in "${pids[@]}"; do [[ "$p" == "$pid" ]] && continue 2; done
    [[ -n "$p" ]] && kept+=("$p")
  done
  PIDS=("${kept[@]:-}")
}

# leader_index SLOT: prints the 1-based index of the member that reports itself leader (`endpoint status`: the
# 5th field of etcdctl's simple output is "is leader"), or nothing.
leader_index() {
  local slot=$1 i status
  for ((i = 1; i <= MEMBERS; i++)); do
    status=$(ETCDCTL_API=3 "$ETCDCTL_BIN" --endpoints="127.0.0.1:$(client_port "$slot" "$i")" --dial-timeout=1s \
      --command-timeout=2s endpoint status -w simple 2>/dev/null) || continue
    if [[ $(awk -F', ' '{print $5}' <<<"$status") == true ]]; then echo "$i"; return; fi
  done
}

# ---------------------------------------------------------------- workloads
# name|benchmark arguments (after --endpoints)
VALUE_256="$(head -c 256 /dev/zero | tr '\0' 'v')"
WORKLOADS=(
  "put|--clients=100 --conns=10 put --total=$TOTAL --key-size=8 --val-size=256 --sequential-keys --key-space-size=100000"
  "range-linearizable|--clients=100 --conns=10 range compare-range-key --consistency=l --total=$TOTAL"
  "range-serializable|--clients=100 --conns=10 range compare-range-key --consistency=s --total=$TOTAL"
  "txn-put(4 ops)|--clients=100 --conns=10 txn-put --txn-ops=4 --val-size=256 --key-space-size=100000 --total=$((TOTAL / 2))"
  "watch(1000 watchers)|--clients=10 --conns=10 watch --watchers=1000 --streams=10 --watched-key-total=1 --put-total=$WATCH_PUTS"
  "lease-keepalive|--clients=100 --conns=10 lease-keepalive --total=$TOTAL"
)

if [[ -n "$ONLY" ]]; then
  SELECTED=()
  IFS=',' read -r -a PREFIXES <<<"$ONLY"
  for entry in "${WORKLOADS[@]}"; do
    for prefix in "${PREFIXES[@]}"; do
      if [[ "${entry%%|*}" == "$prefix"* ]]; then SELECTED+=("$entry"); break; fi
    done
  done
  WORKLOADS=("${SELECTED[@]}")
fi

RESULTS="$WORK/results.tsv" # workload slot round throughput p50 p99 failed server-cpu-us-per-op
: >"$RESULTS"

CLOCK_TICKS=$(getconf CLK_TCK)

# server_cpu_ticks SLOT: user + system CPU ticks (CLK_TCK per second) of the slot's member processes so far, from
# /proc/PID/stat; a member that has exited counts 0.
server_cpu_ticks() {
  local slot=$1 pid total=0 fields
  local -a pids=("${A_PIDS[@]}")
  [[ $slot == B ]] && pids=("${B_PIDS[@]}")
  for pid in "${pids[@]}"; do
    # The command name in field 2 may hold spaces: read the fields after its closing parenthesis.
    fields=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + $(awk '{print $12 + $13}' <<<"$fields")))
  done
  echo "$total"
}

# run_workload SLOT NAME ARGS ROUND (against every member's endpoint of the slot). Besides the benchmark's figures it
# records the CPU the slot's servers spent per successful operation (µs, all members together, the client excluded):
# a figure that moves less from run to run than ops/s on a shared machine.
run_workload() {
  local slot=$1 name=$2 args=$3 round=$4
  local out="$WORK/run-$slot-$round-${name//[^a-z0-9]/_}.json"
  local -a argv
  read -r -a argv <<<"$args"
  local cpu_before cpu_after
  cpu_before=$(server_cpu_ticks "$slot")
  if timeout --foreground 300 "${BENCH[@]}" --endpoints="$(endpoints "$slot")" --json --no-progress "${argv[@]}" >"$out" 2>"$out.err"; then
    cpu_after=$(server_cpu_ticks "$slot")
    jq -r --arg w "$name" --arg s "$slot" --arg r "$round" --argjson ticks "$((cpu_after - cpu_before))" --argjson hz "$CLOCK_TICKS" \
      '[$w, $s, $r, .throughput, .p50, .p99, .failed, (if .ok > 0 then $ticks * 1000000 / $hz / .ok else "NaN" end)] | @tsv' \
      "$out" >>"$RESULTS"
  else
    log "  $slot $name round $round failed: $(tail -n 1 "$out.err")"
    printf '%s\t%s\t%s\tNaN\tNaN\tNaN\t-1\tNaN\n' "$name" "$slot" "$round" >>"$RESULTS"
  fi
}

A_UP=0; B_UP=0; B_ERROR="$B_BUILD_ERROR"
A_PIDS=(); B_PIDS=()
log "ports: slot A clients $(endpoints A), slot B clients $(endpoints B) ($MEMBERS member(s) each)"
log "starting slot A ($A_LABEL x $MEMBERS: ${A_CMD[*]})"
if start_cluster A a-load; then A_UP=1; A_PIDS=("${CLUSTER_PIDS[@]}"); fi
if [[ -z "$B_ERROR" ]]; then
  log "starting slot B ($B_LABEL x $MEMBERS: ${B_CMD[*]})"
  if start_cluster B b-load; then B_UP=1; B_PIDS=("${CLUSTER_PIDS[@]}"); else B_ERROR="failed to start"; fi
fi
if [[ $A_UP == 0 ]]; then
  echo "slot A (etcd) failed to start: nothing to compare against" >&2
  exit 1
fi

for slot in A B; do
  up=$A_UP
  [[ $slot == B ]] && up=$B_UP
  [[ $up == 1 ]] && ETCDCTL_API=3 "$ETCDCTL_BIN" --endpoints="$(endpoints "$slot")" put compare-range-key "$VALUE_256" >/dev/null
done

for ((round = 1; round <= ROUNDS; round++)); do
  for entry in "${WORKLOADS[@]}"; do
    name="${entry%%|*}"; args="${entry#*|}"
    log "round $round/$ROUNDS: $name"
    # Odd rounds run A then B, even rounds B then A (A B B A A B ...): whoever goes second in a pair does not
    # always inherit the same machine state, so an order effect cancels out in the median.
    if ((round % 2 == 1)); then
      run_workload A "$name" "$args" "$round"
      if [[ $B_UP == 1 ]]; then run_workload B "$name" "$args" "$round"; fi
    else
      if [[ $B_UP == 1 ]]; then run_workload B "$name" "$args" "$round"; fi
      run_workload A "$name" "$args" "$round"
    fi
  done
done
stop_cluster A "${A_PIDS[@]}"
[[ $B_UP == 1 ]] && stop_cluster B "${B_PIDS[@]}"

# ---------------------------------------------------------------- peak RSS after loading keys, then start-up time
# rss_after_load SLOT -> sets RSS_OUT to
#   "leaderVmHWM_kB sumVmHWM_kB leaderVmRSS_kB leaderDatadir_MB sumDatadir_MB load_seconds startup_seconds"
# (n/a where it fails). The servers are started by this shell, not in a command substitution, so cleanup can stop them.
rss_after_load() {
  local slot=$1 tag=${1,,}-rss
  RSS_OUT="n/a n/a n/a n/a n/a n/a n/a"
  if ! start_cluster "$slot" "$tag"; then return; fi
  local -a pids=("${CLUSTER_PIDS[@]}")
  local start=$SECONDS eps
  eps=$(endpoints "$slot")
  ETCDCTL_API=3 "$ETCDCTL_BIN" --endpoints="$eps" put compare-range-key "$VALUE_256" >/dev/null
  if ! timeout --foreground 1800 "${BENCH[@]}" --endpoints="$eps" --clients=100 --conns=10 --json --no-progress \
      put --total="$RSS_KEYS" --key-size=8 --val-size=256 --sequential-keys --key-space-size="$RSS_KEYS" >"$WORK/rss-$slot.json" 2>&1; then
    log "  slot $slot: loading $RSS_KEYS keys failed: $(tail -n 1 "$WORK/rss-$slot.json")"
  fi
  local load=$((SECONDS - start))
  local leader i hwm rss size hwm_sum=0 size_sum=0 leader_hwm=n/a leader_rss=n/a leader_size=n/a
  leader=$(leader_index "$slot")
  [[ -z "$leader" ]] && log "  slot $slot: no member reports itself leader; RSS of member 1 shown as the leader's"
  for ((i = 1; i <= MEMBERS; i++)); do
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/${pids[i - 1]}/status" 2>/dev/null || true)
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/${pids[i - 1]}/status" 2>/dev/null || true)
    size=$(du -sm "$WORK/data/$tag/$(member_name "$tag" "$i")" 2>/dev/null | cut -f1 || echo 0)
    if [[ -n "$hwm" && $hwm_sum != n/a ]]; then hwm_sum=$((hwm_sum + hwm)); else hwm_sum=n/a; fi
    size_sum=$((size_sum + size))
    if [[ $i == "${leader:-1}" ]]; then leader_hwm=${hwm:-n/a}; leader_rss=${rss:-n/a}; leader_size=$size; fi
  done
  log "  slot $slot: loaded in $load s; stopping (SIGTERM) and starting again on the same data dir"
  stop_cluster "$slot" "${pids[@]}"
  measure_startup "$slot" "$tag"
  log "  slot $slot: start-up with $RSS_KEYS keys took $STARTUP_S s"
  RSS_OUT="$leader_hwm $hwm_sum $leader_rss $leader_size $size_sum $load $STARTUP_S"
}

# measure_startup SLOT TAG -> sets STARTUP_S to the seconds from exec of the member(s) to the first successful
# linearizable `etcdctl get compare-range-key` that returns the key (polled every 50 ms, deadline 300 s), or n/a;
# then stops them. A TCP connect probe (bash /dev/tcp) comes first so that etcdctl is not left blocking in its dial
# while no client port is open yet.
measure_startup() {
  local slot=$1 tag=$2 eps t0 i open value
  STARTUP_S=n/a
  eps=$(endpoints "$slot")
  t0=$(now)
  launch_cluster "$slot" "$tag"
  local deadline=$((SECONDS + 300))
  while ((SECONDS < deadline)); do
    if cluster_exited "$slot" "$tag"; then break; fi
    open=0
    for ((i = 1; i <= MEMBERS; i++)); do
      if (: >"/dev/tcp/127.0.0.1/$(client_port "$slot" "$i")") 2>/dev/null; then open=1; break; fi
    done
    if [[ $open == 1 ]] && value=$(ETCDCTL_API=3 "$ETCDCTL_BIN" --endpoints="$eps" --dial-timeout=1s \
        --command-timeout=2s get compare-range-key --print-value-only 2>/dev/null) && [[ $value == v* ]]; then
      STARTUP_S=$(elapsed_since "$t0")
      break
    fi
    sleep 0.05
  done
  [[ $STARTUP_S == n/a ]] && log "  slot $slot: no successful get compare-range-key within 300 s of the restart"
  stop_cluster "$slot" "${CLUSTER_PIDS[@]}"
}

log "peak RSS: loading $RSS_KEYS keys of 256 bytes into a fresh slot A"
rss_after_load A
read -r A_HWM A_HWM_SUM A_RSS A_DISK A_DISK_SUM A_LOAD A_STARTUP <<<"$RSS_OUT"
B_HWM=n/a; B_HWM_SUM=n/a; B_RSS=n/a; B_DISK=n/a; B_DISK_SUM=n/a; B_LOAD=n/a; B_STARTUP=n/a
if [[ $B_UP == 1 ]]; then
  log "peak RSS: loading $RSS_KEYS keys of 256 bytes into a fresh slot B"
  rss_after_load B
  read -r B_HWM B_HWM_SUM B_RSS B_DISK B_DISK_SUM B_LOAD B_STARTUP <<<"$RSS_OUT"
fi

# ---------------------------------------------------------------- etcdctl check perf
# Thresholds of etcd 3.4's etcdctl/ctlv3/command/check.go (checkPerfCfgMap): each load writes for 60 s through a
# rate limiter at `limit` puts/s from `clients` clients, key = prefix /etcdctl-check-perf/ + 256 bytes (random
# varint), value 1024 zero bytes. PASS needs: no errors, throughput > 0.9 x limit, slowest request <= 0.5 s,
# stddev <= 0.1 s. The keys are deleted at the end.
declare -A PERF_LIMIT=([s]=150 [m]=1000 [l]=8000 [xl]=15000)
declare -A PERF_CLIENTS=([s]=50 [m]=200 [l]=500 [xl]=1000)
PERF_LOADS=(s l)

# run_check_perf SLOT LOAD: fresh cluster on its own data dir, `etcdctl check perf --load=LOAD` through every member's
# endpoint, output (progress bar stripped) in $WORK/check-perf-SLOT-LOAD.out, exit code in .rc.
run_check_perf() {
  local slot=$1 load=$2 tag=${1,,}-perf-$2 out="$WORK/check-perf-$1-$2"
  if ! start_cluster "$slot" "$tag"; then
    echo "server did not start" >"$out.out"; echo 1 >"$out.rc"; return
  fi
  local -a pids=("${CLUSTER_PIDS[@]}")
  local rc=0
  ETCDCTL_API=3 timeout --foreground 240 "$ETCDCTL_BIN" --endpoints="$(endpoints "$slot")" check perf --load="$load" \
    >"$out.raw" 2>&1 || rc=$?
  tr '\r' '\n' <"$out.raw" | grep -E '^(PASS|FAIL|Slowest|Stddev|Error)' >"$out.out" || true
  [[ -s "$out.out" ]] || tr '\r' '\n' <"$out.raw" | grep -v '^ *[0-9]* / 60 ' | tail -n 3 >"$out.out" || true
  echo "$rc" >"$out.rc"
  # The progress bar reaching 60 / 60 means the load ran to its end: an error after that comes from the final
  # Delete of the prefix (30 s deadline), which etcdctl runs before it prints its summary.
  if tr '\r' '\n' <"$out.raw" | grep '^ *60 / 60' >/dev/null; then echo "after the 60 s load" >"$out.phase"; fi
  stop_cluster "$slot" "${pids[@]}"
}

# perf_cell SLOT LOAD: "PASS (7412 writes/s, slowest 0.31 s, stddev 0.02 s)" from etcdctl's summary lines.
perf_cell() {
  local out="$WORK/check-perf-$1-$2"
  [[ -f "$out.out" ]] || { echo "not run"; return; }
  local phase=""
  [[ -f "$out.phase" ]] && phase=$(cat "$out.phase")
  awk -v rc="$(cat "$out.rc")" -v phase="$phase" '
    /[0-9]+ writes\/s/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "writes/s") tp = $i }
    /^(PASS: )?Slowest request took/ { s = $NF; sub(/s$/, "", s); slow = sprintf("%.3f", s) }
    /^(PASS: )?Stddev/ { s = $NF; sub(/s$/, "", s); sd = sprintf("%.3f", s) }
    /ERROR\(/ { errors++ }
    /^Error: / { failure = $0 }
    END {
      verdict = (rc == 0) ? "PASS" : (rc == 124 ? "TIMEOUT" : "FAIL")
      if (tp == "") {
        printf "%s (no summary, exit code %s%s%s)", verdict, rc, failure != "" ? ": " failure : "", phase != "" ? ", " phase : ""
        exit
      }
      printf "%s (%s writes/s, slowest %s s, stddev %s s%s)", verdict, tp, slow, sd, errors ? ", " errors " error kinds" : ""
    }' "$out.out"
}

if [[ $CHECK_PERF == 1 ]]; then
  for load in "${PERF_LOADS[@]}"; do
    log "etcdctl check perf --load=$load against slot A (60 s of writes)"
    run_check_perf A "$load"
    if [[ $B_UP == 1 ]]; then
      log "etcdctl check perf --load=$load against slot B (60 s of writes)"
      run_check_perf B "$load"
    fi
  done
fi

# ---------------------------------------------------------------- report
members_text="one member each"
((MEMBERS == 3)) && members_text="three members each (benchmark spread over the 3 client endpoints)"
echo "# akka-etcd vs etcd: $MODE mode, $MEMBERS member(s), $ROUNDS round(s), median shown; $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "machine: $(nproc) CPUs ($(lscpu 2>/dev/null | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}'))," \
  "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM, kernel $(uname -r)"
echo "disk: $(df -hT "$WORK" | awk 'NR==2 {print $1, $2, $3 " total"}'), rotational=$(lsblk -dno ROTA "$(df "$WORK" | awk 'NR==2 {print $1}')" 2>/dev/null | tr -d ' ' || echo '?'), data dirs in $WORK"
echo "slot A: $A_LABEL ($("$ETCD_BIN" --version 2>/dev/null | head -n 1)); slot B: $B_LABEL (${B_CMD[*]})${B_ERROR:+ -- $B_ERROR}"
echo "servers: $members_text, on 127.0.0.1; A clients $(endpoints A), B clients $(endpoints B)"
echo "dotnet $(dotnet --version); benchmark client on the same machine, sharing its CPUs with the servers under test"
echo
# The report's awk helpers: median of a space-separated list ("nan" when empty), ratio b/a, a number or n/a.
REPORT_AWK_FUNCTIONS='
  function median(list,    n, arr, i, j, t) {
    n = split(list, arr, " ")
    for (i = 2; i <= n; i++) { t = arr[i]; j = i - 1; while (j >= 1 && arr[j] + 0 > t + 0) { arr[j + 1] = arr[j]; j-- } arr[j + 1] = t }
    if (n == 0) return "nan"
    return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
  }
  function ratio(b, a) { return (a + 0 > 0 && b != "nan" && b != "NaN") ? sprintf("%.2f", b / a) : "n/a" }
  function num(v, f) { return (v == "nan" || v == "NaN") ? "n/a" : sprintf(f, v) }
'
awk -F'\t' -v A="$A_LABEL" -v B="$B_LABEL" -v bup="$B_UP" "$REPORT_AWK_FUNCTIONS"'
  function ms(v) { return (v == "nan" || v == "NaN") ? "n/a" : sprintf("%.2f", v * 1000) }
  {
    if (!($1 in seen)) { seen[$1] = 1; order[++count] = $1 }
    key = $1 SUBSEP $2
    if ($4 != "NaN") { tp[key] = tp[key] " " $4; p50[key] = p50[key] " " $5; p99[key] = p99[key] " " $6 }
    fail[key] += ($7 < 0 ? 0 : $7); if ($7 < 0) broken[key]++
  }
  END {
    printf "| workload | %s ops/s | %s ops/s | ratio | %s p50 ms | %s p50 ms | ratio | %s p99 ms | %s p99 ms | ratio | errors A/B |\n", A, B, A, B, A, B
    print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for (i = 1; i <= count; i++) {
      w = order[i]; a = w SUBSEP "A"; b = w SUBSEP "B"
      at = median(tp[a]); bt = bup ? median(tp[b]) : "nan"
      a50 = median(p50[a]); b50 = bup ? median(p50[b]) : "nan"
      a99 = median(p99[a]); b99 = bup ? median(p99[b]) : "nan"
      errs = (fail[a] + 0) (broken[a] ? "+" broken[a] " runs failed" : "") "/" (bup ? (fail[b] + 0) (broken[b] ? "+" broken[b] " runs failed" : "") : "n/a")
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", w, num(at, "%.0f"), num(bt, "%.0f"), ratio(bt, at),
        ms(a50), ms(b50), ratio(b50, a50), ms(a99), ms(b99), ratio(b99, a99), errs
    }
  }' "$RESULTS"
echo
echo "throughput ratio = B/A (above 1: B is faster); latency ratio = B/A (below 1: B is faster)."
echo "watch: ops/s = events delivered per second, latency = put sent -> event received."
echo
echo "server CPU per operation (µs of user + system CPU of all the slot's members per successful operation, the"
echo "benchmark client excluded; median of the rounds, then every run in run order):"
awk -F'\t' -v A="$A_LABEL" -v B="$B_LABEL" "$REPORT_AWK_FUNCTIONS"'
  {
    if (!($1 in seen)) { seen[$1] = 1; order[++count] = $1 }
    if ($8 != "" && $8 != "NaN") { key = $1 SUBSEP $2; cpu[key] = cpu[key] " " sprintf("%.0f", $8) }
  }
  END {
    printf "| workload | %s µs/op | %s µs/op | ratio B/A | %s runs | %s runs |\n", A, B, A, B
    print "|---|---:|---:|---:|---|---|"
    for (i = 1; i <= count; i++) {
      w = order[i]; a = median(cpu[w SUBSEP "A"]); b = median(cpu[w SUBSEP "B"])
      printf "| %s | %s | %s | %s | %s | %s |\n", w, num(a, "%.0f"), num(b, "%.0f"), ratio(b, a), cpu[w SUBSEP "A"], cpu[w SUBSEP "B"]
    }
  }' "$RESULTS"
echo "(CPU ratio: below 1, B spends less CPU per operation.)"
echo
echo "throughput of every run (ops/s, in run order; spread = max/min - 1 over the rounds):"
awk -F'\t' '{ k = $1 " " $2; runs[k] = runs[k] " " sprintf("%.0f", $4); if (!(k in seen)) { seen[k] = 1; order[++n] = k }
              if ($4 != "NaN") { if (!(k in lo) || $4 + 0 < lo[k]) lo[k] = $4 + 0; if ($4 + 0 > hi[k]) hi[k] = $4 + 0 } }
     END { for (i = 1; i <= n; i++) { k = order[i]; printf "  %-28s%s  (spread %s)\n", k, runs[k], (lo[k] > 0 ? sprintf("%.0f%%", (hi[k] / lo[k] - 1) * 100) : "n/a") } }' "$RESULTS"
echo
mb() { if [[ "$1" == n/a ]]; then echo n/a; else awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; fi; }
ratio() {
  if [[ "$1" == n/a || "$2" == n/a ]]; then echo n/a; else awk -v a="$1" -v b="$2" 'BEGIN {print (a > 0) ? sprintf("%.2f", b / a) : "n/a"}'; fi
}
who="" ; ((MEMBERS == 3)) && who=", leader"
echo "| peak RSS after loading $RSS_KEYS keys x 256 B | $A_LABEL | $B_LABEL | ratio |"
echo "|---|---:|---:|---:|"
echo "| VmHWM$who (MiB) | $(mb "$A_HWM") | $(mb "$B_HWM") | $(ratio "$A_HWM" "$B_HWM") |"
((MEMBERS == 3)) && echo "| VmHWM, sum of the 3 members (MiB) | $(mb "$A_HWM_SUM") | $(mb "$B_HWM_SUM") | $(ratio "$A_HWM_SUM" "$B_HWM_SUM") |"
echo "| VmRSS at end$who (MiB) | $(mb "$A_RSS") | $(mb "$B_RSS") | |"
echo "| data dir$who (MiB) | $A_DISK | $B_DISK | |"
((MEMBERS == 3)) && echo "| data dirs, sum of the 3 members (MiB) | $A_DISK_SUM | $B_DISK_SUM | |"
echo "| load time (s) | $A_LOAD | $B_LOAD | |"
echo "| start-up with $RSS_KEYS keys (s) | $A_STARTUP | $B_STARTUP | $(ratio "$A_STARTUP" "$B_STARTUP") |"
echo
echo "start-up = wall time from exec of the member(s), after a SIGTERM stop, on the loaded data dir(s) to the first"
echo "linearizable \`etcdctl get compare-range-key\` that returns the key (polled every 50 ms); ratio = B/A (below 1: B is faster)."

if [[ $CHECK_PERF == 1 ]]; then
  echo
  echo "etcdctl check perf ($("$ETCDCTL_BIN" version 2>/dev/null | head -n 1)), --endpoints = every member of the slot, fresh data dir per run:"
  echo
  echo "| load | target | $A_LABEL | $B_LABEL |"
  echo "|---|---|---|---|"
  for load in "${PERF_LOADS[@]}"; do
    target="${PERF_LIMIT[$load]} writes/s from ${PERF_CLIENTS[$load]} clients; pass > $((${PERF_LIMIT[$load]} * 9 / 10)) writes/s"
    echo "| $load | $target | $(perf_cell A "$load") | $([[ $B_UP == 1 ]] && perf_cell B "$load" || echo n/a) |"
  done
  echo
  echo "thresholds (etcdctl/ctlv3/command/check.go): 60 s of puts through a rate limiter (key 256 B + prefix, value"
  echo "1 KiB); PASS needs no errors, throughput > 0.9 x target, slowest request <= 0.5 s, stddev <= 0.1 s."
  echo "etcdctl's own summary lines:"
  for load in "${PERF_LOADS[@]}"; do
    for slot in A B; do
      [[ -f "$WORK/check-perf-$slot-$load.out" ]] || continue
      label=$A_LABEL; [[ $slot == B ]] && label=$B_LABEL
      echo "  --load=$load $label (exit code $(cat "$WORK/check-perf-$slot-$load.rc")):"
      sed 's/^/    /' "$WORK/check-perf-$slot-$load.out"
    done
  done
fi
