# leases with etcdctl (mirrors LeaseScenarioTests' transcript scenarios). Lease IDs are masked by etcd-diff (16 hex
# digits); decimal lease IDs in JSON and remaining TTLs are masked here; etcd lists a lease's keys in Go map order, so
# the simple --keys output is sorted here (its JSON form is left to LeaseScenarioTests, which sorts it). Revisions: puts at 2..5, 6, 7, revoke at 8, put at 9.
step() { echo "\$ $*"; "$@"; echo "rc=$?"; }
mask() { sed -E -e 's/"lease":[0-9]+/"lease":LEASE/g' -e 's/"ttl":[0-9]+/"ttl":TTL/g' \
  -e 's/attached keys\(\[([^]]*)\]\)/attached keys([SORTED \1])/' | awk '/SORTED/ { match($0, /\[SORTED [^]]*\]/);
  n = split(substr($0, RSTART + 8, RLENGTH - 9), k, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (k[j] < k[i]) { t = k[i]; k[i] = k[j]; k[j] = t }
  s = ""; for (i = 1; i <= n; i++) s = s (i > 1 ? " " : "") k[i]; $0 = substr($0, 1, RSTART - 1) "[" s "]" substr($0, RSTART + RLENGTH) } { print }'; }
grant() { $E lease grant "$1" | awk '{print $2}'; }
M=$(grant 1); echo "# granted M with TTL 1 (raised to the 2 s minimum)"
step $E lease timetolive $M -w json | mask; echo
step $E lease revoke $M
A=$(grant 60); B=$(grant 30); echo "# granted A and B with TTL 60 and 30"
step $E lease list | sed -E 's/^[0-9a-f]{16}$/HEXID/'
step $E put lease/a 1 --lease=$A
step $E put lease/b 2 --lease=$A
step $E put lease/c 3
step $E put lease/d 4 --lease=$B
step $E lease timetolive $A --keys | mask
step $E lease timetolive $A -w json | mask; echo
step $E lease keep-alive --once $A
step $E put lease/a 1b
step $E put lease/b 2b --lease=$B
step $E lease timetolive $A --keys | mask
step $E lease timetolive $B --keys | mask
step $E get lease/ --prefix -w json | mask; echo
step $E lease revoke $B -w json; echo
step $E get lease/ --prefix -w json | mask; echo
step $E lease revoke $B
step $E lease timetolive $B
step $E lease keep-alive --once $B
step $E lease keep-alive $B
step $E put lease/e v --lease=$B
step $E put lease/e v --lease=abcdef
step $E lease grant 9000000001
step $E put lease/c 3b -w json; echo
step $E lease revoke $A -w json; echo
step $E lease list
