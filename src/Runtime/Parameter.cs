using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Numerics;
using CellGen.CompilerServices;

namespace CellGen;

/// <summary>
/// A parameter of a cell by the name it has in the equations, in its logical row-major shape ([H, K] for a matrix,
/// [blocks, H / blocks, K / blocks] for a block-diagonal one, [n] for a vector), however it is packed inside the cell.
/// </summary>
public sealed class Parameter<T> where T : unmanaged, INumberBase<T>
{
    private readonly ParameterBlock<T>[] _blocks;

    /// <summary>Creates a view of a parameter over its packed blocks.</summary>
    public Parameter(string name, int[] shape, ParameterBlock<T>[] blocks)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(blocks);
        Name = name;
        Shape = shape;
        _blocks = blocks;
        Length = 1;
        foreach (int extent in shape) Length *= extent;
    }

    /// <summary>The name in the equations.</summary>
    public string Name { get; }

    /// <summary>[rows, columns] for a matrix, [blocks, rows per block, columns per block] for a block-diagonal one, [length] for a vector.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>The number of values.</summary>
    public int Length { get; }

    /// <summary>The column blocks of the parameter and where they are packed.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public IReadOnlyList<ParameterBlock<T>> Blocks => _blocks;

    // A block-diagonal matrix [blocks, rows / blocks, columns / blocks] is its blocks' rows one after another: rows of
    // the last extent's length, as a matrix's.
    private int Rows => Shape.Count == 1 ? Shape[0] : Columns == 0 ? 0 : Length / Columns;

    private int Columns => Shape.Count > 1 ? Shape[^1] : 1;

    /// <summary>Copies the values, row-major, into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<T> destination) => Gather(destination, gradients: false);

    /// <summary>Copies the accumulated gradient, row-major, into <paramref name="destination"/>.</summary>
    public void CopyGradientTo(Span<T> destination) => Gather(destination, gradients: true);

    /// <summary>Sets the values from <paramref name="source"/>, row-major.</summary>
    public void CopyFrom(ReadOnlySpan<T> source)
    {
        CheckLength(source.Length, nameof(source));
        foreach (ParameterBlock<T> block in _blocks)
            for (int j = 0; j < Rows; j++)
                for (int c = 0; c < block.Columns; c++)
                    block.Values[c * block.Stride + block.Offset + j * block.RowStride] = source[j * Columns + block.Column + c];
    }

    /// <summary>The values as a new row-major array.</summary>
    public T[] ToArray()
    {
        var values = new T[Length];
        CopyTo(values);
        return values;
    }

    /// <summary>The gradient as a new row-major array.</summary>
    public T[] GradientToArray()
    {
        var values = new T[Length];
        CopyGradientTo(values);
        return values;
    }

    private void Gather(Span<T> destination, bool gradients)
    {
        CheckLength(destination.Length, nameof(destination));
        foreach (ParameterBlock<T> block in _blocks)
        {
            T[] source = gradients ? block.Gradients : block.Values;
            for (int j = 0; j < Rows; j++)
                for (int c = 0; c < block.Columns; c++)
                    destination[j * Columns + block.Column + c] = source[c * block.Stride + block.Offset + j * block.RowStride];
        }
    }

    private void CheckLength(int length, string argument)
    {
        if (length != Length)
            throw new ArgumentException(
                $"Parameter '{Name}' has shape [{string.Join(", ", Shape)}] ({Length} values) but the span has {length}.", argument);
    }
}
