using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CellGen.CompilerServices;

/// <summary>The extra lanewise primitives that the float activations are built from.</summary>
[EditorBrowsable(EditorBrowsableState.Never)] // called by generated code, not written by users
public interface IFloatLanes<TSelf> : ISimd<TSelf, float> where TSelf : struct, IFloatLanes<TSelf>
{
    /// <summary>a * b + c.</summary>
    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf c);

    /// <summary>
    /// accumulator = a * b + accumulator, written into the accumulator's own lanes. The products' kernels use it:
    /// <c>c = MultiplyAdd(a, b, c)</c> builds a new struct, and the JIT then computes the sum into a dying operand's
    /// register and copies it back (one more instruction per FMA, for each row's last FMA on a broadcast); stored in
    /// place, the FMA takes the accumulator as its destination. The implementations choose between the FMA and a
    /// multiply then an add with statements, not a conditional expression, for the same reason: the JIT keeps a
    /// conditional's value in a temporary. MultiplyAdd is not written through this one: the copy in and out cost the
    /// Lstm forward sweep four register copies on AVX2.
    /// </summary>
    static abstract void MultiplyAddTo(ref TSelf accumulator, TSelf a, TSelf b);

    /// <summary>Rounds to the nearest integer.</summary>
    static abstract TSelf Round(TSelf x);

    /// <summary>2^n for integral n in [-126, 127] (other n, NaN among them, give unspecified lanes).</summary>
    static abstract TSelf PowerOfTwo(TSelf n);

    /// <summary>1 / x.</summary>
    static abstract TSelf Reciprocal(TSelf x);

    /// <summary><paramref name="x"/> where it is NaN, else <paramref name="value"/>.</summary>
    static abstract TSelf KeepNaN(TSelf x, TSelf value);

    /// <summary>Loads without a bounds check, for kernels that check their sizes once.</summary>
    static abstract TSelf LoadUnsafe(ref float origin, nint offset);

    /// <summary>Stores without a bounds check.</summary>
    static abstract void StoreUnsafe(TSelf value, ref float origin, nint offset);

    /// <summary>The sum of the lanes.</summary>
    static abstract float Sum(TSelf value);
}

/// <summary>Whether the processor fuses a multiply and an add in hardware.</summary>
internal static class FusedMultiplyAdd
{
    /// <summary>
    /// A constant to the JIT. Without the instruction, .NET computes a fused multiply-add in software, lane by lane:
    /// the Vector128 path on a machine without AVX (and FMA) ran an Lstm 100x slower than Vector256, and 2x slower
    /// than scalar code. There the lanes multiply, then add: one rounding more, within the activations' error bound.
    /// </summary>
    public static bool IsHardware => System.Runtime.Intrinsics.X86.Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported;
}

/// <summary>
/// Float activations written once over <see cref="IFloatLanes{TSelf}"/>, so every vector width and the scalar path
/// compute the same functions. Exp: range reduction by ln 2 and a degree-6 polynomial (relative error about 2e-7);
/// sigmoid through it; tanh a rational function of degree 9 over 8. Inputs are clamped so that nothing overflows, and
/// NaN propagates.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)] // called by generated code, not written by users
public static class FloatActivations
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693359375f;
    private const float Ln2Low = -2.12194440e-4f;

    /// <summary>exp(x) for x in [-87.3, 88.7]; inputs outside are clamped, and NaN propagates.</summary>
    /// <remarks>
    /// From x = 88.38 the exponent n is 128, one past float's largest power of two, though e^x (up to 3.3e38) is
    /// finite: 2^n is built as 2^(n - s) · (1 + s), s = 1 for positive n, four operations that sigmoid, which reads
    /// exp only where a sum of 1 and ∞ gives the same answer, does without.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Exp<V>(V x) where V : struct, IFloatLanes<V>
    {
        V p = Reduced(x, out V n);
        V s = V.Min(V.Max(n, V.Constant(0f)), V.Constant(1f));
        return V.KeepNaN(x, p * (V.Constant(1f) + s) * V.PowerOfTwo(n - s));
    }

    /// <summary>exp(x) for a number x, +∞ from x = 88.38 (a NaN lane gives an unspecified value: the callers keep NaN themselves).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static V ExpOfNumber<V>(V x) where V : struct, IFloatLanes<V> => Reduced(x, out V n) * V.PowerOfTwo(n);

    /// <summary>
    /// e^r for x = n ln 2 + r, |r| ≤ ln 2 / 2, and n, after x is clamped to [-87.3, 88.7] (n in [-126, 128]). The clamp
    /// and the conversion to an integer are the machine's own instructions: with NaN handled in .NET's Min, Max and
    /// ConvertToInt32, each activation took about 20 instructions more, most of them in its dependency chain.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static V Reduced<V>(V x, out V n) where V : struct, IFloatLanes<V>
    {
        x = Clamp(x, -87.3f, 88.7f);
        n = V.Round(x * V.Constant(Log2E));
        V r = V.MultiplyAdd(n, V.Constant(-Ln2High), x);
        r = V.MultiplyAdd(n, V.Constant(-Ln2Low), r);
        V p = V.Constant(1f / 720f);
        p = V.MultiplyAdd(p, r, V.Constant(1f / 120f));
        p = V.MultiplyAdd(p, r, V.Constant(1f / 24f));
        p = V.MultiplyAdd(p, r, V.Constant(1f / 6f));
        p = V.MultiplyAdd(p, r, V.Constant(0.5f));
        p = V.MultiplyAdd(p, r, V.Constant(1f));
        return V.MultiplyAdd(p, r, V.Constant(1f));
    }

    /// <summary>
    /// 1 / (1 + exp(-x)), through Exp: relative to it in the negative tail (sigmoid(-30) is 9.4e-14, as log(sigmoid(x))
    /// needs), where (1 + tanh(x / 2)) / 2, cheaper, would round to multiples of 3e-8 and to 0 from -18.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Sigmoid<V>(V x) where V : struct, IFloatLanes<V> =>
        V.KeepNaN(x, V.Reciprocal(V.Constant(1f) + ExpOfNumber(-x)));

    /// <summary>tanh(x): in [-1, 1], within 4e-7 of it, x itself for tiny x, ±1 from |x| = 9 on; NaN propagates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Tanh<V>(V x) where V : struct, IFloatLanes<V> => V.KeepNaN(x, TanhOfNumber(x));

    /// <summary>
    /// tanh(x) for a number x (NaN gives an unspecified value) as x P(x²) / Q(x²), the rational function of
    /// Tanh.fit.py (beside this file), on x clamped to [-9, 9], where tanh rounds to ±1 in float; the quotient, which
    /// may overshoot 1 by its error, is clamped to [-1, 1]. Fifteen operations, one division, against 24 as
    /// sign(x) (1 - 2 / (exp(2|x|) + 1)) through Exp: the Lstm's forward sweep alone (`sweep`, one core) 34.4 -> 26.0 ns
    /// per 16 cells on AVX-512, 58.2 -> 42.5 on AVX2. Not for sigmoid, which needs its negative tail (above).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static V TanhOfNumber<V>(V x) where V : struct, IFloatLanes<V>
    {
        x = Clamp(x, -9f, 9f);
        V z = x * x;
        V p = V.MultiplyAdd(z, V.Constant(1.3867547998813734e-08f), V.Constant(2.092539034492802e-05f));
        p = V.MultiplyAdd(z, p, V.Constant(0.0035131112672388554f));
        p = V.MultiplyAdd(z, p, V.Constant(0.1339535415172577f));
        p = V.MultiplyAdd(z, p, V.Constant(1f));
        V q = V.MultiplyAdd(z, V.Constant(7.969304647303943e-07f), V.Constant(0.00033153820550069213f));
        q = V.MultiplyAdd(z, q, V.Constant(0.02594226412475109f));
        q = V.MultiplyAdd(z, q, V.Constant(0.46728670597076416f));
        q = V.MultiplyAdd(z, q, V.Constant(1f));
        return Clamp(x * p / q, -1f, 1f);
    }

    /// <summary>x within [low, high], by the machine's own min and max (a NaN lane gives one of the bounds).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static V Clamp<V>(V x, float low, float high) where V : struct, IFloatLanes<V> =>
        V.Min(V.Max(x, V.Constant(low)), V.Constant(high));
}
