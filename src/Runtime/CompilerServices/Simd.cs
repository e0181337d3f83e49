using System;
using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CellGen.CompilerServices;

/// <summary>
/// A pack of lanes of <typeparamref name="T"/> that generated elementwise kernels compute with: one body, written once,
/// runs as Vector512, Vector256, Vector128 or scalar code.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)] // called by generated code, not written by users
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

    /// <summary>Adds the sum of the lanes to the one value at <paramref name="index"/> (a gradient of one value per row).</summary>
    static abstract void AddSumTo(TSelf value, Span<T> destination, int index);

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

    /// <summary>
    /// <paramref name="value"/> where <paramref name="condition"/> &gt; 0, else 0: the one selection that derivatives of
    /// the language need (relu's mask, abs's sign, min's and max's choice).
    /// </summary>
    static abstract TSelf Positive(TSelf condition, TSelf value);

    /// <summary>Lanewise quotient.</summary>
    static abstract TSelf operator /(TSelf left, TSelf right);

    /// <summary>Every lane set to <paramref name="value"/>, rounded to the lanes' type (constants of operators written once for every type).</summary>
    static abstract TSelf Number(double value);

    /// <summary>e^x, lanewise.</summary>
    static abstract TSelf Exp(TSelf x);

    /// <summary>The natural logarithm, lanewise.</summary>
    static abstract TSelf Log(TSelf x);

    /// <summary>The square root, lanewise.</summary>
    static abstract TSelf Sqrt(TSelf x);

    /// <summary>|x|, lanewise.</summary>
    static abstract TSelf Abs(TSelf x);

    /// <summary>Lanewise minimum; for float lanes as the machine's instruction computes it (where a lane is NaN the result may be either operand).</summary>
    static abstract TSelf Min(TSelf a, TSelf b);

    /// <summary>Lanewise maximum; for float lanes as the machine's instruction computes it (where a lane is NaN the result may be either operand).</summary>
    static abstract TSelf Max(TSelf a, TSelf b);
}

/// <summary>Thrown through one place so that loads and stores stay small enough to inline.</summary>
internal static class SimdThrow
{
    [DoesNotReturn]
    public static void OutOfRange(int index, int count, int length) =>
        throw new ArgumentOutOfRangeException(nameof(index), $"Lanes [{index}, {index + count}) are outside a buffer of length {length}.");
}
