# endpoint status / health in every output format (mirrors EndpointScenarioTests). Sizes and the leader id are
# masked here (etcd-diff does not mask them); table padding is squeezed.
step() { echo "\$ $*"; "$@"; echo "rc=$?"; }
mask() { sed -E -e 's/\b[0-9a-f]{12,16}\b/HEXID/g' -e 's/[0-9]+(\.[0-9]+)? [kMGT]?B/SIZE/g' -e 's/"(dbSize|dbSizeInUse)":[0-9]+/"\1":SIZE/g' \
  -e 's/"(DBSize|Leader)" : [0-9]+/"\1" : N/' -e 's/ +/ /g' -e 's/-+/-/g'; }
step $E put ep/k v
for w in simple table json fields; do echo "\$ endpoint status -w $w"; $E endpoint status -w $w 2>&1 | mask; echo "rc=${PIPESTATUS[0]}"; done
for w in simple table json; do echo "\$ endpoint health -w $w"; $E endpoint health -w $w 2>&1 | mask; echo "rc=${PIPESTATUS[0]}"; done
echo "\$ curl /health"; curl -s "$ENDPOINT/health"; echo; echo "\$ curl /version"; curl -s "$ENDPOINT/version"; echo
