using System.Collections.Generic;
using System.Linq;
using System;
using CellGen.CompilerServices;

namespace CellGen;

/// <summary>The base of the optimisers: one update rule applied to every buffer, allocation-free per step.</summary>
public abstract class Optimizer
{
    /// <summary>Collects the buffers of every owner.</summary>
    protected Optimizer(IEnumerable<IHasParameters> owners)
    {
        ArgumentNullException.ThrowIfNull(owners);
        var list = owners.ToList();
        int missing = list.IndexOf(null!);
        if (missing >= 0) throw new ArgumentException($"Owner {missing} of the parameters is null.", nameof(owners));
        Buffers = list.SelectMany(o => o.ParameterBuffers).ToArray();
        if (Buffers.Length == 0) throw new ArgumentException("There are no parameters to optimise.", nameof(owners));
        // PyTorch refuses a parameter given twice: it would be updated twice per step.
        var seen = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
        foreach (ParameterBuffer buffer in Buffers)
            if (!seen.Add(buffer.Values))
                throw new ArgumentException("The same parameters are given twice (one cell or layer is listed twice, or inside two owners): each must be optimised once.", nameof(owners));
        _gradients = Buffers.Select(b => b.Gradients).ToArray();
    }

    private readonly float[][] _gradients;

    /// <summary>The buffers this optimiser updates.</summary>
    protected ParameterBuffer[] Buffers { get; }

    /// <summary>How many steps have been taken.</summary>
    public int Steps { get; private set; }

    /// <summary>The learning rate, a finite number ≥ 0; may be changed between steps (schedules). Hyper-parameters are doubles, as Python's floats; the updates compute in float32.</summary>
    public double LearningRate
    {
        get => _learningRate;
        set => _learningRate = Check(value, nameof(LearningRate));
    }

    private double _learningRate;

    /// <summary>Updates every parameter from its gradient.</summary>
    public void Step()
    {
        Steps++;
        for (int b = 0; b < Buffers.Length; b++) Update(b, Buffers[b].Values, Buffers[b].Gradients);
    }

    /// <summary>Clips the gradients of this optimiser's parameters by their global norm (see <see cref="Clipping"/>), without allocating.</summary>
    public ClipResult ClipGradientsByNorm(double maxNorm, NormType normType = NormType.Two, NonFiniteNorm nonFinite = NonFiniteNorm.Clip) =>
        Clipping.ClipByNorm(_gradients, maxNorm, normType, nonFinite);

    /// <summary>Clamps the gradients of this optimiser's parameters into [-clipValue, clipValue], without allocating.</summary>
    public void ClipGradientsByValue(double clipValue) => Clipping.ClipByValue(_gradients, clipValue);

    /// <summary>Clears every gradient.</summary>
    public void ZeroGradients()
    {
        foreach (ParameterBuffer buffer in Buffers) Array.Clear(buffer.Gradients);
    }

    /// <summary>The prefix of the optimiser's tensors in a checkpoint.</summary>
    internal const string StatePrefix = "optimizer.";

    /// <summary>The optimiser's state as tensors, for checkpoints: "optimizer.N.name" per parameter buffer N.</summary>
    internal IEnumerable<KeyValuePair<string, Parameter<float>>> StateTensors() =>
        StateBuffers().SelectMany(state => state.Buffers.Select((values, b) => KeyValuePair.Create($"{StatePrefix}{b}.{state.Name}",
            new Parameter<float>(state.Name, new[] { values.Length }, new[] { new ParameterBlock<float>(values, values, 0, 1, 0, 0) }))));

    /// <summary>The state buffers of the update rule, by the name PyTorch's state_dict gives them.</summary>
    private protected abstract IEnumerable<(string Name, float[][] Buffers)> StateBuffers();

    /// <summary>Sets the steps taken and the learning rate, as a checkpoint recorded them.</summary>
    internal void Restore(int steps, double learningRate)
    {
        LearningRate = learningRate;
        Steps = steps;
    }

    /// <summary>One buffer's update at step <see cref="Steps"/>.</summary>
    protected abstract void Update(int buffer, Span<float> values, ReadOnlySpan<float> gradients);

    /// <summary>A state buffer per parameter buffer (momentum, moments), allocated once.</summary>
    protected float[][] StateLike() => Buffers.Select(b => new float[b.Values.Length]).ToArray();

    /// <summary>A learning rate or option an optimiser takes: finite and not negative.</summary>
    internal static bool IsValidRate(double value) => value >= 0 && value <= float.MaxValue; // finite in float32, where the updates compute

    /// <summary>Checks an option and names it when it is out of range.</summary>
    protected static double Check(double value, string name, bool allowZero = true)
    {
        if (!IsValidRate(value) || (!allowZero && value == 0))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number {(allowZero ? ">= 0" : "> 0")} (finite in float32: at most {float.MaxValue}).");
        return value;
    }
}

/// <summary>Stochastic gradient descent with PyTorch's rules: weight decay, momentum with dampening, Nesterov.</summary>
public sealed class Sgd : Optimizer
{
    private readonly float _momentum, _dampening, _weightDecay; // as float32: the update computes in float32
    private readonly bool _nesterov;
    private readonly float[][]? _velocity;

    /// <summary>Creates the optimiser over the parameters of <paramref name="owners"/>.</summary>
    public Sgd(IEnumerable<IHasParameters> owners, double learningRate, double momentum = 0, double dampening = 0, bool nesterov = false, double weightDecay = 0)
        : base(owners)
    {
        LearningRate = Check(learningRate, nameof(learningRate));
        _momentum = (float)Check(momentum, nameof(momentum));
        _dampening = (float)Check(dampening, nameof(dampening));
        _weightDecay = (float)Check(weightDecay, nameof(weightDecay));
        if (nesterov && (momentum == 0 || dampening != 0))
            throw new ArgumentException("Nesterov momentum needs momentum > 0 and dampening 0 (as in PyTorch).", nameof(nesterov));
        _nesterov = nesterov;
        if (momentum != 0) _velocity = StateLike();
    }

    private protected override IEnumerable<(string Name, float[][] Buffers)> StateBuffers() =>
        _velocity is null ? Enumerable.Empty<(string, float[][])>() : new[] { ("momentum_buffer", _velocity) };

    /// <inheritdoc/>
    protected override void Update(int buffer, Span<float> values, ReadOnlySpan<float> gradients)
    {
        float lr = (float)LearningRate;
        float[]? velocity = _velocity?[buffer];
        bool first = Steps == 1;
        for (int i = 0; i < values.Length; i++)
        {
            float d = gradients[i] + _weightDecay * values[i];
            if (velocity is not null)
            {
                velocity[i] = first ? d : _momentum * velocity[i] + (1 - _dampening) * d;
                d = _nesterov ? d + _momentum * velocity[i] : velocity[i];
            }
            values[i] -= lr * d;
        }
    }
}

/// <summary>
/// Adam (Kingma and Ba 2015) with PyTorch's rules; with <c>decoupled</c> it is AdamW (Loshchilov and Hutter 2019),
/// whose weight decay shrinks the parameters directly instead of adding to the gradient.
/// </summary>
public sealed class Adam : Optimizer
{
    private readonly float _beta1, _beta2, _epsilon, _weightDecay;
    private readonly bool _decoupled;
    private readonly float[][] _m, _v;

    /// <summary>Creates the optimiser over the parameters of <paramref name="owners"/>.</summary>
    public Adam(IEnumerable<IHasParameters> owners, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double epsilon = 1e-8, double weightDecay = 0, bool decoupled = false)
        : base(owners)
    {
        LearningRate = Check(learningRate, nameof(learningRate));
        _beta1 = (float)Check(beta1, nameof(beta1));
        _beta2 = (float)Check(beta2, nameof(beta2));
        if (_beta1 >= 1) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "beta1 must be below 1.");
        if (_beta2 >= 1) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "beta2 must be below 1.");
        _epsilon = (float)Check(epsilon, nameof(epsilon));
        _weightDecay = (float)Check(weightDecay, nameof(weightDecay));
        _decoupled = decoupled;
        _m = StateLike();
        _v = StateLike();
    }

    private protected override IEnumerable<(string Name, float[][] Buffers)> StateBuffers() => new[] { ("exp_avg", _m), ("exp_avg_sq", _v) };

    /// <summary>AdamW: Adam with decoupled weight decay (PyTorch's default decay 0.01).</summary>
    public static Adam W(IEnumerable<IHasParameters> owners, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double epsilon = 1e-8, double weightDecay = 1e-2) =>
        new(owners, learningRate, beta1, beta2, epsilon, weightDecay, decoupled: true);

    /// <inheritdoc/>
    protected override void Update(int buffer, Span<float> values, ReadOnlySpan<float> gradients)
    {
        float lr = (float)LearningRate;
        float[] m = _m[buffer], v = _v[buffer];
        double correction1 = 1 - Math.Pow(_beta1, Steps), correction2 = 1 - Math.Pow(_beta2, Steps);
        float stepSize = (float)(lr / correction1);
        float root2 = (float)Math.Sqrt(correction2);
        float shrink = _decoupled ? 1 - lr * _weightDecay : 1;
        float coupled = _decoupled ? 0 : _weightDecay;
        for (int i = 0; i < values.Length; i++)
        {
            float p = values[i] * shrink;
            float g = gradients[i] + coupled * values[i];
            m[i] = _beta1 * m[i] + (1 - _beta1) * g;
            v[i] = _beta2 * v[i] + (1 - _beta2) * g * g;
            values[i] = p - stepSize * m[i] / (MathF.Sqrt(v[i]) / root2 + _epsilon);
        }
    }
}
