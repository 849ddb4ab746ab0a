#!/usr/bin/env bash
# Runs every test of Akka.Etcd (unit, simulation, end-to-end with the real etcdctl and etcd 3.4).
# Installs what it needs when missing: Debian's etcd-client (etcdctl), etcd-server (the reference etcd), curl (the JSON
# gateway's comparisons) and chromium (the headless browser of the dashboard test).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian's ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v dotnet >/dev/null 2>&1 || { echo "the .NET 10 SDK (dotnet) is required" >&2; exit 1; }

dotnet build Akka.Etcd.sln -c Release -nologo -clp:ErrorsOnly
log=$(mktemp)
set +e
dotnet test Akka.Etcd.sln -c Release --no-build -nologo "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# One summary line for CI: "N passed, N failed" summed over the test projects.
awk '/^(Passed|Failed)!/ { for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
exit "$rc"
