using System.Collections.Generic;
using System;
using CellGen.CompilerServices;

namespace CellGen;

/// <summary>
/// An embedding table [V, D] by the name "weight" (as nn.Embedding): token ids to rows. In a <see cref="Sequential"/>
/// it comes first and is fed token ids [T, B]; its Forward and Backward over spans stay for custom wiring.
/// </summary>
public sealed class Embedding : Module
{
    private readonly float[] _table, _gradient;
    private int[] _tokens = Array.Empty<int>();

    /// <summary>
    /// Creates a table of <paramref name="vocabulary"/> rows of <paramref name="dimension"/> values drawn from N(0, 1), as
    /// PyTorch's nn.Embedding starts, from <paramref name="random"/> or the generator <see cref="Initializers.ManualSeed"/> seeds.
    /// </summary>
    public Embedding(int vocabulary, int dimension, Random? random = null)
    {
        if (vocabulary <= 0) throw new ArgumentOutOfRangeException(nameof(vocabulary), vocabulary, "An embedding needs at least one token.");
        if (dimension <= 0) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "An embedding needs at least one value per token.");
        if ((long)vocabulary * dimension > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(vocabulary), vocabulary, $"vocabulary = {vocabulary} and dimension = {dimension} need more values than an array holds.");
        Vocabulary = vocabulary;
        Dimension = dimension;
        _table = new float[vocabulary * dimension];
        _gradient = new float[vocabulary * dimension];
        Initializers.Normal(_table, random);
        Table = new Parameter<float>("weight", new[] { vocabulary, dimension },
            new[] { new ParameterBlock<float>(_table, _gradient, 0, dimension, 1, 0, RowStride: dimension) });
    }

    /// <summary>V.</summary>
    public int Vocabulary { get; }

    /// <summary>D.</summary>
    public int Dimension { get; }

    /// <summary>The table's logical view [V, D].</summary>
    public Parameter<float> Table { get; }

    /// <inheritdoc/>
    public override IEnumerable<ParameterBuffer> ParameterBuffers => new[] { new ParameterBuffer(_table, _gradient) };

    /// <inheritdoc/>
    protected override IEnumerable<KeyValuePair<string, Parameter<float>>> NamedParametersCore(string prefix) =>
        new[] { KeyValuePair.Create(prefix + Table.Name, Table) };

    /// <summary>Looks up <paramref name="batchSize"/> sequences of token ids [T, B] into <see cref="Module.Output"/> [T, B, D].</summary>
    public Activations Forward(ReadOnlySpan<int> tokens, int batchSize, ReadOnlySpan<int> lengths = default)
    {
        using (Enter(nameof(Forward)))
        {
            Forget();
            int steps = Activations.StepsOf(tokens.Length, batchSize, 1, lengths, nameof(tokens));
            Output.Reshape(steps, batchSize, Dimension, isSequence: true, lengths);
            if (_tokens.Length < tokens.Length) _tokens = new int[tokens.Length];
            tokens.CopyTo(_tokens);
            Forward(tokens, Output.Values);
            return Output;
        }
    }

    /// <summary>Adds the gradients of <see cref="Module.Output"/> to the rows of the tokens of the last Forward.</summary>
    internal void BackwardTokens() => Backward(_tokens.AsSpan(0, Output.Rows), Output.Gradients);

    /// <summary>An embedding reads token ids, not Activations: feed it through <see cref="Forward(ReadOnlySpan{int}, int, ReadOnlySpan{int})"/>.</summary>
    internal override string? OnnxUnsupported => null;

    internal override bool OnnxReadsTokens => true;

    internal override string? OnnxNeeds(OnnxShape shape, Module? previous) => previous is null ? null : "reads token ids: it can only come first";

    internal override OnnxShape OnnxOutput(OnnxShape shape) => new(true, Dimension);

    /// <summary>A Gather of the table's rows.</summary>
    internal override void OnnxLower(Onnx.OnnxGraph graph)
    {
        graph.Current = graph.Node("Gather", new[] { graph.Initializer("embedding", Table.ToArray(), Vocabulary, Dimension), graph.Current }, "embedded");
        graph.Pooled = null;
    }

    /// <inheritdoc/>
    protected override void ForwardCore(Activations input, bool training) =>
        throw new InvalidOperationException("An Embedding reads token ids: call Forward(tokens, batchSize) (a Sequential does when it is given tokens).");

    /// <inheritdoc/>
    protected override void BackwardCore(Activations input) => BackwardTokens();

    /// <summary>Writes the rows of <paramref name="tokens"/> to <paramref name="output"/> [N, D].</summary>
    public void Forward(ReadOnlySpan<int> tokens, Span<float> output)
    {
        if (output.Length != tokens.Length * Dimension) throw new ArgumentException($"output has {output.Length} values; expected [{tokens.Length}, {Dimension}].", nameof(output));
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] >= (uint)Vocabulary) throw new ArgumentOutOfRangeException(nameof(tokens), tokens[i], $"Token {i} is {tokens[i]}, outside [0, {Vocabulary}).");
            _table.AsSpan(tokens[i] * Dimension, Dimension).CopyTo(output.Slice(i * Dimension, Dimension));
        }
    }

    /// <summary>Adds each row of <paramref name="outputGradient"/> to its token's row of the gradient.</summary>
    public void Backward(ReadOnlySpan<int> tokens, ReadOnlySpan<float> outputGradient)
    {
        if (outputGradient.Length != tokens.Length * Dimension)
            throw new ArgumentException($"outputGradient has {outputGradient.Length} values; expected [{tokens.Length}, {Dimension}].", nameof(outputGradient));
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] >= (uint)Vocabulary) throw new ArgumentOutOfRangeException(nameof(tokens), tokens[i], $"Token {i} is {tokens[i]}, outside [0, {Vocabulary}).");
            Span<float> row = _gradient.AsSpan(tokens[i] * Dimension, Dimension);
            ReadOnlySpan<float> g = outputGradient.Slice(i * Dimension, Dimension);
            for (int k = 0; k < Dimension; k++) row[k] += g[k];
        }
    }
}
