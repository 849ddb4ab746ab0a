#!/usr/bin/env bash
# Cluster timings of etcd 3.4 and akka-etcd, three members each on loopback with the same etcd flags (fresh data
# dirs in one temp folder per run). Two measurements, for docs/performance.md:
#
#   failover  SIGKILL the leader of a healthy 3-member cluster, then time until a put through the two survivors
#             succeeds (etcdctl put retried with a 500 ms command timeout). Repeated --runs times on a fresh cluster
#             each; prints every run and the median per server.
#   catchup   stop one follower (SIGTERM), put --keys keys of 256 bytes through the others (akka-etcd-benchmark),
#             start it again and time until it holds the last key (a serializable get through it alone, so served from
#             its own store). With more keys than --snapshot-count plus the 5,000 entries etcd keeps for catch-up, the
#             leader has compacted its log past the follower's index, so the follower catches up through a snapshot (etcd: "finished applying incoming snapshot";
#             ours: "applied snapshot at raft index"); the script reports whether its log says so.
#
# usage: bench/cluster-timings.sh failover [--runs N] [--server etcd|ours|both] [--keep]
#        bench/cluster-timings.sh catchup [--keys N] [--snapshot-count N] [--server etcd|ours|both] [--keep]
#   --runs N            failover runs per server (default 5)
#   --keys N            keys put while the follower is down (default 1000000; 20000 for a smoke run that still
#                       needs a snapshot)
#   --snapshot-count N  --snapshot-count of every member (default 10000, or --keys / 10 when smaller, at least 100)
#   --server            which servers to time (default both)
#   --ours-cmd "CMD"    command that starts our member (default: dotnet <built src/Node>/akka-etcd.dll)
#   --port-base P       first loopback port (default 24790; six ports from it)
#   --keep              keep the temp folder (data dirs and logs)
# Needs: dotnet, jq, /usr/bin/etcd, /usr/bin/etcdctl. Timings are machine-dependent: run on a quiet machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ETCD_BIN="${ETCD_BIN:-/usr/bin/etcd}"
ETCDCTL_BIN="${ETCDCTL_BIN:-/usr/bin/etcdctl}"

WHAT="${1:-}"
[[ "$WHAT" == failover || "$WHAT" == catchup ]] || { sed -n '2,23p' "$0"; exit 2; }
shift
RUNS=5
KEYS=1000000
SNAPSHOT_COUNT=""
SERVER=both
OURS_CMD=""
PORT_BASE=24790
KEEP=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS="$2"; shift ;;
    --keys) KEYS="$2"; shift ;;
    --snapshot-count) SNAPSHOT_COUNT="$2"; shift ;;
    --server) SERVER="$2"; shift ;;
    --ours-cmd) OURS_CMD="$2"; shift ;;
    --port-base) PORT_BASE="$2"; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ -z "$SNAPSHOT_COUNT" ]]; then
  SNAPSHOT_COUNT=$((KEYS / 10 < 10000 ? KEYS / 10 : 10000))
  ((SNAPSHOT_COUNT < 100)) && SNAPSHOT_COUNT=100
fi
case "$SERVER" in
  both) SERVERS=(etcd ours) ;;
  etcd|ours) SERVERS=("$SERVER") ;;
  *) echo "--server $SERVER: etcd, ours or both" >&2; exit 2 ;;
esac
for tool in jq dotnet "$ETCD_BIN" "$ETCDCTL_BIN"; do
  command -v "$tool" >/dev/null || { echo "missing required tool: $tool" >&2; exit 2; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/akka-etcd-timings.XXXXXX")"
mkdir -p "$WORK/logs"
PIDS=(0 0 0)
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
now() { date +%s.%N; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }
stop_pid() {
  local pid=$1 deadline=$((SECONDS + 60))
  [[ "$pid" == 0 ]] && return
  kill "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local i
  for i in 0 1 2; do stop_pid "${PIDS[i]}"; done
  if [[ $KEEP == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

client_port() { echo $((PORT_BASE + 2 * ($1 - 1))); }
peer_port() { echo $((PORT_BASE + 2 * ($1 - 1) + 1)); }
endpoint() { echo "127.0.0.1:$(client_port "$1")"; }
ctl() { ETCDCTL_API=3 "$ETCDCTL_BIN" --dial-timeout=1s "$@"; }

if [[ " ${SERVERS[*]} " == *" ours "* && -z "$OURS_CMD" ]]; then
  log "building akka-etcd (Release)"
  bash "$ROOT/scripts/build-member.sh" "$WORK/node-bin" -v quiet -nologo >"$WORK/build-node.log" 2>&1 \
    || { cat "$WORK/build-node.log" >&2; exit 1; }
  OURS_CMD="dotnet $WORK/node-bin/akka-etcd.dll"
fi
if [[ "$WHAT" == catchup ]]; then
  log "building akka-etcd-benchmark (Release)"
  dotnet build "$ROOT/bench/Benchmark/Akka.Etcd.Benchmark.csproj" -c Release -o "$WORK/bench-bin" -v quiet -nologo >"$WORK/build-bench.log" 2>&1 \
    || { cat "$WORK/build-bench.log" >&2; exit 1; }
fi

# start_member SERVER TAG I: starts member I (1-3) of cluster TAG on its data dir (kept across restarts).
start_member() {
  local server=$1 tag=$2 i=$3 initial="" j
  local -a cmd
  if [[ $server == etcd ]]; then cmd=("$ETCD_BIN"); else read -r -a cmd <<<"$OURS_CMD"; fi
  for j in 1 2 3; do initial+="${initial:+,}$tag-$j=http://127.0.0.1:$(peer_port "$j")"; done
  echo "--- $(date +%H:%M:%S.%N) start ---" >>"$WORK/logs/$tag-$i.log"
  "${cmd[@]}" --name "$tag-$i" --data-dir "$WORK/$tag/$tag-$i" --snapshot-count "$SNAPSHOT_COUNT" \
    --listen-client-urls "http://$(endpoint "$i")" --advertise-client-urls "http://$(endpoint "$i")" \
    --listen-peer-urls "http://127.0.0.1:$(peer_port "$i")" --initial-advertise-peer-urls "http://127.0.0.1:$(peer_port "$i")" \
    --initial-cluster "$initial" --initial-cluster-state new --initial-cluster-token "timings-$tag" \
    >>"$WORK/logs/$tag-$i.log" 2>&1 &
  PIDS[i - 1]=$!
}

# wait_healthy I...: until a put through each of the members succeeds (60 s at most).
wait_healthy() {
  local i deadline=$((SECONDS + 60))
  for i in "$@"; do
    until ctl --endpoints="$(endpoint "$i")" --command-timeout=2s put timings-ready yes >/dev/null 2>&1; do
      ((SECONDS < deadline)) || { log "member $i not healthy within 60 s"; return 1; }
      sleep 0.2
    done
  done
}

# leader_index: the 1-based index of the member that reports itself leader, or nothing.
leader_index() {
  local i status
  for i in 1 2 3; do
    status=$(ctl --endpoints="$(endpoint "$i")" --command-timeout=2s endpoint status -w json 2>/dev/null) || continue
    if [[ $(jq -r '.[0].Status | (.leader == .header.member_id)' <<<"$status") == true ]]; then echo "$i"; return; fi
  done
}

median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

failover() {
  local server=$1 run tag leader start took survivors i
  local -a times=()
  for ((run = 1; run <= RUNS; run++)); do
    tag="$server-f$run"
    for i in 1 2 3; do start_member "$server" "$tag" "$i"; done
    wait_healthy 1 2 3 || { log "$server run $run: cluster did not start (logs in $WORK/logs)"; KEEP=1; return 1; }
    leader=$(leader_index)
    [[ -n "$leader" ]] || { log "$server run $run: no leader"; KEEP=1; return 1; }
    survivors=""
    for i in 1 2 3; do ((i == leader)) || survivors+="${survivors:+,}$(endpoint "$i")"; done
    kill -9 "${PIDS[leader - 1]}"
    start=$(now)
    wait "${PIDS[leader - 1]}" 2>/dev/null || true
    PIDS[leader - 1]=0
    until ctl --endpoints="$survivors" --command-timeout=500ms put timings-failover "$run" >/dev/null 2>&1; do :; done
    took=$(seconds_since "$start")
    times+=("$took")
    echo "$server failover run $run: leader $tag-$leader SIGKILLed, put through the survivors after $took s"
    for i in 0 1 2; do stop_pid "${PIDS[i]}"; PIDS[i]=0; done
  done
  echo "$server failover: median $(printf '%s\n' "${times[@]}" | median) s over $RUNS runs (${times[*]})"
}

catchup() {
  local server=$1 tag="$server-c" lagging leader start took last eps i marker how deadline
  for i in 1 2 3; do start_member "$server" "$tag" "$i"; done
  wait_healthy 1 2 3 || { log "$server: cluster did not start (logs in $WORK/logs)"; KEEP=1; return 1; }
  leader=$(leader_index)
  lagging=$((leader % 3 + 1)) # a follower
  log "$server: stopping follower $tag-$lagging, putting $KEYS keys through the others (snapshot-count $SNAPSHOT_COUNT)"
  stop_pid "${PIDS[lagging - 1]}"
  PIDS[lagging - 1]=0
  eps=""
  for i in 1 2 3; do ((i == lagging)) || eps+="${eps:+,}$(endpoint "$i")"; done
  timeout --foreground 3600 dotnet "$WORK/bench-bin/akka-etcd-benchmark.dll" --endpoints="$eps" --clients=100 --conns=10 \
    --no-progress put --total="$KEYS" --key-size=8 --val-size=256 --sequential-keys --key-space-size="$KEYS" \
    >"$WORK/logs/$tag-load.log" 2>&1 || { log "$server: loading failed: $(tail -n 2 "$WORK/logs/$tag-load.log")"; KEEP=1; return 1; }
  last=$(date +%s%N)
  ctl --endpoints="$eps" --command-timeout=5s put timings-last "$last" >/dev/null
  start=$(now)
  start_member "$server" "$tag" "$lagging"
  deadline=$((SECONDS + 3600))
  until [[ $(ctl --endpoints="$(endpoint "$lagging")" --command-timeout=2s get timings-last --consistency=s --print-value-only 2>/dev/null) == "$last" ]]; do
    ((SECONDS < deadline)) || { log "$server: no catch-up within an hour"; KEEP=1; return 1; }
    sleep 0.1
  done
  took=$(seconds_since "$start")
  if [[ $server == etcd ]]; then marker="finished applying incoming snapshot"; else marker="applied snapshot at raft index"; fi
  if grep -q "$marker" "$WORK/logs/$tag-$lagging.log"; then how="through a snapshot"; else how="from the log (no snapshot applied)"; fi
  echo "$server catch-up: a follower $KEYS keys behind caught up $how in $took s after its restart (start-up included)"
  for i in 0 1 2; do stop_pid "${PIDS[i]}"; PIDS[i]=0; done
}

for server in "${SERVERS[@]}"; do
  "$WHAT" "$server"
done
