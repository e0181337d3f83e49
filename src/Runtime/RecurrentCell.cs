using System.Collections.Generic;
using System.ComponentModel;
using System.Linq;
using System.Numerics;
using System;
using CellGen.CompilerServices;

namespace CellGen;

/// <summary>
/// The base of every generated cell: its sizes, its parameters by name (with gradients), and runners that execute it
/// over batches of sequences. <typeparamref name="T"/> is float for cells in use (double for the verification variant).
/// </summary>
public abstract class RecurrentCell<T> : IHasParameters where T : unmanaged, INumberBase<T>
{
    private readonly List<Parameter<T>> _parameters = new();
    private readonly List<(T[] Values, T[] Gradients)> _storage = new();
    private readonly List<CellDropout> _dropouts = new();
    private int[]? _stateSizes;
    private int _outputState = -1;
    private IReadOnlyDictionary<string, int> _sizes = new Dictionary<string, int>();

    /// <summary>Creates a cell for inputs of <paramref name="inputSize"/> values and states of <paramref name="hiddenSize"/>.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected RecurrentCell(int inputSize, int hiddenSize)
    {
        if (inputSize <= 0) throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "The input size must be positive.");
        if (hiddenSize <= 0) throw new ArgumentOutOfRangeException(nameof(hiddenSize), hiddenSize, "The hidden size must be positive.");
        if (inputSize > MaxSize) throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, $"The input size can be at most {MaxSize}.");
        if (hiddenSize > MaxSize) throw new ArgumentOutOfRangeException(nameof(hiddenSize), hiddenSize, $"The hidden size can be at most {MaxSize}.");
        InputSize = inputSize;
        HiddenSize = hiddenSize;
    }

    /// <summary>
    /// The largest input, hidden or declared size: 2^24, so that a buffer's width (a few sizes added, each times a few
    /// gates) is an int; whether its storage fits an array is checked when it is allocated.
    /// </summary>
    public const int MaxSize = 1 << 24;

    /// <summary>X: the size of the input at each step.</summary>
    public int InputSize { get; }

    /// <summary>H: the size of every state, intermediate and parameter vector whose size the cell does not declare.</summary>
    public int HiddenSize { get; }

    /// <summary>The sizes the cell declares with <c>[Size("name", "P")]</c>, by name (P), as given to its constructor.</summary>
    public IReadOnlyDictionary<string, int> Sizes => _sizes;

    /// <summary>The size of each state, in <see cref="StateNames"/> order: <see cref="HiddenSize"/> unless declared.</summary>
    public IReadOnlyList<int> StateSizes => _stateSizes ??= Enumerable.Repeat(HiddenSize, StateNames.Count).ToArray();

    /// <summary>The size of the output at each step: the size of the state <see cref="OutputName"/>.</summary>
    public int OutputSize => StateSizes[_outputState >= 0 ? _outputState : _outputState = StateIndex(OutputName)];

    /// <summary>The values of one set of states of <paramref name="batchSize"/> sequences: [S, B, size] laid one state after another.</summary>
    public int StateValues(int batchSize)
    {
        IReadOnlyList<int> sizes = StateSizes; // indexed, not enumerated: a foreach over the interface would allocate
        int sum = 0;
        for (int s = 0; s < sizes.Count; s++) sum += sizes[s];
        return sum * batchSize;
    }

    /// <summary>Where state <paramref name="state"/> starts in a state buffer of <paramref name="batchSize"/> sequences.</summary>
    public int StateOffset(int state, int batchSize)
    {
        int offset = 0;
        for (int s = 0; s < state; s++) offset += StateSizes[s];
        return offset * batchSize;
    }

    /// <summary>The equations the cell was generated from.</summary>
    public abstract IReadOnlyList<string> Equations { get; }

    /// <summary>The states, in the order of their equations; state buffers use this order, each state [B, its size].</summary>
    public abstract IReadOnlyList<string> StateNames { get; }

    /// <summary>The state whose value at each step is the output.</summary>
    public abstract string OutputName { get; }

    /// <summary>Every parameter, in the order the equations first use them.</summary>
    public IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>The parameter called <paramref name="name"/> in the equations.</summary>
    /// <exception cref="ArgumentException">No parameter has that name.</exception>
    public Parameter<T> Parameter(string name)
    {
        foreach (Parameter<T> parameter in _parameters)
            if (parameter.Name == name) return parameter;
        throw new ArgumentException(
            $"{GetType().Name} has no parameter '{name}'. Its parameters are: {string.Join(", ", _parameters.Select(p => p.Name))}.", nameof(name));
    }

    /// <summary>The position of a state in state buffers [S, B, H].</summary>
    /// <exception cref="ArgumentException">No state has that name.</exception>
    public int StateIndex(string name)
    {
        for (int i = 0; i < StateNames.Count; i++)
            if (StateNames[i] == name) return i;
        throw new ArgumentException($"{GetType().Name} has no state '{name}'. Its states are: {string.Join(", ", StateNames)}.", nameof(name));
    }

    /// <summary>
    /// Draws every parameter from U(-1/√H, 1/√H), as PyTorch's recurrent modules (nn.RNN, nn.LSTM, nn.GRU) initialise
    /// theirs; generated constructors call this, so a new cell is never all zeros. The draws come from
    /// <paramref name="random"/>, or from the generator that <see cref="Initializers.ManualSeed"/> seeds.
    /// </summary>
    public void ResetParameters(Random? random = null)
    {
        double bound = 1 / Math.Sqrt(HiddenSize);
        foreach (Parameter<T> parameter in _parameters)
        {
            var values = new T[parameter.Length];
            Initializers.Uniform(values, bound, random);
            parameter.CopyFrom(values);
        }
    }

    /// <summary>
    /// The regularisation the cell declares with [Zoneout] and [VariationalDropout], in the order of the attributes:
    /// set a Probability to change it for the next passes (0 turns it off).
    /// </summary>
    public IReadOnlyList<CellDropout> Dropouts => _dropouts;

    /// <summary>Registers one [Zoneout] or [VariationalDropout] (generated constructors call this).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected void AddDropout(CellDropoutKind kind, string state, double probability) =>
        _dropouts.Add(new CellDropout(kind, state, probability));

    /// <summary>The packed storage of all parameters and their gradients (for optimisers: elementwise updates).</summary>
    public IReadOnlyList<(T[] Values, T[] Gradients)> Storage => _storage;

    /// <summary>The packed float buffers, for optimisers and clipping (float cells only: double is for verification).</summary>
    /// <exception cref="NotSupportedException">The cell is not a float cell.</exception>
    public IEnumerable<ParameterBuffer> ParameterBuffers =>
        typeof(T) == typeof(float)
            ? _storage.Select(s => new ParameterBuffer((float[])(object)s.Values, (float[])(object)s.Gradients))
            : throw new NotSupportedException("Optimisers train float cells; the double variant of a cell is for verifying gradients.");

    /// <summary>Clears every gradient; backward passes accumulate until this is called.</summary>
    public void ZeroGradients()
    {
        foreach ((T[] _, T[] gradients) in _storage) Array.Clear(gradients);
    }

    /// <summary>Creates a runner for batches of up to <paramref name="maxBatchSize"/> sequences of up to <paramref name="maxSteps"/> steps
    /// (each call says its own batch size); its buffers are allocated here, once.</summary>
    public abstract SequenceRunner<T> CreateRunner(int maxSteps, int maxBatchSize);

    /// <summary>
    /// Allocates a packed parameter buffer and its gradient; the length is computed in 64 bits by the caller, so that a
    /// cell too large for an array is an exception naming its sizes, never a wrapped length.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected (T[] Values, T[] Gradients) AllocateStorage(long length)
    {
        if (length > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(length), length,
                $"{GetType().Name} with inputSize = {InputSize} and hiddenSize = {HiddenSize} needs {length} values in one parameter buffer, more than an array holds ({Array.MaxLength}): use smaller sizes.");
        var pair = (new T[(int)length], new T[(int)length]);
        _storage.Add(pair);
        return pair;
    }

    /// <summary>Records the sizes declared with [Size] and the size of each state (generated constructors call this).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected void DeclareSizes(string[] names, int[] values, int[] stateSizes)
    {
        var sizes = new Dictionary<string, int>();
        for (int i = 0; i < names.Length; i++) sizes[names[i]] = values[i];
        _sizes = sizes;
        _stateSizes = stateSizes;
    }

    /// <summary>Registers a parameter view.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected void AddParameter(string name, int[] shape, params ParameterBlock<T>[] blocks) =>
        _parameters.Add(new Parameter<T>(name, shape, blocks));
}
