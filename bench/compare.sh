#!/usr/bin/env bash
# Side-by-side comparison of etcd 3.4 (slot A) and our akka-etcd member (slot B) on this machine.
#
# Both servers run with the same etcd flags, one member each on loopback, data dirs in one temp folder (same
# filesystem, so the same fsync cost). Identical workloads of akka-etcd-benchmark run against each IN ALTERNATION
# (A, B, then B, A in the next round, ...) for N rounds; the table shows the median of the rounds. Then each server is restarted empty,
# loaded with K keys of 256 bytes, and its peak RSS (VmHWM) is read.
#
# usage: bench/compare.sh [--quick | --full] [--rounds N] [--total N] [--rss-keys N]
#                         [--ours-cmd "CMD ..."] [--ours-etcd] [--members 1] [--keep]
#   --quick       small totals, 1 round (a smoke run, ~1-2 minutes)
#   (default)     --total 20000, 3 rounds, 100,000 keys for RSS (under ~5 minutes on 2 cores)
#   --full        --total 100000, 5 rounds, 1,000,000 keys for RSS
#   --ours-cmd    command that starts our member (default: dotnet <built src/Node>/akka-etcd.dll); etcd flags are appended
#   --ours-etcd   put /usr/bin/etcd in slot B too: an etcd-vs-etcd calibration of the tool and the machine
#   --members     members per server; only 1 is implemented (3 = three-member mode, reserved)
#   --keep        keep the temp folder (data dirs, logs, per-run JSON)
# Needs: dotnet, jq, awk, /usr/bin/etcd, /usr/bin/etcdctl. Exit code 0 when slot A ran (a slot B that fails to start is
# reported in the table, not fatal, while our server is being finished).
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
KEEP=0
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
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

case "$MODE" in
  quick) : "${ROUNDS:=1}" "${TOTAL:=2000}" "${RSS_KEYS:=100000}"; WATCH_PUTS=20 ;;
  default) : "${ROUNDS:=3}" "${TOTAL:=20000}" "${RSS_KEYS:=100000}"; WATCH_PUTS=100 ;;
  full) : "${ROUNDS:=5}" "${TOTAL:=100000}" "${RSS_KEYS:=1000000}"; WATCH_PUTS=500 ;;
esac
if [[ "$MEMBERS" != 1 ]]; then
  echo "--members $MEMBERS: three-member mode is not implemented yet (one member per server only)" >&2
  exit 2
fi
for tool in jq awk "$ETCD_BIN" "$ETCDCTL_BIN" dotnet; do
  command -v "$tool" >/dev/null || { echo "missing required tool: $tool" >&2; exit 2; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/akka-etcd-compare.XXXXXX")"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  if [[ $KEEP == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# ---------------------------------------------------------------- build
log "building akka-etcd-benchmark (Release)"
dotnet build "$ROOT/bench/Benchmark/Akka.Etcd.Benchmark.csproj" -c Release -o "$WORK/bench-bin" -v quiet -nologo >"$WORK/build-bench.log" 2>&1 \
  || { cat "$WORK/build-bench.log" >&2; exit 1; }
BENCH=(dotnet "$WORK/bench-bin/akka-etcd-benchmark.dll")

B_BUILD_ERROR=""
if [[ -z "$OURS_CMD" ]]; then
  log "building akka-etcd (Release)"
  if dotnet build "$ROOT/src/Node/Akka.Etcd.Node.csproj" -c Release -o "$WORK/node-bin" -v quiet -nologo >"$WORK/build-node.log" 2>&1; then
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
# start_server SLOT NAME CLIENT_PORT PEER_PORT DATA_DIR -> sets SERVER_PID, or returns 1 after printing why.
start_server() {
  local slot=$1 name=$2 port=$3 peer=$4 dir=$5
  local -a cmd
  if [[ $slot == A ]]; then cmd=("${A_CMD[@]}"); else cmd=("${B_CMD[@]}"); fi
  mkdir -p "$(dirname "$dir")"
  "${cmd[@]}" --name "$name" --data-dir "$dir" \
    --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "$name=http://127.0.0.1:$peer" --initial-cluster-state new \
    --initial-cluster-token "compare-$name" \
    >"$WORK/$name.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  local deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      local code=0
      wait "$SERVER_PID" 2>/dev/null || code=$?
      echo "slot $slot ($name) exited with code $code during start-up (it never answered a get); last log lines:" >&2
      if [[ -s "$WORK/$name.log" ]]; then tail -n 5 "$WORK/$name.log" | sed 's/^/    /' >&2; else echo "    (empty log)" >&2; fi
      return 1
    fi
    if ETCDCTL_API=3 "$ETCDCTL_BIN" --endpoints="127.0.0.1:$port" --dial-timeout=1s --command-timeout=2s \
        get compare-ready >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  echo "slot $slot ($name) did not answer a linearizable get within 30 s; last log lines:" >&2
  tail -n 5 "$WORK/$name.log" | sed 's/^/    /' >&2
  return 1
}

stop_server() {
  local pid=$1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

A_PORT=23790; A_PEER=23800
B_PORT=23791; B_PEER=23801

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

RESULTS="$WORK/results.tsv" # workload slot round throughput p50 p99 failed
: >"$RESULTS"

# run_workload SLOT PORT NAME ARGS ROUND
run_workload() {
  local slot=$1 port=$2 name=$3 args=$4 round=$5
  local out="$WORK/run-$slot-$round-${name//[^a-z0-9]/_}.json"
  local -a argv
  read -r -a argv <<<"$args"
  if timeout 300 "${BENCH[@]}" --endpoints="127.0.0.1:$port" --json --no-progress "${argv[@]}" >"$out" 2>"$out.err"; then
    jq -r --arg w "$name" --arg s "$slot" --arg r "$round" \
      '[$w, $s, $r, .throughput, .p50, .p99, .failed] | @tsv' "$out" >>"$RESULTS"
  else
    log "  $slot $name round $round failed: $(tail -n 1 "$out.err")"
    printf '%s\t%s\t%s\tNaN\tNaN\tNaN\t-1\n' "$name" "$slot" "$round" >>"$RESULTS"
  fi
}

A_UP=0; B_UP=0; A_ERROR=""; B_ERROR="$B_BUILD_ERROR"
log "starting slot A ($A_LABEL: ${A_CMD[*]})"
if start_server A a-load "$A_PORT" "$A_PEER" "$WORK/data/a-load"; then A_UP=1; A_PID=$SERVER_PID; else A_ERROR="failed to start"; fi
if [[ -z "$B_ERROR" ]]; then
  log "starting slot B ($B_LABEL: ${B_CMD[*]})"
  if start_server B b-load "$B_PORT" "$B_PEER" "$WORK/data/b-load"; then B_UP=1; B_PID=$SERVER_PID; else B_ERROR="failed to start"; fi
fi
if [[ $A_UP == 0 ]]; then
  echo "slot A (etcd) failed to start: nothing to compare against" >&2
  exit 1
fi

for slot in A B; do
  port=$A_PORT; up=$A_UP
  [[ $slot == B ]] && { port=$B_PORT; up=$B_UP; }
  [[ $up == 1 ]] && ETCDCTL_API=3 "$ETCDCTL_BIN" --endpoints="127.0.0.1:$port" put compare-range-key "$VALUE_256" >/dev/null
done

for ((round = 1; round <= ROUNDS; round++)); do
  for entry in "${WORKLOADS[@]}"; do
    name="${entry%%|*}"; args="${entry#*|}"
    log "round $round/$ROUNDS: $name"
    # Odd rounds run A then B, even rounds B then A (A B B A A B ...): whoever goes second in a pair does not
    # always inherit the same machine state, so an order effect cancels out in the median.
    if ((round % 2 == 1)); then
      run_workload A "$A_PORT" "$name" "$args" "$round"
      if [[ $B_UP == 1 ]]; then run_workload B "$B_PORT" "$name" "$args" "$round"; fi
    else
      if [[ $B_UP == 1 ]]; then run_workload B "$B_PORT" "$name" "$args" "$round"; fi
      run_workload A "$A_PORT" "$name" "$args" "$round"
    fi
  done
done
stop_server "$A_PID"
[[ $B_UP == 1 ]] && stop_server "$B_PID"

# ---------------------------------------------------------------- peak RSS after loading keys
# rss_after_load SLOT PORT PEER -> sets RSS_OUT to "VmHWM_kB VmRSS_kB datadir_MB load_seconds" (n/a when it fails)
# (no command substitution: the server must be started by this shell so that cleanup can stop it)
rss_after_load() {
  local slot=$1 port=$2 peer=$3 name=${1,,}-rss
  RSS_OUT="n/a n/a n/a n/a"
  if ! start_server "$slot" "$name" "$port" "$peer" "$WORK/data/$name"; then return; fi
  local pid=$SERVER_PID start=$SECONDS
  if ! timeout 1800 "${BENCH[@]}" --endpoints="127.0.0.1:$port" --clients=100 --conns=10 --json --no-progress \
      put --total="$RSS_KEYS" --key-size=8 --val-size=256 --sequential-keys --key-space-size="$RSS_KEYS" >"$WORK/rss-$slot.json" 2>&1; then
    log "  slot $slot: loading $RSS_KEYS keys failed: $(tail -n 1 "$WORK/rss-$slot.json")"
  fi
  local elapsed=$((SECONDS - start))
  local hwm rss size
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo n/a)
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo n/a)
  size=$(du -sm "$WORK/data/$name" | cut -f1)
  stop_server "$pid"
  RSS_OUT="${hwm:-n/a} ${rss:-n/a} $size $elapsed"
}

log "peak RSS: loading $RSS_KEYS keys of 256 bytes into a fresh slot A"
rss_after_load A "$A_PORT" "$A_PEER"
read -r A_HWM A_RSS A_DISK A_LOAD <<<"$RSS_OUT"
B_HWM=n/a; B_RSS=n/a; B_DISK=n/a; B_LOAD=n/a
if [[ $B_UP == 1 ]]; then
  log "peak RSS: loading $RSS_KEYS keys of 256 bytes into a fresh slot B"
  rss_after_load B "$B_PORT" "$B_PEER"
  read -r B_HWM B_RSS B_DISK B_LOAD <<<"$RSS_OUT"
fi

# ---------------------------------------------------------------- report
echo "# akka-etcd vs etcd: $MODE mode, $ROUNDS round(s), median shown; $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "machine: $(nproc) CPUs ($(lscpu 2>/dev/null | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}'))," \
  "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM, kernel $(uname -r)"
echo "disk: $(df -hT "$WORK" | awk 'NR==2 {print $1, $2, $3 " total"}'), rotational=$(lsblk -dno ROTA "$(df "$WORK" | awk 'NR==2 {print $1}')" 2>/dev/null | tr -d ' ' || echo '?'), data dirs in $WORK"
echo "slot A: $A_LABEL ($("$ETCD_BIN" --version 2>/dev/null | head -n 1)); slot B: $B_LABEL (${B_CMD[*]})${B_ERROR:+ -- $B_ERROR}"
echo "dotnet $(dotnet --version); benchmark client on the same machine, sharing its CPUs with the server under test"
echo
awk -F'\t' -v A="$A_LABEL" -v B="$B_LABEL" -v bup="$B_UP" '
  function median(list,    n, arr, i, j, t) {
    n = split(list, arr, " ")
    for (i = 2; i <= n; i++) { t = arr[i]; j = i - 1; while (j >= 1 && arr[j] + 0 > t + 0) { arr[j + 1] = arr[j]; j-- } arr[j + 1] = t }
    if (n == 0) return "nan"
    return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
  }
  function ratio(b, a) { return (a + 0 > 0 && b != "nan" && b != "NaN") ? sprintf("%.2f", b / a) : "n/a" }
  function num(v, f) { return (v == "nan" || v == "NaN") ? "n/a" : sprintf(f, v) }
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
echo "throughput of every run (ops/s, in run order; spread = max/min - 1 over the rounds):"
awk -F'\t' '{ k = $1 " " $2; runs[k] = runs[k] " " sprintf("%.0f", $4); if (!(k in seen)) { seen[k] = 1; order[++n] = k }
              if ($4 != "NaN") { if (!(k in lo) || $4 + 0 < lo[k]) lo[k] = $4 + 0; if ($4 + 0 > hi[k]) hi[k] = $4 + 0 } }
     END { for (i = 1; i <= n; i++) { k = order[i]; printf "  %-28s%s  (spread %s)\n", k, runs[k], (lo[k] > 0 ? sprintf("%.0f%%", (hi[k] / lo[k] - 1) * 100) : "n/a") } }' "$RESULTS"
echo
mb() { [[ "$1" == n/a ]] && echo n/a || awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; }
echo "| peak RSS after loading $RSS_KEYS keys x 256 B | $A_LABEL | $B_LABEL | ratio |"
echo "|---|---:|---:|---:|"
echo "| VmHWM (MiB) | $(mb "$A_HWM") | $(mb "$B_HWM") | $([[ "$B_HWM" == n/a || "$A_HWM" == n/a ]] && echo n/a || awk -v a="$A_HWM" -v b="$B_HWM" 'BEGIN {printf "%.2f", b / a}') |"
echo "| VmRSS at end (MiB) | $(mb "$A_RSS") | $(mb "$B_RSS") | |"
echo "| data dir (MiB) | $A_DISK | $B_DISK | |"
echo "| load time (s) | $A_LOAD | $B_LOAD | |"
