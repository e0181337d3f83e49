using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CellGen.CompilerServices;

/// <summary>16 float lanes (AVX-512).</summary>
[EditorBrowsable(EditorBrowsableState.Never)] // called by generated code, not written by users
public readonly struct F32x16 : IFloatLanes<F32x16>
{
    private readonly Vector512<float> _v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private F32x16(Vector512<float> v) => _v = v;
    /// <inheritdoc/>
    public static int Count => 16;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 Load(ReadOnlySpan<float> source, int index)
    {
        if ((ulong)(uint)index + 16 > (ulong)(uint)source.Length) SimdThrow.OutOfRange(index, 16, source.Length);
        return new(Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(source), (nuint)index));
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(F32x16 value, Span<float> destination, int index)
    {
        if ((ulong)(uint)index + 16 > (ulong)(uint)destination.Length) SimdThrow.OutOfRange(index, 16, destination.Length);
        value._v.StoreUnsafe(ref MemoryMarshal.GetReference(destination), (nuint)index);
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddTo(F32x16 value, Span<float> destination, int index) => Store(Load(destination, index) + value, destination, index);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddSumTo(F32x16 value, Span<float> destination, int index) => destination[index] += Vector512.Sum(value._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 Constant(float value) => new(Vector512.Create(value));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 Broadcast(ReadOnlySpan<float> source, int index) => new(Vector512.Create(source[index]));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 operator +(F32x16 a, F32x16 b) => new(a._v + b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 operator -(F32x16 a, F32x16 b) => new(a._v - b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 operator *(F32x16 a, F32x16 b) => new(a._v * b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 operator -(F32x16 a) => new(-a._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 operator /(F32x16 a, F32x16 b) => new(a._v / b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 Number(double value) => new(Vector512.Create((float)value));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 Exp(F32x16 x) => FloatActivations.Exp(x);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 Log(F32x16 x) => new(Vector512.Log(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 Sqrt(F32x16 x) => new(Vector512.Sqrt(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 MultiplyAdd(F32x16 a, F32x16 b, F32x16 c) => new(Vector512.FusedMultiplyAdd(a._v, b._v, c._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyAddTo(ref F32x16 accumulator, F32x16 a, F32x16 b) =>
        Unsafe.AsRef(in accumulator._v) = Vector512.FusedMultiplyAdd(a._v, b._v, accumulator._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 Min(F32x16 a, F32x16 b) => new(Vector512.MinNative(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 Max(F32x16 a, F32x16 b) => new(Vector512.MaxNative(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 Round(F32x16 x) => new(Vector512.Round(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 PowerOfTwo(F32x16 n) =>
        new(Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n._v) + Vector512.Create(127), 23).AsSingle());
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 Abs(F32x16 x) => new(Vector512.Abs(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 CopySign(F32x16 magnitude, F32x16 sign) => new(Vector512.CopySign(magnitude._v, sign._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 Reciprocal(F32x16 x) => new(Vector512<float>.One / x._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 KeepNaN(F32x16 x, F32x16 value) => new(Vector512.ConditionalSelect(Vector512.Equals(x._v, x._v), value._v, x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 LoadUnsafe(ref float origin, nint offset) => new(Vector512.LoadUnsafe(ref origin, (nuint)offset));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreUnsafe(F32x16 value, ref float origin, nint offset) => value._v.StoreUnsafe(ref origin, (nuint)offset);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(F32x16 value) => Vector512.Sum(value._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 Sigmoid(F32x16 x) => FloatActivations.Sigmoid(x);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 Tanh(F32x16 x) => FloatActivations.Tanh(x);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 Relu(F32x16 x) => KeepNaN(x, new(Vector512.Max(x._v, Vector512<float>.Zero)));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x16 Positive(F32x16 condition, F32x16 value) =>
        new(Vector512.ConditionalSelect(Vector512.GreaterThan(condition._v, Vector512<float>.Zero), value._v, Vector512<float>.Zero));
}
