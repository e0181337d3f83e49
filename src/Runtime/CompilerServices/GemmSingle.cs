using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CellGen.CompilerServices;

/// <summary>
/// Register-blocked float kernels for <see cref="Gemm"/>, written once over <see cref="IFloatLanes{TSelf}"/> and run
/// with the widest accelerated lanes (Vector512, Vector256, Vector128), narrower ones and scalar code for the tails.
/// Sizes are checked by the callers; these read and write only inside them.
/// </summary>
internal static class GemmSingle
{
    // Every loop here is compiled fully optimised at once (AggressiveOptimization): dynamic PGO recompiled the kernels
    // into code 2x to 10x slower, depending on which shapes it happened to see first. Each width's kernel is its own
    // method (NoInlining), so that the JIT's inlining budget is spent on its lane operations: BackwardWeights, tiered
    // up with WeightPanels<F32x8> inlined into it, ran out of budget and called F32x8.MultiplyAdd for each FMA.

    /// <summary>Floats of A per chunk of rows in a forward product or a weight gradient (512 KiB): a chunk stays in L2 while every panel of W (or dC) passes over it.</summary>
    internal const int ForwardChunkFloats = 1 << 17;

    /// <summary>
    /// C = A W (+ bias) for columns [start, end), or C += A W when <paramref name="accumulate"/> (the bias is then not
    /// read). <paramref name="panels"/> holds W packed by <see cref="PackedWeights{T}"/> for vectors of
    /// <paramref name="panelLanes"/> floats, or nothing (panelLanes 0): then each product packs its own panels.
    /// </summary>
    // Optimised at once, as the elementwise sweeps are: with dynamic PGO this loop made batch-1 products about 4x
    // slower (Rnn b1-h128 forward 0.13 ms without, 0.5 ms with).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(ref float a, int lda, ref float w, ref float panels, int panelLanes, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int n, int start, int end, bool accumulate)
    {
        hasBias &= !accumulate;
        // Many rows go in chunks, or each panel of W would stream all of A from memory again ([6400, 512] x [512, 2048]:
        // 102 GFLOP/s in one go, 163 in chunks of 256 rows).
        int chunk = RowChunk(k);
        for (int first = 0; first < rows; first += chunk)
            ForwardColumns(ref Unsafe.Add(ref a, first * lda), lda, ref w, ref panels, panelLanes, ref bias, hasBias, ref Unsafe.Add(ref c, first * ldc), ldc,
                Math.Min(chunk, rows - first), k, n, start, end, accumulate);
    }

    /// <summary>Rows of A per chunk when A has <paramref name="k"/> columns: at most <see cref="ForwardChunkFloats"/> floats, 16 to 256 rows.</summary>
    internal static int RowChunk(int k) => Math.Clamp(ForwardChunkFloats / Math.Max(k, 1) / 4 * 4, 16, 256);

    /// <summary>
    /// Columns p * partWidth + [start, end) of every part p of C = A W, where W is block-diagonal with
    /// <paramref name="blocks"/> blocks along its diagonal, stored as the [k / blocks, parts * partWidth] matrix of its
    /// blocks side by side: column u of a part belongs to block u / (partWidth / blocks), which reads A's columns
    /// block * (k / blocks) + [0, k / blocks). Each block's columns are a product of the dense kernel (its panels are
    /// the stored matrix's), so a block-diagonal product costs 1 / blocks of the full one. With one block, the dense
    /// product of those columns.
    /// </summary>
    public static void ForwardBlocks(ref float a, int lda, ref float w, ref float panels, int panelLanes, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int parts, int partWidth, int blocks, int start, int end, bool accumulate)
    {
        hasBias &= !accumulate;
        int kb = k / blocks, rb = partWidth / blocks, n = parts * partWidth;
        for (int u = start; u < end;)
        {
            int block = u / rb, uEnd = Math.Min(end, (block + 1) * rb);
            ref float ab = ref Unsafe.Add(ref a, block * kb);
            int first = 0;
            // A few rows from packed panels take the panels of four parts at once, wherever they lie: per part, a block
            // of one panel is a product of 2 FMA chains and a call's overhead (Slstm's step at b1-h128, heads of 32:
            // 16 such products of 1 024 multiply-adds each). So does one row of a dense W whose parts are whole panels:
            // per part, a core's half of H 128 is two panels, too few for the four-panel kernel, and was read from W
            // as it lies (lstm/b1-h128 forward 0.85-0.89 of that, b1-h256-t150 0.89-0.96, both paths, alternating in
            // one process); two or three rows are faster on their own kernels, which load each vector of W once for all
            // rows (lstm b2 and b3: 1.2-1.4x slower this way).
            if (rows < 4 && panelLanes > 0 && (blocks > 1 || rows == 1 && partWidth % (2 * panelLanes) == 0) && u % (2 * panelLanes) == 0 && (uEnd - u) % (2 * panelLanes) == 0)
            {
                first = parts / 4 * 4;
                for (int p = 0; p < first; p += 4)
                    for (int j = u; j < uEnd; j += 2 * panelLanes)
                    {
                        if (panelLanes == 16) FourPanelsFewRows<F32x16>(ref ab, lda, ref panels, ref bias, hasBias, ref c, ldc, rows, kb, j + p * partWidth, partWidth, accumulate);
                        else if (panelLanes == 8) FourPanelsFewRows<F32x8>(ref ab, lda, ref panels, ref bias, hasBias, ref c, ldc, rows, kb, j + p * partWidth, partWidth, accumulate);
                        else FourPanelsFewRows<F32x4>(ref ab, lda, ref panels, ref bias, hasBias, ref c, ldc, rows, kb, j + p * partWidth, partWidth, accumulate);
                    }
            }
            for (int p = first; p < parts; p++)
                Forward(ref ab, lda, ref w, ref panels, panelLanes, ref bias, hasBias, ref c, ldc, rows, kb, n, p * partWidth + u, p * partWidth + uEnd, accumulate);
            u = uEnd;
        }
    }

    /// <summary>
    /// C = A W (+ bias), or C += A W, for 1 to 3 rows and the four packed panels starting at columns j, j + step,
    /// j + 2 step and j + 3 step (one block's panel of four parts): eight FMA chains per row, as ForwardFewRowsPacked
    /// has for four adjacent panels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void FourPanelsFewRows<V>(ref float a, int lda, ref float panels, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int j, int step, bool accumulate)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count, width = 2 * lanes;
        nint panelFloats = (nint)k * width;
        ref float p0 = ref Unsafe.Add(ref panels, j / width * panelFloats);
        ref float p1 = ref Unsafe.Add(ref panels, (j + step) / width * panelFloats);
        ref float p2 = ref Unsafe.Add(ref panels, (j + 2 * step) / width * panelFloats);
        ref float p3 = ref Unsafe.Add(ref panels, (j + 3 * step) / width * panelFloats);
        for (int r = 0; r < rows; r++)
        {
            ref float cr = ref Unsafe.Add(ref c, r * ldc + j);
            FourPanelsOneRow<V>(ref Unsafe.Add(ref a, r * lda), ref p0, ref p1, ref p2, ref p3, ref accumulate ? ref cr : ref Unsafe.Add(ref bias, j), hasBias || accumulate, ref cr, k, step);
        }
    }

    /// <summary>
    /// One row of A times four packed panels into eight vectors of C: the panels' columns start at C's columns 0, step,
    /// 2 step and 3 step from <paramref name="cr"/>; the sums start from <paramref name="start"/> (laid out as C) when
    /// <paramref name="hasStart"/> (a bias, or C itself to accumulate), else from zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FourPanelsOneRow<V>(ref float ar, ref float p0, ref float p1, ref float p2, ref float p3, ref float start, bool hasStart, ref float cr, int k, int step)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count, width = 2 * lanes;
        V c0, c1, c2, c3, c4, c5, c6, c7;
        if (hasStart) LoadFourPairs(ref start, lanes, step, out c0, out c1, out c2, out c3, out c4, out c5, out c6, out c7);
        else c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = V.Constant(0);
        nint o = 0;
        for (int p = 0; p < k; p++, o += width)
        {
            V x = V.Constant(Unsafe.Add(ref ar, p));
            V.MultiplyAddTo(ref c0, x, V.LoadUnsafe(ref p0, o)); V.MultiplyAddTo(ref c1, x, V.LoadUnsafe(ref p0, o + lanes));
            V.MultiplyAddTo(ref c2, x, V.LoadUnsafe(ref p1, o)); V.MultiplyAddTo(ref c3, x, V.LoadUnsafe(ref p1, o + lanes));
            V.MultiplyAddTo(ref c4, x, V.LoadUnsafe(ref p2, o)); V.MultiplyAddTo(ref c5, x, V.LoadUnsafe(ref p2, o + lanes));
            V.MultiplyAddTo(ref c6, x, V.LoadUnsafe(ref p3, o)); V.MultiplyAddTo(ref c7, x, V.LoadUnsafe(ref p3, o + lanes));
        }
        StoreFourPairs(ref cr, lanes, step, c0, c1, c2, c3, c4, c5, c6, c7);
    }

    /// <summary>Four pairs of vectors, <paramref name="step"/> floats apart, from <paramref name="source"/>: the sums of four panels of a row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadFourPairs<V>(ref float source, int lanes, int step, out V c0, out V c1, out V c2, out V c3, out V c4, out V c5, out V c6, out V c7)
        where V : struct, IFloatLanes<V>
    {
        c0 = V.LoadUnsafe(ref source, 0); c1 = V.LoadUnsafe(ref source, lanes); c2 = V.LoadUnsafe(ref source, step); c3 = V.LoadUnsafe(ref source, step + lanes);
        c4 = V.LoadUnsafe(ref source, 2 * step); c5 = V.LoadUnsafe(ref source, 2 * step + lanes); c6 = V.LoadUnsafe(ref source, 3 * step); c7 = V.LoadUnsafe(ref source, 3 * step + lanes);
    }

    /// <summary>Four pairs of vectors into <paramref name="target"/>, <paramref name="step"/> floats apart, as <see cref="LoadFourPairs{V}"/> reads them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreFourPairs<V>(ref float target, int lanes, int step, V c0, V c1, V c2, V c3, V c4, V c5, V c6, V c7)
        where V : struct, IFloatLanes<V>
    {
        V.StoreUnsafe(c0, ref target, 0); V.StoreUnsafe(c1, ref target, lanes); V.StoreUnsafe(c2, ref target, step); V.StoreUnsafe(c3, ref target, step + lanes);
        V.StoreUnsafe(c4, ref target, 2 * step); V.StoreUnsafe(c5, ref target, 2 * step + lanes); V.StoreUnsafe(c6, ref target, 3 * step); V.StoreUnsafe(c7, ref target, 3 * step + lanes);
    }

    /// <summary>
    /// The product of a step whose n = parts * partWidth columns are parts (gates) of partWidth, each followed by the
    /// step's sweep: for each block of columns [u, u + block) of [start, end), the product's columns
    /// p * partWidth + [u, u + block) of every part, then the sweep over those columns of all rows, which reads the
    /// gates while they are still in L1 or L2. The sweep must compute each column on its own, as generated ones do;
    /// null, the product alone. W has <paramref name="blocks"/> blocks along its diagonal (<see cref="ForwardBlocks"/>), 1 when dense.
    /// With <paramref name="accumulate"/>, C += A W (the bias is not read).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void ForwardThenSweep(ref float a, int lda, ref float w, ref float panels, int panelLanes, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int parts, int partWidth, int blocks, int start, int end, delegate*<void*, int, int, int, void> sweep, void* kernel, ref float ahead, bool accumulate)
    {
        // Few rows take blocks of four panels, the width of their kernel (ForwardFewRowsPacked); more rows two: one
        // panel per block gave each part's product, the read-ahead and the sweep's call twice as often for the same
        // columns (two against one, alternating in one process, 20 rounds, median time: lstm/b32-h256 0.95-1.01 on
        // AVX2, 0.96-0.97 on AVX-512; gru, peephole at b32-h256 and b64-h512 0.95-1.05, 0.97 at the median; rnn 0.99-1.01).
        int block = (rows < PanelRows ? 4 : 2) * WidestPanel();
        for (int u = start; u < end; u += block)
        {
            int uEnd = Math.Min(u + block, end);
            // The block's lines of every part of what the sweep also reads, or of C when the product adds onto it
            // (after its sums, from PanelRows rows), asked for before the block's product runs.
            if (!Unsafe.IsNullRef(ref ahead))
                for (int p = 0; p < parts; p++) ReadAhead(ref Unsafe.Add(ref ahead, p * partWidth + u), ldc, rows, uEnd - u);
            ForwardBlocks(ref a, lda, ref w, ref panels, panelLanes, ref bias, hasBias, ref c, ldc, rows, k, parts, partWidth, blocks, u, uEnd, accumulate);
            if (sweep != null) sweep(kernel, rows, u, uEnd);
        }
    }

    /// <summary>
    /// Asks for the cache lines of <paramref name="width"/> floats from <paramref name="first"/> in each of
    /// <paramref name="rows"/> rows <paramref name="stride"/> floats apart. Only x86 has the instruction in .NET;
    /// elsewhere, nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ReadAhead(ref float first, int stride, int rows, int width)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported || width <= 0) return;
        for (int r = 0; r < rows; r++)
        {
            float* start = (float*)Unsafe.AsPointer(ref Unsafe.Add(ref first, r * stride));
            // From the line of the first float to the line of the last: one to three lines for 8 to 32 floats.
            for (nint line = (nint)start & ~63; line <= ((nint)(start + width - 1) & ~63); line += 64)
                System.Runtime.Intrinsics.X86.Sse.Prefetch0((void*)line);
        }
    }

    /// <summary>The width of one panel of the widest lanes (32 floats with Vector512): a block of <see cref="ForwardThenSweep"/> is two or four of them.</summary>
    private static int WidestPanel() =>
        Vector512.IsHardwareAccelerated ? 32 : Vector256.IsHardwareAccelerated ? 16 : 8;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardColumns(ref float a, int lda, ref float w, ref float panels, int panelLanes, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int n, int start, int end, bool accumulate)
    {
        int j = start;
        if (Vector512.IsHardwareAccelerated) j = ForwardPanels<F32x16>(ref a, lda, ref w, ref panels, panelLanes, ref bias, hasBias, ref c, ldc, rows, k, n, j, end, accumulate);
        if (Vector256.IsHardwareAccelerated) j = ForwardPanels<F32x8>(ref a, lda, ref w, ref panels, panelLanes, ref bias, hasBias, ref c, ldc, rows, k, n, j, end, accumulate);
        if (Vector128.IsHardwareAccelerated) j = ForwardPanels<F32x4>(ref a, lda, ref w, ref panels, panelLanes, ref bias, hasBias, ref c, ldc, rows, k, n, j, end, accumulate);
        // Fewer columns than the narrowest vector are left: each is a dot product along A's rows in the widest vectors.
        if (j < end && Vector512.IsHardwareAccelerated) ForwardDots<F32x16>(ref a, lda, ref w, ref bias, hasBias, ref c, ldc, rows, k, n, j, end, accumulate);
        else if (j < end && Vector256.IsHardwareAccelerated) ForwardDots<F32x8>(ref a, lda, ref w, ref bias, hasBias, ref c, ldc, rows, k, n, j, end, accumulate);
        else if (j < end && Vector128.IsHardwareAccelerated) ForwardDots<F32x4>(ref a, lda, ref w, ref bias, hasBias, ref c, ldc, rows, k, n, j, end, accumulate);
        else ForwardPanels<F32x1>(ref a, lda, ref w, ref panels, panelLanes, ref bias, hasBias, ref c, ldc, rows, k, n, j, end, accumulate);
    }

    /// <summary>
    /// Columns [j, end) of C as dot products: W's column copied contiguous, then each row of A against it in vectors
    /// along k, two sums. For the one to three columns the vector kernels leave (a head of 10 outputs on AVX-512: 8 in
    /// a vector, 2 here; of 65: 64 and 1); scalar, one FMA chain per row, they cost more than all the other columns
    /// (`matmul`, [2048, 128] x [128, 65] 421 us against ONNX Runtime's 220).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void ForwardDots<V>(ref float a, int lda, ref float w, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int n, int j, int end, bool accumulate)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count;
        ref float column = ref Panel(k)[0];
        for (; j < end; j++)
        {
            for (int p = 0; p < k; p++) Unsafe.Add(ref column, p) = Unsafe.Add(ref w, (nint)p * n + j);
            float init = hasBias ? Unsafe.Add(ref bias, j) : 0;
            for (int r = 0; r < rows; r++)
            {
                ref float ar = ref Unsafe.Add(ref a, (nint)r * lda);
                V s0 = V.Constant(0), s1 = s0;
                int p = 0;
                for (; p + 2 * lanes <= k; p += 2 * lanes)
                {
                    V.MultiplyAddTo(ref s0, V.LoadUnsafe(ref ar, p), V.LoadUnsafe(ref column, p));
                    V.MultiplyAddTo(ref s1, V.LoadUnsafe(ref ar, p + lanes), V.LoadUnsafe(ref column, p + lanes));
                }
                if (p + lanes <= k)
                {
                    V.MultiplyAddTo(ref s0, V.LoadUnsafe(ref ar, p), V.LoadUnsafe(ref column, p));
                    p += lanes;
                }
                float sum = V.Sum(s0 + s1);
                for (; p < k; p++) sum += Unsafe.Add(ref ar, p) * Unsafe.Add(ref column, p);
                ref float cr = ref Unsafe.Add(ref c, (nint)r * ldc + j);
                cr = (accumulate ? cr : init) + sum;
            }
        }
    }

    /// <summary>
    /// Rows of A from which a fused step runs in blocks of two panels; fewer are fused with the sweep in blocks of four
    /// panels only when the two cores share the step. (Which kernels the rows take: ForwardPanels.)
    /// 8 rather than 4: at batch 4 the fused blocks' calls cost more than they save (DeepBench's lstm b4-h256-t150
    /// forward 7.40 -> 6.66 ms, gru b4-h512-t100 12.3 -> 11.2, medians of three alternating runs, AVX2).
    /// </summary>
    internal const int PanelRows = 8;

    /// <summary>Floats of a packed panel of W (16 KiB): half of L1, so the rows of A passing by do not push it out.</summary>
    private const int PanelFloats = 1 << 12;

    /// <summary>
    /// Panels of W two vectors wide stay in L1 while blocks of six or four rows of A stream past, their accumulators in
    /// registers. A deep panel goes in slices of k, each adding to C, so that the slice fits in L1. Returns the first
    /// column it left for narrower lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static int ForwardPanels<V>(ref float a, int lda, ref float w, ref float panels, int panelLanes, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int n, int j, int end, bool accumulate)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count;
        // From packed panels, 1 to 3 rows, and 5 or 7, take the few-row kernels; 4 and 6 one block per panel, which
        // reads W once for all of them (`gemm 4 256 1024` forward packed, AVX2, best of a run: 159 GFLOP/s in pairs,
        // 178 in blocks; 6 rows 194 and 220). 5 and 7 in blocks would leave one row alone (four and one, six and one):
        // 192 against 157 and 196 against 162 GFLOP/s for the few-row kernels.
        if ((rows < 4 || rows < PanelRows && rows % 2 == 1) && panelLanes == lanes && j % (2 * lanes) == 0)
            j = ForwardFewRowsPacked<V>(ref a, lda, ref panels, ref bias, hasBias, ref c, ldc, rows, k, j, end, accumulate);
        // Unpacked, four rows and more read W in place in blocks of four (each row of W once), fewer row by row.
        if (rows < 4) return ForwardFewRows<V>(ref a, lda, ref w, ref bias, hasBias, ref c, ldc, rows, k, n, j, end, accumulate);
        // Rows of W lie n floats apart, often a multiple of 4 KiB: a panel read in place maps to few cache sets and
        // thrashes L1. So panels are read from the packed weights when the caller has them, or, with enough rows to
        // reuse them, copied four at a time into a contiguous buffer (ForwardCopiedPanels).
        bool prepacked = panelLanes == lanes && j % (2 * lanes) == 0;
        bool pack = !prepacked && rows >= 8 && V.Count > 1;
        if (pack && lanes == 16 && rows <= InPlaceRows && (long)k * (end - j) <= InPlaceFloats)
            j = ForwardInPlace<V>(ref a, lda, ref w, ref bias, hasBias, ref c, ldc, rows, k, n, j, end, accumulate);
        int depth = pack || prepacked ? Math.Max(PanelFloats / (2 * lanes), 1) : Math.Max(k, 1);
        // Adding onto C from outside (a step onto the input's product), the first slice adds C after its sums: loaded
        // first, C's lines held every chain up until they came. Not below PanelRows rows, whose kernels (which one
        // takes a column depends on how the columns are grouped, and so on the threads) start from C as they all do.
        bool addLast = accumulate && rows >= PanelRows;
        if (pack) j = ForwardCopiedPanels<V>(ref a, lda, ref w, ref bias, hasBias, ref c, ldc, rows, k, n, j, end, depth, accumulate, addLast);
        for (; j + 2 * lanes <= end; j += 2 * lanes)
            for (int first = 0; first == 0 || first < k; first += depth) // once at least: with k = 0, C is the bias
            {
                int count = Math.Min(depth, k - first);
                ref float wj = ref Unsafe.Add(ref w, first * n + j);
                int stride = n;
                if (prepacked)
                {
                    wj = ref Unsafe.Add(ref panels, (j / (2 * lanes) * k + first) * 2 * lanes);
                    stride = 2 * lanes;
                }
                ForwardPanelSlice<V>(ref Unsafe.Add(ref a, first), lda, ref wj, stride, ref bias, hasBias, ref c, ldc, rows, count, j, accumulate || first > 0, addLast && first == 0);
            }
        return ForwardVectors<V>(ref a, lda, ref w, ref bias, hasBias, ref c, ldc, rows, k, n, j, end, accumulate);
    }

    /// <summary>Panels copied together by <see cref="ForwardCopiedPanels"/>: a strip of W 256 bytes wide (on AVX2), 64 KiB deep at most.</summary>
    private const int CopiedPanels = 4;

    /// <summary>
    /// ForwardPanels' columns [j, end) from W as it lies, each slice of <paramref name="depth"/> rows of four panels
    /// copied contiguous at once, then multiplied as packed panels are. Copied one panel at a time, each row of W gave
    /// 64 bytes (AVX2) from another page; four at once read 256 bytes of it (AVX2, both ways alternating in one process:
    /// [8, 256] x [256, 1024] 1.11x-1.27x faster, [32, 256] x [256, 1024] 1.10x-1.11x, [64, 512] x [512, 2048]
    /// 1.06x-1.08x, [128, 256] x [256, 1024] 1.02x-1.03x; eight or sixteen at once no faster than four; docs/performance.md).
    /// Returns the first column it left.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static int ForwardCopiedPanels<V>(ref float a, int lda, ref float w, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int n, int j, int end, int depth, bool accumulate, bool addLast)
        where V : struct, IFloatLanes<V>
    {
        int width = 2 * V.Count;
        ref float panels = ref MemoryMarshal.GetArrayDataReference(Panel(CopiedPanels * Math.Min(depth, k) * width));
        while (j + width <= end)
        {
            int count = Math.Min(CopiedPanels, (end - j) / width);
            for (int first = 0; first == 0 || first < k; first += depth) // once at least: with k = 0, C is the bias
            {
                int depthHere = Math.Min(depth, k - first);
                PackedWeights<float>.Pack(ref Unsafe.Add(ref w, first * n + j), n, ref panels, depthHere, count, width);
                for (int q = 0; q < count; q++)
                    ForwardPanelSlice<V>(ref Unsafe.Add(ref a, first), lda, ref Unsafe.Add(ref panels, q * depthHere * width), width, ref bias, hasBias, ref c, ldc, rows, depthHere, j + q * width, accumulate || first > 0, addLast && first == 0);
            }
            j += count * width;
        }
        return j;
    }

    /// <summary>
    /// C[:, j..j+2 vectors) = (C if <paramref name="accumulate"/>, else the bias) + A[:, slice] times one slice of a
    /// panel; with <paramref name="addLast"/> (and <paramref name="accumulate"/>), the sums start from zero and C is added to them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ForwardPanelSlice<V>(ref float a, int lda, ref float wj, int stride, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int j, bool accumulate, bool addLast)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count;
        V b0 = hasBias ? V.LoadUnsafe(ref bias, j) : V.Constant(0), b1 = hasBias ? V.LoadUnsafe(ref bias, j + lanes) : V.Constant(0);
        int r = 0;
        // Six rows while more than eight are left or exactly six, so that what is left is a multiple of four where it can be.
        for (; rows - r >= 6 && (rows - r != 8); r += 6)
            ForwardSixRows<V>(ref Unsafe.Add(ref a, r * lda), lda, ref wj, stride, b0, b1, ref Unsafe.Add(ref c, r * ldc + j), ldc, k, accumulate, addLast);
        for (; r + 4 <= rows; r += 4)
        {
            ref float ar = ref Unsafe.Add(ref a, r * lda);
            ForwardFourRows<V>(ref ar, lda, lda, lda, ref wj, stride, b0, b1, ref Unsafe.Add(ref c, r * ldc + j), ldc, ldc, ldc, k, accumulate, addLast);
        }
        // Three rows left (or two) take the four-row block with the missing row repeating the last (it computes the
        // same values into the same place): eight FMA chains in flight, where one row at a time keeps two and waits on
        // the FMA latency at every step of k (`gemm 9 256 1024` forward packed: 105 -> 186 GFLOP/s, best of a run).
        if (rows - r >= 2)
        {
            int l2 = rows - r == 3 ? lda : 0, c2 = rows - r == 3 ? ldc : 0;
            ForwardFourRows<V>(ref Unsafe.Add(ref a, r * lda), lda, l2, 0, ref wj, stride, b0, b1, ref Unsafe.Add(ref c, r * ldc + j), ldc, c2, 0, k, accumulate, addLast);
        }
        else if (rows - r == 1)
            ForwardOneRow<V>(ref Unsafe.Add(ref a, r * lda), ref wj, stride, b0, b1, ref Unsafe.Add(ref c, r * ldc + j), k, accumulate, addLast);
    }

    /// <summary>
    /// Four rows by two vectors: eight accumulators. Row i + 1 of A is <paramref name="step1"/>,
    /// <paramref name="step2"/>, <paramref name="step3"/> floats after row i, and of C the <c>cStep</c>s; a step of 0
    /// repeats a row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ForwardFourRows<V>(ref float a0, int step1, int step2, int step3, ref float wj, int stride, V b0, V b1, ref float c0, int cStep1, int cStep2, int cStep3, int k, bool accumulate, bool addLast)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count;
        ref float a1 = ref Unsafe.Add(ref a0, step1);
        ref float a2 = ref Unsafe.Add(ref a1, step2);
        ref float a3 = ref Unsafe.Add(ref a2, step3);
        ref float c1 = ref Unsafe.Add(ref c0, cStep1);
        ref float c2 = ref Unsafe.Add(ref c1, cStep2);
        ref float c3 = ref Unsafe.Add(ref c2, cStep3);
        V c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1, c30 = b0, c31 = b1;
        if (accumulate && !addLast)
        {
            c00 = V.LoadUnsafe(ref c0, 0); c01 = V.LoadUnsafe(ref c0, lanes);
            c10 = V.LoadUnsafe(ref c1, 0); c11 = V.LoadUnsafe(ref c1, lanes);
            c20 = V.LoadUnsafe(ref c2, 0); c21 = V.LoadUnsafe(ref c2, lanes);
            c30 = V.LoadUnsafe(ref c3, 0); c31 = V.LoadUnsafe(ref c3, lanes);
        }
        for (int p = 0; p < k; p++)
        {
            V w0 = V.LoadUnsafe(ref wj, p * stride), w1 = V.LoadUnsafe(ref wj, p * stride + lanes);
            V x0 = V.Constant(Unsafe.Add(ref a0, p)), x1 = V.Constant(Unsafe.Add(ref a1, p));
            V x2 = V.Constant(Unsafe.Add(ref a2, p)), x3 = V.Constant(Unsafe.Add(ref a3, p));
            V.MultiplyAddTo(ref c00, x0, w0); V.MultiplyAddTo(ref c01, x0, w1);
            V.MultiplyAddTo(ref c10, x1, w0); V.MultiplyAddTo(ref c11, x1, w1);
            V.MultiplyAddTo(ref c20, x2, w0); V.MultiplyAddTo(ref c21, x2, w1);
            V.MultiplyAddTo(ref c30, x3, w0); V.MultiplyAddTo(ref c31, x3, w1);
        }
        if (addLast) // all loads before any store: a repeated row reads what its row held
        {
            c00 += V.LoadUnsafe(ref c0, 0); c01 += V.LoadUnsafe(ref c0, lanes);
            c10 += V.LoadUnsafe(ref c1, 0); c11 += V.LoadUnsafe(ref c1, lanes);
            c20 += V.LoadUnsafe(ref c2, 0); c21 += V.LoadUnsafe(ref c2, lanes);
            c30 += V.LoadUnsafe(ref c3, 0); c31 += V.LoadUnsafe(ref c3, lanes);
        }
        // Repeated rows store last the values of the row they repeat, which are the same.
        V.StoreUnsafe(c30, ref c3, 0); V.StoreUnsafe(c31, ref c3, lanes);
        V.StoreUnsafe(c20, ref c2, 0); V.StoreUnsafe(c21, ref c2, lanes);
        V.StoreUnsafe(c10, ref c1, 0); V.StoreUnsafe(c11, ref c1, lanes);
        V.StoreUnsafe(c00, ref c0, 0); V.StoreUnsafe(c01, ref c0, lanes);
    }

    /// <summary>
    /// One row by two vectors, with k split four ways: eight FMA chains instead of two, which would wait on the FMA
    /// latency (four cycles) at every step of k.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ForwardOneRow<V>(ref float a, ref float wj, int stride, V b0, V b1, ref float c, int k, bool accumulate, bool addLast)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count;
        bool start = accumulate && !addLast;
        V c0 = start ? V.LoadUnsafe(ref c, 0) : b0, c1 = start ? V.LoadUnsafe(ref c, lanes) : b1;
        V zero = V.Constant(0), d0 = zero, d1 = zero, e0 = zero, e1 = zero, f0 = zero, f1 = zero;
        int p = 0;
        for (; p + 4 <= k; p += 4)
        {
            nint o = (nint)p * stride;
            V x0 = V.Constant(Unsafe.Add(ref a, p)), x1 = V.Constant(Unsafe.Add(ref a, p + 1));
            V x2 = V.Constant(Unsafe.Add(ref a, p + 2)), x3 = V.Constant(Unsafe.Add(ref a, p + 3));
            V.MultiplyAddTo(ref c0, x0, V.LoadUnsafe(ref wj, o)); V.MultiplyAddTo(ref c1, x0, V.LoadUnsafe(ref wj, o + lanes));
            V.MultiplyAddTo(ref d0, x1, V.LoadUnsafe(ref wj, o + stride)); V.MultiplyAddTo(ref d1, x1, V.LoadUnsafe(ref wj, o + stride + lanes));
            V.MultiplyAddTo(ref e0, x2, V.LoadUnsafe(ref wj, o + 2 * stride)); V.MultiplyAddTo(ref e1, x2, V.LoadUnsafe(ref wj, o + 2 * stride + lanes));
            V.MultiplyAddTo(ref f0, x3, V.LoadUnsafe(ref wj, o + 3 * stride)); V.MultiplyAddTo(ref f1, x3, V.LoadUnsafe(ref wj, o + 3 * stride + lanes));
        }
        for (; p < k; p++)
        {
            V x = V.Constant(Unsafe.Add(ref a, p));
            V.MultiplyAddTo(ref c0, x, V.LoadUnsafe(ref wj, p * stride));
            V.MultiplyAddTo(ref c1, x, V.LoadUnsafe(ref wj, p * stride + lanes));
        }
        V s0 = c0 + d0 + (e0 + f0), s1 = c1 + d1 + (e1 + f1);
        if (addLast)
        {
            s0 += V.LoadUnsafe(ref c, 0);
            s1 += V.LoadUnsafe(ref c, lanes);
        }
        V.StoreUnsafe(s0, ref c, 0);
        V.StoreUnsafe(s1, ref c, lanes);
    }

    /// <summary>
    /// Six rows by two vectors: twelve accumulators, two loads of W and six broadcasts per twelve FMAs, which fits the
    /// 16 registers of AVX2 (12 + 2 + 1 for the broadcast) as the Haswell/Zen kernels of BLIS and OpenBLAS do, and
    /// keeps twelve FMA chains in flight where the 4 by 2 block's eight only just cover two pipes' latency.
    /// W and A are read through references that move on each step: no multiplication in the loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ForwardSixRows<V>(ref float a, int lda, ref float wj, int stride, V b0, V b1, ref float c, int ldc, int k, bool accumulate, bool addLast)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count;
        V c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1, c30 = b0, c31 = b1, c40 = b0, c41 = b1, c50 = b0, c51 = b1;
        if (accumulate && !addLast)
        {
            c00 = V.LoadUnsafe(ref c, 0); c01 = V.LoadUnsafe(ref c, lanes);
            c10 = V.LoadUnsafe(ref c, ldc); c11 = V.LoadUnsafe(ref c, ldc + lanes);
            c20 = V.LoadUnsafe(ref c, 2 * ldc); c21 = V.LoadUnsafe(ref c, 2 * ldc + lanes);
            c30 = V.LoadUnsafe(ref c, 3 * ldc); c31 = V.LoadUnsafe(ref c, 3 * ldc + lanes);
            c40 = V.LoadUnsafe(ref c, 4 * ldc); c41 = V.LoadUnsafe(ref c, 4 * ldc + lanes);
            c50 = V.LoadUnsafe(ref c, 5 * ldc); c51 = V.LoadUnsafe(ref c, 5 * ldc + lanes);
        }
        ref float a0 = ref a;
        ref float a3 = ref Unsafe.Add(ref a, 3 * lda);
        nint l1 = lda, l2 = 2 * (nint)lda;
        ref float wp = ref wj;
        for (int p = 0; p < k; p++)
        {
            V w0 = V.LoadUnsafe(ref wp, 0), w1 = V.LoadUnsafe(ref wp, lanes);
            V x = V.Constant(a0);
            V.MultiplyAddTo(ref c00, x, w0); V.MultiplyAddTo(ref c01, x, w1);
            x = V.Constant(Unsafe.Add(ref a0, l1));
            V.MultiplyAddTo(ref c10, x, w0); V.MultiplyAddTo(ref c11, x, w1);
            x = V.Constant(Unsafe.Add(ref a0, l2));
            V.MultiplyAddTo(ref c20, x, w0); V.MultiplyAddTo(ref c21, x, w1);
            x = V.Constant(a3);
            V.MultiplyAddTo(ref c30, x, w0); V.MultiplyAddTo(ref c31, x, w1);
            x = V.Constant(Unsafe.Add(ref a3, l1));
            V.MultiplyAddTo(ref c40, x, w0); V.MultiplyAddTo(ref c41, x, w1);
            x = V.Constant(Unsafe.Add(ref a3, l2));
            V.MultiplyAddTo(ref c50, x, w0); V.MultiplyAddTo(ref c51, x, w1);
            a0 = ref Unsafe.Add(ref a0, 1);
            a3 = ref Unsafe.Add(ref a3, 1);
            wp = ref Unsafe.Add(ref wp, stride);
        }
        if (addLast)
        {
            c00 += V.LoadUnsafe(ref c, 0); c01 += V.LoadUnsafe(ref c, lanes);
            c10 += V.LoadUnsafe(ref c, ldc); c11 += V.LoadUnsafe(ref c, ldc + lanes);
            c20 += V.LoadUnsafe(ref c, 2 * ldc); c21 += V.LoadUnsafe(ref c, 2 * ldc + lanes);
            c30 += V.LoadUnsafe(ref c, 3 * ldc); c31 += V.LoadUnsafe(ref c, 3 * ldc + lanes);
            c40 += V.LoadUnsafe(ref c, 4 * ldc); c41 += V.LoadUnsafe(ref c, 4 * ldc + lanes);
            c50 += V.LoadUnsafe(ref c, 5 * ldc); c51 += V.LoadUnsafe(ref c, 5 * ldc + lanes);
        }
        V.StoreUnsafe(c00, ref c, 0); V.StoreUnsafe(c01, ref c, lanes);
        V.StoreUnsafe(c10, ref c, ldc); V.StoreUnsafe(c11, ref c, ldc + lanes);
        V.StoreUnsafe(c20, ref c, 2 * ldc); V.StoreUnsafe(c21, ref c, 2 * ldc + lanes);
        V.StoreUnsafe(c30, ref c, 3 * ldc); V.StoreUnsafe(c31, ref c, 3 * ldc + lanes);
        V.StoreUnsafe(c40, ref c, 4 * ldc); V.StoreUnsafe(c41, ref c, 4 * ldc + lanes);
        V.StoreUnsafe(c50, ref c, 5 * ldc); V.StoreUnsafe(c51, ref c, 5 * ldc + lanes);
    }

    /// <summary>
    /// 1 to 3, 5 or 7 rows from packed panels, four panels (eight vectors of columns) at a time: eight FMA chains, and W
    /// read as four contiguous streams. Read in place, each row of W lies in another 4 KiB page (n floats apart), where
    /// the hardware prefetchers do not follow. Three rows go together, then pairs (so 5 is three and two, 7 three and
    /// two pairs), and a single row alone. Returns the first column of the panels it left (fewer than four).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static int ForwardFewRowsPacked<V>(ref float a, int lda, ref float panels, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int j, int end, bool accumulate)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count, width = 2 * lanes;
        nint panelFloats = (nint)k * width;
        for (; j + 4 * width <= end; j += 4 * width)
        {
            ref float p0 = ref Unsafe.Add(ref panels, j / width * panelFloats);
            ref float p1 = ref Unsafe.Add(ref p0, panelFloats);
            ref float p2 = ref Unsafe.Add(ref p1, panelFloats);
            ref float p3 = ref Unsafe.Add(ref p2, panelFloats);
            int r = 0;
            // Rows together read each vector of W once for all of them: at batch 2 to 7 the W stream, not the FMAs,
            // bounds the step. An odd count starts with three.
            if (rows % 2 == 1 && rows >= 3)
            {
                ForwardThreeRowsPacked<V>(ref a, lda, ref p0, ref p1, ref bias, hasBias, ref Unsafe.Add(ref c, j), ldc, k, j, accumulate);
                ForwardThreeRowsPacked<V>(ref a, lda, ref p2, ref p3, ref bias, hasBias, ref Unsafe.Add(ref c, j + 2 * width), ldc, k, j + 2 * width, accumulate);
                r = 3;
            }
            for (; r + 2 <= rows; r += 2)
            {
                ForwardTwoRowsPacked<V>(ref Unsafe.Add(ref a, r * lda), lda, ref p0, ref p1, ref bias, hasBias, ref Unsafe.Add(ref c, r * ldc + j), ldc, k, j, accumulate);
                ForwardTwoRowsPacked<V>(ref Unsafe.Add(ref a, r * lda), lda, ref p2, ref p3, ref bias, hasBias, ref Unsafe.Add(ref c, r * ldc + j + 2 * width), ldc, k, j + 2 * width, accumulate);
            }
            for (; r < rows; r++)
            {
                ref float cr = ref Unsafe.Add(ref c, r * ldc + j);
                FourPanelsOneRow<V>(ref Unsafe.Add(ref a, r * lda), ref p0, ref p1, ref p2, ref p3, ref accumulate ? ref cr : ref Unsafe.Add(ref bias, j), hasBias || accumulate, ref cr, k, width);
            }
        }
        // Two panels left (a block of a fused step narrower than four): pairs of rows as above; a last row alone is
        // paired with itself (no stride to a second row), both halves computing the same values into the same place.
        for (; j + 2 * width <= end; j += 2 * width)
        {
            ref float p0 = ref Unsafe.Add(ref panels, j / width * panelFloats);
            ref float p1 = ref Unsafe.Add(ref p0, panelFloats);
            for (int r = 0; r < rows; r += 2)
            {
                int second = r + 1 < rows ? lda : 0, secondC = r + 1 < rows ? ldc : 0;
                ForwardTwoRowsPacked<V>(ref Unsafe.Add(ref a, r * lda), second, ref p0, ref p1, ref bias, hasBias, ref Unsafe.Add(ref c, r * ldc + j), secondC, k, j, accumulate);
            }
        }
        return j;
    }

    /// <summary>
    /// Three rows by two panels: twelve FMA chains, each vector of W loaded once for three rows (twelve accumulators,
    /// three broadcasts and one vector of W: AVX2's sixteen registers). Not inlined: inside ForwardFewRowsPacked, with
    /// its own live values, the JIT kept three of the loop's references on the stack (37 instructions a step of k, four
    /// of them stack accesses; 31 and none alone). `gemm 3 256 1024` forward packed, AVX2, four alternating runs:
    /// 8.5 to 8.8 us -> 7.5 to 8.7; DeepBench's lstm b3 3.92 -> 3.51 ms, gru b3 7.30 -> 7.00 (medians of eight).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void ForwardThreeRowsPacked<V>(ref float a, int lda, ref float p0, ref float p1, ref float bias, bool hasBias, ref float c, int ldc, int k, int j, bool accumulate)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count, width = 2 * lanes;
        V c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23;
        if (accumulate)
        {
            c00 = V.LoadUnsafe(ref c, 0); c01 = V.LoadUnsafe(ref c, lanes); c02 = V.LoadUnsafe(ref c, 2 * lanes); c03 = V.LoadUnsafe(ref c, 3 * lanes);
            c10 = V.LoadUnsafe(ref c, ldc); c11 = V.LoadUnsafe(ref c, ldc + lanes); c12 = V.LoadUnsafe(ref c, ldc + 2 * lanes); c13 = V.LoadUnsafe(ref c, ldc + 3 * lanes);
            c20 = V.LoadUnsafe(ref c, 2 * ldc); c21 = V.LoadUnsafe(ref c, 2 * ldc + lanes); c22 = V.LoadUnsafe(ref c, 2 * ldc + 2 * lanes); c23 = V.LoadUnsafe(ref c, 2 * ldc + 3 * lanes);
        }
        else if (hasBias)
        {
            c00 = c10 = c20 = V.LoadUnsafe(ref bias, j); c01 = c11 = c21 = V.LoadUnsafe(ref bias, j + lanes);
            c02 = c12 = c22 = V.LoadUnsafe(ref bias, j + 2 * lanes); c03 = c13 = c23 = V.LoadUnsafe(ref bias, j + 3 * lanes);
        }
        else c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = c20 = c21 = c22 = c23 = V.Constant(0);
        ref float a1 = ref Unsafe.Add(ref a, lda);
        ref float a2 = ref Unsafe.Add(ref a1, lda);
        nint o = 0;
        for (int p = 0; p < k; p++, o += width)
        {
            V x0 = V.Constant(Unsafe.Add(ref a, p)), x1 = V.Constant(Unsafe.Add(ref a1, p)), x2 = V.Constant(Unsafe.Add(ref a2, p));
            V w = V.LoadUnsafe(ref p0, o);
            V.MultiplyAddTo(ref c00, x0, w); V.MultiplyAddTo(ref c10, x1, w); V.MultiplyAddTo(ref c20, x2, w);
            w = V.LoadUnsafe(ref p0, o + lanes);
            V.MultiplyAddTo(ref c01, x0, w); V.MultiplyAddTo(ref c11, x1, w); V.MultiplyAddTo(ref c21, x2, w);
            w = V.LoadUnsafe(ref p1, o);
            V.MultiplyAddTo(ref c02, x0, w); V.MultiplyAddTo(ref c12, x1, w); V.MultiplyAddTo(ref c22, x2, w);
            w = V.LoadUnsafe(ref p1, o + lanes);
            V.MultiplyAddTo(ref c03, x0, w); V.MultiplyAddTo(ref c13, x1, w); V.MultiplyAddTo(ref c23, x2, w);
        }
        V.StoreUnsafe(c00, ref c, 0); V.StoreUnsafe(c01, ref c, lanes); V.StoreUnsafe(c02, ref c, 2 * lanes); V.StoreUnsafe(c03, ref c, 3 * lanes);
        V.StoreUnsafe(c10, ref c, ldc); V.StoreUnsafe(c11, ref c, ldc + lanes); V.StoreUnsafe(c12, ref c, ldc + 2 * lanes); V.StoreUnsafe(c13, ref c, ldc + 3 * lanes);
        V.StoreUnsafe(c20, ref c, 2 * ldc); V.StoreUnsafe(c21, ref c, 2 * ldc + lanes); V.StoreUnsafe(c22, ref c, 2 * ldc + 2 * lanes); V.StoreUnsafe(c23, ref c, 2 * ldc + 3 * lanes);
    }

    /// <summary>Two rows by two panels (four vectors of columns): eight FMA chains, each vector of W loaded once for both rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ForwardTwoRowsPacked<V>(ref float a, int lda, ref float p0, ref float p1, ref float bias, bool hasBias, ref float c, int ldc, int k, int j, bool accumulate)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count, width = 2 * lanes;
        V c00, c01, c02, c03, c10, c11, c12, c13;
        if (accumulate)
        {
            c00 = V.LoadUnsafe(ref c, 0); c01 = V.LoadUnsafe(ref c, lanes); c02 = V.LoadUnsafe(ref c, 2 * lanes); c03 = V.LoadUnsafe(ref c, 3 * lanes);
            c10 = V.LoadUnsafe(ref c, ldc); c11 = V.LoadUnsafe(ref c, ldc + lanes); c12 = V.LoadUnsafe(ref c, ldc + 2 * lanes); c13 = V.LoadUnsafe(ref c, ldc + 3 * lanes);
        }
        else if (hasBias)
        {
            c00 = c10 = V.LoadUnsafe(ref bias, j); c01 = c11 = V.LoadUnsafe(ref bias, j + lanes);
            c02 = c12 = V.LoadUnsafe(ref bias, j + 2 * lanes); c03 = c13 = V.LoadUnsafe(ref bias, j + 3 * lanes);
        }
        else c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = V.Constant(0);
        ref float a1 = ref Unsafe.Add(ref a, lda);
        nint o = 0;
        for (int p = 0; p < k; p++, o += width)
        {
            V x0 = V.Constant(Unsafe.Add(ref a, p)), x1 = V.Constant(Unsafe.Add(ref a1, p));
            V w = V.LoadUnsafe(ref p0, o);
            V.MultiplyAddTo(ref c00, x0, w); V.MultiplyAddTo(ref c10, x1, w);
            w = V.LoadUnsafe(ref p0, o + lanes);
            V.MultiplyAddTo(ref c01, x0, w); V.MultiplyAddTo(ref c11, x1, w);
            w = V.LoadUnsafe(ref p1, o);
            V.MultiplyAddTo(ref c02, x0, w); V.MultiplyAddTo(ref c12, x1, w);
            w = V.LoadUnsafe(ref p1, o + lanes);
            V.MultiplyAddTo(ref c03, x0, w); V.MultiplyAddTo(ref c13, x1, w);
        }
        V.StoreUnsafe(c00, ref c, 0); V.StoreUnsafe(c01, ref c, lanes); V.StoreUnsafe(c02, ref c, 2 * lanes); V.StoreUnsafe(c03, ref c, 3 * lanes);
        V.StoreUnsafe(c10, ref c, ldc); V.StoreUnsafe(c11, ref c, ldc + lanes); V.StoreUnsafe(c12, ref c, ldc + 2 * lanes); V.StoreUnsafe(c13, ref c, ldc + 3 * lanes);
    }

    /// <summary>
    /// Rows of A up to which a product from W as it lies (not packed) reads W in place, four vectors of columns wide
    /// (<see cref="ForwardInPlace{V}"/>), instead of copying each panel first: a step's or a layer's batch. 256 gained
    /// at deep products and lost at shallow ones (`gemm`, best of two runs: 6400 x 512 x 2048 160-185 -> 192-198
    /// GFLOP/s, 600 x 128 x 512 209-225 -> 187-190), where a panel in L1 serves 256 rows better than W re-read from L2.
    /// </summary>
    private const int InPlaceRows = 64;

    /// <summary>
    /// Floats of W (this core's columns) up to which it is read in place, 4 MiB: every block of six rows reads them
    /// again, from L3 beyond L2's size, and still gained there (`gemm 64 512 2048`, 2 MiB per core: best 184-188 ->
    /// 214-219 GFLOP/s; `gemm 32 512 2048` 164-168 -> 183-200). Larger matrices were not measured: they pack.
    /// </summary>
    private const long InPlaceFloats = 1 << 20;

    /// <summary>
    /// Columns [j, end) of C in blocks of four vectors (64 floats with Vector512) for a few dozen rows, W read where it
    /// lies: up to six rows at a time (24 FMA chains), each row of W a contiguous run of 256 bytes, so that its cache
    /// sets do not thrash as a two-vector panel's rows 4 KiB apart do. Copying each panel first
    /// (the path for more rows) cost a quarter of the product: `matmul` [32, 256] x [256, 1024] 100 us, 77 from
    /// panels packed before; in place 6 x 64 matched the packed kernel on one core (84 us each for 512 columns).
    /// Returns the first column left. For 32 vector registers: with 16 (AVX2) the 24 sums would spill.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static int ForwardInPlace<V>(ref float a, int lda, ref float w, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int n, int j, int end, bool accumulate)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count, width = 4 * lanes, jEnd = j + (end - j) / width * width;
        if (jEnd == j) return j;
        // Six rows against all the columns, then the next six: W's rows are read along, and the hardware's prefetch
        // follows them (strip by strip, each strip re-read from L2 by every block of rows, was slower: 169-180 GFLOP/s
        // at [32, 256] x [256, 1024] against 187-194, `gemm`, best of three alternating runs).
        // The rows in as few blocks as six allow, as even as can be (32: four of five and two of six): each block
        // reads W once, so a remainder of one or two rows read row by row would read it as often as a block does.
        int blocks = (rows + 5) / 6;
        for (int b = 0, r = 0; b < blocks; b++)
        {
            int count = (rows - r) / (blocks - b);
            for (int jj = j; jj < jEnd; jj += width)
                SixRowsFourVectors<V>(ref Unsafe.Add(ref a, (nint)r * lda), lda, count, ref Unsafe.Add(ref w, jj), n, ref bias, hasBias, ref Unsafe.Add(ref c, (nint)r * ldc + jj), ldc, k, jj, accumulate);
            r += count;
        }
        return jEnd;
    }

    /// <summary>
    /// <paramref name="count"/> rows (1 to 6) by four vectors of columns from W in place (row p of the block at
    /// <paramref name="wj"/> + p n). Fewer than six compute the last row again in the sums left over, and store only
    /// their own: one code for every block, its 24 sums in registers.
    /// </summary>
    // Never inlined, whatever it asks: the JIT does not inline a method with this many locals. So it is compiled fully
    // optimised at once, as the other kernels are; marked for inlining only, it ran unoptimised until tiering caught
    // up, which on one processor (an MPI rank, a small container) took about 3 s: [32, 256] x [256, 1024] 10 ms a call,
    // then 0.2 (DOTNET_PROCESSOR_COUNT=1).
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void SixRowsFourVectors<V>(ref float a, int lda, int count, ref float wj, int n, ref float bias, bool hasBias, ref float c, int ldc, int k, int j, bool accumulate)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count;
        // Rows past count read (and accumulate from) the last row; they are not stored.
        nint a1 = Math.Min(1, count - 1) * lda, a2 = Math.Min(2, count - 1) * lda, a3 = Math.Min(3, count - 1) * lda, a4 = Math.Min(4, count - 1) * lda, a5 = Math.Min(5, count - 1) * lda;
        nint o1 = Math.Min(1, count - 1) * ldc, o2 = Math.Min(2, count - 1) * ldc, o3 = Math.Min(3, count - 1) * ldc, o4 = Math.Min(4, count - 1) * ldc, o5 = Math.Min(5, count - 1) * ldc;
        V c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33, c40, c41, c42, c43, c50, c51, c52, c53;
        if (accumulate)
        {
            LoadRow(ref c, lanes, out c00, out c01, out c02, out c03);
            LoadRow(ref Unsafe.Add(ref c, o1), lanes, out c10, out c11, out c12, out c13);
            LoadRow(ref Unsafe.Add(ref c, o2), lanes, out c20, out c21, out c22, out c23);
            LoadRow(ref Unsafe.Add(ref c, o3), lanes, out c30, out c31, out c32, out c33);
            LoadRow(ref Unsafe.Add(ref c, o4), lanes, out c40, out c41, out c42, out c43);
            LoadRow(ref Unsafe.Add(ref c, o5), lanes, out c50, out c51, out c52, out c53);
        }
        else
        {
            V b0 = hasBias ? V.LoadUnsafe(ref bias, j) : V.Constant(0), b1 = hasBias ? V.LoadUnsafe(ref bias, j + lanes) : V.Constant(0);
            V b2 = hasBias ? V.LoadUnsafe(ref bias, j + 2 * lanes) : V.Constant(0), b3 = hasBias ? V.LoadUnsafe(ref bias, j + 3 * lanes) : V.Constant(0);
            c00 = c10 = c20 = c30 = c40 = c50 = b0;
            c01 = c11 = c21 = c31 = c41 = c51 = b1;
            c02 = c12 = c22 = c32 = c42 = c52 = b2;
            c03 = c13 = c23 = c33 = c43 = c53 = b3;
        }
        for (int p = 0; p < k; p++)
        {
            ref float wp = ref Unsafe.Add(ref wj, (nint)p * n);
            V w0 = V.LoadUnsafe(ref wp, 0), w1 = V.LoadUnsafe(ref wp, lanes), w2 = V.LoadUnsafe(ref wp, 2 * lanes), w3 = V.LoadUnsafe(ref wp, 3 * lanes);
            ref float ap = ref Unsafe.Add(ref a, p);
            V x = V.Constant(ap);
            V.MultiplyAddTo(ref c00, x, w0); V.MultiplyAddTo(ref c01, x, w1); V.MultiplyAddTo(ref c02, x, w2); V.MultiplyAddTo(ref c03, x, w3);
            x = V.Constant(Unsafe.Add(ref ap, a1));
            V.MultiplyAddTo(ref c10, x, w0); V.MultiplyAddTo(ref c11, x, w1); V.MultiplyAddTo(ref c12, x, w2); V.MultiplyAddTo(ref c13, x, w3);
            x = V.Constant(Unsafe.Add(ref ap, a2));
            V.MultiplyAddTo(ref c20, x, w0); V.MultiplyAddTo(ref c21, x, w1); V.MultiplyAddTo(ref c22, x, w2); V.MultiplyAddTo(ref c23, x, w3);
            x = V.Constant(Unsafe.Add(ref ap, a3));
            V.MultiplyAddTo(ref c30, x, w0); V.MultiplyAddTo(ref c31, x, w1); V.MultiplyAddTo(ref c32, x, w2); V.MultiplyAddTo(ref c33, x, w3);
            x = V.Constant(Unsafe.Add(ref ap, a4));
            V.MultiplyAddTo(ref c40, x, w0); V.MultiplyAddTo(ref c41, x, w1); V.MultiplyAddTo(ref c42, x, w2); V.MultiplyAddTo(ref c43, x, w3);
            x = V.Constant(Unsafe.Add(ref ap, a5));
            V.MultiplyAddTo(ref c50, x, w0); V.MultiplyAddTo(ref c51, x, w1); V.MultiplyAddTo(ref c52, x, w2); V.MultiplyAddTo(ref c53, x, w3);
        }
        // Only the block's own rows are stored.
        StoreRow(ref c, lanes, c00, c01, c02, c03);
        if (count > 1) StoreRow(ref Unsafe.Add(ref c, ldc), lanes, c10, c11, c12, c13);
        if (count > 2) StoreRow(ref Unsafe.Add(ref c, 2 * ldc), lanes, c20, c21, c22, c23);
        if (count > 3) StoreRow(ref Unsafe.Add(ref c, 3 * ldc), lanes, c30, c31, c32, c33);
        if (count > 4) StoreRow(ref Unsafe.Add(ref c, 4 * ldc), lanes, c40, c41, c42, c43);
        if (count > 5) StoreRow(ref Unsafe.Add(ref c, 5 * ldc), lanes, c50, c51, c52, c53);
    }

    /// <summary>Four vectors of a row from <paramref name="row"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadRow<V>(ref float row, int lanes, out V v0, out V v1, out V v2, out V v3) where V : struct, IFloatLanes<V>
    {
        v0 = V.LoadUnsafe(ref row, 0); v1 = V.LoadUnsafe(ref row, lanes); v2 = V.LoadUnsafe(ref row, 2 * lanes); v3 = V.LoadUnsafe(ref row, 3 * lanes);
    }

    /// <summary>Four vectors into a row at <paramref name="row"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<V>(ref float row, int lanes, V v0, V v1, V v2, V v3) where V : struct, IFloatLanes<V>
    {
        V.StoreUnsafe(v0, ref row, 0); V.StoreUnsafe(v1, ref row, lanes); V.StoreUnsafe(v2, ref row, 2 * lanes); V.StoreUnsafe(v3, ref row, 3 * lanes);
    }

    /// <summary>
    /// One to three rows read in place (batch 1 when W is not packed): eight vectors of columns at a time, so that eight independent FMA
    /// chains hide the latency and each row of W is read as one contiguous run; then four at a time. The two blocks are
    /// alike because register blocking names every accumulator; four-wide alone was slower (lstm/b1-h128 forward 0.45
    /// to 0.49 ms against 0.36 to 0.38).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static int ForwardFewRows<V>(ref float a, int lda, ref float w, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int n, int j, int end, bool accumulate)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count, width = 8 * lanes;
        for (; j + width <= end; j += width)
            for (int r = 0; r < rows; r++)
            {
                V c0, c1, c2, c3, c4, c5, c6, c7;
                if (hasBias || accumulate)
                {
                    ref float b = ref accumulate ? ref Unsafe.Add(ref c, r * ldc + j) : ref Unsafe.Add(ref bias, j);
                    c0 = V.LoadUnsafe(ref b, 0); c1 = V.LoadUnsafe(ref b, lanes); c2 = V.LoadUnsafe(ref b, 2 * lanes); c3 = V.LoadUnsafe(ref b, 3 * lanes);
                    c4 = V.LoadUnsafe(ref b, 4 * lanes); c5 = V.LoadUnsafe(ref b, 5 * lanes); c6 = V.LoadUnsafe(ref b, 6 * lanes); c7 = V.LoadUnsafe(ref b, 7 * lanes);
                }
                else c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = V.Constant(0);
                ref float ar = ref Unsafe.Add(ref a, r * lda);
                for (int p = 0; p < k; p++)
                {
                    V x = V.Constant(Unsafe.Add(ref ar, p));
                    ref float wp = ref Unsafe.Add(ref w, p * n + j);
                    V.MultiplyAddTo(ref c0, x, V.LoadUnsafe(ref wp, 0)); V.MultiplyAddTo(ref c1, x, V.LoadUnsafe(ref wp, lanes));
                    V.MultiplyAddTo(ref c2, x, V.LoadUnsafe(ref wp, 2 * lanes)); V.MultiplyAddTo(ref c3, x, V.LoadUnsafe(ref wp, 3 * lanes));
                    V.MultiplyAddTo(ref c4, x, V.LoadUnsafe(ref wp, 4 * lanes)); V.MultiplyAddTo(ref c5, x, V.LoadUnsafe(ref wp, 5 * lanes));
                    V.MultiplyAddTo(ref c6, x, V.LoadUnsafe(ref wp, 6 * lanes)); V.MultiplyAddTo(ref c7, x, V.LoadUnsafe(ref wp, 7 * lanes));
                }
                ref float cr = ref Unsafe.Add(ref c, r * ldc + j);
                V.StoreUnsafe(c0, ref cr, 0); V.StoreUnsafe(c1, ref cr, lanes); V.StoreUnsafe(c2, ref cr, 2 * lanes); V.StoreUnsafe(c3, ref cr, 3 * lanes);
                V.StoreUnsafe(c4, ref cr, 4 * lanes); V.StoreUnsafe(c5, ref cr, 5 * lanes); V.StoreUnsafe(c6, ref cr, 6 * lanes); V.StoreUnsafe(c7, ref cr, 7 * lanes);
            }
        // Four vectors left (a half of TorchGru's 384 columns at batch 1): four chains rather than one after another.
        for (; j + 4 * lanes <= end; j += 4 * lanes)
            for (int r = 0; r < rows; r++)
            {
                ref float cr = ref Unsafe.Add(ref c, r * ldc + j);
                ref float b = ref accumulate ? ref cr : ref Unsafe.Add(ref bias, j);
                bool start = hasBias || accumulate;
                V c0 = start ? V.LoadUnsafe(ref b, 0) : V.Constant(0), c1 = start ? V.LoadUnsafe(ref b, lanes) : V.Constant(0);
                V c2 = start ? V.LoadUnsafe(ref b, 2 * lanes) : V.Constant(0), c3 = start ? V.LoadUnsafe(ref b, 3 * lanes) : V.Constant(0);
                ref float ar = ref Unsafe.Add(ref a, r * lda);
                for (int p = 0; p < k; p++)
                {
                    V x = V.Constant(Unsafe.Add(ref ar, p));
                    ref float wp = ref Unsafe.Add(ref w, p * n + j);
                    V.MultiplyAddTo(ref c0, x, V.LoadUnsafe(ref wp, 0)); V.MultiplyAddTo(ref c1, x, V.LoadUnsafe(ref wp, lanes));
                    V.MultiplyAddTo(ref c2, x, V.LoadUnsafe(ref wp, 2 * lanes)); V.MultiplyAddTo(ref c3, x, V.LoadUnsafe(ref wp, 3 * lanes));
                }
                V.StoreUnsafe(c0, ref cr, 0); V.StoreUnsafe(c1, ref cr, lanes); V.StoreUnsafe(c2, ref cr, 2 * lanes); V.StoreUnsafe(c3, ref cr, 3 * lanes);
            }
        return ForwardVectors<V>(ref a, lda, ref w, ref bias, hasBias, ref c, ldc, rows, k, n, j, end, accumulate);
    }

    /// <summary>
    /// The columns left over by the wider kernels, one vector at a time: eight rows at once, so that eight FMA chains
    /// hide the latency, then the rest one by one. All of a narrow product's columns come here (a head of 10 or 12
    /// outputs, the one column past 64 of 65): one chain per row was latency-bound, 4 to 6 times behind ONNX Runtime's
    /// MatMul (`matmul`, [512, 128] x [128, 12] 110 us against 19).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ForwardVectors<V>(ref float a, int lda, ref float w, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int n, int j, int end, bool accumulate)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count;
        for (; j + lanes <= end; j += lanes)
        {
            V init = hasBias ? V.LoadUnsafe(ref bias, j) : V.Constant(0);
            int r = 0;
            for (; r + 8 <= rows; r += 8)
            {
                ref float cr = ref Unsafe.Add(ref c, r * ldc + j);
                V c0 = accumulate ? V.LoadUnsafe(ref cr, 0) : init, c1 = accumulate ? V.LoadUnsafe(ref cr, ldc) : init;
                V c2 = accumulate ? V.LoadUnsafe(ref cr, 2 * ldc) : init, c3 = accumulate ? V.LoadUnsafe(ref cr, 3 * ldc) : init;
                V c4 = accumulate ? V.LoadUnsafe(ref cr, 4 * ldc) : init, c5 = accumulate ? V.LoadUnsafe(ref cr, 5 * ldc) : init;
                V c6 = accumulate ? V.LoadUnsafe(ref cr, 6 * ldc) : init, c7 = accumulate ? V.LoadUnsafe(ref cr, 7 * ldc) : init;
                ref float ar = ref Unsafe.Add(ref a, r * lda);
                for (int p = 0; p < k; p++)
                {
                    V wv = V.LoadUnsafe(ref w, (nint)p * n + j);
                    ref float ap = ref Unsafe.Add(ref ar, p);
                    V.MultiplyAddTo(ref c0, V.Constant(ap), wv);
                    V.MultiplyAddTo(ref c1, V.Constant(Unsafe.Add(ref ap, lda)), wv);
                    V.MultiplyAddTo(ref c2, V.Constant(Unsafe.Add(ref ap, 2 * lda)), wv);
                    V.MultiplyAddTo(ref c3, V.Constant(Unsafe.Add(ref ap, 3 * lda)), wv);
                    V.MultiplyAddTo(ref c4, V.Constant(Unsafe.Add(ref ap, 4 * lda)), wv);
                    V.MultiplyAddTo(ref c5, V.Constant(Unsafe.Add(ref ap, 5 * lda)), wv);
                    V.MultiplyAddTo(ref c6, V.Constant(Unsafe.Add(ref ap, 6 * lda)), wv);
                    V.MultiplyAddTo(ref c7, V.Constant(Unsafe.Add(ref ap, 7 * lda)), wv);
                }
                V.StoreUnsafe(c0, ref cr, 0); V.StoreUnsafe(c1, ref cr, ldc); V.StoreUnsafe(c2, ref cr, 2 * ldc); V.StoreUnsafe(c3, ref cr, 3 * ldc);
                V.StoreUnsafe(c4, ref cr, 4 * ldc); V.StoreUnsafe(c5, ref cr, 5 * ldc); V.StoreUnsafe(c6, ref cr, 6 * ldc); V.StoreUnsafe(c7, ref cr, 7 * ldc);
            }
            for (; r < rows; r++)
            {
                V c0 = accumulate ? V.LoadUnsafe(ref c, r * ldc + j) : init;
                ref float ar = ref Unsafe.Add(ref a, r * lda);
                for (int p = 0; p < k; p++) V.MultiplyAddTo(ref c0, V.Constant(Unsafe.Add(ref ar, p)), V.LoadUnsafe(ref w, (nint)p * n + j));
                V.StoreUnsafe(c0, ref c, r * ldc + j);
            }
        }
        return j;
    }

    /// <summary>Copies <paramref name="count"/> rows of two vectors, <paramref name="stride"/> floats apart, into the contiguous panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ref float Pack<V>(ref float source, int stride, int count, float[] panel) where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count;
        ref float packed = ref panel[0];
        for (int i = 0; i < count; i++)
        {
            V.StoreUnsafe(V.LoadUnsafe(ref source, i * stride), ref packed, i * 2 * lanes);
            V.StoreUnsafe(V.LoadUnsafe(ref source, i * stride + lanes), ref packed, i * 2 * lanes + lanes);
        }
        return ref packed;
    }

    [ThreadStatic] private static float[]? t_panel;

    /// <summary>This thread's panel buffer, grown to at least <paramref name="length"/>.</summary>
    private static float[] Panel(int length) => Grown(ref t_panel, length);

    /// <summary><paramref name="buffer"/>, replaced by a larger one when it is shorter than <paramref name="length"/> (allocates only when it grows).</summary>
    private static float[] Grown(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length) buffer = new float[Math.Max(length, 4096)];
        return buffer;
    }

    /// <summary>
    /// Copies the first <paramref name="grouped"/> columns of <paramref name="count"/> rows of A, <paramref name="lda"/>
    /// floats apart, in groups of six up to <paramref name="sixes"/> and of four after it, so that each group's columns
    /// lie contiguous, row after row: packed[p * count + g * r + i] = A[r, p + i] for a group of g columns from p.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackGroups(ref float a, int lda, int count, int sixes, int grouped, float[] packed)
    {
        ref float target = ref packed[0];
        // Group by group, row after row: the writes run on, and the rows' lines read for one group are still in L1 for the next.
        for (int p = 0, g; p < grouped; p += g)
        {
            g = p < sixes ? 6 : 4;
            ref float group = ref Unsafe.Add(ref target, p * count);
            for (int r = 0; r < count; r++)
            {
                ref float row = ref Unsafe.Add(ref a, r * lda + p);
                ref float to = ref Unsafe.Add(ref group, g * r);
                for (int i = 0; i < g; i++) Unsafe.Add(ref to, i) = Unsafe.Add(ref row, i);
            }
        }
    }

    [ThreadStatic] private static float[]? t_packedRows;

    /// <summary>This thread's buffer for rows of A packed by <see cref="PackGroups"/>, grown to at least <paramref name="length"/>.</summary>
    private static float[] PackedRows(int length) => Grown(ref t_packedRows, length);

    /// <summary>dA (+)= dC Wᵀ for rows [start, end): dot products of dC rows with W rows, four rows by two W rows at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardData(ref float dc, int lddc, ref float w, ref float da, int ldda, int start, int end, int k, int n, bool accumulate)
    {
        if (Vector512.IsHardwareAccelerated) BackwardData<F32x16>(ref dc, lddc, ref w, ref da, ldda, start, end, k, n, accumulate);
        else if (Vector256.IsHardwareAccelerated) BackwardData<F32x8>(ref dc, lddc, ref w, ref da, ldda, start, end, k, n, accumulate);
        else if (Vector128.IsHardwareAccelerated) BackwardData<F32x4>(ref dc, lddc, ref w, ref da, ldda, start, end, k, n, accumulate);
        else BackwardData<F32x1>(ref dc, lddc, ref w, ref da, ldda, start, end, k, n, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void BackwardData<V>(ref float dc, int lddc, ref float w, ref float da, int ldda, int start, int end, int k, int n, bool accumulate)
        where V : struct, IFloatLanes<V>
    {
        int r = start;
        for (; r + 4 <= end; r += 4)
        {
            int p = 0;
            ref float x = ref Unsafe.Add(ref dc, r * lddc);
            for (; p + 2 <= k; p += 2)
            {
                ref float y = ref Unsafe.Add(ref w, p * n);
                int lanes = V.Count, j = 0;
                V a00 = V.Constant(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
                for (; j + lanes <= n; j += lanes)
                {
                    V y0 = V.LoadUnsafe(ref y, j), y1 = V.LoadUnsafe(ref y, n + j);
                    V x0 = V.LoadUnsafe(ref x, j), x1 = V.LoadUnsafe(ref x, lddc + j), x2 = V.LoadUnsafe(ref x, 2 * lddc + j), x3 = V.LoadUnsafe(ref x, 3 * lddc + j);
                    V.MultiplyAddTo(ref a00, x0, y0); V.MultiplyAddTo(ref a01, x0, y1);
                    V.MultiplyAddTo(ref a10, x1, y0); V.MultiplyAddTo(ref a11, x1, y1);
                    V.MultiplyAddTo(ref a20, x2, y0); V.MultiplyAddTo(ref a21, x2, y1);
                    V.MultiplyAddTo(ref a30, x3, y0); V.MultiplyAddTo(ref a31, x3, y1);
                }
                float s00 = V.Sum(a00), s01 = V.Sum(a01), s10 = V.Sum(a10), s11 = V.Sum(a11);
                float s20 = V.Sum(a20), s21 = V.Sum(a21), s30 = V.Sum(a30), s31 = V.Sum(a31);
                for (; j < n; j++)
                {
                    float y0 = Unsafe.Add(ref y, j), y1 = Unsafe.Add(ref y, n + j);
                    float x0 = Unsafe.Add(ref x, j), x1 = Unsafe.Add(ref x, lddc + j), x2 = Unsafe.Add(ref x, 2 * lddc + j), x3 = Unsafe.Add(ref x, 3 * lddc + j);
                    s00 += x0 * y0; s01 += x0 * y1; s10 += x1 * y0; s11 += x1 * y1;
                    s20 += x2 * y0; s21 += x2 * y1; s30 += x3 * y0; s31 += x3 * y1;
                }
                Put(ref da, r * ldda + p, s00, accumulate); Put(ref da, r * ldda + p + 1, s01, accumulate);
                Put(ref da, (r + 1) * ldda + p, s10, accumulate); Put(ref da, (r + 1) * ldda + p + 1, s11, accumulate);
                Put(ref da, (r + 2) * ldda + p, s20, accumulate); Put(ref da, (r + 2) * ldda + p + 1, s21, accumulate);
                Put(ref da, (r + 3) * ldda + p, s30, accumulate); Put(ref da, (r + 3) * ldda + p + 1, s31, accumulate);
            }
            for (; p < k; p++)
                for (int i = 0; i < 4; i++)
                    Put(ref da, (r + i) * ldda + p, Dot<V>(ref Unsafe.Add(ref dc, (r + i) * lddc), ref Unsafe.Add(ref w, p * n), n), accumulate);
        }
        for (; r < end; r++)
            for (int p = 0; p < k; p++)
                Put(ref da, r * ldda + p, Dot<V>(ref Unsafe.Add(ref dc, r * lddc), ref Unsafe.Add(ref w, p * n), n), accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(ref float origin, int offset, float value, bool accumulate)
    {
        ref float target = ref Unsafe.Add(ref origin, offset);
        target = accumulate ? target + value : value;
    }

    private static float Dot<V>(ref float x, ref float y, int n) where V : struct, IFloatLanes<V>
    {
        // Four independent chains: a dot product of a few hundred values is otherwise bound by the FMA latency.
        V acc0 = V.Constant(0), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        int lanes = V.Count, j = 0;
        for (; j + 4 * lanes <= n; j += 4 * lanes)
        {
            V.MultiplyAddTo(ref acc0, V.LoadUnsafe(ref x, j), V.LoadUnsafe(ref y, j));
            V.MultiplyAddTo(ref acc1, V.LoadUnsafe(ref x, j + lanes), V.LoadUnsafe(ref y, j + lanes));
            V.MultiplyAddTo(ref acc2, V.LoadUnsafe(ref x, j + 2 * lanes), V.LoadUnsafe(ref y, j + 2 * lanes));
            V.MultiplyAddTo(ref acc3, V.LoadUnsafe(ref x, j + 3 * lanes), V.LoadUnsafe(ref y, j + 3 * lanes));
        }
        for (; j + lanes <= n; j += lanes) V.MultiplyAddTo(ref acc0, V.LoadUnsafe(ref x, j), V.LoadUnsafe(ref y, j));
        float sum = V.Sum((acc0 + acc1) + (acc2 + acc3));
        for (; j < n; j++) sum += Unsafe.Add(ref x, j) * Unsafe.Add(ref y, j);
        return sum;
    }

    /// <summary>
    /// dW += Aᵀ dC for columns [start, end), and for the same columns <paramref name="partStride"/> further on in each
    /// of <paramref name="parts"/> parts (the gates of a block, which read the same columns of A: packed once for all).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardWeights(ref float a, int lda, ref float dc, int lddc, ref float dw, int rows, int k, int n, int start, int end, int parts = 1, int partStride = 0)
    {
        int j = start;
        if (Vector512.IsHardwareAccelerated) j = WeightPanels<F32x16>(ref a, lda, ref dc, lddc, ref dw, rows, k, n, j, end, parts, partStride);
        if (Vector256.IsHardwareAccelerated) j = WeightPanels<F32x8>(ref a, lda, ref dc, lddc, ref dw, rows, k, n, j, end, parts, partStride);
        if (Vector128.IsHardwareAccelerated) j = WeightPanels<F32x4>(ref a, lda, ref dc, lddc, ref dw, rows, k, n, j, end, parts, partStride);
        WeightPanels<F32x1>(ref a, lda, ref dc, lddc, ref dw, rows, k, n, j, end, parts, partStride);
    }

    /// <summary>
    /// dW += Aᵀ dC for columns p * partWidth + [start, end) of every part p of a block-diagonal W stored as in
    /// <see cref="ForwardBlocks"/>: each block's columns from A's columns of that block.
    /// </summary>
    public static void BackwardWeightsBlocks(ref float a, int lda, ref float dc, int lddc, ref float dw, int rows, int k, int parts, int partWidth, int blocks, int start, int end)
    {
        int kb = k / blocks, rb = partWidth / blocks, n = parts * partWidth, depth = parts * rb;
        for (int u = start; u < end;)
        {
            int block = u / rb, uEnd = Math.Min(end, (block + 1) * rb);
            ref float ab = ref Unsafe.Add(ref a, block * kb);
            // Few rows write each part's columns of dW in place (one product over every part, A's columns packed once):
            // gathered sums cost three more passes over the block's weights (clear, add, and the gathered copy), which
            // only a long sum per weight pays for (50 rows of b1-h512: 2.9x the full matrix's speed part by part, 1.4x
            // gathered).
            if (parts == 1 || u != block * rb || uEnd != (block + 1) * rb || rows < depth)
            {
                BackwardWeights(ref ab, lda, ref dc, lddc, ref dw, rows, kb, n, u, uEnd, parts, partWidth);
                u = uEnd;
                continue;
            }
            // A whole block of several parts: one product of the block's columns of A by dC's columns of the block,
            // gathered from every part (in chunks of rows), into sums added to dW's columns of the block after. Part by
            // part, each product packed the same columns of A again, for a quarter of the work (sLSTM b32-h256, 50
            // steps: 2.2x faster than the full matrix's gradient where 4x is the work).
            int chunk = Math.Min(rows, Math.Max(ForwardChunkFloats / depth, 16));
            float[] gathered = Gathered(chunk * depth), sums = BlockSums(kb * depth);
            Array.Clear(sums, 0, kb * depth);
            for (int first = 0; first < rows; first += chunk)
            {
                int count = Math.Min(chunk, rows - first);
                GatherBlock(ref Unsafe.Add(ref dc, (nint)first * lddc + block * rb), lddc, count, parts, partWidth, rb, gathered);
                BackwardWeights(ref Unsafe.Add(ref ab, (nint)first * lda), lda, ref gathered[0], depth, ref sums[0], count, kb, depth, 0, depth);
            }
            for (int c = 0; c < kb; c++)
                for (int p = 0; p < parts; p++)
                {
                    ref float target = ref Unsafe.Add(ref dw, (nint)c * n + p * partWidth + block * rb);
                    for (int i = 0; i < rb; i++) Unsafe.Add(ref target, i) += sums[c * depth + p * rb + i];
                }
            u = uEnd;
        }
    }

    [ThreadStatic] private static float[]? t_blockSums;

    /// <summary>This thread's buffer for a block's weight gradient over every part, grown to at least <paramref name="length"/>.</summary>
    private static float[] BlockSums(int length) => Grown(ref t_blockSums, length);

    /// <summary>
    /// dA (+)= dC Wᵀ for the blocks [start, end) of a block-diagonal W, from wT laid out by Gemm.TransposeBlocks (block
    /// by block, each block's rows of every part together, [parts * partWidth / blocks, k / blocks]) and its panels
    /// (one packed matrix per block, <paramref name="panelLanes"/> 0 when none): block b's columns of dA are one product
    /// of dC's columns of block b, gathered from every part into a row of their own, by block b's rows of wT.
    /// </summary>
    public static void BackwardDataBlocks(ref float dc, int lddc, ref float wT, ref float panels, int panelLanes, int matrixFloats, ref float da, int ldda, int rows, int k, int parts, int partWidth, int blocks, int start, int end, bool accumulate)
    {
        int kb = k / blocks, rb = partWidth / blocks, depth = parts * rb;
        // Many rows (a product hoisted out of the time loop) go in chunks, so that the gathered rows stay a chunk's.
        int chunk = Math.Min(rows, RowChunk(depth));
        // A few rows from packed panels take four blocks at once, reading dC in place: per block, a block of one panel
        // is a product of 2 FMA chains (Slstm's step at b1-h128, heads of 32: four such products ran no faster than
        // the full matrix's one).
        if (rows < 4 && panelLanes > 0 && kb % (2 * panelLanes) == 0)
            for (; start + 4 <= end; start += 4)
                for (int j = 0; j < kb; j += 2 * panelLanes)
                {
                    ref float first = ref Unsafe.Add(ref dc, start * rb);
                    ref float blockPanels = ref Unsafe.Add(ref panels, (nint)start * matrixFloats);
                    ref float firstDa = ref Unsafe.Add(ref da, start * kb + j);
                    if (panelLanes == 16) FourBlocksFewRows<F32x16>(ref first, lddc, ref blockPanels, matrixFloats, ref firstDa, ldda, rows, parts, partWidth, rb, kb, j, accumulate);
                    else if (panelLanes == 8) FourBlocksFewRows<F32x8>(ref first, lddc, ref blockPanels, matrixFloats, ref firstDa, ldda, rows, parts, partWidth, rb, kb, j, accumulate);
                    else FourBlocksFewRows<F32x4>(ref first, lddc, ref blockPanels, matrixFloats, ref firstDa, ldda, rows, parts, partWidth, rb, kb, j, accumulate);
                }
        if (start == end) return;
        float[]? gathered = parts > 1 ? Gathered(chunk * depth) : null;
        for (int block = start; block < end; block++)
        {
            ref float blockPanels = ref panelLanes == 0 ? ref Unsafe.NullRef<float>() : ref Unsafe.Add(ref panels, (nint)block * matrixFloats);
            for (int first = 0; first < rows; first += chunk)
            {
                int count = Math.Min(chunk, rows - first);
                ref float operand = ref Unsafe.Add(ref dc, (nint)first * lddc + block * rb);
                int stride = lddc;
                if (gathered is not null)
                {
                    // count * parts * rb floats copied, for a product of count * parts * rb * kb.
                    GatherBlock(ref operand, lddc, count, parts, partWidth, rb, gathered);
                    operand = ref gathered[0];
                    stride = depth;
                }
                Forward(ref operand, stride, ref Unsafe.Add(ref wT, (nint)block * depth * kb), ref blockPanels, panelLanes, ref Unsafe.NullRef<float>(), false,
                    ref Unsafe.Add(ref da, (nint)first * ldda + block * kb), ldda, count, depth, kb, 0, kb, accumulate);
            }
        }
    }

    /// <summary>
    /// dA (+)= dC Wᵀ for 1 to 3 rows, four blocks and one panel of each (columns j to j + 2 lanes of each block's
    /// <paramref name="kb"/>): eight FMA chains per row. Block i's operand is its columns of every part of dC, read in
    /// place from <paramref name="dc"/> + i * rb (parts <paramref name="partWidth"/> apart, <paramref name="rb"/>
    /// columns each), in the order its panels hold them; its panels are <paramref name="matrixFloats"/> after block
    /// i - 1's, and its columns of dA <paramref name="kb"/> after.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void FourBlocksFewRows<V>(ref float dc, int lddc, ref float panels, int matrixFloats, ref float da, int ldda, int rows, int parts, int partWidth, int rb, int kb, int j, bool accumulate)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count, width = 2 * lanes;
        ref float p0 = ref Unsafe.Add(ref panels, j / width * ((nint)parts * rb * width));
        ref float p1 = ref Unsafe.Add(ref p0, matrixFloats);
        ref float p2 = ref Unsafe.Add(ref p1, matrixFloats);
        ref float p3 = ref Unsafe.Add(ref p2, matrixFloats);
        for (int r = 0; r < rows; r++)
        {
            ref float cr = ref Unsafe.Add(ref da, r * ldda);
            V c0, c1, c2, c3, c4, c5, c6, c7;
            if (accumulate) LoadFourPairs(ref cr, lanes, kb, out c0, out c1, out c2, out c3, out c4, out c5, out c6, out c7);
            else c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = V.Constant(0);
            nint o = 0;
            for (int p = 0; p < parts; p++)
            {
                ref float ap = ref Unsafe.Add(ref dc, r * lddc + p * partWidth);
                for (int u = 0; u < rb; u++, o += width)
                {
                    V x = V.Constant(Unsafe.Add(ref ap, u));
                    V.MultiplyAddTo(ref c0, x, V.LoadUnsafe(ref p0, o)); V.MultiplyAddTo(ref c1, x, V.LoadUnsafe(ref p0, o + lanes));
                    x = V.Constant(Unsafe.Add(ref ap, rb + u));
                    V.MultiplyAddTo(ref c2, x, V.LoadUnsafe(ref p1, o)); V.MultiplyAddTo(ref c3, x, V.LoadUnsafe(ref p1, o + lanes));
                    x = V.Constant(Unsafe.Add(ref ap, 2 * rb + u));
                    V.MultiplyAddTo(ref c4, x, V.LoadUnsafe(ref p2, o)); V.MultiplyAddTo(ref c5, x, V.LoadUnsafe(ref p2, o + lanes));
                    x = V.Constant(Unsafe.Add(ref ap, 3 * rb + u));
                    V.MultiplyAddTo(ref c6, x, V.LoadUnsafe(ref p3, o)); V.MultiplyAddTo(ref c7, x, V.LoadUnsafe(ref p3, o + lanes));
                }
            }
            StoreFourPairs(ref cr, lanes, kb, c0, c1, c2, c3, c4, c5, c6, c7);
        }
    }

    /// <summary>
    /// A block's columns of every part, side by side, for <paramref name="count"/> rows: from <paramref name="first"/>
    /// (the block's first column of part 0 in the first row; rows <paramref name="stride"/> floats apart, parts
    /// <paramref name="partWidth"/> apart, <paramref name="width"/> columns each) into the rows of
    /// <paramref name="gathered"/>, parts * width floats each.
    /// </summary>
    private static void GatherBlock(ref float first, int stride, int count, int parts, int partWidth, int width, float[] gathered)
    {
        int depth = parts * width;
        for (int r = 0; r < count; r++)
            for (int p = 0; p < parts; p++)
                Unsafe.CopyBlockUnaligned(ref Unsafe.As<float, byte>(ref gathered[r * depth + p * width]),
                    ref Unsafe.As<float, byte>(ref Unsafe.Add(ref first, (nint)r * stride + p * partWidth)), (uint)width * sizeof(float));
    }

    [ThreadStatic] private static float[]? t_gathered;

    /// <summary>This thread's buffer for a block's columns of dC gathered from every part, grown to at least <paramref name="length"/>.</summary>
    private static float[] Gathered(int length) => Grown(ref t_gathered, length);

    /// <summary>
    /// For four rows of dW and two vectors of columns, the sum over a chunk of rows of A stays in registers. The rows
    /// (the sum) go in chunks: the chunk of A, packed so that the four values each step broadcasts lie together, stays
    /// in L2 while every panel of dC passes over it, and each packed chunk of a dC panel stays in L1 while every row
    /// of dW passes over it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static int WeightPanels<V>(ref float a, int lda, ref float dc, int lddc, ref float dw, int rows, int k, int n, int j, int end, int parts, int partStride)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count, width = 2 * lanes;
        int panelsEnd = j + (end - j) / width * width;
        // As in Forward: rows of dC lie n floats apart and rows of A lda floats apart, often multiples of 4 KiB, which
        // map to few cache sets; with enough reuse both are copied into contiguous buffers first.
        bool pack = k >= 8 && V.Count > 1;
        // Columns of A in groups of six (one row of dW each, as the forward kernel's six rows), then one of four, then
        // one at a time.
        int sixes = pack ? k / 6 * 6 : 0;
        // Two columns left would go one at a time, two FMA chains each, bound by their latency: one six fewer leaves two
        // fours (k = 32, a block of the Slstm's heads at h128; k = 128, 512).
        if (sixes >= 6 && (k - sixes) % 4 == 2) sixes -= 6;
        int grouped = pack ? sixes + (k - sixes) / 4 * 4 : 0;
        // A chunk of packed A (at most 512 KiB) stays in L2, and a chunk of a dC panel (at most 256 rows of two
        // vectors: 32 KiB with Vector512) mostly in L1. Single core, [6400, 512] x [512, 2048]: 41 GFLOP/s with A read
        // in place in chunks of 256 rows, 56 with A packed in chunks of 128, 70 in chunks of 256.
        int chunk = RowChunk(k);
        float[]? panel = pack ? Panel(Math.Min(rows, chunk) * width) : null;
        float[]? packedA = pack ? PackedRows(Math.Min(rows, chunk) * grouped) : null;
        for (int first = 0; first < rows; first += chunk)
        {
            int count = Math.Min(chunk, rows - first);
            ref float ac = ref Unsafe.Add(ref a, first * lda);
            if (packedA is not null && panelsEnd > j) PackGroups(ref ac, lda, count, sixes, grouped, packedA);
            for (int part = 0; part < parts; part++)
                for (int jj = j + part * partStride; jj < panelsEnd + part * partStride; jj += width)
                {
                    ref float g = ref Unsafe.Add(ref dc, first * lddc + jj);
                    int stride = lddc;
                    if (panel is not null)
                    {
                        g = ref Pack<V>(ref g, lddc, count, panel);
                        stride = width;
                    }
                    int p = 0;
                    for (; p < sixes; p += 6) WeightSixRows<V>(ref Unsafe.Add(ref dw, p * n + jj), n, ref packedA![p * count], ref g, stride, count);
                    for (; p < grouped; p += 4) WeightFourRows<V>(ref Unsafe.Add(ref dw, p * n + jj), n, ref packedA![p * count], ref g, stride, count);
                    for (; p < k; p++)
                    {
                        V c0 = V.LoadUnsafe(ref dw, p * n + jj), c1 = V.LoadUnsafe(ref dw, p * n + jj + lanes);
                        for (int r = 0; r < count; r++)
                        {
                            V x = V.Constant(Unsafe.Add(ref ac, r * lda + p));
                            V.MultiplyAddTo(ref c0, x, V.LoadUnsafe(ref g, r * stride));
                            V.MultiplyAddTo(ref c1, x, V.LoadUnsafe(ref g, r * stride + lanes));
                        }
                        V.StoreUnsafe(c0, ref dw, p * n + jj);
                        V.StoreUnsafe(c1, ref dw, p * n + jj + lanes);
                    }
                }
        }
        j = panelsEnd;
        for (; j + lanes <= end; j += lanes)
            for (int part = 0; part < parts; part++)
                for (int p = 0, jj = j + part * partStride; p < k; p++)
                {
                    V c0 = V.LoadUnsafe(ref dw, p * n + jj);
                    for (int r = 0; r < rows; r++) V.MultiplyAddTo(ref c0, V.Constant(Unsafe.Add(ref a, r * lda + p)), V.LoadUnsafe(ref dc, r * lddc + jj));
                    V.StoreUnsafe(c0, ref dw, p * n + jj);
                }
        return j;
    }

    /// <summary>
    /// Six rows of dW by two vectors += the sum over <paramref name="count"/> rows of six packed columns of A times a
    /// packed panel of dC: twelve accumulators, as <see cref="ForwardSixRows{V}"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WeightSixRows<V>(ref float d, int n, ref float x, ref float g, int stride, int count)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count;
        V c00 = V.LoadUnsafe(ref d, 0), c01 = V.LoadUnsafe(ref d, lanes);
        V c10 = V.LoadUnsafe(ref d, n), c11 = V.LoadUnsafe(ref d, n + lanes);
        V c20 = V.LoadUnsafe(ref d, 2 * n), c21 = V.LoadUnsafe(ref d, 2 * n + lanes);
        V c30 = V.LoadUnsafe(ref d, 3 * n), c31 = V.LoadUnsafe(ref d, 3 * n + lanes);
        V c40 = V.LoadUnsafe(ref d, 4 * n), c41 = V.LoadUnsafe(ref d, 4 * n + lanes);
        V c50 = V.LoadUnsafe(ref d, 5 * n), c51 = V.LoadUnsafe(ref d, 5 * n + lanes);
        for (int r = 0; r < count; r++)
        {
            V g0 = V.LoadUnsafe(ref g, 0), g1 = V.LoadUnsafe(ref g, lanes);
            V s = V.Constant(x);
            V.MultiplyAddTo(ref c00, s, g0); V.MultiplyAddTo(ref c01, s, g1);
            s = V.Constant(Unsafe.Add(ref x, 1));
            V.MultiplyAddTo(ref c10, s, g0); V.MultiplyAddTo(ref c11, s, g1);
            s = V.Constant(Unsafe.Add(ref x, 2));
            V.MultiplyAddTo(ref c20, s, g0); V.MultiplyAddTo(ref c21, s, g1);
            s = V.Constant(Unsafe.Add(ref x, 3));
            V.MultiplyAddTo(ref c30, s, g0); V.MultiplyAddTo(ref c31, s, g1);
            s = V.Constant(Unsafe.Add(ref x, 4));
            V.MultiplyAddTo(ref c40, s, g0); V.MultiplyAddTo(ref c41, s, g1);
            s = V.Constant(Unsafe.Add(ref x, 5));
            V.MultiplyAddTo(ref c50, s, g0); V.MultiplyAddTo(ref c51, s, g1);
            x = ref Unsafe.Add(ref x, 6);
            g = ref Unsafe.Add(ref g, stride);
        }
        V.StoreUnsafe(c00, ref d, 0); V.StoreUnsafe(c01, ref d, lanes);
        V.StoreUnsafe(c10, ref d, n); V.StoreUnsafe(c11, ref d, n + lanes);
        V.StoreUnsafe(c20, ref d, 2 * n); V.StoreUnsafe(c21, ref d, 2 * n + lanes);
        V.StoreUnsafe(c30, ref d, 3 * n); V.StoreUnsafe(c31, ref d, 3 * n + lanes);
        V.StoreUnsafe(c40, ref d, 4 * n); V.StoreUnsafe(c41, ref d, 4 * n + lanes);
        V.StoreUnsafe(c50, ref d, 5 * n); V.StoreUnsafe(c51, ref d, 5 * n + lanes);
    }

    /// <summary><see cref="WeightSixRows{V}"/> for a group of four columns (the rest of k after the sixes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WeightFourRows<V>(ref float d, int n, ref float x, ref float g, int stride, int count)
        where V : struct, IFloatLanes<V>
    {
        int lanes = V.Count;
        V c00 = V.LoadUnsafe(ref d, 0), c01 = V.LoadUnsafe(ref d, lanes);
        V c10 = V.LoadUnsafe(ref d, n), c11 = V.LoadUnsafe(ref d, n + lanes);
        V c20 = V.LoadUnsafe(ref d, 2 * n), c21 = V.LoadUnsafe(ref d, 2 * n + lanes);
        V c30 = V.LoadUnsafe(ref d, 3 * n), c31 = V.LoadUnsafe(ref d, 3 * n + lanes);
        for (int r = 0; r < count; r++)
        {
            V g0 = V.LoadUnsafe(ref g, 0), g1 = V.LoadUnsafe(ref g, lanes);
            V s = V.Constant(x);
            V.MultiplyAddTo(ref c00, s, g0); V.MultiplyAddTo(ref c01, s, g1);
            s = V.Constant(Unsafe.Add(ref x, 1));
            V.MultiplyAddTo(ref c10, s, g0); V.MultiplyAddTo(ref c11, s, g1);
            s = V.Constant(Unsafe.Add(ref x, 2));
            V.MultiplyAddTo(ref c20, s, g0); V.MultiplyAddTo(ref c21, s, g1);
            s = V.Constant(Unsafe.Add(ref x, 3));
            V.MultiplyAddTo(ref c30, s, g0); V.MultiplyAddTo(ref c31, s, g1);
            x = ref Unsafe.Add(ref x, 4);
            g = ref Unsafe.Add(ref g, stride);
        }
        V.StoreUnsafe(c00, ref d, 0); V.StoreUnsafe(c01, ref d, lanes);
        V.StoreUnsafe(c10, ref d, n); V.StoreUnsafe(c11, ref d, n + lanes);
        V.StoreUnsafe(c20, ref d, 2 * n); V.StoreUnsafe(c21, ref d, 2 * n + lanes);
        V.StoreUnsafe(c30, ref d, 3 * n); V.StoreUnsafe(c31, ref d, 3 * n + lanes);
    }
}
