using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace CellGen.CompilerServices;

/// <summary>
/// Products with block-diagonal weights (heads): W has <c>blocks</c> blocks along its diagonal, and only the blocks
/// are stored and multiplied. Of a product's n = parts * partWidth columns (parts are gates, as in a fused product),
/// column u of each part belongs to block u / (partWidth / blocks), which reads the operand's columns
/// block * (k / blocks) + [0, k / blocks). W is stored as the [k / blocks, n] matrix of its blocks side by side:
/// row c, column p * partWidth + u holds the weight from the operand's column block * (k / blocks) + c. So a
/// block-diagonal product is a dense product of k / blocks rows, its panels packed and read as any other's.
/// </summary>
public static partial class Gemm
{
    /// <summary>C[rows, n] = A[rows, k] @ W (+ bias[n] when given), W block-diagonal and stored [k / blocks, n] (see the class).</summary>
    public static void ForwardBlocks<T>(ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> w, PackedWeights<T>? packed, ReadOnlySpan<T> bias, Span<T> c, int ldc, int rows, int k, int parts, int partWidth, int blocks)
        where T : unmanaged, INumberBase<T>
    {
        CheckBlocks(k, parts, partWidth, blocks);
        int n = parts * partWidth, kb = k / blocks, rb = partWidth / blocks;
        CheckForward(a, lda, w, packed, bias, c, ldc, rows, k, n, blocks);
        if (rows == 0 || n == 0) return;
        if (typeof(T) == typeof(float))
        {
            Workers.ForwardBlocks(ref Single(a), lda, ref Single(w), ref Panels(packed), packed?.PanelsFor(w, rows) ?? 0, ref Single(bias), !bias.IsEmpty, ref Single(c), ldc, rows, k, parts, partWidth, blocks, accumulate: false);
            return;
        }
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++)
            {
                int block = j % partWidth / rb;
                T sum = bias.IsEmpty ? T.Zero : bias[j];
                for (int p = 0; p < kb; p++) sum += a[r * lda + block * kb + p] * w[p * n + j];
                c[r * ldc + j] = sum;
            }
    }

    /// <summary>
    /// wT = the stored matrix W [k / blocks, n] transposed block by block, for
    /// <see cref="BackwardDataBlocks{T}(ReadOnlySpan{T}, int, ReadOnlySpan{T}, PackedWeights{T}?, Span{T}, int, int, int, int, int, int, bool)"/>:
    /// block b's [parts * partWidth / blocks, k / blocks] after block b - 1's, its rows the block's columns of each part
    /// in turn, so that a block's data gradient is one product (of every part's columns at once).
    /// </summary>
    public static void TransposeBlocks<T>(ReadOnlySpan<T> w, Span<T> wT, int k, int parts, int partWidth, int blocks)
    {
        CheckBlocks(k, parts, partWidth, blocks);
        int n = parts * partWidth, kb = k / blocks, rb = partWidth / blocks;
        Check(w, n, kb, n, nameof(w));
        Check(wT, kb, n, kb, nameof(wT));
        for (int block = 0; block < blocks; block++)
            for (int p = 0; p < parts; p++)
                for (int u = 0; u < rb; u++)
                {
                    int row = (block * parts + p) * rb + u, column = p * partWidth + block * rb + u;
                    for (int c = 0; c < kb; c++) wT[row * kb + c] = w[c * n + column];
                }
    }

    /// <summary>
    /// dA[rows, k] (+)= dC[rows, n] @ Wᵀ for a block-diagonal W, from wT laid out by <see cref="TransposeBlocks{T}"/>
    /// and its panels (<paramref name="packedT"/>: made for <c>blocks</c> matrices [parts * partWidth / blocks, k / blocks],
    /// or null): each block's columns of dA from that block's columns of dC, one product per block.
    /// </summary>
    public static void BackwardDataBlocks<T>(ReadOnlySpan<T> dc, int lddc, ReadOnlySpan<T> wT, PackedWeights<T>? packedT, Span<T> da, int ldda, int rows, int k, int parts, int partWidth, int blocks, bool accumulate)
        where T : unmanaged, INumberBase<T>
    {
        CheckBlocks(k, parts, partWidth, blocks);
        int n = parts * partWidth, kb = k / blocks, rb = partWidth / blocks, depth = parts * rb;
        Check(dc, lddc, rows, n, nameof(dc));
        Check(wT, kb, n, kb, nameof(wT));
        Check(da, ldda, rows, k, nameof(da));
        packedT?.Check(depth, kb, nameof(packedT), blocks);
        if (rows == 0 || k == 0) return;
        if (typeof(T) == typeof(float))
        {
            int lanes = packedT?.PanelsFor(wT, rows) ?? 0;
            Workers.BackwardDataBlocks(ref Single(dc), lddc, ref Single(wT), ref Panels(packedT), lanes, packedT?.MatrixFloats ?? 0, ref Single(da), ldda, rows, k, parts, partWidth, blocks, accumulate);
            return;
        }
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < k; q++)
            {
                int block = q / kb, c = q % kb;
                T sum = accumulate ? da[r * ldda + q] : T.Zero;
                for (int p = 0; p < parts; p++)
                    for (int u = 0; u < rb; u++)
                        sum += dc[r * lddc + p * partWidth + block * rb + u] * wT[((block * parts + p) * rb + u) * kb + c];
                da[r * ldda + q] = sum;
            }
    }

    /// <summary>dW += A[rows, k]ᵀ @ dC[rows, n] for a block-diagonal W stored [k / blocks, n]: only the blocks, summed over all rows.</summary>
    public static void BackwardWeightsBlocks<T>(ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> dc, int lddc, Span<T> dw, int rows, int k, int parts, int partWidth, int blocks)
        where T : unmanaged, INumberBase<T>
    {
        CheckBlocks(k, parts, partWidth, blocks);
        int n = parts * partWidth, kb = k / blocks, rb = partWidth / blocks;
        Check(a, lda, rows, k, nameof(a));
        Check(dc, lddc, rows, n, nameof(dc));
        Check(dw, n, kb, n, nameof(dw));
        if (rows == 0 || k == 0 || n == 0) return;
        if (typeof(T) == typeof(float))
        {
            Workers.BackwardWeightsBlocks(ref Single(a), lda, ref Single(dc), lddc, ref Single(dw), rows, k, parts, partWidth, blocks);
            return;
        }
        for (int r = 0; r < rows; r++)
            for (int p = 0; p < kb; p++)
                for (int j = 0; j < n; j++)
                    dw[p * n + j] += a[r * lda + j % partWidth / rb * kb + p] * dc[r * lddc + j];
    }

    /// <summary>Throws unless k and partWidth split into <paramref name="blocks"/> equal blocks.</summary>
    private static void CheckBlocks(int k, int parts, int partWidth, int blocks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(parts);
        ArgumentOutOfRangeException.ThrowIfNegative(partWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blocks);
        if (k % blocks != 0 || partWidth % blocks != 0)
            throw new ArgumentException($"a product with {blocks} blocks needs k ({k}) and partWidth ({partWidth}) to be multiples of {blocks}", nameof(blocks));
    }
}
