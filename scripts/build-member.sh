#!/usr/bin/env bash
# Builds the member (src/Node, Release) into OUT_DIR for the scripts that run it (run-member.sh, bench/compare.sh,
# bench/cluster-timings.sh), so that they all run the same thing. On x64 it is a ReadyToRun publish: our assemblies
# and Akka's, gRPC's and Protobuf's are precompiled, so a member starts on about half the CPU of a plain build (here
# 1.1-1.4 s against 2.3-2.8 s until the first put; docs/performance.md, "ReadyToRun"), and tiering still recompiles
# the hot methods, so a request costs the same. The package feed here serves the ReadyToRun compiler for x64 only;
# elsewhere it is a plain build. Run the result with `dotnet OUT_DIR/akka-etcd.dll`.
# usage: scripts/build-member.sh OUT_DIR [more dotnet arguments, e.g. -v quiet -nologo]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -ge 1 ] || { echo "usage: $0 OUT_DIR [dotnet arguments...]" >&2; exit 2; }
out=$1
shift
if [ "$(uname -m)" = x86_64 ]; then
  exec dotnet publish "$root/src/Node/Akka.Etcd.Node.csproj" -c Release -r linux-x64 --self-contained false \
    -p:PublishReadyToRun=true -o "$out" "$@"
fi
exec dotnet build "$root/src/Node/Akka.Etcd.Node.csproj" -c Release -o "$out" "$@"
