using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using CellGen.Cells;
using Xunit;

namespace CellGen.Tests;

/// <summary>The runtime misused on purpose: each misuse is a clear exception, never a wrong answer in silence.</summary>
public sealed class MisuseTests
{
    [Fact]
    public async Task ARunnerUsedFromTwoThreadsThrowsRatherThanComputeWrongOutputs()
    {
        var cell = new Lstm(32, 256);
        Initializers.Initialize(cell, new Random(1));
        var runner = cell.CreateRunner(20, 16);
        float[] x = Enumerable.Range(0, 20 * 16 * 32).Select(i => MathF.Sin(0.1f * i)).ToArray();
        float[] expected = new float[20 * 16 * 256];
        runner.Forward(x, 16, default, expected, default);

        int wrong = 0, refused = 0;
        using var start = new Barrier(2);
        Task Run() => Task.Run(() =>
        {
            var outputs = new float[expected.Length];
            start.SignalAndWait();
            for (int i = 0; i < 30; i++)
            {
                try
                {
                    runner.Forward(x, 16, default, outputs, default);
                    if (!outputs.AsSpan().SequenceEqual(expected)) Interlocked.Increment(ref wrong);
                }
                catch (InvalidOperationException e) when (e.Message.Contains("one thread at a time"))
                {
                    Interlocked.Increment(ref refused);
                }
            }
        });
        await Task.WhenAll(Run(), Run());
        Assert.Equal(0, wrong);
        Assert.True(refused > 0, "60 overlapping calls from two threads were never refused");
        // The runner is usable again afterwards.
        var after = new float[expected.Length];
        runner.Forward(x, 16, default, after, default);
        Assert.Equal(expected, after);
    }

    [Fact]
    public void AParameterGivenTwiceToAnOptimiserIsRefused()
    {
        var dense = new Dense(3, 2);
        var cell = new Rnn(2, 3);
        Assert.Throws<ArgumentException>(() => new Sgd(new IHasParameters[] { dense, dense }, 0.1f));
        Assert.Throws<ArgumentException>(() => new Adam(new IHasParameters[] { cell, dense, cell }));
        Assert.Throws<ArgumentException>(() => new Adam(new IHasParameters[] { cell, null! }));
        Assert.Throws<ArgumentNullException>(() => new Sgd(null!, 0.1f));
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(-0.1f)]
    [InlineData(float.PositiveInfinity)]
    public void TheLearningRateSetterRefusesWhatTheConstructorRefuses(float rate)
    {
        var optimizer = new Adam(new IHasParameters[] { new Dense(2, 2) }, 0.01f);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => optimizer.LearningRate = rate);
        Assert.Equal("LearningRate", error.ParamName);
        Assert.Equal(0.01f, optimizer.LearningRate);
        optimizer.LearningRate = 0.5f;
        Assert.Equal(0.5f, optimizer.LearningRate);
    }

    [Fact]
    public void SizesThatDoNotFitAnArrayAreRefusedAtConstructionByName()
    {
        var lstm = Assert.Throws<ArgumentOutOfRangeException>(() => new Lstm(1, 40_000));
        Assert.Contains("hiddenSize = 40000", lstm.Message);
        var rnn = Assert.Throws<ArgumentOutOfRangeException>(() => new Rnn(1, 46_341));
        Assert.Contains("hiddenSize = 46341", rnn.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Rnn(1, RecurrentCell<float>.MaxSize + 1));
        var runner = Assert.Throws<ArgumentOutOfRangeException>(() => new Rnn(1000, 8).CreateRunner(maxSteps: 3_000_000, maxBatchSize: 1));
        Assert.Equal("maxSteps", runner.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Rnn(2, 2).CreateRunner(maxSteps: int.MaxValue, maxBatchSize: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Lstmp(4, 8, P: 0));
    }

    [Fact]
    public void ASmallerLastBatchRunsAsWhatItIs()
    {
        // Issue 14, item 8: 16 sequences of 20 steps given to a runner for 32 were read as 10 steps of 32.
        var cell = new Lstm(8, 12);
        Initializers.Initialize(cell, new Random(3));
        var big = cell.CreateRunner(maxSteps: 20, maxBatchSize: 32);
        var exact = cell.CreateRunner(maxSteps: 20, maxBatchSize: 16);
        float[] x = Enumerable.Range(0, 20 * 16 * 8).Select(i => MathF.Sin(0.1f * i)).ToArray();
        float[] initial = Enumerable.Range(0, 2 * 16 * 12).Select(i => MathF.Cos(0.2f * i)).ToArray();
        float[] dy = Enumerable.Range(0, 20 * 16 * 12).Select(i => MathF.Sin(0.3f * i)).ToArray();
        float[] dFinal = Enumerable.Range(0, 2 * 16 * 12).Select(i => MathF.Cos(0.4f * i)).ToArray();

        // A full batch first, so that the smaller one follows a call that filled every row.
        float[] full = Enumerable.Range(0, 20 * 32 * 8).Select(i => MathF.Cos(0.05f * i)).ToArray();
        big.ForwardTraining(full, 32, default, new float[20 * 32 * 12], default);
        big.Backward(new float[20 * 32 * 12], default, default, default);

        var results = new[] { big, exact }.Select(runner =>
        {
            cell.ZeroGradients();
            float[] y = new float[20 * 16 * 12], final = new float[2 * 16 * 12], dx = new float[x.Length], dInitial = new float[initial.Length];
            runner.ForwardTraining(x, 16, initial, y, final);
            runner.Backward(dy, dFinal, dx, dInitial);
            return (y, final, dx, dInitial, Gradients: cell.Parameters.SelectMany(p => p.GradientToArray()).ToArray());
        }).ToArray();
        Assert.Equal(results[1].y, results[0].y);
        Assert.Equal(results[1].final, results[0].final);
        Assert.Equal(results[1].dx, results[0].dx);
        Assert.Equal(results[1].dInitial, results[0].dInitial);
        Assert.Equal(results[1].Gradients, results[0].Gradients);

        // Variable lengths: B is the number of lengths.
        float[] masked = new float[20 * 16 * 12], maskedExact = new float[masked.Length];
        int[] lengths = Enumerable.Range(0, 16).Select(b => 1 + b).ToArray();
        big.Forward(x, lengths, default, masked, default);
        exact.Forward(x, lengths, default, maskedExact, default);
        Assert.Equal(maskedExact, masked);
    }

    [Fact]
    public void ABatchThatDoesNotFitItsShapesIsRefusedWithBoth()
    {
        var runner = new Lstm(8, 12).CreateRunner(maxSteps: 20, maxBatchSize: 32);
        float[] x = new float[20 * 16 * 8], y = new float[20 * 16 * 12];
        var tooMany = Assert.Throws<ArgumentOutOfRangeException>(() => runner.Forward(new float[20 * 33 * 8], 33, default, new float[20 * 33 * 12], default));
        Assert.Equal("batchSize", tooMany.ParamName);
        Assert.Contains("1 to 32", tooMany.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => runner.Forward(x, 0, default, y, default));
        var steps = Assert.Throws<ArgumentException>(() => runner.Forward(x, 6, default, y, default)); // 2560 values are not [T, 6, 8]
        Assert.Contains("B=6", steps.Message);
        var outputs = Assert.Throws<ArgumentException>(() => runner.Forward(x, 16, default, new float[20 * 32 * 12], default));
        Assert.Contains("[T=20, B=16, H=12]", outputs.Message);
        var states = Assert.Throws<ArgumentException>(() => runner.Forward(x, 16, new float[2 * 32 * 12], y, default));
        Assert.Contains("B=16", states.Message);
        var noLengths = Assert.Throws<ArgumentException>(() => runner.Forward(x, ReadOnlySpan<int>.Empty, default, y, default));
        Assert.Equal("lengths", noLengths.ParamName);
        var manyLengths = Assert.Throws<ArgumentOutOfRangeException>(() => runner.Forward(x, new int[40], default, y, default));
        Assert.Equal("lengths", manyLengths.ParamName);
        runner.ForwardTraining(x, 16, default, y, default);
        var backward = Assert.Throws<ArgumentException>(() => runner.Backward(new float[20 * 32 * 12], default, default, default));
        Assert.Contains("B=16", backward.Message);
    }

    [Fact]
    public void LossesOverNothingAreRefused()
    {
        Assert.Throws<ArgumentException>(() => Losses.MeanSquaredError(ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty, Span<float>.Empty));
        Assert.Throws<ArgumentException>(() => Losses.SoftmaxCrossEntropy(ReadOnlySpan<float>.Empty, ReadOnlySpan<int>.Empty, 3, Span<float>.Empty));
    }
}
