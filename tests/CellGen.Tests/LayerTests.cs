using System;
using System.Linq;
using System.Text.Json;
using CellGen.Cells;
using Xunit;

using static CellGen.Tests.TestFiles;

namespace CellGen.Tests;

/// <summary>
/// Layers from equations ([Layer]): the built-ins against PyTorch's own modules in float64 (Fixtures/pytorch-layers,
/// made by make.py there), against Dense written by hand, in models, and without allocating once warm.
/// </summary>
public sealed class LayerTests
{
    private static JsonElement[] Cases() => TestFiles.Cases("pytorch-layers", "layers.json");

    public static TheoryData<int> CaseIndices() => TestFiles.Indices(Cases());

    private static Layer Create(string name, int inputSize, int[] sizes) => name switch
    {
        "Relu" => new Relu(inputSize),
        "Tanh" => new Cells.Tanh(inputSize),
        "Sigmoid" => new Sigmoid(inputSize),
        "Gelu" => new Gelu(inputSize),
        "FeedForward" => new FeedForward(inputSize, sizes[0]),
        "LayerNorm" => new LayerNorm(inputSize),
        "Highway" => new Highway(inputSize),
        "Glu" => new Glu(inputSize, sizes[0]),
        "SoftsignLayer" => new SoftsignLayer(inputSize),
        "EluLayer" => new EluLayer(inputSize),
        "LogSigmoidLayer" => new LogSigmoidLayer(inputSize),
        "SiluLayer" => new SiluLayer(inputSize),
        "HardSigmoidLayer" => new HardSigmoidLayer(inputSize),
        "HardTanhLayer" => new HardTanhLayer(inputSize),
        "PowerLayer" => new PowerLayer(inputSize),
        "ExactGeluLayer" => new ExactGeluLayer(inputSize),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void BuiltInLayersMatchPyTorchsModulesForwardAndBackward(int index)
    {
        JsonElement c = Cases()[index];
        string name = c.GetProperty("layer").GetString()!;
        int inputSize = c.GetProperty("inputSize").GetInt32(), rows = c.GetProperty("rows").GetInt32();
        int[] sizes = c.GetProperty("sizes").EnumerateArray().Select(s => s.GetInt32()).ToArray();
        Layer layer = Create(name, inputSize, sizes);
        Assert.Equal(c.GetProperty("parameters").EnumerateObject().Select(p => p.Name).OrderBy(n => n), layer.NamedParameters().Select(p => p.Key).OrderBy(n => n));
        foreach (JsonProperty parameter in c.GetProperty("parameters").EnumerateObject())
        {
            Assert.Equal(parameter.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()), layer.Cell.Parameter(parameter.Name).Shape);
            layer.Cell.Parameter(parameter.Name).CopyFrom(Floats(parameter.Value));
        }
        // The rows as a batch of vectors, and as sequences [T, B] of the same rows: a layer maps each row alike.
        float[] x = Floats(c.GetProperty("input"));
        foreach (bool sequences in new[] { false, true })
        {
            layer.Cell.ZeroGradients();
            var input = new Activations();
            if (sequences) input.ShapeLike(new Sequential(new Relu(inputSize)).Forward(x, batchSize: 1, training: false), inputSize); // [T = rows, B = 1]
            else input.ShapeVectors(rows, inputSize);
            Assert.Equal(sequences, input.IsSequence);
            x.CopyTo(input.Values);
            Activations output = layer.Forward(input, training: true);
            Near(Floats(c.GetProperty("output")), output.Values, name + " output");
            Floats(c.GetProperty("probe")).CopyTo(output.Gradients);
            layer.Backward();
            Near(Floats(c.GetProperty("inputGradient")), input.Gradients, name + " dx");
            foreach (JsonProperty gradient in c.GetProperty("gradients").EnumerateObject())
                Near(Floats(gradient.Value), layer.Cell.Parameter(gradient.Name).GradientToArray(), $"{name} d{gradient.Name}");
        }
    }

    [Fact]
    public void AFeedForwardIsTwoDenseLayersAndAReluWrittenByHand()
    {
        const int rows = 37, x = 24, hidden = 40;
        var layer = new FeedForward(x, hidden);
        var first = new Dense(x, hidden, new Random(1));
        var second = new Dense(hidden, x, new Random(2));
        layer.Cell.Parameter("W_1").CopyFrom(first.Weights.ToArray());
        layer.Cell.Parameter("b_1").CopyFrom(first.Bias.ToArray());
        layer.Cell.Parameter("W_2").CopyFrom(second.Weights.ToArray());
        layer.Cell.Parameter("b_2").CopyFrom(second.Bias.ToArray());
        float[] input = Enumerable.Range(0, rows * x).Select(i => MathF.Sin(0.37f * i)).ToArray();
        float[] u = new float[rows * hidden], y = new float[rows * x];
        first.Forward(input, u, rows);
        for (int i = 0; i < u.Length; i++) u[i] = Math.Max(u[i], 0);
        second.Forward(u, y, rows);
        var activations = new Activations();
        activations.ShapeVectors(rows, x);
        input.CopyTo(activations.Values);
        Near(y, layer.Forward(activations, training: false).Values, "y");
        Assert.Equal("FeedForward [24 -> 24]", layer.ToString());
    }

    [Fact]
    public void LayerNormStartsAsPyTorchsWithGainOneAndBiasZero()
    {
        var norm = new LayerNorm(6);
        Assert.All(norm.Cell.Parameter("weight").ToArray(), v => Assert.Equal(1f, v));
        Assert.All(norm.Cell.Parameter("bias").ToArray(), v => Assert.Equal(0f, v));
        norm.ResetParameters(new Random(3));
        Assert.All(norm.Cell.Parameter("weight").ToArray(), v => Assert.Equal(1f, v));
    }

    [Fact]
    public void AnMlpHeadWithALayerNormOnARecurrentEncoderTrainsAndAllocatesNothingOnceWarm()
    {
        Initializers.ManualSeed(5);
        const int steps = 6, batch = 8, inputs = 3;
        var model = new Sequential(
            new Recurrent((i, h) => new Lstm(i, h), inputs, 16),
            new LayerNorm(16),
            new FeedForward(16, 32),
            new LastStep(),
            new Dense(16, 24),
            new Gelu(24),
            new Dense(24, 2));
        var random = new Random(4);
        float[] x = Enumerable.Range(0, steps * batch * inputs).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
        int[] labels = Enumerable.Range(0, batch).Select(b => x[((steps - 1) * batch + b) * inputs] > 0 ? 1 : 0).ToArray();
        var loss = new CrossEntropyLoss();
        var optimizer = new Adam([model], 1e-2);
        double Step()
        {
            double value = loss.Compute(model.Forward(x, batch, training: true), labels);
            optimizer.ZeroGradients();
            model.Backward();
            optimizer.ClipGradientsByNorm(1);
            optimizer.Step();
            return value;
        }
        double first = Step();
        for (int i = 0; i < 40; i++) Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        double last = 0;
        for (int i = 0; i < 10; i++) last = Step();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(last < first / 4, $"loss {first} -> {last}");
        Assert.Contains(model.NamedParameters(), p => p.Key == "2.W_1");
        Assert.Contains(model.NamedParameters(), p => p.Key == "1.weight");
    }

    [Fact]
    public void ARowOfTheWrongWidthIsRefusedWithBothWidths()
    {
        var layer = new FeedForward(4, 8);
        var input = new Activations();
        input.ShapeVectors(2, 5);
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(input, training: false));
        Assert.Contains("4", e.Message);
        Assert.Contains("[B=2, W=5]", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new FeedForward(4, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Relu(0));
    }
}
