using System;
using System.Collections.Generic;
using System.Linq;

namespace CellGen;

/// <summary>
/// Modules run one after another, as PyTorch's nn.Sequential: Forward runs them in order, Backward in reverse order,
/// each reading the gradients the next one wrote. Its parameters are named "0.", "1.", ... after each module's place.
/// </summary>
public sealed class Sequential : Module
{
    private readonly Module[] _modules;
    private readonly Activations _input = new() { RequiresGradient = false };

    /// <summary>Composes <paramref name="modules"/>, input first.</summary>
    public Sequential(params Module[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        if (modules.Length == 0) throw new ArgumentException("A Sequential needs at least one module.", nameof(modules));
        for (int i = 0; i < modules.Length; i++)
            if (modules[i] is null) throw new ArgumentException($"Module {i} is null.", nameof(modules));
        if (modules.Distinct().Count() != modules.Length)
            throw new ArgumentException("The same module is given twice: each module has one output buffer, so it can appear once.", nameof(modules));
        _modules = modules;
    }

    /// <summary>The modules, input first.</summary>
    public IReadOnlyList<Module> Modules => _modules;

    /// <summary>The last module's output.</summary>
    public override Activations Output => _modules[^1].Output;

    /// <inheritdoc/>
    public override int? InputWidth => _modules[0].InputWidth;

    /// <summary>
    /// Whether the float inputs and token ids given to Forward are batch-first, [B, T, X] and [B, T], as PyTorch's
    /// <c>batch_first=True</c>; they are then read into the time-major layout the modules run on. The outputs stay
    /// time-major, [T, B, W] ([B, W] after a <see cref="LastStep"/>), and so do per-step targets.
    /// </summary>
    public bool BatchFirst { get; init; }

    private float[] _transposed = Array.Empty<float>();
    private int[] _transposedTokens = Array.Empty<int>();

    /// <summary>[B, T, W] to [T, B, W] into <paramref name="buffer"/> (grown once), T from the length.</summary>
    private static ReadOnlySpan<T> TimeMajor<T>(ReadOnlySpan<T> values, int batchSize, int width, ReadOnlySpan<int> lengths, ref T[] buffer, string name)
    {
        int steps = Activations.StepsOf(values.Length, batchSize, width, lengths, name);
        if (buffer.Length < values.Length) buffer = new T[values.Length];
        Span<T> target = buffer.AsSpan(0, values.Length);
        for (int b = 0; b < batchSize; b++)
            for (int t = 0; t < steps; t++)
                values.Slice((b * steps + t) * width, width).CopyTo(target.Slice((t * batchSize + b) * width, width));
        return target;
    }

    /// <summary>Runs <paramref name="batchSize"/> sequences [T, B, X] of floats (T from the length), X the first module's input width.</summary>
    public Activations Forward(ReadOnlySpan<float> inputs, int batchSize, bool training) => Forward(inputs, batchSize, default, training);

    /// <summary>Runs sequences [T, B, X] of different lengths, padded to T: one per entry of <paramref name="lengths"/>.</summary>
    public Activations Forward(ReadOnlySpan<float> inputs, ReadOnlySpan<int> lengths, bool training) => Forward(inputs, lengths.Length, lengths, training);

    /// <summary>Runs <paramref name="batchSize"/> sequences of token ids [T, B]; the first module must be an <see cref="Embedding"/>.</summary>
    public Activations Forward(ReadOnlySpan<int> tokens, int batchSize, bool training) => Forward(tokens, batchSize, default, training);

    /// <summary>Runs sequences of token ids [T, B] of different lengths, one per entry of <paramref name="lengths"/>.</summary>
    public Activations Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> lengths, bool training) => Forward(tokens, lengths.Length, lengths, training);

    private Activations Forward(ReadOnlySpan<float> inputs, int batchSize, ReadOnlySpan<int> lengths, bool training)
    {
        if (_modules[0] is Embedding) throw new InvalidOperationException("The first module is an Embedding, which reads token ids: call Forward with int tokens [T, B].");
        int width = InputWidth ?? throw new InvalidOperationException($"The first module, {_modules[0].GetType().Name}, does not say its input width: give it Activations.");
        if (BatchFirst) inputs = TimeMajor(inputs, batchSize, width, lengths, ref _transposed, nameof(inputs));
        _input.SetSequences(inputs, batchSize, width, lengths, nameof(inputs));
        return Forward(_input, training);
    }

    private Activations Forward(ReadOnlySpan<int> tokens, int batchSize, ReadOnlySpan<int> lengths, bool training)
    {
        if (_modules[0] is not Embedding embedding)
            throw new InvalidOperationException($"Token ids go to an Embedding; the first module is a {_modules[0].GetType().Name}: give it floats.");
        using (Enter(nameof(Forward)))
        {
            Forget();
            try
            {
                if (BatchFirst) tokens = TimeMajor(tokens, batchSize, 1, lengths, ref _transposedTokens, nameof(tokens));
                embedding.Forward(tokens, batchSize, lengths);
            }
            catch
            {
                ForgetAll();
                throw;
            }
            Activations output = RunFrom(1, embedding.Output, training, embedding);
            Record(embedding.Output, training);
            return output;
        }
    }

    /// <inheritdoc/>
    protected override void ForwardCore(Activations input, bool training) => RunFrom(0, input, training, first: null);

    private Activations RunFrom(int start, Activations input, bool training, Embedding? first)
    {
        _first = first;
        Activations current = input;
        try
        {
            for (int i = start; i < _modules.Length; i++) current = _modules[i].Forward(current, training);
        }
        catch
        {
            ForgetAll(); // the modules after the one that failed still hold the last batch: none may run Backward on it
            throw;
        }
        return current;
    }

    private void ForgetAll()
    {
        foreach (Module module in _modules) module.Forget();
    }

    internal override bool GradientsSeeded
    {
        get
        {
            foreach (Module module in _modules)
                if (module.GradientsSeeded) return true;
            return false;
        }
    }

    private Embedding? _first; // the embedding fed token ids by the last Forward, if any

    /// <inheritdoc/>
    protected override void BackwardCore(Activations input)
    {
        for (int i = _modules.Length - 1; i >= 0; i--)
        {
            if (i == 0 && _first is not null) _first.BackwardTokens();
            else _modules[i].Backward();
        }
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Func<ulong> Get, Action<ulong> Set)> NamedGeneratorsCore(string prefix) =>
        _modules.SelectMany((m, i) => m.NamedGenerators($"{prefix}{i}."));

    /// <summary>
    /// The modules of <paramref name="module"/> that are not Sequentials, in order, each under the name prefix
    /// nn.Sequential would give it ("0.", "1.", nested "1.0."); any other module is itself.
    /// </summary>
    internal static IEnumerable<(string Prefix, Module Module)> Leaves(Module module, string prefix)
    {
        if (module is not Sequential sequential)
        {
            yield return (prefix, module);
            yield break;
        }
        for (int i = 0; i < sequential._modules.Length; i++)
            foreach ((string Prefix, Module Module) leaf in Leaves(sequential._modules[i], $"{prefix}{i}."))
                yield return leaf;
    }

    /// <inheritdoc/>
    public override IEnumerable<ParameterBuffer> ParameterBuffers => _modules.SelectMany(m => m.ParameterBuffers);

    /// <inheritdoc/>
    protected override IEnumerable<KeyValuePair<string, Parameter<float>>> NamedParametersCore(string prefix) =>
        _modules.SelectMany((m, i) => m.NamedParameters($"{prefix}{i}."));
}
