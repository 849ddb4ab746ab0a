#!/usr/bin/env bash
# Runs every scenario in this folder through etcd-diff against SERVER_COMMAND (default: our built member).
# Usage: tests/scenarios/run-all.sh [SERVER_COMMAND ARGS...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || set -- dotnet "$here/../../src/Node/bin/Debug/net10.0/akka-etcd.dll"
failed=0
for scenario in "$here"/*.sh; do
  [ "$(basename "$scenario")" = run-all.sh ] && continue
  echo "=== $(basename "$scenario")"
  # A script may name the server flags it needs on a line "# EXTRA_FLAGS: ..." (e.g. a small quota).
  extra=$(sed -n 's/^# EXTRA_FLAGS: //p' "$scenario" | head -1)
  EXTRA_FLAGS="$extra" /work/shared/tools/etcd-diff "$scenario" -- "$@" || failed=$((failed + 1))
done
echo "scenarios with differences: $failed"
[ $failed -eq 0 ]
