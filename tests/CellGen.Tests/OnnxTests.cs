using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using CellGen.Cells;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace CellGen.Tests;

/// <summary>
/// Models exported to ONNX, run by ONNX Runtime (a test-only dependency) on the same inputs: the outputs match
/// CellGen's to 1e-5, for every built-in cell ONNX has an operator for, stacked, bidirectional, over variable lengths.
/// </summary>
public sealed class OnnxTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "cellgen-onnx-" + Guid.NewGuid().ToString("N"));

    public OnnxTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static float[] Wave(int length, float frequency) => Enumerable.Range(0, length).Select(i => MathF.Sin(frequency * i + 0.3f)).ToArray();

    private static float[] Run(string path, params NamedOnnxValue[] inputs)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(path, options);
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = session.Run(inputs);
        return results.Single(r => r.Name == "output").AsEnumerable<float>().ToArray();
    }

    private static void Close(ReadOnlySpan<float> expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5, $"{what} output {i}: ONNX Runtime {actual[i]}, CellGen {expected[i]}");
    }

    public static IEnumerable<object[]> Cells() => new[] { "Rnn", "Irnn", "Lstm", "Gru", "TorchGru" }.Select(c => new object[] { c });

    private static Func<int, int, RecurrentCell<float>> CellOf(string name) => name switch
    {
        "Rnn" => (x, h) => new Rnn(x, h),
        "Irnn" => (x, h) => new Irnn(x, h),
        "Lstm" => (x, h) => new Lstm(x, h),
        "Gru" => (x, h) => new Gru(x, h),
        _ => (x, h) => new TorchGru(x, h),
    };

    [Theory]
    [MemberData(nameof(Cells))]
    public void ABidirectionalTwoLayerStackRunsTheSameInOnnxRuntime(string cell)
    {
        const int steps = 6, batch = 3, x = 3;
        var model = new Sequential(new Recurrent(CellOf(cell), x, 5, layers: 2, bidirectional: true, random: new Random(1)), new Dense(10, 4, new Random(2)));
        float[] inputs = Wave(steps * batch * x, 0.7f);
        int[] lengths = { 6, 4, 1 };
        ReadOnlySpan<float> expected = model.Forward(inputs, lengths, training: false).Values;
        string path = Path.Combine(_folder, cell + ".onnx");
        Onnx.Export(path, model);
        float[] actual = Run(path,
            NamedOnnxValue.CreateFromTensor("inputs", new DenseTensor<float>(inputs, new[] { steps, batch, x })),
            NamedOnnxValue.CreateFromTensor("lengths", new DenseTensor<int>(lengths, new[] { batch })));
        Close(expected, actual, cell);
    }

    [Fact]
    public void AClassifierOverTokensRunsTheSameInOnnxRuntime()
    {
        // Embedding -> bidirectional LSTM -> last valid step of each direction -> dropout (nothing at inference) -> dense.
        const int steps = 5, batch = 4;
        var model = new Sequential(new Embedding(11, 6, new Random(1)), new Recurrent((i, o) => new Lstm(i, o), 6, 7, bidirectional: true, random: new Random(2)),
            new LastStep(), new Dropout(0.3f, seed: 1), new Dense(14, 3, new Random(3)));
        int[] tokens = Enumerable.Range(0, steps * batch).Select(i => i * 7 % 11).ToArray();
        int[] lengths = { 5, 2, 3, 1 };
        ReadOnlySpan<float> expected = model.Forward(tokens, lengths, training: false).Values;
        string path = Path.Combine(_folder, "classifier.onnx");
        Onnx.Export(path, model);
        float[] actual = Run(path,
            NamedOnnxValue.CreateFromTensor("tokens", new DenseTensor<long>(tokens.Select(t => (long)t).ToArray(), new[] { steps, batch })),
            NamedOnnxValue.CreateFromTensor("lengths", new DenseTensor<int>(lengths, new[] { batch })));
        Close(expected, actual, "classifier");
    }

    [Fact]
    public void WhatCannotBeExportedYetIsSaidBeforeAnythingIsWritten()
    {
        string path = Path.Combine(_folder, "not.onnx");
        var projected = Assert.Throws<NotSupportedException>(() => Onnx.Export(path, new Recurrent((x, h) => new Lstmp(x, h, P: 2), 3, 4)));
        Assert.Contains("Lstmp", projected.Message);
        Assert.False(File.Exists(path));
    }
}
