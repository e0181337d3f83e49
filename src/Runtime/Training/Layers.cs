using System;
using System.Collections.Generic;
using System.Linq;

namespace CellGen;

/// <summary>
/// One recurrent layer over time-major sequences [T, B, X]: a cell run forward in time, and with
/// <c>bidirectional</c> a second cell run over each sequence reversed (within its own length); the outputs are
/// concatenated per step, [T, B, 2H] (forward first).
/// </summary>
public sealed class RecurrentLayer : IHasParameters
{
    private readonly SequenceRunner<float> _forward;
    private readonly SequenceRunner<float>? _backward;
    private readonly float[] _outputs, _reversedInputs, _reversedOutputs, _gradient, _reversedGradient, _inputGradient;
    private readonly int[] _lengths;
    private int _steps, _batch; // T and B of the last run

    /// <summary>Creates the layer; <paramref name="create"/> makes a cell from (input size, hidden size).</summary>
    public RecurrentLayer(Func<int, int, RecurrentCell<float>> create, int inputSize, int hiddenSize, int maxSteps, int maxBatchSize, bool bidirectional = false)
    {
        ArgumentNullException.ThrowIfNull(create);
        Forward = create(inputSize, hiddenSize);
        Reverse = bidirectional ? create(inputSize, hiddenSize) : null;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        MaxBatchSize = maxBatchSize;
        MaxSteps = maxSteps;
        _forward = Forward.CreateRunner(maxSteps, maxBatchSize);
        _backward = Reverse?.CreateRunner(maxSteps, maxBatchSize);
        int perStepOut = maxBatchSize * Forward.OutputSize, perStepIn = maxBatchSize * inputSize;
        _outputs = new float[maxSteps * perStepOut];
        _gradient = new float[maxSteps * perStepOut];
        _reversedInputs = new float[bidirectional ? maxSteps * perStepIn : 0];
        _reversedOutputs = new float[bidirectional ? maxSteps * perStepOut : 0];
        _reversedGradient = new float[bidirectional ? maxSteps * perStepOut : 0];
        _inputGradient = new float[bidirectional ? maxSteps * perStepIn : 0];
        _lengths = new int[maxBatchSize];
    }

    /// <summary>The cell run forward in time.</summary>
    public RecurrentCell<float> Forward { get; }

    /// <summary>The cell run backward in time, when bidirectional.</summary>
    public RecurrentCell<float>? Reverse { get; }

    /// <summary>X.</summary>
    public int InputSize { get; }

    /// <summary>H of each direction.</summary>
    public int HiddenSize { get; }

    /// <summary>The most sequences a run can take (each run says its own B, up to this).</summary>
    public int MaxBatchSize { get; }

    /// <summary>The most steps.</summary>
    public int MaxSteps { get; }

    /// <summary>The cell's output size (H unless it declares another), twice that when bidirectional.</summary>
    public int OutputSize => Reverse is null ? Forward.OutputSize : 2 * Forward.OutputSize;

    /// <inheritdoc/>
    public IEnumerable<ParameterBuffer> ParameterBuffers =>
        Reverse is null ? Forward.ParameterBuffers : Forward.ParameterBuffers.Concat(Reverse.ParameterBuffers);

    /// <summary>Runs the layer over <paramref name="batchSize"/> sequences of T steps: inputs [T, B, X] to outputs [T, B, OutputSize].</summary>
    public void Run(ReadOnlySpan<float> inputs, int batchSize, Span<float> outputs, bool training) =>
        Run(inputs, batchSize, default, outputs, training);

    /// <summary>Runs the layer over sequences of different lengths padded to T, one per entry of <paramref name="lengths"/>
    /// (B is its length): inputs [T, B, X] to outputs [T, B, OutputSize], zero past each sequence's end.</summary>
    public void Run(ReadOnlySpan<float> inputs, ReadOnlySpan<int> lengths, Span<float> outputs, bool training) =>
        Run(inputs, lengths.IsEmpty
            ? throw new ArgumentException("lengths is empty; give one length per sequence, or call the overload that takes batchSize.", nameof(lengths))
            : lengths.Length, lengths, outputs, training);

    private void Run(ReadOnlySpan<float> inputs, int batchSize, ReadOnlySpan<int> lengths, Span<float> outputs, bool training)
    {
        if (batchSize < 1 || batchSize > MaxBatchSize)
            throw new ArgumentOutOfRangeException(lengths.IsEmpty ? nameof(batchSize) : nameof(lengths), batchSize,
                $"{(lengths.IsEmpty ? "batchSize is" : "lengths gives")} {batchSize} sequences; this layer runs 1 to {MaxBatchSize} (its maxBatchSize).");
        int perStepIn = batchSize * InputSize;
        if (inputs.Length == 0 || inputs.Length % perStepIn != 0 || inputs.Length / perStepIn > MaxSteps)
            throw new ArgumentException($"inputs has {inputs.Length} values; expected [T, B={batchSize}, X={InputSize}] with 1 <= T <= {MaxSteps}, a multiple of {perStepIn}.", nameof(inputs));
        int steps = inputs.Length / perStepIn;
        if (outputs.Length != steps * batchSize * OutputSize)
            throw new ArgumentException($"outputs has {outputs.Length} values; expected [T={steps}, B={batchSize}, {OutputSize}] = {steps * batchSize * OutputSize}.", nameof(outputs));
        for (int b = 0; b < lengths.Length; b++)
            if (lengths[b] < 0 || lengths[b] > steps)
                throw new ArgumentOutOfRangeException(nameof(lengths), lengths[b], $"lengths[{b}] = {lengths[b]} is outside [0, T={steps}].");
        _steps = steps;
        _batch = batchSize;
        Span<int> all = _lengths.AsSpan(0, batchSize);
        if (lengths.IsEmpty) all.Fill(steps);
        else lengths.CopyTo(all);
        Span<float> forward = _outputs.AsSpan(0, steps * batchSize * Forward.OutputSize);
        if (training) _forward.ForwardTraining(inputs, all, default, forward, default);
        else _forward.Forward(inputs, all, default, forward, default);
        if (_backward is null)
        {
            forward.CopyTo(outputs);
            return;
        }
        Span<float> reversedInputs = _reversedInputs.AsSpan(0, inputs.Length);
        ReverseInTime(inputs, reversedInputs, InputSize, steps);
        Span<float> reversed = _reversedOutputs.AsSpan(0, forward.Length);
        if (training) _backward.ForwardTraining(reversedInputs, all, default, reversed, default);
        else _backward.Forward(reversedInputs, all, default, reversed, default);
        int h = Forward.OutputSize;
        for (int t = 0; t < steps; t++)
            for (int b = 0; b < batchSize; b++)
            {
                forward.Slice((t * batchSize + b) * h, h).CopyTo(outputs.Slice((t * batchSize + b) * 2 * h, h));
                Span<float> target = outputs.Slice((t * batchSize + b) * 2 * h + h, h);
                if (t < _lengths[b]) reversed.Slice(((_lengths[b] - 1 - t) * batchSize + b) * h, h).CopyTo(target);
                else target.Clear();
            }
    }

    /// <summary>Back-propagates dL/d(outputs) of the last training run; accumulates parameter gradients and writes dx (unless empty).</summary>
    public void Backward(ReadOnlySpan<float> outputGradients, Span<float> inputGradients)
    {
        if (_steps == 0) throw new InvalidOperationException("Backward needs a training run first: call Run with training: true.");
        int steps = _steps, batch = _batch, h = Forward.OutputSize;
        if (outputGradients.Length != steps * batch * OutputSize)
            throw new ArgumentException($"outputGradients has {outputGradients.Length} values; expected [T={steps}, B={batch}, {OutputSize}].", nameof(outputGradients));
        if (!inputGradients.IsEmpty && inputGradients.Length != steps * batch * InputSize)
            throw new ArgumentException($"inputGradients has {inputGradients.Length} values; expected [T={steps}, B={batch}, X={InputSize}].", nameof(inputGradients));
        if (_backward is null)
        {
            _forward.Backward(outputGradients, default, inputGradients, default);
            return;
        }
        Span<float> forward = _gradient.AsSpan(0, steps * batch * h);
        Span<float> reversed = _reversedGradient.AsSpan(0, forward.Length);
        reversed.Clear();
        for (int t = 0; t < steps; t++)
            for (int b = 0; b < batch; b++)
            {
                outputGradients.Slice((t * batch + b) * 2 * h, h).CopyTo(forward.Slice((t * batch + b) * h, h));
                if (t < _lengths[b])
                    outputGradients.Slice((t * batch + b) * 2 * h + h, h).CopyTo(reversed.Slice(((_lengths[b] - 1 - t) * batch + b) * h, h));
            }
        Span<float> reverseInputGradient = _inputGradient.AsSpan(0, steps * batch * InputSize);
        _forward.Backward(forward, default, inputGradients, default);
        _backward.Backward(reversed, default, inputGradients.IsEmpty ? default : reverseInputGradient, default);
        if (inputGradients.IsEmpty) return;
        int x = InputSize;
        for (int t = 0; t < steps; t++)
            for (int b = 0; b < batch; b++)
            {
                if (t >= _lengths[b]) continue;
                Span<float> target = inputGradients.Slice((t * batch + b) * x, x);
                ReadOnlySpan<float> source = reverseInputGradient.Slice(((_lengths[b] - 1 - t) * batch + b) * x, x);
                for (int i = 0; i < x; i++) target[i] += source[i];
            }
    }

    /// <summary>Reverses each sequence within its own length; steps past the end stay zero.</summary>
    private void ReverseInTime(ReadOnlySpan<float> source, Span<float> target, int width, int steps)
    {
        target.Clear();
        for (int b = 0; b < _batch; b++)
            for (int t = 0; t < _lengths[b]; t++)
                source.Slice(((_lengths[b] - 1 - t) * _batch + b) * width, width).CopyTo(target.Slice((t * _batch + b) * width, width));
    }
}

/// <summary>Recurrent layers stacked, with inverted dropout between them while training.</summary>
public sealed class RecurrentStack : IHasParameters
{
    private readonly float[][] _activations, _gradients, _masks;
    private readonly Random _random;

    /// <summary>Stacks <paramref name="layers"/> layers of <paramref name="hiddenSize"/>; dropout probability <paramref name="dropout"/> between layers.</summary>
    public RecurrentStack(Func<int, int, RecurrentCell<float>> create, int inputSize, int hiddenSize, int layers, int maxSteps, int maxBatchSize,
        bool bidirectional = false, float dropout = 0, int seed = 0)
    {
        if (layers <= 0) throw new ArgumentOutOfRangeException(nameof(layers), layers, "A stack needs at least one layer.");
        if (!(dropout >= 0 && dropout < 1)) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "Dropout is a probability in [0, 1).");
        var list = new List<RecurrentLayer>();
        for (int l = 0; l < layers; l++)
            list.Add(new RecurrentLayer(create, l == 0 ? inputSize : list[l - 1].OutputSize, hiddenSize, maxSteps, maxBatchSize, bidirectional));
        Layers = list;
        Dropout = dropout;
        _random = new Random(seed);
        int between = layers - 1, size = maxSteps * maxBatchSize * list[0].OutputSize;
        _activations = Enumerable.Range(0, between).Select(_ => new float[size]).ToArray();
        _gradients = Enumerable.Range(0, between).Select(_ => new float[size]).ToArray();
        _masks = Enumerable.Range(0, between).Select(_ => new float[size]).ToArray();
    }

    /// <summary>The layers, input first.</summary>
    public IReadOnlyList<RecurrentLayer> Layers { get; }

    /// <summary>The dropout probability between layers.</summary>
    public float Dropout { get; }

    /// <summary>The size of an output row.</summary>
    public int OutputSize => Layers[^1].OutputSize;

    /// <inheritdoc/>
    public IEnumerable<ParameterBuffer> ParameterBuffers => Layers.SelectMany(l => l.ParameterBuffers);

    /// <summary>Runs all layers over <paramref name="batchSize"/> sequences of T steps: inputs [T, B, X] to outputs [T, B, OutputSize].</summary>
    public void Run(ReadOnlySpan<float> inputs, int batchSize, Span<float> outputs, bool training) =>
        Run(inputs, batchSize, default, outputs, training);

    /// <summary>Runs all layers over sequences of different lengths padded to T, one per entry of <paramref name="lengths"/>.</summary>
    public void Run(ReadOnlySpan<float> inputs, ReadOnlySpan<int> lengths, Span<float> outputs, bool training) =>
        Run(inputs, lengths.Length, lengths, outputs, training);

    private void Run(ReadOnlySpan<float> inputs, int batchSize, ReadOnlySpan<int> lengths, Span<float> outputs, bool training)
    {
        // The first layer checks the shapes (and refuses empty lengths) before anything runs.
        int perStep = Math.Max(1, batchSize) * Layers[0].InputSize;
        int steps = inputs.Length / perStep;
        ReadOnlySpan<float> current = inputs;
        for (int l = 0; l < Layers.Count; l++)
        {
            bool last = l == Layers.Count - 1;
            Span<float> target = last ? outputs : _activations[l].AsSpan(0, Math.Min(_activations[l].Length, steps * batchSize * Layers[l].OutputSize));
            if (lengths.IsEmpty) Layers[l].Run(current, batchSize, target, training);
            else Layers[l].Run(current, lengths, target, training);
            if (!last && training && Dropout > 0)
            {
                Span<float> mask = _masks[l].AsSpan(0, target.Length);
                float keep = 1 - Dropout, scale = 1 / keep;
                for (int i = 0; i < target.Length; i++)
                {
                    mask[i] = _random.NextSingle() < keep ? scale : 0;
                    target[i] *= mask[i];
                }
            }
            current = target;
        }
    }

    /// <summary>Back-propagates through all layers; writes dx unless empty.</summary>
    public void Backward(ReadOnlySpan<float> outputGradients, Span<float> inputGradients)
    {
        ReadOnlySpan<float> current = outputGradients;
        for (int l = Layers.Count - 1; l >= 0; l--)
        {
            if (l == 0)
            {
                Layers[0].Backward(current, inputGradients);
                break;
            }
            Span<float> below = _gradients[l - 1].AsSpan(0, current.Length / Layers[l].OutputSize * Layers[l].InputSize);
            Layers[l].Backward(current, below);
            if (Dropout > 0)
            {
                ReadOnlySpan<float> mask = _masks[l - 1].AsSpan(0, below.Length);
                for (int i = 0; i < below.Length; i++) below[i] *= mask[i];
            }
            current = below;
        }
    }
}

/// <summary>An embedding table [V, D]: token ids to rows, by the name "E".</summary>
public sealed class Embedding : IHasParameters
{
    private readonly float[] _table, _gradient;

    /// <summary>Creates a table of <paramref name="vocabulary"/> rows of <paramref name="dimension"/> values, N(0, 1) as PyTorch.</summary>
    public Embedding(int vocabulary, int dimension, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (vocabulary <= 0 || dimension <= 0) throw new ArgumentOutOfRangeException(nameof(vocabulary), "An embedding needs a vocabulary and a dimension.");
        Vocabulary = vocabulary;
        Dimension = dimension;
        _table = new float[vocabulary * dimension];
        _gradient = new float[vocabulary * dimension];
        for (int i = 0; i < _table.Length; i++)
            _table[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        Table = new Parameter<float>("E", new[] { vocabulary, dimension },
            new[] { new ParameterBlock<float>(_table, _gradient, 0, dimension, 1, 0, RowStride: dimension) });
    }

    /// <summary>V.</summary>
    public int Vocabulary { get; }

    /// <summary>D.</summary>
    public int Dimension { get; }

    /// <summary>The table's logical view [V, D].</summary>
    public Parameter<float> Table { get; }

    /// <inheritdoc/>
    public IEnumerable<ParameterBuffer> ParameterBuffers => new[] { new ParameterBuffer(_table, _gradient) };

    /// <summary>Writes the rows of <paramref name="tokens"/> to <paramref name="output"/> [N, D].</summary>
    public void Forward(ReadOnlySpan<int> tokens, Span<float> output)
    {
        if (output.Length != tokens.Length * Dimension) throw new ArgumentException($"output has {output.Length} values; expected [{tokens.Length}, {Dimension}].", nameof(output));
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] >= (uint)Vocabulary) throw new ArgumentOutOfRangeException(nameof(tokens), tokens[i], $"Token {i} is {tokens[i]}, outside [0, {Vocabulary}).");
            _table.AsSpan(tokens[i] * Dimension, Dimension).CopyTo(output.Slice(i * Dimension, Dimension));
        }
    }

    /// <summary>Adds each row of <paramref name="outputGradient"/> to its token's row of the gradient.</summary>
    public void Backward(ReadOnlySpan<int> tokens, ReadOnlySpan<float> outputGradient)
    {
        for (int i = 0; i < tokens.Length; i++)
        {
            Span<float> row = _gradient.AsSpan(tokens[i] * Dimension, Dimension);
            ReadOnlySpan<float> g = outputGradient.Slice(i * Dimension, Dimension);
            for (int k = 0; k < Dimension; k++) row[k] += g[k];
        }
    }
}
