using System;
using System.Collections.Generic;
using System.Globalization;

namespace CellGen;

/// <summary>
/// A learning-rate schedule, as <c>torch.optim.lr_scheduler</c>: it sets its optimiser's <see cref="Optimizer.LearningRate"/>
/// from the optimiser's rate when the schedule was made (<see cref="BaseRate"/>) and the steps taken. Call its Step after
/// the optimiser's, as in PyTorch. <see cref="Checkpoint"/> saves and restores it with the optimiser, so that a resumed
/// run goes on with the same rates, bit for bit.
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>Binds the schedule to <paramref name="optimizer"/>; its current rate is the base rate.</summary>
    protected LearningRateSchedule(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        BaseRate = optimizer.LearningRate;
    }

    /// <summary>The optimiser whose rate this sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The rate the schedule starts from (PyTorch's base_lrs).</summary>
    public double BaseRate { get; private set; }

    /// <summary>The steps taken (PyTorch's last_epoch).</summary>
    public int Steps { get; private protected set; }

    /// <summary>The state a checkpoint keeps, as invariant strings: the steps, the base rate and what a schedule adds.</summary>
    internal virtual IEnumerable<(string Name, string Value)> State()
    {
        yield return ("steps", Steps.ToString(CultureInfo.InvariantCulture));
        yield return ("base_rate", BaseRate.ToString("R", CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Checks a checkpoint's state and returns what sets it, so that nothing changes unless all of it is valid (a
    /// message naming the bad entry otherwise).
    /// </summary>
    internal virtual Action? Restorer(IReadOnlyDictionary<string, string> state, out string? problem)
    {
        problem = null;
        if (!state.TryGetValue("steps", out string? stepsText) || !int.TryParse(stepsText, NumberStyles.None, CultureInfo.InvariantCulture, out int steps))
            problem = "its steps are missing or not a whole number >= 0";
        else if (!state.TryGetValue("base_rate", out string? rateText) || !double.TryParse(rateText, NumberStyles.Float, CultureInfo.InvariantCulture, out double rate) || !Optimizer.IsValidRate(rate))
            problem = "its base rate is missing or not a finite number >= 0";
        else
            return () =>
            {
                Steps = steps;
                BaseRate = rate;
            };
        return null;
    }

    /// <summary>Parses a double of a checkpoint's state, or says what is wrong.</summary>
    private protected static bool TryRead(IReadOnlyDictionary<string, string> state, string name, out double value) =>
        state.TryGetValue(name, out string? text) & double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
}

/// <summary>A schedule whose rate is a function of the steps alone: <see cref="Step"/> after each optimiser step.</summary>
public abstract class StepSchedule : LearningRateSchedule
{
    /// <inheritdoc/>
    protected StepSchedule(Optimizer optimizer) : base(optimizer) { }

    /// <summary>Counts a step and sets the optimiser's rate to the rate after it.</summary>
    public void Step()
    {
        Steps++;
        Optimizer.LearningRate = RateAt(Steps);
    }

    /// <summary>The rate after <paramref name="steps"/> steps (in closed form, so that a restored schedule gives the same bits).</summary>
    protected abstract double RateAt(int steps);

    /// <summary>Checks a factor in (0, 1] (or [0, 1] with <paramref name="allowZero"/>) and names it.</summary>
    private protected static double Factor(double value, string name, bool allowZero = false) =>
        (allowZero ? value >= 0 : value > 0) && value <= 1 ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{name} must be in {(allowZero ? "[0" : "(0")}, 1].");
}

/// <summary>The rate times <c>gamma</c> every <c>stepSize</c> steps, as <c>torch.optim.lr_scheduler.StepLR</c>.</summary>
public sealed class StepDecay : StepSchedule
{
    private readonly int _stepSize;
    private readonly double _gamma;

    /// <summary>Multiplies the rate by <paramref name="gamma"/> after every <paramref name="stepSize"/> steps.</summary>
    public StepDecay(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stepSize, 1);
        _stepSize = stepSize;
        _gamma = Factor(gamma, nameof(gamma), allowZero: true);
    }

    /// <inheritdoc/>
    protected override double RateAt(int steps) => BaseRate * Math.Pow(_gamma, steps / _stepSize);
}

/// <summary>The rate times <c>gamma</c> every step, as <c>torch.optim.lr_scheduler.ExponentialLR</c>.</summary>
public sealed class ExponentialDecay : StepSchedule
{
    private readonly double _gamma;

    /// <summary>Multiplies the rate by <paramref name="gamma"/> after every step.</summary>
    public ExponentialDecay(Optimizer optimizer, double gamma) : base(optimizer) => _gamma = Factor(gamma, nameof(gamma), allowZero: true);

    /// <inheritdoc/>
    protected override double RateAt(int steps) => BaseRate * Math.Pow(_gamma, steps);
}

/// <summary>
/// A linear warm-up from <c>startFactor</c> times the rate to the rate over <c>warmup</c> steps, then a half cosine down
/// to <c>minimumRate</c> at step <c>total</c>: PyTorch's <c>SequentialLR([LinearLR(start_factor, total_iters=warmup),
/// CosineAnnealingLR(T_max=total - warmup, eta_min)], milestones=[warmup])</c>, or <c>CosineAnnealingLR</c> alone without warm-up.
/// </summary>
public sealed class CosineDecay : StepSchedule
{
    private readonly int _warmup, _total;
    private readonly double _startFactor, _minimumRate;

    /// <summary>Warms up over <paramref name="warmup"/> steps (0 for none), then decays until step <paramref name="total"/>.</summary>
    public CosineDecay(Optimizer optimizer, int total, int warmup = 0, double startFactor = 0.1, double minimumRate = 0) : base(optimizer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
        if (total <= warmup) throw new ArgumentOutOfRangeException(nameof(total), total, $"total must be more than warmup ({warmup}).");
        _warmup = warmup;
        _total = total;
        _startFactor = Factor(startFactor, nameof(startFactor));
        _minimumRate = Optimizer.IsValidRate(minimumRate) ? minimumRate : throw new ArgumentOutOfRangeException(nameof(minimumRate), minimumRate, "minimumRate must be a finite number >= 0.");
        if (warmup > 0) optimizer.LearningRate = RateAt(0); // LinearLR starts at start_factor times the rate
    }

    /// <inheritdoc/>
    protected override double RateAt(int steps)
    {
        if (steps < _warmup) return BaseRate * (_startFactor + (1 - _startFactor) * steps / _warmup);
        double progress = (double)(steps - _warmup) / (_total - _warmup);
        return _minimumRate + (BaseRate - _minimumRate) * (1 + Math.Cos(Math.PI * progress)) / 2;
    }
}

/// <summary>Whether a smaller or a larger metric is better, for <see cref="ReduceOnPlateau"/>.</summary>
public enum PlateauMode
{
    /// <summary>Smaller is better (a loss).</summary>
    Min,

    /// <summary>Larger is better (an accuracy).</summary>
    Max,
}

/// <summary>
/// The rate times <c>factor</c> when a metric has not improved for more than <c>patience</c> steps, as
/// <c>torch.optim.lr_scheduler.ReduceLROnPlateau</c> (relative or absolute threshold, cooldown, minimum rate).
/// </summary>
public sealed class ReduceOnPlateau : LearningRateSchedule
{
    private readonly PlateauMode _mode;
    private readonly double _factor, _threshold, _minimumRate, _epsilon;
    private readonly int _patience, _cooldown;
    private readonly bool _relative;
    private double _best;
    private int _bad, _cooling;

    /// <summary>Reduces the rate when the metric given to <see cref="Step"/> stalls; the arguments are PyTorch's.</summary>
    public ReduceOnPlateau(Optimizer optimizer, PlateauMode mode = PlateauMode.Min, double factor = 0.1, int patience = 10, double threshold = 1e-4,
        bool relativeThreshold = true, int cooldown = 0, double minimumRate = 0, double epsilon = 1e-8) : base(optimizer)
    {
        if (!(factor > 0 && factor < 1)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "factor must be in (0, 1).");
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        ArgumentOutOfRangeException.ThrowIfNegative(cooldown);
        if (!(threshold >= 0) || double.IsInfinity(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "threshold must be a finite number >= 0.");
        if (!Optimizer.IsValidRate(minimumRate)) throw new ArgumentOutOfRangeException(nameof(minimumRate), minimumRate, "minimumRate must be a finite number >= 0.");
        if (!(epsilon >= 0) || double.IsInfinity(epsilon)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be a finite number >= 0.");
        (_mode, _factor, _patience, _threshold, _relative, _cooldown, _minimumRate, _epsilon) = (mode, factor, patience, threshold, relativeThreshold, cooldown, minimumRate, epsilon);
        _best = mode == PlateauMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
    }

    /// <summary>Counts a step with its metric (a validation loss, say) and reduces the rate if it has stalled.</summary>
    public void Step(double metric)
    {
        Steps++;
        if (IsBetter(metric))
        {
            _best = metric;
            _bad = 0;
        }
        else _bad++;
        if (_cooling > 0)
        {
            _cooling--;
            _bad = 0;
        }
        if (_bad > _patience)
        {
            double old = Optimizer.LearningRate, reduced = Math.Max(old * _factor, _minimumRate);
            if (old - reduced > _epsilon) Optimizer.LearningRate = reduced;
            _cooling = _cooldown;
            _bad = 0;
        }
    }

    private bool IsBetter(double metric) => (_mode, _relative) switch
    {
        (PlateauMode.Min, true) => metric < _best * (1 - _threshold),
        (PlateauMode.Min, false) => metric < _best - _threshold,
        (PlateauMode.Max, true) => metric > _best * (_threshold + 1),
        _ => metric > _best + _threshold,
    };

    internal override IEnumerable<(string Name, string Value)> State()
    {
        foreach ((string, string) entry in base.State()) yield return entry;
        yield return ("best", _best.ToString("R", CultureInfo.InvariantCulture));
        yield return ("bad", _bad.ToString(CultureInfo.InvariantCulture));
        yield return ("cooling", _cooling.ToString(CultureInfo.InvariantCulture));
    }

    internal override Action? Restorer(IReadOnlyDictionary<string, string> state, out string? problem)
    {
        Action? restoreBase = base.Restorer(state, out problem);
        if (restoreBase is null) return null;
        if (!TryRead(state, "best", out double best) || double.IsNaN(best))
            problem = "its best metric is missing or not a number";
        else if (!state.TryGetValue("bad", out string? bad) || !int.TryParse(bad, NumberStyles.None, CultureInfo.InvariantCulture, out int badSteps))
            problem = "its count of steps without improvement is missing or not a whole number >= 0";
        else if (!state.TryGetValue("cooling", out string? cooling) || !int.TryParse(cooling, NumberStyles.None, CultureInfo.InvariantCulture, out int coolingSteps))
            problem = "its cooldown count is missing or not a whole number >= 0";
        else
            return () =>
            {
                restoreBase();
                (_best, _bad, _cooling) = (best, badSteps, coolingSteps);
            };
        return null;
    }
}
