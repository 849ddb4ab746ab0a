# compaction and reads below it (mirrors CompactionScenarioTests). Revisions: puts at 2, 3, 4, 5, delete at 6.
step() { echo "\$ $*"; "$@"; echo "rc=$?"; }
step $E put cmp/k v1
step $E put cmp/k v2
step $E put cmp/k v3
step $E put cmp/other o1
step $E del cmp/other
step $E compaction 3
step $E get cmp/k --rev 2
step $E get cmp/k --rev 3
step $E get cmp/k --rev 4
step $E get cmp/ --prefix -w json; echo
step $E compaction 3
step $E compaction 2
step $E compaction 1004
step $E compaction --physical 4
step $E get cmp/k --rev 3
step $E get cmp/k --rev 4
step $E get cmp/other --rev 5
