using System.ComponentModel;
using System.Runtime.CompilerServices;
namespace CellGen.CompilerServices;

/// <summary>
/// The functions of the equation language that are not one lane primitive, each written once over
/// <see cref="ISimd{TSelf, T}"/>, so that every vector width, the scalar path and the double variant compute the same
/// formula. Generated kernels call them; the compiler's table of operations names them. All but the long
/// <see cref="NormalCdf{V, T}"/> are inlined: a call would pass each vector through memory, and the JIT declines
/// these generic methods on its own (the sLSTM's forward sweep spent a tenth of its time in the call to Log1P).
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)] // called by generated code, not written by users
public static class LaneOperators
{
    /// <summary>
    /// softplus(x) = log(1 + exp(x)), as max(x, 0) + log1p(exp(-|x|)): nothing overflows, large x gives x (PyTorch
    /// returns x above 20, where the two agree in float), and very negative x keeps its tiny value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Softplus<V, T>(V x) where V : struct, ISimd<V, T> =>
        V.Max(x, V.Number(0)) + Log1P<V, T>(V.Exp(-V.Abs(x)));

    /// <summary>softsign(x) = x / (1 + |x|), as nn.Softsign.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Softsign<V, T>(V x) where V : struct, ISimd<V, T> => x / (V.Number(1) + V.Abs(x));

    /// <summary>
    /// elu(x) = x for x &gt; 0, else e^x - 1, as nn.ELU (alpha 1): max(0, x) + (e^min(0, x) - 1), nothing overflows. Zero
    /// is the first operand of max and min so that NaN passes through the native instructions, which return the second
    /// operand when one is NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Elu<V, T>(V x) where V : struct, ISimd<V, T> =>
        V.Max(V.Number(0), x) + (V.Exp(V.Min(V.Number(0), x)) - V.Number(1));

    /// <summary>logsigmoid(x) = log(sigmoid(x)) = -softplus(-x), as F.logsigmoid: nothing overflows, very negative x gives x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V LogSigmoid<V, T>(V x) where V : struct, ISimd<V, T> => -Softplus<V, T>(-x);

    /// <summary>silu(x) = x · sigmoid(x), as nn.SiLU.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Silu<V, T>(V x) where V : struct, ISimd<V, T> => x * V.Sigmoid(x);

    /// <summary>hardsigmoid(x) = min(max(x / 6 + 1/2, 0), 1), as nn.Hardsigmoid; the bounds first, so that NaN passes (as in <see cref="Elu{V, T}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V HardSigmoid<V, T>(V x) where V : struct, ISimd<V, T> =>
        V.Min(V.Number(1), V.Max(V.Number(0), x * V.Number(1.0 / 6) + V.Number(0.5)));

    /// <summary>hardtanh(x) = min(max(x, -1), 1), as nn.Hardtanh; the bounds first, so that NaN passes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V HardTanh<V, T>(V x) where V : struct, ISimd<V, T> => V.Min(V.Number(1), V.Max(V.Number(-1), x));

    /// <summary>
    /// Φ(x), the standard normal distribution function, erfc(-x / √2) / 2: erfc of |x| / √2 from <see cref="Erfc"/>'s
    /// series (Clenshaw's recurrence over its coefficients), reflected for x &gt; 0. gelu's derivative reads it.
    /// </summary>
    public static V NormalCdf<V, T>(V x) where V : struct, ISimd<V, T>
    {
        // |x| / √2, at most 40 (erfc(40) is 0 even in double), so that ∞ gives the limits rather than ∞ - ∞ below; NaN stays
        // NaN (the native min returns its second operand when one is NaN).
        V z = V.Min(V.Number(40), V.Abs(x) * V.Number(0.70710678118654752440));
        V t = V.Number(2) / (V.Number(2) + z), u = V.Number(2) * t - V.Number(1);
        V twoU = V.Number(2) * u, d = V.Number(0), dd = V.Number(0);
        double[] c = Erfc.Coefficients;
        for (int j = c.Length - 1; j > 0; j--)
        {
            V next = twoU * d - dd + V.Number(c[j]);
            dd = d;
            d = next;
        }
        // e^(-z²) as e^(-s²) · e^((s - z)(s + z)) with s = z rounded to 1/256: s² is exact (at most 22 bits, z below 8 where
        // float's e^(-z²) has not underflowed; 26 bits in double), so the rounding of z² is not amplified by the exponential
        // (as fdlibm's erfc does). Rounded by adding and subtracting 1.5·2^(p-8), p the precision.
        V shift = V.Number(typeof(T) == typeof(float) ? 1.5 * (1 << 15) : 1.5 * (1L << 44));
        V s = z + shift - shift;
        V half = V.Number(0.5) * t * V.Exp(-(s * s)) * V.Exp((s - z) * (s + z) + u * d - dd + V.Number(c[0])); // erfc(|x| / √2) / 2
        return half + V.Positive(x, V.Number(1) - V.Number(2) * half);
    }

    /// <summary>gelu(x) = x · Φ(x), as nn.GELU (the exact form, with erf; the built-in Gelu layer is the tanh form).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Gelu<V, T>(V x) where V : struct, ISimd<V, T> => x * NormalCdf<V, T>(x);

    /// <summary>
    /// log(1 + e) for 0 ≤ e ≤ 1 (softplus passes e^-|x|). In float, 2·atanh(s) with s = e / (2 + e) ≤ 1/3, as its odd
    /// series to s^13 (the first term left out is below 2e-8 of the sum; at most 2 ulp off over [0, 1]): one division
    /// and six multiply-adds, where the library's logarithm is a call and a longer polynomial (a tenth of the sLSTM's
    /// forward pass went to it). t = 2s is formed as 2e / (2 + e) so that subnormal e keeps its bits. In double (the
    /// checking variant), log(u) · e / (u - 1) with u = 1 + e (Goldberg), and e itself where u rounds to 1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static V Log1P<V, T>(V e) where V : struct, ISimd<V, T>
    {
        if (typeof(T) == typeof(float))
        {
            V t = (e + e) / (V.Number(2) + e), z = t * t * V.Number(0.25);
            V p = V.Number(1.0 / 13) * z + V.Number(1.0 / 11);
            p = p * z + V.Number(1.0 / 9);
            p = p * z + V.Number(1.0 / 7);
            p = p * z + V.Number(1.0 / 5);
            p = p * z + V.Number(1.0 / 3);
            return t * (p * z + V.Number(1));
        }
        V u = V.Number(1) + e;
        V d = u - V.Number(1);
        return V.Positive(d, V.Log(u) * e / d) + e - V.Positive(d, e);
    }
}
