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

    /// <summary>Runs a model exported from floats: inputs [T, B, X] and lengths [B].</summary>
    private static float[] RunSequences(string path, float[] inputs, int[] lengths, int x) => Run(path,
        NamedOnnxValue.CreateFromTensor("inputs", new DenseTensor<float>(inputs, new[] { inputs.Length / (lengths.Length * x), lengths.Length, x })),
        NamedOnnxValue.CreateFromTensor("lengths", new DenseTensor<int>(lengths, new[] { lengths.Length })));

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
        Close(expected, RunSequences(path, inputs, lengths, x), cell);
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

    /// <summary>Every cell without an ONNX operator of its own: the built-ins, and every cell of the zoo (the language's version 2 throughout).</summary>
    public static IEnumerable<object[]> ScannedCells() => new[]
    {
        "Lstmp", "LayerNormLstm", "PeepholeLstm", "CoupledLstm", "FgrLstm", "IndRnn", "Janet", "LnLstm", "ZooLstmp", "MinGru", "MinLstm",
        "MultiplicativeLstm", "Mut1", "Qrnn2", "Rhn2", "SoftplusRnn", "Sru", "Ugrnn",
    }.Select(c => new object[] { c });

    private static Func<int, int, RecurrentCell<float>> ScannedCellOf(string name) => name switch
    {
        "Lstmp" => (x, h) => new Lstmp(x, h, P: 3),
        "LayerNormLstm" => (x, h) => new LayerNormLstm(x, h),
        "PeepholeLstm" => (x, h) => new PeepholeLstm(x, h),
        "CoupledLstm" => (x, h) => new CoupledLstm(x, h),
        "FgrLstm" => (x, h) => new Zoo.FgrLstm(x, h),
        "IndRnn" => (x, h) => new Zoo.IndRnn(x, h),
        "Janet" => (x, h) => new Zoo.Janet(x, h),
        "LnLstm" => (x, h) => new Zoo.LnLstm(x, h),
        "ZooLstmp" => (x, h) => new Zoo.Lstmp(x, h, 3),
        "MinGru" => (x, h) => new Zoo.MinGru(x, h),
        "MinLstm" => (x, h) => new Zoo.MinLstm(x, h),
        "MultiplicativeLstm" => (x, h) => new Zoo.MultiplicativeLstm(x, h),
        "Mut1" => (x, h) => new Zoo.Mut1(x, h),
        "Qrnn2" => (x, h) => new Zoo.Qrnn2(x, h),
        "Rhn2" => (x, h) => new Zoo.Rhn2(x, h),
        "SoftplusRnn" => (x, h) => new Zoo.SoftplusRnn(x, h),
        "Sru" => (x, h) => new Zoo.Sru(x, h),
        _ => (x, h) => new Zoo.Ugrnn(x, h),
    };

    [Theory]
    [MemberData(nameof(ScannedCells))]
    public void ACellWithoutAnOnnxOperatorRunsTheSameAsAScanOfItsStep(string cell)
    {
        // Two bidirectional layers over variable lengths (the reverse direction through ReverseSequence), pooled and dense;
        // one layer for the highway cells, whose input must have the hidden size.
        const int steps = 5, batch = 3, x = 4;
        int layers = cell is "Mut1" or "Sru" ? 1 : 2;
        var recurrent = new Recurrent(ScannedCellOf(cell), x, 4, layers, bidirectional: true, random: new Random(3));
        var model = new Sequential(recurrent, new LastStep(), new Dense(recurrent.OutputSize, 2, new Random(4)));
        float[] inputs = Wave(steps * batch * x, 0.6f);
        int[] lengths = { 5, 2, 4 };
        ReadOnlySpan<float> expected = model.Forward(inputs, lengths, training: false).Values;
        string path = Path.Combine(_folder, cell + ".onnx");
        Onnx.Export(path, model);
        Close(expected, RunSequences(path, inputs, lengths, x), cell);
        // The sequences' outputs too, before pooling.
        var sequences = new Sequential(recurrent);
        ReadOnlySpan<float> all = sequences.Forward(inputs, lengths, training: false).Values;
        Onnx.Export(path, sequences);
        Close(all, RunSequences(path, inputs, lengths, x), cell + " sequences");
    }
}
