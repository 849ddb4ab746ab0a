#!/usr/bin/env bash
# Runs N seeds of the simulation on the production actors (tests/Actors.Tests/Simulation/Production) and prints the
# seeds, the operations checked, the violations and the slowest seed.
#   bash scripts/simulate.sh [N=500] [FIRST_SEED=0]
# A failing seed replays exactly from its number:
#   AKKA_ETCD_SIM_SEED=<seed> dotnet test tests/Actors.Tests -c Release \
#     --filter "FullyQualifiedName~ProductionSimulationReplayTests" --logger "console;verbosity=detailed"
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-500}
first=${2:-0}
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

dotnet build tests/Actors.Tests -c Release -nologo -clp:ErrorsOnly
started=$(date +%s)
set +e
AKKA_ETCD_PSIM_SEEDS=$count AKKA_ETCD_PSIM_FIRST_SEED=$first dotnet test tests/Actors.Tests -c Release --no-build -nologo \
  --filter "FullyQualifiedName~Simulation.Production.ProductionSimulationSeedTests|FullyQualifiedName~Simulation.Production.ProductionSimulationOddSeedTests" \
  --logger "trx;LogFileName=seeds.trx" --logger "console;verbosity=normal" --results-directory "$results" >"$results/test.log" 2>&1
rc=$?
set -e
elapsed=$(( $(date +%s) - started ))
python3 - "$results/seeds.trx" "$count" "$first" "$elapsed" "$results/test.log" <<'PY'
import os, re, sys, xml.etree.ElementTree as ET
path, count, first, elapsed, log = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
if not os.path.exists(path):
    # The run was stopped (dotnet test killed): count what the console logger reported so far.
    done = re.findall(r"^\s+(Passed|Failed)\s.*\(seed: (-?\d+)\)", open(log, errors="replace").read(), re.M)
    failed = sorted(int(s) for o, s in done if o == "Failed")
    print(f"seeds {first}..{first + count - 1}: interrupted after {elapsed} s wall with {len(done)} seeds run "
          f"({len(done) / max(elapsed, 1):.2f} seeds/s), {len(failed)} failed" + (f": {', '.join(map(str, failed))}" if failed else ""))
    sys.exit(0)
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
root = ET.parse(path).getroot()
runs, failed, ops, unknown, violations = [], [], 0, 0, 0
def seconds(d):
    h, m, s = d.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)
for r in root.iterfind(".//t:UnitTestResult", ns):
    seed = int(re.search(r"seed: (-?\d+)", r.get("testName")).group(1))
    out = r.find("t:Output/t:StdOut", ns)
    text = out.text if out is not None and out.text else ""
    m = re.search(r"ops=(\d+) unknown=(\d+).*violations=(\d+)", text)
    if m:
        ops += int(m.group(1)); unknown += int(m.group(2)); violations += int(m.group(3))
    runs.append((seconds(r.get("duration")), seed))
    if r.get("outcome") != "Passed":
        failed.append(seed)
        if not m:
            violations += 1
runs.sort(reverse=True)
print(f"seeds {first}..{first + count - 1}: {len(runs)} run in {elapsed} s wall, {len(runs) - len(failed)} passed, {len(failed)} failed")
print(f"operations checked: {ops} ({unknown} with unknown outcome)")
print(f"violations: {violations}" + (f" (failing seeds: {', '.join(map(str, sorted(failed)))})" if failed else ""))
if runs:
    print(f"slowest seed: {runs[0][1]} ({runs[0][0]:.2f} s); mean {sum(d for d, _ in runs) / len(runs):.2f} s per seed")
PY
if [ "$rc" -ne 0 ]; then
  grep -E "^\s+seed [0-9]+: [0-9]+ violation|VIOLATION|replay:" "$results/test.log" | head -40 || true
fi
exit "$rc"
