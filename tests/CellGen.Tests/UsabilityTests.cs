using System;
using System.Collections.Generic;
using System.IO;
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
