using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CellGen;

/// <summary>
/// A pack of lanes of <typeparamref name="T"/> that generated elementwise kernels compute with: one body, written once,
/// runs as Vector512, Vector256, Vector128 or scalar code.
/// </summary>
public interface ISimd<TSelf, T> where TSelf : struct, ISimd<TSelf, T>
{
    /// <summary>The number of lanes.</summary>
    static abstract int Count { get; }

    /// <summary>Loads <see cref="Count"/> values starting at <paramref name="index"/>.</summary>
    static abstract TSelf Load(ReadOnlySpan<T> source, int index);

    /// <summary>Stores the lanes at <paramref name="index"/>.</summary>
    static abstract void Store(TSelf value, Span<T> destination, int index);

    /// <summary>Adds the lanes to the values at <paramref name="index"/>.</summary>
    static abstract void AddTo(TSelf value, Span<T> destination, int index);

    /// <summary>Every lane set to <paramref name="value"/>.</summary>
    static abstract TSelf Constant(T value);

    /// <summary>Every lane set to the value at <paramref name="index"/> (a parameter read per row).</summary>
    static abstract TSelf Broadcast(ReadOnlySpan<T> source, int index);

    /// <summary>Lanewise sum.</summary>
    static abstract TSelf operator +(TSelf left, TSelf right);

    /// <summary>Lanewise difference.</summary>
    static abstract TSelf operator -(TSelf left, TSelf right);

    /// <summary>Lanewise product.</summary>
    static abstract TSelf operator *(TSelf left, TSelf right);

    /// <summary>Lanewise negation.</summary>
    static abstract TSelf operator -(TSelf value);

    /// <summary>1 / (1 + exp(-x)), lanewise.</summary>
    static abstract TSelf Sigmoid(TSelf x);

    /// <summary>tanh(x), lanewise.</summary>
    static abstract TSelf Tanh(TSelf x);

    /// <summary>max(x, 0), lanewise; NaN stays NaN.</summary>
    static abstract TSelf Relu(TSelf x);

    /// <summary>The derivative of relu applied to a gradient: <paramref name="gradient"/> where <paramref name="output"/> &gt; 0, else 0.</summary>
    static abstract TSelf ReluMask(TSelf output, TSelf gradient);
}

/// <summary>Thrown through one place so that loads and stores stay small enough to inline.</summary>
internal static class SimdThrow
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void OutOfRange(int index, int count, int length) =>
        throw new ArgumentOutOfRangeException(nameof(index), $"Lanes [{index}, {index + count}) are outside a buffer of length {length}.");
}
