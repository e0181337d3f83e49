using System;
using System.Collections.Generic;
using System.Linq;
using CellGen.Cells;
using Xunit;

namespace CellGen.Tests;

/// <summary>Layers around the cells: bidirectional and stacked layers by finite differences, dropout, embedding.</summary>
public sealed class LayerTests
{
    private static float[] Wave(int length, float frequency, float phase = 0.3f) =>
        Enumerable.Range(0, length).Select(i => MathF.Sin(frequency * i + phase)).ToArray();

    /// <summary>Central differences in float (eps 1e-2) of L = Σ G · outputs against the backward pass.</summary>
    private static void CheckGradients(IHasParameters model, Action<float[], float[], bool> run, Action<float[], float[]> backward,
        float[] inputs, int outputLength, int seed)
    {
        var random = new Random(seed);
        float[] g = Wave(outputLength, 0.41f);
        var outputs = new float[outputLength];
        double Loss()
        {
            run(inputs, outputs, false);
            double loss = 0;
            for (int i = 0; i < outputs.Length; i++) loss += (double)outputs[i] * g[i];
            return loss;
        }
        foreach (ParameterBuffer buffer in model.ParameterBuffers) Array.Clear(buffer.Gradients);
        run(inputs, outputs, true);
        var dx = new float[inputs.Length];
        backward(g, dx);
        var failures = new List<string>();
        void Probe(string what, float[] values, int i, float analytic)
        {
            const float epsilon = 1e-2f;
            float kept = values[i];
            values[i] = kept + epsilon; double plus = Loss();
            values[i] = kept - epsilon; double minus = Loss();
            values[i] = kept;
            double numeric = (plus - minus) / (2 * epsilon);
            if (Math.Abs(numeric - analytic) > 3e-3 + 3e-2 * Math.Abs(analytic)) failures.Add($"{what}[{i}]: backward {analytic}, finite difference {numeric}");
        }
        int b = 0;
        foreach (ParameterBuffer buffer in model.ParameterBuffers.ToList())
        {
            foreach (int i in Enumerable.Range(0, buffer.Values.Length).OrderBy(_ => random.Next()).Take(8)) Probe($"buffer {b}", buffer.Values, i, buffer.Gradients[i]);
            b++;
        }
        foreach (int i in Enumerable.Range(0, inputs.Length).OrderBy(_ => random.Next()).Take(10)) Probe("x", inputs, i, dx[i]);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BidirectionalLayerGradientsMatchFiniteDifferences(bool variableLengths)
    {
        const int x = 3, h = 4, batch = 2, steps = 5;
        var layer = new RecurrentLayer((i, o) => new Lstm(i, o), x, h, steps, batch, bidirectional: true);
        Initializers.Initialize(layer.Forward, new Random(1));
        Initializers.Initialize(layer.Reverse!, new Random(2));
        int[] lengths = variableLengths ? new[] { 5, 3 } : new[] { 5, 5 };
        CheckGradients(layer, (input, output, training) => layer.Run(input, lengths, output, training), (g, dx) => layer.Backward(g, dx),
            Wave(steps * batch * x, 0.7f), steps * batch * 2 * h, 3);
    }

    [Fact]
    public void ReverseDirectionReadsEachSequenceBackwards()
    {
        const int x = 2, h = 3, batch = 2, steps = 4;
        var layer = new RecurrentLayer((i, o) => new Rnn(i, o), x, h, steps, batch, bidirectional: true);
        Initializers.Initialize(layer.Forward, new Random(1));
        Initializers.Initialize(layer.Reverse!, new Random(2));
        int[] lengths = { 4, 2 };
        float[] inputs = Wave(steps * batch * x, 0.9f);
        var outputs = new float[steps * batch * 2 * h];
        layer.Run(inputs, lengths, outputs, training: false);
        // The reverse direction of sequence 1 (length 2) alone, over its steps reversed.
        float[] reversed = { inputs[(1 * batch + 1) * x], inputs[(1 * batch + 1) * x + 1], inputs[(0 * batch + 1) * x], inputs[(0 * batch + 1) * x + 1] };
        var alone = new float[2 * h];
        layer.Reverse!.CreateRunner(2, 1).Forward(reversed, 1, default, alone, default);
        for (int k = 0; k < h; k++)
        {
            Assert.Equal(alone[h + k], outputs[(0 * batch + 1) * 2 * h + h + k], 5); // t = 0 sees the reverse pass's last output
            Assert.Equal(alone[k], outputs[(1 * batch + 1) * 2 * h + h + k], 5);
            Assert.Equal(0f, outputs[(3 * batch + 1) * 2 * h + h + k]); // past the end
        }
    }

    [Fact]
    public void StackedLayersGradientsMatchFiniteDifferences()
    {
        const int x = 3, h = 4, batch = 2, steps = 4;
        var stack = new RecurrentStack((i, o) => new TorchGru(i, o), x, h, layers: 2, steps, batch, bidirectional: true);
        foreach (RecurrentLayer layer in stack.Layers)
        {
            Initializers.Initialize(layer.Forward, new Random(layer.InputSize));
            Initializers.Initialize(layer.Reverse!, new Random(layer.InputSize + 1));
        }
        Assert.Equal(2 * h, stack.OutputSize);
        CheckGradients(stack, (input, output, training) => stack.Run(input, batch, output, training), (g, dx) => stack.Backward(g, dx),
            Wave(steps * batch * x, 0.5f), steps * batch * 2 * h, 4);
    }

    [Fact]
    public void DropoutActsOnlyWhileTrainingAndScalesWhatItKeeps()
    {
        const int x = 3, h = 16, batch = 4, steps = 5;
        var withDropout = new RecurrentStack((i, o) => new Rnn(i, o), x, h, 2, steps, batch, dropout: 0.5f, seed: 1);
        var without = new RecurrentStack((i, o) => new Rnn(i, o), x, h, 2, steps, batch);
        for (int l = 0; l < 2; l++)
        {
            Initializers.Initialize(withDropout.Layers[l].Forward, new Random(l));
            Initializers.Initialize(without.Layers[l].Forward, new Random(l));
        }
        float[] inputs = Wave(steps * batch * x, 0.3f);
        var a = new float[steps * batch * h];
        var b = new float[a.Length];
        withDropout.Run(inputs, batch, a, training: false);
        without.Run(inputs, batch, b, training: false);
        Assert.Equal(b, a);
        withDropout.Run(inputs, batch, a, training: true);
        Assert.NotEqual(b, a);
    }

    [Fact]
    public void EmbeddingLooksUpRowsAndAddsGradientsToThem()
    {
        var embedding = new Embedding(5, 3, new Random(1));
        float[] table = embedding.Table.ToArray();
        int[] tokens = { 4, 0, 4 };
        var rows = new float[9];
        embedding.Forward(tokens, rows);
        Assert.Equal(table.Skip(12).Take(3), rows.Take(3));
        Assert.Equal(table.Take(3), rows.Skip(3).Take(3));
        embedding.Backward(tokens, new float[] { 1, 1, 1, 2, 2, 2, 3, 3, 3 });
        float[] gradient = embedding.Table.GradientToArray();
        Assert.Equal(new float[] { 2, 2, 2 }, gradient.Take(3));
        Assert.Equal(new float[] { 4, 4, 4 }, gradient.Skip(12));
        Assert.Throws<ArgumentOutOfRangeException>(() => embedding.Forward(new[] { 5 }, new float[3]));
    }
}
