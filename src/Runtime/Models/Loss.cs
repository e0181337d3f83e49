using System;

namespace CellGen;

/// <summary>How a loss combines the losses of its rows, as PyTorch's <c>reduction</c>.</summary>
public enum Reduction
{
    /// <summary>The mean over the rows that count (not ignored, not past a sequence's end).</summary>
    Mean,

    /// <summary>The sum over the rows that count.</summary>
    Sum,

    /// <summary>No reduction: each row's loss is in <see cref="CrossEntropyLoss.RowLosses"/>; the value returned is their sum, and the gradients are those of each row's own loss.</summary>
    None,
}

/// <summary>
/// Softmax cross-entropy of a model's output logits [rows, C] against one class per row, as nn.CrossEntropyLoss: rows
/// whose target is <see cref="IgnoreIndex"/>, and the rows of sequences past their ends, do not count; writes the
/// gradients of the logits into the output's Activations, ready for the model's Backward.
/// </summary>
public sealed class CrossEntropyLoss
{
    private int[] _targets = Array.Empty<int>();
    private float[] _rowLosses = Array.Empty<float>();
    private int _rows;

    /// <summary>Creates the loss.</summary>
    public CrossEntropyLoss(Reduction reduction = Reduction.Mean, int ignoreIndex = -100)
    {
        if (!Enum.IsDefined(reduction)) throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "Mean, Sum or None.");
        Reduction = reduction;
        IgnoreIndex = ignoreIndex;
    }

    /// <summary>How the rows' losses are combined.</summary>
    public Reduction Reduction { get; }

    /// <summary>A target that does not count (PyTorch's default, -100).</summary>
    public int IgnoreIndex { get; }

    /// <summary>Each row's loss after the last call (0 for rows that do not count).</summary>
    public ReadOnlySpan<float> RowLosses => _rowLosses.AsSpan(0, _rows);

    /// <summary>
    /// The loss of <paramref name="logits"/> (its width the number of classes) against <paramref name="targets"/>, one
    /// per row ([T, B] for sequences, [B] for vectors); writes dL/dlogits into <c>logits.Gradients</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another thread's Compute is running on this loss, whose buffers serve one call at a time.</exception>
    public float Compute(Activations logits, ReadOnlySpan<int> targets)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (System.Threading.Interlocked.Exchange(ref _busy, 1) != 0)
            throw new InvalidOperationException("CrossEntropyLoss.Compute was called while another call on this loss was running (from another thread?): its buffers serve one call at a time; give each thread its own loss.");
        try { return ComputeCore(logits, targets); }
        finally { System.Threading.Volatile.Write(ref _busy, 0); }
    }

    private int _busy;

    private float ComputeCore(Activations logits, ReadOnlySpan<int> targets)
    {
        if (targets.Length != logits.Rows)
            throw new ArgumentException($"targets has {targets.Length} values; the logits {logits} have {logits.Rows} rows, one target each.", nameof(targets));
        ReadOnlySpan<int> counted = targets;
        if (!logits.Lengths.IsEmpty)
        {
            // Rows past a sequence's end do not count: their targets become the ignored one.
            if (_targets.Length < targets.Length) _targets = new int[targets.Length];
            Span<int> masked = _targets.AsSpan(0, targets.Length);
            targets.CopyTo(masked);
            for (int t = 0; t < logits.Steps; t++)
                for (int b = 0; b < logits.BatchSize; b++)
                    if (t >= logits.Length(b)) masked[t * logits.BatchSize + b] = IgnoreIndex;
            counted = masked;
        }
        _rows = logits.Rows;
        if (_rowLosses.Length < _rows) _rowLosses = new float[_rows];
        return Losses.SoftmaxCrossEntropy(logits.Values, counted, logits.Width, logits.Gradients, Reduction, IgnoreIndex, _rowLosses.AsSpan(0, _rows));
    }
}

/// <summary>Mean squared error of a model's output against targets of its shape, as nn.MSELoss; rows past a sequence's end do not count.</summary>
public sealed class MeanSquaredErrorLoss
{
    /// <summary>Creates the loss (<see cref="Reduction.None"/> is not offered: use the span overload of <see cref="Losses"/>).</summary>
    public MeanSquaredErrorLoss(Reduction reduction = Reduction.Mean)
    {
        if (reduction is not (Reduction.Mean or Reduction.Sum)) throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "Mean or Sum.");
        Reduction = reduction;
    }

    /// <summary>How the values' losses are combined.</summary>
    public Reduction Reduction { get; }

    /// <summary>The loss of <paramref name="prediction"/> against <paramref name="targets"/> (its values' shape); writes dL/dprediction into <c>prediction.Gradients</c>.</summary>
    public float Compute(Activations prediction, ReadOnlySpan<float> targets)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        Span<float> values = prediction.Values, gradients = prediction.Gradients;
        if (targets.Length != values.Length)
            throw new ArgumentException($"targets has {targets.Length} values; the prediction {prediction} has {values.Length}.", nameof(targets));
        int width = prediction.Width, batch = prediction.BatchSize;
        long counted = 0;
        for (int row = 0; row < prediction.Rows; row++)
            if (row / batch < prediction.Length(row % batch)) counted += width;
        if (counted == 0) throw new ArgumentException("No value counts (every sequence is empty): the loss is not a number.", nameof(prediction));
        double scale = Reduction == Reduction.Mean ? 1.0 / counted : 1.0, loss = 0;
        for (int row = 0; row < prediction.Rows; row++)
        {
            bool counts = row / batch < prediction.Length(row % batch);
            for (int i = row * width; i < (row + 1) * width; i++)
            {
                double e = values[i] - targets[i];
                if (counts) loss += e * e;
                gradients[i] = counts ? (float)(2 * e * scale) : 0;
            }
        }
        return (float)(loss * scale);
    }
}
