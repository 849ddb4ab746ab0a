# EXTRA_FLAGS: --quota-backend-bytes=16777216
# quota, NOSPACE and recovery, as an operator runs it (run-all.sh passes the EXTRA_FLAGS line above to etcd-diff):
# fill the backend until a put is refused, look at the alarm, compact, defragment, disarm, write again.
# The number of puts that fit differs between servers (page layouts differ), so only the refusal is printed;
# member IDs (decimal), revisions and db sizes are masked.
step() { echo "\$ $*"; "$@" 2>&1 | sed -E -e 's/memberID:[0-9]+/memberID:N/g' -e 's/revision [0-9]+/revision N/'; echo "rc=${PIPESTATUS[0]}"; }
value=$(mktemp); head -c 600000 /dev/urandom | base64 -w0 >"$value"
echo "\$ put quota/big until refused"
for i in $(seq 1 200); do
  if ! out=$($E put quota/big <"$value" 2>&1); then echo "$out" | grep -o 'Error: .*'; break; fi
done
step $E alarm list
step $E put quota/small v
step $E get quota/small
step $E del quota/nothing
step $E endpoint status -w json >/dev/null
rev=$($E get quota/big -w json | grep -o '"revision":[0-9]*' | head -1 | cut -d: -f2)
echo "\$ etcdctl compaction --physical REV"; $E compaction --physical "$rev" 2>&1 | sed -E 's/revision [0-9]+/revision N/'; echo "rc=${PIPESTATUS[0]}"
step $E defrag
step $E put quota/small v
step $E alarm disarm
step $E alarm list
step $E put quota/small v
step $E get quota/small
step $E get quota/big --keys-only
rm -f "$value"
