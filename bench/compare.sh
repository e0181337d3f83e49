#!/usr/bin/env bash
# The side-by-side comparison in one run: CellGen, then PyTorch (Debian's python3 with python3-torch, 2 threads),
# then the ratio table. Usage: bench/compare.sh [OUT_DIR]   (needs: apt-get install -y python3-torch libopenblas0-pthread)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/results}
mkdir -p "$out"
dotnet run -c Release --project bench/CellGen.Bench -- compare --json "$out/cellgen.json"
/usr/bin/python3 bench/pytorch/baseline.py --json "$out/pytorch.json"
dotnet run -c Release --project bench/CellGen.Bench -- report "$out/cellgen.json" "$out/pytorch.json" | tee "$out/report.md"
