using System.Collections.Generic;
using System.Linq;
using System;
using CellGen.CompilerServices;

namespace CellGen.Bench;

/// <summary>
/// A recurrent cell written by hand, the way one would without CellGen, on the same runtime products and activations:
/// the baseline that a generated cell is timed against. Weights are stored [K, gates * H] as the products read them.
/// </summary>
public abstract class HandCell
{
    protected readonly int X, H, B, T;

    protected HandCell(int inputSize, int hiddenSize, int batch, int steps) => (X, H, B, T) = (inputSize, hiddenSize, batch, steps);

    /// <summary>Runs the sequence; with <paramref name="record"/>, keeps what <see cref="Backward"/> reads.</summary>
    public abstract void Forward(ReadOnlySpan<float> inputs, Span<float> outputs, bool record);

    /// <summary>Backpropagation through time after a recorded forward pass over the same inputs and outputs.</summary>
    public abstract void Backward(ReadOnlySpan<float> inputs, ReadOnlySpan<float> outputs, ReadOnlySpan<float> outputGradients, Span<float> inputGradients);

    /// <summary>Each parameter of the generated cell by name, as (value, gradient) arrays of the hand-written layout.</summary>
    protected abstract IEnumerable<(string Name, LogicalView Values, LogicalView Gradients)> Parameters { get; }

    /// <summary>Zeros the accumulated gradients.</summary>
    public abstract void ZeroGradients();

    /// <summary>Takes the generated cell's weights, so that both compute the same function.</summary>
    public void ReadFrom(RecurrentCell<float> cell)
    {
        foreach ((string name, LogicalView values, _) in Parameters) values.CopyFrom(cell.Parameter(name).ToArray(), H);
    }

    /// <summary>The largest difference between this cell's gradients and the generated cell's, over every parameter.</summary>
    public double WorstGradientDifference(RecurrentCell<float> cell) =>
        Parameters.Max(p => p.Gradients.ToArray(H).Zip(cell.Parameter(p.Name).GradientToArray()).Max(d => (double)Math.Abs(d.First - d.Second)));

    /// <summary>
    /// A parameter's logical row-major view ([H, K] or [H]) over hand-written arrays stored [K, G]: each part is K rows of
    /// one array, starting at a gate's column offset.
    /// </summary>
    public sealed record LogicalView(int Width, params (float[] Array, int Rows, int Column)[] Parts)
    {
        public float[] ToArray(int h) => Places(h).Select(place => place.Array[place.Index]).ToArray();

        public void CopyFrom(float[] logical, int h)
        {
            int i = 0;
            foreach ((float[] array, int index) in Places(h)) array[index] = logical[i++];
        }

        /// <summary>Where each logical value lives, in the logical row-major order.</summary>
        private IEnumerable<(float[] Array, int Index)> Places(int h)
        {
            for (int j = 0; j < h; j++)
                foreach ((float[] array, int rows, int column) in Parts)
                    for (int k = 0; k < rows; k++) yield return (array, k * Width + column + j);
        }
    }

    /// <summary>Step <paramref name="t"/>'s block [B, width] of a buffer that holds one block per step.</summary>
    protected Span<float> Step(float[] buffer, int t, int width) => buffer.AsSpan(t * B * width, B * width);

    /// <inheritdoc cref="Step(float[], int, int)"/>
    protected Span<float> Step(Span<float> buffer, int t, int width) => buffer.Slice(t * B * width, B * width);

    /// <inheritdoc cref="Step(float[], int, int)"/>
    protected ReadOnlySpan<float> Step(ReadOnlySpan<float> buffer, int t, int width) => buffer.Slice(t * B * width, B * width);
}

/// <summary>
/// What a hand-written cell's products read besides a weight matrix W[k, n]: W's panels, packed once per forward pass,
/// and Wᵀ with its panels, made once per backward pass for the data gradients (as a generated cell keeps them).
/// </summary>
public sealed class WeightCopies
{
    private readonly float[] _w;
    private readonly int _k, _n;

    public WeightCopies(float[] w, int k, int n)
    {
        (_w, _k, _n) = (w, k, n);
        Packed = new PackedWeights<float>(k, n);
        Transposed = new float[k * n];
        TransposedPacked = new PackedWeights<float>(n, k);
    }

    public PackedWeights<float> Packed { get; }

    public float[] Transposed { get; }

    public PackedWeights<float> TransposedPacked { get; }

    /// <summary>W may have changed: the first product of the pass packs it again.</summary>
    public void BeginForward() => Packed.Invalidate();

    /// <summary>Transposes W for the data gradients of the pass; their first product packs Wᵀ.</summary>
    public void BeginBackward()
    {
        Gemm.Transpose<float>(_w, Transposed, _k, _n);
        TransposedPacked.Invalidate();
    }
}
