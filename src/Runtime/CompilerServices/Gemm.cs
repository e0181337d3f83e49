using System;
using System.ComponentModel;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CellGen.CompilerServices;

/// <summary>
/// The matrix products of a cell. A weight buffer is stored [K, N] row-major: row k holds the weights that multiply
/// operand element k, for all N outputs (every gate of a fused product side by side).
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)] // called by generated code, not written by users
public static partial class Gemm
{
    private const int RowBlock = 4;

    /// <summary>C[rows, n] = A[rows, k] @ W[k, n] (+ bias[n] when given).</summary>
    public static void Forward<T>(ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> w, ReadOnlySpan<T> bias, Span<T> c, int ldc, int rows, int k, int n)
        where T : unmanaged, INumberBase<T> =>
        Forward(a, lda, w, null, bias, c, ldc, rows, k, n);

    /// <summary>
    /// C[rows, n] = A[rows, k] @ W[k, n] (+ bias[n] when given), reading W's panels from <paramref name="packed"/>,
    /// packed from W when they are first needed after <see cref="PackedWeights{T}.Invalidate"/>.
    /// </summary>
    public static void Forward<T>(ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> w, PackedWeights<T>? packed, ReadOnlySpan<T> bias, Span<T> c, int ldc, int rows, int k, int n)
        where T : unmanaged, INumberBase<T>
    {
        CheckForward(a, lda, w, packed, bias, c, ldc, rows, k, n);
        if (typeof(T) == typeof(float))
        {
            if (rows == 0 || n == 0) return;
            Workers.Forward(ref Single(a), lda, ref Single(w), ref Panels(packed), packed?.PanelsFor(w, rows) ?? 0, ref Single(bias), !bias.IsEmpty, ref Single(c), ldc, rows, k, n, accumulate: false);
            return;
        }
        int width = Vector<T>.Count;
        ref T wRef = ref MemoryMarshal.GetReference(w);
        for (int r0 = 0; r0 < rows; r0 += RowBlock)
        {
            int block = Math.Min(RowBlock, rows - r0);
            int j = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; j <= n - width; j += width)
                {
                    Vector<T> init = bias.IsEmpty ? Vector<T>.Zero : new Vector<T>(bias.Slice(j));
                    Vector<T> acc0 = init, acc1 = init, acc2 = init, acc3 = init;
                    for (int p = 0; p < k; p++)
                    {
                        Vector<T> wv = Vector.LoadUnsafe(ref wRef, (nuint)(p * n + j));
                        acc0 += new Vector<T>(a[r0 * lda + p]) * wv;
                        if (block > 1) acc1 += new Vector<T>(a[(r0 + 1) * lda + p]) * wv;
                        if (block > 2) acc2 += new Vector<T>(a[(r0 + 2) * lda + p]) * wv;
                        if (block > 3) acc3 += new Vector<T>(a[(r0 + 3) * lda + p]) * wv;
                    }
                    acc0.CopyTo(c.Slice(r0 * ldc + j));
                    if (block > 1) acc1.CopyTo(c.Slice((r0 + 1) * ldc + j));
                    if (block > 2) acc2.CopyTo(c.Slice((r0 + 2) * ldc + j));
                    if (block > 3) acc3.CopyTo(c.Slice((r0 + 3) * ldc + j));
                }
            }
            for (; j < n; j++)
                for (int r = r0; r < r0 + block; r++)
                {
                    T sum = bias.IsEmpty ? T.Zero : bias[j];
                    for (int p = 0; p < k; p++) sum += a[r * lda + p] * w[p * n + j];
                    c[r * ldc + j] = sum;
                }
        }
    }

    /// <summary>Whether ForwardThenSweep fuses; off, it runs the product, then the sweep (the bench's <c>fuse</c> command compares the two).</summary>
    internal static bool FuseSweeps = true;

    /// <summary>
    /// A step's product and the elementwise sweep that reads it, fused: C[rows, parts * partWidth] = A[rows, k] @ W
    /// (+ bias), where the columns are <paramref name="parts"/> blocks (gates) of <paramref name="partWidth"/>, then
    /// <paramref name="kernel"/> over [rows, partWidth]. Both run block by block of columns: the product's columns of
    /// one block of every part, then the sweep over that block while those gates are still in cache. Large steps split
    /// the blocks between two cores, product and sweep with one hand-off. The kernel must compute each column of its
    /// sweep from that column alone (generated kernels do); what it computes is what
    /// <see cref="Forward{T}(ReadOnlySpan{T}, int, ReadOnlySpan{T}, PackedWeights{T}?, ReadOnlySpan{T}, Span{T}, int, int, int, int)"/>
    /// then <see cref="Elementwise.ForEach{TKernel}"/> compute.
    /// </summary>
    public static void ForwardThenSweep<TKernel>(ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> w, PackedWeights<float>? packed, ReadOnlySpan<float> bias, Span<float> c, int ldc, int rows, int k, int parts, int partWidth, ref TKernel kernel)
        where TKernel : IElementwiseKernel<float>, allows ref struct =>
        ForwardThenSweep(a, lda, w, packed, bias, c, ldc, rows, k, parts, partWidth, ref kernel, default);

    /// <summary>
    /// <see cref="ForwardThenSweep{TKernel}(ReadOnlySpan{float}, int, ReadOnlySpan{float}, PackedWeights{float}?, ReadOnlySpan{float}, Span{float}, int, int, int, int, int, ref TKernel)"/>,
    /// where the sweep also reads <paramref name="sweepReads"/>, laid out as C (a product of the input computed before
    /// the loop): each block of it is brought into cache while that block's product runs. Read in the sweep without
    /// that, its rows, each in another 4 KiB page, came from L3 one miss at a time.
    /// </summary>
    public static void ForwardThenSweep<TKernel>(ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> w, PackedWeights<float>? packed, ReadOnlySpan<float> bias, Span<float> c, int ldc, int rows, int k, int parts, int partWidth, ref TKernel kernel, ReadOnlySpan<float> sweepReads)
        where TKernel : IElementwiseKernel<float>, allows ref struct =>
        ForwardThenSweep(a, lda, w, packed, bias, c, ldc, rows, k, parts, partWidth, 1, ref kernel, sweepReads);

    /// <summary>
    /// <see cref="ForwardThenSweep{TKernel}(ReadOnlySpan{float}, int, ReadOnlySpan{float}, PackedWeights{float}?, ReadOnlySpan{float}, Span{float}, int, int, int, int, int, ref TKernel, ReadOnlySpan{float})"/>
    /// for a W with <paramref name="blocks"/> blocks along its diagonal, stored as in
    /// <see cref="ForwardBlocks{T}(ReadOnlySpan{T}, int, ReadOnlySpan{T}, PackedWeights{T}?, ReadOnlySpan{T}, Span{T}, int, int, int, int, int, int)"/>.
    /// </summary>
    public static void ForwardThenSweep<TKernel>(ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> w, PackedWeights<float>? packed, ReadOnlySpan<float> bias, Span<float> c, int ldc, int rows, int k, int parts, int partWidth, int blocks, ref TKernel kernel, ReadOnlySpan<float> sweepReads)
        where TKernel : IElementwiseKernel<float>, allows ref struct
    {
        if (!sweepReads.IsEmpty) Check(sweepReads, ldc, rows, parts * partWidth, nameof(sweepReads));
        ForwardThenSweep(a, lda, w, packed, bias, c, ldc, rows, k, parts, partWidth, blocks, ref kernel, sweepReads, accumulate: false);
    }

    /// <summary>
    /// <see cref="ForwardThenSweep{TKernel}(ReadOnlySpan{float}, int, ReadOnlySpan{float}, PackedWeights{float}?, ReadOnlySpan{float}, Span{float}, int, int, int, int, int, int, ref TKernel, ReadOnlySpan{float})"/>
    /// adding onto C: C += A @ W, then the sweep. C is the step's slice of a product of the input computed before the
    /// loop (its bias folded in), so the sweep reads each gate's whole sum from one place, with one load where two
    /// products' outputs took two and an add, and no buffer of the step's own. C's lines are read ahead block by block.
    /// </summary>
    public static void ForwardOntoThenSweep<TKernel>(ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> w, PackedWeights<float>? packed, Span<float> c, int ldc, int rows, int k, int parts, int partWidth, int blocks, ref TKernel kernel)
        where TKernel : IElementwiseKernel<float>, allows ref struct =>
        ForwardThenSweep(a, lda, w, packed, default, c, ldc, rows, k, parts, partWidth, blocks, ref kernel, c, accumulate: true);

    private static unsafe void ForwardThenSweep<TKernel>(ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> w, PackedWeights<float>? packed, ReadOnlySpan<float> bias, Span<float> c, int ldc, int rows, int k, int parts, int partWidth, int blocks, ref TKernel kernel, ReadOnlySpan<float> ahead, bool accumulate)
        where TKernel : IElementwiseKernel<float>, allows ref struct
    {
        CheckBlocks(k, parts, partWidth, blocks);
        int n = parts * partWidth;
        CheckForward(a, lda, w, packed, bias, c, ldc, rows, k, n, blocks);
        if (rows == 0 || partWidth == 0) return;
        if (parts == 0)
        {
            Elementwise.ForEach(ref kernel, rows, partWidth);
            return;
        }
        if (!FuseSweeps || (rows < GemmSingle.PanelRows && !Workers.Shares(rows, k / blocks, n)) || (long)rows * k > GemmSingle.ForwardChunkFloats)
        {
            // Each block reads all of A again: fused, A must stay in L2 (it does for a step's batch, not for thousands
            // of rows). Below PanelRows rows the gates fit in L1 anyway, and fusing on one core only adds calls (Lstm
            // B 1, H 128 forward: 1.15x to 1.18x slower fused); fused on two, each core runs its half of the sweep.
            if (blocks == 1) Workers.Forward(ref Single(a), lda, ref Single(w), ref Panels(packed), packed?.PanelsFor(w, rows) ?? 0, ref Single(bias), !bias.IsEmpty, ref Single(c), ldc, rows, k, n, accumulate);
            else Workers.ForwardBlocks(ref Single(a), lda, ref Single(w), ref Panels(packed), packed?.PanelsFor(w, rows) ?? 0, ref Single(bias), !bias.IsEmpty, ref Single(c), ldc, rows, k, parts, partWidth, blocks, accumulate);
            Elementwise.ForEach(ref kernel, rows, partWidth);
            return;
        }
        // The kernel stays on this thread's stack while the worker reads it: this thread waits for the worker before it returns.
        Workers.ForwardThenSweep(ref Single(a), lda, ref Single(w), ref Panels(packed), packed?.PanelsFor(w, rows) ?? 0, ref Single(bias), !bias.IsEmpty,
            ref Single(c), ldc, rows, k, parts, partWidth, blocks, &Elementwise.Columns<TKernel>, Unsafe.AsPointer(ref kernel), (long)rows * partWidth * TKernel.Work,
            ref ahead.IsEmpty ? ref Unsafe.NullRef<float>() : ref Single(ahead), accumulate);
    }

    /// <summary>dA[rows, k] (+)= dC[rows, n] @ W[k, n]ᵀ: the gradient of a product's operand.</summary>
    public static void BackwardData<T>(ReadOnlySpan<T> dc, int lddc, ReadOnlySpan<T> w, Span<T> da, int ldda, int rows, int k, int n, bool accumulate)
        where T : unmanaged, INumberBase<T>
    {
        Check(dc, lddc, rows, n, nameof(dc));
        Check(w, n, k, n, nameof(w));
        Check(da, ldda, rows, k, nameof(da));
        if (typeof(T) == typeof(float))
        {
            if (rows == 0 || k == 0) return;
            Workers.BackwardData(ref Single(dc), lddc, ref Single(w), ref Single(da), ldda, rows, k, n, accumulate);
            return;
        }
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<T> gradient = dc.Slice(r * lddc, n);
            for (int p = 0; p < k; p++)
            {
                T sum = Dot(gradient, w.Slice(p * n, n));
                ref T target = ref da[r * ldda + p];
                target = accumulate ? target + sum : sum;
            }
        }
    }

    /// <summary>
    /// wT[n, k] = W[k, n]ᵀ: the weights laid out for
    /// <see cref="BackwardDataTransposed{T}(ReadOnlySpan{T}, int, ReadOnlySpan{T}, Span{T}, int, int, int, int, bool)"/>.
    /// A cell transposes its weights once per backward pass; every data gradient of the pass then runs on the forward
    /// kernels.
    /// </summary>
    public static void Transpose<T>(ReadOnlySpan<T> w, Span<T> wT, int k, int n)
    {
        Check(w, n, k, n, nameof(w));
        Check(wT, k, n, k, nameof(wT));
        // Blocks of 16 x 16: the rows read and the rows written both stay in L1. Sizes are checked above.
        const int Block = 16;
        ref T source = ref MemoryMarshal.GetReference(w);
        ref T target = ref MemoryMarshal.GetReference(wT);
        for (int p0 = 0; p0 < k; p0 += Block)
            for (int j0 = 0; j0 < n; j0 += Block)
            {
                int pEnd = Math.Min(p0 + Block, k), jEnd = Math.Min(j0 + Block, n);
                for (int p = p0; p < pEnd; p++)
                    for (int j = j0; j < jEnd; j++) Unsafe.Add(ref target, j * k + p) = Unsafe.Add(ref source, p * n + j);
            }
    }

    /// <summary>
    /// dA[rows, k] (+)= dC[rows, n] @ wT[n, k], with wT from <see cref="Transpose{T}"/>: the same gradient as
    /// <see cref="BackwardData{T}"/>, computed by the forward kernels (faster than dot products against rows of W).
    /// </summary>
    public static void BackwardDataTransposed<T>(ReadOnlySpan<T> dc, int lddc, ReadOnlySpan<T> wT, Span<T> da, int ldda, int rows, int k, int n, bool accumulate)
        where T : unmanaged, INumberBase<T> =>
        BackwardDataTransposed(dc, lddc, wT, null, da, ldda, rows, k, n, accumulate);

    /// <summary>
    /// <see cref="BackwardDataTransposed{T}(ReadOnlySpan{T}, int, ReadOnlySpan{T}, Span{T}, int, int, int, int, bool)"/>,
    /// reading wT's panels from <paramref name="packedT"/> (made for wT as a [n, k] matrix).
    /// </summary>
    public static void BackwardDataTransposed<T>(ReadOnlySpan<T> dc, int lddc, ReadOnlySpan<T> wT, PackedWeights<T>? packedT, Span<T> da, int ldda, int rows, int k, int n, bool accumulate)
        where T : unmanaged, INumberBase<T>
    {
        Check(dc, lddc, rows, n, nameof(dc));
        Check(wT, k, n, k, nameof(wT));
        Check(da, ldda, rows, k, nameof(da));
        packedT?.Check(n, k, nameof(packedT));
        if (rows == 0 || k == 0) return;
        if (typeof(T) == typeof(float))
        {
            Workers.Forward(ref Single(dc), lddc, ref Single(wT), ref Panels(packedT), packedT?.PanelsFor(wT, rows) ?? 0, ref Single(wT), false, ref Single(da), ldda, rows, n, k, accumulate);
            return;
        }
        for (int r = 0; r < rows; r++)
            for (int p = 0; p < k; p++)
            {
                T sum = accumulate ? da[r * ldda + p] : T.Zero;
                for (int j = 0; j < n; j++) sum += dc[r * lddc + j] * wT[j * k + p];
                da[r * ldda + p] = sum;
            }
    }

    /// <summary>dW[k, n] += A[rows, k]ᵀ @ dC[rows, n]: the gradient of the weights, summed over all rows.</summary>
    public static void BackwardWeights<T>(ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> dc, int lddc, Span<T> dw, int rows, int k, int n)
        where T : unmanaged, INumberBase<T>
    {
        Check(a, lda, rows, k, nameof(a));
        Check(dc, lddc, rows, n, nameof(dc));
        Check(dw, n, k, n, nameof(dw));
        if (typeof(T) == typeof(float))
        {
            if (rows == 0 || k == 0 || n == 0) return;
            Workers.BackwardWeights(ref Single(a), lda, ref Single(dc), lddc, ref Single(dw), rows, k, n);
            return;
        }
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<T> gradient = dc.Slice(r * lddc, n);
            for (int p = 0; p < k; p++)
            {
                T scale = a[r * lda + p];
                if (scale == T.Zero) continue;
                Axpy(scale, gradient, dw.Slice(p * n, n));
            }
        }
    }

    /// <summary>db[n] += the column sums of dC[rows, n].</summary>
    public static void BiasGradient<T>(ReadOnlySpan<T> dc, int lddc, Span<T> db, int rows, int n)
        where T : unmanaged, INumberBase<T>
    {
        Check(dc, lddc, rows, n, nameof(dc));
        for (int r = 0; r < rows; r++) Axpy(T.One, dc.Slice(r * lddc, n), db.Slice(0, n));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Dot<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : unmanaged, INumberBase<T>
    {
        int width = Vector<T>.Count, i = 0;
        T sum = T.Zero;
        if (Vector.IsHardwareAccelerated && x.Length >= width)
        {
            Vector<T> acc = Vector<T>.Zero;
            for (; i <= x.Length - width; i += width) acc += new Vector<T>(x.Slice(i)) * new Vector<T>(y.Slice(i));
            sum = Vector.Sum(acc);
        }
        for (; i < x.Length; i++) sum += x[i] * y[i];
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy<T>(T scale, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, INumberBase<T>
    {
        int width = Vector<T>.Count, i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var s = new Vector<T>(scale);
            for (; i <= x.Length - width; i += width) (new Vector<T>(y.Slice(i)) + s * new Vector<T>(x.Slice(i))).CopyTo(y.Slice(i));
        }
        for (; i < x.Length; i++) y[i] += scale * x[i];
    }

    /// <summary>The first float of the packed panels, or a null reference when there are none.</summary>
    private static ref float Panels<T>(PackedWeights<T>? packed) where T : unmanaged, INumberBase<T> =>
        ref packed is null || packed.Panels.Length == 0 ? ref Unsafe.NullRef<float>() : ref packed.Panels[0];

    /// <summary>The first float of a span of T known to be float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float Single<T>(ReadOnlySpan<T> span) => ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(span));

    /// <summary>The shapes of a forward product, each refused with its name.</summary>
    private static void CheckForward<T>(ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> w, PackedWeights<T>? packed, ReadOnlySpan<T> bias, ReadOnlySpan<T> c, int ldc, int rows, int k, int n, int blocks = 1)
        where T : unmanaged, INumberBase<T>
    {
        Check(a, lda, rows, k, nameof(a));
        Check(w, n, k / blocks, n, nameof(w));
        Check(c, ldc, rows, n, nameof(c));
        packed?.Check(k / blocks, n, nameof(packed));
        if (!bias.IsEmpty && bias.Length < n) throw new ArgumentException($"bias has {bias.Length} values; {n} needed", nameof(bias));
    }

    private static void Check<T>(ReadOnlySpan<T> m, int stride, int rows, int columns, string name)
    {
        if (rows > 0 && (stride < columns || m.Length < (long)(rows - 1) * stride + columns))
            throw new ArgumentException($"{name} holds {m.Length} values, too few for [{rows}, {columns}] with row stride {stride}", name);
    }
}
