using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using CellGen.Cells;
using Xunit;

namespace CellGen.Tests;

/// <summary>Issue 27's small frictions: an accuracy in one call, readable import reports.</summary>
public sealed class UsabilityTests
{
    [Fact]
    public void AccuracyCountsTheRowsTheLossCounts()
    {
        // [T=2, B=2, C=3] logits; sequence 1 has one step, so its second row does not count; one target is ignored.
        var model = new Sequential(new Dense(3, 3, new Random(1)));
        Activations logits = model.Forward(new float[] { 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0 }, new[] { 2, 1 }, training: false);
        int[] argmax = new int[4];
        Sampling.Greedy(logits, argmax);
        int[] targets = { argmax[0], (argmax[1] + 1) % 3, -100, argmax[3] };
        Assert.Equal((1, 2), Metrics.Correct(logits, targets));
        Assert.Equal(0.5, Metrics.Accuracy(logits, targets));
        Assert.Equal(0, Metrics.Accuracy(logits, new[] { -100, -100, -100, -100 }));
        Assert.Throws<ArgumentException>(() => Metrics.Accuracy(logits, new[] { 0 }));
    }

    [Fact]
    public void AnImportReportAndATensorPrintTheirNames()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pytorch-pt");
        PyTorchImport report = PyTorch.Import(Path.Combine(folder, "linear-float64.pt"), strict: false, ("", new Dense(3, 2)), ("extra.", new Dense(1, 1)));
        Assert.Equal("PyTorchImport: used 2 (weight, bias), unused 0, missing 2 (extra.weight, extra.bias)", report.ToString());
        IReadOnlyDictionary<string, PyTorchTensor> tensors = PyTorch.ReadStateDict(Path.Combine(folder, "linear-float64.pt"));
        Assert.Equal("PyTorchTensor [2, 3]", tensors["weight"].ToString());
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
