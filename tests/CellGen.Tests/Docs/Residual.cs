using System;
using System.Collections.Generic;
using CellGen;

/// <summary>y = x + inner(x): a residual connection around any module whose output has its input's width.</summary>
public sealed class Residual(Module inner) : Module
{
    // The inner module's parameters are this module's: optimisers, clipping, checkpoints and DataParallel find them here.
    public override IEnumerable<ParameterBuffer> ParameterBuffers => inner.ParameterBuffers;

    protected override IEnumerable<KeyValuePair<string, Parameter<float>>> NamedParametersCore(string prefix) =>
        inner.NamedParameters(prefix + "inner.");

    // And its dropout's generators, so that a checkpoint resumes the masks where they were.
    protected override IEnumerable<(string Name, Func<ulong> Get, Action<ulong> Set)> NamedGeneratorsCore(string prefix) =>
        inner.NamedGenerators(prefix + "inner.");

    public override int? InputWidth => inner.InputWidth;

    protected override void ForwardCore(Activations input, bool training)
    {
        Activations inside = inner.Forward(input, training);
        if (inside.Width != input.Width)
            throw new ArgumentException($"Residual adds its input to the inner module's output: widths {input.Width} and {inside.Width} differ.", nameof(input));
        Output.ShapeLike(input, input.Width);
        Span<float> y = Output.Values;
        ReadOnlySpan<float> x = input.Values, f = inside.Values;
        for (int i = 0; i < y.Length; i++) y[i] = x[i] + f[i];
    }

    protected override void BackwardCore(Activations input)
    {
        // d(inner's output) = dy; the inner module then writes d(x) through itself, and the skip adds dy to it.
        Output.Gradients.CopyTo(inner.Output.Gradients);
        inner.Backward();
        if (!input.RequiresGradient) return;
        Span<float> dx = input.Gradients;
        ReadOnlySpan<float> dy = Output.Gradients;
        for (int i = 0; i < dx.Length; i++) dx[i] += dy[i];
    }
}
