using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace CellGen.CompilerServices;

/// <summary>
/// A second core for the large matrix products: one long-lived worker thread, handed half of a product through
/// fields (no delegates, no allocation per call). It spins briefly before sleeping, so a hand-off inside the time loop
/// costs microseconds; products too small to gain from it, and calls while the worker is busy, run on the caller alone.
/// </summary>
internal static unsafe class Workers
{
    /// <summary>Multiply-adds below which a product runs on one core: the hand-off would cost more than it saves.</summary>
    public const long Threshold = 1 << 20;

    /// <summary>
    /// The same for a product of fewer than <see cref="GemmSingle.PanelRows"/> rows (batch 1), which reads all of W for a few multiply-adds per
    /// value: each core then reads its half of W from its own L2. Lstm b1-h128 forward 0.49 -> 0.36 to 0.43 ms and
    /// TorchGru 0.33 to 0.37 -> 0.29 to 0.35 ms (steps of 65 and 49 thousand multiply-adds); Rnn's steps of 16 thousand
    /// lost (0.12 -> 0.35 ms with a threshold of 8 thousand), so they stay on one core.
    /// </summary>
    public const long FewRowsThreshold = 1 << 15;

    /// <summary>Rows per block of the narrow-column kernel: a product split by rows splits at a multiple of it.</summary>
    private const int NarrowRows = 8;

    private enum Kind { Forward, ForwardRows, BackwardData, BackwardWeights, Sweep, ForwardThenSweep, ForwardBlocks, BackwardDataBlocks, BackwardWeightsBlocks }

    /// <summary>A product or sweep over the range [Start, End) of its columns (rows for BackwardData and ForwardRows, blocks for BackwardDataBlocks).</summary>
    private struct Job
    {
        public Kind Kind;
        public float* A, W, Panels, Bias, C, Ahead;
        public int Lda, Ldc, Rows, K, N, Start, End, PanelLanes, Parts, Blocks, MatrixFloats;
        public bool HasBias, Accumulate;
        public delegate*<void*, int, int, int, void> Sweep;
        public void* Kernel;
    }

    // Written by the caller before s_go is set, read by the worker once it sees s_go set: the flag's volatile write and read order both.
    private static Job s_job;
    private static readonly object s_gate = new();
    private static readonly ManualResetEventSlim s_start = new(false, spinCount: 2000);
    private static int s_done;
    private static Thread? s_thread;

    /// <summary>Whether the worker may be used: <see cref="Threads.Count"/> is 2.</summary>
    public static bool Available => Threads.Count > 1;

    /// <summary>How many times work was handed to the worker since the process started (for tests of <see cref="Threads.Count"/>).</summary>
    internal static long HandOffs => Volatile.Read(ref s_handOffs);

    private static long s_handOffs;

    /// <summary>Whether a product of rows x k x n multiply-adds is worth splitting between the two cores.</summary>
    public static bool Shares(int rows, int k, int n) =>
        Available && (long)rows * k * n >= (rows < GemmSingle.PanelRows ? FewRowsThreshold : Threshold);

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
            // The next step's job comes microseconds after this one at batch 1: watched for with the processor's
            // pause first, it is seen within a fraction of a microsecond; the event's own spinning yields the core
            // to the kernel between looks (sched_yield), each look a system call.
            WatchFor(ref s_go);
            // The flag, not the event, says whether a job is there: the event stays set after a job the pauses
            // caught, and a Set that comes before the Reset below is not lost, since the flag is read after it.
            while (Volatile.Read(ref s_go) == 0)
            {
                s_start.Wait();
                s_start.Reset();
            }
            Volatile.Write(ref s_go, 0);
            Execute(s_job);
            Volatile.Write(ref s_done, 1);
        }
    }

    /// <summary>
    /// Pauses each side makes, looking for the other, before it waits as it did before (the event, or spinning with
    /// yields): about 40 us on the machines measured. Lstm, TorchGru and PeepholeLstm b1-h128 forward 2.5% to 8%
    /// faster on both paths, the rest unchanged (docs/performance.md); longer (20,000) gained no more.
    /// </summary>
    private const int Spins = 2000;

    /// <summary>Set (1) by the caller once a job is in <see cref="s_job"/>; cleared by the worker as it takes it.</summary>
    private static int s_go;

    /// <summary>Pauses until <paramref name="flag"/> is set or <see cref="Spins"/> pauses have passed; the caller then waits its own way.</summary>
    private static void WatchFor(ref int flag)
    {
        for (int i = 0; i < Spins && Volatile.Read(ref flag) == 0; i++)
        {
            if (System.Runtime.Intrinsics.X86.X86Base.IsSupported) System.Runtime.Intrinsics.X86.X86Base.Pause();
            else Thread.SpinWait(1);
        }
    }

    private static void Execute(in Job job)
    {
        switch (job.Kind)
        {
            case Kind.Forward:
                GemmSingle.Forward(ref *job.A, job.Lda, ref *job.W, ref *job.Panels, job.PanelLanes, ref *job.Bias, job.HasBias, ref *job.C, job.Ldc, job.Rows, job.K, job.N, job.Start, job.End, job.Accumulate);
                break;
            case Kind.ForwardRows:
                GemmSingle.Forward(ref job.A[(nint)job.Start * job.Lda], job.Lda, ref *job.W, ref *job.Panels, job.PanelLanes, ref *job.Bias, job.HasBias, ref job.C[(nint)job.Start * job.Ldc], job.Ldc, job.End - job.Start, job.K, job.N, 0, job.N, job.Accumulate);
                break;
            case Kind.BackwardData:
                GemmSingle.BackwardData(ref *job.A, job.Lda, ref *job.W, ref *job.C, job.Ldc, job.Start, job.End, job.K, job.N, job.Accumulate);
                break;
            case Kind.Sweep:
                job.Sweep(job.Kernel, job.Rows, job.Start, job.End);
                break;
            case Kind.ForwardThenSweep:
                GemmSingle.ForwardThenSweep(ref *job.A, job.Lda, ref *job.W, ref *job.Panels, job.PanelLanes, ref *job.Bias, job.HasBias, ref *job.C, job.Ldc, job.Rows, job.K, job.Parts, job.N / job.Parts, job.Blocks, job.Start, job.End, job.Sweep, job.Kernel, ref *job.Ahead, job.Accumulate);
                break;
            case Kind.ForwardBlocks:
                GemmSingle.ForwardBlocks(ref *job.A, job.Lda, ref *job.W, ref *job.Panels, job.PanelLanes, ref *job.Bias, job.HasBias, ref *job.C, job.Ldc, job.Rows, job.K, job.Parts, job.N / job.Parts, job.Blocks, job.Start, job.End, job.Accumulate);
                break;
            case Kind.BackwardDataBlocks:
                GemmSingle.BackwardDataBlocks(ref *job.A, job.Lda, ref *job.W, ref *job.Panels, job.PanelLanes, job.MatrixFloats, ref *job.C, job.Ldc, job.Rows, job.K, job.Parts, job.N / job.Parts, job.Blocks, job.Start, job.End, job.Accumulate);
                break;
            case Kind.BackwardWeightsBlocks:
                GemmSingle.BackwardWeightsBlocks(ref *job.A, job.Lda, ref *job.W, job.Ldc, ref *job.C, job.Rows, job.K, job.Parts, job.N / job.Parts, job.Blocks, job.Start, job.End);
                break;
            default:
                GemmSingle.BackwardWeights(ref *job.A, job.Lda, ref *job.W, job.Ldc, ref *job.C, job.Rows, job.K, job.N, job.Start, job.End);
                break;
        }
    }

    /// <summary>
    /// Runs [Start, middle) of <paramref name="job"/> here and [middle, End) on the worker; false when the worker is busy
    /// (nothing ran).
    /// </summary>
    private static bool TryShare(in Job job, int middle)
    {
        if (!Monitor.TryEnter(s_gate)) return false;
        try
        {
            EnsureStarted();
            Interlocked.Increment(ref s_handOffs);
            s_job = job with { Start = middle };
            Volatile.Write(ref s_done, 0);
            Volatile.Write(ref s_go, 1);
            s_start.Set();
            Execute(job with { End = middle });
            WatchFor(ref s_done);
            var spin = new SpinWait();
            while (Volatile.Read(ref s_done) == 0) spin.SpinOnce(sleep1Threshold: -1);
            return true;
        }
        finally
        {
            Monitor.Exit(s_gate);
        }
    }

    /// <summary><paramref name="job"/> split at <paramref name="middle"/> between two cores, or all of it here when the worker is busy.</summary>
    private static void Split(in Job job, int middle)
    {
        if (!TryShare(job, middle)) Execute(job);
    }

    /// <summary>C = A W (+ bias), or C += A W, the columns split between two cores when the product is large.</summary>
    public static void Forward(ref float a, int lda, ref float w, ref float panels, int panelLanes, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int n, bool accumulate)
    {
        int middle = n / 2 / 32 * 32;
        if (middle == 0 && Available && rows >= 2 * NarrowRows && (long)rows * k * n >= Threshold / 4)
        {
            // Too few columns to split (a head of 10 outputs): the rows, from fewer multiply-adds, since narrow
            // columns take slower kernels.
            fixed (float* pa = &a, pw = &w, pp = &panels, pb = &bias, pc = &c)
                Split(new Job
                {
                    Kind = Kind.ForwardRows, A = pa, Lda = lda, W = pw, Panels = pp, PanelLanes = panelLanes, Bias = pb, HasBias = hasBias,
                    C = pc, Ldc = ldc, Rows = rows, K = k, N = n, End = rows, Accumulate = accumulate,
                }, rows / 2 / NarrowRows * NarrowRows);
            return;
        }
        if (!Shares(rows, k, n) || middle == 0)
        {
            GemmSingle.Forward(ref a, lda, ref w, ref panels, panelLanes, ref bias, hasBias, ref c, ldc, rows, k, n, 0, n, accumulate);
            return;
        }
        fixed (float* pa = &a, pw = &w, pp = &panels, pb = &bias, pc = &c)
            Split(new Job
            {
                Kind = Kind.Forward, A = pa, Lda = lda, W = pw, Panels = pp, PanelLanes = panelLanes, Bias = pb, HasBias = hasBias,
                C = pc, Ldc = ldc, Rows = rows, K = k, N = n, End = n, Accumulate = accumulate,
            }, middle);
    }

    /// <summary>
    /// Whether a gradient's product over n columns of dC runs the other way round: n fewer than k and not whole panels
    /// (a head of 10 or 65 outputs over 64 or 128 inputs), so that its vectors lie along k. Then W (k n floats) is
    /// transposed, or the weight gradient found transposed and added back, which costs little beside the rows k n
    /// multiply-adds from 8 rows on. `gemm 1000 64 10`: dA 312 us, dW 142 us (4 and 9 GFLOP/s, tails of one vector
    /// per row), against 15 us for the forward product.
    /// </summary>
    private static bool Narrow(int rows, int k, int n) => n > 0 && n < k && n % 32 != 0 && rows >= 8;

    [ThreadStatic] private static float[]? t_narrow;

    /// <summary>This thread's buffer for a transposed narrow matrix, grown to at least <paramref name="length"/> (allocates only when it grows).</summary>
    private static float[] NarrowBuffer(int length)
    {
        if (t_narrow is null || t_narrow.Length < length) t_narrow = new float[Math.Max(length, 1024)];
        return t_narrow;
    }

    /// <summary>dA (+)= dC Wᵀ, the rows split between two cores when the product is large.</summary>
    public static void BackwardData(ref float dc, int lddc, ref float w, ref float da, int ldda, int rows, int k, int n, bool accumulate)
    {
        if (Narrow(rows, k, n))
        {
            float[] wT = NarrowBuffer(k * n);
            Gemm.Transpose<float>(MemoryMarshal.CreateReadOnlySpan(ref w, k * n), wT, k, n);
            float none = 0;
            Forward(ref dc, lddc, ref wT[0], ref none, 0, ref none, false, ref da, ldda, rows, n, k, accumulate);
            return;
        }
        int middle = rows / 2 / 4 * 4;
        if (!Available || (long)rows * k * n < Threshold || middle == 0)
        {
            GemmSingle.BackwardData(ref dc, lddc, ref w, ref da, ldda, 0, rows, k, n, accumulate);
            return;
        }
        fixed (float* pdc = &dc, pw = &w, pda = &da)
            Split(new Job { Kind = Kind.BackwardData, A = pdc, Lda = lddc, W = pw, C = pda, Ldc = ldda, Rows = rows, K = k, N = n, End = rows, Accumulate = accumulate }, middle);
    }

    /// <summary>dW += Aᵀ dC, the columns split between two cores when the product is large.</summary>
    public static void BackwardWeights(ref float a, int lda, ref float dc, int lddc, ref float dw, int rows, int k, int n)
    {
        if (Narrow(rows, k, n))
        {
            // dWᵀ = dCᵀ A, its vectors along k, then added to dW transposed.
            float[] dwT = NarrowBuffer(k * n);
            Array.Clear(dwT, 0, k * n);
            BackwardWeights(ref dc, lddc, ref a, lda, ref dwT[0], rows, n, k);
            for (int p = 0; p < k; p++)
            {
                ref float row = ref Unsafe.Add(ref dw, (nint)p * n);
                for (int j = 0; j < n; j++) Unsafe.Add(ref row, j) += dwT[j * k + p];
            }
            return;
        }
        int middle = n / 2 / 32 * 32;
        if (!Available || (long)rows * k * n < Threshold || middle == 0)
        {
            GemmSingle.BackwardWeights(ref a, lda, ref dc, lddc, ref dw, rows, k, n, 0, n);
            return;
        }
        fixed (float* pa = &a, pdc = &dc, pdw = &dw)
            Split(new Job { Kind = Kind.BackwardWeights, A = pa, Lda = lda, W = pdc, Ldc = lddc, C = pdw, Rows = rows, K = k, N = n, End = n }, middle);
    }

    /// <summary>
    /// Runs <paramref name="sweep"/> over columns [0, middle) here and [middle, width) on the worker, all rows each;
    /// false when the worker is busy (nothing ran). Columns, not rows: a sweep may add each row into a per-column sum
    /// (the gradient of a vector parameter), so only a split by columns leaves each sum to one thread.
    /// </summary>
    public static bool TryShareSweep(delegate*<void*, int, int, int, void> sweep, void* kernel, int rows, int middle, int width) =>
        Available && TryShare(new Job { Kind = Kind.Sweep, Sweep = sweep, Kernel = kernel, Rows = rows, End = width }, middle);

    /// <summary>
    /// A step's product and the sweep after it, fused block by block of columns (<see cref="GemmSingle.ForwardThenSweep"/>);
    /// the columns of each part split between two cores when the product and the sweep together are worth a hand-off:
    /// one hand-off per step for both, and the sweep always shares the cores.
    /// </summary>
    public static void ForwardThenSweep(ref float a, int lda, ref float w, ref float panels, int panelLanes, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int parts, int partWidth, int blocks, delegate*<void*, int, int, int, void> sweep, void* kernel, long sweepWork, ref float ahead, bool accumulate)
    {
        int middle = Middle(partWidth, blocks), n = parts * partWidth;
        // A few rows' step is shared for its product alone; a larger one for its product or its sweep.
        bool worth = Shares(rows, k / blocks, n) || (rows >= GemmSingle.PanelRows && sweepWork >= Elementwise.SplitWork);
        if (!Available || middle == 0 || !worth)
        {
            GemmSingle.ForwardThenSweep(ref a, lda, ref w, ref panels, panelLanes, ref bias, hasBias, ref c, ldc, rows, k, parts, partWidth, blocks, 0, partWidth, sweep, kernel, ref ahead, accumulate);
            return;
        }
        fixed (float* pa = &a, pw = &w, pp = &panels, pb = &bias, pc = &c, pahead = &ahead)
            Split(new Job
            {
                Kind = Kind.ForwardThenSweep, A = pa, Lda = lda, W = pw, Panels = pp, PanelLanes = panelLanes, Bias = pb, HasBias = hasBias,
                C = pc, Ldc = ldc, Rows = rows, K = k, N = n, Parts = parts, Blocks = blocks, End = partWidth, Sweep = sweep, Kernel = kernel, Ahead = pahead, Accumulate = accumulate,
            }, middle);
    }

    /// <summary>
    /// Where two cores split the columns of each part: at a whole number of panels (32 floats), and between two blocks of
    /// a block-diagonal product when the blocks are even in number, so that each core reads its blocks' columns of A only.
    /// </summary>
    private static int Middle(int partWidth, int blocks) =>
        blocks > 1 && blocks % 2 == 0 ? partWidth / 2 : partWidth / 2 / 32 * 32;

    /// <summary>C = A W (+ bias) for a block-diagonal W (<see cref="GemmSingle.ForwardBlocks"/>), the columns of each part split between two cores when the product is large.</summary>
    public static void ForwardBlocks(ref float a, int lda, ref float w, ref float panels, int panelLanes, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int parts, int partWidth, int blocks, bool accumulate)
    {
        int middle = Middle(partWidth, blocks);
        if (!Shares(rows, k / blocks, parts * partWidth) || middle == 0)
        {
            GemmSingle.ForwardBlocks(ref a, lda, ref w, ref panels, panelLanes, ref bias, hasBias, ref c, ldc, rows, k, parts, partWidth, blocks, 0, partWidth, accumulate);
            return;
        }
        fixed (float* pa = &a, pw = &w, pp = &panels, pb = &bias, pc = &c)
            Split(new Job
            {
                Kind = Kind.ForwardBlocks, A = pa, Lda = lda, W = pw, Panels = pp, PanelLanes = panelLanes, Bias = pb, HasBias = hasBias,
                C = pc, Ldc = ldc, Rows = rows, K = k, N = parts * partWidth, Parts = parts, Blocks = blocks, End = partWidth, Accumulate = accumulate,
            }, middle);
    }

    /// <summary>dA (+)= dC Wᵀ for a block-diagonal W (<see cref="GemmSingle.BackwardDataBlocks"/>), the blocks split between two cores when the product is large.</summary>
    public static void BackwardDataBlocks(ref float dc, int lddc, ref float wT, ref float panels, int panelLanes, int matrixFloats, ref float da, int ldda, int rows, int k, int parts, int partWidth, int blocks, bool accumulate)
    {
        // Few rows share from fewer multiply-adds, as forward products do: each core reads its blocks of W from its own L2.
        if (blocks < 2 || !Shares(rows, k, parts * partWidth / blocks))
        {
            GemmSingle.BackwardDataBlocks(ref dc, lddc, ref wT, ref panels, panelLanes, matrixFloats, ref da, ldda, rows, k, parts, partWidth, blocks, 0, blocks, accumulate);
            return;
        }
        fixed (float* pdc = &dc, pw = &wT, pp = &panels, pda = &da)
            Split(new Job
            {
                Kind = Kind.BackwardDataBlocks, A = pdc, Lda = lddc, W = pw, Panels = pp, PanelLanes = panelLanes, MatrixFloats = matrixFloats, C = pda, Ldc = ldda,
                Rows = rows, K = k, N = parts * partWidth, Parts = parts, Blocks = blocks, End = blocks, Accumulate = accumulate,
            }, blocks / 2);
    }

    /// <summary>dW += Aᵀ dC for a block-diagonal W (<see cref="GemmSingle.BackwardWeightsBlocks"/>), the columns of each part split between two cores when the product is large.</summary>
    public static void BackwardWeightsBlocks(ref float a, int lda, ref float dc, int lddc, ref float dw, int rows, int k, int parts, int partWidth, int blocks)
    {
        int middle = Middle(partWidth, blocks);
        // From a quarter of the threshold: the blocks' gradient of Slstm b1-h128 (50 rows, 0.8 million multiply-adds,
        // once per backward pass) 20 -> 12 us on two cores (`zoo 5 blocks`, three alternating rounds).
        if (!Available || middle == 0 || (long)rows * k * parts * partWidth / blocks < Threshold / 4)
        {
            GemmSingle.BackwardWeightsBlocks(ref a, lda, ref dc, lddc, ref dw, rows, k, parts, partWidth, blocks, 0, partWidth);
            return;
        }
        fixed (float* pa = &a, pdc = &dc, pdw = &dw)
            Split(new Job
            {
                Kind = Kind.BackwardWeightsBlocks, A = pa, Lda = lda, W = pdc, Ldc = lddc, C = pdw, Rows = rows, K = k, N = parts * partWidth, Parts = parts,
                Blocks = blocks, End = partWidth,
            }, middle);
    }
}
