using System;

namespace CellGen;

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
