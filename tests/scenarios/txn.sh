# etcdctl txn from stdin: compares, branches, limits (mirrors TxnScenarioTests).
step() { echo "\$ $*"; "$@"; echo "rc=$?"; }
txn() { local input=$1; shift; echo "\$ txn $* <<< $(printf %q "$input")"; printf '%s' "$input" | $E txn "$@"; echo "rc=$?"; }
step $E put txn/a 1
step $E put txn/a 2
step $E put txn/b bee
txn $'value("txn/a") = "2"\nversion("txn/a") = "2"\nmod("txn/b") > "0"\n\nput txn/c yes\nget txn/a\ndel txn/b\n\nput txn/c no\n\n'
txn $'value("txn/a") = "2"\ncreate("txn/b") > "0"\n\nput txn/d yes\n\nput txn/d no\nget txn/c\n\n'
txn $'version("txn/missing") = "0"\n\nput txn/e created\n\n\n' -w json; echo
txn $'value("txn/a") != "2"\n\n\nget txn/ --prefix --keys-only\n\n'
txn $'value("txn/a") < "3"\n\nget txn/c\n\n\n' -w fields
step $E get txn/ --prefix
puts() { printf '\n'; for i in $(seq -f '%03g' 0 $(($2 - 1))); do printf 'put %s%s v\n' "$1" "$i"; done; printf '\n\n'; }
echo "\$ txn <<< 129 puts"; puts ops/over/ 129 | $E txn; echo "rc=$?"
echo "\$ txn <<< 128 puts"; puts ops/max/ 128 | $E txn | sort | uniq -c; echo "rc=$?"
step $E get ops/ --prefix --keys-only --limit 1 -w json; echo
txn $'\nput ops/dup a\nput ops/dup b\n\n\n'
txn $'\nput ops/dup2 a\ndel ops/dup2\n\n\n'
txn $'\nput ops/range/a a\ndel ops/range/ ops/range0\n\n\n'
txn $'\nget ops/dup3\nput ops/dup3 a\n\n\n'
step $E get ops/dup --prefix
