#!/usr/bin/env bash
# The side-by-side comparison: CellGen, then PyTorch (Debian's python3 with python3-torch, 2 threads), in ROUNDS
# alternating rounds (default 3) so that the machine's drift hits both sides, then the ratio table of the medians.
# Usage: [ROUNDS=N] bench/compare.sh [OUT_DIR]   (needs: apt-get install -y python3-torch libopenblas0-pthread)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/results}
rounds=${ROUNDS:-3}
mkdir -p "$out"
dotnet build -c Release bench/CellGen.Bench > /dev/null
bench="dotnet bench/CellGen.Bench/bin/Release/net10.0/CellGen.Bench.dll"
ours=() torch=()
for round in $(seq 1 "$rounds"); do
    echo "== round $round of $rounds"
    $bench compare --json "$out/cellgen-$round.json"
    /usr/bin/python3 bench/pytorch/baseline.py --json "$out/pytorch-$round.json"
    ours+=("$out/cellgen-$round.json") torch+=("$out/pytorch-$round.json")
done
$bench report "$(IFS=,; echo "${ours[*]}")" "$(IFS=,; echo "${torch[*]}")" | tee "$out/report.md"
