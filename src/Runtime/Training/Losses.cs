using System;

namespace CellGen;

/// <summary>Losses fused with their gradients.</summary>
public static class Losses
{
    /// <summary>
    /// Mean softmax cross-entropy over the rows of logits [N, C] with class targets; writes dL/dlogits. Computed
    /// stably (log-sum-exp after subtracting each row's maximum), so large logits neither overflow nor lose precision.
    /// </summary>
    public static float SoftmaxCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int classes, Span<float> logitsGradient)
    {
        if (classes <= 0 || logits.Length % classes != 0 || logits.Length / classes != targets.Length)
            throw new ArgumentException($"logits has {logits.Length} values: expected [N={targets.Length}, C={classes}].", nameof(logits));
        if (logitsGradient.Length != logits.Length)
            throw new ArgumentException($"logitsGradient has {logitsGradient.Length} values; expected {logits.Length}.", nameof(logitsGradient));
        int rows = targets.Length;
        if (rows == 0) throw new ArgumentException("There are no rows: the mean loss over zero rows is not a number.", nameof(targets));
        double loss = 0;
        for (int r = 0; r < rows; r++)
        {
            int target = targets[r];
            if ((uint)target >= (uint)classes) throw new ArgumentOutOfRangeException(nameof(targets), target, $"Target {r} is {target}, outside [0, {classes}).");
            ReadOnlySpan<float> row = logits.Slice(r * classes, classes);
            Span<float> gradient = logitsGradient.Slice(r * classes, classes);
            float max = float.NegativeInfinity;
            foreach (float v in row) max = Math.Max(max, v);
            double sum = 0;
            for (int c = 0; c < classes; c++) sum += Math.Exp(row[c] - max);
            double logSum = Math.Log(sum);
            loss += logSum - (row[target] - max);
            for (int c = 0; c < classes; c++)
                gradient[c] = (float)((Math.Exp(row[c] - max - logSum) - (c == target ? 1 : 0)) / rows);
        }
        return (float)(loss / rows);
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
