using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using CellGen.CompilerServices;

namespace CellGen.Bench;

/// <summary>
/// sweep: the Lstm's forward sweep alone (its gates, c[t] and h[t], as the generated kernel computed them before the
/// step's product added itself onto the input's: each gate the sum of two products' outputs) over the
/// steps of lstm/b32-h256 (B 32, H 256, T 50) on one core, in ns per vector of cells, with its operands in L2 or
/// streamed from memory step by step as the pass reads them, and with the buffers 64-byte aligned or 16 bytes off.
/// What the sweep costs outside the pass, to set beside its share of the pass in `bench/profile.sh`.
/// </summary>
public static class SweepRate
{
    private const int B = 32, H = 256, Cells = B * H, T = 50;

    public static int Run()
    {
        // One pinned pool, so that the views' alignment is chosen here and not by the heap.
        float[] pool = GC.AllocateArray<float>(2 * (4 * Cells + T * 4 * Cells + 3 * Cells + 2 * (T + 1) * Cells) + 64, pinned: true);
        var random = new Random(1);
        for (int i = 0; i < pool.Length; i++) pool[i] = (float)(random.NextDouble() * 4 - 2);
        var cases = new List<(string Name, Func<double> Run)>();
        foreach (int misaligned in new[] { 0, 4 })
            foreach ((int mode, string name) in new[] { (0, "all in L2"), (1, "input gates streamed"), (2, "states streamed"), (3, "both streamed") })
                cases.Add(($"{name}{(misaligned == 0 ? "" : ", 16 B off")}", () => Time(pool, misaligned, mode)));
        var times = cases.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < 12; round++) // alternating, so that drift hits every case
            for (int c = 0; c < cases.Count; c++)
            {
                double ns = cases[c].Run();
                if (round >= 2) times[c].Add(ns);
            }
        Console.WriteLine($"Lstm forward sweep, B {B}, H {H}, T {T}, one core, {(Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 4)} lanes; ns per vector of 16 cells, median of 10 alternating rounds:");
        for (int c = 0; c < cases.Count; c++)
            Console.WriteLine($"  {cases[c].Name,-40} {times[c].Order().ElementAt(times[c].Count / 2),6:F1}");
        return 0;
    }

    private static unsafe double Time(float[] pool, int misaligned, int mode)
    {
        int start = (int)((64 - (nuint)Unsafe.AsPointer(ref pool[0]) % 64) % 64) / sizeof(float) + misaligned;
        // Each buffer starts a whole number of lines after the one before, so all share the pool's alignment.
        int at = start;
        Span<float> Take(int length) { Span<float> s = pool.AsSpan(at, length); at += (length + 15) / 16 * 16; return s; }
        Span<float> gates = Take(4 * Cells), inputGates = Take(T * 4 * Cells), oneInputGates = Take(4 * Cells);
        Span<float> cPrev = Take(Cells), c = Take(Cells), h = Take(Cells), cs = Take((T + 1) * Cells), hs = Take((T + 1) * Cells);
        var clock = Stopwatch.StartNew();
        if (Vector512.IsHardwareAccelerated) Steps<F32x16>(gates, inputGates, oneInputGates, cPrev, c, h, cs, hs, mode);
        else if (Vector256.IsHardwareAccelerated) Steps<F32x8>(gates, inputGates, oneInputGates, cPrev, c, h, cs, hs, mode);
        else Steps<F32x4>(gates, inputGates, oneInputGates, cPrev, c, h, cs, hs, mode);
        return clock.Elapsed.TotalMilliseconds * 1e6 / (T * Cells / 16.0);
    }

    /// <summary>T steps of the sweep: mode 1 reads each step's input gates from the pass's [T, B, 4H] buffer, mode 2 reads c[t-1] and writes c[t] and h[t] in [T + 1, B, H] histories; otherwise one step's room, over and over.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Steps<V>(Span<float> gates, Span<float> inputGates, Span<float> oneInputGates, Span<float> cPrev, Span<float> c, Span<float> h, Span<float> cs, Span<float> hs, int mode)
        where V : struct, IFloatLanes<V>
    {
        for (int t = 0; t < T; t++)
        {
            ReadOnlySpan<float> z0 = gates, z1 = (mode & 1) != 0 ? inputGates.Slice(t * 4 * Cells, 4 * Cells) : oneInputGates;
            ReadOnlySpan<float> before = (mode & 2) != 0 ? cs.Slice(t * Cells, Cells) : cPrev;
            Span<float> cNext = (mode & 2) != 0 ? cs.Slice((t + 1) * Cells, Cells) : c, hNext = (mode & 2) != 0 ? hs.Slice((t + 1) * Cells, Cells) : h;
            for (int r = 0; r < B; r++)
                for (int j = 0; j < H; j += V.Count)
                {
                    int row = r * 4 * H;
                    V i = V.Sigmoid(V.Load(z0, row + j) + V.Load(z1, row + j));
                    V f = V.Sigmoid(V.Load(z0, row + H + j) + V.Load(z1, row + H + j));
                    V g = V.Tanh(V.Load(z0, row + 2 * H + j) + V.Load(z1, row + 2 * H + j));
                    V o = V.Sigmoid(V.Load(z0, row + 3 * H + j) + V.Load(z1, row + 3 * H + j));
                    V cell = f * V.Load(before, r * H + j) + i * g;
                    V.Store(cell, cNext, r * H + j);
                    V.Store(o * V.Tanh(cell), hNext, r * H + j);
                }
        }
    }
}
