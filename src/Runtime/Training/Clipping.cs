using System;
using System.Collections.Generic;
using System.Linq;

namespace CellGen;

/// <summary>Which norm clipping by norm measures.</summary>
public enum NormType
{
    /// <summary>The Euclidean norm of all gradients together.</summary>
    Two,

    /// <summary>The largest absolute gradient.</summary>
    Infinity,
}

/// <summary>What to do when the total norm is NaN or infinite.</summary>
public enum NonFiniteNorm
{
    /// <summary>Clip anyway, as PyTorch does by default: a NaN norm makes every gradient NaN, an infinite one every gradient 0 (NaN where it was infinite).</summary>
    Clip,

    /// <summary>Leave the gradients untouched and report it: the caller skips the step.</summary>
    Report,

    /// <summary>Throw an <see cref="ArithmeticException"/>, as PyTorch's error_if_nonfinite.</summary>
    Throw,
}

/// <summary>The total norm before clipping, and whether it was finite.</summary>
public readonly record struct ClipResult(double TotalNorm, bool Clipped)
{
    /// <summary>False when a gradient is NaN or infinite: the step should be skipped.</summary>
    public bool IsFinite => double.IsFinite(TotalNorm);
}

/// <summary>Gradient clipping with PyTorch's semantics (torch.nn.utils.clip_grad_norm_ and clip_grad_value_).</summary>
public static class Clipping
{
    /// <summary>
    /// Scales every gradient by maxNorm / (totalNorm + 1e-6) when that is below 1, and returns the total norm.
    /// </summary>
    public static ClipResult ClipByNorm(IEnumerable<IHasParameters> owners, double maxNorm, NormType normType = NormType.Two,
        NonFiniteNorm nonFinite = NonFiniteNorm.Clip) =>
        ClipByNorm(owners.SelectMany(o => o.ParameterBuffers).Select(b => b.Gradients), maxNorm, normType, nonFinite);

    /// <summary>As the other overload, over gradient arrays.</summary>
    public static ClipResult ClipByNorm(IEnumerable<float[]> gradients, double maxNorm, NormType normType = NormType.Two,
        NonFiniteNorm nonFinite = NonFiniteNorm.Clip) => ClipByNorm(gradients.ToArray(), maxNorm, normType, nonFinite);

    /// <summary>As the other overloads, over an array of gradient arrays: allocates nothing.</summary>
    public static ClipResult ClipByNorm(float[][] gradients, double maxNorm, NormType normType = NormType.Two,
        NonFiniteNorm nonFinite = NonFiniteNorm.Clip)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        if (!(maxNorm >= 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "maxNorm must be >= 0.");
        double total = 0;
        foreach (float[] g in gradients)
        {
            if (normType == NormType.Infinity)
                foreach (float v in g) total = Math.Max(total, double.IsNaN(v) ? double.NaN : Math.Abs(v));
            else
                foreach (float v in g) total += (double)v * v;
            if (double.IsNaN(total)) break;
        }
        if (normType == NormType.Two) total = Math.Sqrt(total);
        if (!double.IsFinite(total))
        {
            if (nonFinite == NonFiniteNorm.Throw)
                throw new ArithmeticException($"The total gradient norm is {total}: a gradient is NaN or infinite.");
            if (nonFinite == NonFiniteNorm.Report) return new ClipResult(total, false);
        }
        double coefficient = maxNorm / (total + 1e-6);
        // A NaN norm clips too, as PyTorch's clamp(max=1) keeps NaN: every gradient becomes NaN, which is what Clip says.
        if (!(coefficient < 1) && !double.IsNaN(coefficient)) return new ClipResult(total, false);
        float scale = (float)coefficient;
        foreach (float[] g in gradients)
            for (int i = 0; i < g.Length; i++) g[i] *= scale;
        return new ClipResult(total, true);
    }

    /// <summary>Clamps every gradient into [-clipValue, clipValue].</summary>
    public static void ClipByValue(IEnumerable<IHasParameters> owners, double clipValue) =>
        ClipByValue(owners.SelectMany(o => o.ParameterBuffers).Select(b => b.Gradients), clipValue);

    /// <summary>As the other overload, over gradient arrays.</summary>
    public static void ClipByValue(IEnumerable<float[]> gradients, double clipValue) => ClipByValue(gradients.ToArray(), clipValue);

    /// <summary>As the other overloads, over an array of gradient arrays: allocates nothing.</summary>
    public static void ClipByValue(float[][] gradients, double clipValue)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        if (!(clipValue >= 0)) throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, "clipValue must be >= 0.");
        foreach (float[] g in gradients)
        {
            float limit = (float)clipValue;
            for (int i = 0; i < g.Length; i++) g[i] = Math.Clamp(g[i], -limit, limit);
        }
    }
}
