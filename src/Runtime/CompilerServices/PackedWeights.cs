using System;
using System.ComponentModel;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CellGen.CompilerServices;

/// <summary>
/// A weight matrix W[k, n] copied into the layout the forward kernels read: panels of columns two vectors wide, each
/// panel's k rows contiguous. Without it each product copies every panel again, per call and per chunk of rows; with it
/// a product packs W once (the first that spans several chunks of rows, or the second of one chunk), and the products
/// after it (those of the time loop) read the panels as they are. Call <see cref="Invalidate"/> whenever W may have
/// changed: a generated cell does at the start of each pass.
/// Only float products use panels.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)] // called by generated code, not written by users
public sealed class PackedWeights<T> where T : unmanaged, INumberBase<T>
{
    private readonly float[] _panels;
    private bool _current;
    private bool _askedOnce;

    /// <summary>Room for a [k, n] matrix; allocated here, once.</summary>
    public PackedWeights(int k, int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        K = k;
        N = n;
        Lanes = typeof(T) != typeof(float) ? 0
            : Vector512.IsHardwareAccelerated ? Vector512<float>.Count
            : Vector256.IsHardwareAccelerated ? Vector256<float>.Count
            : Vector128.IsHardwareAccelerated ? Vector128<float>.Count : 0;
        _panels = Lanes == 0 ? [] : new float[k * (n / (2 * Lanes) * 2 * Lanes)];
    }

    /// <summary>Rows of the matrix.</summary>
    public int K { get; }

    /// <summary>Columns of the matrix.</summary>
    public int N { get; }

    /// <summary>Floats per vector of the kernels the panels are laid out for (panels are twice as wide); 0 when none.</summary>
    internal int Lanes { get; }

    internal float[] Panels => _panels;

    /// <summary>W may have changed: no product reads the panels until one has packed them again from the W it is given.</summary>
    public void Invalidate() => _current = _askedOnce = false;

    /// <summary>
    /// The lane width of the panels for a product of <paramref name="rows"/> rows by <paramref name="w"/>, packing
    /// them first if W may have changed; 0 when the product reads W itself.
    /// </summary>
    internal int PanelsFor(ReadOnlySpan<T> w, int rows)
    {
        if (Lanes == 0 || rows == 0) return 0;
        if (!_current)
        {
            // A product of one chunk of rows reads each panel once: it copies the panels itself, one at a time, into
            // a buffer that stays in L1, which costs the same copy without another k * n floats in the cache. So the
            // first such product after Invalidate (the input product before the loop at batch 1) leaves W unpacked;
            // the next one (a second step of the loop) packs it for itself and every later one. Lstm b1-h128, medians
            // of 8 and 6 alternating runs: forward 0.60 -> 0.57 ms, forward + backward 1.31 -> 1.21 ms.
            if (!_askedOnce && rows <= GemmSingle.RowChunk(K))
            {
                _askedOnce = true;
                return 0;
            }
            ReadOnlySpan<float> source = MemoryMarshal.Cast<T, float>(w);
            int width = 2 * Lanes, panels = N / width;
            for (int q = 0; q < panels; q++)
            {
                Span<float> panel = _panels.AsSpan(q * K * width, K * width);
                for (int p = 0; p < K; p++) source.Slice(p * N + q * width, width).CopyTo(panel.Slice(p * width, width));
            }
            _current = true;
        }
        return Lanes;
    }

    /// <summary>Throws unless these panels are for a [k, n] matrix.</summary>
    internal void Check(int k, int n, string name)
    {
        if (K != k || N != n) throw new ArgumentException($"{name} was made for [{K}, {N}], not [{k}, {n}]", name);
    }
}
