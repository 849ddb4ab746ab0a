# Client TLS (mirrors TlsScenarioTests): the scenario makes a CA, a server certificate and client certificates with
# openssl, then starts a second member of the same server (its command line read from the running one) with
# https and http client URLs side by side, --client-cert-auth and --trusted-ca-file; etcdctl talks to it with
# --cacert/--cert/--key and --insecure-skip-tls-verify, is refused without a certificate or with one of another CA,
# and, with auth on, runs as the certificate's CommonName. Then a member with --auto-tls.
tmp=$(mktemp -d /tmp/etcd-diff-tls.XXXX)
step() { echo "\$ $*" | sed "s#$tmp#TMP#g"; "$@" 2>&1 | grep -v 'retrying of unary invoker failed' | sed "s#$tmp#TMP#g"; echo "rc=${PIPESTATUS[0]}"; }
ssl() { openssl "$@" >/dev/null 2>&1; }
cd "$tmp" || exit 1
ssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=scenario-ca"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >server.ext
printf 'extendedKeyUsage=clientAuth\n' >client.ext
ssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=server"
ssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext
for user in root alice; do
  ssl req -newkey rsa:2048 -nodes -keyout $user.key -out $user.csr -subj "/CN=$user"
  ssl x509 -req -in $user.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $user.crt -days 2 -extfile client.ext
done
ssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -days 2 -subj "/CN=root"
echo "# certificates made"
# the server under test: the command line of the member this scenario was started against, up to its flags
pid=$(pgrep -f -- "--data-dir $DATA( |$)" | head -1)
[ -n "$pid" ] || { echo "no server runs with --data-dir $DATA"; exit 1; }
mapfile -d '' argv </proc/$pid/cmdline
cwd=$(readlink /proc/$pid/cwd)
# relative paths on that command line (e.g. src/Node/bin/.../akka-etcd.dll) are relative to its directory, not ours
server=(); for a in "${argv[@]}"; do [ "$a" = --name ] && break; [[ $a != /* && -e "$cwd/$a" ]] && a="$cwd/$a"; server+=("$a"); done
port=${ENDPOINT##*:}; tls=$((port + 200)); plain=$((port + 201)); peer=$((port + 202))
start() { # name flags...
  local name=$1; shift
  "${server[@]}" --name $name --data-dir "$tmp/$name.data" --listen-peer-urls http://127.0.0.1:$peer \
    --initial-advertise-peer-urls http://127.0.0.1:$peer --initial-cluster $name=http://127.0.0.1:$peer "$@" >"$tmp/$name.log" 2>&1 &
  member=$!
}
up() { for _ in $(seq 1 150); do "$@" --command-timeout=1s endpoint health >/dev/null 2>&1 && return 0; sleep 0.2; done; echo "member did not start"; }
start t1 --listen-client-urls https://127.0.0.1:$tls,http://127.0.0.1:$plain --advertise-client-urls https://127.0.0.1:$tls \
  --cert-file server.crt --key-file server.key --trusted-ca-file ca.crt --client-cert-auth
S="etcdctl --endpoints=https://127.0.0.1:$tls"
P="etcdctl --endpoints=http://127.0.0.1:$plain"
up $S --cacert ca.crt --cert root.crt --key root.key
step $S --cacert ca.crt --cert root.crt --key root.key put tls/a 1
step $S --cacert ca.crt --cert alice.crt --key alice.key get tls/a
step $S --insecure-skip-tls-verify --cert alice.crt --key alice.key get tls/a -w json
step $P put tls/b 2
step $P get tls/ --prefix
step $S --cacert ca.crt --command-timeout=2s get tls/a
step $S --cacert ca.crt --cert other.crt --key other.key --command-timeout=2s get tls/a
step $S --command-timeout=2s --cert alice.crt --key alice.key get tls/a
step curl -s --cacert ca.crt --cert alice.crt --key alice.key https://127.0.0.1:$tls/version
step curl -s --http1.1 --cacert ca.crt --cert alice.crt --key alice.key https://127.0.0.1:$tls/version
# users by certificate: root's certificate is root, alice's is alice
A="$S --cacert ca.crt --cert alice.crt --key alice.key"
R="$S --cacert ca.crt --cert root.crt --key root.key"
step $R user add root:rootpw
step $R user grant-role root root
step $R user add alice:alicepw
step $R role add tls-reader
step $R role grant-permission tls-reader read tls/ --prefix
step $R user grant-role alice tls-reader
step $R auth enable
step $A get tls/ --prefix
step $A put tls/c 3
step $A user list
step $R user list
step $R put tls/c 3
step $A --user root:rootpw put tls/d 4
step $A --user alice:wrong get tls/a
step $P get tls/a
step $P --user alice:alicepw get tls/a
step $P --user alice:alicepw put tls/e 5
watchA() { echo "\$ watch $*"; timeout 2 $A watch "$@" 2>&1 | grep -v 'retrying of unary'; echo "rc=${PIPESTATUS[0]}"; }
watchA tls/ --prefix --rev 1
watchA other --rev 1
step $R auth disable
step $A put tls/f 6
kill $member; wait $member 2>/dev/null
# --auto-tls: a self-signed certificate made at start, trusted by nobody
start t2 --listen-client-urls https://127.0.0.1:$tls --advertise-client-urls https://127.0.0.1:$tls --auto-tls
# etcdctl 3.4 only uses TLS without certificates of its own when told --insecure-transport=false
up $S --insecure-transport=false --insecure-skip-tls-verify
step $S --insecure-transport=false --insecure-skip-tls-verify put auto 1
step $S --insecure-transport=false --insecure-skip-tls-verify get auto
step $S --insecure-transport=false --command-timeout=2s get auto
step ls t2.data/fixtures/client
kill $member; wait $member 2>/dev/null
# an https URL without a certificate is refused at start
start t3 --listen-client-urls https://127.0.0.1:$tls --advertise-client-urls https://127.0.0.1:$tls
wait $member; echo "exit=$?"
grep -o 'TLS key/cert (--cert-file, --key-file) must be provided for client url [^"]*' t3.log | sed "s#127.0.0.1:[0-9]*#ADDR#" | head -1
cd /; rm -rf "$tmp"
