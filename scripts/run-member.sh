#!/usr/bin/env bash
# Builds and runs one Akka.Etcd member with etcd's embedded defaults: a single-node cluster serving clients on
# 127.0.0.1:2379 (peers on 127.0.0.1:2380), data in ./default.etcd. Extra arguments are passed on as etcd flags.
# Installs Debian's etcd-client (etcdctl) when missing, so `ETCDCTL_API=3 etcdctl put foo bar` works at once.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

if ! command -v etcdctl >/dev/null 2>&1; then
  echo "installing Debian's etcd-client (etcdctl)"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq etcd-client >/dev/null || echo "could not install etcd-client; the member runs anyway" >&2
fi
command -v dotnet >/dev/null 2>&1 || { echo "the .NET 10 SDK (dotnet) is required" >&2; exit 1; }

bash "$root/scripts/build-member.sh" "$root/artifacts/node" -nologo -clp:ErrorsOnly
# hocon/single.conf: name default, data dir default.etcd (relative to where you run this), 127.0.0.1:2379/2380.
exec dotnet "$root/artifacts/node/akka-etcd.dll" --config "$root/hocon/single.conf" "$@"
