using System;
using System.ComponentModel;

namespace CellGen.CompilerServices;

/// <summary>
/// Where a block of a parameter lives inside a packed buffer: logical columns
/// [<see cref="Column"/>, <see cref="Column"/> + <see cref="Columns"/>) of every row j are stored at
/// <c>Values[c * Stride + Offset + j * RowStride]</c>, column c counted from the start of the block (the products of
/// the cells store columns contiguously, RowStride 1; a row-major table has Stride 1 and RowStride its width). <see cref="Multiplies"/>
/// says what those columns multiply in the equations (e.g. "h[t-1]", "x[t]"); <see cref="MultipliesInput"/> is
/// true when that is of the input size X, so initialisers can tell input weights from recurrent ones.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)] // built by generated constructors, read by initialisers
public readonly record struct ParameterBlock<T>(T[] Values, T[] Gradients, int Column, int Columns, int Stride, int Offset,
    string Multiplies = "", bool MultipliesInput = false, int RowStride = 1)
{
    /// <summary>The packed buffer holding the block's values.</summary>
    public T[] Values { get; } = Values ?? throw new ArgumentNullException(nameof(Values));

    /// <summary>The buffer of their gradients, packed the same way.</summary>
    public T[] Gradients { get; } = Gradients ?? throw new ArgumentNullException(nameof(Gradients));

    /// <summary>What the block's columns multiply in the equations, e.g. "h[t-1]".</summary>
    public string Multiplies { get; } = Multiplies ?? throw new ArgumentNullException(nameof(Multiplies));
}
