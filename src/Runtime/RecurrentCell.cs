using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;

namespace CellGen;

/// <summary>
/// The base of every generated cell: its sizes, its parameters by name (with gradients), and runners that execute it
/// over batches of sequences. <typeparamref name="T"/> is float for cells in use (double for the verification variant).
/// </summary>
public abstract class RecurrentCell<T> : IHasParameters where T : unmanaged, INumberBase<T>
{
    private readonly List<Parameter<T>> _parameters = new();
    private readonly List<(T[] Values, T[] Gradients)> _storage = new();

    /// <summary>Creates a cell for inputs of <paramref name="inputSize"/> values and states of <paramref name="hiddenSize"/>.</summary>
    protected RecurrentCell(int inputSize, int hiddenSize)
    {
        if (inputSize <= 0) throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "The input size must be positive.");
        if (hiddenSize <= 0) throw new ArgumentOutOfRangeException(nameof(hiddenSize), hiddenSize, "The hidden size must be positive.");
        InputSize = inputSize;
        HiddenSize = hiddenSize;
    }

    /// <summary>X: the size of the input at each step.</summary>
    public int InputSize { get; }

    /// <summary>H: the size of every state.</summary>
    public int HiddenSize { get; }

    /// <summary>The equations the cell was generated from.</summary>
    public abstract IReadOnlyList<string> Equations { get; }

    /// <summary>The states, in the order of their equations; state buffers [S, B, H] use this order.</summary>
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

    /// <summary>Creates a runner for batches of <paramref name="batchSize"/> sequences of at most <paramref name="maxSteps"/> steps.</summary>
    public abstract SequenceRunner<T> CreateRunner(int maxSteps, int batchSize);

    /// <summary>Allocates a packed parameter buffer and its gradient.</summary>
    protected (T[] Values, T[] Gradients) AllocateStorage(int length)
    {
        var pair = (new T[length], new T[length]);
        _storage.Add(pair);
        return pair;
    }

    /// <summary>Registers a parameter view.</summary>
    protected void AddParameter(string name, int[] shape, params ParameterBlock<T>[] blocks) =>
        _parameters.Add(new Parameter<T>(name, shape, blocks));
}
