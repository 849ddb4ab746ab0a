#!/usr/bin/env bash
# Runs every test of Akka.Etcd (unit, simulation, end-to-end with the real etcdctl and etcd 3.4).
# Installs what it needs when missing: Debian's etcd-client (etcdctl) and etcd-server (the reference etcd).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v etcdctl >/dev/null 2>&1 || ! command -v etcd >/dev/null 2>&1; then
  echo "installing Debian's etcd-client and etcd-server (etcdctl and the reference etcd 3.4)"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq etcd-client etcd-server >/dev/null
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
