# Request errors: empty key, unknown lease, oversize value, future revision (mirrors KvScenarioTests).
step() { echo "\$ $*"; "$@"; echo "rc=$?"; }
step $E put '' x
step $E get ''
step $E del ''
step $E put err/leased x --lease=1234abcd
step $E get err/leased
echo "\$ put err/big <1.6 MiB from stdin>"; head -c 1638400 /dev/zero | tr '\0' a | $E put err/big; echo "rc=$?"
echo "\$ put err/fits <1 MiB from stdin>"; head -c 1048576 /dev/zero | tr '\0' b | $E put err/fits; echo "rc=$?"
step $E get err/ --prefix --keys-only
step $E get err/fits --rev 100
