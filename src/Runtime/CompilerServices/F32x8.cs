using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CellGen.CompilerServices;

/// <summary>8 float lanes (AVX2).</summary>
[EditorBrowsable(EditorBrowsableState.Never)] // called by generated code, not written by users
public readonly struct F32x8 : IFloatLanes<F32x8>
{
    private readonly Vector256<float> _v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private F32x8(Vector256<float> v) => _v = v;
    /// <inheritdoc/>
    public static int Count => 8;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 Load(ReadOnlySpan<float> source, int index)
    {
        if ((ulong)(uint)index + 8 > (ulong)(uint)source.Length) SimdThrow.OutOfRange(index, 8, source.Length);
        return new(Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(source), (nuint)index));
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(F32x8 value, Span<float> destination, int index)
    {
        if ((ulong)(uint)index + 8 > (ulong)(uint)destination.Length) SimdThrow.OutOfRange(index, 8, destination.Length);
        value._v.StoreUnsafe(ref MemoryMarshal.GetReference(destination), (nuint)index);
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddTo(F32x8 value, Span<float> destination, int index) => Store(Load(destination, index) + value, destination, index);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddSumTo(F32x8 value, Span<float> destination, int index) => destination[index] += Vector256.Sum(value._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 Constant(float value) => new(Vector256.Create(value));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 Broadcast(ReadOnlySpan<float> source, int index) => new(Vector256.Create(source[index]));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 operator +(F32x8 a, F32x8 b) => new(a._v + b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 operator -(F32x8 a, F32x8 b) => new(a._v - b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 operator *(F32x8 a, F32x8 b) => new(a._v * b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 operator -(F32x8 a) => new(-a._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 operator /(F32x8 a, F32x8 b) => new(a._v / b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 Number(double value) => new(Vector256.Create((float)value));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 Exp(F32x8 x) => FloatActivations.Exp(x);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 Log(F32x8 x) => new(Vector256.Log(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 Sqrt(F32x8 x) => new(Vector256.Sqrt(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 MultiplyAdd(F32x8 a, F32x8 b, F32x8 c)
    {
        if (FusedMultiplyAdd.IsHardware) return new(Vector256.FusedMultiplyAdd(a._v, b._v, c._v));
        return new(a._v * b._v + c._v);
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyAddTo(ref F32x8 accumulator, F32x8 a, F32x8 b)
    {
        if (FusedMultiplyAdd.IsHardware) Unsafe.AsRef(in accumulator._v) = Vector256.FusedMultiplyAdd(a._v, b._v, accumulator._v);
        else Unsafe.AsRef(in accumulator._v) = a._v * b._v + accumulator._v;
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 Min(F32x8 a, F32x8 b) => new(Vector256.MinNative(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 Max(F32x8 a, F32x8 b) => new(Vector256.MaxNative(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 Round(F32x8 x) => new(Vector256.Round(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 PowerOfTwo(F32x8 n) =>
        new(Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n._v) + Vector256.Create(127), 23).AsSingle());
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 Abs(F32x8 x) => new(Vector256.Abs(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 CopySign(F32x8 magnitude, F32x8 sign) => new(Vector256.CopySign(magnitude._v, sign._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 Reciprocal(F32x8 x) => new(Vector256<float>.One / x._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 KeepNaN(F32x8 x, F32x8 value) => new(Vector256.ConditionalSelect(Vector256.Equals(x._v, x._v), value._v, x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 LoadUnsafe(ref float origin, nint offset) => new(Vector256.LoadUnsafe(ref origin, (nuint)offset));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreUnsafe(F32x8 value, ref float origin, nint offset) => value._v.StoreUnsafe(ref origin, (nuint)offset);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(F32x8 value) => Vector256.Sum(value._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 Sigmoid(F32x8 x) => FloatActivations.Sigmoid(x);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 Tanh(F32x8 x) => FloatActivations.Tanh(x);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 Relu(F32x8 x) => KeepNaN(x, new(Vector256.Max(x._v, Vector256<float>.Zero)));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x8 Positive(F32x8 condition, F32x8 value) =>
        new(Vector256.ConditionalSelect(Vector256.GreaterThan(condition._v, Vector256<float>.Zero), value._v, Vector256<float>.Zero));
}
