using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System;
using CellGen.CompilerServices;

namespace CellGen.Bench;

/// <summary>
/// An LSTM written by hand: the input product of all steps hoisted before the loop (bias folded in), one product on
/// h[t-1] per step for all four gates, added onto that step's slice of the input product (as the generated cells do)
/// and fused with the loop for the gates and the state update (gate values kept only when recording), and the weight
/// gradients as large products after the loop.
/// </summary>
public sealed class HandLstm : HandCell
{
    private readonly WeightCopies _wh, _wx;
    public readonly float[] Wh, Wx, Bias, WhGrad, WxGrad, BiasGrad;
    private readonly float[] _zx, _gates, _c, _h0, _tanhC, _dz, _dc, _dhNext, _dcNext;

    public HandLstm(int inputSize, int hiddenSize, int batch, int steps) : base(inputSize, hiddenSize, batch, steps)
    {
        int g = 4 * H;
        Wh = new float[H * g]; Wx = new float[X * g]; _wh = new WeightCopies(Wh, H, g); _wx = new WeightCopies(Wx, X, g);
        Bias = new float[g];
        WhGrad = new float[Wh.Length]; WxGrad = new float[Wx.Length]; BiasGrad = new float[g];
        _zx = new float[T * B * g];
        _gates = new float[T * B * g];          // i, f, g, o after their activations
        _c = new float[(T + 1) * B * H];        // c[0..T]
        _h0 = new float[B * H];
        _tanhC = new float[T * B * H];
        _dz = new float[T * B * g];
        _dc = new float[B * H]; _dhNext = new float[B * H]; _dcNext = new float[B * H];
    }

    protected override IEnumerable<(string, LogicalView, LogicalView)> Parameters
    {
        get
        {
            int g = 4 * H;
            string[] names = { "i", "f", "g", "o" };
            for (int k = 0; k < 4; k++)
            {
                yield return ("W_" + names[k], new LogicalView(g, (Wh, H, k * H), (Wx, X, k * H)), new LogicalView(g, (WhGrad, H, k * H), (WxGrad, X, k * H)));
                yield return ("b_" + names[k], new LogicalView(g, (Bias, 1, k * H)), new LogicalView(g, (BiasGrad, 1, k * H)));
            }
        }
    }

    public override void ZeroGradients() { Array.Clear(WhGrad); Array.Clear(WxGrad); Array.Clear(BiasGrad); }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Forward(ReadOnlySpan<float> inputs, Span<float> outputs, bool record)
    {
        int g = 4 * H;
        _wx.BeginForward();
        _wh.BeginForward();
        Gemm.Forward<float>(inputs, X, Wx, _wx.Packed, Bias, _zx, g, T * B, X, g);
        for (int t = 0; t < T; t++)
        {
            // The gates and the state update of each block of hidden units run as soon as the product has its gates.
            var step = new StepKernel
            {
                H = H, Record = record, Z = Step(_zx, t, g), CPrev = Step(_c, t, H),
                Gates = Step(_gates, t, g), C = Step(_c, t + 1, H), Hidden = Step(outputs, t, H), TanhC = Step(_tanhC, t, H),
            };
            // z[t] += h[t-1] Wh, then the sweep over each block of z[t] (the input's gates and the step's, added up).
            Gemm.ForwardOntoThenSweep(t == 0 ? _h0 : Step(outputs, t - 1, H), H, Wh, _wh.Packed, Step(_zx, t, g), g, B, H, 4, H, 1, ref step);
        }
    }

    /// <summary>One step's gates and state update for the lanes [j, j + V.Count) of row r.</summary>
    private ref struct StepKernel : IElementwiseKernel<float>
    {
        public int H;
        public bool Record;
        public ReadOnlySpan<float> Z, CPrev;
        public Span<float> Gates, C, Hidden, TanhC;

        public static int Work => 48; // as the generated Lstm's sweep states it

        public void Apply<V>(int r, int j) where V : struct, ISimd<V, float>
        {
            int row = r * 4 * H, at = r * H + j;
            V i = V.Sigmoid(V.Load(Z, row + j));
            V f = V.Sigmoid(V.Load(Z, row + H + j));
            V cand = V.Tanh(V.Load(Z, row + 2 * H + j));
            V o = V.Sigmoid(V.Load(Z, row + 3 * H + j));
            V cNew = f * V.Load(CPrev, at) + i * cand;
            V tc = V.Tanh(cNew);
            V.Store(cNew, C, at);
            V.Store(o * tc, Hidden, at);
            if (!Record) return;
            V.Store(i, Gates, row + j); V.Store(f, Gates, row + H + j); V.Store(cand, Gates, row + 2 * H + j); V.Store(o, Gates, row + 3 * H + j);
            V.Store(tc, TanhC, at);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Backward(ReadOnlySpan<float> inputs, ReadOnlySpan<float> outputs, ReadOnlySpan<float> outputGradients, Span<float> inputGradients)
    {
        int g = 4 * H, rows = T * B;
        _wh.BeginBackward();
        _wx.BeginBackward();
        Array.Clear(_dhNext);
        Array.Clear(_dcNext);
        for (int t = T - 1; t >= 0; t--)
        {
            ReadOnlySpan<float> dy = Step(outputGradients, t, H), gates = Step(_gates, t, g), cPrev = Step(_c, t, H), tanhC = Step(_tanhC, t, H);
            Span<float> dz = Step(_dz, t, g);
            for (int r = 0; r < B; r++)
            {
                int j = 0;
                if (Vector512.IsHardwareAccelerated) for (; j + 16 <= H; j += 16) CellBack<F32x16>(r, j, dy, gates, cPrev, tanhC, dz);
                if (Vector256.IsHardwareAccelerated) for (; j + 8 <= H; j += 8) CellBack<F32x8>(r, j, dy, gates, cPrev, tanhC, dz);
                for (; j < H; j++) CellBack<F32x1>(r, j, dy, gates, cPrev, tanhC, dz);
            }
            Gemm.BackwardDataTransposed<float>(dz, g, _wh.Transposed, _wh.TransposedPacked, _dhNext, H, B, H, g, accumulate: false);
            _dc.CopyTo(_dcNext, 0);
        }
        // h[t-1] for t = 0..T-1 is h0 followed by the outputs of steps 0..T-2.
        Gemm.BackwardWeights<float>(_h0, H, Step(_dz, 0, g), g, WhGrad, B, H, g);
        Gemm.BackwardWeights<float>(outputs, H, _dz.AsSpan(B * g), g, WhGrad, rows - B, H, g);
        Gemm.BackwardWeights<float>(inputs, X, _dz, g, WxGrad, rows, X, g);
        Gemm.BiasGradient<float>(_dz, g, BiasGrad, rows, g);
        Gemm.BackwardDataTransposed<float>(_dz, g, _wx.Transposed, _wx.TransposedPacked, inputGradients, X, rows, X, g, accumulate: false);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CellBack<V>(int r, int j, ReadOnlySpan<float> dy, ReadOnlySpan<float> gates, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> tanhC, Span<float> dz)
        where V : struct, IFloatLanes<V>
    {
        int row = r * 4 * H, at = r * H + j;
        V one = V.Constant(1);
        V i = V.Load(gates, row + j), f = V.Load(gates, row + H + j), cand = V.Load(gates, row + 2 * H + j), o = V.Load(gates, row + 3 * H + j);
        V tc = V.Load(tanhC, at);
        V dh = V.Load(dy, at) + V.Load(_dhNext, at);
        V dc = V.Load(_dcNext, at) + dh * o * (one - tc * tc);
        V.Store(dc * f, _dc, at);
        V.Store(dc * cand * i * (one - i), dz, row + j);
        V.Store(dc * V.Load(cPrev, at) * f * (one - f), dz, row + H + j);
        V.Store(dc * i * (one - cand * cand), dz, row + 2 * H + j);
        V.Store(dh * tc * o * (one - o), dz, row + 3 * H + j);
    }
}
