#!/usr/bin/env bash
# Our products against torch.mm (OpenBLAS) at the same shapes, in ROUNDS alternating rounds (default 3): each round
# runs `CellGen.Bench gemm` and then bench/pytorch/gemm.py at every shape; the table gives each product's median rate
# over the rounds (GFLOP/s, from each run's median) and ours as a share of torch.mm's.
# Usage: [ROUNDS=N] bench/gemm.sh [ROWS K N ...]   (default: 6400 512 2048 and 1600 512 1024)
# Extra environment goes to both sides, e.g. DOTNET_EnableAVX512=0 OPENBLAS_CORETYPE=Zen for the AVX2 kernels of both.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
shapes=("$@")
[ ${#shapes[@]} -eq 0 ] && shapes=(6400 512 2048 1600 512 1024)
dotnet build -c Release bench/CellGen.Bench > /dev/null
bench="dotnet bench/CellGen.Bench/bin/Release/net10.0/CellGen.Bench.dll"
log=$(mktemp)
for round in $(seq 1 "$rounds"); do
    for ((i = 0; i < ${#shapes[@]}; i += 3)); do
        shape="${shapes[i]} ${shapes[i+1]} ${shapes[i+2]}"
        $bench gemm $shape | sed "s/^/ours /" | tee -a "$log"
        /usr/bin/python3 bench/pytorch/gemm.py $shape | sed "s/^/torch /" | tee -a "$log"
    done
done
# Lines: "<side>   [R, K] x [K, N] [torch.mm] <product...> <us> us <rate> GFLOP/s best <rate> GFLOP/s"
python3 - "$log" <<'PY'
import re, statistics, sys
rates = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\w+)\s+(\[.*?\] x \[.*?\])\s+(?:torch\.mm )?(.*?)\s+[\d.]+ us\s+([\d.]+) GFLOP/s", line)
    if m:
        rates.setdefault((m[2], m[3].strip(), m[1]), []).append(float(m[4]))
pairs = {"forward": "forward", "forward packed": "forward", "backward data wT": "backward data", "backward weights": "backward weights"}
print("\n| shape | product | ours GFLOP/s | torch.mm GFLOP/s | ours / torch.mm |\n| --- | --- | ---: | ---: | ---: |")
for (shape, product, side), values in sorted(rates.items()):
    if side != "ours" or product not in pairs: continue
    theirs = rates.get((shape, pairs[product], "torch"))
    if not theirs: continue
    a, b = statistics.median(values), statistics.median(theirs)
    print(f"| {shape} | {product} | {a:.1f} | {b:.1f} | {a / b:.0%} |")
PY
rm -f "$log"
