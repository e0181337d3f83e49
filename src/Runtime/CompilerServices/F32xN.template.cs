// The lane types written once: the build (src/LaneGenerator) writes F32x4, F32x8 and F32x16 from this template, each
// with its own names in place of the placeholder words (listed in LaneGenerator). Not compiled itself.
using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CellGen.CompilerServices;

/// <summary>WIDTH float lanes (ISA).</summary>
[EditorBrowsable(EditorBrowsableState.Never)] // called by generated code, not written by users
public readonly struct F32xN : IFloatLanes<F32xN>
{
    private readonly VectorN<float> _v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private F32xN(VectorN<float> v) => _v = v;
    /// <inheritdoc/>
    public static int Count => WIDTH;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN Load(ReadOnlySpan<float> source, int index)
    {
        if ((ulong)(uint)index + WIDTH > (ulong)(uint)source.Length) SimdThrow.OutOfRange(index, WIDTH, source.Length);
        return new(VectorN.LoadUnsafe(ref MemoryMarshal.GetReference(source), (nuint)index));
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(F32xN value, Span<float> destination, int index)
    {
        if ((ulong)(uint)index + WIDTH > (ulong)(uint)destination.Length) SimdThrow.OutOfRange(index, WIDTH, destination.Length);
        value._v.StoreUnsafe(ref MemoryMarshal.GetReference(destination), (nuint)index);
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddTo(F32xN value, Span<float> destination, int index) => Store(Load(destination, index) + value, destination, index);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddSumTo(F32xN value, Span<float> destination, int index) => destination[index] += VectorN.Sum(value._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN Constant(float value) => new(VectorN.Create(value));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN Broadcast(ReadOnlySpan<float> source, int index) => new(VectorN.Create(source[index]));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN operator +(F32xN a, F32xN b) => new(a._v + b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN operator -(F32xN a, F32xN b) => new(a._v - b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN operator *(F32xN a, F32xN b) => new(a._v * b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN operator -(F32xN a) => new(-a._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN operator /(F32xN a, F32xN b) => new(a._v / b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN Number(double value) => new(VectorN.Create((float)value));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN Exp(F32xN x) => FloatActivations.Exp(x);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN Log(F32xN x) => new(VectorN.Log(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN Sqrt(F32xN x) => new(VectorN.Sqrt(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN MultiplyAdd(F32xN a, F32xN b, F32xN c)
    {
        if (FusedMultiplyAdd.IsHardware) return new(VectorN.FusedMultiplyAdd(a._v, b._v, c._v));
        return new(a._v * b._v + c._v);
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyAddTo(ref F32xN accumulator, F32xN a, F32xN b)
    {
        if (FusedMultiplyAdd.IsHardware) Unsafe.AsRef(in accumulator._v) = VectorN.FusedMultiplyAdd(a._v, b._v, accumulator._v);
        else Unsafe.AsRef(in accumulator._v) = a._v * b._v + accumulator._v;
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN Min(F32xN a, F32xN b) => new(VectorN.MinNative(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN Max(F32xN a, F32xN b) => new(VectorN.MaxNative(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN Round(F32xN x) => new(VectorN.Round(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN PowerOfTwo(F32xN n) =>
        new(VectorN.ShiftLeft(VectorN.ConvertToInt32Native(n._v) + VectorN.Create(127), 23).AsSingle());
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN Abs(F32xN x) => new(VectorN.Abs(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN Reciprocal(F32xN x) => new(VectorN<float>.One / x._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN KeepNaN(F32xN x, F32xN value) => new(VectorN.ConditionalSelect(VectorN.Equals(x._v, x._v), value._v, x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN LoadUnsafe(ref float origin, nint offset) => new(VectorN.LoadUnsafe(ref origin, (nuint)offset));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreUnsafe(F32xN value, ref float origin, nint offset) => value._v.StoreUnsafe(ref origin, (nuint)offset);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(F32xN value) => VectorN.Sum(value._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN Sigmoid(F32xN x) => FloatActivations.Sigmoid(x);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN Tanh(F32xN x) => FloatActivations.Tanh(x);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN Relu(F32xN x) => KeepNaN(x, new(VectorN.Max(x._v, VectorN<float>.Zero)));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xN Positive(F32xN condition, F32xN value) =>
        new(VectorN.ConditionalSelect(VectorN.GreaterThan(condition._v, VectorN<float>.Zero), value._v, VectorN<float>.Zero));
}
