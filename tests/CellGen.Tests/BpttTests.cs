using System;
using System.Linq;
using CellGen.Cells;
using Xunit;

namespace CellGen.Tests;

/// <summary>Variable-length batches and truncated BPTT against what they must equal.</summary>
public sealed class BpttTests
{
    private static T Random<T>(T cell, int seed) where T : RecurrentCell<float>
    {
        Initializers.Initialize(cell, new Random(seed));
        foreach (Parameter<float> p in cell.Parameters.Where(p => p.Shape.Count == 1))
            p.CopyFrom(Enumerable.Range(0, p.Length).Select(i => 0.1f * MathF.Sin(seed + i)).ToArray());
        return cell;
    }

    private static float[] Wave(int length, float frequency) => Enumerable.Range(0, length).Select(i => MathF.Sin(frequency * i + 0.3f)).ToArray();

    private static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f + 1e-4f * Math.Abs(expected[i]), $"{what}[{i}]: {actual[i]}, expected {expected[i]}");
    }

    [Theory]
    [InlineData("Lstm")]
    [InlineData("TorchGru")]
    [InlineData("PeepholeLstm")]
    public void VariableLengthsEqualRunningEachSequenceAlone(string name)
    {
        const int x = 3, h = 5, steps = 6, batch = 3;
        int[] lengths = { 6, 2, 4 };
        RecurrentCell<float> Create() => Random<RecurrentCell<float>>(name switch
        {
            "Lstm" => new Lstm(x, h),
            "TorchGru" => new TorchGru(x, h),
            _ => new PeepholeLstm(x, h),
        }, 11);
        RecurrentCell<float> batched = Create();
        int s = batched.StateNames.Count;
        float[] inputs = Wave(steps * batch * x, 0.37f), initial = Wave(s * batch * h, 0.11f);
        float[] outputGradients = Wave(steps * batch * h, 0.23f), finalGradients = Wave(s * batch * h, 0.19f);
        var outputs = new float[steps * batch * h];
        var final = new float[s * batch * h];
        var dx = new float[inputs.Length];
        var dInitial = new float[initial.Length];
        var runner = batched.CreateRunner(steps, batch);
        batched.ZeroGradients();
        runner.ForwardTraining(inputs, lengths, initial, outputs, final);
        runner.Backward(outputGradients, finalGradients, dx, dInitial);

        var summed = batched.Parameters.ToDictionary(p => p.Name, p => new float[p.Length]);
        for (int b = 0; b < batch; b++)
        {
            int t = lengths[b];
            RecurrentCell<float> alone = Create();
            float[] Row(float[] all, int width, int count, int stride) =>
                Enumerable.Range(0, count).SelectMany(k => all.Skip((k * stride + b) * width).Take(width)).ToArray();
            float[] x1 = Row(inputs, x, t, batch), init1 = Row(initial, h, s, batch);
            var out1 = new float[t * h];
            var final1 = new float[s * h];
            var dx1 = new float[x1.Length];
            var dInit1 = new float[init1.Length];
            var r1 = alone.CreateRunner(steps, 1);
            alone.ZeroGradients();
            r1.ForwardTraining(x1, 1, init1, out1, final1);
            r1.Backward(Row(outputGradients, h, t, batch), Row(finalGradients, h, s, batch), dx1, dInit1);
            Close(out1, Row(outputs, h, t, batch), $"sequence {b} outputs");
            Assert.All(Enumerable.Range(t, steps - t).SelectMany(k => outputs.Skip((k * batch + b) * h).Take(h)), v => Assert.Equal(0f, v));
            Close(final1, Row(final, h, s, batch), $"sequence {b} final states");
            Close(dx1, Row(dx, x, t, batch), $"sequence {b} dx");
            Assert.All(Enumerable.Range(t, steps - t).SelectMany(k => dx.Skip((k * batch + b) * x).Take(x)), v => Assert.Equal(0f, v));
            Close(dInit1, Row(dInitial, h, s, batch), $"sequence {b} initial-state gradients");
            foreach (Parameter<float> p in alone.Parameters)
            {
                float[] g = p.GradientToArray();
                for (int i = 0; i < g.Length; i++) summed[p.Name][i] += g[i];
            }
        }
        foreach (Parameter<float> p in batched.Parameters) Close(summed[p.Name], p.GradientToArray(), "d" + p.Name);
    }

    [Fact]
    public void TruncatedWithK1EqualK2EqualTIsFullBptt()
    {
        const int x = 2, h = 4, steps = 8, batch = 2;
        Lstm full = Random(new Lstm(x, h), 3), truncated = Random(new Lstm(x, h), 3);
        float[] inputs = Wave(steps * batch * x, 0.5f), outputGradients = Wave(steps * batch * h, 0.3f);
        var outputs = new float[steps * batch * h];
        var runner = full.CreateRunner(steps, batch);
        runner.ForwardTraining(inputs, batch, default, outputs, default);
        runner.Backward(outputGradients, default, default, default);

        var tbptt = new TruncatedBptt(truncated, batch, steps, steps);
        tbptt.Reset();
        var chunkOutputs = new float[outputs.Length];
        tbptt.Forward(inputs, chunkOutputs);
        tbptt.Backward(outputGradients);
        Close(outputs, chunkOutputs, "outputs");
        foreach (Parameter<float> p in full.Parameters) Close(p.GradientToArray(), truncated.Parameter(p.Name).GradientToArray(), "d" + p.Name);
    }

    [Fact]
    public void TruncatedCarriesStatesAndLimitsHowFarGradientsFlow()
    {
        const int x = 2, h = 4, batch = 2, k1 = 2, k2 = 4, chunks = 4;
        Lstm reference = Random(new Lstm(x, h), 5), truncated = Random(new Lstm(x, h), 5);
        float[] inputs = Wave(chunks * k1 * batch * x, 0.7f), outputGradients = Wave(k1 * batch * h, 0.4f);

        // States carry: the outputs of every chunk equal those of one forward pass over the whole stream.
        var all = new float[chunks * k1 * batch * h];
        reference.CreateRunner(chunks * k1, batch).Forward(inputs, batch, default, all, default);
        var tbptt = new TruncatedBptt(truncated, batch, k1, k2);
        tbptt.Reset();
        var chunk = new float[k1 * batch * h];
        for (int c = 0; c < chunks; c++)
        {
            tbptt.Forward(inputs.AsSpan(c * k1 * batch * x, k1 * batch * x), chunk);
            Close(all.AsSpan(c * k1 * batch * h, chunk.Length), chunk, $"chunk {c} outputs");
        }

        // The last update's gradient equals full BPTT over the last k2 steps from the state k2 steps back, with the
        // loss on the last k1 steps only.
        truncated.ZeroGradients();
        tbptt.Backward(outputGradients);
        int start = chunks * k1 - k2;
        var prefix = new float[start * batch * h];
        var state = new float[2 * batch * h];
        var runner = reference.CreateRunner(chunks * k1, batch);
        runner.Forward(inputs.AsSpan(0, start * batch * x), batch, default, prefix, state);
        var windowOutputs = new float[k2 * batch * h];
        var windowGradients = new float[k2 * batch * h];
        outputGradients.CopyTo(windowGradients, (k2 - k1) * batch * h);
        reference.ZeroGradients();
        runner.ForwardTraining(inputs.AsSpan(start * batch * x, k2 * batch * x), batch, state, windowOutputs, default);
        runner.Backward(windowGradients, default, default, default);
        foreach (Parameter<float> p in reference.Parameters) Close(p.GradientToArray(), truncated.Parameter(p.Name).GradientToArray(), "d" + p.Name);
    }
}
