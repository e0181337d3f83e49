using System;

namespace CellGen;

/// <summary>
/// Truncated backpropagation through time over a long or streaming sequence (Williams and Peng 1990; Sutskever 2013):
/// every <see cref="K1"/> new steps, the cell runs forward over the last <see cref="K2"/> steps from the state it had
/// at their start, and the gradients of the losses of the <see cref="K1"/> new steps flow back through those
/// <see cref="K2"/> steps. States carry across chunks. K2 must be a multiple of K1 (K1 = K2 is the common case).
/// </summary>
public sealed class TruncatedBptt
{
    private readonly RecurrentCell<float> _cell;
    private readonly SequenceRunner<float> _runner;
    private readonly int _batch, _perStepInputs, _perStepOutputs, _stateValues;
    private readonly float[] _windowInputs, _windowOutputs, _windowOutputGradients, _final;
    private readonly float[][] _stateAtChunk; // ring: the state at the start of each chunk in the window
    private int _chunks;

    /// <summary>Creates the trainer for <paramref name="batchSize"/> streams run side by side.</summary>
    public TruncatedBptt(RecurrentCell<float> cell, int batchSize, int k1, int k2)
    {
        ArgumentNullException.ThrowIfNull(cell);
        if (k1 <= 0) throw new ArgumentOutOfRangeException(nameof(k1), k1, "k1 must be positive.");
        if (k2 < k1 || k2 % k1 != 0) throw new ArgumentOutOfRangeException(nameof(k2), k2, $"k2 must be a multiple of k1 = {k1}.");
        _cell = cell;
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "TruncatedBptt needs at least one stream.");
        _batch = batchSize;
        K1 = k1;
        K2 = k2;
        _runner = cell.CreateRunner(k2, batchSize);
        _perStepInputs = batchSize * cell.InputSize;
        _perStepOutputs = batchSize * cell.OutputSize;
        _stateValues = cell.StateValues(batchSize);
        _windowInputs = new float[k2 * _perStepInputs];
        _windowOutputs = new float[k2 * _perStepOutputs];
        _windowOutputGradients = new float[k2 * _perStepOutputs];
        _final = new float[_stateValues];
        _stateAtChunk = new float[k2 / k1 + 1][];
        for (int i = 0; i < _stateAtChunk.Length; i++) _stateAtChunk[i] = new float[_stateValues];
    }

    /// <summary>Steps between updates.</summary>
    public int K1 { get; }

    /// <summary>Steps the gradient flows back.</summary>
    public int K2 { get; }

    /// <summary>The states after the last chunk, [S, B, H].</summary>
    public ReadOnlySpan<float> States => _stateAtChunk[_chunks % _stateAtChunk.Length];

    /// <summary>Starts new streams from <paramref name="initialStates"/> [S, B, H] (empty for zeros).</summary>
    public void Reset(ReadOnlySpan<float> initialStates = default)
    {
        _chunks = 0;
        if (initialStates.IsEmpty) Array.Clear(_stateAtChunk[0]);
        else if (initialStates.Length != _stateValues)
            throw new ArgumentException($"initialStates has {initialStates.Length} values; expected every state [B, its size], one after another = {_stateValues}.", nameof(initialStates));
        else initialStates.CopyTo(_stateAtChunk[0]);
    }

    /// <summary>
    /// Runs the next <see cref="K1"/> steps (inputs [K1, B, X]) with a recorded tape and writes their outputs
    /// [K1, B, H]; call <see cref="Backward"/> next with their output gradients.
    /// </summary>
    public void Forward(ReadOnlySpan<float> inputs, Span<float> outputs)
    {
        if (inputs.Length != K1 * _perStepInputs) throw new ArgumentException($"inputs has {inputs.Length} values; expected [K1={K1}, B={_batch}, X={_cell.InputSize}].", nameof(inputs));
        if (outputs.Length != K1 * _perStepOutputs) throw new ArgumentException($"outputs has {outputs.Length} values; expected [K1={K1}, B={_batch}, {_cell.OutputSize}].", nameof(outputs));
        // Slide the window of inputs by K1 steps.
        int window = Window(_chunks + 1);
        int kept = (window - K1) * _perStepInputs;
        _windowInputs.AsSpan(_windowInputs.Length - kept, kept).CopyTo(_windowInputs.AsSpan(_windowInputs.Length - kept - K1 * _perStepInputs));
        inputs.CopyTo(_windowInputs.AsSpan(_windowInputs.Length - K1 * _perStepInputs));
        int first = _chunks + 1 - window / K1; // the chunk the window starts at
        ReadOnlySpan<float> start = _stateAtChunk[first % _stateAtChunk.Length];
        Span<float> windowInputs = _windowInputs.AsSpan(_windowInputs.Length - window * _perStepInputs);
        Span<float> windowOutputs = _windowOutputs.AsSpan(0, window * _perStepOutputs);
        _runner.ForwardTraining(windowInputs, _batch, start, windowOutputs, _final);
        windowOutputs.Slice((window - K1) * _perStepOutputs).CopyTo(outputs);
        _chunks++;
        _final.CopyTo(_stateAtChunk[_chunks % _stateAtChunk.Length]);
    }

    /// <summary>Back-propagates the gradients of the last K1 outputs [K1, B, H] through the window; accumulates parameter gradients.</summary>
    public void Backward(ReadOnlySpan<float> outputGradients)
    {
        if (outputGradients.Length != K1 * _perStepOutputs)
            throw new ArgumentException($"outputGradients has {outputGradients.Length} values; expected [K1={K1}, B={_batch}, {_cell.OutputSize}].", nameof(outputGradients));
        if (_chunks == 0) throw new InvalidOperationException("Backward needs a Forward first.");
        int window = Window(_chunks);
        Span<float> gradients = _windowOutputGradients.AsSpan(0, window * _perStepOutputs);
        gradients.Slice(0, (window - K1) * _perStepOutputs).Clear();
        outputGradients.CopyTo(gradients.Slice((window - K1) * _perStepOutputs));
        _runner.Backward(gradients, default, default, default);
    }

    /// <summary>The window at chunk <paramref name="chunk"/> (1-based): K2 steps, or fewer at the start of a stream.</summary>
    private int Window(int chunk) => Math.Min(K2, chunk * K1);
}
