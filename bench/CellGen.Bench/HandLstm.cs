using System;
using System.Runtime.Intrinsics;

namespace CellGen.Bench;

/// <summary>
/// An LSTM written by hand the way one would without CellGen, with the same runtime products and activations:
/// the input product of all steps hoisted before the loop (bias folded in), one product on h[t-1] per step for all
/// four gates, one fused loop for the gates and the state update, the gate values kept for the backward pass, and the
/// weight gradients as large products after the loop. The baseline the generated Lstm is measured against.
/// </summary>
public sealed class HandLstm
{
    private readonly int _x, _h, _b, _t;
    public readonly float[] Wh, Wx, Bias, WhGrad, WxGrad, BiasGrad;
    private readonly float[] _zx, _zh, _gates, _c, _hs, _tanhC, _dz, _dh, _dc, _dhNext, _dcNext, _dx;

    public HandLstm(int inputSize, int hiddenSize, int batch, int steps)
    {
        (_x, _h, _b, _t) = (inputSize, hiddenSize, batch, steps);
        int g = 4 * hiddenSize;
        Wh = new float[hiddenSize * g]; Wx = new float[inputSize * g]; Bias = new float[g];
        WhGrad = new float[Wh.Length]; WxGrad = new float[Wx.Length]; BiasGrad = new float[g];
        _zx = new float[steps * batch * g]; _zh = new float[batch * g];
        _gates = new float[steps * batch * g];              // i, f, g, o after their activations
        _c = new float[(steps + 1) * batch * hiddenSize];   // c[0..T]
        _hs = new float[(steps + 1) * batch * hiddenSize];  // h[0..T]
        _tanhC = new float[steps * batch * hiddenSize];
        _dz = new float[steps * batch * g];
        _dh = new float[batch * hiddenSize]; _dc = new float[batch * hiddenSize];
        _dhNext = new float[batch * hiddenSize]; _dcNext = new float[batch * hiddenSize];
        _dx = new float[steps * batch * inputSize];
    }

    public void Forward(ReadOnlySpan<float> inputs, Span<float> outputs)
    {
        int g = 4 * _h, rows = _t * _b;
        Gemm.Forward<float>(inputs, _x, Wx, Bias, _zx, g, rows, _x, g);
        for (int t = 0; t < _t; t++)
        {
            Gemm.Forward<float>(_hs.AsSpan(t * _b * _h, _b * _h), _h, Wh, default, _zh, g, _b, _h, g);
            Span<float> gates = _gates.AsSpan(t * _b * g, _b * g);
            ReadOnlySpan<float> zx = _zx.AsSpan(t * _b * g, _b * g);
            ReadOnlySpan<float> cPrev = _c.AsSpan(t * _b * _h, _b * _h);
            Span<float> c = _c.AsSpan((t + 1) * _b * _h, _b * _h), h = _hs.AsSpan((t + 1) * _b * _h, _b * _h);
            Span<float> tanhC = _tanhC.AsSpan(t * _b * _h, _b * _h);
            for (int r = 0; r < _b; r++)
            {
                int j = 0;
                if (Vector512.IsHardwareAccelerated) for (; j + 16 <= _h; j += 16) Cell<F32x16>(r, j, zx, gates, cPrev, c, h, tanhC);
                for (; j < _h; j++) Cell<F32x1>(r, j, zx, gates, cPrev, c, h, tanhC);
            }
        }
        _hs.AsSpan(_b * _h, _t * _b * _h).CopyTo(outputs);
    }

    private void Cell<V>(int r, int j, ReadOnlySpan<float> zx, Span<float> gates, ReadOnlySpan<float> cPrev, Span<float> c, Span<float> h, Span<float> tanhC)
        where V : struct, IFloatLanes<V>
    {
        int g = 4 * _h, row = r * g, at = r * _h + j;
        V i = V.Sigmoid(V.Load(_zh, row + j) + V.Load(zx, row + j));
        V f = V.Sigmoid(V.Load(_zh, row + _h + j) + V.Load(zx, row + _h + j));
        V cand = V.Tanh(V.Load(_zh, row + 2 * _h + j) + V.Load(zx, row + 2 * _h + j));
        V o = V.Sigmoid(V.Load(_zh, row + 3 * _h + j) + V.Load(zx, row + 3 * _h + j));
        V cNew = f * V.Load(cPrev, at) + i * cand;
        V tc = V.Tanh(cNew);
        V.Store(i, gates, row + j); V.Store(f, gates, row + _h + j); V.Store(cand, gates, row + 2 * _h + j); V.Store(o, gates, row + 3 * _h + j);
        V.Store(cNew, c, at);
        V.Store(tc, tanhC, at);
        V.Store(o * tc, h, at);
    }

    public void Backward(ReadOnlySpan<float> inputs, ReadOnlySpan<float> outputGradients, Span<float> inputGradients)
    {
        int g = 4 * _h, rows = _t * _b;
        Array.Clear(_dhNext);
        Array.Clear(_dcNext);
        for (int t = _t - 1; t >= 0; t--)
        {
            ReadOnlySpan<float> dy = outputGradients.Slice(t * _b * _h, _b * _h);
            ReadOnlySpan<float> gates = _gates.AsSpan(t * _b * g, _b * g), cPrev = _c.AsSpan(t * _b * _h, _b * _h), tanhC = _tanhC.AsSpan(t * _b * _h, _b * _h);
            Span<float> dz = _dz.AsSpan(t * _b * g, _b * g);
            for (int r = 0; r < _b; r++)
            {
                int j = 0;
                if (Vector512.IsHardwareAccelerated) for (; j + 16 <= _h; j += 16) CellBack<F32x16>(r, j, dy, gates, cPrev, tanhC, dz);
                for (; j < _h; j++) CellBack<F32x1>(r, j, dy, gates, cPrev, tanhC, dz);
            }
            Gemm.BackwardData<float>(dz, g, Wh, _dhNext, _h, _b, _h, g, accumulate: false);
            _dc.CopyTo(_dcNext, 0);
        }
        Gemm.BackwardWeights<float>(_hs.AsSpan(0, rows * _h), _h, _dz, g, WhGrad, rows, _h, g);
        Gemm.BackwardWeights<float>(inputs, _x, _dz, g, WxGrad, rows, _x, g);
        Gemm.BiasGradient<float>(_dz, g, BiasGrad, rows, g);
        Gemm.BackwardData<float>(_dz, g, Wx, inputGradients, _x, rows, _x, g, accumulate: false);
    }

    private void CellBack<V>(int r, int j, ReadOnlySpan<float> dy, ReadOnlySpan<float> gates, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> tanhC, Span<float> dz)
        where V : struct, IFloatLanes<V>
    {
        int g = 4 * _h, row = r * g, at = r * _h + j;
        V one = V.Constant(1);
        V i = V.Load(gates, row + j), f = V.Load(gates, row + _h + j), cand = V.Load(gates, row + 2 * _h + j), o = V.Load(gates, row + 3 * _h + j);
        V tc = V.Load(tanhC, at);
        V dh = V.Load(dy, at) + V.Load(_dhNext, at);
        V dc = V.Load(_dcNext, at) + dh * o * (one - tc * tc);
        V.Store(dc * f, _dc, at);
        V.Store(dc * cand * i * (one - i), dz, row + j);
        V.Store(dc * V.Load(cPrev, at) * f * (one - f), dz, row + _h + j);
        V.Store(dc * i * (one - cand * cand), dz, row + 2 * _h + j);
        V.Store(dh * tc * o * (one - o), dz, row + 3 * _h + j);
    }
}
