using System;
using System.ComponentModel;
using System.Numerics;
using System.Runtime.CompilerServices;
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
    public PackedWeights(int k, int n) : this(k, n, 1)
    {
    }

    /// <summary>
    /// Room for <paramref name="count"/> [k, n] matrices stored one after another (the blocks of a block-diagonal
    /// matrix's transpose), each packed into panels of its own; allocated here, once.
    /// </summary>
    public PackedWeights(int k, int n, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        K = k;
        N = n;
        Count = count;
        Lanes = typeof(T) != typeof(float) ? 0
            : Vector512.IsHardwareAccelerated ? Vector512<float>.Count
            : Vector256.IsHardwareAccelerated ? Vector256<float>.Count
            : Vector128.IsHardwareAccelerated ? Vector128<float>.Count : 0;
        MatrixFloats = Lanes == 0 ? 0 : k * (n / (2 * Lanes) * 2 * Lanes);
        _panels = Lanes == 0 ? [] : new float[(long)count * MatrixFloats];
    }

    /// <summary>How many [K, N] matrices, one after another.</summary>
    internal int Count { get; }

    /// <summary>Floats of one matrix's panels: matrix m's start m times this far into <see cref="Panels"/>.</summary>
    internal int MatrixFloats { get; }

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
            // Gemm has checked w against [K, N] (Count of them) before it asks.
            for (int m = 0; m < Count; m++)
                Pack(ref Unsafe.Add(ref MemoryMarshal.GetReference(MemoryMarshal.Cast<T, float>(w)), (nint)m * K * N), N, ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_panels), (nint)m * MatrixFloats), K, N / (2 * Lanes), 2 * Lanes);
            _current = true;
        }
        return Lanes;
    }

    /// <summary>
    /// <paramref name="count"/> panels <paramref name="width"/> floats wide of the <paramref name="k"/> rows from
    /// <paramref name="w"/>, <paramref name="stride"/> floats apart, one after another from <paramref name="panels"/>
    /// (panel q at q k width). W's rows eight at a time, each panel taking its eight rows of the tile: the reads run
    /// along W's rows and each panel is written eight lines at once. Panel by panel, one row at a time, read W's rows
    /// n floats apart, each in another page: twice as slow ([256, 1024] on AVX2: 61 us that way, 30 us this way,
    /// medians of 200). Also the copies of the products from W as it lies (GemmSingle.ForwardCopiedPanels).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Pack(ref float w, int stride, ref float panels, int k, int count, int width)
    {
        const int Tile = 8;
        for (int first = 0; first < k; first += Tile)
        {
            int last = Math.Min(first + Tile, k);
            for (int q = 0; q < count; q++)
            {
                ref float panel = ref Unsafe.Add(ref panels, (nint)q * k * width);
                for (int p = first; p < last; p++)
                {
                    ref float from = ref Unsafe.Add(ref w, (nint)p * stride + q * width);
                    ref float to = ref Unsafe.Add(ref panel, (nint)p * width);
                    if (Vector256.IsHardwareAccelerated)
                        for (int i = 0; i < width; i += 8) Vector256.StoreUnsafe(Vector256.LoadUnsafe(ref from, (nuint)i), ref to, (nuint)i);
                    else
                        for (int i = 0; i < width; i += 4) Vector128.StoreUnsafe(Vector128.LoadUnsafe(ref from, (nuint)i), ref to, (nuint)i);
                }
            }
        }
    }

    /// <summary>Throws unless these panels are for a [k, n] matrix (<paramref name="count"/> of them).</summary>
    internal void Check(int k, int n, string name, int count = 1)
    {
        if (K != k || N != n || Count != count)
            throw new ArgumentException($"{name} was made for {(Count == 1 ? "" : $"{Count} x ")}[{K}, {N}], not {(count == 1 ? "" : $"{count} x ")}[{k}, {n}]", name);
    }
}
