using System;
using System.Runtime.CompilerServices;
using System.Threading;

namespace CellGen;

/// <summary>
/// A second core for the large matrix products: one long-lived worker thread, handed half of a product through
/// fields (no delegates, no allocation per call). It spins briefly before sleeping, so a hand-off inside the time loop
/// costs microseconds; products too small to gain from it, and calls while the worker is busy, run on the caller alone.
/// </summary>
internal static unsafe class Workers
{
    /// <summary>Multiply-adds below which a product runs on one core: the hand-off would cost more than it saves.</summary>
    public const long Threshold = 1 << 20;

    private enum Kind { Forward, BackwardData, BackwardWeights, Sweep, ForwardThenSweep }

    private sealed class Job
    {
        public Kind Kind;
        public float* A, W, Panels, Bias, C;
        public int Lda, Ldc, Rows, K, N, Start, End, PanelLanes, Parts;
        public bool HasBias, Accumulate;
        public delegate*<void*, int, int, int, void> Sweep;
        public void* Kernel;
    }

    private static readonly Job s_job = new();
    private static readonly object s_gate = new();
    private static readonly ManualResetEventSlim s_start = new(false, spinCount: 2000);
    private static int s_done;
    private static Thread? s_thread;

    public static bool Available => Environment.ProcessorCount > 1;

    private static void EnsureStarted()
    {
        if (s_thread is not null) return;
        var thread = new Thread(Loop) { IsBackground = true, Name = "CellGen worker" };
        s_thread = thread;
        thread.Start();
    }

    private static void Loop()
    {
        while (true)
        {
            s_start.Wait();
            s_start.Reset();
            Execute(s_job);
            Volatile.Write(ref s_done, 1);
        }
    }

    private static void Execute(Job job)
    {
        switch (job.Kind)
        {
            case Kind.Forward:
                GemmSingle.Forward(ref *job.A, job.Lda, ref *job.W, ref *job.Panels, job.PanelLanes, ref *job.Bias, job.HasBias, ref *job.C, job.Ldc, job.Rows, job.K, job.N, job.Start, job.End, job.Accumulate);
                break;
            case Kind.BackwardData:
                GemmSingle.BackwardData(ref *job.A, job.Lda, ref *job.W, ref *job.C, job.Ldc, job.Start, job.End, job.K, job.N, job.Accumulate);
                break;
            case Kind.Sweep:
                job.Sweep(job.Kernel, job.Rows, job.Start, job.End);
                break;
            case Kind.ForwardThenSweep:
                GemmSingle.ForwardThenSweep(ref *job.A, job.Lda, ref *job.W, ref *job.Panels, job.PanelLanes, ref *job.Bias, job.HasBias, ref *job.C, job.Ldc, job.Rows, job.K, job.Parts, job.N / job.Parts, job.Start, job.End, job.Sweep, job.Kernel);
                break;
            default:
                GemmSingle.BackwardWeights(ref *job.A, job.Lda, ref *job.W, job.Ldc, ref *job.C, job.Rows, job.K, job.N, job.Start, job.End);
                break;
        }
    }

    /// <summary>Runs <paramref name="mine"/> here and the job on the worker; false when the worker is busy (nothing ran).</summary>
    private static bool TryShare(Job shared, Job mine)
    {
        if (!Monitor.TryEnter(s_gate)) return false;
        try
        {
            EnsureStarted();
            Copy(shared, s_job);
            Volatile.Write(ref s_done, 0);
            s_start.Set();
            Execute(mine);
            var spin = new SpinWait();
            while (Volatile.Read(ref s_done) == 0) spin.SpinOnce(sleep1Threshold: -1);
            return true;
        }
        finally
        {
            Monitor.Exit(s_gate);
        }
    }

    private static void Copy(Job from, Job to)
    {
        to.Kind = from.Kind; to.A = from.A; to.W = from.W; to.Panels = from.Panels; to.PanelLanes = from.PanelLanes; to.Bias = from.Bias; to.C = from.C;
        to.Lda = from.Lda; to.Ldc = from.Ldc; to.Rows = from.Rows; to.K = from.K; to.N = from.N;
        to.Start = from.Start; to.End = from.End; to.HasBias = from.HasBias; to.Accumulate = from.Accumulate;
        to.Sweep = from.Sweep; to.Kernel = from.Kernel; to.Parts = from.Parts;
    }

    [ThreadStatic] private static Job? t_mine, t_shared;

    /// <summary>C = A W (+ bias), or C += A W, the columns split between two cores when the product is large.</summary>
    public static void Forward(ref float a, int lda, ref float w, ref float panels, int panelLanes, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int n, bool accumulate)
    {
        int middle = n / 2 / 32 * 32;
        if (!Available || (long)rows * k * n < Threshold || middle == 0)
        {
            GemmSingle.Forward(ref a, lda, ref w, ref panels, panelLanes, ref bias, hasBias, ref c, ldc, rows, k, n, 0, n, accumulate);
            return;
        }
        fixed (float* pa = &a, pw = &w, pp = &panels, pb = &bias, pc = &c)
        {
            Job mine = t_mine ??= new Job(), shared = t_shared ??= new Job();
            Set(mine, Kind.Forward, pa, lda, pw, pb, hasBias, pc, ldc, rows, k, n, 0, middle, accumulate);
            Set(shared, Kind.Forward, pa, lda, pw, pb, hasBias, pc, ldc, rows, k, n, middle, n, accumulate);
            mine.Panels = shared.Panels = pp;
            mine.PanelLanes = shared.PanelLanes = panelLanes;
            if (!TryShare(shared, mine)) GemmSingle.Forward(ref a, lda, ref w, ref panels, panelLanes, ref bias, hasBias, ref c, ldc, rows, k, n, 0, n, accumulate);
        }
    }

    /// <summary>dA (+)= dC Wᵀ, the rows split between two cores when the product is large.</summary>
    public static void BackwardData(ref float dc, int lddc, ref float w, ref float da, int ldda, int rows, int k, int n, bool accumulate)
    {
        int middle = rows / 2 / 4 * 4;
        if (!Available || (long)rows * k * n < Threshold || middle == 0)
        {
            GemmSingle.BackwardData(ref dc, lddc, ref w, ref da, ldda, 0, rows, k, n, accumulate);
            return;
        }
        fixed (float* pdc = &dc, pw = &w, pda = &da)
        {
            Job mine = t_mine ??= new Job(), shared = t_shared ??= new Job();
            Set(mine, Kind.BackwardData, pdc, lddc, pw, null, false, pda, ldda, rows, k, n, 0, middle, accumulate);
            Set(shared, Kind.BackwardData, pdc, lddc, pw, null, false, pda, ldda, rows, k, n, middle, rows, accumulate);
            if (!TryShare(shared, mine)) GemmSingle.BackwardData(ref dc, lddc, ref w, ref da, ldda, 0, rows, k, n, accumulate);
        }
    }

    /// <summary>dW += Aᵀ dC, the columns split between two cores when the product is large.</summary>
    public static void BackwardWeights(ref float a, int lda, ref float dc, int lddc, ref float dw, int rows, int k, int n)
    {
        int middle = n / 2 / 32 * 32;
        if (!Available || (long)rows * k * n < Threshold || middle == 0)
        {
            GemmSingle.BackwardWeights(ref a, lda, ref dc, lddc, ref dw, rows, k, n, 0, n);
            return;
        }
        fixed (float* pa = &a, pdc = &dc, pdw = &dw)
        {
            Job mine = t_mine ??= new Job(), shared = t_shared ??= new Job();
            Set(mine, Kind.BackwardWeights, pa, lda, pdc, null, false, pdw, lddc, rows, k, n, 0, middle, false);
            Set(shared, Kind.BackwardWeights, pa, lda, pdc, null, false, pdw, lddc, rows, k, n, middle, n, false);
            if (!TryShare(shared, mine)) GemmSingle.BackwardWeights(ref a, lda, ref dc, lddc, ref dw, rows, k, n, 0, n);
        }
    }

    /// <summary>
    /// Runs <paramref name="sweep"/> over columns [0, middle) here and [middle, width) on the worker, all rows each;
    /// false when the worker is busy (nothing ran). Columns, not rows: a sweep may add each row into a per-column sum
    /// (the gradient of a vector parameter), so only a split by columns leaves each sum to one thread.
    /// </summary>
    public static bool TryShareSweep(delegate*<void*, int, int, int, void> sweep, void* kernel, int rows, int middle, int width)
    {
        if (!Available) return false;
        Job mine = t_mine ??= new Job(), shared = t_shared ??= new Job();
        Set(mine, Kind.Sweep, null, 0, null, null, false, null, 0, rows, 0, width, 0, middle, false);
        Set(shared, Kind.Sweep, null, 0, null, null, false, null, 0, rows, 0, width, middle, width, false);
        mine.Sweep = shared.Sweep = sweep;
        mine.Kernel = shared.Kernel = kernel;
        return TryShare(shared, mine);
    }

    /// <summary>
    /// A step's product and the sweep after it, fused block by block of columns (<see cref="GemmSingle.ForwardThenSweep"/>);
    /// the columns of each part split between two cores when the product and the sweep together are worth a hand-off:
    /// one hand-off per step for both, and the sweep always shares the cores.
    /// </summary>
    public static void ForwardThenSweep(ref float a, int lda, ref float w, ref float panels, int panelLanes, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int parts, int partWidth, delegate*<void*, int, int, int, void> sweep, void* kernel, long sweepWork)
    {
        int middle = partWidth / 2 / 32 * 32, n = parts * partWidth;
        if (!Available || middle == 0 || ((long)rows * k * n < Threshold && sweepWork < Elementwise.SplitWork))
        {
            GemmSingle.ForwardThenSweep(ref a, lda, ref w, ref panels, panelLanes, ref bias, hasBias, ref c, ldc, rows, k, parts, partWidth, 0, partWidth, sweep, kernel);
            return;
        }
        fixed (float* pa = &a, pw = &w, pp = &panels, pb = &bias, pc = &c)
        {
            Job mine = t_mine ??= new Job(), shared = t_shared ??= new Job();
            Set(mine, Kind.ForwardThenSweep, pa, lda, pw, pb, hasBias, pc, ldc, rows, k, n, 0, middle, false);
            Set(shared, Kind.ForwardThenSweep, pa, lda, pw, pb, hasBias, pc, ldc, rows, k, n, middle, partWidth, false);
            mine.Panels = shared.Panels = pp;
            mine.PanelLanes = shared.PanelLanes = panelLanes;
            mine.Parts = shared.Parts = parts;
            mine.Sweep = shared.Sweep = sweep;
            mine.Kernel = shared.Kernel = kernel;
            if (!TryShare(shared, mine))
                GemmSingle.ForwardThenSweep(ref a, lda, ref w, ref panels, panelLanes, ref bias, hasBias, ref c, ldc, rows, k, parts, partWidth, 0, partWidth, sweep, kernel);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Set(Job job, Kind kind, float* a, int lda, float* w, float* bias, bool hasBias, float* c, int ldc, int rows, int k, int n, int start, int end, bool accumulate)
    {
        job.Panels = null; job.PanelLanes = 0; job.Sweep = null; job.Kernel = null; job.Parts = 0;
        job.Kind = kind; job.A = a; job.Lda = lda; job.W = w; job.Bias = bias; job.HasBias = hasBias; job.C = c; job.Ldc = ldc;
        job.Rows = rows; job.K = k; job.N = n; job.Start = start; job.End = end; job.Accumulate = accumulate;
    }
}
