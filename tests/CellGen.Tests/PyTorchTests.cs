using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text.Json;
using CellGen.Cells;
using Xunit;

namespace CellGen.Tests;

/// <summary>
/// torch.save files in: the fixtures of Fixtures/pytorch-pt (made by make.py there with PyTorch 1.13) imported into
/// models that then compute PyTorch's outputs; every dtype and strided views; hostile and broken files refused.
/// </summary>
public sealed class PyTorchTests : IDisposable
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pytorch-pt");
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "cellgen-pt-" + Guid.NewGuid().ToString("N"));

    public PyTorchTests() => Directory.CreateDirectory(_scratch);

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static JsonElement Json(string name) => JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, name + ".json"))).RootElement;

    private static Func<int, int, RecurrentCell<float>> CellOf(string name) => name switch
    {
        "lstm" => (x, h) => new Lstm(x, h),
        "gru" => (x, h) => new TorchGru(x, h),
        "rnn" => (x, h) => new Rnn(x, h),
        _ => (x, h) => new Lstmp(x, h, P: 3),
    };

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("rnn")]
    [InlineData("lstmp")]
    public void AnImportedTwoLayerBidirectionalModelComputesPyTorchsOutputs(string name)
    {
        // embedding -> 2-layer bidirectional nn.LSTM/GRU/RNN over variable lengths -> linear at every step.
        var embedding = new Embedding(9, 4);
        var rnn = new Recurrent(CellOf(name), 4, 5, layers: 2, bidirectional: true);
        var head = new Dense(rnn.OutputSize, 3);
        PyTorchImport report = PyTorch.Import(Path.Combine(Folder, name + ".pt"), ("embedding.", embedding), ("rnn.", rnn), ("head.", head));
        Assert.Empty(report.Missing);
        Assert.Empty(report.Unused);

        JsonElement fixture = Json(name);
        int[] tokens = fixture.GetProperty("inputs").GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int[] lengths = fixture.GetProperty("inputs").GetProperty("lengths").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        double[] expected = fixture.GetProperty("outputs").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        ReadOnlySpan<float> actual = new Sequential(embedding, rnn, head).Forward(tokens, lengths, training: false).Values;
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5, $"{name} output {i}: {actual[i]} against PyTorch's {expected[i]}");
    }

    [Fact]
    public void TheReadmesBlockRunsAsWritten()
    {
        // README.md, "PyTorch": the same calls on the fixture the block describes.
        string readme = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "README.md"));
        Assert.Contains("PyTorch.Import(\"tagger.pt\", (\"embedding.\", embedding), (\"rnn.\", rnn), (\"head.\", head));", readme);
        string tagger = Path.Combine(_scratch, "tagger.pt");
        File.Copy(Path.Combine(Folder, "lstm.pt"), tagger);
        var embedding = new Embedding(9, 4);
        var rnn = new Recurrent((x, h) => new Lstm(x, h), inputSize: 4, hiddenSize: 5, layers: 2, bidirectional: true);
        var head = new Dense(10, 3);
        PyTorch.Import(tagger, ("embedding.", embedding), ("rnn.", rnn), ("head.", head));
        PyTorch.Save(Path.Combine(_scratch, "tagger-out.pt"), ("embedding.", embedding), ("rnn.", rnn), ("head.", head));
        Assert.Contains("Onnx.Export(\"tagger.onnx\", new Sequential(embedding, rnn, head));", readme);
        Onnx.Export(Path.Combine(_scratch, "tagger.onnx"), new Sequential(embedding, rnn, head));
        Assert.True(new FileInfo(Path.Combine(_scratch, "tagger.onnx")).Length > 0);
        Assert.Equal(PyTorch.ReadStateDict(tagger).Keys.Order(), PyTorch.ReadStateDict(Path.Combine(_scratch, "tagger-out.pt")).Keys.Order());
    }

    [Theory]
    [InlineData("float64")]
    [InlineData("float16")]
    [InlineData("bfloat16")]
    [InlineData("strided")]
    [InlineData("protocol4")]
    public void EveryDtypeAndStridedViewsReadAsFloat32(string kind)
    {
        var dense = new Dense(3, 2);
        PyTorch.Import(Path.Combine(Folder, $"linear-{kind}.pt"), ("", dense));
        JsonElement expected = Json($"linear-{kind}");
        foreach ((string name, Parameter<float> parameter) in new[] { ("weight", dense.Weights), ("bias", dense.Bias) })
        {
            double[] values = expected.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Assert.Equal(values.Select(v => (float)v), parameter.ToArray());
        }
    }

    [Fact]
    public void APickleThatNamesAnythingButTensorsIsRefusedAndNeverRun()
    {
        string marker = "/tmp/cellgen-pwned";
        if (File.Exists(marker)) File.Delete(marker);
        var dense = new Dense(3, 2);
        float[] before = dense.Weights.ToArray();
        var error = Assert.Throws<InvalidDataException>(() => PyTorch.Import(Path.Combine(Folder, "evil.pt"), ("", dense)));
        Assert.Contains("system", error.Message);
        Assert.Contains("refused", error.Message);
        Assert.False(File.Exists(marker));
        Assert.Equal(before, dense.Weights.ToArray());
    }

    [Fact]
    public void BrokenFilesFailWithTheFileAndTheProblemAndChangeNothing()
    {
        var dense = new Dense(3, 2);
        float[] before = dense.Weights.ToArray();
        string Write(string name, byte[] bytes)
        {
            string path = Path.Combine(_scratch, name);
            File.WriteAllBytes(path, bytes);
            return path;
        }
        byte[] good = File.ReadAllBytes(Path.Combine(Folder, "linear-float64.pt"));
        byte[] ListPickle()
        {
            using var memory = new MemoryStream();
            using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
            using (Stream entry = zip.CreateEntry("archive/data.pkl").Open())
                entry.Write(new byte[] { 0x80, 2, (byte)']', (byte)'q', 0, (byte)'K', 1, (byte)'a', (byte)'.' }); // [1]
            return memory.ToArray();
        }
        var cases = new Dictionary<string, (byte[] Bytes, string Message)>
        {
            ["truncated.pt"] = (good[..(good.Length / 2)], "zip"),
            ["text.pt"] = ("PK not really a zip"u8.ToArray(), "zip"),
            ["list.pt"] = (ListPickle(), "not a state dict"),
            ["empty.pt"] = (Array.Empty<byte>(), "safetensors"),
        };
        foreach ((string name, (byte[] bytes, string message)) in cases)
        {
            string path = Write(name, bytes);
            var error = Assert.Throws<InvalidDataException>(() => PyTorch.Import(path, ("", dense)));
            Assert.Contains(path, error.Message);
            Assert.Contains(message, error.Message);
            Assert.Equal(before, dense.Weights.ToArray());
        }
    }

    [Fact]
    public void StrictImportsListWhatIsMissingAndLeftOverLenientOnesReportIt()
    {
        string path = Path.Combine(Folder, "lstm.pt");
        var embedding = new Embedding(9, 4);
        var head = new Dense(10, 3);
        float[] before = embedding.Table.ToArray();
        var strict = Assert.Throws<InvalidDataException>(() => PyTorch.Import(path, ("embedding.", embedding), ("head.", head), ("extra.", new Dense(2, 2))));
        Assert.Contains("missing 'extra.weight'", strict.Message);
        Assert.Contains("'rnn.weight_ih_l0'", strict.Message);
        Assert.Equal(before, embedding.Table.ToArray());

        PyTorchImport report = PyTorch.Import(path, strict: false, ("embedding.", embedding), ("head.", head));
        Assert.Equal(new[] { "embedding.weight", "head.weight", "head.bias" }, report.Used);
        Assert.Contains("rnn.weight_hh_l1_reverse", report.Unused);
        Assert.Empty(report.Missing);
        Assert.NotEqual(before, embedding.Table.ToArray());

        var shape = Assert.Throws<InvalidDataException>(() => PyTorch.Import(path, strict: false, ("embedding.", new Embedding(8, 4))));
        Assert.Contains("[9, 4]", shape.Message);
        Assert.Throws<ArgumentException>(() => PyTorch.Import(path, ("", new Recurrent((x, h) => new Gru(x, h), 4, 5))));
    }

    [Fact]
    public void AStateDictNestedInACheckpointIsReadUnderDottedNamesIntegersIncluded()
    {
        // torch.save({"model": state_dict, "optimizer": optimizer.state_dict(), "epoch": 3}), an int64 tensor among them.
        string path = Path.Combine(Folder, "nested.pt");
        var tensors = PyTorch.ReadStateDict(path);
        JsonElement expected = Json("nested");
        foreach (string name in new[] { "weight", "bias", "steps" })
            Assert.Equal(expected.GetProperty(name).EnumerateArray().Select(e => (float)e.GetDouble()), tensors["model." + name].Values);
        Assert.Equal(7f, tensors["model.steps"].Values.Single());
        Assert.Contains("optimizer.state.0.exp_avg", tensors.Keys); // the optimiser's moments, as tensors too
        Assert.DoesNotContain(tensors.Keys, k => k.StartsWith("epoch", StringComparison.Ordinal));
        var dense = new Dense(3, 2);
        PyTorchImport report = PyTorch.Import(path, strict: false, ("model.", dense));
        Assert.Equal(new[] { "model.weight", "model.bias" }, report.Used);
        Assert.Contains("model.steps", report.Unused);
    }

    [Fact]
    public void AUserCellWithNnLstmsEquationsImportsNnLstmsWeightsAndSavesThemBack()
    {
        // PaperLstm: nn.LSTM's equations with other names, another order and [input, state] operands.
        var embedding = new Embedding(9, 4);
        var rnn = new Recurrent((x, h) => new PaperLstm(x, h), 4, 5, layers: 2, bidirectional: true);
        var head = new Dense(rnn.OutputSize, 3);
        string file = Path.Combine(Folder, "lstm.pt");
        PyTorch.Import(file, ("embedding.", embedding), ("rnn.", rnn), ("head.", head));
        JsonElement fixture = Json("lstm");
        int[] tokens = fixture.GetProperty("inputs").GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int[] lengths = fixture.GetProperty("inputs").GetProperty("lengths").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        double[] expected = fixture.GetProperty("outputs").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        ReadOnlySpan<float> actual = new Sequential(embedding, rnn, head).Forward(tokens, lengths, training: false).Values;
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5, $"PaperLstm output {i}: {actual[i]} against PyTorch's {expected[i]}");
        // Saved back, its tensors are the file's, bias_ih + bias_hh summed into bias_ih.
        string saved = Path.Combine(_scratch, "paper.pt");
        PyTorch.Save(saved, ("embedding.", embedding), ("rnn.", rnn), ("head.", head));
        var original = PyTorch.ReadStateDict(file);
        var again = PyTorch.ReadStateDict(saved);
        Assert.Equal(original.Keys.Order(), again.Keys.Order());
        foreach (string key in original.Keys.Where(k => k.Contains("weight")))
            for (int i = 0; i < original[key].Values.Length; i++) Assert.Equal(original[key].Values[i], again[key].Values[i]);
    }

    [Fact]
    public void ACellThatIsNotAStandardModuleIsRefusedByNameBeforeTheFileIsRead()
    {
        var rnn = new Recurrent((x, h) => new AlmostLstm(x, h), 4, 5);
        var e = Assert.Throws<ArgumentException>(() => PyTorch.Import(Path.Combine(_scratch, "absent.pt"), ("rnn.", rnn)));
        Assert.Contains("AlmostLstm", e.Message);
        Assert.Contains("nn.LSTM", e.Message);
        Assert.Throws<ArgumentException>(() => PyTorch.Save(Path.Combine(_scratch, "almost.pt"), ("rnn.", rnn)));
        Assert.False(File.Exists(Path.Combine(_scratch, "almost.pt")));
    }

    [TorchFact]
    public void LayersFromEquationsLoadIntoTheirPyTorchModulesStrictlyAndComputeTheSame()
    {
        Initializers.ManualSeed(7);
        var norm = new LayerNorm(5);
        norm.Cell.Parameter("weight").CopyFrom(new float[] { 0.5f, 1.5f, -1, 2, 0.25f });
        norm.Cell.Parameter("bias").CopyFrom(new float[] { 0.1f, -0.2f, 0.3f, 0, 1 });
        var model = new Sequential(new Embedding(9, 4), new Recurrent((x, h) => new Lstm(x, h), 4, 5), norm, new FeedForward(5, 8), new Gelu(5), new Dense(5, 3), new Tanh(3));
        int[] tokens = { 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 3, 0 };
        int[] lengths = { 4, 4, 2 };
        float[] outputs = model.Forward(tokens, lengths, training: false).Values.ToArray();
        string path = Path.Combine(_scratch, "layers.pt");
        PyTorch.Save(path, ("", model));
        Assert.Contains("3.0.weight", PyTorch.ReadStateDict(path).Keys);
        string program = string.Join("\n", new[]
        {
            "import json, torch",
            "from torch import nn",
            "class Lstm(nn.Module):",
            "    def __init__(self):",
            "        super().__init__()",
            "        self.lstm = nn.LSTM(4, 5)",
            "    def forward(self, x):",
            "        return self.lstm(x)[0]",
            "model = nn.Sequential(nn.Embedding(9, 4), Lstm(), nn.LayerNorm(5), nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 5)),",
            "                      nn.GELU(approximate='tanh'), nn.Linear(5, 3), nn.Tanh())",
            $"state = torch.load('{path}')",
            "state = {k.replace('1.weight_', '1.lstm.weight_').replace('1.bias_', '1.lstm.bias_'): v for k, v in state.items()}",
            "model.load_state_dict(state, strict=True)",
            $"tokens = torch.tensor({JsonSerializer.Serialize(tokens)}).view(-1, {lengths.Length})",
            "with torch.no_grad():",
            "    print(json.dumps(model(tokens).flatten().tolist()))",
        });
        double[] expected = JsonSerializer.Deserialize<double[]>(Python(program).Trim().Split('\n')[^1])!;
        Assert.Equal(outputs.Length, expected.Length);
        // Every sequence's steps up to its length (PyTorch runs the padding too, which CellGen zeroes at the LSTM).
        for (int t = 0; t < 4; t++)
            for (int b = 0; b < lengths.Length; b++)
            {
                if (t >= lengths[b]) continue;
                for (int k = 0; k < 3; k++)
                {
                    int i = (t * lengths.Length + b) * 3 + k;
                    Assert.True(Math.Abs(outputs[i] - expected[i]) <= 1e-5, $"output {i}: ours {outputs[i]}, PyTorch's {expected[i]}");
                }
            }
        // And back: the file PyTorch would write reads into fresh layers that compute the same.
        Initializers.ManualSeed(8);
        var other = new Sequential(new Embedding(9, 4), new Recurrent((x, h) => new Lstm(x, h), 4, 5), new LayerNorm(5), new FeedForward(5, 8), new Gelu(5), new Dense(5, 3), new Tanh(3));
        PyTorch.Import(path, ("", other));
        Assert.Equal(outputs, other.Forward(tokens, lengths, training: false).Values.ToArray());
    }

    [Fact]
    public void ReadingAStateDictGivesEveryTensorByName()
    {
        var tensors = PyTorch.ReadStateDict(Path.Combine(Folder, "gru.pt"));
        Assert.Equal(new[] { 9, 4 }, tensors["embedding.weight"].Shape);
        Assert.Equal(new[] { 15, 10 }, tensors["rnn.weight_ih_l1_reverse"].Shape);
        Assert.Equal(9 * 4, tensors["embedding.weight"].Values.Length);
    }

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("lstmp")]
    public void AnExportedModelReadsBackAsItWas(string name)
    {
        (Sequential model, int[] tokens, int[] lengths) = Tagger(name, seed: 3);
        float[] outputs = model.Forward(tokens, lengths, training: false).Values.ToArray();
        string path = Path.Combine(_scratch, name + ".pt");
        PyTorch.Save(path, ("embedding.", model.Modules[0]), ("rnn.", model.Modules[1]), ("head.", model.Modules[2]));
        (Sequential other, _, _) = Tagger(name, seed: 4);
        PyTorch.Import(path, ("embedding.", other.Modules[0]), ("rnn.", other.Modules[1]), ("head.", other.Modules[2]));
        float[] again = other.Forward(tokens, lengths, training: false).Values.ToArray();
        for (int i = 0; i < outputs.Length; i++) Assert.Equal(outputs[i], again[i], 6);
    }

    [TorchFact]
    public void AnExportedModelLoadsIntoPyTorchStrictlyAndComputesTheSameOutputs()
    {
        foreach (string name in new[] { "lstm", "gru", "rnn", "lstmp" })
        {
            (Sequential model, int[] tokens, int[] lengths) = Tagger(name, seed: 5);
            float[] outputs = model.Forward(tokens, lengths, training: false).Values.ToArray();
            string path = Path.Combine(_scratch, name + ".pt");
            PyTorch.Save(path, ("embedding.", model.Modules[0]), ("rnn.", model.Modules[1]), ("head.", model.Modules[2]));
            string program = string.Join("\n", new[]
            {
                "import json, torch",
                "from torch import nn",
                "class Tagger(nn.Module):",
                "    def __init__(self, cell, proj=0):",
                "        super().__init__()",
                "        self.embedding = nn.Embedding(9, 4)",
                "        extra = {'proj_size': proj} if proj else {}",
                "        self.rnn = cell(4, 5, num_layers=2, bidirectional=True, **extra)",
                "        self.head = nn.Linear(2 * (proj or 5), 3)",
                "    def forward(self, tokens, lengths):",
                "        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(tokens), lengths, enforce_sorted=False)",
                "        outputs, _ = self.rnn(packed)",
                "        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, total_length=tokens.shape[0])",
                "        return self.head(outputs)",
                $"model = Tagger({(name == "gru" ? "nn.GRU" : name == "rnn" ? "nn.RNN" : "nn.LSTM")}, {(name == "lstmp" ? 3 : 0)})",
                $"model.load_state_dict(torch.load('{path}'), strict=True)",
                $"tokens = torch.tensor({JsonSerializer.Serialize(tokens)}).view(-1, {lengths.Length})",
                "with torch.no_grad():",
                $"    print(json.dumps(model(tokens, torch.tensor({JsonSerializer.Serialize(lengths)})).flatten().tolist()))",
            });
            string output = Python(program);
            double[] expected = JsonSerializer.Deserialize<double[]>(output.Trim().Split('\n')[^1])!;
            Assert.Equal(outputs.Length, expected.Length);
            for (int i = 0; i < outputs.Length; i++)
                Assert.True(Math.Abs(outputs[i] - expected[i]) <= 1e-5, $"{name} output {i}: ours {outputs[i]}, PyTorch's {expected[i]}");
        }
    }

    /// <summary>The fixtures' model (embedding, 2-layer bidirectional cell, linear head) with weights of its own, and inputs.</summary>
    private static (Sequential Model, int[] Tokens, int[] Lengths) Tagger(string name, int seed)
    {
        var random = new Random(seed);
        var rnn = new Recurrent(CellOf(name), 4, 5, layers: 2, bidirectional: true, random: random);
        var model = new Sequential(new Embedding(9, 4, random), rnn, new Dense(rnn.OutputSize, 3, random));
        return (model, new[] { 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 3, 0, 2, 0, 0 }, new[] { 5, 4, 2 });
    }

    /// <summary>
    /// A training pass of an LSTM with zoneout on c and h, variational dropout and DropConnect on h, against PyTorch in
    /// float64 composing the same step from the papers (zoneout mixing the states, the dropout mask on h where the gates'
    /// weights read it, the DropConnect mask on weight_hh) with the masks the cell's generators draw, reproduced here
    /// from their seeds (MaskGenerator.Fill, in the layouts the runner draws them: [T, B, H], [B, H], and the gates'
    /// weights of h[t-1] as stored, [H, 4H]): outputs, final states and every gradient.
    /// </summary>
    [TorchFact]
    public void ARegularisedLstmTrainsAsPyTorchComputesItWithTheSameMasks()
    {
        const int x = 3, h = 4, batch = 3, steps = 5;
        var cell = new AwdLstm(x, h);
        var random = new Random(5);
        float[] Draw(int length, float scale) => Enumerable.Range(0, length).Select(_ => (random.NextSingle() * 2 - 1) * scale).ToArray();
        foreach (Parameter<float> parameter in cell.Parameters) parameter.CopyFrom(Draw(parameter.Length, 0.6f));
        float[] inputs = Draw(steps * batch * x, 1), initial = Draw(cell.StateValues(batch), 0.5f), outputGradients = Draw(steps * batch * h, 1);
        int[] seeds = { 11, 12, 13, 14 };
        for (int k = 0; k < 4; k++) cell.Dropouts[k].Reseed(seeds[k]);
        var runner = cell.CreateRunner(steps, batch);
        float[] outputs = new float[steps * batch * h], final = new float[initial.Length], dx = new float[inputs.Length], dInitial = new float[initial.Length];
        runner.ForwardTraining(inputs, batch, initial, outputs, final);
        cell.ZeroGradients();
        runner.Backward(outputGradients, default, dx, dInitial);

        // The masks, drawn again from the seeds as the runner draws them.
        float[] Fill(int seed, int length, double p, bool zoneout)
        {
            var generator = new MaskGenerator(seed);
            var mask = new float[length];
            if (zoneout) generator.Fill<float>(mask, (float)p, 1, 0);
            else generator.Fill<float>(mask, (float)(1 - p), (float)(1 / (1 - p)), 0);
            return mask;
        }
        float[] zoneoutC = Fill(seeds[0], steps * batch * h, 0.5, true), zoneoutH = Fill(seeds[1], steps * batch * h, 0.25, true);
        float[] dropout = Fill(seeds[2], batch * h, 0.25, false), connect = Fill(seeds[3], h * 4 * h, 0.5, false);
        string Json(float[] values) => JsonSerializer.Serialize(values.Select(v => (double)v));
        string program = string.Join("\n", new[]
        {
            "import json, torch",
            "torch.set_default_dtype(torch.float64)",
            $"X, H, B, T = {x}, {h}, {batch}, {steps}",
            "def t(values, *shape): return torch.tensor(values).view(*shape)",
            string.Concat(cell.Parameters.Select(p => $"{p.Name} = t({Json(p.ToArray())}, {string.Join(", ", p.Shape)}).requires_grad_()\n")),
            $"x = t({Json(inputs)}, T, B, X).requires_grad_()",
            $"initial = t({Json(initial)}, 2, B, H).requires_grad_()",
            $"dy = t({Json(outputGradients)}, T, B, H)",
            $"zc = t({Json(zoneoutC)}, T, B, H); zh = t({Json(zoneoutH)}, T, B, H)",
            $"dh = t({Json(dropout)}, B, H)",
            // The stored buffer is [H (h[t-1]'s element), 4H (the gates' outputs, i f g o)]: gate k's weight_hh mask is its columns, transposed.
            $"connect = t({Json(connect)}, H, 4 * H)",
            "def gate(W, b, k, h_prev, x_t):",
            "    weight_hh = W[:, :H] * connect[:, k * H:(k + 1) * H].t()",
            "    return (h_prev * dh) @ weight_hh.t() + x_t @ W[:, H:].t() + b",
            "c, h = initial[0], initial[1]",
            "outputs = []",
            "for s in range(T):",
            "    i = torch.sigmoid(gate(W_i, b_i, 0, h, x[s])); f = torch.sigmoid(gate(W_f, b_f, 1, h, x[s]))",
            "    g = torch.tanh(gate(W_g, b_g, 2, h, x[s])); o = torch.sigmoid(gate(W_o, b_o, 3, h, x[s]))",
            "    c_new = f * c + i * g",
            "    c_next = zc[s] * c + (1 - zc[s]) * c_new",
            "    h_new = o * torch.tanh(c_next)",
            "    h = zh[s] * h + (1 - zh[s]) * h_new",
            "    c = c_next",
            "    outputs.append(h)",
            "y = torch.stack(outputs)",
            "(y * dy).sum().backward()",
            "result = {'y': y.flatten().tolist(), 'c': c.flatten().tolist(), 'h': h.flatten().tolist(), 'dx': x.grad.flatten().tolist(), 'dinitial': initial.grad.flatten().tolist()}",
            string.Concat(cell.Parameters.Select(p => $"result['d{p.Name}'] = {p.Name}.grad.flatten().tolist()\n")),
            "print(json.dumps(result))",
        });
        var expected = JsonSerializer.Deserialize<Dictionary<string, double[]>>(Python(program).Trim().Split('\n')[^1])!;
        void Close(string what, double[] reference, float[] actual)
        {
            Assert.Equal(reference.Length, actual.Length);
            for (int i = 0; i < actual.Length; i++)
                Assert.True(Math.Abs(actual[i] - reference[i]) <= 1e-4 + 1e-3 * Math.Abs(reference[i]), $"{what}[{i}]: CellGen {actual[i]}, PyTorch {reference[i]}");
        }
        Close("outputs", expected["y"], outputs);
        Close("final c", expected["c"], final.AsSpan(0, batch * h).ToArray());
        Close("final h", expected["h"], final.AsSpan(batch * h).ToArray());
        Close("dx", expected["dx"], dx);
        Close("d initial", expected["dinitial"], dInitial);
        foreach (Parameter<float> parameter in cell.Parameters) Close("d" + parameter.Name, expected["d" + parameter.Name], parameter.GradientToArray());
        // The masks did something: zoneout kept some units, the dropout and DropConnect dropped some.
        Assert.Contains(1f, zoneoutC);
        Assert.Contains(0f, dropout);
        Assert.Contains(0f, connect);
    }

    private static string Python(string program)
    {
        var start = new System.Diagnostics.ProcessStartInfo(TorchFactAttribute.Python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = System.Diagnostics.Process.Start(start)!;
        process.StandardInput.Write(program);
        process.StandardInput.Close();
        string output = process.StandardOutput.ReadToEnd(), error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"python failed:\n{error}");
        return output;
    }
}

/// <summary>A test that needs PyTorch (Debian's python3-torch): skipped, with the reason, where /usr/bin/python3 cannot import torch, except in CI.</summary>
public sealed class TorchFactAttribute : FactAttribute
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<bool> Available = new(() =>
    {
        try
        {
            using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(Python, "-c \"import torch\"") { RedirectStandardError = true, RedirectStandardOutput = true })!;
            process.WaitForExit();
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    });

    public TorchFactAttribute()
    {
        // In CI (which installs python3-torch) a missing PyTorch fails the test rather than skips it.
        if (!Available.Value && Environment.GetEnvironmentVariable("CI") is null) Skip = $"needs PyTorch: `{Python} -c \"import torch\"` fails here (apt-get install -y python3-torch); the checked-in fixtures test everything else";
    }
}
