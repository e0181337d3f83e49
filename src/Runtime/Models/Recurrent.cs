using System;
using System.Collections.Generic;
using System.Linq;

namespace CellGen;

/// <summary>
/// Recurrent layers over sequences [T, B, X], as nn.RNN/nn.LSTM/nn.GRU with <c>num_layers</c>, <c>bidirectional</c> and
/// <c>dropout</c>, for any cell: each layer runs a cell forward in time and, when bidirectional, a second cell over each
/// sequence reversed within its own length; a layer's output is the two directions' outputs side by side [T, B, 2·O]
/// (forward first), the next layer's input after dropout. States go in and out by name, per layer and direction
/// (<see cref="SetInitialState"/>, <see cref="FinalState"/>), with their gradients; <see cref="Stateful"/> carries
/// them from one Forward to the next, for decoding a step at a time and truncated backpropagation through time.
/// Runners and buffers are created for the largest batch seen and reused.
/// </summary>
public sealed class Recurrent : Module
{
    private sealed class Direction
    {
        public Direction(RecurrentCell<float> cell) => Cell = cell;
        public readonly RecurrentCell<float> Cell;
        public SequenceRunner<float>? Runner;
        public float[] Initial = Array.Empty<float>(), Final = Array.Empty<float>();
        public float[] InitialGradient = Array.Empty<float>(), FinalGradient = Array.Empty<float>();
        public float[] Gathered = Array.Empty<float>(); // SelectStates' scratch
        public int Batch; // B of the states after the last Forward (0 before any)
        public int GivenBatch; // B of the initial states given since the last Forward (0 when none were)
    }

    private readonly Direction[] _directions; // [layer * Directions + direction]
    private readonly Activations[] _hidden; // the output of every layer but the last (after dropout while training)
    private readonly float[][] _masks;
    private MaskGenerator _generator;
    private float[] _inputs = Array.Empty<float>(), _outputs = Array.Empty<float>(), _inputGradients = Array.Empty<float>();
    private bool _dropped;

    /// <summary>
    /// Creates <paramref name="layers"/> layers of the cell <paramref name="cell"/> makes from (input size, hidden size).
    /// Each cell starts as its constructor draws it (U(±1/√H), as PyTorch), or drawn again from <paramref name="random"/>.
    /// </summary>
    public Recurrent(Func<int, int, RecurrentCell<float>> cell, int inputSize, int hiddenSize, int layers = 1, bool bidirectional = false,
        double dropout = 0, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(cell);
        if (inputSize <= 0) throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "The input size must be positive.");
        if (hiddenSize <= 0) throw new ArgumentOutOfRangeException(nameof(hiddenSize), hiddenSize, "The hidden size must be positive.");
        if (layers <= 0) throw new ArgumentOutOfRangeException(nameof(layers), layers, "A recurrent module needs at least one layer.");
        if (!(dropout >= 0 && dropout < 1)) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "Dropout is a probability in [0, 1).");
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        Layers = layers;
        Directions = bidirectional ? 2 : 1;
        Dropout = dropout;
        _directions = new Direction[layers * Directions];
        int width = inputSize;
        for (int l = 0; l < layers; l++)
        {
            for (int d = 0; d < Directions; d++)
            {
                RecurrentCell<float> made = cell(width, hiddenSize)
                    ?? throw new ArgumentException("The cell factory returned null.", nameof(cell));
                if (made.InputSize != width || made.HiddenSize != hiddenSize)
                    throw new ArgumentException($"The cell factory made a {made.GetType().Name} of input size {made.InputSize} and hidden size {made.HiddenSize}; layer {l} needs {width} and {hiddenSize}.", nameof(cell));
                if (random is not null) made.ResetParameters(random);
                _directions[l * Directions + d] = new Direction(made);
            }
            width = Directions * _directions[l * Directions].Cell.OutputSize;
        }
        OutputSize = width;
        _hidden = Enumerable.Range(0, layers - 1).Select(_ => new Activations()).ToArray();
        _masks = Enumerable.Range(0, layers - 1).Select(_ => Array.Empty<float>()).ToArray();
        _generator = new MaskGenerator(random?.Next() ?? Initializers.NextSeed());
    }

    /// <summary>X.</summary>
    public int InputSize { get; }

    /// <summary>H of each cell.</summary>
    public int HiddenSize { get; }

    /// <summary>The number of layers.</summary>
    public int Layers { get; }

    /// <summary>1, or 2 when bidirectional.</summary>
    public int Directions { get; }

    /// <summary>The dropout probability between layers, while training.</summary>
    public double Dropout { get; }

    /// <summary>The width of an output row: the cell's output size, times 2 when bidirectional.</summary>
    public int OutputSize { get; }

    /// <summary>
    /// When true, each Forward starts from the final states of the one before (when the batch size is the same), with no
    /// gradient flowing back into it: decoding a step at a time, and truncated backpropagation through time over
    /// consecutive chunks. <see cref="ResetStates"/> starts again from zeros.
    /// </summary>
    public bool Stateful { get; set; }

    /// <inheritdoc/>
    public override int? InputWidth => InputSize;

    /// <summary>The cell of layer <paramref name="layer"/>, running forward in time or, with <paramref name="reverse"/>, backward.</summary>
    public RecurrentCell<float> Cell(int layer = 0, bool reverse = false) => DirectionOf(layer, reverse).Cell;

    /// <summary>The names of the cells' states, in the order of their equations (an LSTM's are c, then h; PyTorch returns (h, c)).</summary>
    public IReadOnlyList<string> StateNames => _directions[0].Cell.StateNames;

    /// <inheritdoc/>
    public override IEnumerable<ParameterBuffer> ParameterBuffers => _directions.SelectMany(d => d.Cell.ParameterBuffers);

    /// <summary>Parameters as "l0.W_f", "l0_reverse.W_f", "l1.W_f"... under <paramref name="prefix"/>.</summary>
    protected override IEnumerable<KeyValuePair<string, Parameter<float>>> NamedParametersCore(string prefix) =>
        _directions.SelectMany((d, i) => d.Cell.Parameters.Select(p =>
            KeyValuePair.Create($"{prefix}l{i / Directions}{(i % Directions == 1 ? "_reverse" : "")}.{p.Name}", p)));

    /// <inheritdoc/>
    internal override string? TorchUnsupported => PyTorch.TorchProblem(Cell());

    /// <summary>nn.RNN/LSTM/GRU's weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0 (weight_hr_l0), "_reverse" for the second direction.</summary>
    internal override void TorchLoad(string prefix, TorchSource source, List<(Parameter<float> Target, float[] Values)> staged)
    {
        for (int l = 0; l < Layers; l++)
            for (int d = 0; d < Directions; d++)
            {
                RecurrentCell<float> cell = Cell(l, d == 1);
                string suffix = $"_l{l}{(d == 1 ? "_reverse" : "")}";
                if (PyTorch.CellWeights(cell, (name, shape) => source.Get(prefix + name + suffix, shape, cell)) is { } weights) staged.AddRange(weights);
            }
    }

    /// <inheritdoc/>
    internal override void TorchSave(string prefix, List<(string Name, int[] Shape, float[] Values)> tensors)
    {
        for (int l = 0; l < Layers; l++)
            for (int d = 0; d < Directions; d++)
                foreach ((string name, int[] shape, float[] values) in PyTorch.TorchWeights(Cell(l, d == 1)))
                    tensors.Add(($"{prefix}{name}_l{l}{(d == 1 ? "_reverse" : "")}", shape, values));
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Func<ulong> Get, Action<ulong> Set)> NamedGeneratorsCore(string prefix)
    {
        var generators = new List<(string, Func<ulong>, Action<ulong>)>();
        if (Layers > 1) generators.Add((prefix + "dropout", () => _generator.State, value => _generator.State = value));
        // The cells' own masks ([Zoneout], [VariationalDropout]), named as PyTorch names a layer's weights.
        for (int l = 0; l < Layers; l++)
            for (int d = 0; d < Directions; d++)
                foreach (CellDropout dropout in Cell(l, d == 1).Dropouts)
                    generators.Add(($"{prefix}{dropout.Name}_{dropout.State}_l{l}{(d == 1 ? "_reverse" : "")}", () => dropout.GeneratorState, value => dropout.GeneratorState = value));
        return generators;
    }

    /// <summary>Forgets the states carried by <see cref="Stateful"/> and any initial states given: the next Forward starts from zeros.</summary>
    public void ResetStates()
    {
        foreach (Direction direction in _directions)
        {
            direction.Batch = 0;
            direction.GivenBatch = 0;
        }
    }

    /// <summary>
    /// Chooses the states the next Forward starts from by row: row i of the next batch starts where row
    /// <paramref name="rows"/>[i] stands now, in every layer and direction (rows may repeat: a beam search keeps the
    /// states of the hypotheses it extends). It applies to the initial states given by <see cref="SetInitialState"/>
    /// and not used yet, or else to the final states a <see cref="Stateful"/> module carries; the next batch has
    /// <c>rows.Length</c> sequences.
    /// </summary>
    /// <exception cref="InvalidOperationException">There are no states to choose from: none given, and nothing carried.</exception>
    public void SelectStates(ReadOnlySpan<int> rows)
    {
        if (rows.IsEmpty) throw new ArgumentException("rows is empty: the next batch needs at least one sequence.", nameof(rows));
        int BatchOf(Direction direction) => direction.GivenBatch != 0 ? direction.GivenBatch : Stateful ? direction.Batch : 0;
        foreach (Direction direction in _directions) // every direction checked before any changes
        {
            int batch = BatchOf(direction);
            if (batch == 0) throw new InvalidOperationException("There are no states to select from: give initial states (SetInitialState) or run a Forward with Stateful = true first.");
            foreach (int row in rows)
                if ((uint)row >= (uint)batch) throw new ArgumentOutOfRangeException(nameof(rows), row, $"A row of the {batch} sequences the states hold, from 0 to {batch - 1}, is expected.");
        }
        foreach (Direction direction in _directions)
        {
            bool given = direction.GivenBatch != 0;
            int batch = BatchOf(direction);
            RecurrentCell<float> cell = direction.Cell;
            float[] source = given ? direction.Initial : direction.Final;
            Span<float> gathered = Grow(ref direction.Gathered, cell.StateValues(rows.Length));
            for (int s = 0; s < cell.StateNames.Count; s++)
            {
                int size = cell.StateSizes[s], from = cell.StateOffset(s, batch), to = cell.StateOffset(s, rows.Length);
                for (int i = 0; i < rows.Length; i++) source.AsSpan(from + rows[i] * size, size).CopyTo(gathered.Slice(to + i * size, size));
            }
            if (given)
            {
                gathered.CopyTo(Grow(ref direction.Initial, gathered.Length));
                direction.GivenBatch = rows.Length;
            }
            else
            {
                gathered.CopyTo(Grow(ref direction.Final, gathered.Length));
                direction.Batch = rows.Length;
            }
        }
    }

    /// <summary>Whether initial states were given since the last Forward.</summary>
    internal bool HasGivenStates => _directions[0].GivenBatch != 0;

    /// <summary>
    /// Sets state <paramref name="name"/> [B, its size] of a layer and direction for the next Forward, whose batch must
    /// then have B sequences; states not given start at zero.
    /// </summary>
    public void SetInitialState(string name, ReadOnlySpan<float> values, int layer = 0, bool reverse = false)
    {
        Direction direction = DirectionOf(layer, reverse);
        int state = direction.Cell.StateIndex(name), size = direction.Cell.StateSizes[state];
        if (values.IsEmpty || values.Length % size != 0)
            throw new ArgumentException($"values has {values.Length} values; state '{name}' is [B, {size}] for B ≥ 1.", nameof(values));
        int batch = values.Length / size;
        if (direction.GivenBatch != batch)
        {
            if (direction.GivenBatch != 0)
                throw new ArgumentException($"State '{name}' is given for B={batch}; another state of this layer was given for B={direction.GivenBatch}.", nameof(values));
            Grow(ref direction.Initial, direction.Cell.StateValues(batch)).Clear();
            direction.GivenBatch = batch;
        }
        values.CopyTo(direction.Initial.AsSpan(direction.Cell.StateOffset(state, batch), batch * size));
    }

    /// <summary>State <paramref name="name"/> [B, its size] after the last Forward: each sequence's own last step (for the reverse direction, t = 0).</summary>
    public ReadOnlySpan<float> FinalState(string name, int layer = 0, bool reverse = false) => StateSlice(name, layer, reverse, d => d.Final);

    /// <summary>dL/d(final state) [B, its size], to write after a training Forward and before Backward; zero unless written.</summary>
    public Span<float> FinalStateGradient(string name, int layer = 0, bool reverse = false)
    {
        Span<float> gradient = StateSlice(name, layer, reverse, d => d.FinalGradient);
        _finalGradientsWritten = true;
        return gradient;
    }

    private bool _finalGradientsWritten; // since the last Forward: then Backward may run with the outputs' gradients as zeros

    internal override bool GradientsSeeded => _finalGradientsWritten;

    /// <summary>dL/d(initial state) [B, its size] after Backward.</summary>
    public ReadOnlySpan<float> InitialStateGradient(string name, int layer = 0, bool reverse = false) => StateSlice(name, layer, reverse, d => d.InitialGradient);

    private Span<float> StateSlice(string name, int layer, bool reverse, Func<Direction, float[]> buffer)
    {
        Direction direction = DirectionOf(layer, reverse);
        int state = direction.Cell.StateIndex(name);
        if (direction.Batch == 0) throw new InvalidOperationException("There are no states yet: run Forward first.");
        int batch = direction.Batch;
        float[] values = buffer(direction);
        if (values.Length < direction.Cell.StateValues(batch))
            throw new InvalidOperationException("There are no such gradients yet: final-state gradients exist after a Forward with training: true, initial-state gradients after Backward.");
        return values.AsSpan(direction.Cell.StateOffset(state, batch), batch * direction.Cell.StateSizes[state]);
    }

    private Direction DirectionOf(int layer, bool reverse)
    {
        if ((uint)layer >= (uint)Layers) throw new ArgumentOutOfRangeException(nameof(layer), layer, $"There are {Layers} layers.");
        if (reverse && Directions == 1) throw new ArgumentException("This module is not bidirectional: there is no reverse direction.", nameof(reverse));
        return _directions[layer * Directions + (reverse ? 1 : 0)];
    }

    internal override string? OnnxUnsupported =>
        CellForm.StepGraph(Cell().GetType()) is null ? $"{Cell().GetType().Name} was not generated by CellGen: there are no equations to export." : null;

    internal override bool OnnxReadsLengths => true;

    internal override string? OnnxNeeds(OnnxShape shape, Module? previous) =>
        shape.Sequence && shape.Width == InputSize ? null : $"reads sequences [T, B, X={InputSize}]";

    internal override OnnxShape OnnxOutput(OnnxShape shape) => new(true, OutputSize);

    /// <summary>Each layer as ONNX's RNN, LSTM or GRU operator where the cell computes one, else a Scan of its step per direction.</summary>
    internal override void OnnxLower(Onnx.OnnxGraph graph)
    {
        for (int l = 0; l < Layers; l++)
        {
            var cells = new RecurrentCell<float>[Directions];
            for (int d = 0; d < Directions; d++) cells[d] = Cell(l, d == 1);
            (graph.Current, graph.Pooled) = graph.RecurrentLayer(cells, graph.Current);
        }
    }

    /// <inheritdoc/>
    protected override void ForwardCore(Activations input, bool training)
    {
        _finalGradientsWritten = false;
        CheckWidth(input, InputSize);
        if (!input.IsSequence) throw new ArgumentException($"A recurrent module reads sequences; its input is {input}.", nameof(input));
        _dropped = training && Dropout > 0;
        Activations current = input;
        for (int l = 0; l < Layers; l++)
        {
            Activations target = l == Layers - 1 ? Output : _hidden[l];
            target.ReshapeLike(current, OutputSize, Directions);
            for (int d = 0; d < Directions; d++) Run(_directions[l * Directions + d], current, target, d, training);
            if (l < Layers - 1 && _dropped)
            {
                Span<float> values = target.Values;
                _generator.Apply(values, Grow(ref _masks[l], values.Length), (float)Dropout);
            }
            current = target;
        }
    }

    private void Run(Direction direction, Activations input, Activations output, int d, bool training)
    {
        int steps = input.Steps, batch = input.BatchSize, width = direction.Cell.OutputSize;
        SequenceRunner<float> runner = RunnerOf(direction, steps, batch);
        int states = direction.Cell.StateValues(batch);
        ReadOnlySpan<float> initial = default;
        if (direction.GivenBatch != 0)
        {
            if (direction.GivenBatch != batch)
                throw new ArgumentException($"Initial states were given for B={direction.GivenBatch}; this batch has B={batch}.", nameof(input));
            initial = direction.Initial.AsSpan(0, states);
            direction.GivenBatch = 0;
        }
        else if (Stateful && direction.Batch == batch)
        {
            direction.Final.AsSpan(0, states).CopyTo(Grow(ref direction.Initial, states));
            initial = direction.Initial.AsSpan(0, states);
        }
        Span<float> final = Grow(ref direction.Final, states);
        direction.Batch = batch;
        if (training) Grow(ref direction.FinalGradient, states).Clear();

        bool direct = Directions == 1;
        ReadOnlySpan<float> inputs = input.Values;
        if (d == 1)
        {
            Span<float> reversed = Grow(ref _inputs, inputs.Length);
            reversed.Clear();
            Reverse(input, inputs, input.Width, 0, reversed, input.Width, 0, input.Width, add: false);
            inputs = reversed;
        }
        Span<float> outputs = direct ? output.Values : Grow(ref _outputs, steps * batch * width);
        ReadOnlySpan<int> lengths = input.Lengths;
        if (lengths.IsEmpty)
        {
            if (training) runner.ForwardTraining(inputs, batch, initial, outputs, final);
            else runner.Forward(inputs, batch, initial, outputs, final);
        }
        else
        {
            if (training) runner.ForwardTraining(inputs, lengths, initial, outputs, final);
            else runner.Forward(inputs, lengths, initial, outputs, final);
        }
        if (direct) return;
        if (d == 0)
        {
            Span<float> target = output.Values;
            for (int row = 0; row < steps * batch; row++)
                outputs.Slice(row * width, width).CopyTo(target.Slice(row * 2 * width, width));
        }
        else
        {
            Span<float> target = output.Values;
            for (int row = 0; row < steps * batch; row++) target.Slice(row * 2 * width + width, width).Clear();
            Reverse(input, outputs, width, 0, target, 2 * width, width, width, add: false);
        }
    }

    private static SequenceRunner<float> RunnerOf(Direction direction, int steps, int batch)
    {
        SequenceRunner<float>? runner = direction.Runner;
        if (runner is null || runner.MaxSteps < steps || runner.MaxBatchSize < batch)
            direction.Runner = runner = direction.Cell.CreateRunner(Math.Max(steps, runner?.MaxSteps ?? 0), Math.Max(batch, runner?.MaxBatchSize ?? 0));
        return runner;
    }

    /// <inheritdoc/>
    protected override void BackwardCore(Activations input)
    {
        for (int l = Layers - 1; l >= 0; l--)
        {
            Activations output = l == Layers - 1 ? Output : _hidden[l];
            Activations below = l == 0 ? input : _hidden[l - 1];
            if (l < Layers - 1 && _dropped)
            {
                Span<float> gradients = output.Gradients;
                ReadOnlySpan<float> mask = _masks[l].AsSpan(0, gradients.Length);
                for (int i = 0; i < gradients.Length; i++) gradients[i] *= mask[i];
            }
            Span<float> inputGradients = l > 0 || input.RequiresGradient ? below.Gradients : default;
            for (int d = 0; d < Directions; d++) Differentiate(_directions[l * Directions + d], below, output, d, inputGradients);
        }
    }

    private void Differentiate(Direction direction, Activations input, Activations output, int d, Span<float> inputGradients)
    {
        int steps = input.Steps, batch = input.BatchSize, width = direction.Cell.OutputSize;
        int states = direction.Cell.StateValues(batch);
        SequenceRunner<float> runner = direction.Runner!;
        ReadOnlySpan<float> outputGradients = output.Gradients;
        if (Directions == 2)
        {
            Span<float> half = Grow(ref _outputs, steps * batch * width);
            if (d == 0)
                for (int row = 0; row < steps * batch; row++) outputGradients.Slice(row * 2 * width, width).CopyTo(half.Slice(row * width, width));
            else
            {
                half.Clear();
                Reverse(input, outputGradients, 2 * width, width, half, width, 0, width, add: false);
            }
            outputGradients = half;
        }
        Span<float> initialGradient = Grow(ref direction.InitialGradient, states);
        Span<float> finalGradient = direction.FinalGradient.AsSpan(0, states);
        if (d == 0 || inputGradients.IsEmpty)
        {
            runner.Backward(outputGradients, finalGradient, inputGradients, initialGradient);
            return;
        }
        Span<float> reversed = Grow(ref _inputGradients, inputGradients.Length);
        runner.Backward(outputGradients, finalGradient, reversed, initialGradient);
        Reverse(input, reversed, input.Width, 0, inputGradients, input.Width, 0, input.Width, add: true);
    }

    /// <summary>
    /// Moves each sequence's rows between time orders: row (t, b) of <paramref name="target"/> gets row (length - 1 - t, b)
    /// of <paramref name="source"/>, for t below the sequence's length (a reversal is its own inverse); <paramref name="width"/>
    /// values from each row's offset, added or copied.
    /// </summary>
    private static void Reverse(Activations shape, ReadOnlySpan<float> source, int sourceWidth, int sourceOffset,
        Span<float> target, int targetWidth, int targetOffset, int width, bool add)
    {
        int batch = shape.BatchSize;
        for (int b = 0; b < batch; b++)
        {
            int length = shape.Length(b);
            for (int t = 0; t < length; t++)
            {
                ReadOnlySpan<float> from = source.Slice(((length - 1 - t) * batch + b) * sourceWidth + sourceOffset, width);
                Span<float> to = target.Slice((t * batch + b) * targetWidth + targetOffset, width);
                if (!add) from.CopyTo(to);
                else for (int i = 0; i < width; i++) to[i] += from[i];
            }
        }
    }

    private static Span<float> Grow(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
        return buffer.AsSpan(0, length);
    }
}
