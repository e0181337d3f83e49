using System;
using System.Linq;
using System.Reflection;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>
/// Block-diagonal matrices ([BlockDiagonal("R", 4)], heads): finite differences in double and float against double,
/// for a matrix alone, fused with others of as many blocks, beside a dense product of the same operand, with a declared
/// size, and in a layer; the logical shape [blocks, rows / blocks, columns / blocks] against a dense matrix with the
/// same blocks. On every SIMD path (Category Kernels: CI runs them with each width switched off).
/// </summary>
[Trait("Category", "Kernels")]
public sealed class BlockDiagonalTests
{
    private static Assembly Compile(string source) => GeneratorHarness.CompileWithFloat64(source);

    private static string Cell(string attributes, params string[] equations) => GeneratorHarness.CellWith(attributes, equations);

    [Theory]
    [InlineData("[BlockDiagonal(\"R\", 4)]", 8, 8, "h[t] = tanh(W @ x[t] + R @ h[t-1] + b)")]
    [InlineData("[BlockDiagonal(\"R\", 2)]", 4, 6, "h[t] = tanh(R @ h[t-1] + W @ x[t] + b)")]
    // Four gates on h[t-1] fused into one block product, with their biases folded; a dense product of h[t-1] beside them.
    [InlineData("[BlockDiagonal(\"R_i\", 3), BlockDiagonal(\"R_f\", 3), BlockDiagonal(\"R_z\", 3)]", 5, 6,
        "i = sigmoid(W_i @ x[t] + R_i @ h[t-1] + b_i)", "f = sigmoid(W_f @ x[t] + R_f @ h[t-1] + b_f)",
        "z = tanh(W_z @ x[t] + R_z @ h[t-1] + U @ h[t-1])", "c[t] = f * c[t-1] + i * z", "h[t] = tanh(c[t])")]
    // A block-diagonal input matrix (hoisted out of the loop), a declared size for its rows.
    [InlineData("[BlockDiagonal(\"W\", 2), Size(\"u\", \"P\")]", 6, 4, "u = W @ x[t]", "h[t] = tanh(V @ [h[t-1], u])")]
    // One block-diagonal matrix multiplying two operands (its own buffer, a product for each), one block (dense), and
    // rows of another size than the operand's (P rows, H columns: blocks of P / 2 by H / 2).
    [InlineData("[BlockDiagonal(\"R\", 2)]", 3, 4, "c[t] = sigmoid(R @ h[t-1] + W @ x[t])", "h[t] = tanh(R @ c[t] + U @ x[t]) * c[t]")]
    [InlineData("[BlockDiagonal(\"R\", 1)]", 3, 5, "h[t] = tanh(W @ x[t] + R @ h[t-1] + b)")]
    [InlineData("[BlockDiagonal(\"R\", 2), Size(\"u\", \"P\")]", 3, 6, "u = tanh(R @ h[t-1])", "h[t] = tanh(V @ [u, x[t]])")]
    public void GradientsMatchFiniteDifferencesAndFloatMatchesDouble(string attributes, int x, int h, params string[] equations)
    {
        Assembly assembly = Compile(Cell(attributes, equations));
        object[] Arguments(int hidden) => assembly.GetType("Test.C", throwOnError: true)!.GetConstructors().Single().GetParameters().Length == 3
            ? new object[] { x, hidden, 4 } : new object[] { x, hidden };
        var cell = (RecurrentCell<double>)assembly.GetType("Test.C+Float64", throwOnError: true)!.GetConstructors().Single().Invoke(Arguments(h));
        var report = GradientChecks.Check(cell, batch: 3, steps: 4, seed: 7);
        Assert.True(report.Failures.Count == 0, string.Join("\n", report.Failures));
        // Batches of 3 and 9 take both step paths; 36 units (blocks of 9 to 18) run every lane width's tail.
        foreach ((int batch, int hidden) in new[] { (3, h), (9, 36) })
        {
            var f = (RecurrentCell<float>)assembly.GetType("Test.C", throwOnError: true)!.GetConstructors().Single().Invoke(Arguments(hidden));
            var d = (RecurrentCell<double>)assembly.GetType("Test.C+Float64", throwOnError: true)!.GetConstructors().Single().Invoke(Arguments(hidden));
            var failures = GradientChecks.CompareSingleWithDouble(f, d, batch, x, hidden);
            Assert.NotNull(failures);
            Assert.True(failures!.Count == 0, string.Join("\n", failures));
        }
    }

    /// <summary>
    /// The block-diagonal cell computes what the dense cell computes with the same blocks and zeros elsewhere, forward
    /// and backward, and its parameter has the shape [blocks, rows / blocks, columns / blocks], block by block.
    /// </summary>
    [Theory]
    [InlineData(1, 64, 4)]
    [InlineData(5, 64, 4)]
    [InlineData(16, 128, 4)]
    [InlineData(7, 12, 3)]
    public void EqualsTheDenseMatrixWithZerosOffTheBlocks(int batch, int hidden, int blocks)
    {
        string[] equations = { "i = sigmoid(W_i @ x[t] + R_i @ h[t-1] + b_i)", "z = tanh(W_z @ x[t] + R_z @ h[t-1])", "c[t] = (1 - i) * c[t-1] + i * z", "h[t] = tanh(c[t])" };
        Assembly block = Compile(Cell($"[BlockDiagonal(\"R_i\", {blocks}), BlockDiagonal(\"R_z\", {blocks})]", equations));
        Assembly dense = Compile(Cell("", equations));
        const int X = 5, T = 6;
        var b = (RecurrentCell<float>)block.GetType("Test.C")!.GetConstructors().Single().Invoke(new object[] { X, hidden });
        var d = (RecurrentCell<float>)dense.GetType("Test.C")!.GetConstructors().Single().Invoke(new object[] { X, hidden });
        int rb = hidden / blocks;
        foreach (string name in new[] { "R_i", "R_z" })
        {
            Assert.Equal(new[] { blocks, rb, rb }, b.Parameter(name).Shape);
            float[] blockValues = b.Parameter(name).ToArray(), full = new float[hidden * hidden];
            for (int n = 0; n < blocks; n++)
                for (int r = 0; r < rb; r++)
                    for (int c = 0; c < rb; c++) full[(n * rb + r) * hidden + n * rb + c] = blockValues[(n * rb + r) * rb + c];
            d.Parameter(name).CopyFrom(full);
        }
        foreach (string name in new[] { "W_i", "W_z", "b_i" }) d.Parameter(name).CopyFrom(b.Parameter(name).ToArray());

        var random = new Random(3);
        float[] inputs = Enumerable.Range(0, T * batch * X).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        float[] gradients = Enumerable.Range(0, T * batch * hidden).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        float[] Run(RecurrentCell<float> cell, out float[] inputGradients, out float[][] parameterGradients)
        {
            var runner = cell.CreateRunner(T, batch);
            float[] outputs = new float[T * batch * hidden];
            runner.ForwardTraining(inputs, batch, default, outputs, default);
            cell.ZeroGradients();
            inputGradients = new float[T * batch * X];
            runner.Backward(gradients, default, inputGradients, default);
            parameterGradients = new[] { "R_i", "R_z", "W_i" }.Select(n => cell.Parameter(n).GradientToArray()).ToArray();
            return outputs;
        }
        float[] yb = Run(b, out float[] dxb, out float[][] gb), yd = Run(d, out float[] dxd, out float[][] gd);
        AssertClose(yd, yb);
        AssertClose(dxd, dxb);
        AssertClose(gd[2], gb[2]);
        for (int k = 0; k < 2; k++)
            for (int n = 0; n < blocks; n++)
                for (int r = 0; r < rb; r++)
                    for (int c = 0; c < rb; c++)
                        Assert.True(Math.Abs(gd[k][(n * rb + r) * hidden + n * rb + c] - gb[k][(n * rb + r) * rb + c]) <= 1e-5f * (1 + Math.Abs(gd[k][(n * rb + r) * hidden + n * rb + c])),
                            $"gradient of block {n} ({r}, {c})");
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f * (1 + Math.Abs(expected[i])), $"[{i}]: {expected[i]} against {actual[i]}");
    }

    [Fact]
    public void ALayerWithHeads()
    {
        string source = "using CellGen;\nnamespace Test;\n[Layer]\n[Equation(\"y = tanh(R @ x + b)\")]\n[BlockDiagonal(\"R\", 3)]\npublic partial class C;\n";
        ConstructorInfo constructor = Compile(source).GetType("Test.C+Float64", throwOnError: true)!.GetConstructors().Single();
        var cell = (RecurrentCell<double>)constructor.Invoke(constructor.GetParameters().Select(_ => (object)6).ToArray()); // a layer's cell: X = H
        Assert.Equal(new[] { 3, 2, 2 }, cell.Parameter("R").Shape);
        var report = GradientChecks.Check(cell, batch: 5, steps: 1, seed: 3, entriesPerTensor: 12);
        Assert.True(report.Failures.Count == 0, string.Join("\n", report.Failures));
    }

    [Fact]
    public void SizesThatDoNotSplitAreRefusedByTheConstructorNamingThem()
    {
        Assembly assembly = Compile(Cell("[BlockDiagonal(\"R\", 4)]", "h[t] = tanh(W @ x[t] + R @ h[t-1])"));
        var e = Assert.Throws<TargetInvocationException>(() => assembly.GetType("Test.C")!.GetConstructors().Single().Invoke(new object[] { 3, 10 }));
        var inner = Assert.IsType<ArgumentException>(e.InnerException);
        Assert.Equal("hiddenSize", inner.ParamName);
        Assert.Contains("'R' has 4 blocks along the diagonal", inner.Message);
        Assert.Contains("(10)", inner.Message);
        // A block-diagonal input matrix splits the input size: inputSize named.
        Assembly input = Compile(Cell("[BlockDiagonal(\"W\", 2)]", "h[t] = tanh(W @ x[t] + R @ h[t-1])"));
        e = Assert.Throws<TargetInvocationException>(() => input.GetType("Test.C")!.GetConstructors().Single().Invoke(new object[] { 3, 4 }));
        Assert.Equal("inputSize", Assert.IsType<ArgumentException>(e.InnerException).ParamName);
    }
}
