# etcdctl users, roles and permissions (mirrors AuthScenarioTests): setup as root-less admin, auth enable, then per
# user allowed and denied get/put/del/txn/watch/lease, management refused to non-root, one key short of a range,
# token-less calls, auth disable. Revisions: every write is listed, so transcripts match exactly.
step() { echo "\$ $*"; "$@" 2>&1 | grep -v 'retrying of unary invoker failed'; echo "rc=${PIPESTATUS[0]}"; }
txn() { local input=$1; shift; echo "\$ txn $* <<< $(printf %q "$input")"; printf '%s' "$input" | $E txn "$@" 2>&1 | grep -v 'retrying of unary'; echo "rc=${PIPESTATUS[1]}"; }
watch2() { echo "\$ watch $*"; timeout 2 $E watch "$@" 2>&1 | grep -v 'retrying of unary'; echo "rc=${PIPESTATUS[0]}"; }
step $E auth enable
step $E user add root:rootpw
step $E user add root:again
step $E user add ""
step $E role add ""
step $E auth enable
step $E role add reader
step $E role add writer
step $E role add reader
step $E role grant-permission reader read app/ --prefix
step $E role grant-permission writer readwrite app/w/ --prefix
step $E role grant-permission writer write app/single
step $E role grant-permission writer read app/r/a app/r/m
step $E role grant-permission nobody read x
step $E role get reader
step $E role get writer
step $E role list
step $E user add alice:alicepw
step $E user add bob:bobpw
step $E user grant-role alice reader
step $E user grant-role bob writer
step $E user grant-role bob reader
step $E user grant-role bob missing
step $E user grant-role nobody reader
step $E user get bob
step $E user list
step $E put app/w/x 1
step $E put app/r/a 2
step $E put other 3
step $E auth enable
step $E auth enable
# without credentials
step $E get app/w/x
step $E put app/w/x 9
step $E user list
step $E --user root:wrong get app/w/x
step $E --user nobody:pw get app/w/x
# alice reads app/
step $E --user alice:alicepw get app/ --prefix
step $E --user alice:alicepw get app/w/x
step $E --user alice:alicepw get other
step $E --user alice:alicepw get "" --from-key
step $E --user alice:alicepw put app/w/x 5
step $E --user alice:alicepw del app/w/x
step $E --user alice:alicepw user list
step $E --user alice:alicepw user get alice
step $E --user alice:alicepw user get bob
step $E --user alice:alicepw role get reader
step $E --user alice:alicepw role get writer
step $E --user alice:alicepw auth disable
step $E --user alice:alicepw role add sneaky
# bob writes app/w/ and app/single, reads app/ and app/r/[a,m)
step $E --user bob:bobpw put app/w/y 6
step $E --user bob:bobpw put app/single 7
step $E --user bob:bobpw put app/singlex 8
step $E --user bob:bobpw put app/r/a 9
step $E --user bob:bobpw get app/r/a app/r/m
step $E --user bob:bobpw get app/w/ --prefix
step $E --user bob:bobpw del app/w/y
step $E --user bob:bobpw del app/w/ --prefix
step $E --user bob:bobpw del app/ --prefix
step $E --user bob:bobpw del app/single --prev-kv
step $E --user bob:bobpw put app/w/z 10 --prev-kv
txn $'value("app/w/x") = "1"\n\nput app/w/t yes\n\nput app/w/t no\n\n' --user bob:bobpw
txn $'value("other") = "3"\n\nput app/w/t yes\n\n\n' --user bob:bobpw
txn $'value("app/w/x") = "1"\n\nput other no\n\n\n' --user bob:bobpw
txn $'value("app/w/x") = "1"\n\nget app/r/a\n\nget other\n\n' --user bob:bobpw
txn $'\n\nget app/r/a\n\n\n' --user alice:alicepw
step $E --user alice:alicepw put app/r/a 11
# one key short of a range: [app/r/a, app/r/m) is granted, [app/r/a, app/r/n) is not
step $E --user root:rootpw role grant-permission reader read zone/a zone/m
step $E --user root:rootpw user revoke-role bob reader
step $E --user bob:bobpw get app/r/a app/r/n
step $E --user bob:bobpw get app/r/a app/r/m
step $E --user bob:bobpw get app/r/ --prefix
# watches
watch2 --user alice:alicepw app/ --prefix --rev 1
watch2 --user alice:alicepw other --rev 1
watch2 --user bob:bobpw app/r/a app/r/n --rev 1
watch2 app/w/x --rev 1
# leases: a lease with a key bob cannot write cannot be revoked by bob, nor its key moved to it
L=$($E --user root:rootpw lease grant 600 | awk '{print $2}'); echo "# granted L with TTL 600"
step $E --user root:rootpw put other 12 --lease=$L
step $E --user bob:bobpw lease revoke $L
step $E --user bob:bobpw put app/w/l 13 --lease=$L
step $E --user bob:bobpw lease timetolive $L
M=$($E --user bob:bobpw lease grant 600 | awk '{print $2}'); echo "# bob granted M with TTL 600"
step $E --user bob:bobpw put app/w/m 14 --lease=$M
step $E --user bob:bobpw lease revoke $M
step $E --user bob:bobpw get app/w/m
step $E --user root:rootpw lease revoke $L
# maintenance and membership need root
step $E --user bob:bobpw defrag
step $E --user root:rootpw defrag
step $E --user bob:bobpw endpoint hashkv
step $E --user bob:bobpw member add m9 --peer-urls=http://127.0.0.1:23999
step $E --user bob:bobpw endpoint status -w json
step $E --user bob:bobpw compaction 3
# the root rules
step $E --user root:rootpw user delete root
step $E --user root:rootpw user revoke-role root root
step $E --user root:rootpw role delete root
step $E --user root:rootpw user revoke-role bob reader
step $E --user root:rootpw role revoke-permission writer app/single
step $E --user root:rootpw role revoke-permission writer app/single
step $E --user bob:bobpw put app/single 15
step $E --user root:rootpw user passwd bob --interactive=false <<<"newpw"
step $E --user bob:bobpw get app/w/x
step $E --user bob:newpw get app/w/x
step $E --user root:rootpw role delete writer
step $E --user bob:newpw get app/w/x
step $E --user root:rootpw user get bob
step $E --user root:rootpw user delete alice
step $E --user alice:alicepw get app/w/x
step $E --user root:rootpw user list
step $E --user root:rootpw role list
step $E --user root:rootpw auth disable
step $E auth disable
step $E get "" --from-key
step $E user list
step $E user delete root
step $E user list
