using System;
using System.Numerics;
using System.Runtime.Intrinsics;

namespace CellGen;

/// <summary>
/// A weight matrix W[k, n] copied into the layout the forward kernels read: panels of columns two vectors wide, each
/// panel's k rows contiguous. Without it each product copies every panel again, per call and per chunk of rows; a
/// generated cell packs its weights once per pass instead, so the products of the time loop read them as they are.
/// Pack again whenever W changes. Only float products use the panels (other element types ignore them).
/// </summary>
public sealed class PackedWeights<T> where T : unmanaged, INumberBase<T>
{
    private readonly float[] _panels;

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

    /// <summary>Floats per vector of the kernels the panels are laid out for (panels are twice as wide); 0 when not packed.</summary>
    internal int Lanes { get; }

    /// <summary>Whether it has been packed since it was made.</summary>
    internal bool Packed { get; private set; }

    internal float[] Panels => _panels;

    /// <summary>Copies <paramref name="w"/>, [k, n] row-major, into the panels.</summary>
    public void Pack(ReadOnlySpan<T> w)
    {
        if (w.Length < K * N) throw new ArgumentException($"w holds {w.Length} values, too few for [{K}, {N}]", nameof(w));
        if (Lanes > 0)
        {
            ReadOnlySpan<float> source = System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(w);
            int width = 2 * Lanes, panels = N / width;
            for (int q = 0; q < panels; q++)
            {
                Span<float> panel = _panels.AsSpan(q * K * width, K * width);
                for (int p = 0; p < K; p++) source.Slice(p * N + q * width, width).CopyTo(panel.Slice(p * width, width));
            }
        }
        Packed = true;
    }

    /// <summary>Throws unless these panels were packed from a [k, n] matrix.</summary>
    internal void Check(int k, int n, string name)
    {
        if (K != k || N != n) throw new ArgumentException($"{name} was made for [{K}, {N}], not [{k}, {n}]", name);
        if (!Packed) throw new InvalidOperationException($"{name} has not been packed: call Pack with the weights first");
    }
}
