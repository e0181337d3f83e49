using System.Collections.Generic;
using System;
using CellGen.CompilerServices;

namespace CellGen;

/// <summary>
/// A dense (linear) layer y = W x + b over rows, as nn.Linear: W [outputs, inputs] by the name "weight", b "bias". As a
/// module it maps each row of its input (every step of sequences, or each vector) and keeps the input's shape.
/// </summary>
public sealed class Dense : Module
{
    private readonly float[] _weights, _weightsGradient, _bias, _biasGradient;

    /// <summary>
    /// Creates the layer as nn.Linear starts: W and b drawn from U(-1/√inputs, 1/√inputs), from <paramref name="random"/>
    /// or the generator <see cref="Initializers.ManualSeed"/> seeds.
    /// </summary>
    public Dense(int inputs, int outputs, Random? random = null)
    {
        if (inputs <= 0) throw new ArgumentOutOfRangeException(nameof(inputs), inputs, "A dense layer needs at least one input.");
        if (outputs <= 0) throw new ArgumentOutOfRangeException(nameof(outputs), outputs, "A dense layer needs at least one output.");
        if ((long)inputs * outputs > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(inputs), inputs, $"inputs = {inputs} and outputs = {outputs} need more values than an array holds.");
        Inputs = inputs;
        Outputs = outputs;
        // Packed [inputs, outputs], as the matrix products of the cells.
        _weights = new float[inputs * outputs];
        _weightsGradient = new float[inputs * outputs];
        _bias = new float[outputs];
        _biasGradient = new float[outputs];
        Weights = new Parameter<float>("weight", new[] { outputs, inputs },
            new[] { new ParameterBlock<float>(_weights, _weightsGradient, 0, inputs, outputs, 0, "input", true) });
        Bias = new Parameter<float>("bias", new[] { outputs }, new[] { new ParameterBlock<float>(_bias, _biasGradient, 0, 1, 0, 0) });
        // PyTorch: kaiming_uniform_(a=√5) for the weight, which is U(±1/√fan_in), and the same bound for the bias.
        double bound = 1 / Math.Sqrt(inputs);
        Initializers.Uniform<float>(_weights, bound, random);
        Initializers.Uniform<float>(_bias, bound, random);
    }

    /// <summary>The size of an input row.</summary>
    public int Inputs { get; }

    /// <summary>The size of an output row.</summary>
    public int Outputs { get; }

    /// <summary>W, [outputs, inputs].</summary>
    public Parameter<float> Weights { get; }

    /// <summary>b, [outputs].</summary>
    public Parameter<float> Bias { get; }

    /// <inheritdoc/>
    public override int? InputWidth => Inputs;

    /// <inheritdoc/>
    public override IEnumerable<ParameterBuffer> ParameterBuffers => new[] { new ParameterBuffer(_weights, _weightsGradient), new ParameterBuffer(_bias, _biasGradient) };

    /// <inheritdoc/>
    protected override IEnumerable<KeyValuePair<string, Parameter<float>>> NamedParametersCore(string prefix) =>
        new[] { KeyValuePair.Create(prefix + Weights.Name, Weights), KeyValuePair.Create(prefix + Bias.Name, Bias) };

    /// <inheritdoc/>
    protected override void ForwardCore(Activations input, bool training)
    {
        CheckWidth(input, Inputs);
        Output.ReshapeLike(input, Outputs);
        Forward(input.Values, Output.Values, input.Rows);
    }

    /// <inheritdoc/>
    protected override void BackwardCore(Activations input) =>
        Backward(input.Values, Output.Gradients, input.RequiresGradient ? input.Gradients : default, input.Rows);

    internal override string? OnnxUnsupported => null;

    internal override OnnxShape OnnxOutput(OnnxShape shape) => shape with { Width = Outputs };

    /// <summary>A MatMul by Wᵀ and an Add of b.</summary>
    internal override void OnnxLower(Onnx.OnnxGraph graph)
    {
        // The weights are stored [inputs, outputs], the layout MatMul multiplies by: no transpose.
        string product = graph.Node("MatMul", new[] { graph.Current, graph.Initializer("dense_weight", _weights, Inputs, Outputs) }, "product");
        graph.Current = graph.Node("Add", new[] { product, graph.Initializer("dense_bias", Bias.ToArray(), Outputs) }, "dense");
        graph.Pooled = null;
    }

    /// <summary>y [rows, outputs] = x [rows, inputs] Wᵀ + b.</summary>
    public void Forward(ReadOnlySpan<float> x, Span<float> y, int rows)
    {
        Check(x.Length, rows * Inputs, nameof(x), rows, Inputs);
        Check(y.Length, rows * Outputs, nameof(y), rows, Outputs);
        Gemm.Forward<float>(x, Inputs, _weights, _bias, y, Outputs, rows, Inputs, Outputs);
    }

    /// <summary>Accumulates dW and db from dy [rows, outputs]; writes dx [rows, inputs] unless it is empty.</summary>
    public void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, int rows)
    {
        Check(x.Length, rows * Inputs, nameof(x), rows, Inputs);
        Check(dy.Length, rows * Outputs, nameof(dy), rows, Outputs);
        Gemm.BackwardWeights<float>(x, Inputs, dy, Outputs, _weightsGradient, rows, Inputs, Outputs);
        Gemm.BiasGradient<float>(dy, Outputs, _biasGradient, rows, Outputs);
        if (dx.IsEmpty) return;
        Check(dx.Length, rows * Inputs, nameof(dx), rows, Inputs);
        Gemm.BackwardData<float>(dy, Outputs, _weights, dx, Inputs, rows, Inputs, Outputs, accumulate: false);
    }

    private static void Check(int length, int expected, string name, int rows, int columns)
    {
        if (length != expected) throw new ArgumentException($"{name} has {length} values; expected [{rows}, {columns}] = {expected}.", name);
    }
}
