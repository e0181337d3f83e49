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
        runner.Forward(x, default, expected, default);

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
                    runner.Forward(x, default, outputs, default);
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
        runner.Forward(x, default, after, default);
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
        var runner = Assert.Throws<ArgumentOutOfRangeException>(() => new Rnn(1000, 8).CreateRunner(maxSteps: 3_000_000, batchSize: 1));
        Assert.Equal("maxSteps", runner.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Rnn(2, 2).CreateRunner(maxSteps: int.MaxValue, batchSize: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Lstmp(4, 8, P: 0));
    }

    [Fact]
    public void ALayerRefusesLengthsForAnotherBatchSize()
    {
        var layer = new RecurrentLayer((x, h) => new Lstm(x, h), inputSize: 3, hiddenSize: 4, maxSteps: 5, batchSize: 4);
        float[] inputs = new float[5 * 4 * 3], outputs = new float[5 * 4 * 4];
        layer.Run(inputs, outputs, new[] { 5, 2, 3, 1 }, training: false);
        var error = Assert.Throws<ArgumentException>(() => layer.Run(inputs, outputs, new[] { 5, 2 }, training: false));
        Assert.Contains("B=4", error.Message);
    }

    [Fact]
    public void LossesOverNothingAreRefused()
    {
        Assert.Throws<ArgumentException>(() => Losses.MeanSquaredError(ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty, Span<float>.Empty));
        Assert.Throws<ArgumentException>(() => Losses.SoftmaxCrossEntropy(ReadOnlySpan<float>.Empty, ReadOnlySpan<int>.Empty, 3, Span<float>.Empty));
    }
}
