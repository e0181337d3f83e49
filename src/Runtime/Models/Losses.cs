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

/// <summary>Losses fused with their gradients.</summary>
public static class Losses
{
    /// <summary>
    /// Mean softmax cross-entropy over the rows of logits [N, C] with class targets; writes dL/dlogits. Computed
    /// stably (log-sum-exp after subtracting each row's maximum), so large logits neither overflow nor lose precision.
    /// </summary>
    public static float SoftmaxCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int classes, Span<float> logitsGradient) =>
        SoftmaxCrossEntropy(logits, targets, classes, logitsGradient, Reduction.Mean, ignoreIndex: -100, default);

    /// <summary>
    /// Softmax cross-entropy as nn.CrossEntropyLoss: rows whose target is <paramref name="ignoreIndex"/> count for
    /// nothing (zero gradient); the rest are combined by <paramref name="reduction"/> (a mean over the rows that count).
    /// Each row's loss goes to <paramref name="rowLosses"/> unless it is empty.
    /// </summary>
    public static float SoftmaxCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int classes, Span<float> logitsGradient,
        Reduction reduction, int ignoreIndex, Span<float> rowLosses)
    {
        if (classes <= 0 || logits.Length % classes != 0 || logits.Length / classes != targets.Length)
            throw new ArgumentException($"logits has {logits.Length} values: expected [N={targets.Length}, C={classes}].", nameof(logits));
        if (logitsGradient.Length != logits.Length)
            throw new ArgumentException($"logitsGradient has {logitsGradient.Length} values; expected {logits.Length}.", nameof(logitsGradient));
        if (!rowLosses.IsEmpty && rowLosses.Length != targets.Length)
            throw new ArgumentException($"rowLosses has {rowLosses.Length} values; expected one per row, {targets.Length}.", nameof(rowLosses));
        int rows = targets.Length, counted = 0;
        for (int r = 0; r < rows; r++)
        {
            if (targets[r] == ignoreIndex) continue;
            if ((uint)targets[r] >= (uint)classes) throw new ArgumentOutOfRangeException(nameof(targets), targets[r], $"Target {r} is {targets[r]}, outside [0, {classes}) and not the ignored {ignoreIndex}.");
            counted++;
        }
        if (counted == 0 && reduction == Reduction.Mean)
            throw new ArgumentException(rows == 0 ? "There are no rows: the mean loss over zero rows is not a number." : "Every target is ignored: the mean loss over zero rows is not a number.", nameof(targets));
        double scale = reduction == Reduction.Mean ? 1.0 / counted : 1.0, loss = 0;
        for (int r = 0; r < rows; r++)
        {
            int target = targets[r];
            Span<float> gradient = logitsGradient.Slice(r * classes, classes);
            if (target == ignoreIndex)
            {
                gradient.Clear();
                if (!rowLosses.IsEmpty) rowLosses[r] = 0;
                continue;
            }
            ReadOnlySpan<float> row = logits.Slice(r * classes, classes);
            float max = float.NegativeInfinity;
            foreach (float v in row) max = Math.Max(max, v);
            double sum = 0;
            for (int c = 0; c < classes; c++) sum += Math.Exp(row[c] - max);
            double logSum = Math.Log(sum), rowLoss = logSum - (row[target] - max);
            loss += rowLoss;
            if (!rowLosses.IsEmpty) rowLosses[r] = (float)rowLoss;
            for (int c = 0; c < classes; c++)
                gradient[c] = (float)((Math.Exp(row[c] - max - logSum) - (c == target ? 1 : 0)) * scale);
        }
        return (float)(loss * scale);
    }

    /// <summary>Mean squared error over all values; writes dL/dprediction.</summary>
    public static float MeanSquaredError(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, Span<float> predictionGradient)
    {
        if (target.Length != prediction.Length || predictionGradient.Length != prediction.Length)
            throw new ArgumentException($"prediction, target and predictionGradient must have one length; they have {prediction.Length}, {target.Length}, {predictionGradient.Length}.");
        if (prediction.Length == 0) throw new ArgumentException("There are no values: the mean squared error over zero values is not a number.", nameof(prediction));
        double loss = 0;
        for (int i = 0; i < prediction.Length; i++)
        {
            double e = prediction[i] - target[i];
            loss += e * e;
            predictionGradient[i] = (float)(2 * e / prediction.Length);
        }
        return (float)(loss / prediction.Length);
    }
}
