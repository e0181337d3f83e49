using System.Collections.Generic;
using System.Linq;
using System;
using CellGen.Cells;
using CellGen.CompilerServices;
using Xunit;

namespace CellGen.Tests;

/// <summary>The runtime's contract: argument errors name what is wrong, gradients accumulate, steady state allocates nothing.</summary>
[Collection("Alone")]
public sealed class RunnerTests
{
    private static Lstm RandomLstm(int x, int h, int seed)
    {
        var random = new Random(seed);
        var cell = new Lstm(x, h);
        foreach (Parameter<float> p in cell.Parameters)
            p.CopyFrom(Enumerable.Range(0, p.Length).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray());
        return cell;
    }

    [Fact]
    public void UnknownParameterNameListsTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => new Lstm(3, 4).Parameter("W_x"));
        Assert.Contains("'W_x'", e.Message);
        Assert.Contains("W_i, b_i, W_f", e.Message);
    }

    [Fact]
    public void ParameterShapesAreLogicalAndRoundTrip()
    {
        var cell = new Lstm(3, 4);
        Assert.Equal(new[] { 4, 7 }, cell.Parameter("W_i").Shape);
        Assert.Equal(new[] { 4 }, cell.Parameter("b_o").Shape);
        float[] before = cell.Parameter("W_f").ToArray();
        float[] values = Enumerable.Range(0, 28).Select(i => (float)i).ToArray();
        cell.Parameter("W_g").CopyFrom(values);
        Assert.Equal(values, cell.Parameter("W_g").ToArray());
        Assert.Equal(before, cell.Parameter("W_f").ToArray()); // writing W_g, packed beside W_f, left W_f as it was
        var e = Assert.Throws<ArgumentException>(() => cell.Parameter("W_g").CopyFrom(new float[27]));
        Assert.Contains("[4, 7]", e.Message);
    }

    [Fact]
    public void WrongShapesAreRefusedWithTheShapes()
    {
        var runner = new Lstm(3, 4).CreateRunner(5, 2);
        var outputs = new float[5 * 2 * 4];
        var e = Assert.Throws<ArgumentException>(() => runner.Forward(new float[7], 2, default, outputs, default));
        Assert.Equal("inputs", e.ParamName);
        Assert.Contains("X=3", e.Message);
        e = Assert.Throws<ArgumentException>(() => runner.Forward(new float[6 * 2 * 3], 2, default, new float[6 * 2 * 4], default));
        Assert.Contains("T <= 5", e.Message);
        e = Assert.Throws<ArgumentException>(() => runner.Forward(new float[5 * 2 * 3], 2, new float[3], outputs, default));
        Assert.Equal("initialStates", e.ParamName);
        Assert.Contains("c, h", e.Message);
        e = Assert.Throws<ArgumentException>(() => runner.Forward(new float[5 * 2 * 3], 2, default, new float[3], default));
        Assert.Equal("outputs", e.ParamName);
        Assert.Throws<InvalidOperationException>(() => runner.Backward(default, default, default, default));
        runner.ForwardTraining(new float[5 * 2 * 3], 2, default, outputs, default);
        e = Assert.Throws<ArgumentException>(() => runner.Backward(new float[1], default, default, default));
        Assert.Equal("outputGradients", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Lstm(0, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Lstm(3, 4).CreateRunner(0, 1));
    }

    [Fact]
    public void GradientsAccumulateUntilCleared()
    {
        var cell = RandomLstm(3, 5, 1);
        var runner = cell.CreateRunner(4, 2);
        float[] x = Enumerable.Range(0, 4 * 2 * 3).Select(i => MathF.Sin(i)).ToArray();
        float[] dy = Enumerable.Range(0, 4 * 2 * 5).Select(i => MathF.Cos(i)).ToArray();
        var outputs = new float[dy.Length];
        cell.ZeroGradients();
        runner.ForwardTraining(x, 2, default, outputs, default);
        runner.Backward(dy, default, default, default);
        float[] once = cell.Parameter("W_o").GradientToArray();
        Assert.Contains(once, v => v != 0);
        runner.Backward(dy, default, default, default);
        float[] twice = cell.Parameter("W_o").GradientToArray();
        for (int i = 0; i < once.Length; i++) Assert.Equal(2 * once[i], twice[i], 1e-5f);
        cell.ZeroGradients();
        Assert.All(cell.Parameter("W_o").GradientToArray(), v => Assert.Equal(0f, v));
    }

    public static IEnumerable<object[]> CellNames() => CellCatalog.All().Select(t => new object[] { t.FullName! });

    /// <summary>Inference keeps one step's room for what only the backward pass reads; it must compute what training does.</summary>
    [Theory]
    [MemberData(nameof(CellNames))]
    public void InferenceComputesWhatTrainingComputes(string name)
    {
        const int batch = 3, steps = 6;
        RecurrentCell<float> cell = CellCatalog.CreateAny(name, 5, 7);
        Initializers.Initialize(cell, new Random(3));
        SequenceRunner<float> runner = cell.CreateRunner(steps, batch);
        float[] x = Enumerable.Range(0, steps * batch * cell.InputSize).Select(i => MathF.Sin(0.37f * i)).ToArray();
        int states = cell.StateValues(batch);
        float[] inferred = new float[steps * batch * cell.OutputSize], trained = new float[inferred.Length];
        float[] inferredFinal = new float[states], trainedFinal = new float[states];
        runner.Forward(x, batch, default, inferred, inferredFinal);
        runner.ForwardTraining(x, batch, default, trained, trainedFinal);
        Assert.Equal(trained, inferred);
        Assert.Equal(trainedFinal, inferredFinal);
    }

    /// <summary>
    /// Inference writes the output state straight into the caller's outputs and reads it back as the next step's
    /// state: with sequences that end early (whose outputs are cleared after their final states are read), given
    /// initial states, a smaller batch after a larger one, and outputs that are the inputs' own buffer (then the pass
    /// keeps its history and copies, as training does), it computes what training computes.
    /// </summary>
    [Theory]
    [MemberData(nameof(CellNames))]
    public void InferenceInPlaceComputesWhatTrainingComputes(string name)
    {
        const int steps = 6;
        RecurrentCell<float> cell = CellCatalog.CreateAny(name, 7, 7);
        Initializers.Initialize(cell, new Random(4));
        SequenceRunner<float> runner = cell.CreateRunner(steps, 3);
        foreach (int[] lengths in new[] { new[] { 6, 2, 0 }, new[] { 3, 6 }, new[] { 6 } })
        {
            int batch = lengths.Length;
            float[] x = Enumerable.Range(0, steps * batch * cell.InputSize).Select(i => MathF.Sin(0.37f * i + batch)).ToArray();
            float[] initial = Enumerable.Range(0, cell.StateValues(batch)).Select(i => 0.5f * MathF.Cos(0.23f * i)).ToArray();
            int states = cell.StateValues(batch);
            float[] inferred = new float[steps * batch * cell.OutputSize], trained = new float[inferred.Length];
            float[] inferredFinal = new float[states], trainedFinal = new float[states];
            runner.ForwardTraining(x, lengths, initial, trained, trainedFinal);
            runner.Forward(x, lengths, initial, inferred, inferredFinal);
            Assert.Equal(trained, inferred);
            Assert.Equal(trainedFinal, inferredFinal);
            Assert.Contains(trained, v => v != 0);
            if (cell.InputSize != cell.OutputSize) continue;
            float[] shared = (float[])x.Clone(); // outputs over the inputs
            Array.Clear(inferredFinal);
            runner.Forward(shared, lengths, initial, shared, inferredFinal);
            Assert.Equal(trained, shared);
            Assert.Equal(trainedFinal, inferredFinal);
        }
    }

    /// <summary>
    /// A batch large enough for its sweeps to be split by columns between two cores (and its products to be shared)
    /// computes what the same sequences compute one at a time, which run on one core: outputs, input gradients and
    /// parameter gradients (the batch's are the sums of the sequences'), vector parameters included.
    /// </summary>
    [Theory]
    [Trait("Category", "Kernels")] // run on every SIMD path in CI
    [MemberData(nameof(CellNames))]
    public void LargeBatchesComputeWhatOneSequenceAtATimeComputes(string name)
    {
        const int batch = 40, steps = 3;
        // Every sweep of the batch is split (the real threshold would take a far larger batch for the cheapest cells);
        // no sweep of the sequences run one at a time is.
        long threshold = Elementwise.SplitWork;
        try { CompareWithOneSequenceAtATime(name, 24, 128, batch, steps); }
        finally { Elementwise.SplitWork = threshold; }
    }

    private static void CompareWithOneSequenceAtATime(string name, int input, int hidden, int batch, int steps)
    {
        Elementwise.SplitWork = 0;
        RecurrentCell<float> cell = CellCatalog.CreateAny(name, input, hidden);
        input = cell.InputSize;
        hidden = cell.OutputSize;
        Initializers.Initialize(cell, new Random(5));
        float[] x = Enumerable.Range(0, steps * batch * input).Select(i => MathF.Sin(0.31f * i)).ToArray();
        float[] dy = Enumerable.Range(0, steps * batch * hidden).Select(i => MathF.Cos(0.17f * i)).ToArray();
        var outputs = new float[dy.Length];
        var dx = new float[x.Length];
        cell.ZeroGradients();
        SequenceRunner<float> runner = cell.CreateRunner(steps, batch);
        runner.ForwardTraining(x, batch, default, outputs, default);
        runner.Backward(dy, default, dx, default);
        float[][] batchGradients = cell.Parameters.Select(p => p.GradientToArray()).ToArray();

        Elementwise.SplitWork = long.MaxValue;
        cell.ZeroGradients();
        SequenceRunner<float> single = cell.CreateRunner(steps, 1);
        var one = new float[steps * hidden];
        var dxOne = new float[steps * input];
        for (int b = 0; b < batch; b++)
        {
            float[] xb = Enumerable.Range(0, steps).SelectMany(t => x.Skip((t * batch + b) * input).Take(input)).ToArray();
            float[] dyb = Enumerable.Range(0, steps).SelectMany(t => dy.Skip((t * batch + b) * hidden).Take(hidden)).ToArray();
            single.ForwardTraining(xb, 1, default, one, default);
            single.Backward(dyb, default, dxOne, default);
            for (int t = 0; t < steps; t++)
            {
                for (int j = 0; j < hidden; j++) Assert.Equal(one[t * hidden + j], outputs[(t * batch + b) * hidden + j], 1e-5f);
                for (int j = 0; j < input; j++) Assert.Equal(dxOne[t * input + j], dx[(t * batch + b) * input + j], 1e-4f);
            }
        }
        IReadOnlyList<Parameter<float>> parameters = cell.Parameters;
        for (int p = 0; p < parameters.Count; p++)
        {
            float[] summed = parameters[p].GradientToArray();
            for (int i = 0; i < summed.Length; i++)
                Assert.True(Math.Abs(summed[i] - batchGradients[p][i]) <= 1e-4 * (1 + Math.Abs(summed[i])),
                    $"{parameters[p].Name}[{i}]: batch {batchGradients[p][i]}, sum of sequences {summed[i]}");
        }
    }

    [Fact]
    public void SequencesInABatchAreIndependent()
    {
        var cell = RandomLstm(3, 6, 2);
        int steps = 4;
        float[] x = Enumerable.Range(0, steps * 2 * 3).Select(i => MathF.Sin(0.7f * i)).ToArray();
        var both = new float[steps * 2 * 6];
        cell.CreateRunner(steps, 2).Forward(x, 2, default, both, default);
        float[] second = Enumerable.Range(0, steps).SelectMany(t => x.Skip((t * 2 + 1) * 3).Take(3)).ToArray();
        var alone = new float[steps * 6];
        cell.CreateRunner(steps, 1).Forward(second, 1, default, alone, default);
        for (int t = 0; t < steps; t++)
            for (int j = 0; j < 6; j++) Assert.Equal(both[(t * 2 + 1) * 6 + j], alone[t * 6 + j], 1e-6f);
    }

    [Fact]
    public void SteadyStateForwardAndBackwardAllocateNothing()
    {
        // Every sweep split between the cores here (the threshold lowered), so that the shared paths are measured too.
        long threshold = Elementwise.SplitWork;
        Elementwise.SplitWork = 0;
        try { AllocateNothing(); }
        finally { Elementwise.SplitWork = threshold; }
    }

    private void AllocateNothing()
    {
        var cell = RandomLstm(32, 48, 3);
        const int steps = 10, batch = 4;
        var runner = cell.CreateRunner(steps, batch);
        float[] x = new float[steps * batch * 32], outputs = new float[steps * batch * 48], dy = new float[outputs.Length];
        float[] initial = new float[2 * batch * 48], final = new float[initial.Length], dInitial = new float[initial.Length], dx = new float[x.Length];
        Array.Fill(x, 0.1f);
        Array.Fill(dy, 0.2f);
        // A second runner whose products are large enough to be shared between the cores.
        var large = RandomLstm(64, 128, 4);
        const int largeBatch = 32;
        var largeRunner = large.CreateRunner(steps, largeBatch);
        float[] largeX = new float[steps * largeBatch * 64], largeOutputs = new float[steps * largeBatch * 128], largeDy = new float[largeOutputs.Length], largeDx = new float[largeX.Length];
        Array.Fill(largeX, 0.1f);
        Array.Fill(largeDy, 0.2f);
        // Cells of the language's version 2: means and layernorm, a declared size, x[t-1], a highway, the new functions;
        // heads (block-diagonal products, on one core and, at H 128, shared between the two); masks drawn in training; a
        // matrix memory and values per head (Mlstm: its sweeps by heads and by matrix rows, its segment sums).
        var version2 = new RecurrentCell<float>[] { new LayerNormLstm(32, 48), new Lstmp(32, 48, P: 20), new Zoo.Qrnn2(32, 48), new Zoo.Sru(48, 48), new Zoo.SoftplusRnn(32, 48), new Slstm(32, 48), new Slstm(64, 128), new ZoneoutLstm(32, 48), new VariationalGru(32, 48), new Mlstm(32, 48), new Mlstm(64, 128) }
            .Select(c =>
            {
                Initializers.Initialize(c, new Random(6));
                var r = c.CreateRunner(steps, batch);
                float[] cx = new float[steps * batch * c.InputSize], cy = new float[steps * batch * c.OutputSize], cdy = new float[cy.Length], cdx = new float[cx.Length];
                Array.Fill(cx, 0.1f);
                Array.Fill(cdy, 0.2f);
                return (Name: c.GetType().Name, Run: (Action)(() => { r.ForwardTraining(cx, batch, default, cy, default); r.Backward(cdy, default, cdx, default); r.Forward(cx, batch, default, cy, default); }));
            }).ToArray();
        void Once()
        {
            foreach (var cell2 in version2) cell2.Run();
            runner.Forward(x, batch, initial, outputs, final);
            runner.ForwardTraining(x, batch, initial, outputs, final);
            runner.Backward(dy, final, dx, dInitial);
            largeRunner.Forward(largeX, largeBatch, default, largeOutputs, default);
            largeRunner.ForwardTraining(largeX, largeBatch, default, largeOutputs, default);
            largeRunner.Backward(largeDy, default, largeDx, default);
        }
        // Steady state: past tiered compilation, whose background JIT allocates on its own thread.
        for (int i = 0; i < 200; i++) Once();
        System.Threading.Thread.Sleep(500);
        for (int i = 0; i < 50; i++) Once();
        // This thread: exactly nothing.
        long thread = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) Once();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - thread);
        // The process: the test host's own threads allocate now and then (a timer, about 168 bytes every 100 ms
        // here), so each call is measured alone, in short windows, and each must have a window with no allocation at
        // all; were a call allocating, every one of its windows would show it. One window per call, not per round of
        // six: on the scalar path a round takes about 200 ms, and every round held a tick of the timer.
        (string Name, Action Run)[] calls = new (string Name, Action Run)[]
        {
            ("Forward", () => runner.Forward(x, batch, initial, outputs, final)),
            ("ForwardTraining", () => runner.ForwardTraining(x, batch, initial, outputs, final)),
            ("Backward", () => runner.Backward(dy, final, dx, dInitial)),
            ("Forward, shared between the cores", () => largeRunner.Forward(largeX, largeBatch, default, largeOutputs, default)),
            ("ForwardTraining, shared between the cores", () => largeRunner.ForwardTraining(largeX, largeBatch, default, largeOutputs, default)),
            ("Backward, shared between the cores", () => largeRunner.Backward(largeDy, default, largeDx, default)),
        }.Concat(version2.Select(c => (Name: c.Name + " (forward, training and backward)", c.Run))).ToArray();
        var clean = new bool[calls.Length];
        for (int round = 0; round < 20; round++)
            for (int c = 0; c < calls.Length; c++)
            {
                long before = GC.GetTotalAllocatedBytes(precise: true);
                calls[c].Run();
                clean[c] |= GC.GetTotalAllocatedBytes(precise: true) == before;
            }
        for (int c = 0; c < calls.Length; c++) Assert.True(clean[c], $"{calls[c].Name} allocated in every one of 20 windows");
    }
}

/// <summary>Tests that measure the whole process run alone.</summary>
[CollectionDefinition("Alone", DisableParallelization = true)]
public sealed class AloneCollection;

/// <summary>A whole training step (forward, loss, backward, clipping, optimiser) allocates nothing in steady state.</summary>
[Collection("Alone")]
public sealed class TrainingStepAllocationTests
{
    [Fact]
    public void SteadyStateTrainingStepsAllocateNothing()
    {
        const int x = 4, h = 16, batch = 8, steps = 12;
        var cell = new CellGen.Cells.Gru(x, h);
        Initializers.Initialize(cell, new Random(1));
        var head = new Dense(h, 1);
        Initializers.Initialize(head, new Random(2));
        var optimizer = new Adam(new IHasParameters[] { cell, head });
        var runner = cell.CreateRunner(steps, batch);
        float[] inputs = new float[steps * batch * x], outputs = new float[steps * batch * h], final = new float[batch * h];
        float[] prediction = new float[batch], target = new float[batch], dPrediction = new float[batch], dFinal = new float[batch * h];
        int[] lengths = new int[batch];
        for (int b = 0; b < batch; b++) lengths[b] = 1 + b % steps;
        Array.Fill(inputs, 0.3f);
        void Step()
        {
            runner.ForwardTraining(inputs, lengths, default, outputs, final);
            head.Forward(final, prediction, batch);
            Losses.MeanSquaredError(prediction, target, dPrediction);
            head.Backward(final, dPrediction, dFinal, batch);
            runner.Backward(default, dFinal, default, default);
            optimizer.ClipGradientsByNorm(1.0);
            optimizer.ClipGradientsByValue(10f);
            optimizer.Step();
            optimizer.ZeroGradients();
        }
        for (int i = 0; i < 200; i++) Step();
        System.Threading.Thread.Sleep(500);
        for (int i = 0; i < 50; i++) Step();
        long thread = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) Step();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - thread);
    }
}
