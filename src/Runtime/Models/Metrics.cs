using System;

namespace CellGen;

/// <summary>How well logits predict their targets, counted as <see cref="CrossEntropyLoss"/> counts rows.</summary>
public static class Metrics
{
    /// <summary>
    /// The fraction of rows of <paramref name="logits"/> ([rows, C]) whose largest logit is their target (one target per
    /// row, [T, B] for sequences or [B] for vectors); rows past a sequence's end and rows whose target is
    /// <paramref name="ignoreIndex"/> do not count. 0 when no row counts.
    /// </summary>
    public static double Accuracy(Activations logits, ReadOnlySpan<int> targets, int ignoreIndex = -100)
    {
        (int correct, int counted) = Correct(logits, targets, ignoreIndex);
        return counted == 0 ? 0 : (double)correct / counted;
    }

    /// <summary>The rows predicted right and the rows counted, to add up over batches (see <see cref="Accuracy"/>).</summary>
    public static (int Correct, int Counted) Correct(Activations logits, ReadOnlySpan<int> targets, int ignoreIndex = -100)
    {
        if (targets.Length != logits.Rows)
            throw new ArgumentException($"targets has {targets.Length} values; the logits {logits} have {logits.Rows} rows, one target each.", nameof(targets));
        ReadOnlySpan<float> values = logits.Values;
        int correct = 0, counted = 0;
        for (int row = 0; row < logits.Rows; row++)
        {
            int t = row / logits.BatchSize, b = row % logits.BatchSize;
            if (targets[row] == ignoreIndex || t >= logits.Length(b)) continue;
            counted++;
            if (Sampling.Greedy(values.Slice(row * logits.Width, logits.Width)) == targets[row]) correct++;
        }
        return (correct, counted);
    }
}
