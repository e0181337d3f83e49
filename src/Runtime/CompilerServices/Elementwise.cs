using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CellGen.CompilerServices;

/// <summary>An elementwise kernel of a generated cell: one body, instantiated per lane width.</summary>
[EditorBrowsable(EditorBrowsableState.Never)] // called by generated code, not written by users
public interface IElementwiseKernel<T>
{
    /// <summary>Computes the lanes [column, column + V.Count) of one row.</summary>
    void Apply<V>(int row, int column) where V : struct, ISimd<V, T>;

    /// <summary>
    /// A rough cost of one element in simple operations (an activation counts as several): with the number of
    /// elements, it decides whether the sweep is worth splitting between two cores.
    /// </summary>
    static virtual int Work => 1;

    /// <summary>False for a kernel that sums over each row's features (the gradient of a mean): one core walks each row.</summary>
    static virtual bool Splittable => true;
}

/// <summary>Runs an elementwise kernel over [rows, width] with the widest accelerated lanes, then narrower ones for the tail.</summary>
[EditorBrowsable(EditorBrowsableState.Never)] // called by generated code, not written by users
public static class Elementwise
{
    /// <summary>
    /// Work (elements times <see cref="IElementwiseKernel{T}.Work"/>) from which a sweep's columns are split between
    /// two cores. Measured here: an Lstm sweep of 64 x 512 (about 1.6 million) gained from the split, an Rnn sweep of
    /// the same size (about 0.3 million) and an Lstm sweep of 32 x 256 (0.4 million) lost to the hand-off.
    /// </summary>
    public const int SplitThreshold = 1 << 20;

    /// <summary>The threshold in force: <see cref="SplitThreshold"/>, lowered by tests that must reach the split.</summary>
    internal static long SplitWork = SplitThreshold;

    /// <summary>
    /// Float kernels: Vector512, Vector256, Vector128, then scalar. A large sweep is split by columns between two
    /// cores; the kernel must compute each column on its own (as generated kernels do).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void ForEach<TKernel>(ref TKernel kernel, int rows, int width)
        where TKernel : IElementwiseKernel<float>, allows ref struct
    {
        // Whole vectors of 16 on each side. The kernel stays on this thread's stack while the worker reads it: this
        // thread waits for the worker before it returns.
        int middle = width / 2 / 16 * 16;
        if (middle > 0 && TKernel.Splittable && (long)rows * width * TKernel.Work >= SplitWork
            && Workers.TryShareSweep(&Columns<TKernel>, Unsafe.AsPointer(ref kernel), rows, middle, width)) return;
        Columns(ref kernel, rows, 0, width);
    }

    internal static unsafe void Columns<TKernel>(void* kernel, int rows, int start, int end)
        where TKernel : IElementwiseKernel<float>, allows ref struct =>
        Columns(ref Unsafe.AsRef<TKernel>(kernel), rows, start, end);

    // Compiled fully optimised at once and never re-instrumented: dynamic PGO made these sweeps about 2x slower
    // (Lstm B 1, H 128 forward: 1.6 ms with it, 0.7 ms without). Never inlined: inlined into the pointer's entry
    // above, it left the JIT no budget to inline the kernel's vector operations (Rnn B 32, H 256 forward: 6.5 ms
    // against 4.2, with every F32x16 operator a call).
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void Columns<TKernel>(ref TKernel kernel, int rows, int start, int end)
        where TKernel : IElementwiseKernel<float>, allows ref struct
    {
        for (int row = 0; row < rows; row++)
        {
            int j = start;
            if (Vector512.IsHardwareAccelerated)
                for (; j <= end - 16; j += 16) kernel.Apply<F32x16>(row, j);
            if (Vector256.IsHardwareAccelerated)
                for (; j <= end - 8; j += 8) kernel.Apply<F32x8>(row, j);
            if (Vector128.IsHardwareAccelerated)
                for (; j <= end - 4; j += 4) kernel.Apply<F32x4>(row, j);
            for (; j < end; j++) kernel.Apply<F32x1>(row, j);
        }
    }

    /// <summary>
    /// The mean of each row's <paramref name="width"/> values (row r starts at r * <paramref name="stride"/>) into
    /// <paramref name="destination"/>[r]: the forward pass of mean(v).
    /// </summary>
    public static void RowMeans<T>(ReadOnlySpan<T> source, int stride, int width, Span<T> destination, int rows)
        where T : unmanaged, System.Numerics.INumberBase<T>
    {
        T n = T.CreateTruncating(width);
        for (int row = 0; row < rows; row++)
        {
            destination[row] = Sum(source.Slice(row * stride, width)) / n;
        }
    }

    /// <summary>
    /// The backward pass of mean(v): each of a row's <paramref name="width"/> values receives 1/width of the row's
    /// gradient, stored or (with <paramref name="accumulate"/>) added.
    /// </summary>
    public static void RowMeansGradient<T>(ReadOnlySpan<T> gradient, Span<T> destination, int stride, int width, int rows, bool accumulate)
        where T : unmanaged, System.Numerics.INumberBase<T>
    {
        T n = T.CreateTruncating(width);
        for (int row = 0; row < rows; row++)
            Spread(destination.Slice(row * stride, width), gradient[row] / n, accumulate);
    }

    /// <summary>Stores <paramref name="share"/> into every value, or (with <paramref name="accumulate"/>) adds it, in vectors where the machine has them.</summary>
    private static void Spread<T>(Span<T> values, T share, bool accumulate) where T : unmanaged, System.Numerics.INumberBase<T>
    {
        if (!accumulate)
        {
            values.Fill(share);
            return;
        }
        int j = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated && System.Numerics.Vector<T>.IsSupported)
        {
            var lanes = new System.Numerics.Vector<T>(share);
            Span<System.Numerics.Vector<T>> vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<T, System.Numerics.Vector<T>>(values);
            for (int v = 0; v < vectors.Length; v++) vectors[v] += lanes;
            j = vectors.Length * System.Numerics.Vector<T>.Count;
        }
        for (; j < values.Length; j++) values[j] += share;
    }

    /// <summary>
    /// The sum of each <paramref name="segment"/> consecutive values of each row's <paramref name="width"/> (row r
    /// starts at r * <paramref name="stride"/>) into <paramref name="destination"/>, width / segment sums per row: per head
    /// of H, dot(a, b) (one value per head); per row of each head's P x P matrix, C @ q (H values).
    /// </summary>
    public static void SegmentSums<T>(ReadOnlySpan<T> source, int stride, int width, int segment, Span<T> destination, int rows)
        where T : unmanaged, System.Numerics.INumberBase<T>
    {
        int segments = width / segment;
        for (int row = 0; row < rows; row++)
            for (int s = 0; s < segments; s++)
                destination[row * segments + s] = Sum(source.Slice(row * stride + s * segment, segment));
    }

    /// <summary>
    /// The backward pass of <see cref="SegmentSums{T}"/>: each value of a segment receives the segment's gradient, stored
    /// or (with <paramref name="accumulate"/>) added.
    /// </summary>
    public static void SegmentSumsGradient<T>(ReadOnlySpan<T> gradient, Span<T> destination, int stride, int width, int segment, int rows, bool accumulate)
        where T : unmanaged, System.Numerics.INumberBase<T>
    {
        int segments = width / segment;
        for (int row = 0; row < rows; row++)
            for (int s = 0; s < segments; s++)
                Spread(destination.Slice(row * stride + s * segment, segment), gradient[row * segments + s], accumulate);
    }

    /// <summary>
    /// The mean of (v - mean)² over each row's <paramref name="width"/> values, given each row's mean: layernorm's
    /// variance, in one pass.
    /// </summary>
    public static void RowVariances<T>(ReadOnlySpan<T> source, int stride, ReadOnlySpan<T> means, int width, Span<T> destination, int rows)
        where T : unmanaged, System.Numerics.INumberBase<T>
    {
        T n = T.CreateTruncating(width);
        for (int row = 0; row < rows; row++)
        {
            ReadOnlySpan<T> values = source.Slice(row * stride, width);
            T mean = means[row], sum = T.Zero;
            int j = 0;
            if (System.Numerics.Vector.IsHardwareAccelerated && System.Numerics.Vector<T>.IsSupported)
            {
                var m = new System.Numerics.Vector<T>(mean);
                var lanes = System.Numerics.Vector<T>.Zero;
                ReadOnlySpan<System.Numerics.Vector<T>> vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<T, System.Numerics.Vector<T>>(values);
                for (int v = 0; v < vectors.Length; v++)
                {
                    System.Numerics.Vector<T> d = vectors[v] - m;
                    lanes += d * d;
                }
                sum = System.Numerics.Vector.Sum(lanes);
                j = vectors.Length * System.Numerics.Vector<T>.Count;
            }
            for (; j < width; j++)
            {
                T d = values[j] - mean;
                sum += d * d;
            }
            destination[row] = sum / n;
        }
    }

    /// <summary>
    /// The backward pass of <see cref="RowVariances{T}"/>: each value receives 2 (v - mean) / width times its row's
    /// gradient (nothing reaches the mean: the deviations from it sum to zero).
    /// </summary>
    public static void RowVariancesGradient<T>(ReadOnlySpan<T> gradient, ReadOnlySpan<T> source, int stride, ReadOnlySpan<T> means, int width,
        Span<T> destination, int destinationStride, int rows, bool accumulate)
        where T : unmanaged, System.Numerics.INumberBase<T>
    {
        T n = T.CreateTruncating(width);
        for (int row = 0; row < rows; row++)
        {
            ReadOnlySpan<T> values = source.Slice(row * stride, width);
            Span<T> targets = destination.Slice(row * destinationStride, width);
            T scale = (gradient[row] + gradient[row]) / n, mean = means[row];
            int j = 0;
            if (System.Numerics.Vector.IsHardwareAccelerated && System.Numerics.Vector<T>.IsSupported)
            {
                var s = new System.Numerics.Vector<T>(scale);
                var m = new System.Numerics.Vector<T>(mean);
                ReadOnlySpan<System.Numerics.Vector<T>> v = System.Runtime.InteropServices.MemoryMarshal.Cast<T, System.Numerics.Vector<T>>(values);
                Span<System.Numerics.Vector<T>> d = System.Runtime.InteropServices.MemoryMarshal.Cast<T, System.Numerics.Vector<T>>(targets);
                for (int k = 0; k < v.Length; k++) d[k] = accumulate ? d[k] + s * (v[k] - m) : s * (v[k] - m);
                j = v.Length * System.Numerics.Vector<T>.Count;
            }
            for (; j < width; j++)
            {
                T share = scale * (values[j] - mean);
                targets[j] = accumulate ? targets[j] + share : share;
            }
        }
    }

    /// <summary>The sum of the values, in vectors where the machine has them (as the other row operations).</summary>
    private static T Sum<T>(ReadOnlySpan<T> values) where T : unmanaged, System.Numerics.INumberBase<T>
    {
        T sum = T.Zero;
        int j = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated && System.Numerics.Vector<T>.IsSupported)
        {
            ReadOnlySpan<System.Numerics.Vector<T>> vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<T, System.Numerics.Vector<T>>(values);
            var lanes = System.Numerics.Vector<T>.Zero;
            foreach (System.Numerics.Vector<T> vector in vectors) lanes += vector;
            sum = System.Numerics.Vector.Sum(lanes);
            j = vectors.Length * System.Numerics.Vector<T>.Count;
        }
        for (; j < values.Length; j++) sum += values[j];
        return sum;
    }

    /// <summary>Double kernels (the verification variant): scalar.</summary>
    public static void ForEach64<TKernel>(ref TKernel kernel, int rows, int width)
        where TKernel : IElementwiseKernel<double>, allows ref struct
    {
        for (int row = 0; row < rows; row++)
            for (int j = 0; j < width; j++) kernel.Apply<F64x1>(row, j);
    }
}
