using System;
using System.Linq;
using CellGen.Cells;
using CellGen.CompilerServices;
using Xunit;

namespace CellGen.Tests;

/// <summary>Threads.Count, as torch.set_num_threads: one thread hands nothing to the worker and gives two threads' bits.</summary>
public sealed class ThreadsTests
{
    [Fact]
    public void OneThreadRunsOnOneThreadAndGivesTheSameBitsAsTwo()
    {
        int before = Threads.Count;
        try
        {
            var model = new Sequential(new Recurrent((x, h) => new Lstm(x, h), 64, 256, random: new Random(1)), new Dense(256, 512, new Random(2)));
            float[] inputs = Enumerable.Range(0, 10 * 32 * 64).Select(i => MathF.Sin(0.01f * i)).ToArray();
            float[] targets = Enumerable.Range(0, 10 * 32 * 512).Select(i => MathF.Cos(0.02f * i)).ToArray();
            (float[] Outputs, float[] Gradient, long HandOffs) Run(int threads)
            {
                Threads.Count = threads;
                Assert.Equal(threads, Threads.Count);
                var optimizer = Adam.W([model]);
                optimizer.ZeroGradients();
                long start = Workers.HandOffs;
                new MeanSquaredErrorLoss().Compute(model.Forward(inputs, 32, training: true), targets);
                model.Backward();
                long handOffs = Workers.HandOffs - start;
                return (model.Output.Values.ToArray(), model.NamedParameters().First().Value.GradientToArray(), handOffs);
            }
            var two = Run(2);
            var one = Run(1);
            Assert.Equal(0, one.HandOffs);
            Assert.True(two.HandOffs > 0, "two threads handed nothing to the worker: the products are too small for this test");
            Assert.Equal(two.Outputs, one.Outputs);
            Assert.Equal(two.Gradient, one.Gradient);
        }
        finally
        {
            Threads.Count = before;
        }
    }

    [Fact]
    public void ACountBelowOneIsRefusedAndAboveTheMaximumUsesTheMaximum()
    {
        int before = Threads.Count;
        try
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => Threads.Count = 0);
            Threads.Count = 64;
            Assert.Equal(Threads.Maximum, Threads.Count);
        }
        finally
        {
            Threads.Count = before;
        }
    }
}

/// <summary>Issue 27: hyper-parameters are doubles across the API, as Python's floats, so that 1e-3 needs no suffix.</summary>
public sealed class HyperParameterTests
{
    [Fact]
    public void DoubleLiteralsAreAcceptedAndTheStepIsTheFloatStep()
    {
        Module Make() => new Sequential(new Dense(3, 2, new Random(1)), new Dropout(0.1, seed: 3));
        Module a = Make(), b = Make();
        var byDouble = new Adam([a], learningRate: 1e-3, beta1: 0.9, weightDecay: 0.01);
        var byFloat = new Adam([b], learningRate: 1e-3f, beta1: 0.9f, weightDecay: 0.01f);
        Assert.Equal(1e-3, byDouble.LearningRate);
        foreach ((Module model, Optimizer optimizer) in new[] { (a, (Optimizer)byDouble), (b, byFloat) })
        {
            var loss = new MeanSquaredErrorLoss();
            loss.Compute(((Sequential)model).Forward(new float[] { 1, 2, 3, 4, 5, 6 }, 2, training: true), new float[] { 1, 0, 0, 1 });
            optimizer.ZeroGradients();
            model.Backward();
            optimizer.ClipGradientsByValue(0.5);
            optimizer.Step();
        }
        Assert.Equal(b.NamedParameters().Select(p => p.Value.ToArray()), a.NamedParameters().Select(p => p.Value.ToArray()));
        Assert.Equal(0.1, ((Dropout)((Sequential)a).Modules[1]).Probability);
        _ = new Sgd([a], 0.1, momentum: 0.9, nesterov: true);
        _ = new Recurrent((x, h) => new Lstm(x, h), 3, 4, layers: 2, dropout: 0.2);
    }
}
