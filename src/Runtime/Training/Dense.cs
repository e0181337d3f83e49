using System;
using System.Collections.Generic;

namespace CellGen;

/// <summary>A dense (linear) layer y = W x + b over rows, W of shape [outputs, inputs] by the name "W", b "b".</summary>
public sealed class Dense : IHasParameters
{
    private readonly float[] _weights, _weightsGradient, _bias, _biasGradient;

    /// <summary>Creates the layer with zero parameters (see <see cref="Initializers"/>).</summary>
    public Dense(int inputs, int outputs)
    {
        if (inputs <= 0) throw new ArgumentOutOfRangeException(nameof(inputs), inputs, "A dense layer needs at least one input.");
        if (outputs <= 0) throw new ArgumentOutOfRangeException(nameof(outputs), outputs, "A dense layer needs at least one output.");
        Inputs = inputs;
        Outputs = outputs;
        // Packed [inputs, outputs], as the matrix products of the cells.
        _weights = new float[inputs * outputs];
        _weightsGradient = new float[inputs * outputs];
        _bias = new float[outputs];
        _biasGradient = new float[outputs];
        Weights = new Parameter<float>("W", new[] { outputs, inputs },
            new[] { new ParameterBlock<float>(_weights, _weightsGradient, 0, inputs, outputs, 0, "input", true) });
        Bias = new Parameter<float>("b", new[] { outputs }, new[] { new ParameterBlock<float>(_bias, _biasGradient, 0, 1, 0, 0) });
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
    public IEnumerable<ParameterBuffer> ParameterBuffers => new[] { new ParameterBuffer(_weights, _weightsGradient), new ParameterBuffer(_bias, _biasGradient) };

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
