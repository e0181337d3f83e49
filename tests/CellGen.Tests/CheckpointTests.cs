using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System;
using CellGen.Cells;
using CellGen.CompilerServices;
using Xunit;

namespace CellGen.Tests;

/// <summary>Checkpoints: bit-exact round trips, every corrupt file fails cleanly and changes nothing, atomic writes.</summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "cellgen-checkpoints-" + Guid.NewGuid().ToString("N"));

    public CheckpointTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static Lstm RandomLstm(int seed)
    {
        var cell = new Lstm(3, 5);
        Initializers.Initialize(cell, new Random(seed));
        foreach (Parameter<float> p in cell.Parameters.Where(p => p.Shape.Count == 1))
            p.CopyFrom(Enumerable.Range(0, p.Length).Select(i => MathF.Sin(seed + i)).ToArray());
        return cell;
    }

    private static Dictionary<string, float[]> Snapshot(RecurrentCell<float> cell) => cell.Parameters.ToDictionary(p => p.Name, p => p.ToArray());

    /// <summary>A tagger over tokens with dropout in two places, so that a resume must restore the masks' generators too.</summary>
    /// <paramref name="zoneout"/>: its LSTM cells draw zoneout masks inside (ZoneoutLstm), from generators of their own.
    private static Sequential Tagger(int seed, bool zoneout = false) => new(
        new Embedding(11, 6, new Random(seed)),
        new Recurrent((x, h) => zoneout ? new ZoneoutLstm(x, h) : new Lstm(x, h), 6, 8, layers: 2, bidirectional: true, dropout: 0.3f, random: new Random(seed + 1)),
        new Dropout(0.2f, seed),
        new Dense(16, 5, new Random(seed + 2)));

    [Theory]
    [InlineData("adam", false)]
    [InlineData("sgd", false)]
    [InlineData("adam", true)]
    public void TrainingResumedFromACheckpointIsBitIdenticalToTrainingWithoutTheBreak(string rule, bool zoneout)
    {
        Optimizer Make(Module model) => rule == "adam"
            ? Adam.W(new IHasParameters[] { model }, 3e-2f)
            : new Sgd(new IHasParameters[] { model }, 0.1f, momentum: 0.9f, nesterov: true);
        var loss = new CrossEntropyLoss();
        void Train(Sequential model, Optimizer optimizer, int from, int count)
        {
            for (int step = from; step < from + count; step++)
            {
                int[] tokens = Enumerable.Range(0, 5 * 3).Select(i => (i * 7 + step) % 11).ToArray();
                int[] targets = tokens.Select(t => t % 5).ToArray();
                loss.Compute(model.Forward(tokens, new[] { 5, 3, 4 }, training: true), targets);
                optimizer.ZeroGradients();
                model.Backward();
                optimizer.ClipGradientsByNorm(1);
                optimizer.Step();
            }
        }
        string path = Path.Combine(_folder, "resume.safetensors");
        var unbroken = Tagger(1, zoneout);
        if (zoneout) Assert.Contains(unbroken.NamedGenerators(), g => g.Name.EndsWith("zoneout_c_l1_reverse", StringComparison.Ordinal));
        var unbrokenOptimizer = Make(unbroken);
        Train(unbroken, unbrokenOptimizer, 0, 3);
        Checkpoint.Save(path, unbroken, unbrokenOptimizer, new Dictionary<string, string> { ["vocabulary"] = "abcdefghijk" });
        Train(unbroken, unbrokenOptimizer, 3, 3);

        var resumed = Tagger(99, zoneout); // other initial weights and generators: everything must come from the file
        var resumedOptimizer = Make(resumed);
        IReadOnlyDictionary<string, string> metadata = Checkpoint.Load(path, resumed, resumedOptimizer);
        Assert.Equal("abcdefghijk", metadata["vocabulary"]);
        Assert.Single(metadata);
        Assert.Equal(3, resumedOptimizer.Steps);
        Train(resumed, resumedOptimizer, 3, 3);

        var expected = unbroken.NamedParameters().ToList();
        var actual = resumed.NamedParameters().ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(expected.Select(p => p.Key), actual.Keys);
        foreach ((string name, Parameter<float> parameter) in expected)
            Assert.True(parameter.ToArray().SequenceEqual(actual[name].ToArray()), $"{name} differs after the resume");
    }

    [Fact]
    public void ACellWithHeadsSavesItsBlocksInTheirShapeAndLoadsThem()
    {
        string path = Path.Combine(_folder, "slstm.safetensors");
        var model = new Sequential(new Recurrent((x, h) => new Slstm(x, h), 3, 8, random: new Random(1)));
        Checkpoint.Save(path, model, null, new Dictionary<string, string>());
        var again = new Sequential(new Recurrent((x, h) => new Slstm(x, h), 3, 8, random: new Random(2)));
        Checkpoint.Load(path, again);
        foreach ((string name, Parameter<float> parameter) in model.NamedParameters())
            Assert.Equal(parameter.ToArray(), again.NamedParameters().Single(p => p.Key == name).Value.ToArray());
        Assert.Contains(model.NamedParameters(), p => p.Value.Shape.SequenceEqual(new[] { 4, 2, 2 }));
        // Four heads of another size are another shape: refused by name and shape, nothing changed.
        var other = new Sequential(new Recurrent((x, h) => new Slstm(x, h), 3, 12, random: new Random(3)));
        Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, other));
    }

    [Fact]
    public void AModelCheckpointLoadsWithoutItsOptimiserAndRefusesAnotherModel()
    {
        string path = Path.Combine(_folder, "model.safetensors");
        var model = Tagger(1);
        Checkpoint.Save(path, model, Adam.W(new IHasParameters[] { model }), new Dictionary<string, string> { ["note"] = "x" });
        var inference = Tagger(2);
        Checkpoint.Load(path, inference); // the optimiser's tensors are skipped
        Assert.Equal(model.NamedParameters().First().Value.ToArray(), inference.NamedParameters().First().Value.ToArray());
        Assert.Equal("x", Checkpoint.ReadMetadata(path)["note"]);
        var other = new Sequential(new Embedding(11, 6), new Recurrent((x, h) => new Lstm(x, h), 6, 8), new Dense(8, 5));
        float[] before = other.NamedParameters().First().Value.ToArray();
        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, other));
        Assert.Contains("missing", error.Message);
        Assert.Equal(before, other.NamedParameters().First().Value.ToArray());
        Assert.Throws<ArgumentException>(() => Checkpoint.Save(path, model, null, new Dictionary<string, string> { ["cellgen.optimizer.steps"] = "1" }));
    }

    [Fact]
    public void RoundTripIsBitExact()
    {
        Lstm saved = RandomLstm(1), loaded = RandomLstm(2);
        var head = new Dense(5, 2);
        Initializers.Initialize(head, new Random(3));
        string path = Path.Combine(_folder, "model.safetensors");
        Checkpoint.Save(path, Checkpoint.Named(saved, "cell.").Concat(Checkpoint.Named(head, "head.")));
        var otherHead = new Dense(5, 2);
        Checkpoint.Load(path, Checkpoint.Named(loaded, "cell.").Concat(Checkpoint.Named(otherHead, "head.")));
        foreach (Parameter<float> p in saved.Parameters)
            Assert.Equal(p.ToArray().Select(BitConverter.SingleToInt32Bits), loaded.Parameter(p.Name).ToArray().Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(head.Weights.ToArray(), otherHead.Weights.ToArray());
        Assert.Empty(Directory.GetFiles(_folder, "*.tmp"));
    }

    private byte[] ValidFile()
    {
        string path = Path.Combine(_folder, "valid.safetensors");
        Checkpoint.Save(path, Checkpoint.Named(RandomLstm(1)));
        return File.ReadAllBytes(path);
    }

    private byte[] WithExtraTensor()
    {
        string path = Path.Combine(_folder, "extra.safetensors");
        Checkpoint.Save(path, Checkpoint.Named(RandomLstm(1)).Concat(Checkpoint.Named(new Dense(2, 2), "extra.").Skip(1)));
        return File.ReadAllBytes(path);
    }

    private static byte[] WithHeader(byte[] file, Func<string, string> edit)
    {
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        string header = edit(Encoding.UTF8.GetString(file, 8, length));
        byte[] json = Encoding.UTF8.GetBytes(header);
        var result = new byte[8 + json.Length + file.Length - 8 - length];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)json.Length);
        json.CopyTo(result, 8);
        Array.Copy(file, 8 + length, result, 8 + json.Length, file.Length - 8 - length);
        return result;
    }

    public static IEnumerable<object[]> CorruptCases() => new[]
    {
        new object[] { "empty", "too short" },
        new object[] { "truncated-header", "truncated" },
        new object[] { "truncated-data", "truncated" },
        new object[] { "not-json", "not valid safetensors JSON" },
        new object[] { "wrong-dtype", "F64" },
        new object[] { "wrong-shape", "shape" },
        new object[] { "missing-name", "missing 'b_o'" },
        new object[] { "unknown-name", "unknown tensors 'extra.bias'" },
        new object[] { "overlap", "overlap" },
    };

    [Theory]
    [MemberData(nameof(CorruptCases))]
    public void CorruptFilesFailCleanlyAndChangeNothing(string corruption, string message)
    {
        byte[] valid = ValidFile();
        byte[] bad = corruption switch
        {
            "empty" => Array.Empty<byte>(),
            "truncated-header" => valid.AsSpan(0, 40).ToArray(),
            "truncated-data" => valid.AsSpan(0, valid.Length - 10).ToArray(),
            "not-json" => WithHeader(valid, h => h.Replace("{", "[")),
            "wrong-dtype" => WithHeader(valid, h => h.Replace("\"F32\"", "\"F64\"")),
            "wrong-shape" => WithHeader(valid, h => h.Replace("[5,8]", "[8,5]")),
            "missing-name" => WithHeader(valid, h => h.Replace("\"b_o\"", "\"b_q\"")),
            "unknown-name" => WithExtraTensor(),
            "overlap" => WithHeader(valid, h => h.Replace("\"data_offsets\":[160,180]", "\"data_offsets\":[150,170]")),
            _ => throw new ArgumentException(corruption),
        };
        string path = Path.Combine(_folder, corruption + ".safetensors");
        File.WriteAllBytes(path, bad);
        Lstm target = RandomLstm(7);
        var before = Snapshot(target);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, Checkpoint.Named(target)));
        Assert.Contains(message, e.Message);
        Assert.Contains(path, e.Message);
        foreach ((string name, float[] values) in before) Assert.Equal(values, target.Parameter(name).ToArray());
    }

    private sealed class FailingStream(Stream inner, long failAfter, Func<Exception>? failure = null) : Stream
    {
        private long _written;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count)
        {
            if (_written + count > failAfter) throw failure?.Invoke() ?? new IOException("disk full (simulated)");
            _written += count;
            inner.Write(buffer, offset, count);
        }
    }

    [Fact]
    public void AWriteThatFailsHalfwayLeavesTheOldFileIntact()
    {
        string path = Path.Combine(_folder, "model.safetensors");
        Checkpoint.Save(path, Checkpoint.Named(RandomLstm(1)));
        byte[] old = File.ReadAllBytes(path);
        var error = Assert.Throws<IOException>(() => Checkpoint.Save(path, Checkpoint.Named(RandomLstm(2)), null, s => new FailingStream(s, old.Length / 2)));
        Assert.Equal(old, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_folder));
        // The message names the file the caller asked for, not the temporary one beside it.
        Assert.Contains(Path.GetFullPath(path), error.Message);
        Assert.DoesNotContain(".tmp", error.Message);
    }

    [Fact]
    public void AWriteOverAFileSizeLimitIsAnIOExceptionNamingTheFileAndLeavesNothingBehind()
    {
        // .NET's error for EFBIG (ulimit -f with SIGXFSZ ignored, as under Python) is an ArgumentOutOfRangeException.
        string path = Path.Combine(_folder, "model.safetensors");
        Checkpoint.Save(path, Checkpoint.Named(RandomLstm(1)));
        byte[] old = File.ReadAllBytes(path);
        var error = Assert.Throws<IOException>(() => Checkpoint.Save(path, Checkpoint.Named(RandomLstm(2)), null,
            s => new FailingStream(s, old.Length / 2, () => new ArgumentOutOfRangeException("value", "Specified file length was too large for the file system."))));
        Assert.Contains(Path.GetFullPath(path), error.Message);
        Assert.Contains("too large", error.Message);
        Assert.Equal(old, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_folder));
    }

    [Theory]
    [InlineData("cellgen.optimizer.learning_rate", "NaN", "learning rate")]
    [InlineData("cellgen.optimizer.learning_rate", "-1", "learning rate")]
    [InlineData("cellgen.optimizer.learning_rate", "Infinity", "learning rate")]
    [InlineData("cellgen.optimizer.learning_rate", "1e39", "learning rate")]
    [InlineData("cellgen.optimizer.steps", "-3", "steps")]
    [InlineData("cellgen.generator.1.dropout", "x", "dropout generator")]
    public void ACheckpointWithAMetadataValueOutOfRangeChangesNothing(string key, string value, string message)
    {
        string path = Path.Combine(_folder, "model.safetensors");
        var model = new Sequential(new Embedding(9, 4), new Dropout(0.1f), new Recurrent((x, h) => new Lstm(x, h), 4, 5), new Dense(5, 3));
        var optimizer = Adam.W(new IHasParameters[] { model }, learningRate: 0.25f);
        Checkpoint.Save(path, model, optimizer);
        EditMetadata(path, key, value);
        var target = new Sequential(new Embedding(9, 4), new Dropout(0.1f), new Recurrent((x, h) => new Lstm(x, h), 4, 5), new Dense(5, 3));
        var targetOptimizer = Adam.W(new IHasParameters[] { target }, learningRate: 0.5f);
        var before = target.NamedParameters().Select(p => p.Value.ToArray()).ToList();
        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, target, targetOptimizer));
        Assert.StartsWith(path + ":", error.Message);
        Assert.Contains(message, error.Message);
        Assert.Equal(before, target.NamedParameters().Select(p => p.Value.ToArray()).ToList());
        Assert.Equal(0.5f, targetOptimizer.LearningRate);
        Assert.Equal(0, targetOptimizer.Steps);
    }

    /// <summary>Rewrites one metadata value of a safetensors file's header (the data stays where it is, after the new header).</summary>
    private static void EditMetadata(string path, string key, string value)
    {
        byte[] file = File.ReadAllBytes(path);
        int length = (int)BitConverter.ToUInt64(file, 0);
        var header = System.Text.Json.Nodes.JsonNode.Parse(file.AsSpan(8, length))!.AsObject();
        Assert.True(header["__metadata__"]!.AsObject().ContainsKey(key), $"no {key} in {header["__metadata__"]}");
        header["__metadata__"]![key] = value;
        byte[] json = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
        File.WriteAllBytes(path, BitConverter.GetBytes((ulong)json.Length).Concat(json).Concat(file.Skip(8 + length)).ToArray());
    }

    [Fact]
    public void LoadingTwoParametersUnderOneNameIsRefusedByName()
    {
        string path = Path.Combine(_folder, "model.safetensors");
        Checkpoint.Save(path, Checkpoint.Named(RandomLstm(1)));
        var twice = Checkpoint.Named(RandomLstm(2)).Concat(Checkpoint.Named(RandomLstm(3)).Take(1));
        var error = Assert.Throws<ArgumentException>(() => Checkpoint.Load(path, twice));
        Assert.Contains("Two parameters are called 'W_i'", error.Message);
    }

    [Fact]
    public void NullArgumentsAreArgumentNullExceptions()
    {
        string path = Path.Combine(_folder, "model.safetensors");
        Assert.Throws<ArgumentNullException>(() => Checkpoint.Save(path, null!));
        Assert.Throws<ArgumentNullException>(() => Checkpoint.Load(path, null!));
        Assert.Throws<ArgumentNullException>(() => Checkpoint.Named((RecurrentCell<float>)null!));
        Assert.Throws<ArgumentNullException>(() => Checkpoint.Named((Dense)null!));
        Assert.Throws<ArgumentNullException>(() => Checkpoint.ImportPyTorch(path, null!));
        Assert.ThrowsAny<ArgumentException>(() => Checkpoint.Save(null!, Checkpoint.Named(RandomLstm(1))));
    }

    /// <summary>
    /// A fixture's LSTM weights under PyTorch's names: weight_hh/weight_ih stacked i, f, g, o (weight_hh multiplies the
    /// recurrent input, of size <paramref name="p"/>: H, or P with a projection), each bias split in two parts.
    /// </summary>
    private static Dictionary<string, Parameter<float>> PyTorchNamed(Fixture fixture, int p, float split)
    {
        int h = fixture.HiddenSize, x = fixture.InputSize;
        var ih = new float[4 * h * x];
        var hh = new float[4 * h * p];
        var bih = new float[4 * h];
        var bhh = new float[4 * h];
        string[] gates = { "i", "f", "g", "o" };
        for (int k = 0; k < 4; k++)
        {
            double[] w = fixture.Params["W_" + gates[k]].Data, b = fixture.Params["b_" + gates[k]].Data;
            for (int r = 0; r < h; r++)
            {
                for (int c = 0; c < p; c++) hh[(k * h + r) * p + c] = (float)w[r * (p + x) + c];
                for (int c = 0; c < x; c++) ih[(k * h + r) * x + c] = (float)w[r * (p + x) + p + c];
                bih[k * h + r] = (float)b[r] * split;
                bhh[k * h + r] = (float)b[r] * (1 - split);
            }
        }
        return new Dictionary<string, Parameter<float>>
        {
            ["weight_ih_l0"] = Flat("weight_ih_l0", ih, 4 * h, x),
            ["weight_hh_l0"] = Flat("weight_hh_l0", hh, 4 * h, p),
            ["bias_ih_l0"] = Flat("bias_ih_l0", bih, 4 * h),
            ["bias_hh_l0"] = Flat("bias_hh_l0", bhh, 4 * h),
        };
    }

    [Fact]
    public void PyTorchLstmWeightsMapToTheFixtureNames()
    {
        Fixture fixture = Fixture.Load(Path.Combine(Fixture.Folders[0], "Lstm-x3-h4-b2-t5.json"));
        string path = Path.Combine(_folder, "torch.safetensors");
        Checkpoint.Save(path, PyTorchNamed(fixture, fixture.HiddenSize, 0.25f));
        var cell = new Lstm(fixture.InputSize, fixture.HiddenSize);
        Checkpoint.ImportPyTorch(path, cell);
        foreach ((string name, Tensor value) in fixture.Params)
        {
            float[] actual = cell.Parameter(name).ToArray();
            for (int i = 0; i < actual.Length; i++) Assert.Equal(value.Data[i], actual[i], 1e-6);
        }
    }

    [Fact]
    public void PyTorchProjectedLstmWeightsMapToTheZooNames()
    {
        // nn.LSTM(proj_size=P): weight_hh is [4H, P] (it multiplies r[t-1]) and weight_hr [P, H] is W_r.
        Fixture fixture = Fixture.Load(Path.Combine(AppContext.BaseDirectory, "Fixtures", "zoo", "Lstmp-x6-h9-b3-t7-p4.json"));
        int h = fixture.HiddenSize, x = fixture.InputSize, p = fixture.Sizes["P"];
        var named = PyTorchNamed(fixture, p, 0.5f);
        named["weight_hr_l0"] = Flat("weight_hr_l0", fixture.Params["W_r"].ToSingle(), p, h);
        string path = Path.Combine(_folder, "torch-proj.safetensors");
        Checkpoint.Save(path, named);
        var cell = new Lstmp(x, h, P: p);
        Checkpoint.ImportPyTorch(path, cell);
        foreach ((string name, Tensor value) in fixture.Params)
        {
            float[] actual = cell.Parameter(name).ToArray();
            Assert.Equal(value.Shape, cell.Parameter(name).Shape);
            for (int i = 0; i < actual.Length; i++) Assert.Equal(value.Data[i], actual[i], 1e-6);
        }
        // A plain LSTM's file has no weight_hr and the wrong weight_hh: refused by name.
        var wrong = Assert.Throws<InvalidDataException>(() => Checkpoint.ImportPyTorch(path, new Lstmp(x, h, P: p + 1)));
        Assert.Contains("weight_hh_l0", wrong.Message);
    }

    /// <summary>A row-major parameter view over a plain array.</summary>
    private static Parameter<float> Flat(string name, float[] data, params int[] shape)
    {
        // Parameter views store [columns, rows] (the packing of the cells): transpose the row-major data into it.
        int rows = shape[0], columns = shape.Length == 2 ? shape[1] : 1;
        var packed = new float[data.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++) packed[c * rows + r] = data[r * columns + c];
        return new Parameter<float>(name, shape, new[] { new ParameterBlock<float>(packed, new float[packed.Length], 0, columns, rows, 0) });
    }
}
