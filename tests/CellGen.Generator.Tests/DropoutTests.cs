using System;
using System.Linq;
using System.Reflection;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>
/// Regularisation inside the cell ([Zoneout], [VariationalDropout]): finite differences through the masked step in
/// double, float against double with the same masks, and what the masks are, checked against the same cell without
/// them: while training, zoneout keeps each unit's previous value or takes the new one, per step, with the frequency p;
/// variational dropout holds one mask per sequence over the steps, scaled by 1 / (1 - p), where matrices read the state
/// and nowhere else; at inference, zoneout is its expectation and dropout the identity. On every SIMD path.
/// </summary>
[Trait("Category", "Kernels")]
public sealed class DropoutTests
{
    private static Assembly Compile(string attributes, params string[] equations)
    {
        string source = GeneratorHarness.Cell("C", equations).Replace("public partial class", attributes + "\npublic partial class")
            + GeneratorHarness.Cell("Plain", equations).Replace("using CellGen;\nnamespace Test;\n", "");
        var result = GeneratorHarness.Run(GeneratorHarness.Compilation(("C.cs", source)), emitFloat64: true);
        Assert.Empty(result.CompileErrors);
        return result.Load();
    }

    private static T Create<T>(Assembly assembly, string type, params object[] arguments) =>
        (T)assembly.GetType("Test." + type, throwOnError: true)!.GetConstructors().Single().Invoke(arguments);

    [Theory]
    [InlineData("[Zoneout(\"h\", 0.5)]", 4, 5, "h[t] = tanh(W @ [h[t-1], x[t]] + b)")]
    [InlineData("[Zoneout(\"c\", 0.5), Zoneout(\"h\", 0.3)]", 3, 6,
        "i = sigmoid(W_i @ [h[t-1], x[t]] + b_i)", "f = sigmoid(W_f @ [h[t-1], x[t]] + b_f)", "g = tanh(W_g @ [h[t-1], x[t]] + b_g)",
        "o = sigmoid(W_o @ [h[t-1], x[t]] + b_o)", "c[t] = f * c[t-1] + i * g", "h[t] = o * tanh(c[t])")]
    // Dropped inside a product's operand (r * h[t-1]) and kept where the interpolation reads h[t-1].
    [InlineData("[VariationalDropout(\"h\", 0.5)]", 4, 5,
        "r = sigmoid(W_r @ [h[t-1], x[t]] + b_r)", "z = sigmoid(W_z @ [h[t-1], x[t]] + b_z)",
        "n = tanh(W_n @ [r * h[t-1], x[t]] + b_n)", "h[t] = (1 - z) * n + z * h[t-1]")]
    // Both on one state, a state of a declared size, and a state read after its equation (h[t] in c's).
    [InlineData("[VariationalDropout(\"h\", 0.4), Zoneout(\"h\", 0.5), Zoneout(\"c\", 0.25), Size(\"c\", \"P\")]", 3, 4,
        "h[t] = tanh(W @ [h[t-1], x[t]] + U @ c[t-1])", "c[t] = sigmoid(V @ [h[t], c[t-1]]) * c[t-1] + mean(h[t])")]
    // DropConnect on the weights that multiply h[t-1] (the four gates' fused buffer), with zoneout on c.
    [InlineData("[DropConnect(\"h\", 0.5), Zoneout(\"c\", 0.5)]", 3, 5,
        "i = sigmoid(W_i @ [h[t-1], x[t]] + b_i)", "f = sigmoid(W_f @ [h[t-1], x[t]] + b_f)", "g = tanh(W_g @ [h[t-1], x[t]] + b_g)",
        "o = sigmoid(W_o @ [h[t-1], x[t]] + b_o)", "c[t] = f * c[t-1] + i * g", "h[t] = o * tanh(c[t])")]
    // DropConnect on two buffers (h[t-1] and r * h[t-1]) under variational dropout, and block-diagonal weights dropped.
    [InlineData("[DropConnect(\"h\", 0.4), VariationalDropout(\"h\", 0.5), BlockDiagonal(\"R\", 2)]", 4, 6,
        "r = sigmoid(W_r @ [h[t-1], x[t]] + b_r)", "z = sigmoid(R @ h[t-1] + W_z @ x[t] + b_z)",
        "n = tanh(W_n @ [r * h[t-1], x[t]] + b_n)", "h[t] = (1 - z) * n + z * h[t-1]")]
    // Zoneout of a state that is a product alone, of one that copies another state, and dropout read by a mean.
    [InlineData("[Zoneout(\"h\", 0.5), Zoneout(\"c\", 0.5), VariationalDropout(\"c\", 0.5)]", 3, 4,
        "c[t] = h[t-1]", "h[t] = W @ [h[t-1], x[t]] + U @ (c[t-1] - mean(c[t-1]))")]
    public void GradientsMatchFiniteDifferencesAndFloatMatchesDouble(string attributes, int x, int h, params string[] equations)
    {
        Assembly assembly = Compile(attributes, equations);
        bool declared = attributes.Contains("Size(");
        object[] Arguments(int hidden) => declared ? new object[] { x, hidden, 3 } : new object[] { x, hidden };
        var cell = Create<RecurrentCell<double>>(assembly, "C+Float64", Arguments(h));
        Assert.NotEmpty(cell.Dropouts);
        var report = GradientChecks.Check(cell, batch: 3, steps: 4, seed: 7);
        Assert.True(report.Failures.Count == 0, string.Join("\n", report.Failures));
        foreach ((int batch, int hidden) in new[] { (3, h), (9, attributes.Contains("BlockDiagonal") ? 38 : 37) })
        {
            var f = Create<RecurrentCell<float>>(assembly, "C", Arguments(hidden));
            var d = Create<RecurrentCell<double>>(assembly, "C+Float64", Arguments(hidden));
            var failures = GradientChecks.CompareSingleWithDouble(f, d, batch, x, hidden);
            Assert.NotNull(failures);
            Assert.True(failures!.Count == 0, string.Join("\n", failures));
        }
    }

    private const string Rnn = "h[t] = tanh(W @ [h[t-1], x[t]] + b)";

    /// <summary>Runs <paramref name="cell"/> over the sequences, training or not; outputs [T, B, H].</summary>
    private static double[] Run(RecurrentCell<double> cell, double[] inputs, double[] initial, int batch, int steps, bool training)
    {
        var runner = cell.CreateRunner(steps, batch);
        var outputs = new double[steps * batch * cell.OutputSize];
        if (training) runner.ForwardTraining(inputs, batch, initial, outputs, default);
        else runner.Forward(inputs, batch, initial, outputs, default);
        return outputs;
    }

    /// <summary>One step of the cell without dropout from the states <paramref name="from"/>: [B, H].</summary>
    private static double[] Step(RecurrentCell<double> plain, double[] inputs, int t, double[] from, int batch)
    {
        int x = plain.InputSize;
        return Run(plain, inputs.AsSpan(t * batch * x, batch * x).ToArray(), from, batch, 1, training: false);
    }

    [Fact]
    public void ZoneoutKeepsEachUnitsPreviousValueWithProbabilityPWhileTrainingAndIsItsExpectationAtInference()
    {
        const int x = 3, h = 64, batch = 8, steps = 20;
        const double p = 0.3;
        Assembly assembly = Compile($"[Zoneout(\"h\", {p})]", Rnn);
        var cell = Create<RecurrentCell<double>>(assembly, "C+Float64", x, h);
        var plain = Create<RecurrentCell<double>>(assembly, "Plain+Float64", x, h);
        var random = new Random(3);
        foreach (Parameter<double> parameter in cell.Parameters)
        {
            double[] values = Enumerable.Range(0, parameter.Length).Select(_ => random.NextDouble() - 0.5).ToArray();
            parameter.CopyFrom(values);
            plain.Parameter(parameter.Name).CopyFrom(values);
        }
        double[] inputs = Enumerable.Range(0, steps * batch * x).Select(_ => random.NextDouble() * 2 - 1).ToArray();
        double[] initial = Enumerable.Range(0, batch * h).Select(_ => random.NextDouble() - 0.5).ToArray();

        double[] trained = Run(cell, inputs, initial, batch, steps, training: true);
        int kept = 0;
        var keptAt = new bool[steps, batch * h];
        for (int t = 0; t < steps; t++)
        {
            double[] previous = t == 0 ? initial : trained.AsSpan((t - 1) * batch * h, batch * h).ToArray();
            double[] fresh = Step(plain, inputs, t, previous, batch);
            for (int i = 0; i < batch * h; i++)
            {
                double value = trained[t * batch * h + i];
                bool keeps = value == previous[i], updates = Math.Abs(value - fresh[i]) <= 1e-12;
                Assert.True(keeps || updates, $"step {t}, unit {i}: {value} is neither h[t-1] = {previous[i]} nor the new value {fresh[i]}");
                if (keeps && !updates) { kept++; keptAt[t, i] = true; }
            }
        }
        double rate = kept / (double)(steps * batch * h); // 10,240 draws: p ± 0.03 is over six standard deviations
        Assert.InRange(rate, p - 0.03, p + 0.03);
        Assert.True(Enumerable.Range(0, batch * h).Count(i => keptAt[1, i] != keptAt[2, i]) > batch * h / 10, "a mask per step: steps 1 and 2 keep other units");

        // Inference: h[t] = p h[t-1] + (1 - p) h_new, at every unit, with no randomness.
        double[] inferred = Run(cell, inputs, initial, batch, steps, training: false);
        for (int t = 0; t < steps; t++)
        {
            double[] previous = t == 0 ? initial : inferred.AsSpan((t - 1) * batch * h, batch * h).ToArray();
            double[] fresh = Step(plain, inputs, t, previous, batch);
            for (int i = 0; i < batch * h; i++)
                Assert.Equal(p * previous[i] + (1 - p) * fresh[i], inferred[t * batch * h + i], 12);
        }
        Assert.Equal(inferred, Run(cell, inputs, initial, batch, steps, training: false));

        // p = 0, set at run time: the plain cell, training or not.
        cell.Dropouts[0].Probability = 0;
        Assert.Equal(Run(plain, inputs, initial, batch, steps, training: false), Run(cell, inputs, initial, batch, steps, training: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => cell.Dropouts[0].Probability = 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => cell.Dropouts[0].Probability = double.NaN);
    }

    [Fact]
    public void VariationalDropoutHoldsOneScaledMaskPerSequenceWhereMatricesReadTheStateAndIsTheIdentityAtInference()
    {
        const int x = 2, h = 64, batch = 6, steps = 5;
        const double p = 0.5;
        // R @ h[t-1] is dropped; the h[t-1] added beside it is not.
        Assembly assembly = Compile($"[VariationalDropout(\"h\", {p})]", "h[t] = R @ h[t-1] + h[t-1] + W @ x[t]");
        var cell = Create<RecurrentCell<double>>(assembly, "C+Float64", x, h);
        double[] identity = new double[h * h];
        for (int i = 0; i < h; i++) identity[i * h + i] = 1;
        cell.Parameter("R").CopyFrom(identity);
        cell.Parameter("W").CopyFrom(new double[h * x]);
        double[] inputs = new double[steps * batch * x];
        double[] initial = Enumerable.Repeat(1.0, batch * h).ToArray();

        // h[t] = (m + 1)^t with m one of 0 and 1 / (1 - p) = 2 per sequence and unit: 1 or 3^t.
        double[] trained = Run(cell, inputs, initial, batch, steps, training: true);
        int dropped = 0;
        for (int i = 0; i < batch * h; i++)
        {
            bool droppedHere = trained[i] == 1;
            Assert.True(droppedHere || trained[i] == 3, $"unit {i}: h[1] = {trained[i]}, neither 1 (dropped) nor 3 (kept, scaled by 2)");
            for (int t = 1; t < steps; t++)
                Assert.Equal(droppedHere ? 1 : Math.Pow(3, t + 1), trained[t * batch * h + i]);
            if (droppedHere) dropped++;
        }
        Assert.InRange(dropped / (double)(batch * h), p - 0.1, p + 0.1); // 384 draws: ±0.1 is about four standard deviations
        var patterns = Enumerable.Range(0, batch).Select(b => string.Concat(Enumerable.Range(0, h).Select(j => trained[b * h + j] == 1 ? '0' : '1'))).ToList();
        Assert.Equal(batch, patterns.Distinct().Count()); // one mask per sequence

        // Inference: the identity, so h[t] = 2^t.
        double[] inferred = Run(cell, inputs, initial, batch, steps, training: false);
        for (int t = 0; t < steps; t++)
            Assert.All(inferred.AsSpan(t * batch * h, batch * h).ToArray(), v => Assert.Equal(Math.Pow(2, t + 1), v));

        // The next training pass draws another mask; the same seed draws the same one.
        cell.Dropouts[0].Reseed(5);
        double[] first = Run(cell, inputs, initial, batch, steps, training: true);
        double[] second = Run(cell, inputs, initial, batch, steps, training: true);
        cell.Dropouts[0].Reseed(5);
        Assert.Equal(first, Run(cell, inputs, initial, batch, steps, training: true));
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void DropConnectDropsEachRecurrentWeightWithProbabilityPForAWholePassAndLeavesTheInputsWeights()
    {
        const int x = 2, h = 24, steps = 3;
        const double p = 0.5;
        Assembly assembly = Compile($"[DropConnect(\"h\", {p})]", "h[t] = R @ h[t-1] + W @ x[t]");
        var cell = Create<RecurrentCell<double>>(assembly, "C+Float64", x, h);
        var random = new Random(11);
        double[] r = Enumerable.Range(0, h * h).Select(_ => random.NextDouble() + 0.5).ToArray(); // [out, in], none zero
        double[] w = Enumerable.Range(0, h * x).Select(_ => random.NextDouble() + 0.5).ToArray();
        cell.Parameter("R").CopyFrom(r);
        cell.Parameter("W").CopyFrom(w);
        // Sequence b starts from the unit vector e_b with input 0, so h[1] of sequence b is column b of the matrix multiplied.
        int batch = h;
        double[] initial = new double[batch * h];
        for (int b = 0; b < batch; b++) initial[b * h + b] = 1;
        double[] inputs = new double[steps * batch * x];
        double[] trained = Run(cell, inputs, initial, batch, steps, training: true);
        var used = new double[h, h];
        int dropped = 0;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < h; i++)
            {
                double value = trained[b * h + i], weight = r[i * h + b];
                Assert.True(value == 0 || Math.Abs(value - weight / (1 - p)) < 1e-12, $"R[{i}, {b}] = {weight} was multiplied as {value}: neither dropped nor scaled by 1 / (1 - p)");
                used[i, b] = value;
                if (value == 0) dropped++;
            }
        Assert.InRange(dropped / (double)(h * h), p - 0.1, p + 0.1); // 576 weights: ±0.1 is about five standard deviations
        // The same dropped matrix at every step of the pass and for every sequence: h[t] = R' h[t-1].
        for (int t = 1; t < steps; t++)
            for (int b = 0; b < batch; b++)
                for (int i = 0; i < h; i++)
                {
                    double expected = 0;
                    for (int k = 0; k < h; k++) expected += used[i, k] * trained[((t - 1) * batch + b) * h + k];
                    Assert.Equal(expected, trained[(t * batch + b) * h + i], 9);
                }
        // The input's weights are not dropped: from zero states, h[1] = W x[1].
        double[] ones = Enumerable.Repeat(1.0, batch * x).ToArray();
        double[] fromInput = Run(cell, ones, new double[batch * h], batch, 1, training: true);
        for (int i = 0; i < h; i++) Assert.Equal(w[i * x] + w[i * x + 1], fromInput[i], 12);
        // Inference multiplies by R itself.
        double[] first = inputs.AsSpan(0, batch * x).ToArray();
        double[] inferred = Run(cell, first, initial, batch, 1, training: false);
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < h; i++) Assert.Equal(r[i * h + b], inferred[b * h + i], 12);
        // Another pass draws another mask; the gradient of R is the dropped matrix's, times the mask (finite differences above).
        double[] again = Run(cell, first, initial, batch, 1, training: true);
        Assert.NotEqual(trained.AsSpan(0, batch * h).ToArray(), again);
    }

    [Fact]
    public void TheGeneratedConstructorRegistersEachDeclarationInOrder()
    {
        Assembly assembly = Compile("[Zoneout(\"c\", 0.5), VariationalDropout(\"h\", 0.125), Zoneout(\"h\", 0.05), DropConnect(\"h\", 0.25)]",
            "c[t] = tanh(W @ [h[t-1], x[t]])", "h[t] = tanh(c[t]) * c[t-1]");
        var cell = Create<RecurrentCell<float>>(assembly, "C", 2, 4);
        Assert.Equal(new[] { "zoneout on c, p = 0.5", "dropout on h, p = 0.125", "zoneout on h, p = 0.05", "dropconnect on h, p = 0.25" }, cell.Dropouts.Select(d => d.ToString()));
        Assert.Equal(new[] { CellDropoutKind.Zoneout, CellDropoutKind.Variational, CellDropoutKind.Zoneout, CellDropoutKind.DropConnect }, cell.Dropouts.Select(d => d.Kind));
    }
}
