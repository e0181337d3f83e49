using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Linq;

namespace CellGen;

/// <summary>
/// The base of every layer the generator writes from a <see cref="LayerAttribute"/> class: equations with no earlier
/// step, compiled as a cell is, run over all rows of the input at once (the T × B rows of a batch of sequences, or B
/// vectors: one matrix product for the whole batch, the elementwise work fused after it), forward and backward. The
/// output keeps the input's shape with rows of <see cref="OutputSize"/> values. Parameters are named as in the
/// equations ("W_1", "b_1"...), under the module's prefix.
/// </summary>
public abstract class Layer : Module
{
    private SequenceRunner<float>? _runner;

    /// <summary>Wraps the compiled equations (generated constructors call this).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected Layer(RecurrentCell<float> cell)
    {
        ArgumentNullException.ThrowIfNull(cell);
        if (cell.StateNames.Count != 1)
            throw new ArgumentException($"A layer's equations define one output; {cell.GetType().Name} has {cell.StateNames.Count}.", nameof(cell));
        Cell = cell;
        ResetParameters();
    }

    /// <summary>The compiled equations: their parameters by name (<c>Cell.Parameter("W_1")</c>), sizes and equations.</summary>
    public RecurrentCell<float> Cell { get; }

    /// <summary>The size of an input row (the size of every name the layer does not declare with [Size]).</summary>
    public int InputSize => Cell.InputSize;

    /// <summary>The size of an output row.</summary>
    public int OutputSize => Cell.OutputSize;

    /// <summary>The equations the layer was generated from.</summary>
    public IReadOnlyList<string> Equations => Cell.Equations;

    /// <inheritdoc/>
    public override int? InputWidth => InputSize;

    /// <summary>
    /// Draws the parameters as nn.Linear does: each matrix from U(±1/√fan_in), fan_in its number of columns, and each
    /// vector from U(±1/√X), X the input size; then the layer's own <c>OnCreated</c>, if it has one, sets what differs
    /// (a LayerNorm's gain of ones). Draws from <paramref name="random"/>, or the generator <see cref="Initializers.ManualSeed"/> seeds.
    /// </summary>
    public void ResetParameters(Random? random = null)
    {
        foreach (Parameter<float> parameter in Cell.Parameters)
        {
            int fanIn = parameter.Shape.Count > 1 ? parameter.Shape[^1] : InputSize; // a block-diagonal matrix's blocks: their columns
            var values = new float[parameter.Length];
            Initializers.Uniform<float>(values, 1 / Math.Sqrt(fanIn), random);
            parameter.CopyFrom(values);
        }
        Initialized();
    }

    /// <summary>Called after the parameters are drawn: generated layers call their partial <c>OnCreated</c> here.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected virtual void Initialized()
    {
    }

    /// <inheritdoc/>
    public override IEnumerable<ParameterBuffer> ParameterBuffers => Cell.ParameterBuffers;

    /// <inheritdoc/>
    protected override IEnumerable<KeyValuePair<string, Parameter<float>>> NamedParametersCore(string prefix) =>
        Cell.Parameters.Select(p => KeyValuePair.Create(prefix + p.Name, p));

    /// <summary>The parameters under the names [PyTorchName] gives them, the others under their names in the equations.</summary>
    internal override IEnumerable<KeyValuePair<string, Parameter<float>>> TorchParameters(string prefix)
    {
        var names = GetType().GetCustomAttributes(typeof(PyTorchNameAttribute), inherit: false).Cast<PyTorchNameAttribute>().ToDictionary(a => a.Parameter, a => a.Name);
        foreach (Parameter<float> parameter in Cell.Parameters)
            yield return KeyValuePair.Create(prefix + (names.TryGetValue(parameter.Name, out string? name) ? name : parameter.Name), parameter);
    }

    internal override string? OnnxUnsupported => null;

    internal override OnnxShape OnnxOutput(OnnxShape shape) => shape with { Width = OutputSize };

    /// <summary>The equations' step graph on every row at once.</summary>
    internal override void OnnxLower(Onnx.OnnxGraph graph)
    {
        graph.Current = graph.Rows(Cell, graph.Current);
        graph.Pooled = null;
    }

    /// <inheritdoc/>
    protected override void ForwardCore(Activations input, bool training)
    {
        CheckWidth(input, InputSize);
        int rows = input.Rows;
        Output.ReshapeLike(input, OutputSize);
        // Every row is independent: one "step" of T × B sequences runs them all at once.
        SequenceRunner<float> runner = _runner is { } existing && existing.MaxBatchSize >= rows ? existing : _runner = Cell.CreateRunner(1, Math.Max(rows, _runner?.MaxBatchSize ?? 0));
        if (training) runner.ForwardTraining(input.Values, rows, default, Output.Values, default);
        else runner.Forward(input.Values, rows, default, Output.Values, default);
    }

    /// <inheritdoc/>
    protected override void BackwardCore(Activations input) =>
        _runner!.Backward(Output.Gradients, default, input.RequiresGradient ? input.Gradients : default, default);

    /// <summary>"FeedForward [X=256 -> 256]: y = ...".</summary>
    public override string ToString() => $"{GetType().Name} [{InputSize} -> {OutputSize}]";
}
