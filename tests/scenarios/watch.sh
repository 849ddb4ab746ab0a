# etcdctl watch (mirrors WatchScenarioTests / WatchCompactionScenarioTests where bash can express it): historical
# --rev watches replay into `timeout 2` (rc=124 when timeout stops the still-running watch), one-shot errors, and
# watches below the compacted revision (etcdctl exits rc=5). Live and interactive watches need waits on output:
# they are only in the C# tests. Revisions: puts at 2, 3, 4, delete at 5, puts at 6, 7, txn at 8, range delete at 9.
step() { echo "\$ $*"; "$@" 2>&1; echo "rc=$?"; }
watch2() { echo "\$ watch $*"; timeout 2 $E watch "$@" 2>&1; echo "rc=$?"; }
step $E put hist/a 1
step $E put hist/b 2
step $E put hist/a 3
step $E del hist/a
step $E put hist/c 4
step $E put hist0 outside
printf 'value("hist/c") = "4"\n\nput tw/a 1\nput tw/b 2\n\n\n' | step $E txn
step $E del tw/ --prefix
watch2 hist/a --rev 1
watch2 hist/a --rev 1 --prev-kv
watch2 hist/ --prefix --rev 3
watch2 hist/a hist/c --rev 1
watch2 hist/ --prefix --rev 2 -w json
watch2 hist/ --prefix --rev 2 --prev-kv -w json
watch2 hist/ --prefix --rev 4 -w fields
watch2 hist/b --rev 1 --hex
watch2 tw/ --prefix --rev 8 --prev-kv -w json
watch2 hist/ --prefix --rev 2 -- sh -c 'echo got $ETCD_WATCH_REVISION $ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY=$ETCD_WATCH_VALUE'
watch2 hist/k --rev 1000
step $E watch </dev/null
step $E watch a b --prefix </dev/null
step $E watch a -- </dev/null
step $E watch --from-key a </dev/null
step $E watch hist/b --rev 3 -w table </dev/null
step $E compaction 4
step $E watch hist/a --rev 2 </dev/null
step $E watch hist/a --rev 3 -w json </dev/null
watch2 hist/a --rev 4
watch2 hist/a --rev 4 --prev-kv
