using System;
using System.Collections.Generic;

namespace CellGen;

/// <summary>A parameter buffer and its gradient, as optimisers and clipping see them: flat, elementwise.</summary>
public readonly record struct ParameterBuffer(float[] Values, float[] Gradients)
{
    /// <summary>The values the optimiser updates.</summary>
    public float[] Values { get; } = Values ?? throw new ArgumentNullException(nameof(Values));

    /// <summary>Their gradients, of the same length.</summary>
    public float[] Gradients { get; } = Gradients ?? throw new ArgumentNullException(nameof(Gradients));
}

/// <summary>Anything that owns trainable parameters: cells, layers.</summary>
public interface IHasParameters
{
    /// <summary>The packed parameter buffers with their gradients.</summary>
    IEnumerable<ParameterBuffer> ParameterBuffers { get; }
}
