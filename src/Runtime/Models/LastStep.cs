using System;

namespace CellGen;

/// <summary>
/// Many-to-one pooling: from sequences [T, B, W] to vectors [B, W], each sequence's row at its last valid step
/// (t = length - 1). For the outputs of a bidirectional layer (<see cref="Activations.Directions"/> = 2) the second
/// half of each row comes from t = 0, where the backward direction ends, as PyTorch's h_n holds both directions'
/// final states. A sequence of length 0 gives zeros.
/// </summary>
public sealed class LastStep : Module
{
    internal override string? OnnxUnsupported => null;

    internal override bool OnnxReadsLengths => true;

    internal override string? OnnxNeeds(OnnxShape shape, Module? previous) => shape.Sequence ? null : "pools sequences";

    internal override OnnxShape OnnxOutput(OnnxShape shape) => shape with { Sequence = false };

    /// <summary>The final states of the recurrent module right before, else each sequence's row at its last valid step.</summary>
    internal override void OnnxLower(Onnx.OnnxGraph graph)
    {
        graph.Current = graph.Pooled ?? graph.LastRows(graph.Current);
        graph.Pooled = null;
    }

    /// <inheritdoc/>
    protected override void ForwardCore(Activations input, bool training)
    {
        if (!input.IsSequence) throw new ArgumentException($"LastStep pools sequences; its input is {input}.", nameof(input));
        Output.Reshape(1, input.BatchSize, input.Width, isSequence: false, ReadOnlySpan<int>.Empty);
        Span<float> output = Output.Values;
        output.Clear();
        Move(input, input.Values, output, gather: true);
    }

    /// <inheritdoc/>
    protected override void BackwardCore(Activations input)
    {
        if (!input.RequiresGradient) return;
        Span<float> gradients = input.Gradients;
        gradients.Clear();
        Move(input, Output.Gradients, gradients, gather: false);
    }

    /// <summary>Copies each sequence's pooled parts from the sequences to the vectors (<paramref name="gather"/>) or back.</summary>
    private static void Move(Activations input, ReadOnlySpan<float> source, Span<float> target, bool gather)
    {
        int width = input.Width, part = width / input.Directions, batch = input.BatchSize;
        for (int b = 0; b < batch; b++)
        {
            int length = input.Length(b);
            if (length == 0) continue;
            for (int d = 0; d < input.Directions; d++)
            {
                int t = d == 0 ? length - 1 : 0;
                int row = (t * batch + b) * width + d * part, pooled = b * width + d * part;
                source.Slice(gather ? row : pooled, part).CopyTo(target.Slice(gather ? pooled : row, part));
            }
        }
    }
}
