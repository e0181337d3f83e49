using System.Runtime.Intrinsics;
using System;
using CellGen.CompilerServices;
using Xunit.Abstractions;
using Xunit;

namespace CellGen.Tests.Kernels;

/// <summary>The float activations on every lane width, against double precision.</summary>
[Trait("Category", "Kernels")]
public sealed class ActivationTests
{
    private readonly ITestOutputHelper _output;

    public ActivationTests(ITestOutputHelper output) => _output = output;

    /// <summary>Runs sigmoid and tanh over values through the dispatcher (the widest accelerated path and its tails).</summary>
    private ref struct Activate : IElementwiseKernel<float>
    {
        public ReadOnlySpan<float> Input;
        public Span<float> Sigmoid, Tanh, Relu;

        public void Apply<V>(int row, int j) where V : struct, ISimd<V, float>
        {
            V x = V.Load(Input, j);
            V.Store(V.Sigmoid(x), Sigmoid, j);
            V.Store(V.Tanh(x), Tanh, j);
            V.Store(V.Relu(x), Relu, j);
        }
    }

    private static float[] Samples()
    {
        var values = new System.Collections.Generic.List<float>();
        for (float x = -40; x <= 40; x += 1f / 1024) values.Add(x);
        var random = new Random(1);
        for (int i = 0; i < 200_000; i++) values.Add((float)((random.NextDouble() * 2 - 1) * Math.Pow(10, random.Next(-8, 3))));
        values.AddRange(new[] { 0f, -0f, 1e-30f, -1e-30f, 88f, -88f, 89f, -89f, 100f, -100f, 1e10f, -1e10f, float.MaxValue, float.MinValue,
            float.PositiveInfinity, float.NegativeInfinity, float.Epsilon });
        return values.ToArray();
    }

    [Fact]
    public void DispatchedActivationsStayWithinOneMillionthOfDoublePrecision()
    {
        float[] x = Samples();
        var sigmoid = new float[x.Length];
        var tanh = new float[x.Length];
        var relu = new float[x.Length];
        var kernel = new Activate { Input = x, Sigmoid = sigmoid, Tanh = tanh, Relu = relu };
        Elementwise.ForEach(ref kernel, 1, x.Length);
        double worstSigmoid = 0, worstTanh = 0;
        for (int i = 0; i < x.Length; i++)
        {
            worstSigmoid = Math.Max(worstSigmoid, Math.Abs(sigmoid[i] - 1 / (1 + Math.Exp(-(double)x[i]))));
            worstTanh = Math.Max(worstTanh, Math.Abs(tanh[i] - Math.Tanh(x[i])));
            Assert.Equal(Math.Max(x[i], 0), relu[i]);
        }
        _output.WriteLine($"Vector512 {Vector512.IsHardwareAccelerated}, Vector256 {Vector256.IsHardwareAccelerated}: max |error| sigmoid {worstSigmoid:E2}, tanh {worstTanh:E2}");
        Assert.True(worstSigmoid <= 1e-6, $"sigmoid error {worstSigmoid}");
        Assert.True(worstTanh <= 1e-6, $"tanh error {worstTanh}");
    }

    /// <summary>
    /// Sigmoid and tanh on one lane width: within 1e-6 of double precision (sigmoid relative to itself for x &lt; 0),
    /// never outside their ranges ([0, 1] and [-1, 1], which an approximation may overshoot by its error: 1 - tanh²
    /// must not go negative), their limits at the infinities, tanh odd and tanh(x) = x for tiny x. (Not strictly
    /// monotonic: where tanh saturates, its values step between neighbouring floats as their rounding falls.)
    /// </summary>
    private static void CheckLanes<V>() where V : struct, IFloatLanes<V>
    {
        float[] x = Samples();
        var buffer = new float[V.Count];
        var sigmoid = new float[x.Length];
        var tanh = new float[x.Length];
        for (int i = 0; i + V.Count <= x.Length; i += V.Count)
        {
            V v = V.Load(x, i);
            V.Store(V.Sigmoid(v), sigmoid, i);
            V.Store(V.Tanh(v), tanh, i);
            V.Store(V.Tanh(-v), buffer, 0);
            for (int k = 0; k < V.Count; k++)
            {
                float at = x[i + k];
                Assert.True(Math.Abs(sigmoid[i + k] - 1 / (1 + Math.Exp(-(double)at))) <= 1e-6, $"{typeof(V).Name} sigmoid({at}) = {sigmoid[i + k]}");
                Assert.True(Math.Abs(tanh[i + k] - Math.Tanh(at)) <= 1e-6, $"{typeof(V).Name} tanh({at}) = {tanh[i + k]}");
                Assert.True(sigmoid[i + k] is >= 0 and <= 1, $"{typeof(V).Name} sigmoid({at}) = {sigmoid[i + k]}, outside [0, 1]");
                Assert.True(tanh[i + k] is >= -1 and <= 1, $"{typeof(V).Name} tanh({at}) = {tanh[i + k]}, outside [-1, 1]");
                Assert.True(buffer[k] == -tanh[i + k], $"{typeof(V).Name} tanh(-{at}) = {buffer[k]}, tanh({at}) = {tanh[i + k]}");
                if (Math.Abs(at) < 1e-4f) Assert.True(tanh[i + k] == at, $"{typeof(V).Name} tanh({at}) = {tanh[i + k]}");
                // Relative in the negative tail, where log(sigmoid(x)) reads it: sigmoid(-30) is 9.4e-14, not 0.
                if (at is < 0 and > -87)
                {
                    double exact = 1 / (1 + Math.Exp(-(double)at));
                    Assert.True(Math.Abs(sigmoid[i + k] / exact - 1) <= 1e-6, $"{typeof(V).Name} sigmoid({at}) = {sigmoid[i + k]}, {exact} in double");
                }
            }
        }
        float[] limits = { float.NegativeInfinity, float.PositiveInfinity };
        foreach (float limit in limits)
        {
            var lanes = new float[V.Count];
            Array.Fill(lanes, limit);
            V.Store(V.Sigmoid(V.Load(lanes, 0)), buffer, 0);
            Assert.All(buffer, s => Assert.Equal(limit > 0 ? 1f : 0f, s));
            V.Store(V.Tanh(V.Load(lanes, 0)), buffer, 0);
            Assert.All(buffer, t => Assert.Equal(limit > 0 ? 1f : -1f, t));
        }
    }

    /// <summary>
    /// Exp on one lane width: relative error against double precision over [-87, 88.7] (where float's exp is a normal
    /// number), NaN kept. Sigmoid uses its unguarded core, whose clamp and integer conversion are the machine's
    /// instructions; Exp itself must still propagate NaN.
    /// </summary>
    private static void CheckExp<V>() where V : struct, IFloatLanes<V>
    {
        var values = new System.Collections.Generic.List<float>();
        for (float v = -87; v <= 88.7f; v += 1f / 64) values.Add(v);
        values.Add(88.7f); // up to the clamp: e^88.7 is 3.3e38, finite, though its power of two is 2^128
        while (values.Count % 16 != 0) values.Add(0);
        float[] x = values.ToArray();
        var buffer = new float[V.Count];
        double worst = 0;
        for (int i = 0; i < x.Length; i += V.Count)
        {
            V.Store(FloatActivations.Exp(V.Load(x, i)), buffer, 0);
            for (int k = 0; k < V.Count; k++) worst = Math.Max(worst, Math.Abs(buffer[k] / Math.Exp(x[i + k]) - 1));
        }
        Assert.True(worst <= 1e-6, $"{typeof(V).Name} exp relative error {worst}");
        var nan = new float[V.Count];
        Array.Fill(nan, float.NaN);
        V.Store(FloatActivations.Exp(V.Load(nan, 0)), buffer, 0);
        Assert.All(buffer, v => Assert.True(float.IsNaN(v), $"{typeof(V).Name} exp(NaN) = {v}"));
    }

    /// <summary>
    /// The language's functions written over the lanes (LaneOperators): NaN stays NaN and infinities give the limits,
    /// on every width (the native min and max return their second operand when one is NaN: the operators are written so).
    /// </summary>
    private static void CheckLaneOperators<V>() where V : struct, ISimd<V, float>
    {
        var buffer = new float[V.Count];
        float[] At(Func<V, V> f, float value)
        {
            var x = new float[V.Count];
            Array.Fill(x, value);
            V.Store(f(V.Load(x, 0)), buffer, 0);
            return buffer;
        }
        foreach ((string name, Func<V, V> f, float? minusInfinity, float? plusInfinity) in new (string, Func<V, V>, float?, float?)[]
        {
            ("softplus", LaneOperators.Softplus<V, float>, 0, float.PositiveInfinity),
            ("softsign", LaneOperators.Softsign<V, float>, float.NaN, float.NaN), // ∞/∞: as nn.Softsign
            ("elu", LaneOperators.Elu<V, float>, -1, float.PositiveInfinity),
            ("logsigmoid", LaneOperators.LogSigmoid<V, float>, float.NegativeInfinity, 0),
            ("silu", LaneOperators.Silu<V, float>, float.NaN, float.PositiveInfinity), // -∞ · sigmoid(-∞) = -∞ · 0: NaN, as PyTorch's
            ("hardsigmoid", LaneOperators.HardSigmoid<V, float>, 0, 1),
            ("hardtanh", LaneOperators.HardTanh<V, float>, -1, 1),
            ("gelu", LaneOperators.Gelu<V, float>, null, float.PositiveInfinity), // -∞ · Φ(-∞): NaN, as PyTorch's
        })
        {
            Assert.All(At(f, float.NaN), v => Assert.True(float.IsNaN(v), $"{typeof(V).Name} {name}(NaN) = {v}"));
            // Exp(-∞) is the smallest normal float, 1.2e-38 (its argument is clamped): zero for any purpose.
            if (minusInfinity is { } low)
                Assert.All(At(f, float.NegativeInfinity), v => Assert.True(v.Equals(low) || Math.Abs(v - low) <= 1e-37, $"{typeof(V).Name} {name}(-∞) = {v}"));
            if (plusInfinity is { } high)
                Assert.All(At(f, float.PositiveInfinity), v => Assert.True(v.Equals(high) || Math.Abs(v - high) <= 1e-37, $"{typeof(V).Name} {name}(+∞) = {v}"));
        }
        Assert.All(At(LaneOperators.Elu<V, float>, -2), v => Assert.Equal(Math.Exp(-2) - 1, v, 1e-7));
        Assert.All(At(LaneOperators.Elu<V, float>, 3), v => Assert.Equal(3f, v));
    }

    /// <summary>
    /// Φ in double (gelu's, through erfc's series) against mpmath's ncdf at 30 digits, far into the tails: within 1e-15
    /// relative, and 1e-15 per unit of v²/2 further out (measured: 3.5e-15 at v = -10, 1.0e-13 at v = -26, where Φ is
    /// 2.5e-149).
    /// </summary>
    [Theory]
    [InlineData(0.0, 0.5)]
    [InlineData(1.0, 0.8413447460685429)]
    [InlineData(-1.0, 0.15865525393145705)]
    [InlineData(-3.0, 0.0013498980316300946)]
    [InlineData(2.5, 0.9937903346742238)]
    [InlineData(-10.0, 7.619853024160525e-24)]
    [InlineData(0.001, 0.500398942213911)]
    [InlineData(-0.5, 0.3085375387259869)]
    [InlineData(5.0, 0.9999997133484281)]
    [InlineData(-26.0, 2.4760633155033892e-149)]
    public void NormalCdfInDoubleMatchesMpmath(double v, double expected)
    {
        var buffer = new double[1];
        F64x1.Store(LaneOperators.NormalCdf<F64x1, double>(F64x1.Load(new[] { v }, 0)), buffer, 0);
        Assert.True(Math.Abs(buffer[0] / expected - 1) <= 1e-15 * (1 + v * v / 2), $"Φ({v}) = {buffer[0]:R}, mpmath {expected:R}");
    }

    [Fact] public void F32x16LaneOperators() => CheckLaneOperators<F32x16>();
    [Fact] public void F32x8LaneOperators() => CheckLaneOperators<F32x8>();
    [Fact] public void F32x4LaneOperators() => CheckLaneOperators<F32x4>();
    [Fact] public void F32x1LaneOperators() => CheckLaneOperators<F32x1>();

    [Fact] public void F32x16Exp() => CheckExp<F32x16>();
    [Fact] public void F32x8Exp() => CheckExp<F32x8>();
    [Fact] public void F32x4Exp() => CheckExp<F32x4>();
    [Fact] public void F32x1Exp() => CheckExp<F32x1>();

    /// <summary>
    /// softplus and logsigmoid on one lane width against double precision, relative error, over [-87, 87] by 1/64 and
    /// the tiny arguments where log(1 + e^-|x|) is nearly e^-|x|: their logarithm is a float series of its own (not
    /// the library's), which must hold to float precision everywhere its argument lies, [0, 1].
    /// </summary>
    private static void CheckSoftplus<V>() where V : struct, ISimd<V, float>
    {
        var values = new System.Collections.Generic.List<float>();
        for (float v = -87; v <= 87; v += 1f / 64) values.Add(v);
        for (int k = 1; k <= 30; k++) { values.Add(MathF.Pow(2, -k)); values.Add(-MathF.Pow(2, -k)); }
        while (values.Count % 16 != 0) values.Add(0);
        float[] x = values.ToArray();
        var buffer = new float[V.Count];
        double worstSoftplus = 0, worstLogSigmoid = 0;
        for (int i = 0; i < x.Length; i += V.Count)
        {
            V.Store(LaneOperators.Softplus<V, float>(V.Load(x, i)), buffer, 0);
            for (int k = 0; k < V.Count; k++)
            {
                double v = x[i + k], expected = Math.Max(v, 0) + Log1P(Math.Exp(-Math.Abs(v)));
                worstSoftplus = Math.Max(worstSoftplus, Math.Abs(buffer[k] / expected - 1));
            }
            V.Store(LaneOperators.LogSigmoid<V, float>(V.Load(x, i)), buffer, 0);
            for (int k = 0; k < V.Count; k++)
            {
                double v = x[i + k], expected = Math.Min(v, 0) - Log1P(Math.Exp(-Math.Abs(v)));
                worstLogSigmoid = Math.Max(worstLogSigmoid, Math.Abs(buffer[k] / expected - 1));
            }
        }
        Assert.True(worstSoftplus <= 1e-6, $"{typeof(V).Name} softplus relative error {worstSoftplus}");
        Assert.True(worstLogSigmoid <= 1e-6, $"{typeof(V).Name} logsigmoid relative error {worstLogSigmoid}");

        // log(1 + e) in double, by its series where 1 + e would round away e's digits.
        static double Log1P(double e) => e < 1e-4 ? e - e * e / 2 + e * e * e / 3 : Math.Log(1 + e);
    }

    [Fact] public void F32x16Softplus() => CheckSoftplus<F32x16>();
    [Fact] public void F32x8Softplus() => CheckSoftplus<F32x8>();
    [Fact] public void F32x4Softplus() => CheckSoftplus<F32x4>();
    [Fact] public void F32x1Softplus() => CheckSoftplus<F32x1>();

    [Fact] public void F32x16Lanes() => CheckLanes<F32x16>();
    [Fact] public void F32x8Lanes() => CheckLanes<F32x8>();
    [Fact] public void F32x4Lanes() => CheckLanes<F32x4>();
    [Fact] public void F32x1Lane() => CheckLanes<F32x1>();

    /// <summary>
    /// Loads and stores that reach past a buffer are refused on every width: the check's throw is known never to
    /// return, so that the kernels keep their vectors in registers around it, and it must still throw.
    /// </summary>
    private static void CheckBounds<V>() where V : struct, ISimd<V, float>
    {
        var buffer = new float[V.Count + 3];
        V.Store(V.Load(buffer, 3), buffer, 3); // the last whole vector is allowed
        Exception load = Assert.ThrowsAny<SystemException>(() => V.Load(buffer, 4));
        Exception store = Assert.ThrowsAny<SystemException>(() => V.Store(V.Constant(1f), buffer, 4));
        Exception negative = Assert.ThrowsAny<SystemException>(() => V.Load(buffer, -1));
        // One lane is a span's own indexer; wider ones name the lanes and the buffer.
        Type expected = V.Count == 1 ? typeof(IndexOutOfRangeException) : typeof(ArgumentOutOfRangeException);
        Assert.All(new[] { load, store, negative }, e => Assert.IsType(expected, e));
        if (V.Count > 1) Assert.Contains($"Lanes [4, {4 + V.Count}) are outside a buffer of length {buffer.Length}", load.Message);
        Assert.All(buffer, v => Assert.Equal(0f, v)); // the refused store wrote nothing
    }

    [Fact] public void F32x16Bounds() => CheckBounds<F32x16>();
    [Fact] public void F32x8Bounds() => CheckBounds<F32x8>();
    [Fact] public void F32x4Bounds() => CheckBounds<F32x4>();
    [Fact] public void F32x1Bounds() => CheckBounds<F32x1>();

    /// <summary>
    /// The products' in-place multiply-add computes what MultiplyAdd returns, lane by lane and to the bit, with the
    /// machine's FMA or (without one) a multiply then an add; within a rounding or two of the exact a * b + c.
    /// </summary>
    private static void CheckMultiplyAddTo<V>() where V : struct, IFloatLanes<V>
    {
        var random = new Random(7);
        float[] a = new float[V.Count], b = new float[V.Count], c = new float[V.Count], inPlace = new float[V.Count], returned = new float[V.Count];
        for (int trial = 0; trial < 50; trial++)
        {
            for (int i = 0; i < V.Count; i++)
            {
                a[i] = (float)(random.NextDouble() * 4 - 2);
                b[i] = (float)(random.NextDouble() * 4 - 2);
                c[i] = (float)(random.NextDouble() * 4 - 2);
            }
            V accumulator = V.Load(c, 0);
            V.MultiplyAddTo(ref accumulator, V.Load(a, 0), V.Load(b, 0));
            V.Store(accumulator, inPlace, 0);
            V.Store(V.MultiplyAdd(V.Load(a, 0), V.Load(b, 0), V.Load(c, 0)), returned, 0);
            for (int i = 0; i < V.Count; i++)
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(returned[i]), BitConverter.SingleToInt32Bits(inPlace[i]));
                double exact = (double)a[i] * b[i] + c[i];
                Assert.True(Math.Abs(inPlace[i] - exact) <= 2.5e-7 * (Math.Abs((double)a[i] * b[i]) + Math.Abs(c[i])), $"lane {i}: {inPlace[i]} against {exact}");
            }
        }
    }

    [Fact] public void F32x16MultiplyAddTo() => CheckMultiplyAddTo<F32x16>();
    [Fact] public void F32x8MultiplyAddTo() => CheckMultiplyAddTo<F32x8>();
    [Fact] public void F32x4MultiplyAddTo() => CheckMultiplyAddTo<F32x4>();
    [Fact] public void F32x1MultiplyAddTo() => CheckMultiplyAddTo<F32x1>();

    [Fact]
    public void NaNPropagates()
    {
        float[] x = new float[37];
        Array.Fill(x, float.NaN);
        var sigmoid = new float[x.Length];
        var tanh = new float[x.Length];
        var relu = new float[x.Length];
        var kernel = new Activate { Input = x, Sigmoid = sigmoid, Tanh = tanh, Relu = relu };
        Elementwise.ForEach(ref kernel, 1, x.Length);
        Assert.All(sigmoid, v => Assert.True(float.IsNaN(v)));
        Assert.All(tanh, v => Assert.True(float.IsNaN(v)));
        Assert.All(relu, v => Assert.True(float.IsNaN(v)));
    }
}
