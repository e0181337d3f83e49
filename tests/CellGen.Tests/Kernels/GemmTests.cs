using System.Linq;
using System;
using CellGen.CompilerServices;
using Xunit;

namespace CellGen.Tests.Kernels;

/// <summary>The matrix products against plain double loops, at sizes that leave every vector tail.</summary>
[Trait("Category", "Kernels")]
public sealed class GemmTests
{
    private static float[] RandomArray(Random random, int length) => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

    private static void AssertClose(double expected, float actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-4 * (1 + Math.Abs(expected)), $"{what}: {actual}, expected {expected}");

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(5, 7, 3)]
    [InlineData(9, 13, 37)]
    [InlineData(32, 64, 128)]
    [InlineData(3, 100, 17)]
    [InlineData(1, 37, 300)]  // few rows: the wide kernel, then single vectors, then scalars
    [InlineData(1, 37, 213)]  // ... eight vectors, four, one, scalars (with Vector512)
    [InlineData(3, 20, 80)]   // ... four vectors, one
    [InlineData(1, 300, 400)] // ... split between two cores
    [InlineData(2, 9, 161)]
    [InlineData(70, 130, 200)] // large enough to be split between two cores
    [InlineData(129, 64, 1030)]
    [InlineData(600, 9, 70)]  // many rows: the products go in chunks of rows
    [InlineData(12, 530, 70)] // deep: the packed panels go in slices of k on every lane width
    [InlineData(70, 600, 40)] // ... and, transposed, wide
    [InlineData(9, 0, 40)]    // no operand: C is the bias, dA is zero
    [InlineData(9, 6, 0)]     // no outputs: dA is zero
    [InlineData(6, 10, 64)]   // six rows, one block of six; k: a group of six columns of A, one of four
    [InlineData(8, 11, 64)]   // eight rows: two blocks of four; k: six, four, one
    [InlineData(13, 17, 96)]  // six, four, then single rows; k: two groups of six, four, one
    [InlineData(14, 9, 32)]   // six, four, four; k: six, then three single columns
    [InlineData(31, 512, 64)] // five blocks of six and a single row, deep
    [InlineData(3, 40, 300)]  // three rows from packed panels, together, on every lane width
    [InlineData(2, 260, 520)] // two rows, deep and wide enough to be split between two cores
    [InlineData(7, 33, 300)]  // seven rows from packed panels: three, then two pairs; read in place, a block of four and three rows
    [InlineData(5, 64, 300)]  // five rows from packed panels: three, then a pair
    [InlineData(4, 33, 300)]  // four rows from packed panels: one block of four per panel
    [InlineData(15, 301, 64)] // six, six, then three rows as a block of four repeating the last; k odd
    [InlineData(25, 70, 48)]  // four blocks of six, then one row with k split four ways and two left over
    [InlineData(50, 32, 64)]  // k: four groups of six and two of four (not five of six and two single columns)
    [InlineData(1000, 64, 10)] // a narrow head: its rows split between two cores; vectors of eight rows, then dot products
    [InlineData(301, 1000, 3)] // ... three columns, all dot products, k leaving a vector and scalars; rows not whole blocks
    [InlineData(37, 20, 1)]   // one column
    [InlineData(130, 128, 65)] // two panels and one column of dot products
    [InlineData(64, 40, 200)] // W read in place (Vector512): eleven blocks of rows, 9 of six and 2 of five; then eight columns in vectors
    [InlineData(65, 40, 128)] // one row more: panels copied first
    [InlineData(40, 300, 91)]  // panels copied four at a time (AVX2): a strip of four, a shorter one, vectors; k in two slices
    [InlineData(70, 300, 171)] // ... on every lane width (Vector512 from 65 rows): strips and tails, k in slices
    public void ProductsMatchPlainLoops(int rows, int k, int n)
    {
        var random = new Random(rows * 1000 + k * 10 + n);
        int lda = k + 2; // a row stride wider than the row, as for a column block of a larger buffer
        float[] a = RandomArray(random, rows * lda), w = RandomArray(random, k * n), bias = RandomArray(random, n);
        var c = new float[rows * n];
        Gemm.Forward<float>(a, lda, w, bias, c, n, rows, k, n);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++)
            {
                double sum = bias[j];
                for (int p = 0; p < k; p++) sum += (double)a[r * lda + p] * w[p * n + j];
                AssertClose(sum, c[r * n + j], $"C[{r}, {j}]");
            }

        // The same product from packed weights: packed by the first product (or, for one chunk of rows, by the second),
        // read as they are by the later ones, packed again after W changes and Invalidate.
        var packed = new PackedWeights<float>(k, n);
        var cPacked = new float[rows * n];
        for (int call = 0; call < 3; call++)
        {
            Gemm.Forward<float>(a, lda, w, packed, bias, cPacked, n, rows, k, n);
            for (int i = 0; i < c.Length; i++) AssertClose(c[i], cPacked[i], $"C[{i / n}, {i % n}] from packed weights, product {call}");
        }
        float[] changed = w.Select(v => -2 * v).ToArray();
        packed.Invalidate();
        for (int call = 0; call < 3; call++)
        {
            Gemm.Forward<float>(a, lda, changed, packed, default, cPacked, n, rows, k, n);
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < n; j++)
                    AssertClose(-2 * ((double)c[r * n + j] - bias[j]), cPacked[r * n + j], $"C[{r}, {j}] from weights packed again, product {call}");
        }

        float[] dc = RandomArray(random, rows * n);
        float[] da = RandomArray(random, rows * lda);
        float[] before = (float[])da.Clone();
        // dA[r, p] = (the value before, when accumulating) + sum over j of dC[r, j] W[p, j]
        void AssertDataGradient(float[] actual, float[]? start, string what)
        {
            for (int r = 0; r < rows; r++)
                for (int p = 0; p < k; p++)
                {
                    double sum = start is null ? 0 : start[r * lda + p];
                    for (int j = 0; j < n; j++) sum += (double)dc[r * n + j] * w[p * n + j];
                    AssertClose(sum, actual[r * lda + p], $"dA[{r}, {p}] {what}");
                }
        }
        Gemm.BackwardData<float>(dc, n, w, da, lda, rows, k, n, accumulate: true);
        AssertDataGradient(da, before, "accumulated");
        Gemm.BackwardData<float>(dc, n, w, da, lda, rows, k, n, accumulate: false);
        AssertDataGradient(da, null, "overwritten");

        // The same gradient from the transposed weights, on the forward kernels.
        var wT = new float[n * k];
        Gemm.Transpose<float>(w, wT, k, n);
        float[] daT = (float[])before.Clone();
        Gemm.BackwardDataTransposed<float>(dc, n, wT, daT, lda, rows, k, n, accumulate: true);
        AssertDataGradient(daT, before, "from wT, accumulated");
        Gemm.BackwardDataTransposed<float>(dc, n, wT, daT, lda, rows, k, n, accumulate: false);
        AssertDataGradient(daT, null, "from wT");

        var packedT = new PackedWeights<float>(n, k);
        float[] daPacked = RandomArray(random, rows * lda);
        Gemm.BackwardDataTransposed<float>(dc, n, wT, packedT, daPacked, lda, rows, k, n, accumulate: false);
        for (int r = 0; r < rows; r++)
            for (int p = 0; p < k; p++) AssertClose(daT[r * lda + p], daPacked[r * lda + p], $"dA[{r}, {p}] from packed wT");

        float[] dw = RandomArray(random, k * n);
        float[] dwBefore = (float[])dw.Clone();
        Gemm.BackwardWeights<float>(a, lda, dc, n, dw, rows, k, n);
        var db = new float[n];
        Gemm.BiasGradient<float>(dc, n, db, rows, n);
        for (int p = 0; p < k; p++)
            for (int j = 0; j < n; j++)
            {
                double sum = dwBefore[p * n + j];
                for (int r = 0; r < rows; r++) sum += (double)a[r * lda + p] * dc[r * n + j];
                AssertClose(sum, dw[p * n + j], $"dW[{p}, {j}]");
            }
        for (int j = 0; j < n; j++) AssertClose(Enumerable.Range(0, rows).Sum(r => (double)dc[r * n + j]), db[j], $"db[{j}]");
    }

    /// <summary>A sweep after a product of gates: a weighted sum of each unit's gates, and per-column sums over the rows.</summary>
    private ref struct GateSum : IElementwiseKernel<float>
    {
        public ReadOnlySpan<float> Product;
        public Span<float> Output, ColumnSums;
        public int Parts, PartWidth, Stride; // Stride: floats from one row of the product to the next (0: Parts * PartWidth)

        public void Apply<V>(int row, int j) where V : struct, ISimd<V, float>
        {
            V sum = V.Constant(0.5f);
            int stride = Stride == 0 ? Parts * PartWidth : Stride;
            for (int p = 0; p < Parts; p++) sum = sum + V.Load(Product, row * stride + p * PartWidth + j) * V.Constant(p + 1);
            V.Store(sum, Output, row * PartWidth + j);
            V.AddTo(sum, ColumnSums, j);
        }
    }

    [Theory]
    [InlineData(4, 16, 4, 32)]
    [InlineData(8, 37, 3, 48)]
    [InlineData(33, 64, 4, 100)]   // parts not whole panels: the blocks leave vector tails
    [InlineData(16, 64, 4, 80)]    // blocks of two panels: the last one partial at every width
    [InlineData(40, 128, 4, 128)]
    [InlineData(64, 256, 1, 256)]
    [InlineData(5, 0, 2, 40)]      // no operand: the gates are the bias
    [InlineData(6, 20, 0, 16)]     // no product: only the sweep
    [InlineData(2, 30, 4, 64)]     // few rows, too small to share: product, then sweep
    [InlineData(1, 128, 4, 128)]   // few rows shared by two cores: fused, each core its half of the sweep
    [InlineData(3, 100, 3, 200)]   // ... with blocks of four panels, two, and vector tails
    [InlineData(600, 300, 2, 64)]  // too many rows to fuse: product, then sweep
    public void AFusedStepComputesWhatTheProductThenTheSweepCompute(int rows, int k, int parts, int partWidth)
    {
        var random = new Random(rows * 1000 + partWidth);
        int n = parts * partWidth;
        float[] a = RandomArray(random, rows * k), w = RandomArray(random, k * n), bias = RandomArray(random, n);
        var packed = new PackedWeights<float>(k, n);
        float[] ahead = RandomArray(random, rows * n); // read ahead only: it must change nothing
        (float[] C, float[] Output, float[] Sums) Run(bool fuse, bool split, bool readAhead = false)
        {
            var c = new float[rows * n];
            var output = new float[rows * partWidth];
            var sums = new float[partWidth];
            var kernel = new GateSum { Product = c, Output = output, ColumnSums = sums, Parts = parts, PartWidth = partWidth };
            long threshold = Elementwise.SplitWork;
            Gemm.FuseSweeps = fuse;
            Elementwise.SplitWork = split ? 0 : long.MaxValue;
            packed.Invalidate();
            try { Gemm.ForwardThenSweep(a, k, w, packed, bias, c, n, rows, k, parts, partWidth, ref kernel, readAhead ? ahead : default); }
            finally { Gemm.FuseSweeps = true; Elementwise.SplitWork = threshold; }
            return (c, output, sums);
        }
        var apart = Run(fuse: false, split: false);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++)
            {
                double sum = bias[j];
                for (int p = 0; p < k; p++) sum += (double)a[r * k + p] * w[p * n + j];
                AssertClose(sum, apart.C[r * n + j], $"C[{r}, {j}]");
            }
        // The same kernels in the same order of k: fused or not, on one core or two, the same bits.
        foreach ((bool split, bool readAhead) in new[] { (false, false), (true, false), (false, true), (true, true) })
        {
            var fused = Run(fuse: true, split, readAhead);
            Assert.Equal(apart.C, fused.C);
            Assert.Equal(apart.Output, fused.Output);
            Assert.Equal(apart.Sums, fused.Sums);
        }
    }

    [Theory]
    [InlineData(4, 16, 4, 32, 1)]
    [InlineData(33, 64, 4, 100, 1)]  // parts not whole panels: the blocks leave vector tails
    [InlineData(40, 128, 4, 128, 1)]
    [InlineData(64, 256, 1, 256, 1)]
    [InlineData(5, 0, 2, 40, 1)]     // no operand: C stays as it was
    [InlineData(2, 30, 4, 64, 1)]    // few rows, too small to share: product, then sweep
    [InlineData(1, 128, 4, 128, 1)]  // few rows shared by two cores: fused
    [InlineData(3, 100, 3, 200, 1)]  // ... with blocks of four panels, two, and vector tails
    [InlineData(1, 128, 4, 128, 4)]  // block-diagonal, batch 1: four parts' panels at once
    [InlineData(40, 256, 4, 256, 4)] // block-diagonal, fused
    [InlineData(600, 300, 2, 64, 1)] // too many rows to fuse: product, then sweep
    public void AStepAddedOntoCSweepsTheSums(int rows, int k, int parts, int partWidth, int blocks)
    {
        var random = new Random(rows * 1000 + partWidth + blocks);
        int n = parts * partWidth, ldc = n + 5; // C's rows apart by more than n: the input's product may be wider
        float[] a = RandomArray(random, rows * k), w = RandomArray(random, k / blocks * n), start = RandomArray(random, rows * ldc);
        var packed = new PackedWeights<float>(k / blocks, n);
        (float[] C, float[] Output) Run(bool fuse)
        {
            float[] c = (float[])start.Clone();
            var output = new float[rows * partWidth];
            var kernel = new GateSum { Product = c, Stride = ldc, Output = output, ColumnSums = new float[partWidth], Parts = parts, PartWidth = partWidth };
            Gemm.FuseSweeps = fuse;
            packed.Invalidate();
            try { Gemm.ForwardOntoThenSweep(a, k, w, packed, c, ldc, rows, k, parts, partWidth, blocks, ref kernel); }
            finally { Gemm.FuseSweeps = true; }
            return (c, output);
        }
        var apart = Run(fuse: false);
        int kb = k / blocks, rb = partWidth / blocks;
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < ldc; j++)
            {
                double sum = start[r * ldc + j];
                if (j < n)
                    for (int q = 0; q < kb; q++) sum += (double)a[r * k + j % partWidth / rb * kb + q] * w[q * n + j];
                AssertClose(sum, apart.C[r * ldc + j], $"C[{r}, {j}]");
            }
        // The sweep read the sums: the same kernel over the final C gives the same bits.
        var again = new float[rows * partWidth];
        var check = new GateSum { Product = apart.C, Stride = ldc, Output = again, ColumnSums = new float[partWidth], Parts = parts, PartWidth = partWidth };
        Elementwise.ForEach(ref check, rows, partWidth);
        Assert.Equal(again, apart.Output);
        // Fused, from rows of PanelRows on the panels' kernels add C after their sums (which reads C's lines late
        // enough to have them), where the in-place and tail kernels start from it: the last bits may differ. That one
        // thread gives two threads' bits is ThreadsTests' (an Lstm whose step adds onto its input's product).
        var fused = Run(fuse: true);
        for (int i = 0; i < apart.C.Length; i++) AssertClose(apart.C[i], fused.C[i], $"C fused [{i / ldc}, {i % ldc}]");
        var fusedAgain = new float[rows * partWidth];
        check = new GateSum { Product = fused.C, Stride = ldc, Output = fusedAgain, ColumnSums = new float[partWidth], Parts = parts, PartWidth = partWidth };
        Elementwise.ForEach(ref check, rows, partWidth);
        Assert.Equal(fusedAgain, fused.Output);
    }

    [Fact]
    public void AFusedStepRefusesShapesThatDoNotFit()
    {
        static void Step(int wLength, int cLength, int ldc, int parts)
        {
            var kernel = new GateSum();
            Gemm.ForwardThenSweep(new float[12], 3, new float[wLength], null, default, new float[cLength], ldc, 4, 3, parts, 3, ref kernel);
        }
        var e = Assert.Throws<ArgumentException>(() => Step(3 * 8, 4 * 12, 12, 4));
        Assert.Contains("w holds 24 values, too few for [3, 12]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Step(3 * 12, 4 * 8, 12, 4));
        Assert.Contains("c holds 32 values, too few for [4, 12]", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Step(0, 0, 0, -1));
        e = Assert.Throws<ArgumentException>(() =>
        {
            var kernel = new GateSum();
            Gemm.ForwardThenSweep(new float[12], 3, new float[36], null, default, new float[48], 12, 4, 3, 4, 3, ref kernel, new float[40]);
        });
        Assert.Equal("sweepReads", e.ParamName);
        Assert.Contains("sweepReads holds 40 values, too few for [4, 12]", e.Message);
        e = Assert.Throws<ArgumentException>(() =>
        {
            var kernel = new GateSum();
            Gemm.ForwardOntoThenSweep(new float[12], 3, new float[36], null, new float[40], 12, 4, 3, 4, 3, 1, ref kernel);
        });
        Assert.Equal("c", e.ParamName);
        Assert.Contains("c holds 40 values, too few for [4, 12]", e.Message);
    }

    [Fact]
    public void PackedWeightsOfAnotherShapeAreRefused()
    {
        var w = new float[6];
        var wrongShape = new PackedWeights<float>(2, 3);
        var e = Assert.Throws<ArgumentException>(() => Gemm.Forward<float>(new float[3], 3, w, wrongShape, default, new float[2], 2, 1, 3, 2));
        Assert.Contains("made for [2, 3], not [3, 2]", e.Message);
    }

    [Fact]
    public void TooSmallBuffersAreRefusedWithTheirShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => Gemm.Forward<float>(new float[5], 3, new float[6], default, new float[4], 2, 2, 3, 2));
        Assert.Contains("[2, 3]", e.Message);
    }
}
