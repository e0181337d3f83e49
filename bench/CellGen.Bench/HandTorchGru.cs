using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System;
using CellGen.CompilerServices;

namespace CellGen.Bench;

/// <summary>
/// The GRU of cuDNN and PyTorch written by hand: the input product of all steps hoisted (b_r, b_z and bx_n folded in),
/// one product on h[t-1] per step for all three gates (bh_n folded in), fused with the loop for the gates and the
/// state update, and the weight gradients as large products after the loop.
/// r = sigmoid(zh_r + zx_r), z = sigmoid(zh_z + zx_z), n = tanh(zx_n + r * zh_n), h = (1 - z) * n + z * h[t-1].
/// </summary>
public sealed class HandTorchGru : HandCell
{
    private readonly WeightCopies _wh, _wx;
    public readonly float[] Wh, Wx, Bh, Bx, WhGrad, WxGrad, BhGrad, BxGrad;
    private readonly float[] _zx, _zh, _gates, _h0, _dzh, _dzx, _dhNext;

    public HandTorchGru(int inputSize, int hiddenSize, int batch, int steps) : base(inputSize, hiddenSize, batch, steps)
    {
        int g = 3 * H;
        Wh = new float[H * g]; Wx = new float[X * g]; _wh = new WeightCopies(Wh, H, g); _wx = new WeightCopies(Wx, X, g);
        Bh = new float[g]; Bx = new float[g];
        WhGrad = new float[Wh.Length]; WxGrad = new float[Wx.Length]; BhGrad = new float[g]; BxGrad = new float[g];
        _zx = new float[T * B * g];
        _zh = new float[T * B * g];             // kept: the backward pass reads zh_n
        _gates = new float[T * B * g];          // r, z, n
        _h0 = new float[B * H];
        _dzh = new float[T * B * g]; _dzx = new float[T * B * g];
        _dhNext = new float[B * H];
    }

    protected override IEnumerable<(string, LogicalView, LogicalView)> Parameters
    {
        get
        {
            int g = 3 * H;
            yield return ("W_r", new LogicalView(g, (Wh, H, 0), (Wx, X, 0)), new LogicalView(g, (WhGrad, H, 0), (WxGrad, X, 0)));
            yield return ("b_r", new LogicalView(g, (Bx, 1, 0)), new LogicalView(g, (BxGrad, 1, 0)));
            yield return ("W_z", new LogicalView(g, (Wh, H, H), (Wx, X, H)), new LogicalView(g, (WhGrad, H, H), (WxGrad, X, H)));
            yield return ("b_z", new LogicalView(g, (Bx, 1, H)), new LogicalView(g, (BxGrad, 1, H)));
            yield return ("Wx_n", new LogicalView(g, (Wx, X, 2 * H)), new LogicalView(g, (WxGrad, X, 2 * H)));
            yield return ("bx_n", new LogicalView(g, (Bx, 1, 2 * H)), new LogicalView(g, (BxGrad, 1, 2 * H)));
            yield return ("Wh_n", new LogicalView(g, (Wh, H, 2 * H)), new LogicalView(g, (WhGrad, H, 2 * H)));
            yield return ("bh_n", new LogicalView(g, (Bh, 1, 2 * H)), new LogicalView(g, (BhGrad, 1, 2 * H)));
        }
    }

    public override void ZeroGradients() { Array.Clear(WhGrad); Array.Clear(WxGrad); Array.Clear(BhGrad); Array.Clear(BxGrad); }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Forward(ReadOnlySpan<float> inputs, Span<float> outputs, bool record)
    {
        int g = 3 * H;
        _wx.BeginForward();
        _wh.BeginForward();
        Gemm.Forward<float>(inputs, X, Wx, _wx.Packed, Bx, _zx, g, T * B, X, g);
        for (int t = 0; t < T; t++)
        {
            // Bh is zero but for its n part: the r and z biases are all in Bx.
            ReadOnlySpan<float> hPrev = t == 0 ? _h0 : Step(outputs, t - 1, H);
            Span<float> zh = record ? Step(_zh, t, g) : Step(_zh, 0, g);
            // The gates and the new state of each block of hidden units run as soon as the product has its gates.
            var step = new StepKernel { H = H, Record = record, Zh = zh, Zx = Step(_zx, t, g), HPrev = hPrev, Gates = Step(_gates, t, g), Hidden = Step(outputs, t, H) };
            Gemm.ForwardThenSweep(hPrev, H, Wh, _wh.Packed, Bh, zh, g, B, H, 3, H, ref step, step.Zx); // Zx read ahead, as the generated cells do
        }
    }

    /// <summary>One step's gates and new state for the lanes [j, j + V.Count) of row r.</summary>
    private ref struct StepKernel : IElementwiseKernel<float>
    {
        public int H;
        public bool Record;
        public ReadOnlySpan<float> Zh, Zx, HPrev;
        public Span<float> Gates, Hidden;

        public static int Work => 32; // as the generated TorchGru's sweep states it

        public void Apply<V>(int r, int j) where V : struct, ISimd<V, float>
        {
            int row = r * 3 * H, at = r * H + j;
            V reset = V.Sigmoid(V.Load(Zh, row + j) + V.Load(Zx, row + j));
            V update = V.Sigmoid(V.Load(Zh, row + H + j) + V.Load(Zx, row + H + j));
            V n = V.Tanh(V.Load(Zx, row + 2 * H + j) + reset * V.Load(Zh, row + 2 * H + j));
            V previous = V.Load(HPrev, at);
            V.Store(n + update * (previous - n), Hidden, at);
            if (!Record) return;
            V.Store(reset, Gates, row + j); V.Store(update, Gates, row + H + j); V.Store(n, Gates, row + 2 * H + j);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Backward(ReadOnlySpan<float> inputs, ReadOnlySpan<float> outputs, ReadOnlySpan<float> outputGradients, Span<float> inputGradients)
    {
        int g = 3 * H, rows = T * B;
        _wh.BeginBackward();
        _wx.BeginBackward();
        Array.Clear(_dhNext);
        for (int t = T - 1; t >= 0; t--)
        {
            ReadOnlySpan<float> dy = Step(outputGradients, t, H), gates = Step(_gates, t, g), zh = Step(_zh, t, g);
            ReadOnlySpan<float> hPrev = t == 0 ? _h0 : Step(outputs, t - 1, H);
            Span<float> dzh = Step(_dzh, t, g), dzx = Step(_dzx, t, g);
            for (int r = 0; r < B; r++)
            {
                int j = 0;
                if (Vector512.IsHardwareAccelerated) for (; j + 16 <= H; j += 16) CellBack<F32x16>(r, j, dy, gates, zh, hPrev, dzh, dzx);
                if (Vector256.IsHardwareAccelerated) for (; j + 8 <= H; j += 8) CellBack<F32x8>(r, j, dy, gates, zh, hPrev, dzh, dzx);
                for (; j < H; j++) CellBack<F32x1>(r, j, dy, gates, zh, hPrev, dzh, dzx);
            }
            Gemm.BackwardDataTransposed<float>(dzh, g, _wh.Transposed, _wh.TransposedPacked, _dhNext, H, B, H, g, accumulate: true);
        }
        Gemm.BackwardWeights<float>(_h0, H, Step(_dzh, 0, g), g, WhGrad, B, H, g);
        Gemm.BackwardWeights<float>(outputs, H, _dzh.AsSpan(B * g), g, WhGrad, rows - B, H, g);
        Gemm.BiasGradient<float>(_dzh.AsSpan(2 * H), g, BhGrad.AsSpan(2 * H), rows, H);
        Gemm.BackwardWeights<float>(inputs, X, _dzx, g, WxGrad, rows, X, g);
        Gemm.BiasGradient<float>(_dzx, g, BxGrad, rows, g);
        Gemm.BackwardDataTransposed<float>(_dzx, g, _wx.Transposed, _wx.TransposedPacked, inputGradients, X, rows, X, g, accumulate: false);
    }

    /// <summary>dh = dy + dh from later; writes the gate gradients of both products and dh[t-1] = z dh (the product adds the rest).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CellBack<V>(int r, int j, ReadOnlySpan<float> dy, ReadOnlySpan<float> gates, ReadOnlySpan<float> zh, ReadOnlySpan<float> hPrev, Span<float> dzh, Span<float> dzx)
        where V : struct, IFloatLanes<V>
    {
        int row = r * 3 * H, at = r * H + j;
        V one = V.Constant(1);
        V reset = V.Load(gates, row + j), update = V.Load(gates, row + H + j), n = V.Load(gates, row + 2 * H + j);
        V dh = V.Load(dy, at) + V.Load(_dhNext, at);
        V dn = dh * (one - update) * (one - n * n);
        V dReset = dn * V.Load(zh, row + 2 * H + j) * reset * (one - reset);
        V dUpdate = dh * (V.Load(hPrev, at) - n) * update * (one - update);
        V.Store(dReset, dzh, row + j); V.Store(dUpdate, dzh, row + H + j); V.Store(dn * reset, dzh, row + 2 * H + j);
        V.Store(dReset, dzx, row + j); V.Store(dUpdate, dzx, row + H + j); V.Store(dn, dzx, row + 2 * H + j);
        V.Store(dh * update, _dhNext, at);
    }
}
