using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using CellGen.Cells;
using Xunit;

namespace CellGen.Tests;

/// <summary>Models misused on purpose (issue 25): a call from a second thread, Backward after a failed Forward or without a loss, clipping a NaN.</summary>
public sealed class ModelMisuseTests
{
    /// <summary>A module whose Forward waits until it is let go, so that a second call surely overlaps it.</summary>
    private sealed class Gate : Module
    {
        public readonly ManualResetEventSlim Entered = new(), Release = new();

        public override int? InputWidth => 4;

        protected override void ForwardCore(Activations input, bool training)
        {
            Entered.Set();
            Release.Wait();
        }

        protected override void BackwardCore(Activations input) { }
    }

    [Fact]
    public async Task AModuleCalledWhileItRunsOnAnotherThreadThrows()
    {
        var gate = new Gate();
        var model = new Sequential(gate);
        var input = new Activations();
        Task first = Task.Run(() => model.Forward(new float[4], 1, training: false));
        Assert.True(gate.Entered.Wait(TimeSpan.FromSeconds(30)));
        var error = Assert.Throws<InvalidOperationException>(() => model.Forward(new float[4], 1, training: false));
        Assert.Contains("another call on this module", error.Message);
        Assert.Contains("Sequential.Forward", error.Message);
        Assert.Throws<InvalidOperationException>(() => model.Backward());
        Assert.Throws<InvalidOperationException>(() => gate.Forward(input, training: false));
        // Its output is being written by the other thread: reading it is refused too.
        Assert.Contains("read while another thread's call runs on it", Assert.Throws<InvalidOperationException>(() => gate.Output.Values.ToArray()).Message);
        Assert.Throws<InvalidOperationException>(() => model.Output.Gradients.Clear());
        gate.Release.Set();
        await first; // the first call was never disturbed
        model.Forward(new float[4], 1, training: false); // and the module serves the next call
    }

    [Fact]
    public async Task ARecurrentModelUsedFromTwoThreadsRefusesOverlappingCalls()
    {
        // Without the guard, two threads interleave inside one module's buffers (9 of 1,391 calls wrong in the trial).
        Initializers.ManualSeed(3);
        var model = new Sequential(new Embedding(9, 16), new Recurrent((x, h) => new Lstm(x, h), 16, 128), new LastStep(), new Dense(128, 3));
        int[] tokens = Enumerable.Range(0, 40 * 8).Select(i => i % 9).ToArray();
        int refused = 0, completed = 0;
        using var start = new Barrier(2);
        Task Run() => Task.Run(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < 200; i++)
            {
                try
                {
                    model.Forward(tokens, 8, training: false);
                    Interlocked.Increment(ref completed);
                }
                catch (InvalidOperationException e) when (e.Message.Contains("another call on this module")) { Interlocked.Increment(ref refused); }
            }
        });
        await Task.WhenAll(Run(), Run());
        Assert.Equal(400, refused + completed);
        Assert.True(completed > 0);
    }

    [Fact]
    public async Task ALossSharedByTwoThreadsRefusesOverlappingCalls()
    {
        // Sequences with lengths: the loss masks each call's targets in a buffer of its own, which two threads would share.
        const int steps = 20, batch = 20, classes = 50;
        var loss = new CrossEntropyLoss();
        float[] inputs = Enumerable.Range(0, steps * batch * 8).Select(i => MathF.Sin(i)).ToArray();
        int[] lengths = Enumerable.Range(0, batch).Select(b => 1 + b % steps).ToArray();
        (Activations Logits, int[] Targets, float Expected) Make(int seed)
        {
            Activations logits = new Sequential(new Dense(8, classes, new Random(seed))).Forward(inputs, lengths, training: false);
            int[] targets = Enumerable.Range(0, steps * batch).Select(i => (i * seed) % classes).ToArray();
            return (logits, targets, loss.Compute(logits, targets));
        }
        var sides = new[] { Make(1), Make(7) };
        int refused = 0, wrong = 0;
        using var start = new Barrier(2);
        Task Run((Activations Logits, int[] Targets, float Expected) side) => Task.Run(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < 2000; i++)
            {
                try
                {
                    if (loss.Compute(side.Logits, side.Targets) != side.Expected) Interlocked.Increment(ref wrong);
                }
                catch (InvalidOperationException e) when (e.Message.Contains("another call on this loss")) { Interlocked.Increment(ref refused); }
            }
        });
        await Task.WhenAll(Run(sides[0]), Run(sides[1]));
        Assert.Equal(0, wrong);
    }

    private static (Sequential Model, Embedding Embedding, Dense Head) Tagger()
    {
        var embedding = new Embedding(9, 4, new Random(1));
        var head = new Dense(5, 3, new Random(2));
        return (new Sequential(embedding, new Recurrent((x, h) => new Lstm(x, h), 4, 5, random: new Random(3)), new LastStep(), head), embedding, head);
    }

    private static readonly int[] Tokens = [1, 2, 3, 4, 5, 6, 7, 8, 0];

    [Fact]
    public void ABackwardAfterAForwardThatFailedPartWayIsRefusedAndChangesNoGradient()
    {
        (Sequential model, Embedding embedding, Dense head) = Tagger();
        var loss = new CrossEntropyLoss();
        loss.Compute(model.Forward(Tokens, 3, training: true), [0, 1, 2]);
        float[] before = head.Weights.GradientToArray();
        // A bad token id: the embedding refuses, after the last batch's values are still in the later modules.
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward([1, 2, 99, 4, 5, 6, 7, 8, 0], 3, training: true));
        var error = Assert.Throws<InvalidOperationException>(() => model.Backward());
        Assert.Contains("succeeded", error.Message);
        Assert.Throws<InvalidOperationException>(() => head.Backward());
        Assert.Equal(before, head.Weights.GradientToArray());
        Assert.All(embedding.Table.GradientToArray(), g => Assert.Equal(0f, g));

        // The same through floats: the Recurrent refuses vectors after the Dense before it has run.
        var dense = new Dense(4, 4, new Random(4));
        var broken = new Sequential(new Recurrent((x, h) => new Lstm(x, h), 4, 4), new LastStep(), dense, new Recurrent((x, h) => new Lstm(x, h), 4, 4));
        Assert.Throws<ArgumentException>(() => broken.Forward(new float[3 * 2 * 4], 2, training: true));
        Assert.Throws<InvalidOperationException>(() => broken.Backward());
        Assert.Throws<InvalidOperationException>(() => dense.Backward());
        Assert.All(dense.Weights.GradientToArray(), g => Assert.Equal(0f, g));

        // The next good Forward makes Backward possible again.
        loss.Compute(model.Forward(Tokens, 3, training: true), [0, 1, 2]);
        model.Backward();
        Assert.NotEqual(before, head.Weights.GradientToArray());
    }

    [Fact]
    public void ABackwardWithoutALossSinceTheLastForwardIsRefused()
    {
        (Sequential model, _, Dense head) = Tagger();
        var loss = new CrossEntropyLoss();
        loss.Compute(model.Forward(Tokens, 3, training: true), [0, 1, 2]);
        model.Backward();
        float[] after = head.Weights.GradientToArray();
        model.Forward(Tokens, 3, training: true);
        var error = Assert.Throws<InvalidOperationException>(() => model.Backward());
        Assert.Contains("compute a loss", error.Message);
        Assert.Equal(after, head.Weights.GradientToArray());
        // Writing the output's gradients by hand counts as a loss.
        model.Output.Gradients.Fill(0.5f);
        model.Backward();
        Assert.NotEqual(after, head.Weights.GradientToArray());
    }

    [Fact]
    public void AFinalStatesGradientAloneRunsBackwardWithTheOutputsGradientsAsZeros()
    {
        // samples/Translate's encoder: only the final state's gradient comes from the decoder.
        Embedding Make(out Recurrent rnn)
        {
            rnn = new Recurrent((x, h) => new TorchGru(x, h), 4, 5, random: new Random(5));
            return new Embedding(9, 4, new Random(6));
        }
        float[] Run(bool zeroOutputs)
        {
            var embedding = Make(out Recurrent rnn);
            var encoder = new Sequential(embedding, rnn);
            // A first batch leaves gradients in the output's buffer that must not be reused.
            new MeanSquaredErrorLoss().Compute(encoder.Forward(Tokens, 3, training: true), Enumerable.Repeat(1f, 3 * 3 * 5).ToArray());
            encoder.Backward();
            Adam.W([encoder]).ZeroGradients();
            encoder.Forward(Tokens, 3, training: true);
            if (zeroOutputs) encoder.Output.Gradients.Clear();
            rnn.FinalStateGradient("h").Fill(1f);
            encoder.Backward();
            return rnn.Cell().Parameter("Wx_n").GradientToArray();
        }
        float[] implicitZeros = Run(zeroOutputs: false), explicitZeros = Run(zeroOutputs: true);
        Assert.Equal(explicitZeros, implicitZeros);
        Assert.Contains(implicitZeros, g => g != 0);
    }

    [Fact]
    public void ClippingANaNOrInfiniteNormFollowsPyTorch()
    {
        // torch.nn.utils.clip_grad_norm_(max_norm=1.0), PyTorch 1.13: (nan, 30, 40) -> nan everywhere; (inf, 3, 4) -> (nan, 0, 0); either norm type.
        foreach (NormType type in new[] { NormType.Two, NormType.Infinity })
        {
            float[] nan = [float.NaN, 30, 40];
            ClipResult result = Clipping.ClipByNorm(new[] { nan }, 1.0, type);
            Assert.True(double.IsNaN(result.TotalNorm));
            Assert.True(result.Clipped);
            Assert.All(nan, g => Assert.True(float.IsNaN(g)));

            float[] inf = [float.PositiveInfinity, 3, 4];
            result = Clipping.ClipByNorm(new[] { inf }, 1.0, type);
            Assert.True(double.IsPositiveInfinity(result.TotalNorm));
            Assert.True(float.IsNaN(inf[0]));
            Assert.Equal([0f, 0f], inf[1..]);

            float[] reported = [float.NaN, 30, 40];
            Assert.False(Clipping.ClipByNorm(new[] { reported }, 1.0, type, NonFiniteNorm.Report).IsFinite);
            Assert.Equal([30f, 40f], reported[1..]);
        }
    }

    [Fact]
    public void AResultReadAfterALaterForwardOverwroteItThrowsAndTheLatestReadsAsItShould()
    {
        var model = new Sequential(new Recurrent((x, h) => new Lstm(x, h), 2, 3, random: new Random(1)), new Dense(3, 2, new Random(2)));
        float[] first = Enumerable.Range(0, 8).Select(i => MathF.Sin(i)).ToArray(), second = Enumerable.Range(0, 8).Select(i => MathF.Cos(i)).ToArray();
        Activations a1 = model.Forward(first, 2, training: false);
        float kept = a1.Values[0];
        Activations a2 = model.Forward(second, 2, training: false);
        var e = Assert.Throws<InvalidOperationException>(() => a1.Values[0]);
        Assert.Contains("Dense", e.Message);
        Assert.Contains("later Forward", e.Message);
        Assert.Throws<InvalidOperationException>(() => a1.Gradients.Length);
        Assert.Throws<InvalidOperationException>(() => a1.Steps);
        Assert.Contains("overwritten", a1.ToString());
        Assert.NotEqual(a1, a2);
        Assert.Equal(a2, model.Output);
        Assert.NotEqual(kept, a2.Values[0]);
        // The same input again gives the first result: the first one was right when it was read.
        Assert.Equal(kept, model.Forward(first, 2, training: false).Values[0]);
        Assert.Throws<InvalidOperationException>(() => new CrossEntropyLoss().Compute(a2, new[] { 0, 1, 0, 1, 0, 1, 0, 1 }));
    }

    [Fact]
    public void BackwardThroughAnInputThatItsModuleHasOverwrittenSinceIsRefused()
    {
        // Wired by hand: the dense layer's input is the recurrent layer's output of the first batch; running the
        // recurrent layer again before the dense layer's Backward would read the second batch's values.
        var recurrent = new Recurrent((x, h) => new Lstm(x, h), 2, 3, random: new Random(1));
        var dense = new Dense(3, 2, new Random(2));
        var input = new Activations();
        input.ShapeVectors(4, 2);
        var sequences = new Sequential(recurrent);
        Activations hidden = sequences.Forward(new float[8], 2, training: true);
        dense.Forward(hidden, training: true);
        dense.Output.Gradients.Fill(1);
        sequences.Forward(new float[8], 2, training: true);
        var e = Assert.Throws<InvalidOperationException>(dense.Backward);
        Assert.Contains("later Forward", e.Message);
        Assert.Throws<ArgumentException>(() => dense.Forward(default, training: false));
    }
}
