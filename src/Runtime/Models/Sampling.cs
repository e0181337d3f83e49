using System;

namespace CellGen;

/// <summary>Choosing the next token from a row of logits, for decoding and generation.</summary>
public static class Sampling
{
    /// <summary>The class of the largest logit (the first of equal ones).</summary>
    public static int Greedy(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty) throw new ArgumentException("There are no logits to choose from.", nameof(logits));
        int best = 0;
        for (int c = 1; c < logits.Length; c++)
            if (logits[c] > logits[best]) best = c;
        return best;
    }

    /// <summary>The class of the largest logit of each row of <paramref name="logits"/> ([rows, C]), into <paramref name="classes"/> (one per row).</summary>
    public static void Greedy(Activations logits, Span<int> classes)
    {
        if (classes.Length != logits.Rows)
            throw new ArgumentException($"classes has {classes.Length} values; the logits {logits} have {logits.Rows} rows.", nameof(classes));
        ReadOnlySpan<float> values = logits.Values;
        for (int r = 0; r < classes.Length; r++) classes[r] = Greedy(values.Slice(r * logits.Width, logits.Width));
    }

    /// <summary>
    /// A class drawn from softmax(logits / <paramref name="temperature"/>): below 1 sharper, above 1 flatter; 0 is
    /// <see cref="Greedy(ReadOnlySpan{float})"/>.
    /// </summary>
    public static int Sample(ReadOnlySpan<float> logits, float temperature, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (!(temperature >= 0) || float.IsInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature is a finite number >= 0.");
        int best = Greedy(logits);
        if (temperature == 0) return best;
        double sum = 0;
        for (int c = 0; c < logits.Length; c++) sum += Math.Exp((logits[c] - logits[best]) / temperature);
        double u = random.NextDouble() * sum;
        for (int c = 0; c < logits.Length; c++)
        {
            u -= Math.Exp((logits[c] - logits[best]) / temperature);
            if (u < 0) return c;
        }
        return best;
    }
}
