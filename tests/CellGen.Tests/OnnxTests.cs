using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using CellGen.Cells;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace CellGen.Tests;

/// <summary>Whether Debian's python3 can import onnx (python3-onnx).</summary>
internal static class OnnxChecker
{
    private static readonly Lazy<bool> s_available = new(() =>
    {
        try
        {
            using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(TorchFactAttribute.Python, "-c \"import onnx\"") { RedirectStandardError = true, RedirectStandardOutput = true })!;
            process.WaitForExit();
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    });

    public static bool Available => s_available.Value;
}

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

    /// <summary>
    /// Every exported file passes onnx.checker.check_model(full_check=True) (Debian's python3-onnx; skipped with the
    /// reason where it is missing, except in CI, which installs it), and has no node, initialiser or input that nothing reads.
    /// </summary>
    internal static void Checked(params string[] paths)
    {
        foreach (string path in paths) NothingUnused(path);
        if (!OnnxChecker.Available)
        {
            Assert.True(Environment.GetEnvironmentVariable("CI") is null, "CI must have python3-onnx: .ci/run installs it");
            return;
        }
        var start = new System.Diagnostics.ProcessStartInfo(TorchFactAttribute.Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import sys, onnx\nfor p in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(p), full_check=True)\n    print('ok', p)");
        foreach (string path in paths) start.ArgumentList.Add(path);
        using var process = System.Diagnostics.Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd(), error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"onnx.checker refused an export:\n{output}\n{error}");
    }

    private static void NothingUnused(string path)
    {
        var model = CellGen.OnnxSchema.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var graph = model.Graph;
        var read = new HashSet<string>(graph.Node.SelectMany(n => n.Input).Concat(graph.Output.Select(o => o.Name)));
        foreach (var node in graph.Node)
            foreach (var attribute in node.Attribute.Where(a => a.G is not null))
                read.UnionWith(attribute.G.Node.SelectMany(n => n.Input));
        foreach (var node in graph.Node)
            if (node.OpType != "Scan") Assert.True(node.Output.Any(read.Contains), $"{path}: node {node.Name} ({node.OpType}) is read by nothing");
        foreach (var body in graph.Node.SelectMany(n => n.Attribute).Where(a => a.G is not null).Select(a => a.G))
        {
            var readInBody = new HashSet<string>(body.Node.SelectMany(n => n.Input).Concat(body.Output.Select(o => o.Name)));
            foreach (var node in body.Node) Assert.True(node.Output.Any(readInBody.Contains), $"{path}: node {node.Name} ({node.OpType}) of a Scan's body is read by nothing");
        }
        foreach (var initialiser in graph.Initializer) Assert.True(read.Contains(initialiser.Name), $"{path}: initialiser {initialiser.Name} is read by nothing");
        foreach (var input in graph.Input) Assert.True(read.Contains(input.Name), $"{path}: input {input.Name} is read by nothing");
        foreach (var value in graph.Input.Concat(graph.Output))
            Assert.True(value.Type?.TensorType?.Shape is not null, $"{path}: {value.Name} has no shape");
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
        Close(expected, RunSequences(path, inputs, lengths, x), cell);
        Checked(path);
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
        Checked(path);
    }

    /// <summary>Every cell without an ONNX operator of its own: the built-ins, and every cell of the zoo (the language's version 2 throughout).</summary>
    public static IEnumerable<object[]> ScannedCells() => new[]
    {
        "Lstmp", "LayerNormLstm", "PeepholeLstm", "CoupledLstm", "FgrLstm", "IndRnn", "Janet", "LnLstm", "ZooLstmp", "MinGru", "MinLstm",
        "MultiplicativeLstm", "Mut1", "Qrnn2", "Rhn2", "SoftplusRnn", "Sru", "Ugrnn", "SoftsignRnn", "EluRnn", "NewFunctionsRnn", "LeakyRnn",
        "Slstm", "HeadsGru", "ZoneoutLstm", "VariationalGru", "Mlstm", "DeltaNet",
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
        "SoftsignRnn" => (x, h) => new SoftsignRnn(x, h),
        "EluRnn" => (x, h) => new EluRnn(x, h),
        "NewFunctionsRnn" => (x, h) => new NewFunctionsRnn(x, h),
        "LeakyRnn" => (x, h) => new LeakyRnn(x, h),
        "Slstm" => (x, h) => new Slstm(x, h),
        "Mlstm" => (x, h) => new Mlstm(x, h),
        "DeltaNet" => (x, h) => new DeltaNet(x, h),
        "HeadsGru" => (x, h) => new HeadsGru(x, h),
        // Inference: zoneout exports as its expectation p, variational dropout as the identity.
        "ZoneoutLstm" => (x, h) => new ZoneoutLstm(x, h),
        "VariationalGru" => (x, h) => new VariationalGru(x, h),
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
        int hidden = cell switch { "HeadsGru" => 6, "Mlstm" => 8, "DeltaNet" => 6, _ => 4 }; // a multiple of the heads (3, 4, 2), P > 1
        var recurrent = new Recurrent(ScannedCellOf(cell), x, hidden, layers, bidirectional: true, random: new Random(3));
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
        string sequencesPath = Path.Combine(_folder, cell + "-sequences.onnx");
        Onnx.Export(sequencesPath, sequences);
        Close(all, RunSequences(sequencesPath, inputs, lengths, x), cell + " sequences");
        // And without lengths: every sequence all T steps, the reverse direction over the whole time axis.
        ReadOnlySpan<float> full = sequences.Forward(inputs, batch, training: false).Values;
        string fixedPath = Path.Combine(_folder, cell + "-fixed.onnx");
        Onnx.Export(fixedPath, sequences, variableLengths: false);
        Close(full, Run(fixedPath, NamedOnnxValue.CreateFromTensor("inputs", new DenseTensor<float>(inputs, new[] { steps, batch, x }))), cell + " fixed length");
        Checked(path, sequencesPath, fixedPath);
    }

    [Theory]
    [InlineData("Lstm")]
    [InlineData("TorchGru")]
    [InlineData("Rnn")]
    [InlineData("PeepholeLstm")]
    [InlineData("Lstmp")]
    public void AFixedLengthExportHasNoLengthsInputAndRunsTheSame(string cell)
    {
        const int steps = 5, batch = 3, x = 4;
        Func<int, int, RecurrentCell<float>> make = cell switch { "PeepholeLstm" or "Lstmp" => ScannedCellOf(cell), _ => CellOf(cell) };
        var recurrent = new Recurrent(make, x, 4, layers: 2, bidirectional: true, random: new Random(7));
        var model = new Sequential(recurrent, new Dense(recurrent.OutputSize, 2, new Random(8)));
        float[] inputs = Wave(steps * batch * x, 0.4f);
        ReadOnlySpan<float> expected = model.Forward(inputs, batch, training: false).Values;
        string path = Path.Combine(_folder, cell + "-fixed.onnx");
        Onnx.Export(path, model, variableLengths: false);
        using (var session = new InferenceSession(path))
            Assert.Equal(new[] { "inputs" }, session.InputMetadata.Keys.ToArray());
        Close(expected, Run(path, NamedOnnxValue.CreateFromTensor("inputs", new DenseTensor<float>(inputs, new[] { steps, batch, x }))), cell + " fixed");
        // A model without a recurrent module has no lengths to read either.
        string dense = Path.Combine(_folder, "dense.onnx");
        Onnx.Export(dense, new Sequential(new Dense(4, 3, new Random(9))));
        using (var session = new InferenceSession(dense))
            Assert.Equal(new[] { "inputs" }, session.InputMetadata.Keys.ToArray());
        Checked(path, dense);
    }

    [Fact]
    public void LayersFromEquationsAndALastStepAfterThemRunTheSameInOnnxRuntime()
    {
        // A recurrent encoder, a LayerNorm and a FeedForward over every step, the last valid step of each sequence
        // (after a layer: gathered by length), then a GELU head and a GLU: every built-in layer that has parameters.
        const int steps = 5, batch = 3, x = 4;
        Initializers.ManualSeed(11);
        var norm = new LayerNorm(6);
        norm.Cell.Parameter("weight").CopyFrom(Wave(6, 1.3f));
        norm.Cell.Parameter("bias").CopyFrom(Wave(6, 0.9f));
        var model = new Sequential(new Recurrent((i, h) => new Lstm(i, h), x, 6, random: new Random(1)), norm, new FeedForward(6, 9), new Highway(6),
            new LastStep(), new Dense(6, 5, new Random(2)), new Gelu(5), new Glu(5, 3), new Sigmoid(3), new Relu(3), new Tanh(3));
        float[] inputs = Wave(steps * batch * x, 0.5f);
        int[] lengths = { 5, 1, 3 };
        ReadOnlySpan<float> expected = model.Forward(inputs, lengths, training: false).Values;
        string path = Path.Combine(_folder, "layers.onnx");
        Onnx.Export(path, model);
        Close(expected, RunSequences(path, inputs, lengths, x), "layers");
        // Without lengths, the last step is T - 1 for every sequence.
        ReadOnlySpan<float> full = model.Forward(inputs, batch, training: false).Values;
        string fixedPath = Path.Combine(_folder, "layers-fixed.onnx");
        Onnx.Export(fixedPath, model, variableLengths: false);
        Close(full, Run(fixedPath, NamedOnnxValue.CreateFromTensor("inputs", new DenseTensor<float>(inputs, new[] { steps, batch, x }))), "layers fixed");
        Checked(path, fixedPath);
    }

    [Fact]
    public void AUserCellWithNnLstmsEquationsBecomesOnnxsLstmOperator()
    {
        const int steps = 4, batch = 2, x = 3;
        var model = new Sequential(new Recurrent((i, h) => new PaperLstm(i, h), x, 5, bidirectional: true, random: new Random(5)));
        float[] inputs = Wave(steps * batch * x, 0.8f);
        int[] lengths = { 4, 2 };
        ReadOnlySpan<float> expected = model.Forward(inputs, lengths, training: false).Values;
        string path = Path.Combine(_folder, "paper.onnx");
        Onnx.Export(path, model);
        Assert.Contains(CellGen.OnnxSchema.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph.Node, n => n.OpType == "LSTM");
        Close(expected, RunSequences(path, inputs, lengths, x), "PaperLstm");
        Checked(path);
    }

    [Fact]
    public void AModelCellGenCannotRunIsNotExported()
    {
        Recurrent Lstm(int x, int h) => new((i, o) => new Lstm(i, o), x, h);
        var cases = new (Module Model, string Message)[]
        {
            (new Sequential(Lstm(3, 4), new LastStep(), Lstm(4, 4)), "Module 2 of the model, a Recurrent, reads sequences [T, B, X=4], but module 1 gives it [B, W=4]"),
            (new Sequential(Lstm(3, 4), Lstm(5, 4)), "reads sequences [T, B, X=5], but module 0 gives it [T, B, W=4]"),
            (new Sequential(new Dense(3, 4), new Dense(5, 2)), "reads rows of 5 values"),
            (new Sequential(Lstm(3, 4), new LastStep(), new LastStep()), "Module 2 of the model, a LastStep, pools sequences, but module 1 gives it [B, W=4]"),
            (new Sequential(Lstm(3, 4), new Embedding(5, 4)), "Embedding, which reads token ids: it can only come first"),
        };
        foreach ((Module model, string message) in cases)
        {
            string path = Path.Combine(_folder, "refused.onnx");
            var error = Assert.Throws<ArgumentException>(() => Onnx.Export(path, model));
            Assert.Contains(message, error.Message);
            Assert.False(File.Exists(path));
        }
    }
}
