using System;
using System.Linq;
using CellGen.CompilerServices;
using Xunit;

namespace CellGen.Tests.Kernels;

/// <summary>
/// The block-diagonal products against the dense products of the full matrix (the blocks on its diagonal, zeros
/// elsewhere) in plain double loops, float and double, at sizes that leave every vector tail and that split between
/// two cores.
/// </summary>
[Trait("Category", "Kernels")]
public sealed class GemmBlocksTests
{
    [Theory]
    [InlineData(1, 8, 1, 8, 4)]       // blocks of two
    [InlineData(3, 12, 3, 9, 3)]      // unequal operand and part sizes, three parts (gates)
    [InlineData(9, 64, 4, 64, 4)]     // blocks of 16: one AVX-512 vector
    [InlineData(1, 512, 4, 512, 4)]   // batch 1, blocks of 128
    [InlineData(1, 128, 4, 128, 4)]   // ... of 32: one panel of each of four parts at once (and of four blocks' transposes)
    [InlineData(2, 256, 4, 256, 8)]   // two rows, eight blocks of 32: four on each core
    [InlineData(3, 160, 2, 160, 5)]   // three rows on one core, four blocks of 32 at once and one alone
    [InlineData(1, 256, 1, 256, 4)]   // one part, blocks of 64: two AVX-512 panels (four AVX2 ones) of each block
    [InlineData(3, 256, 5, 256, 4)]   // three rows; four parts at once and one alone
    [InlineData(2, 96, 8, 96, 3)]     // two groups of four parts, blocks of 32
    [InlineData(64, 512, 4, 512, 4)]  // large enough to split between two cores, at a block boundary
    [InlineData(70, 384, 2, 96, 3)]   // an odd number of blocks: split at a whole panel
    [InlineData(700, 40, 2, 40, 5)]   // many rows: a hoisted product
    [InlineData(5, 37, 2, 74, 1)]     // one block: the dense product
    [InlineData(1, 128, 4, 128, 1)]   // one row of a dense W, parts of whole panels: four parts' panels at once
    [InlineData(1, 80, 4, 80, 1)]     // ... parts of 80: whole AVX2 panels, not AVX-512 ones
    public void BlockProductsEqualTheFullMatrix(int rows, int k, int parts, int partWidth, int blocks)
    {
        var random = new Random(rows * 7919 + k * 31 + parts * 5 + blocks);
        int n = parts * partWidth, kb = k / blocks, rb = partWidth / blocks, lda = k + 3;
        double[] Random(int length) => Enumerable.Range(0, length).Select(_ => random.NextDouble() * 2 - 1).ToArray();
        double[] a = Random(rows * lda), w = Random(kb * n), bias = Random(n), dc = Random(rows * n), start = Random(rows * lda);
        // The full matrix [k, n]: row q, column j holds the stored weight when q and j are in the same block, else 0.
        var full = new double[k * n];
        for (int q = 0; q < k; q++)
            for (int j = 0; j < n; j++)
                if (q / kb == j % partWidth / rb) full[q * n + j] = w[q % kb * n + j];
        double[] c = new double[rows * n], da = new double[rows * lda], fresh = new double[rows * lda], dw = new double[kb * n];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++)
            {
                c[r * n + j] = bias[j];
                for (int q = 0; q < k; q++) c[r * n + j] += a[r * lda + q] * full[q * n + j];
            }
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < k; q++)
            {
                for (int j = 0; j < n; j++) fresh[r * lda + q] += dc[r * n + j] * full[q * n + j];
                da[r * lda + q] = start[r * lda + q] + fresh[r * lda + q];
            }
        for (int q = 0; q < kb; q++)
            for (int j = 0; j < n; j++)
            {
                int block = j % partWidth / rb;
                for (int r = 0; r < rows; r++) dw[q * n + j] += a[r * lda + block * kb + q] * dc[r * n + j];
            }

        Check<float>(v => (float)v, 2e-4);
        Check<double>(v => v, 1e-12);

        void Check<T>(Func<double, T> of, double tolerance) where T : unmanaged, System.Numerics.INumberBase<T>
        {
            T[] Of(double[] values) => values.Select(of).ToArray();
            void Close(double[] expected, T[] actual, int stride, int columns, string what)
            {
                for (int i = 0; i < expected.Length; i++)
                {
                    if (i % stride >= columns) continue;
                    double value = double.CreateTruncating(actual[i]);
                    Assert.True(Math.Abs(expected[i] - value) <= tolerance * (1 + Math.Abs(expected[i])), $"{typeof(T).Name} {what}[{i / stride}, {i % stride}]: {value}, expected {expected[i]}");
                }
            }
            T[] ta = Of(a), tw = Of(w);
            var tc = new T[rows * n];
            Gemm.ForwardBlocks<T>(ta, lda, tw, null, Of(bias), tc, n, rows, k, parts, partWidth, blocks);
            Close(c, tc, n, n, "C");
            // From packed panels, twice (the first product of one chunk of rows leaves them unpacked), and after W changes.
            var packed = new PackedWeights<T>(kb, n);
            for (int call = 0; call < 2; call++)
            {
                Array.Clear(tc);
                Gemm.ForwardBlocks<T>(ta, lda, tw, packed, Of(bias), tc, n, rows, k, parts, partWidth, blocks);
                Close(c, tc, n, n, $"C from panels, product {call}");
            }
            var wT = new T[n * kb];
            Gemm.TransposeBlocks<T>(tw, wT, k, parts, partWidth, blocks);
            T[] tda = Of(start);
            Gemm.BackwardDataBlocks<T>(Of(dc), n, wT, null, tda, lda, rows, k, parts, partWidth, blocks, accumulate: true);
            Close(da, tda, lda, k, "dA accumulated");
            // From the transpose's panels, one packed matrix per block: twice (the first of one chunk of rows leaves them unpacked).
            var packedT = new PackedWeights<T>(parts * rb, kb, blocks);
            for (int call = 0; call < 2; call++)
            {
                T[] again = Of(start);
                Gemm.BackwardDataBlocks<T>(Of(dc), n, wT, packedT, again, lda, rows, k, parts, partWidth, blocks, accumulate: true);
                Close(da, again, lda, k, $"dA from panels, product {call}");
                Gemm.BackwardDataBlocks<T>(Of(dc), n, wT, packedT, again, lda, rows, k, parts, partWidth, blocks, accumulate: false);
                Close(fresh, again, lda, k, $"dA from panels, not accumulated, product {call}");
            }
            var tdw = new T[kb * n];
            Gemm.BackwardWeightsBlocks<T>(ta, lda, Of(dc), n, tdw, rows, k, parts, partWidth, blocks);
            Close(dw, tdw, n, n, "dW");
        }
    }

    [Fact]
    public void SizesThatDoNotSplitAreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => Gemm.ForwardBlocks<float>(new float[40], 10, new float[30], null, default, new float[12], 3, 4, 10, 1, 3, 4));
        Assert.Equal("blocks", e.ParamName);
        Assert.Contains("k (10) and partWidth (3)", e.Message);
    }
}
