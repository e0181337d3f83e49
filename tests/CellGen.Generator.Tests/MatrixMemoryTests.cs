using System;
using System.Linq;
using System.Reflection;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>
/// Per-head values and matrix memory ([Heads(N)], [Size("m", "heads")], [Size("C", "matrix")], outer, dot, C @ q):
/// finite differences in double and float against double, on every SIMD path (Category Kernels: CI runs them with each
/// width switched off), for xLSTM's mLSTM and for each construct alone.
/// </summary>
[Trait("Category", "Kernels")]
public sealed class MatrixMemoryTests
{
    private static Assembly Compile(string source) => GeneratorHarness.CompileWithFloat64(source);

    private static string Cell(string attributes, params string[] equations) => GeneratorHarness.CellWith(attributes, equations);

    /// <summary>xLSTM's mLSTM (Beck et al. 2024), stabilised as its reference implementation is: 1/√P folded into W_k and b_k.</summary>
    public static readonly string[] Mlstm =
    {
        "q    = W_q @ x[t] + b_q",
        "k    = W_k @ x[t] + b_k",
        "v    = W_v @ x[t] + b_v",
        "ir   = W_i @ x[t] + b_i",
        "lf   = logsigmoid(W_f @ x[t] + b_f)",
        "o    = sigmoid(W_o @ x[t] + b_o)",
        "m[t] = max(lf + m[t-1], ir)",
        "i    = exp(ir - m[t])",
        "f    = exp(lf + m[t-1] - m[t])",
        "C[t] = f * C[t-1] + i * outer(v, k)",
        "n[t] = f * n[t-1] + i * k",
        "h[t] = o * (C[t] @ q) / max(abs(dot(n[t], q)), exp(-m[t]))",
    };

    public const string MlstmSizes = "[Size(\"ir\", \"heads\"), Size(\"lf\", \"heads\"), Size(\"m\", \"heads\"), Size(\"i\", \"heads\"), Size(\"f\", \"heads\"), Size(\"C\", \"matrix\")]";

    public static TheoryData<string, int, int, string[]> Cells => new()
    {
        { "[Heads(2)]" + MlstmSizes, 3, 4, Mlstm },
        { "[Heads(3)]" + MlstmSizes, 2, 6, Mlstm },
        // Each construct alone: an outer product into a memory read back; a dot product per head broadcast over H; a
        // per-head gate from a matrix of N rows; one head (the whole of H).
        { "[Heads(2), Size(\"C\", \"matrix\")]", 3, 4, new[] { "u = tanh(W @ [h[t-1], x[t]])", "C[t] = 0.5 * C[t-1] + outer(u, tanh(U @ x[t]))", "h[t] = tanh(C[t] @ u)" } },
        { "[Heads(2)]", 3, 4, new[] { "u = tanh(W @ [h[t-1], x[t]])", "h[t] = u * dot(h[t-1], u) + dot(u, u)" } },
        { "[Heads(4), Size(\"g\", \"heads\")]", 2, 8, new[] { "g = sigmoid(W_g @ [h[t-1], x[t]] + b_g)", "h[t] = g * h[t-1] + (1 - g) * tanh(W @ x[t])" } },
        // From the literature: RetNet's retention (a decay per head, Sun et al. 2023); DeltaNet's delta rule (Schlag et al.
        // 2021, Yang et al. 2024), which reads the memory before writing it; heads beside block-diagonal matrices; zoneout
        // of a matrix memory and of a value per head.
        { "[Heads(2), Size(\"S\", \"matrix\"), Size(\"g\", \"heads\")]", 3, 6, new[] { "g = sigmoid(W_g @ x[t] + b_g)", "S[t] = g * S[t-1] + outer(W_v @ x[t], W_k @ x[t])", "h[t] = S[t] @ (W_q @ x[t])" } },
        { "[Heads(2), Size(\"S\", \"matrix\"), Size(\"beta\", \"heads\")]", 3, 4, new[] { "k = tanh(W_k @ x[t])", "beta = sigmoid(W_b @ x[t])", "S[t] = S[t-1] - beta * outer(S[t-1] @ k - W_v @ x[t], k)", "h[t] = tanh(S[t] @ (W_q @ [h[t-1], x[t]]))" } },
        { "[Heads(2), BlockDiagonal(\"R\", 2), Size(\"m\", \"heads\")]", 2, 4, new[] { "m[t] = max(m[t-1], W_m @ x[t])", "h[t] = tanh(R @ h[t-1] + W @ x[t]) * exp(m[t-1] - m[t])" } },
        { "[Heads(2), Size(\"C\", \"matrix\"), Size(\"e\", \"heads\"), Zoneout(\"C\", 0.5), Zoneout(\"e\", 0.5)]", 2, 4, new[] { "e[t] = tanh(W_e @ [h[t-1], x[t]] + e[t-1])", "C[t] = 0.5 * C[t-1] + outer(tanh(W @ x[t]), h[t-1])", "h[t] = e[t] * tanh(C[t] @ h[t-1])" } },
        // A matrix memory as an intermediate, read by a mean; two matrix memories; a per-head state as the output's gate
        // through a concatenation.
        { "[Heads(2), Size(\"U\", \"matrix\"), Size(\"C\", \"matrix\")]", 3, 4, new[] { "U = outer(tanh(W_v @ x[t]), tanh(W_k @ x[t]))", "C[t] = 0.5 * C[t-1] + U", "h[t] = tanh(C[t] @ h[t-1]) + mean(C[t])" } },
        { "[Heads(3), Size(\"A\", \"matrix\"), Size(\"B\", \"matrix\"), Size(\"g\", \"heads\")]", 2, 6, new[] { "g[t] = sigmoid(W_g @ [h[t-1], x[t]] + g[t-1])", "A[t] = g[t] * A[t-1] + outer(tanh(W_a @ x[t]), h[t-1])", "B[t] = (1 - g[t]) * B[t-1] + outer(h[t-1], tanh(W_b @ x[t]))", "h[t] = tanh(A[t] @ h[t-1] - B[t-1] @ tanh(W_c @ x[t]))" } },
        // Arguments the same across a head's units, broadcast: gated linear attention's decay per key column (Yang et al.
        // 2024, outer(1, a)); HGRN2's forget gate as the key (Qin et al. 2024); a value per head, a learnable scalar, a
        // mean and a number as arguments of outer, dot and @.
        { "[Heads(2), Size(\"S\", \"matrix\")]", 3, 4, new[] { "a = sigmoid(W_a @ x[t] + b_a)", "S[t] = outer(1, a) * S[t-1] + outer(W_v @ x[t], W_k @ x[t])", "h[t] = S[t] @ (W_q @ x[t])" } },
        { "[Heads(2), Size(\"S\", \"matrix\")]", 3, 4, new[] { "f = sigmoid(W_f @ x[t] + b_f)", "S[t] = outer(1, f) * S[t-1] + outer(tanh(W_i @ x[t]), 1 - f)", "h[t] = S[t] @ (W_q @ x[t])" } },
        { "[Heads(2), Size(\"C\", \"matrix\"), Size(\"g\", \"heads\"), Size(\"a\", \"1\")]", 2, 4, new[] { "g = sigmoid(W_g @ x[t])", "C[t] = 0.5 * C[t-1] + outer(tanh(W @ x[t]), g) + outer(a, h[t-1]) + outer(mean(h[t-1]), h[t-1])", "h[t] = tanh(C[t] @ 1 + dot(h[t-1], mean(h[t-1])) + C[t-1] @ g + dot(2, h[t-1]))" } },
        // A matrix memory read from an intermediate and from an expression: RWKV-6's bonus for the current token (Peng et
        // al. 2024; u per unit, the decay per key column), and a memory read with a write it does not keep.
        { "[Heads(2), Size(\"S\", \"matrix\"), Size(\"U\", \"matrix\")]", 3, 4, new[] { "k = tanh(W_k @ x[t])", "v = W_v @ x[t]", "U = S[t-1] + outer(v, u * k)", "S[t] = outer(1, sigmoid(W_w @ x[t] + b_w)) * S[t-1] + outer(v, k)", "h[t] = U @ tanh(W_r @ x[t])" } },
        { "[Heads(2), Size(\"S\", \"matrix\")]", 3, 4, new[] { "k = tanh(W_k @ x[t])", "S[t] = 0.9 * S[t-1] + outer(W_v @ x[t], k)", "h[t] = tanh((S[t-1] + outer(h[t-1], k)) @ (W_q @ x[t]))" } },
        { "[Heads(1), Size(\"C\", \"matrix\"), Size(\"a\", \"1\")]", 2, 3, new[] { "C[t] = sigmoid(a) * C[t-1] + outer(tanh(W @ x[t]), h[t-1])", "h[t] = tanh(C[t] @ (U @ x[t]) + b)" } },
    };

    /// <summary>A layer with heads: a gate per head from a matrix of N rows, and a dot product per head, on all rows at once.</summary>
    [Fact]
    public void ALayerWithHeadsMatchesFiniteDifferences()
    {
        string source = GeneratorHarness.Cell("C", new[] { "g = sigmoid(W_g @ x + b_g)", "y = g * tanh(W @ x) + dot(x, x) * 0.1" }, attribute: "Layer")
            .Replace("public partial class", "[Heads(2), Size(\"g\", \"heads\")]\npublic partial class");
        Assembly assembly = Compile(source);
        var constructor = assembly.GetType("Test.C+Float64", throwOnError: true)!.GetConstructors().Single();
        var layer = (RecurrentCell<double>)constructor.Invoke(constructor.GetParameters().Select(_ => (object)4).ToArray());
        var report = GradientChecks.Check(layer, batch: 3, steps: 1, seed: 5, entriesPerTensor: 24);
        Assert.True(report.Failures.Count == 0, string.Join("\n", report.Failures));
        Assert.True(report.Checked >= 20, $"only {report.Checked} probes");
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void GradientsMatchFiniteDifferencesAndFloatMatchesDouble(string attributes, int x, int h, string[] equations)
    {
        Assembly assembly = Compile(Cell(attributes, equations));
        var cell = (RecurrentCell<double>)assembly.GetType("Test.C+Float64", throwOnError: true)!.GetConstructors().Single().Invoke(new object[] { x, h });
        var report = GradientChecks.Check(cell, batch: 3, steps: 4, seed: 7);
        Assert.True(report.Failures.Count == 0, string.Join("\n", report.Failures));
        int heads = assembly.GetType("Test.C", throwOnError: true)!.GetCustomAttribute<HeadsAttribute>()!.Heads;
        // Heads of 1 to 18 units: every lane width's tail, and both step paths (batches of 3 and 9).
        foreach ((int batch, int hidden) in new[] { (3, h), (9, 36 / heads * heads) })
        {
            var f = (RecurrentCell<float>)assembly.GetType("Test.C", throwOnError: true)!.GetConstructors().Single().Invoke(new object[] { x, hidden });
            var d = (RecurrentCell<double>)assembly.GetType("Test.C+Float64", throwOnError: true)!.GetConstructors().Single().Invoke(new object[] { x, hidden });
            var failures = GradientChecks.CompareSingleWithDouble(f, d, batch, steps: 4, seed: hidden);
            Assert.NotNull(failures);
            Assert.True(failures!.Count == 0, string.Join("\n", failures));
        }
    }
}
