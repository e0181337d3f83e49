using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using CellGen.Cells;
using Xunit;

using static CellGen.Tests.TestFiles;

namespace CellGen.Tests;

/// <summary>
/// Attention against PyTorch's own ops in float64 (Fixtures/pytorch-attention, made by make.py there), by finite
/// differences through an encoder and a decoder, misuse, and without allocating once warm.
/// </summary>
public sealed class AttentionTests
{
    private static JsonElement[] Cases() => TestFiles.Cases("pytorch-attention", "attention.json");

    public static TheoryData<int> CaseIndices() => TestFiles.Indices(Cases());

    /// <summary>Sequences [T, B, W] with lengths, as a module's output (an identity layer), so that their gradients can be read.</summary>
    private static Activations Sequences(float[] values, int[] lengths, int width) => new Sequential(new Identity(width)).Forward(values, lengths, training: false);

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void AttentionMatchesPyTorchForwardAndBackward(int index)
    {
        JsonElement c = Cases()[index];
        var score = c.GetProperty("score").GetString() == "dot" ? AttentionScore.Dot : AttentionScore.Additive;
        int q = c.GetProperty("queryWidth").GetInt32(), m = c.GetProperty("memoryWidth").GetInt32(), o = c.GetProperty("outputWidth").GetInt32();
        int[] lengths = c.GetProperty("lengths").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var attention = new Attention(q, m, score, o, score == AttentionScore.Additive ? c.GetProperty("attentionSize").GetInt32() : null);
        foreach (JsonProperty parameter in c.GetProperty("parameters").EnumerateObject())
        {
            Parameter<float> target = attention.Parameters.Single(p => p.Name == parameter.Name);
            Assert.Equal(Shape(parameter.Value), target.Shape);
            target.CopyFrom(Floats(parameter.Value));
        }
        int batch = lengths.Length;
        Activations memory = Sequences(Floats(c.GetProperty("memory")), lengths, m);
        Activations query = Sequences(Floats(c.GetProperty("query")), Enumerable.Repeat(Shape(c.GetProperty("query"))[0], batch).ToArray(), q);
        attention.Memory = memory;
        Activations output = attention.Forward(query, training: true);
        Near(Floats(c.GetProperty("output")), output.Values, "output");
        Near(Floats(c.GetProperty("weights")), attention.Weights, "weights");
        Floats(c.GetProperty("probe")).CopyTo(output.Gradients);
        attention.Backward();
        Near(Floats(c.GetProperty("queryGradient")), query.Gradients, "d query");
        Near(Floats(c.GetProperty("memoryGradient")), memory.Gradients, "d memory");
        foreach (JsonProperty gradient in c.GetProperty("gradients").EnumerateObject())
            Near(Floats(gradient.Value), attention.Parameters.Single(p => p.Name == gradient.Name).GradientToArray(), "d " + gradient.Name);
    }

    [Theory]
    [InlineData(AttentionScore.Dot)]
    [InlineData(AttentionScore.Additive)]
    public void GradientsThroughTheEncoderTheDecoderAndTheAttentionMatchFiniteDifferences(AttentionScore score)
    {
        const int sourceSteps = 5, targetSteps = 4, batch = 3, inputs = 3, hidden = 6;
        var encoder = new Sequential(new Recurrent((x, h) => new Lstm(x, h), inputs, hidden, random: new Random(1)));
        var decoderRnn = new Recurrent((x, h) => new TorchGru(x, h), inputs, hidden, random: new Random(2));
        var attention = new Attention(hidden, hidden, score, outputWidth: 5, random: new Random(3));
        var decoder = new Sequential(decoderRnn, attention, new Dense(5, 4, new Random(4)));
        float[] source = Enumerable.Range(0, sourceSteps * batch * inputs).Select(i => MathF.Sin(0.9f * i)).ToArray();
        float[] target = Enumerable.Range(0, targetSteps * batch * inputs).Select(i => MathF.Cos(0.7f * i)).ToArray();
        int[] sourceLengths = { 5, 2, 4 }, labels = Enumerable.Range(0, targetSteps * batch).Select(i => i % 4).ToArray();
        var loss = new CrossEntropyLoss(Reduction.Sum);
        double Loss(bool training)
        {
            attention.Memory = encoder.Forward(source, sourceLengths, training);
            return loss.Compute(decoder.Forward(target, batch, training), labels);
        }
        var optimizer = new Sgd([encoder, decoder], 0.1);
        optimizer.ZeroGradients();
        Loss(training: true);
        decoder.Backward();
        encoder.Backward(); // the memory's gradients, written by the attention
        foreach ((string name, Parameter<float> parameter) in encoder.NamedParameters("encoder.").Concat(decoder.NamedParameters("decoder.")))
        {
            float[] values = parameter.ToArray(), gradient = parameter.GradientToArray();
            for (int i = 0; i < values.Length; i += 5)
            {
                float kept = values[i];
                values[i] = kept + 1e-2f; parameter.CopyFrom(values); double up = Loss(false);
                values[i] = kept - 1e-2f; parameter.CopyFrom(values); double down = Loss(false);
                values[i] = kept; parameter.CopyFrom(values);
                double numeric = (up - down) / 2e-2;
                Assert.True(Math.Abs(numeric - gradient[i]) <= 2e-3 + 2e-2 * Math.Abs(numeric), $"{name}[{i}]: backward {gradient[i]}, finite differences {numeric}");
            }
        }
    }

    [Fact]
    public void ATrainingStepWithAttentionAllocatesNothingOnceWarm()
    {
        var encoder = new Sequential(new Embedding(10, 8, new Random(1)), new Recurrent((x, h) => new Lstm(x, h), 8, 16, random: new Random(2)));
        var attention = new Attention(16, 16, AttentionScore.Additive, random: new Random(3));
        var decoder = new Sequential(new Embedding(10, 8, new Random(4)), new Recurrent((x, h) => new Lstm(x, h), 8, 16, random: new Random(5)), attention, new Dense(16, 10, new Random(6)));
        var loss = new CrossEntropyLoss();
        var optimizer = new Adam([encoder, decoder], 1e-3);
        int[] source = Enumerable.Range(0, 7 * 4).Select(i => i % 10).ToArray(), target = Enumerable.Range(0, 5 * 4).Select(i => (i * 3) % 10).ToArray();
        int[] sourceLengths = { 7, 3, 5, 1 }, targetLengths = { 5, 5, 2, 4 };
        void Step()
        {
            attention.Memory = encoder.Forward(source, sourceLengths, training: true);
            loss.Compute(decoder.Forward(target, targetLengths, training: true), target);
            optimizer.ZeroGradients();
            decoder.Backward();
            encoder.Backward();
            optimizer.Step();
        }
        for (int i = 0; i < 3; i++) Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++) Step();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void ACheckpointKeepsTheAttentionAndTheLayersOfAModel()
    {
        var attention = new Attention(6, 6, AttentionScore.Additive, random: new Random(1));
        var model = new Sequential(new Recurrent((x, h) => new Lstm(x, h), 3, 6, random: new Random(2)), new LayerNorm(6), attention, new FeedForward(6, 10), new Dense(6, 2, new Random(3)));
        float[] inputs = Enumerable.Range(0, 4 * 2 * 3).Select(i => MathF.Sin(i)).ToArray();
        var memory = new Sequential(new Identity(6)).Forward(Enumerable.Range(0, 5 * 2 * 6).Select(i => MathF.Cos(i)).ToArray(), new[] { 5, 3 }, training: false);
        attention.Memory = memory;
        float[] before = model.Forward(inputs, 2, training: false).Values.ToArray();
        string path = Path.Combine(Path.GetTempPath(), "cellgen-attention-" + Guid.NewGuid().ToString("N") + ".safetensors");
        try
        {
            Checkpoint.Save(path, model);
            foreach ((string _, Parameter<float> parameter) in model.NamedParameters()) parameter.CopyFrom(new float[parameter.Length]);
            Assert.NotEqual(before, model.Forward(inputs, 2, training: false).Values.ToArray());
            Checkpoint.Load(path, model);
            Assert.Equal(before, model.Forward(inputs, 2, training: false).Values.ToArray());
            Assert.Contains(model.NamedParameters(), p => p.Key == "2.W_k");
            Assert.Contains(model.NamedParameters(), p => p.Key == "1.weight");
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void MisuseIsRefusedWithTheShapes()
    {
        Assert.Throws<ArgumentException>(() => new Attention(4, 5, AttentionScore.Dot));
        var attention = new Attention(4, 4);
        var query = new Sequential(new Identity(4)).Forward(new float[2 * 3 * 4], 3, training: false);
        Assert.Contains("Memory is not set", Assert.Throws<InvalidOperationException>(() => attention.Forward(query, training: false)).Message);
        var other = new Sequential(new Identity(4)).Forward(new float[2 * 2 * 4], 2, training: false);
        attention.Memory = other;
        Assert.Contains("B=2", Assert.Throws<ArgumentException>(() => attention.Forward(query, training: false)).Message);
        var wide = new Sequential(new Identity(5)).Forward(new float[2 * 3 * 5], 3, training: false);
        Assert.Throws<ArgumentException>(() => attention.Memory = wide);
    }
}

/// <summary>The decoder: teacher forcing, greedy decoding, and a beam search wide enough to be exhaustive against every sequence scored by hand.</summary>
public sealed class DecoderTests
{
    private const int Vocabulary = 4, End = 3, Start = 0, Steps = 3;

    private static (Sequential Encoder, Recurrent EncoderRnn, Decoder Decoder) Model(AttentionScore? score, int seed)
    {
        var encoderRnn = new Recurrent((x, h) => new TorchGru(x, h), 5, 6, random: new Random(seed));
        var encoder = new Sequential(new Embedding(7, 5, new Random(seed + 1)), encoderRnn);
        var modules = new List<Module> { new Embedding(Vocabulary, 5, new Random(seed + 2)), new Recurrent((x, h) => new Lstm(x, h), 5, 6, random: new Random(seed + 3)) };
        if (score is { } s) modules.Add(new Attention(6, 6, s, random: new Random(seed + 4)));
        modules.Add(new Dense(6, Vocabulary, new Random(seed + 5)));
        // Larger weights for the head, so that the steps' distributions are far from uniform and greedy differs from the best.
        var head = (Dense)modules[^1];
        head.Weights.CopyFrom(head.Weights.ToArray().Select(w => 6 * w).ToArray());
        return (encoder, encoderRnn, new Decoder(new Sequential(modules.ToArray())));
    }

    /// <summary>log p(sequence) by teacher forcing, the sequence stopping at its first End.</summary>
    private static double Score(Decoder decoder, Activations? memory, Action begin, int[] sequence)
    {
        int length = Array.IndexOf(sequence, End) is var e && e >= 0 ? e + 1 : sequence.Length;
        int[] inputs = new[] { Start }.Concat(sequence.Take(length - 1)).ToArray();
        begin();
        Activations logits = decoder.Forward(inputs, new[] { length }, memory, training: false);
        double total = 0;
        for (int t = 0; t < length; t++)
        {
            ReadOnlySpan<float> row = logits.Values.Slice(t * Vocabulary, Vocabulary);
            double largest = row.ToArray().Max(), sum = row.ToArray().Sum(v => Math.Exp(v - largest));
            total += row[sequence[t]] - largest - Math.Log(sum);
        }
        return total;
    }

    public static TheoryData<AttentionScore?> Scores() => new() { null, AttentionScore.Dot, AttentionScore.Additive };

    [Theory]
    [MemberData(nameof(Scores))]
    public void AWideBeamFindsTheMostLikelySequenceAndWidthOneIsGreedy(AttentionScore? score)
    {
        (Sequential encoder, Recurrent encoderRnn, Decoder decoder) = Model(score, seed: 3);
        int[] source = { 1, 2, 3, 4, 5, 6, 6, 5, 4, 0, 0, 3 }; // [T = 4, B = 3]
        int[] lengths = { 4, 3, 2 };
        const int batch = 3;
        Activations? Memory() => score is null ? null : encoder.Output;
        void Begin() => decoder.Recurrent.SetInitialState("h", encoderRnn.FinalState("h")); // the encoder's final h; c starts at zero
        encoder.Forward(source, lengths, training: false);
        Begin();
        int[] greedy = new int[Steps * batch], beam1 = new int[Steps * batch], wide = new int[Steps * batch];
        decoder.Greedy(Memory(), batch, Start, End, greedy);
        Begin();
        decoder.BeamSearch(Memory(), batch, Start, End, 1, beam1);
        Assert.Equal(greedy, beam1);
        Begin();
        decoder.BeamSearch(Memory(), batch, Start, End, Vocabulary * Vocabulary, wide);
        bool differs = false;
        for (int b = 0; b < batch; b++)
        {
            // Every sequence the decoder can write in three steps, scored by teacher forcing with this sequence's memory and state.
            int[] single = Enumerable.Range(0, 4).Select(t => source[t * batch + b]).ToArray();
            encoder.Forward(single, new[] { lengths[b] }, training: false);
            void BeginOne() => decoder.Recurrent.SetInitialState("h", encoderRnn.FinalState("h"));
            var all = from a in Enumerable.Range(0, Vocabulary) from c in Enumerable.Range(0, Vocabulary) from d in Enumerable.Range(0, Vocabulary) select new[] { a, c, d };
            var scored = all.Select(s => (Sequence: Canonical(s), Score: Score(decoder, Memory(), BeginOne, s))).GroupBy(p => string.Join(",", p.Sequence)).Select(g => g.First()).ToList();
            var best = scored.OrderByDescending(p => p.Score).First();
            int[] found = Enumerable.Range(0, Steps).Select(t => wide[t * batch + b]).ToArray();
            int[] greedyOne = Enumerable.Range(0, Steps).Select(t => greedy[t * batch + b]).ToArray();
            Assert.True(best.Sequence.SequenceEqual(found), $"sequence {b}: the most likely is {string.Join(",", best.Sequence)} ({best.Score:F4}), the beam wrote {string.Join(",", found)} ({scored.Single(p => p.Sequence.SequenceEqual(found)).Score:F4}); greedy {string.Join(",", greedyOne)}");
            double greedyScore = scored.Single(p => p.Sequence.SequenceEqual(greedyOne)).Score;
            Assert.True(best.Score >= greedyScore - 1e-6);
            differs |= !greedyOne.SequenceEqual(found);
        }
        Assert.True(differs || score is null, "a wide beam should find a better sequence than greedy somewhere (or the test shows nothing)");
    }

    /// <summary>The sequence as the decoder writes it: End repeated after the first End.</summary>
    private static int[] Canonical(int[] sequence)
    {
        int[] copy = (int[])sequence.Clone();
        bool ended = false;
        for (int t = 0; t < copy.Length; t++)
        {
            if (ended) copy[t] = End;
            ended |= copy[t] == End;
        }
        return copy;
    }

    [Fact]
    public void SelectStatesStartsEachRowWhereTheChosenRowStood()
    {
        var lstm = new Recurrent((x, h) => new Lstm(x, h), 2, 3, layers: 2, bidirectional: true, random: new Random(7)) { Stateful = true };
        var model = new Sequential(lstm);
        float[] first = Enumerable.Range(0, 4 * 3 * 2).Select(i => MathF.Sin(i)).ToArray(), next = Enumerable.Range(0, 2 * 3 * 2).Select(i => MathF.Cos(i)).ToArray();
        model.Forward(first, 3, training: false);
        var finals = new Dictionary<(string, int, bool), float[]>();
        foreach (string state in lstm.StateNames)
            for (int l = 0; l < 2; l++)
                foreach (bool reverse in new[] { false, true }) finals[(state, l, reverse)] = lstm.FinalState(state, l, reverse).ToArray();
        int[] rows = { 2, 2, 0 };
        Assert.Throws<ArgumentOutOfRangeException>(() => lstm.SelectStates(new[] { 3 }));
        lstm.SelectStates(rows);
        float[] selected = model.Forward(next, 3, training: false).Values.ToArray();
        // The same by hand: each state's rows picked and given as initial states.
        lstm.ResetStates();
        foreach (((string state, int l, bool reverse), float[] values) in finals)
        {
            int size = values.Length / 3;
            lstm.SetInitialState(state, rows.SelectMany(r => values.Skip(r * size).Take(size)).ToArray(), l, reverse);
        }
        Assert.Equal(selected, model.Forward(next, 3, training: false).Values.ToArray());
        lstm.ResetStates();
        Assert.Throws<InvalidOperationException>(() => lstm.SelectStates(rows));
    }

    [Fact]
    public void MisuseIsRefusedWithTheReason()
    {
        Assert.Throws<ArgumentException>(() => new Decoder(new Sequential(new Dense(3, 4))));
        Assert.Throws<ArgumentException>(() => new Decoder(new Sequential(new Embedding(4, 3), new Dense(3, 4))));
        (_, _, Decoder decoder) = Model(AttentionScore.Dot, 1);
        Assert.Contains("memory", Assert.Throws<ArgumentException>(() => decoder.Greedy(null, 2, Start, End, new int[6])).Message);
        (_, _, Decoder plain) = Model(null, 1);
        Assert.Throws<ArgumentException>(() => plain.Greedy(null, 2, Start, End, new int[5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => plain.BeamSearch(null, 2, Start, End, 0, new int[6]));
        Assert.Throws<ArgumentOutOfRangeException>(() => plain.Greedy(null, 2, Start, Vocabulary, new int[6]));
        Assert.Throws<ArgumentOutOfRangeException>(() => plain.BeamSearch(null, 2, Start, -1, 2, new int[6]));
        (Sequential encoder, _, Decoder attending) = Model(AttentionScore.Additive, 2);
        Activations memory = encoder.Forward(new[] { 1, 2, 3, 4, 5, 6 }, 3, training: false);
        Assert.Contains("B=3", Assert.Throws<ArgumentException>(() => attending.BeamSearch(memory, 2, Start, End, 2, new int[6])).Message);
        Assert.Contains("B=3", Assert.Throws<ArgumentException>(() => attending.Greedy(memory, 2, Start, End, new int[6])).Message);
    }
}
