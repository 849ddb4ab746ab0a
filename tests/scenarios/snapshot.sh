# snapshot save / status / restore with etcdctl (mirrors SnapshotScenarioTests): etcdctl's own code must take our
# member's snapshot exactly as it takes etcd's. Revisions: puts at 2, 3, 4, delete at 5, leased put at 6, compaction at
# 3, put at 7. Masked here (etcd-diff does not mask them): zap's epoch timestamps and "took" seconds, the temp dir,
# db sizes and the status hash (both files hold the same keys, but the member's consistent index, its members' JSON
# and the page layout differ), and the byte lists of a sha256 mismatch (they are the two files' digests).
tmp=$(mktemp -d /tmp/etcd-diff-snapshot.XXXX)
mask() { sed -E -e 's/"ts":[0-9.e+]+/"ts":T/g' -e 's/"took":[0-9.e+-]+/"took":T/g' -e "s#$tmp#TMP#g" \
  -e 's/"size":"[0-9.]+ [kMG]?B"/"size":"SIZE"/g' -e 's/[0-9.]+ [kMG]?B\b/SIZE/g' -e 's/"(hash|totalSize)":[0-9]+/"\1":N/g' \
  -e 's/"(Hash|Size)" : [0-9]+/"\1" : N/' -e 's/^[0-9a-f]{1,8}, /HASH, /' -e 's/\| [0-9a-f]{1,8} \|/| HASH |/' -e '/^[+|]/s/ +/ /g' -e '/^\+/s/-+/-/g' \
  -e 's/expected sha256 \[[0-9 ]+\], got \[[0-9 ]+\]/expected sha256 [DIGEST], got [DIGEST]/'; }
step() { echo "\$ $*" | mask; "$@" 2>&1 | mask; echo "rc=${PIPESTATUS[0]}"; }
step $E put snap/a 1
step $E put snap/b 2
step $E put snap/a 3
step $E del snap/b
L=$($E lease grant 600 | awk '{print $2}'); echo "# granted L with TTL 600"
step $E put snap/c 4 --lease=$L
step $E compaction 3
step $E put snap/d 5
step $E snapshot save $tmp/s.db
for w in simple json table fields protobuf; do step $E snapshot status $tmp/s.db -w $w; done
step $E snapshot status $tmp/missing.db
step $E snapshot status
step $E snapshot restore $tmp/s.db --name r1 --data-dir $tmp/r1 --initial-cluster r1=http://127.0.0.1:23890 \
  --initial-advertise-peer-urls http://127.0.0.1:23890 --initial-cluster-token snap-token
step ls $tmp/r1/member/snap $tmp/r1/member/wal
step $E snapshot status $tmp/r1/member/snap/db -w json
step $E snapshot restore $tmp/s.db --name r1 --data-dir $tmp/r1 --initial-cluster r1=http://127.0.0.1:23890 \
  --initial-advertise-peer-urls http://127.0.0.1:23890
step $E snapshot restore $tmp/s.db --name r2 --data-dir $tmp/r2 --initial-cluster r1=http://127.0.0.1:23890
# a three-member restore from the one file, as etcd documents it
for m in 1 2 3; do
  step $E snapshot restore $tmp/s.db --name m$m --data-dir $tmp/c$m --initial-cluster-token snap-cluster \
    --initial-cluster m1=http://127.0.0.1:23891,m2=http://127.0.0.1:23892,m3=http://127.0.0.1:23893 \
    --initial-advertise-peer-urls http://127.0.0.1:2389$m
done
# a damaged digest, a missing digest, and a missing digest accepted with --skip-hash-check
cp $tmp/s.db $tmp/bad.db; printf '\001' | dd of=$tmp/bad.db bs=1 seek=100 conv=notrunc 2>/dev/null
step $E snapshot restore $tmp/bad.db --data-dir $tmp/bad
size=$(stat -c %s $tmp/s.db); head -c $((size - 32)) $tmp/s.db >$tmp/bare.db
step $E snapshot restore $tmp/bare.db --data-dir $tmp/bare
step $E snapshot restore $tmp/bare.db --data-dir $tmp/bare2 --skip-hash-check
step ls $tmp
rm -rf "$tmp"
