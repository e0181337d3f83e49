using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Runtime.Intrinsics;
using CellGen.CompilerServices;
using CellGen.Cells;

namespace CellGen.Bench;

/// <summary>
/// roofline [ROUNDS]: batch 1 against the bandwidth bound. For the lstm and the gru at H = 128, 256 and 512 (B 1, X = H,
/// T = 100), the forward pass's time per step (the whole pass over T: the input's product before the loop included),
/// beside the time the two cores take to read the step's recurrent weights (4H x H floats for the lstm, 3H x H for
/// the gru: what each step's product reads), each core its half, read again and again so that the bytes stay where the
/// weights stay between steps (L2 when a core's half fits, else L3). ROUNDS (default 3) alternating rounds; medians.
/// </summary>
public static class Roofline
{
    private const int Steps = 100;

    public static int Run(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0]) : 3;
        var cases = new List<(string Cell, int Gates, int Hidden, SequenceRunner<float> Runner, float[] X)>();
        foreach ((string name, int gates, Func<int, RecurrentCell<float>> create) in new (string, int, Func<int, RecurrentCell<float>>)[]
        {
            ("lstm", 4, h => new Lstm(h, h)),
            ("gru", 3, h => new TorchGru(h, h)),
        })
            foreach (int hidden in new[] { 128, 256, 512 })
            {
                var random = new Random(1);
                RecurrentCell<float> cell = create(hidden);
                Initializers.Initialize(cell, random);
                float[] x = Enumerable.Range(0, Steps * hidden).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
                cases.Add((name, gates, hidden, cell.CreateRunner(Steps, 1), x));
            }
        var step = cases.Select(_ => new List<double>()).ToArray();
        var read = cases.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < rounds; round++)
            for (int i = 0; i < cases.Count; i++)
            {
                var (_, gates, hidden, runner, x) = cases[i];
                var outputs = new float[x.Length];
                // The two sides alternate within each case, read first in odd rounds.
                if (round % 2 == 1) read[i].Add(ReadMicroseconds((long)gates * hidden * hidden));
                step[i].Add(Compare.Median(() => runner.Forward(x, 1, default, outputs, default)) * 1000 / Steps);
                if (round % 2 == 0) read[i].Add(ReadMicroseconds((long)gates * hidden * hidden));
            }
        Console.WriteLine($"{Threads.Count} threads; Vector512 {Vector512.IsHardwareAccelerated}, Vector256 {Vector256.IsHardwareAccelerated}; B 1, X = H, T = {Steps}; medians of {rounds} rounds");
        Console.WriteLine();
        Console.WriteLine("| batch 1 | recurrent weights | read them, both cores | forward, per step | step / read |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        for (int i = 0; i < cases.Count; i++)
        {
            double s = Median(step[i]), r = Median(read[i]);
            Console.WriteLine($"| {cases[i].Cell}/h{cases[i].Hidden} | {(long)cases[i].Gates * cases[i].Hidden * cases[i].Hidden * 4 / 1024} KiB | {r:F2} us | {s:F2} us | {s / r:F2}x |");
        }
        Console.WriteLine();
        Console.WriteLine($"hand-off to the worker and back, an empty sweep: {HandOffNanoseconds():F0} ns (median of 20 x 10000)");
        return 0;
    }

    /// <summary>Nanoseconds per round trip of an empty job through the runtime's worker: what each shared step pays at least.</summary>
    private static unsafe double HandOffNanoseconds()
    {
        var times = new List<double>();
        for (int repeat = 0; repeat < 21; repeat++)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < 10000; i++) Workers.TryShareSweep(&Nothing, null, 1, 1, 2);
            if (repeat > 0) times.Add(clock.Elapsed.TotalMilliseconds * 1e6 / 10000);
        }
        return Median(times);
    }

    private static unsafe void Nothing(void* kernel, int rows, int start, int end) { }

    private static double Median(List<double> values) => values.OrderBy(v => v).ElementAt(values.Count / 2);

    /// <summary>
    /// Microseconds for the caller and one other thread to read <paramref name="floats"/> floats, each its half, with
    /// vector loads into four sums: the median over passes of the same bytes (after a warm-up that brings them in).
    /// </summary>
    private static double ReadMicroseconds(long floats)
    {
        var data = new float[floats];
        Array.Fill(data, 1f);
        int half = (int)(floats / 2) / 64 * 64; // whole groups of four vectors of the widest lanes
        int passes = (int)Math.Clamp((64L << 20) / (floats * 4), 50, 5000);
        var times = new List<double>();
        float sink = 0;
        for (int repeat = 0; repeat < 7; repeat++)
        {
            using var start = new Barrier(2);
            float other = 0;
            var worker = new Thread(() =>
            {
                start.SignalAndWait();
                for (int p = 0; p < passes; p++) other += Sum(data.AsSpan(half, half));
            });
            worker.Start();
            start.SignalAndWait();
            var clock = Stopwatch.StartNew();
            for (int p = 0; p < passes; p++) sink += Sum(data.AsSpan(0, half));
            worker.Join();
            double elapsed = clock.Elapsed.TotalMilliseconds * 1000 / passes;
            sink += other;
            if (repeat > 0) times.Add(elapsed); // the first brings the bytes in
        }
        if (sink == 42) Console.WriteLine(); // keeps the sums
        return Median(times);
    }

    /// <summary>The sum of <paramref name="values"/> in the widest vectors the machine has, four at a time.</summary>
    private static float Sum(ReadOnlySpan<float> values)
    {
        if (Vector512.IsHardwareAccelerated) return Sum<F32x16>(values);
        if (Vector256.IsHardwareAccelerated) return Sum<F32x8>(values);
        if (Vector128.IsHardwareAccelerated) return Sum<F32x4>(values);
        return Sum<F32x1>(values);
    }

    private static float Sum<V>(ReadOnlySpan<float> values) where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count;
        V s0 = V.Constant(0), s1 = s0, s2 = s0, s3 = s0;
        ref float first = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(values);
        int i = 0;
        for (; i + 4 * lanes <= values.Length; i += 4 * lanes)
        {
            s0 += V.LoadUnsafe(ref first, i);
            s1 += V.LoadUnsafe(ref first, i + lanes);
            s2 += V.LoadUnsafe(ref first, i + 2 * lanes);
            s3 += V.LoadUnsafe(ref first, i + 3 * lanes);
        }
        Span<float> buffer = stackalloc float[16];
        V.StoreUnsafe(s0 + s1 + (s2 + s3), ref buffer[0], 0);
        float sum = 0;
        foreach (float v in buffer.Slice(0, lanes)) sum += v;
        return sum;
    }
}
