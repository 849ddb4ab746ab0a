# put / get / del with etcdctl's range options and output formats (mirrors KvScenarioTests).
step() { echo "\$ $*"; "$@"; echo "rc=$?"; }
for kv in "get/a va" "get/c vc" "get/b vb" "get/a va2" "geu outside"; do step $E put $kv; done
step $E get get/ --prefix
step $E get get/ --prefix --limit 2
step $E get get/ --prefix --keys-only
step $E get get/ --prefix --print-value-only
step $E get get/ --prefix --sort-by MODIFY --order DESCEND
step $E get get/ --prefix --sort-by CREATE --order ASCEND
step $E get get/ --prefix --sort-by VALUE --order DESCEND
step $E get get/ --prefix --sort-by VERSION --order DESCEND --limit 1
step $E get get/ --prefix --order DESCEND
step $E get get/b --from-key --limit 3
step $E get get/a get/c
step $E get get/missing
step $E get get/ --prefix --hex
step $E get get/ --prefix -w json; echo
step $E get get/ --prefix --limit 1 -w fields
step $E get get/ --prefix --keys-only -w json; echo
step $E get get/a --consistency s
# revisions: 2..6 above
step $E put rev/k one
step $E put rev/k two
step $E del rev/k
step $E get rev/k --rev 7
step $E get rev/k --rev 8 -w json; echo
step $E get rev/k
step $E get rev/k --rev 1000
# delete
for k in del/a del/b del/c del/d del/e dem; do step $E put $k v-$k; done
step $E del del/a
step $E del del/a
step $E del del/b del/d --prev-kv
step $E del del/ --prefix --prev-kv -w json; echo
step $E get del/ --prefix
step $E put del/f again
step $E del del/e del/g
step $E get dem
step $E put del/g x --prev-kv
step $E put del/g y --prev-kv
step $E put del/g --ignore-value
step $E get del/g -w fields
step $E get '' --from-key --keys-only
