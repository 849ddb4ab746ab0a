# Peer TLS (mirrors PeerTlsTests): the scenario starts a second member of the same server (its command line read from
# the running one) with https peer URLs and --peer-auto-tls, then one with certificates of a CA made with openssl and
# --peer-client-cert-auth; etcdctl sees the https peer URL in member list and reads and writes. Then the start errors:
# https peer URLs without a certificate, and an allowed CN next to an allowed hostname.
tmp=$(mktemp -d /tmp/etcd-diff-peer-tls.XXXX)
step() { echo "\$ $*" | sed "s#$tmp#TMP#g"; "$@" 2>&1 | grep -v 'retrying of unary invoker failed' | sed "s#$tmp#TMP#g"; echo "rc=${PIPESTATUS[0]}"; }
ssl() { openssl "$@" >/dev/null 2>&1; }
cd "$tmp" || exit 1
ssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=scenario-ca"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >member.ext
ssl req -newkey rsa:2048 -nodes -keyout member.key -out member.csr -subj "/CN=member"
ssl x509 -req -in member.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out member.crt -days 2 -extfile member.ext
echo "# certificates made"
pid=$(pgrep -f -- "--data-dir $DATA( |$)" | head -1)
[ -n "$pid" ] || { echo "no server runs with --data-dir $DATA"; exit 1; }
mapfile -d '' argv </proc/$pid/cmdline
cwd=$(readlink /proc/$pid/cwd)
server=(); for a in "${argv[@]}"; do [ "$a" = --name ] && break; [[ $a != /* && -e "$cwd/$a" ]] && a="$cwd/$a"; server+=("$a"); done
port=${ENDPOINT##*:}; client=$((port + 210)); peer=$((port + 211))
start() { # name flags...
  local name=$1; shift
  "${server[@]}" --name $name --data-dir "$tmp/$name.data" --listen-client-urls http://127.0.0.1:$client \
    --advertise-client-urls http://127.0.0.1:$client --listen-peer-urls https://127.0.0.1:$peer \
    --initial-advertise-peer-urls https://127.0.0.1:$peer --initial-cluster $name=https://127.0.0.1:$peer "$@" >"$tmp/$name.log" 2>&1 &
  member=$!
}
up() { for _ in $(seq 1 150); do "$@" --command-timeout=1s endpoint health >/dev/null 2>&1 && return 0; sleep 0.2; done; echo "member did not start"; }
C="etcdctl --endpoints=http://127.0.0.1:$client"
start p1 --peer-auto-tls
up $C
step $C put peer/a 1
step $C get peer/a
step $C member list -w simple
step ls p1.data/fixtures/peer
kill $member; wait $member 2>/dev/null
start p2 --peer-cert-file member.crt --peer-key-file member.key --peer-trusted-ca-file ca.crt --peer-client-cert-auth --peer-cert-allowed-cn member
up $C
step $C put peer/b 2
step $C get peer/ --prefix
kill $member; wait $member 2>/dev/null
# https peer URLs without a certificate are refused at start
start p3
wait $member; echo "exit=$?"
grep -o 'cannot listen on TLS for [^"]*KeyFile and CertFile are not presented' p3.log | sed "s#127.0.0.1:[0-9]*#ADDR#" | head -1
# an allowed CN and an allowed hostname together are refused at start
start p4 --peer-cert-file member.crt --peer-key-file member.key --peer-cert-allowed-cn a --peer-cert-allowed-hostname b
wait $member; echo "exit=$?"
grep -o 'AllowedCN and AllowedHostname are mutually exclusive (cn=\\\?"a\\\?", hostname=\\\?"b\\\?")' p4.log | tr -d '\\' | head -1
cd /; rm -rf "$tmp"
