using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Runtime.CompilerServices;
using System;
using BenchmarkDotNet.Running;
using CellGen.CompilerServices;

namespace CellGen.Bench;

public static class Program
{
    /// <summary>
    /// BenchmarkDotNet by default (pass its arguments, e.g. --filter *Lstm*); "quick" times the Lstm with a stopwatch:
    /// warm-up, then the median of repeated runs.
    /// </summary>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "quick") return Quick(args.Skip(1).Select(int.Parse).ToArray());
        if (args.Length > 0 && args[0] == "compare") return Compare.Run(args.Skip(1).ToArray());
        if (args.Length > 0 && args[0] == "handcheck") return HandCheck();
        if (args.Length > 0 && args[0] == "hand") return HandTimes();
        if (args.Length > 0 && args[0] == "profile") return Compare.Profile(args.Skip(1).ToArray());
        if (args.Length > 0 && args[0] == "fuse") return Compare.FusedAgainstApart(args.Skip(1).ToArray());
        if (args.Length > 0 && args[0] == "gemm") return GemmRate(args.Skip(1).Select(int.Parse).ToArray());
        if (args.Length > 0 && args[0] == "activations") return ActivationRates();
        if (args.Length > 0 && args[0] == "report") return Compare.Report(args.Skip(1).ToArray());
        if (args.Length > 0 && args[0] == "zoo") return Zoo.Run(args.Skip(1).ToArray());
        if (args.Length > 0 && args[0] == "distributed") return Distributed.Run();
        if (args.Length > 0 && args[0] == "matmul") return MatMul.Run();
        if (args.Length > 0 && args[0] == "sweep") return SweepRate.Run();
        if (args.Length > 0 && args[0] == "peak") { Console.WriteLine($"FMA peak of {Threads.Count} threads: {Peak.GigaflopsPerSecond(Threads.Count):F1} GFLOP/s"); return 0; }
        if (args.Length > 0 && args[0] == "roofline") return Roofline.Run(args.Skip(1).ToArray());
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }

    /// <summary>Each hand-written cell computes what the generated one does (outputs, dx, every parameter gradient), or the comparison means nothing.</summary>
    private static int HandCheck()
    {
        bool agree = true;
        foreach (string cell in new[] { "lstm", "gru" })
        {
            var bench = new HandVersusGenerated { CellKind = cell, Batch = 3, Hidden = 37, Steps = 5 };
            bench.Setup();
            (double outputs, double dx, double gradients) = bench.Differences();
            Console.WriteLine($"{cell}: hand-written vs generated, max |difference|: outputs {outputs:E2}, dx {dx:E2}, parameter gradients {gradients:E2}");
            agree &= Math.Max(outputs, Math.Max(dx, gradients)) < 1e-4;
        }
        return agree ? 0 : 1;
    }

    /// <summary>Generated and hand-written cells timed alternately (so that drift hits both), medians of 40 runs each.</summary>
    private static int HandTimes()
    {
        foreach (string cell in new[] { "lstm", "gru" })
        {
            var bench = new HandVersusGenerated { CellKind = cell, Batch = 32, Hidden = 256, Steps = 50 };
            bench.Setup();
            var runs = new (string Name, Action Run)[]
            {
                ("hand forward", bench.HandForward), ("generated forward", bench.GeneratedForward),
                ("hand forward+backward", bench.HandForwardBackward), ("generated forward+backward", bench.GeneratedForwardBackward),
            };
            var times = runs.Select(_ => new List<double>()).ToArray();
            for (int i = 0; i < 45; i++)
                for (int k = 0; k < runs.Length; k++)
                {
                    var clock = Stopwatch.StartNew();
                    runs[k].Run();
                    if (i >= 5) times[k].Add(clock.Elapsed.TotalMilliseconds);
                }
            double[] medians = times.Select(t => t.Order().ElementAt(t.Count / 2)).ToArray();
            Console.WriteLine($"{cell} B=32 X=H=256 T=50, medians of 40 alternating runs:");
            for (int k = 0; k < runs.Length; k++) Console.WriteLine($"  {runs[k].Name,-28} {medians[k],8:F2} ms");
            Console.WriteLine($"  generated / hand: forward {medians[1] / medians[0]:F2}, forward+backward {medians[3] / medians[2]:F2}");
        }
        return 0;
    }

    /// <summary>
    /// gemm ROWS K N: the rate of Gemm.Forward (packing W per call, and from PackedWeights as the time loop reads it), BackwardData (from W
    /// and from Wᵀ) and BackwardWeights at one shape, from the median and from
    /// the fastest run (on a shared machine the fastest is the steadier figure for comparing two versions of a kernel).
    /// </summary>
    private static int GemmRate(int[] shape)
    {
        if (shape.Length != 3) { Console.Error.WriteLine("Usage: gemm ROWS K N"); return 2; }
        int rows = shape[0], k = shape[1], n = shape[2];
        var random = new Random(1);
        float[] Fill(int length) => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        float[] a = Fill(rows * k), w = Fill(k * n), bias = Fill(n), c = new float[rows * n], dc = Fill(rows * n), da = new float[rows * k], dw = new float[k * n];
        double flop = 2.0 * rows * k * n;
        var wT = new float[n * k];
        Gemm.Transpose<float>(w, wT, k, n);
        var packed = new PackedWeights<float>(k, n);
        foreach ((string name, Action run) in new (string, Action)[]
        {
            ("forward", () => Gemm.Forward<float>(a, k, w, bias, c, n, rows, k, n)),
            ("forward packed", () => Gemm.Forward<float>(a, k, w, packed, bias, c, n, rows, k, n)),
            ("backward data", () => Gemm.BackwardData<float>(dc, n, w, da, k, rows, k, n, accumulate: false)),
            ("backward data wT", () => Gemm.BackwardDataTransposed<float>(dc, n, wT, da, k, rows, k, n, accumulate: false)),
            ("backward weights", () => Gemm.BackwardWeights<float>(a, k, dc, n, dw, rows, k, n)),
        })
        {
            List<double> times = Compare.Times(run);
            double median = times[times.Count / 2], best = times[0];
            Console.WriteLine($"  [{rows}, {k}] x [{k}, {n}] {name,-17} {median * 1000,10:F1} us  {flop / median / 1e6,7:F1} GFLOP/s   best {flop / best / 1e6,7:F1} GFLOP/s");
        }
        return 0;
    }

    /// <summary>
    /// activations: sigmoid and tanh on Vector512 lanes (F32x16), in nanoseconds per vector of 16: throughput over 8192
    /// independent values, and latency along a chain of 512 sigmoids. Fastest run after a warm-up (Compare.Times); steadiest on one core (taskset -c 1).
    /// </summary>
    private static int ActivationRates()
    {
        float[] x = Enumerable.Range(0, 8192).Select(i => (float)Math.Sin(i) * 6).ToArray(), y = new float[x.Length];
        double Fastest(Action<float[], float[]> run) => Compare.Times(() => run(x, y))[0] * 1e6; // ns
        int vectors = x.Length / 16;
        Console.WriteLine($"sigmoid: {Fastest(SigmoidSweep) / vectors:F2} ns per vector (throughput), {Fastest(SigmoidChain) / 512:F2} ns (latency)");
        Console.WriteLine($"tanh:    {Fastest(TanhSweep) / vectors:F2} ns per vector (throughput)");
        return 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SigmoidSweep(float[] x, float[] y)
    {
        for (int j = 0; j + 16 <= x.Length; j += 16) F32x16.StoreUnsafe(F32x16.Sigmoid(F32x16.LoadUnsafe(ref x[0], j)), ref y[0], j);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TanhSweep(float[] x, float[] y)
    {
        for (int j = 0; j + 16 <= x.Length; j += 16) F32x16.StoreUnsafe(F32x16.Tanh(F32x16.LoadUnsafe(ref x[0], j)), ref y[0], j);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SigmoidChain(float[] x, float[] y)
    {
        F32x16 v = F32x16.LoadUnsafe(ref x[0], 0);
        for (int i = 0; i < 512; i++) v = F32x16.Sigmoid(v);
        F32x16.StoreUnsafe(v, ref y[0], 0);
    }

    /// <summary>quick [batch hidden steps]: defaults 32 256 50.</summary>
    private static int Quick(int[] sizes)
    {
        var bench = new LstmBenchmarks { Batch = sizes.Length > 0 ? sizes[0] : 32, Hidden = sizes.Length > 1 ? sizes[1] : 256, Steps = sizes.Length > 2 ? sizes[2] : 50 };
        bench.Setup();
        Console.WriteLine($"Lstm B={bench.Batch} X=H={bench.Hidden} T={bench.Steps}");
        foreach ((string name, Action run) in new (string, Action)[] { ("forward", bench.Forward), ("forward+backward", bench.ForwardBackward) })
        {
            for (int i = 0; i < 3; i++) run();
            var times = Enumerable.Range(0, 15).Select(_ => { var clock = Stopwatch.StartNew(); run(); return clock.Elapsed.TotalMilliseconds; }).OrderBy(t => t).ToArray();
            Console.WriteLine($"  {name,-18} median {times[times.Length / 2],8:F2} ms   min {times[0],8:F2} ms");
        }
        return 0;
    }
}
