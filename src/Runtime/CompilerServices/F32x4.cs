using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CellGen.CompilerServices;

/// <summary>4 float lanes (SSE, NEON).</summary>
[EditorBrowsable(EditorBrowsableState.Never)] // called by generated code, not written by users
public readonly struct F32x4 : IFloatLanes<F32x4>
{
    private readonly Vector128<float> _v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private F32x4(Vector128<float> v) => _v = v;
    /// <inheritdoc/>
    public static int Count => 4;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 Load(ReadOnlySpan<float> source, int index)
    {
        if ((ulong)(uint)index + 4 > (ulong)(uint)source.Length) SimdThrow.OutOfRange(index, 4, source.Length);
        return new(Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(source), (nuint)index));
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(F32x4 value, Span<float> destination, int index)
    {
        if ((ulong)(uint)index + 4 > (ulong)(uint)destination.Length) SimdThrow.OutOfRange(index, 4, destination.Length);
        value._v.StoreUnsafe(ref MemoryMarshal.GetReference(destination), (nuint)index);
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddTo(F32x4 value, Span<float> destination, int index) => Store(Load(destination, index) + value, destination, index);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddSumTo(F32x4 value, Span<float> destination, int index) => destination[index] += Vector128.Sum(value._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 Constant(float value) => new(Vector128.Create(value));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 Broadcast(ReadOnlySpan<float> source, int index) => new(Vector128.Create(source[index]));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 operator +(F32x4 a, F32x4 b) => new(a._v + b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 operator -(F32x4 a, F32x4 b) => new(a._v - b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 operator *(F32x4 a, F32x4 b) => new(a._v * b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 operator -(F32x4 a) => new(-a._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 operator /(F32x4 a, F32x4 b) => new(a._v / b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 Number(double value) => new(Vector128.Create((float)value));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 Exp(F32x4 x) => FloatActivations.Exp(x);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 Log(F32x4 x) => new(Vector128.Log(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 Sqrt(F32x4 x) => new(Vector128.Sqrt(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 MultiplyAdd(F32x4 a, F32x4 b, F32x4 c)
    {
        if (FusedMultiplyAdd.IsHardware) return new(Vector128.FusedMultiplyAdd(a._v, b._v, c._v));
        return new(a._v * b._v + c._v);
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyAddTo(ref F32x4 accumulator, F32x4 a, F32x4 b)
    {
        if (FusedMultiplyAdd.IsHardware) Unsafe.AsRef(in accumulator._v) = Vector128.FusedMultiplyAdd(a._v, b._v, accumulator._v);
        else Unsafe.AsRef(in accumulator._v) = a._v * b._v + accumulator._v;
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 Min(F32x4 a, F32x4 b) => new(Vector128.MinNative(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 Max(F32x4 a, F32x4 b) => new(Vector128.MaxNative(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 Round(F32x4 x) => new(Vector128.Round(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 PowerOfTwo(F32x4 n) =>
        new(Vector128.ShiftLeft(Vector128.ConvertToInt32Native(n._v) + Vector128.Create(127), 23).AsSingle());
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 Abs(F32x4 x) => new(Vector128.Abs(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 CopySign(F32x4 magnitude, F32x4 sign) => new(Vector128.CopySign(magnitude._v, sign._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 Reciprocal(F32x4 x) => new(Vector128<float>.One / x._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 KeepNaN(F32x4 x, F32x4 value) => new(Vector128.ConditionalSelect(Vector128.Equals(x._v, x._v), value._v, x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 LoadUnsafe(ref float origin, nint offset) => new(Vector128.LoadUnsafe(ref origin, (nuint)offset));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreUnsafe(F32x4 value, ref float origin, nint offset) => value._v.StoreUnsafe(ref origin, (nuint)offset);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(F32x4 value) => Vector128.Sum(value._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 Sigmoid(F32x4 x) => FloatActivations.Sigmoid(x);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 Tanh(F32x4 x) => FloatActivations.Tanh(x);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 Relu(F32x4 x) => KeepNaN(x, new(Vector128.Max(x._v, Vector128<float>.Zero)));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32x4 Positive(F32x4 condition, F32x4 value) =>
        new(Vector128.ConditionalSelect(Vector128.GreaterThan(condition._v, Vector128<float>.Zero), value._v, Vector128<float>.Zero));
}
