using System;
using System.Collections.Generic;

namespace CellGen;

/// <summary>
/// The generator of dropout masks: SplitMix64, small and fast, its whole state one number, so that a checkpoint can
/// save it and a resumed run draws the same masks.
/// </summary>
internal struct MaskGenerator
{
    public ulong State;

    public MaskGenerator(int seed) => State = (ulong)seed * 0x9E3779B97F4A7C15UL + 0x632BE59BD9B4E019UL;

    /// <summary>Uniform in [0, 1).</summary>
    public float NextSingle()
    {
        return (Mix(State += 0x9E3779B97F4A7C15UL) >> 40) * (1f / (1 << 24));
    }

    /// <summary>
    /// Fills <paramref name="mask"/> with <paramref name="hit"/> where a draw uniform in [0, 1) falls below
    /// <paramref name="threshold"/>, else <paramref name="miss"/>: as NextSingle() &lt; threshold, two 24-bit draws from
    /// each output of the generator (half the mixing per value), the state held in a register for the loop.
    /// </summary>
    public void Fill<T>(Span<T> mask, float threshold, T hit, T miss) where T : System.Numerics.INumberBase<T>
    {
        ulong state = State;
        // u < threshold * 2^24 exactly when u * 2^-24 < threshold, and for a whole u when u < its ceiling; the choice is
        // arithmetic (the sign of u - limit), not a branch, which at p = 0.5 would be mispredicted half the time.
        ulong limit = (ulong)Math.Ceiling(threshold * (double)(1 << 24));
        T step = hit - miss;
        T Pick(ulong u) => miss + step * T.CreateTruncating((u - limit) >> 63);
        int i = 0;
        for (; i + 1 < mask.Length; i += 2)
        {
            ulong z = Mix(state += 0x9E3779B97F4A7C15UL);
            mask[i] = Pick(z >> 40);
            mask[i + 1] = Pick((z >> 16) & 0xFFFFFF);
        }
        if (i < mask.Length) mask[i] = Pick(Mix(state += 0x9E3779B97F4A7C15UL) >> 40);
        State = state;
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Inverted dropout in place: each value kept with probability 1 - p and scaled by 1 / (1 - p); the mask is kept for the gradient.</summary>
    public void Apply(Span<float> values, Span<float> mask, float probability)
    {
        float keep = 1 - probability, scale = 1 / keep;
        for (int i = 0; i < values.Length; i++)
        {
            mask[i] = NextSingle() < keep ? scale : 0;
            values[i] *= mask[i];
        }
    }
}

/// <summary>Inverted dropout (as nn.Dropout): while training, each value is zeroed with probability p and the rest scaled by 1 / (1 - p).</summary>
public sealed class Dropout : Module
{
    private float[] _mask = Array.Empty<float>();
    private MaskGenerator _generator;

    /// <summary>Creates the module; its masks are drawn from a generator seeded by <paramref name="seed"/>, or from the shared one.</summary>
    public Dropout(double probability, int? seed = null)
    {
        if (!(probability >= 0 && probability < 1)) throw new ArgumentOutOfRangeException(nameof(probability), probability, "Dropout is a probability in [0, 1).");
        Probability = probability;
        _generator = new MaskGenerator(seed ?? Initializers.NextSeed());
    }

    /// <summary>p.</summary>
    public double Probability { get; }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Func<ulong> Get, Action<ulong> Set)> NamedGeneratorsCore(string prefix) =>
        new (string, Func<ulong>, Action<ulong>)[] { (prefix + "dropout", () => _generator.State, value => _generator.State = value) };

    private bool _dropped;

    internal override string? OnnxUnsupported => null;

    /// <summary>Inference: the identity (the recurrent module's final states before it stay LastStep's).</summary>
    internal override void OnnxLower(Onnx.OnnxGraph graph)
    {
    }

    /// <inheritdoc/>
    protected override void ForwardCore(Activations input, bool training)
    {
        Output.ReshapeLike(input, input.Width, input.Directions);
        input.Values.CopyTo(Output.Values);
        _dropped = training && Probability > 0;
        if (!_dropped) return;
        if (_mask.Length < Output.Values.Length) _mask = new float[Output.Values.Length];
        _generator.Apply(Output.Values, _mask.AsSpan(0, Output.Values.Length), (float)Probability);
    }

    /// <inheritdoc/>
    protected override void BackwardCore(Activations input)
    {
        if (!input.RequiresGradient) return;
        Span<float> target = input.Gradients;
        Output.Gradients.CopyTo(target);
        if (!_dropped) return;
        ReadOnlySpan<float> mask = _mask.AsSpan(0, target.Length);
        for (int i = 0; i < target.Length; i++) target[i] *= mask[i];
    }
}
