#!/usr/bin/env bash
# Where each case's forward pass spends the cores: `perf record` (software clock; .NET names its compiled methods
# through DOTNET_PerfMapEnabled) on `CellGen.Bench profile CASE forward`, after the process's set-up and warm-up, then
# the samples sorted into products, packing, sweeps, hand-offs and waiting (the two threads spin while they wait, so an
# idle core shows there), and the rest. One markdown row per case.
# Usage: [SECONDS_PER_CASE=6] bench/profile.sh [CASE ...]   (default: rnn, lstm, gru, peephole at b1-h128, b32-h256, b64-h512)
# Extra environment goes to the runs, e.g. DOTNET_EnableAVX512=0 for the AVX2 path.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${SECONDS_PER_CASE:-6}
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
    for config in b1-h128 b32-h256 b64-h512; do
        for cell in rnn lstm gru peephole; do cases+=("$cell/$config"); done
    done
fi
command -v perf > /dev/null || { echo "perf is not installed (apt-get install -y linux-perf)" >&2; exit 1; }
dotnet build -c Release bench/CellGen.Bench > /dev/null
bench="dotnet bench/CellGen.Bench/bin/Release/net10.0/CellGen.Bench.dll"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| case | ms per pass | products | packing | sweeps | hand-offs and waiting | other |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for case in "${cases[@]}"; do
    # The first 3 s hold the start-up, the set-up and the profile command's one-second warm-up: not sampled.
    DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 perf record -q -F 999 -e cpu-clock -D 3000 -o "$work/perf.data" \
        $bench profile "$case" forward $((seconds + 3)) > "$work/out.txt" 2> /dev/null
    perf report -i "$work/perf.data" --no-children --sort dso,sym --stdio -g none 2> /dev/null > "$work/report.txt"
    python3 - "$case" "$work/out.txt" "$work/report.txt" <<'PY'
import re, sys
case, out, report = sys.argv[1:4]
ms = re.search(r"([\d.]+) ms each", open(out).read())[1]
# Each sampled symbol in one category, by its name; what matches none is "other" (the set-up outside the sampled
# window, the runner's own loop, the GC).
categories = [
    ("packing", lambda s: "::Pack(" in s),
    ("products", lambda s: "GemmSingle::" in s or "Gemm::" in s),
    ("sweeps", lambda s: "::Apply(" in s or "Elementwise::" in s),
    ("waiting", lambda s: any(k in s for k in ("Workers::", "ManualResetEventSlim", "SpinWait", "Thread", "libcoreclr", "sched_yield", "[k]", "futex"))),
]
shares = {name: 0.0 for name, _ in categories}
shares["other"] = 0.0
for line in open(report):
    m = re.match(r"\s+([\d.]+)%\s+(.*)", line)
    if not m:
        continue
    share, symbol = float(m[1]), m[2]
    shares[next((name for name, test in categories if test(symbol)), "other")] += share
cells = " | ".join(f"{shares[k]:.0f}%" for k in ("products", "packing", "sweeps", "waiting", "other"))
print(f"| {case} | {ms} | {cells} |")
PY
done
