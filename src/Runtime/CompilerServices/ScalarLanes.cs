using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace CellGen.CompilerServices;

/// <summary>One float lane: the scalar path, for tails and for machines without SIMD.</summary>
[EditorBrowsable(EditorBrowsableState.Never)] // called by generated code, not written by users
public readonly struct F32x1 : IFloatLanes<F32x1>
{
    private readonly float _v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private F32x1(float v) => _v = v;
    /// <inheritdoc/>
    public static int Count => 1;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 Load(ReadOnlySpan<float> source, int index) => new(source[index]);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(F32x1 value, Span<float> destination, int index) => destination[index] = value._v;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddTo(F32x1 value, Span<float> destination, int index) => destination[index] += value._v;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddSumTo(F32x1 value, Span<float> destination, int index) => destination[index] += value._v;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 Constant(float value) => new(value);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 Broadcast(ReadOnlySpan<float> source, int index) => new(source[index]);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 operator +(F32x1 a, F32x1 b) => new(a._v + b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 operator -(F32x1 a, F32x1 b) => new(a._v - b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 operator *(F32x1 a, F32x1 b) => new(a._v * b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 operator -(F32x1 a) => new(-a._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 operator /(F32x1 a, F32x1 b) => new(a._v / b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 Number(double value) => new((float)value);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 Exp(F32x1 x) => FloatActivations.Exp(x);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 Log(F32x1 x) => new(MathF.Log(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 Sqrt(F32x1 x) => new(MathF.Sqrt(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 MultiplyAdd(F32x1 a, F32x1 b, F32x1 c)
    {
        if (FusedMultiplyAdd.IsHardware) return new(MathF.FusedMultiplyAdd(a._v, b._v, c._v));
        return new(a._v * b._v + c._v);
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyAddTo(ref F32x1 accumulator, F32x1 a, F32x1 b)
    {
        if (FusedMultiplyAdd.IsHardware) Unsafe.AsRef(in accumulator._v) = MathF.FusedMultiplyAdd(a._v, b._v, accumulator._v);
        else Unsafe.AsRef(in accumulator._v) = a._v * b._v + accumulator._v;
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 Min(F32x1 a, F32x1 b) => new(a._v < b._v ? a._v : b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 Max(F32x1 a, F32x1 b) => new(a._v > b._v ? a._v : b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 Round(F32x1 x) => new(MathF.Round(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 PowerOfTwo(F32x1 n) => new(BitConverter.Int32BitsToSingle(((int)n._v + 127) << 23));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 Abs(F32x1 x) => new(MathF.Abs(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 Reciprocal(F32x1 x) => new(1f / x._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 KeepNaN(F32x1 x, F32x1 value) => float.IsNaN(x._v) ? x : value;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 LoadUnsafe(ref float origin, nint offset) => new(Unsafe.Add(ref origin, offset));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreUnsafe(F32x1 value, ref float origin, nint offset) => Unsafe.Add(ref origin, offset) = value._v;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(F32x1 value) => value._v;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 Sigmoid(F32x1 x) => FloatActivations.Sigmoid(x);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 Tanh(F32x1 x) => FloatActivations.Tanh(x);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 Relu(F32x1 x) => KeepNaN(x, new(x._v > 0 ? x._v : 0));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x1 Positive(F32x1 condition, F32x1 value) => new(condition._v > 0 ? value._v : 0);
}

/// <summary>One double lane: the double-precision variant of a cell, used to verify gradients by finite differences.</summary>
[EditorBrowsable(EditorBrowsableState.Never)] // called by generated code, not written by users
public readonly struct F64x1 : ISimd<F64x1, double>
{
    private readonly double _v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private F64x1(double v) => _v = v;
    /// <inheritdoc/>
    public static int Count => 1;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 Load(ReadOnlySpan<double> source, int index) => new(source[index]);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(F64x1 value, Span<double> destination, int index) => destination[index] = value._v;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddTo(F64x1 value, Span<double> destination, int index) => destination[index] += value._v;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddSumTo(F64x1 value, Span<double> destination, int index) => destination[index] += value._v;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 Constant(double value) => new(value);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 Broadcast(ReadOnlySpan<double> source, int index) => new(source[index]);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 operator +(F64x1 a, F64x1 b) => new(a._v + b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 operator -(F64x1 a, F64x1 b) => new(a._v - b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 operator *(F64x1 a, F64x1 b) => new(a._v * b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 operator -(F64x1 a) => new(-a._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 operator /(F64x1 a, F64x1 b) => new(a._v / b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 Number(double value) => new(value);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 Exp(F64x1 x) => new(Math.Exp(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 Log(F64x1 x) => new(Math.Log(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 Sqrt(F64x1 x) => new(Math.Sqrt(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 Abs(F64x1 x) => new(Math.Abs(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 Min(F64x1 a, F64x1 b) => new(Math.Min(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 Max(F64x1 a, F64x1 b) => new(Math.Max(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 Sigmoid(F64x1 x) => new(1 / (1 + Math.Exp(-x._v)));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 Tanh(F64x1 x) => new(Math.Tanh(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 Relu(F64x1 x) => double.IsNaN(x._v) ? x : new(x._v > 0 ? x._v : 0);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F64x1 Positive(F64x1 condition, F64x1 value) => new(condition._v > 0 ? value._v : 0);
}
