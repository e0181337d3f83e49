using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Threading;
using CellGen.CompilerServices;

namespace CellGen.Bench;

/// <summary>
/// The FMA peak of the cores the kernels use, measured: every thread runs twelve independent chains of fused
/// multiply-adds on the widest accelerated vectors (enough to cover two FMA pipes' latency), all threads at once; the
/// best of five trials. The figure the "whole pass near the peak" target is read against, measured in the same process
/// as the passes (a C loop of the same kind read 228 GFLOP/s on the Zen 4; docs/performance.md, "Peak").
/// </summary>
public static class Peak
{
    private const long Iterations = 4_000_000;

    private static float s_sink; // the chains' result, so that the JIT keeps them

    /// <summary>The widest lanes the kernels use here, and the chains on them.</summary>
    private static readonly (int Lanes, Func<float> Chains) s_widest =
        Vector512.IsHardwareAccelerated ? (F32x16.Count, Chains<F32x16>)
        : Vector256.IsHardwareAccelerated ? (F32x8.Count, Chains<F32x8>)
        : Vector128.IsHardwareAccelerated ? (F32x4.Count, Chains<F32x4>)
        : (F32x1.Count, Chains<F32x1>);

    public static double GigaflopsPerSecond(int threads)
    {
        int lanes = s_widest.Lanes;
        double best = 0;
        for (int trial = 0; trial < 6; trial++)
        {
            using var start = new Barrier(threads);
            var others = new Thread[threads - 1];
            for (int i = 0; i < others.Length; i++)
            {
                others[i] = new Thread(() => { start.SignalAndWait(); Run(); }) { IsBackground = true };
                others[i].Start();
            }
            start.SignalAndWait();
            var clock = Stopwatch.StartNew();
            Run();
            foreach (Thread other in others) other.Join();
            double seconds = clock.Elapsed.TotalSeconds;
            if (trial > 0) best = Math.Max(best, threads * Iterations * 12 * lanes * 2 / seconds / 1e9); // the first trial warms up
        }
        return best;
    }

    private static void Run()
    {
        s_sink += s_widest.Chains();
    }

    /// <summary>Twelve chains through the lane types the kernels use, each FMA into its accumulator as theirs are.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains<V>() where V : struct, IFloatLanes<V>
    {
        V m = V.Constant(0.999999f), c = V.Constant(1e-6f);
        V a0 = V.Constant(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < Iterations; i++)
        {
            V.MultiplyAddTo(ref a0, m, c); V.MultiplyAddTo(ref a1, m, c); V.MultiplyAddTo(ref a2, m, c); V.MultiplyAddTo(ref a3, m, c);
            V.MultiplyAddTo(ref a4, m, c); V.MultiplyAddTo(ref a5, m, c); V.MultiplyAddTo(ref a6, m, c); V.MultiplyAddTo(ref a7, m, c);
            V.MultiplyAddTo(ref a8, m, c); V.MultiplyAddTo(ref a9, m, c); V.MultiplyAddTo(ref a10, m, c); V.MultiplyAddTo(ref a11, m, c);
        }
        return V.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
