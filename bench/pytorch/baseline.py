#!/usr/bin/env python3
"""The PyTorch side of the comparison: the same cells and configurations as `CellGen.Bench compare`, timed the same
way (warm-up, then the median of repeated runs), with 2 threads. torch.nn.RNN, LSTM and GRU; the peephole LSTM written
in plain PyTorch, as a user would without CellGen. Also the OpenBLAS SGEMM rate at the shape of the hoisted input
product of b64-h512. Usage: python3 bench/pytorch/baseline.py --json torch.json (Debian's python3 with python3-torch)."""
import argparse, json, statistics, time
import torch

torch.set_num_threads(2)
CONFIGS = [("b1-h128", 1, 128, 100), ("b32-h256", 32, 256, 50), ("b64-h512", 64, 512, 100)]


def times_ms(run, most=200):
    """Run times in ms, sorted, after a warm-up of at least 10 runs and half a second: at least 5 runs and a second (at most `most`)."""
    warm, n = time.perf_counter(), 0
    while n < 10 or time.perf_counter() - warm < 0.5:
        run()
        n += 1
    times, start = [], time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - start < 1 and len(times) < most):
        t = time.perf_counter()
        run()
        times.append((time.perf_counter() - t) * 1000)
    return sorted(times)


def median_ms(run):
    return statistics.median(times_ms(run))


class Peephole(torch.nn.Module):
    """LSTM with diagonal peepholes p_i, p_f on c[t-1] and p_o on c[t], written step by step."""

    def __init__(self, x, h):
        super().__init__()
        self.w = torch.nn.Linear(x + h, 4 * h)
        self.p = torch.nn.Parameter(torch.randn(3, h) * 0.1)
        self.h = h

    def forward(self, xs):
        b = xs.shape[1]
        h = xs.new_zeros(b, self.h)
        c = xs.new_zeros(b, self.h)
        out = []
        for x in xs:
            gates = self.w(torch.cat([h, x], 1))
            i, f, g, o = gates.chunk(4, 1)
            i = torch.sigmoid(i + self.p[0] * c)
            f = torch.sigmoid(f + self.p[1] * c)
            g = torch.tanh(g)
            c = f * c + i * g
            o = torch.sigmoid(o + self.p[2] * c)
            h = o * torch.tanh(c)
            out.append(h)
        return torch.stack(out), (h, c)


def model(name, size):
    if name == "rnn":
        return torch.nn.RNN(size, size)
    if name == "lstm":
        return torch.nn.LSTM(size, size)
    if name == "gru":
        return torch.nn.GRU(size, size)
    return Peephole(size, size)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    results = {}
    for config, b, h, t in CONFIGS:
        for name in ("rnn", "lstm", "gru", "peephole"):
            torch.manual_seed(1)
            m = model(name, h)
            x = torch.rand(t, b, h) * 2 - 1
            dy = torch.rand(t, b, h) - 0.5

            def forward():
                with torch.no_grad():
                    m(x)

            def train():
                xi = x.clone().requires_grad_(True)
                out, _ = m(xi)
                (out * dy).sum().backward()
                m.zero_grad(set_to_none=True)

            key = f"{name}/{config}"
            results[key] = {"forward_ms": round(median_ms(forward), 3), "train_ms": round(median_ms(train), 3)}
            print(f"{key:20} forward {results[key]['forward_ms']:10.2f} ms   train {results[key]['train_ms']:10.2f} ms", flush=True)
    a, w = torch.rand(64 * 100, 512), torch.rand(512, 4 * 512)
    ms = median_ms(lambda: torch.mm(a, w))
    results["gemm"] = {"shape": "[6400, 512] x [512, 2048]", "ms": round(ms, 3), "gflops": round(2 * 6400 * 512 * 2048 / ms / 1e6, 1)}
    print(f"SGEMM {results['gemm']['shape']}: {results['gemm']['gflops']} GFLOP/s")
    with open(args.json, "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
