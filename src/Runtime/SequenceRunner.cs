using System.Collections.Generic;
using System;
using System.ComponentModel;
using System.Linq;
using System.Numerics;

namespace CellGen;

/// <summary>
/// Runs a cell over a batch of up to <see cref="MaxBatchSize"/> sequences of up to <see cref="MaxSteps"/> steps, forward
/// (for inference, or recording a tape for training) and backward through time. Each forward call says its batch size B
/// (or gives one length per sequence) and its number of steps T follows from the inputs, so a smaller last batch is
/// run as what it is. All buffers are allocated once, here; calls allocate nothing. A
/// runner is for one thread at a time (a call from a second thread while one runs throws); a cell may be shared by
/// several runners on several threads for inference, but Backward accumulates into the cell's gradients, so runners of
/// one cell must not run Backward at the same time.
/// Layouts are time-major and row-major: inputs [T, B, X], outputs [T, B, O] (O the output state's size, H unless
/// declared), states one after another in the order of <see cref="RecurrentCell{T}.StateNames"/>, each [B, its size].
/// </summary>
public abstract class SequenceRunner<T> where T : unmanaged, INumberBase<T>
{
    private readonly T[][] _history;
    private readonly T[][] _carry;
    private readonly T[] _zeros;
    private readonly int[] _lengths;
    private readonly T[] _maskedOutputGradient;
    private readonly T[][] _savedCarry;
    private readonly int[] _stateSizes;
    private readonly bool[] _readsInitial; // per state: whether a step reads its value before this step
    private readonly int[] _stateOffsets; // where each state starts in a state buffer [S, B, size], for one sequence
    private readonly int _stateValues, _outputState, _outputSize; // _stateValues: for one sequence
    private int _batch; // B of the call running or recorded
    private bool _masked;
    private bool _recordedMasked;
    private int _carryParity;
    private int _recordedSteps = -1;
    private int _busy; // 1 while a call runs: a runner is for one thread at a time
    // While an inference pass writes its outputs in place: the caller's outputs, pinned, and how many steps they hold.
    // The output state's history after step t is then the caller's row t, so nothing is copied out afterwards.
    private unsafe T* _outputs;
    private int _outputSteps;

    /// <summary>Allocates the buffers every cell needs: inputs, state histories, gradient carries.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected SequenceRunner(RecurrentCell<T> cell, int maxSteps, int maxBatchSize)
    {
        ArgumentNullException.ThrowIfNull(cell);
        if (maxSteps <= 0) throw new ArgumentOutOfRangeException(nameof(maxSteps), maxSteps, "A runner needs at least one step.");
        if (maxBatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(maxBatchSize), maxBatchSize, "A runner needs at least one sequence.");
        Cell = cell;
        MaxSteps = maxSteps;
        MaxBatchSize = maxBatchSize;
        int states = cell.StateNames.Count;
        long widest = Math.Max(cell.InputSize, cell.StateSizes.Max());
        if (((long)maxSteps + 1) * maxBatchSize * widest > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(maxSteps), maxSteps,
                $"maxSteps = {maxSteps}, maxBatchSize = {maxBatchSize} and a width of {widest} need {((long)maxSteps + 1) * maxBatchSize * widest} values in one buffer, more than an array holds ({Array.MaxLength}): run shorter chunks or smaller batches.");
        _stateSizes = cell.StateSizes.ToArray();
        // A state no step reads before updating it (a layer's output) needs no initial value: zeros are not written for
        // it unless sequences end early (their final states are then their initial ones). A cell without a step graph
        // (not generated) is taken to read them all.
        IReadOnlyList<string>? program = CellForm.StepGraph(cell.GetType());
        _readsInitial = cell.StateNames.Select(name => program is null || program.Contains("state " + name)).ToArray();
        _stateOffsets = new int[states];
        for (int s = 0; s < states; s++) _stateOffsets[s] = cell.StateOffset(s, 1);
        _stateValues = cell.StateValues(1);
        _outputState = cell.StateIndex(cell.OutputName);
        _outputSize = cell.OutputSize;
        Inputs = new T[maxSteps * maxBatchSize * cell.InputSize];
        InputGradients = new T[maxSteps * maxBatchSize * cell.InputSize];
        _history = new T[states][];
        _carry = new T[2 * states][];
        for (int s = 0; s < states; s++) _history[s] = new T[(maxSteps + 1) * maxBatchSize * _stateSizes[s]];
        for (int s = 0; s < 2 * states; s++) _carry[s] = new T[maxBatchSize * _stateSizes[s / 2]];
        _zeros = new T[maxBatchSize * _outputSize];
        _lengths = new int[maxBatchSize];
        _maskedOutputGradient = new T[maxBatchSize * _outputSize];
        _savedCarry = new T[states][];
        for (int s = 0; s < states; s++) _savedCarry[s] = new T[maxBatchSize * _stateSizes[s]];
    }

    /// <summary>The cell whose parameters this runner uses and whose gradients it accumulates.</summary>
    public RecurrentCell<T> Cell { get; }

    /// <summary>The most steps a call can run.</summary>
    public int MaxSteps { get; }

    /// <summary>The most sequences a call can run (a call says its own batch size B, up to this).</summary>
    public int MaxBatchSize { get; }

    /// <summary>The inputs of the last forward call, [T, B, X].</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected T[] Inputs { get; }

    /// <summary>dL/dx of the last backward call, [T, B, X].</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected T[] InputGradients { get; }

    /// <summary>Inference: runs <paramref name="batchSize"/> sequences of T steps each and writes outputs and final states.</summary>
    /// <param name="inputs">[T, B, X], time-major; T is its length over B·X.</param>
    /// <param name="batchSize">B, from 1 to <see cref="MaxBatchSize"/>.</param>
    /// <param name="initialStates">Every state [B, its size], one after another in StateNames order, or empty for zeros.</param>
    /// <param name="outputs">
    /// [T, B, O]: the output state at each step. The pass writes each step's output here as it goes and reads it back
    /// as the next step's state; it may be the inputs' own buffer (then it is written after the pass).
    /// </param>
    /// <param name="finalStates">Every state, laid out as <paramref name="initialStates"/>, or empty when not wanted.</param>
    public void Forward(ReadOnlySpan<T> inputs, int batchSize, ReadOnlySpan<T> initialStates, Span<T> outputs, Span<T> finalStates) =>
        Run(inputs, batchSize, initialStates, outputs, finalStates, default, record: false);

    /// <summary>
    /// Inference over sequences of different lengths, padded to T: one sequence per entry of <paramref name="lengths"/>
    /// (B is its length); sequence b stops after lengths[b] steps, its final states are its own last states and its
    /// outputs past its end are zero. No packing is needed.
    /// </summary>
    public void Forward(ReadOnlySpan<T> inputs, ReadOnlySpan<int> lengths, ReadOnlySpan<T> initialStates, Span<T> outputs, Span<T> finalStates) =>
        Run(inputs, LengthsBatch(lengths), initialStates, outputs, finalStates, lengths, record: false);

    /// <summary>As <see cref="Forward(ReadOnlySpan{T}, int, ReadOnlySpan{T}, Span{T}, Span{T})"/>, and records what <see cref="Backward"/> needs.</summary>
    public void ForwardTraining(ReadOnlySpan<T> inputs, int batchSize, ReadOnlySpan<T> initialStates, Span<T> outputs, Span<T> finalStates) =>
        Run(inputs, batchSize, initialStates, outputs, finalStates, default, record: true);

    /// <summary>As the variable-length <see cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T}, Span{T})"/>,
    /// recording the tape; in <see cref="Backward"/> nothing past a sequence's end contributes to any gradient.</summary>
    public void ForwardTraining(ReadOnlySpan<T> inputs, ReadOnlySpan<int> lengths, ReadOnlySpan<T> initialStates, Span<T> outputs, Span<T> finalStates) =>
        Run(inputs, LengthsBatch(lengths), initialStates, outputs, finalStates, lengths, record: true);

    private static int LengthsBatch(ReadOnlySpan<int> lengths) =>
        lengths.IsEmpty
            ? throw new ArgumentException("lengths is empty; give one length per sequence, or call the overload that takes batchSize.", nameof(lengths))
            : lengths.Length;

    /// <summary>
    /// Backpropagation through time over the last ForwardTraining call, with its T and B: accumulates every parameter's
    /// gradient in the cell and writes the gradients of the inputs and of the initial states.
    /// </summary>
    /// <param name="outputGradients">dL/d(outputs) [T, B, O], or empty for zeros.</param>
    /// <param name="finalStateGradients">dL/d(final states), laid out as the states, or empty for zeros.</param>
    /// <param name="inputGradients">dL/d(inputs) [T, B, X], or empty when not wanted.</param>
    /// <param name="initialStateGradients">dL/d(initial states), laid out as the states, or empty when not wanted.</param>
    public void Backward(ReadOnlySpan<T> outputGradients, ReadOnlySpan<T> finalStateGradients, Span<T> inputGradients, Span<T> initialStateGradients)
    {
        Enter();
        try { RunBackwardChecked(outputGradients, finalStateGradients, inputGradients, initialStateGradients); }
        finally { Leave(); }
    }

    private void RunBackwardChecked(ReadOnlySpan<T> outputGradients, ReadOnlySpan<T> finalStateGradients, Span<T> inputGradients, Span<T> initialStateGradients)
    {
        if (_recordedSteps < 0)
            throw new InvalidOperationException("Backward needs a tape: call ForwardTraining first (Forward records nothing).");
        int steps = _recordedSteps, batch = _batch;
        CheckOptional(outputGradients.Length, steps * batch * _outputSize, nameof(outputGradients), Shape.Outputs, steps);
        CheckOptional(finalStateGradients.Length, _stateValues * batch, nameof(finalStateGradients), Shape.States, steps);
        CheckOptional(inputGradients.Length, steps * batch * Cell.InputSize, nameof(inputGradients), Shape.Inputs, steps);
        CheckOptional(initialStateGradients.Length, _stateValues * batch, nameof(initialStateGradients), Shape.States, steps);

        _masked = _recordedMasked;
        _carryParity = 0;
        for (int s = 0; s < _stateSizes.Length; s++)
        {
            if (finalStateGradients.IsEmpty) CarryIn(s).Clear();
            else finalStateGradients.Slice(_stateOffsets[s] * batch, batch * _stateSizes[s]).CopyTo(CarryIn(s));
        }
        RunBackward(steps, batch, outputGradients);
        if (!inputGradients.IsEmpty) InputGradients.AsSpan(0, inputGradients.Length).CopyTo(inputGradients);
        if (!initialStateGradients.IsEmpty)
            for (int s = 0; s < _stateSizes.Length; s++) CarryIn(s).CopyTo(initialStateGradients.Slice(_stateOffsets[s] * batch, batch * _stateSizes[s]));
    }

    private void Run(ReadOnlySpan<T> inputs, int batchSize, ReadOnlySpan<T> initialStates, Span<T> outputs, Span<T> finalStates, ReadOnlySpan<int> lengths, bool record)
    {
        Enter();
        try { RunChecked(inputs, batchSize, initialStates, outputs, finalStates, lengths, record); }
        finally { Leave(); }
    }

    /// <summary>
    /// A runner's buffers belong to one call at a time: a second thread entering while a call runs gets an exception
    /// rather than outputs computed from each other's buffers (as .NET's collections detect concurrent changes).
    /// </summary>
    private void Enter()
    {
        if (System.Threading.Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
            throw new InvalidOperationException(
                "This runner is already running a call on another thread. A runner is for one thread at a time: create one runner per thread (a cell may be shared by several runners).");
    }

    private void Leave() => System.Threading.Volatile.Write(ref _busy, 0);

    /// <summary>
    /// A buffer of <paramref name="length"/> values for a generated runner, the length computed in 64 bits so that a
    /// size that does not fit is an exception naming it, not a wrapped number.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected static T[] Buffer(long length, string name)
    {
        if (length > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"The runner's buffer '{name}' needs {length} values, more than an array holds ({Array.MaxLength}): use fewer steps, a smaller batch or smaller sizes.");
        return new T[length];
    }

    private void RunChecked(ReadOnlySpan<T> inputs, int batchSize, ReadOnlySpan<T> initialStates, Span<T> outputs, Span<T> finalStates, ReadOnlySpan<int> lengths, bool record)
    {
        if (batchSize < 1 || batchSize > MaxBatchSize)
            throw new ArgumentOutOfRangeException(lengths.IsEmpty ? nameof(batchSize) : nameof(lengths), batchSize,
                $"{(lengths.IsEmpty ? "batchSize is" : "lengths gives")} {batchSize} sequences; this runner runs 1 to {MaxBatchSize} (its maxBatchSize).");
        _recordedSteps = -1;
        _batch = batchSize;
        int perStep = batchSize * Cell.InputSize;
        if (inputs.Length == 0 || inputs.Length % perStep != 0 || inputs.Length / perStep > MaxSteps)
            throw new ArgumentException(
                $"inputs has {inputs.Length} values; expected [T, B={batchSize}, X={Cell.InputSize}] with 1 <= T <= {MaxSteps}, a multiple of {perStep}.",
                nameof(inputs));
        int steps = inputs.Length / perStep;
        int perOutput = batchSize * _outputSize;
        CheckOptional(initialStates.Length, _stateValues * batchSize, nameof(initialStates), Shape.States, steps);
        if (outputs.Length != steps * perOutput)
            throw new ArgumentException(
                $"outputs has {outputs.Length} values; expected {Describe(Shape.Outputs, steps)} = {steps * perOutput}.", nameof(outputs));
        CheckOptional(finalStates.Length, _stateValues * batchSize, nameof(finalStates), Shape.States, steps);
        for (int b = 0; b < lengths.Length; b++)
            if (lengths[b] < 0 || lengths[b] > steps)
                throw new ArgumentOutOfRangeException(nameof(lengths), lengths[b], $"lengths[{b}] = {lengths[b]} is outside [0, T={steps}].");

        _masked = false;
        for (int b = 0; b < lengths.Length; b++) _masked |= lengths[b] < steps;
        if (_masked) lengths.CopyTo(_lengths);
        // Inference reads the caller's inputs where they are; training keeps a copy for the backward pass.
        if (record) inputs.CopyTo(Inputs);
        for (int s = 0; s < _stateSizes.Length; s++)
        {
            Span<T> initial = PreviousState(s, 0);
            if (initialStates.IsEmpty)
            {
                if (_readsInitial[s] || _masked) initial.Clear();
            }
            else initialStates.Slice(_stateOffsets[s] * batchSize, initial.Length).CopyTo(initial);
        }
        // Inference writes the output state straight into the caller's outputs, unless they overlap the inputs (which
        // the pass reads as it goes) or the final states; training keeps the history, which the backward pass reads.
        if (record || outputs.Overlaps(inputs) || outputs.Overlaps(finalStates))
        {
            RunForward(steps, batchSize, record, record ? Inputs.AsSpan(0, inputs.Length) : inputs);
            _history[_outputState].AsSpan(perOutput, steps * perOutput).CopyTo(outputs);
            ClearEnded(outputs, steps, batchSize);
            CopyFinalStates(finalStates, steps, batchSize);
        }
        else
            RunInPlace(inputs, outputs, finalStates, steps, batchSize);
        if (record)
        {
            _recordedSteps = steps;
            _recordedMasked = _masked;
        }
    }

    private unsafe void RunInPlace(ReadOnlySpan<T> inputs, Span<T> outputs, Span<T> finalStates, int steps, int batchSize)
    {
        fixed (T* pinned = outputs)
        {
            _outputs = pinned;
            _outputSteps = steps;
            try
            {
                RunForward(steps, batchSize, record: false, inputs);
                // The final states first: the last step's output state is the caller's last row of outputs, which
                // clearing ended sequences' outputs would zero.
                CopyFinalStates(finalStates, steps, batchSize);
                ClearEnded(outputs, steps, batchSize);
            }
            finally
            {
                _outputs = null;
            }
        }
    }

    private void CopyFinalStates(Span<T> finalStates, int steps, int batchSize)
    {
        if (!finalStates.IsEmpty)
            for (int s = 0; s < _stateSizes.Length; s++) PreviousState(s, steps).CopyTo(finalStates.Slice(_stateOffsets[s] * batchSize, batchSize * _stateSizes[s]));
    }

    /// <summary>Outputs past the end of a sequence are zero.</summary>
    private void ClearEnded(Span<T> outputs, int steps, int batchSize)
    {
        if (_masked)
            for (int t = 0; t < steps; t++)
                for (int b = 0; b < batchSize; b++)
                    if (t >= _lengths[b]) outputs.Slice((t * batchSize + b) * _outputSize, _outputSize).Clear();
    }

    /// <summary>Rows of sequences that have ended keep their states: called by the generated loop after each step.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected void EndForwardStep(int t)
    {
        if (!_masked) return;
        for (int b = 0; b < _batch; b++)
            if (t >= _lengths[b])
                for (int s = 0; s < _history.Length; s++)
                {
                    int h = _stateSizes[s];
                    PreviousState(s, t).Slice(b * h, h).CopyTo(NextState(s, t).Slice(b * h, h));
                }
    }

    /// <summary>
    /// Before a backward step: for sequences that have ended, the gradient coming from later steps is set aside and
    /// the step sees none, so the step adds nothing to any gradient from their rows.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected void BeginBackwardStep(int t)
    {
        if (!_masked) return;
        for (int b = 0; b < _batch; b++)
            if (t >= _lengths[b])
                for (int s = 0; s < _history.Length; s++)
                {
                    int h = _stateSizes[s];
                    Span<T> carry = CarryIn(s).Slice(b * h, h);
                    carry.CopyTo(_savedCarry[s].AsSpan(b * h, h));
                    carry.Clear();
                }
    }

    /// <summary>Ends a backward step: the set-aside gradients of ended sequences pass through unchanged; then carries swap.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected void EndBackwardStep(int t)
    {
        if (_masked)
        {
            for (int b = 0; b < _batch; b++)
                if (t >= _lengths[b])
                    for (int s = 0; s < _history.Length; s++)
                    {
                        int h = _stateSizes[s];
                        _savedCarry[s].AsSpan(b * h, h).CopyTo(CarryOut(s).Slice(b * h, h));
                    }
        }
        SwapCarries();
    }

    private enum Shape { Inputs, Outputs, States }

    // The message is built only when the check fails, so that valid calls allocate nothing.
    private void CheckOptional(int length, int expected, string name, Shape shape, int steps)
    {
        if (length != 0 && length != expected)
            throw new ArgumentException($"{name} has {length} values; expected {Describe(shape, steps)} = {expected}, or none.", name);
    }

    private string Describe(Shape shape, int steps) => shape switch
    {
        Shape.Inputs => $"[T={steps}, B={_batch}, X={Cell.InputSize}]",
        Shape.Outputs => $"[T={steps}, B={_batch}, {(_outputSize == Cell.HiddenSize ? "H" : Cell.OutputName + " size")}={_outputSize}]",
        _ => _stateSizes.All(size => size == Cell.HiddenSize)
            ? $"[S={Cell.StateNames.Count} ({string.Join(", ", Cell.StateNames)}), B={_batch}, H={Cell.HiddenSize}]"
            : $"the states ({string.Join(", ", Cell.StateNames.Select((name, s) => $"{name} [B={_batch}, {_stateSizes[s]}]"))}) one after another",
    };

    /// <summary>The value of state <paramref name="state"/> before step <paramref name="t"/> (s[t-1] of that step), [B, H].</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected unsafe Span<T> PreviousState(int state, int t)
    {
        int size = _batch * _stateSizes[state];
        if (_outputs == null || state != _outputState || t == 0) return _history[state].AsSpan(t * size, size);
        if ((uint)t > (uint)_outputSteps) throw new ArgumentOutOfRangeException(nameof(t), t, $"This pass has {_outputSteps} steps.");
        return new Span<T>(_outputs + (long)(t - 1) * size, size);
    }

    /// <summary>The value of state <paramref name="state"/> after step <paramref name="t"/> (s[t] of that step), [B, H].</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected Span<T> NextState(int state, int t) => PreviousState(state, t + 1);

    /// <summary>The values of a state before each of the first <paramref name="steps"/> steps, [T, B, H].</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected unsafe Span<T> PreviousStates(int state, int steps)
    {
        // In place, the output state's history is not one buffer; only the backward pass reads all steps at once.
        if (_outputs != null && state == _outputState)
            throw new InvalidOperationException("An inference pass keeps no history of its output state to read over all steps.");
        return _history[state].AsSpan(0, steps * _batch * _stateSizes[state]);
    }

    /// <summary>The values of a state after each of the first <paramref name="steps"/> steps, [T, B, H].</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected unsafe Span<T> NextStates(int state, int steps)
    {
        if (_outputs != null && state == _outputState)
        {
            if ((uint)steps > (uint)_outputSteps) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"This pass has {_outputSteps} steps.");
            return new Span<T>(_outputs, steps * _batch * _stateSizes[state]);
        }
        return _history[state].AsSpan(_batch * _stateSizes[state], steps * _batch * _stateSizes[state]);
    }

    /// <summary>dL/d(state after this step), coming from later steps, [B, H].</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected Span<T> CarryIn(int state) => _carry[2 * state + _carryParity].AsSpan(0, _batch * _stateSizes[state]);

    /// <summary>dL/d(state before this step), for the step before, [B, H].</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected Span<T> CarryOut(int state) => _carry[2 * state + 1 - _carryParity].AsSpan(0, _batch * _stateSizes[state]);

    /// <summary>Ends a backward step: what was carried out is carried into the step before.</summary>
    private void SwapCarries() => _carryParity = 1 - _carryParity;

    /// <summary>dL/d(output at step t), [B, H]; zeros when no output gradients were given.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected ReadOnlySpan<T> OutputGradient(ReadOnlySpan<T> outputGradients, int t)
    {
        int perStep = _batch * _outputSize;
        if (outputGradients.IsEmpty) return _zeros.AsSpan(0, perStep);
        ReadOnlySpan<T> step = outputGradients.Slice(t * perStep, perStep);
        if (!_masked) return step;
        Span<T> masked = _maskedOutputGradient.AsSpan(0, perStep);
        step.CopyTo(masked);
        for (int b = 0; b < _batch; b++)
            if (t >= _lengths[b]) masked.Slice(b * _outputSize, _outputSize).Clear();
        return masked;
    }

    /// <summary>x[t-<paramref name="lag"/>] for the first <paramref name="steps"/> steps: the inputs moved down by
    /// <paramref name="lag"/> steps, zeros before the first step of the sequence.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected void LaggedInputs(ReadOnlySpan<T> inputs, int lag, int steps, Span<T> destination)
    {
        int perStep = _batch * Cell.InputSize, all = steps * perStep;
        int shift = Math.Min(lag, steps) * perStep;
        destination.Slice(0, shift).Clear();
        inputs.Slice(0, all - shift).CopyTo(destination.Slice(shift, all - shift));
    }

    /// <summary>
    /// The mask of the cell's dropout <paramref name="dropout"/> for the first <paramref name="steps"/> steps, [T, B,
    /// width]. Training: zoneout 1 (keep the previous value) with probability p, else 0, drawn per step, sequence and
    /// unit; variational dropout 0 with probability p, else 1 / (1 - p), drawn per sequence and unit and the same at every
    /// step. Inference: zoneout's expectation p, dropout's identity 1.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected void DrawMask(int dropout, int steps, int width, bool training, Span<T> mask)
    {
        CellDropout declared = Cell.Dropouts[dropout];
        double p = declared.Probability;
        int perStep = _batch * width, all = steps * perStep;
        mask = mask.Slice(0, all);
        bool zoneout = declared.Kind == CellDropoutKind.Zoneout;
        if (!training || p == 0)
        {
            mask.Fill(T.CreateTruncating(zoneout ? p : 1.0));
            return;
        }
        ref MaskGenerator generator = ref declared.Generator;
        if (zoneout)
        {
            generator.Fill(mask, (float)p, T.One, T.Zero);
            return;
        }
        Span<T> first = mask.Slice(0, perStep);
        generator.Fill(first, (float)(1 - p), T.CreateTruncating(1 / (1 - p)), T.Zero);
        for (int t = 1; t < steps; t++) first.CopyTo(mask.Slice(t * perStep, perStep));
    }

    /// <summary>
    /// The weights a pass multiplies by, for the cell's DropConnect <paramref name="dropout"/>: while training (and p &gt;
    /// 0), a mask drawn for this pass, each weight 0 with probability p and 1 / (1 - p) otherwise, and
    /// <paramref name="dropped"/> the weights times it; otherwise <paramref name="weights"/> themselves.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected T[] DropConnect(int dropout, bool training, T[] weights, T[] dropped, T[] mask)
    {
        CellDropout declared = Cell.Dropouts[dropout];
        double p = declared.Probability;
        if (!training || p == 0) return weights;
        declared.Generator.Fill(mask, (float)(1 - p), T.CreateTruncating(1 / (1 - p)), T.Zero);
        for (int i = 0; i < weights.Length; i++) dropped[i] = weights[i] * mask[i];
        return dropped;
    }

    /// <summary>Adds the gradient of the dropped weights, <paramref name="dropped"/>, to the weights' own: times the mask of the pass.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected static void AddDropConnectGradient(T[] gradient, T[] dropped, T[] mask)
    {
        for (int i = 0; i < gradient.Length; i++) gradient[i] += dropped[i] * mask[i];
    }

    /// <summary>Adds the gradient of x[t-<paramref name="lag"/>] to the gradient of the inputs it was read from.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected void AddLaggedInputGradients(int lag, int steps, ReadOnlySpan<T> gradients)
    {
        int perStep = _batch * Cell.InputSize, all = steps * perStep;
        int shift = Math.Min(lag, steps) * perStep;
        Span<T> target = InputGradients.AsSpan(0, all - shift);
        ReadOnlySpan<T> source = gradients.Slice(shift, all - shift);
        for (int i = 0; i < target.Length; i++) target[i] += source[i];
    }

    /// <summary>Runs <paramref name="steps"/> steps of <paramref name="batchSize"/> sequences of <paramref name="inputs"/> [T, B, X] from the states in slot 0 of the history.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected abstract void RunForward(int steps, int batchSize, bool record, ReadOnlySpan<T> inputs);

    /// <summary>Runs the backward pass over the recorded steps and batch, starting from the carried final-state gradients.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected abstract void RunBackward(int steps, int batchSize, ReadOnlySpan<T> outputGradients);
}
