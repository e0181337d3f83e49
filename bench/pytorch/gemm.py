#!/usr/bin/env python3
"""torch.mm (OpenBLAS, 2 threads) at the shapes of `CellGen.Bench gemm ROWS K N`: the forward product A @ W, the data
gradient dC @ Wᵀ and the weight gradient Aᵀ @ dC, each the median and best of repeated runs after a warm-up, as our
side times them. Usage: /usr/bin/python3 bench/pytorch/gemm.py ROWS K N [--json FILE]"""
import argparse, json
import torch
from baseline import times_ms  # the same warm-up and repetitions as the cells' timings

torch.set_num_threads(2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("shape", type=int, nargs=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    rows, k, n = args.shape
    a, w, dc = torch.rand(rows, k) - 0.5, torch.rand(k, n) - 0.5, torch.rand(rows, n) - 0.5
    c, da, dw = torch.empty(rows, n), torch.empty(rows, k), torch.empty(k, n)
    flop = 2.0 * rows * k * n
    results = {}
    for name, run in (("forward", lambda: torch.mm(a, w, out=c)),
                      ("backward data", lambda: torch.mm(dc, w.t(), out=da)),
                      ("backward weights", lambda: torch.mm(a.t(), dc, out=dw))):
        t = [ms / 1000 for ms in times_ms(run, most=1000)]
        median, best = t[len(t) // 2], t[0]
        results[name] = {"median_gflops": round(flop / median / 1e9, 1), "best_gflops": round(flop / best / 1e9, 1)}
        print(f"  [{rows}, {k}] x [{k}, {n}] torch.mm {name:17} {median * 1e6:10.1f} us  {flop / median / 1e9:7.1f} GFLOP/s   best {flop / best / 1e9:7.1f} GFLOP/s", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
