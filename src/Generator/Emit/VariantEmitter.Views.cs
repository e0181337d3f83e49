using System.Collections.Generic;
using System.Linq;
using CellGen.Generator.Compiler;
using CellGen.Generator.Language;

namespace CellGen.Generator.Emit;

/// <summary>Views of the runner's buffers: what each kernel and product reads and writes, and where.</summary>
internal sealed partial class VariantEmitter
{
    private string BufferWidth(BufferPlan b) => Width(b.Width);

    private string StateSize(string state) => SizeOf(_cell.SizeOfState(state));

    /// <summary>A buffer of one value per row: a mean, or a value computed from means, or their gradients.</summary>
    private bool IsPerRow(int buffer) => _schedule.Buffers[buffer].Width.All(size => size == Size.Row);

    /// <summary>Where a node's columns start in its product's output, or "" at the start.</summary>
    private string CallColumn(NodePlan plan)
    {
        string offset = PartOffset(_schedule.Optimised.Buffers[_schedule.Optimised.Calls[plan.Buffer].Buffer], plan.Column);
        return offset == "0" ? "" : offset;
    }

    /// <summary>A buffer's rows for one step (the loop's slot in the forward pass) or for all steps.</summary>
    private SpanText BufferSpan(int index, Phase phase, bool forward = false)
    {
        BufferPlan b = _schedule.Buffers[index];
        string width = BufferWidth(b), field = _bufferFields[index];
        if (!b.AllSteps) return SpanText.Array(field);
        string step = forward && _keptPerStep.Contains(index) ? "slot" : "t";
        return phase == Phase.Step
            ? SpanText.Of($"{field}.AsSpan({step} * B * {Paren(width)}, B * {Paren(width)})")
            : SpanText.Of($"{field}.AsSpan(0, steps * B * {Paren(width)})");
    }

    private View? ValueView(int node, Phase phase, bool forward = false)
    {
        Node n = _graph.Nodes[node];
        NodePlan plan = _schedule.Nodes[node];
        switch (plan.Storage)
        {
            case Storage.Vector: return new View(Field("vector:" + n.Name, "_" + Ident(n.Name)), SpanText.Array($"_cell.{VectorField(n.Name)}"), "", "", true, Single: n.Size == Size.One, Size: n.Size);
            // The forward pass reads the caller's inputs (its parameter); the backward pass the copy a training run kept.
            case Storage.Input: return new View(Field("input", "_" + Ident(_cell.Input)), InputSpan(forward ? "inputs" : "Inputs", phase), "X", "", false, Size: Size.Input);
            case Storage.StatePrev: return new View(Field("prev:" + n.Name, $"_{Ident(n.Name)}_prev"), SpanText.Of($"PreviousState({StateIndex(n.Name)}, t)"), StateSize(n.Name), "", false, Size: _cell.SizeOfState(n.Name));
            case Storage.StateNext: return StateView(plan.State);
            case Storage.CallOutput:
            {
                CallPlan call = _schedule.Calls[plan.Buffer];
                BufferPlan b = _schedule.Buffers[call.OutputBuffer];
                return new View(_bufferFields[call.OutputBuffer], BufferSpan(call.OutputBuffer, phase, forward), BufferWidth(b), CallColumn(plan), false, Size: n.Size);
            }
            case Storage.Buffer:
                return new View(_bufferFields[plan.Buffer], BufferSpan(plan.Buffer, phase, forward), BufferWidth(_schedule.Buffers[plan.Buffer]), "", false,
                    PerRow: IsPerRow(plan.Buffer), Size: _schedule.Buffers[plan.Buffer].Width[0]);
        }
        return null;
    }

    /// <summary>
    /// Where a kernel of <paramref name="shape"/> finds its element (row, j) in <paramref name="view"/>, and whether that is
    /// one number for all its lanes (a value per row, per head, or a unit spread along a matrix row). <paramref name="spread"/>
    /// is Rows or Columns for a value of size H read into a matrix memory's sweep. Heads: row = b * heads + head, j &lt; P.
    /// MatrixRows: row = b * H + head * P + r, j = c &lt; P. P is H / heads.
    /// </summary>
    private (string Index, bool Scalar) At(View view, SweepShape shape, Op spread = Op.Copy)
    {
        if (view.Single) return ("0", true);
        if (shape == SweepShape.Rows) return (view.Index, view.PerRow);
        const string P = "(H / heads)";
        bool heads = view.Size == Size.Heads;
        bool rows = shape == SweepShape.Heads;
        if (view.PerRow) return (rows ? "row / heads" : "row / H", true);
        if (view.Broadcast) // a parameter vector: the same for every row
            return rows
                ? heads ? ("row % heads", true) : ($"row % heads * {P} + j", false)
                : heads ? ($"row / {P} % heads", true) : spread == Op.Rows ? ("row % H", true) : ($"row / {P} % heads * {P} + j", false);
        string stride = view.Stride.Contains(" ") ? "(" + view.Stride + ")" : view.Stride;
        string column = view.Column.Length > 0 ? view.Column + " + " : "";
        // b's first element, then the element's place in b's row; simpler where the row holds this value alone.
        string start = rows ? $"row / heads * {stride} + {column}" : $"row / H * {stride} + {column}";
        bool alone = view.Column.Length == 0;
        if (rows)
            return heads
                ? (alone && view.Stride == "heads" ? "row" : start + "row % heads", true)
                : (alone && view.Stride == "H" ? $"row * {P} + j" : start + $"row % heads * {P} + j", false);
        if (view.Size == Size.Memory) return (alone ? $"row * {P} + j" : start + $"row % H * {P} + j", false);
        if (heads) return (alone && view.Stride == "heads" ? $"row / {P}" : start + $"row / {P} % heads", true);
        if (spread == Op.Rows) return (alone && view.Stride == "H" ? "row" : start + "row % H", true);
        if (spread == Op.Columns) return (alone && view.Stride == "H" ? $"row / {P} * {P} + j" : start + $"row / {P} % heads * {P} + j", false);
        throw new System.InvalidOperationException($"A value of {view.Size.Describe()} read into a matrix memory's sweep without Rows or Columns");
    }

    /// <summary>The inputs (or their gradients) of all steps before the loop, of step t inside it (a highway reads x[t] there).</summary>
    private static SpanText InputSpan(string field, Phase phase)
    {
        // "inputs" is a span already (Slice); the runner's buffers are arrays (AsSpan).
        string method = field == "inputs" ? "Slice" : "AsSpan";
        return SpanText.Of(phase == Phase.Step ? $"{field}.{method}(t * B * X, B * X)" : $"{field}.{method}(0, steps * B * X)");
    }

    /// <summary>The lagged inputs x[t-k], each with its buffer's index, in graph order.</summary>
    private List<(int Lag, int Buffer, int Node)> LaggedInputs() =>
        Enumerable.Range(0, _graph.Nodes.Count).Where(i => _graph.Nodes[i].IsLaggedInput)
            .Select(i => (_graph.Nodes[i].Lag, _schedule.Nodes[i].Buffer, i)).ToList();

    private View StateView(string state) =>
        new(Field("next:" + state, "_" + Ident(state)), SpanText.Of($"NextState({StateIndex(state)}, t)"), StateSize(state), "", false, Size: _cell.SizeOfState(state));

    private View CarryInView(string state) =>
        new(Field("carry:" + state, $"_d_{Ident(state)}_later"), SpanText.Of($"CarryIn({StateIndex(state)})"), StateSize(state), "", false, Size: _cell.SizeOfState(state));

    private View OutputGradientView() => new(Field("output-gradient", "_d_output"), SpanText.Of("OutputGradient(outputGradients, t)"), StateSize(_cell.Output), "", false,
        Size: _cell.OutputSize);

    private View AdjointView(int node, Phase phase)
    {
        Node n = _graph.Nodes[node];
        NodePlan plan = _schedule.Nodes[node];
        switch (plan.Storage)
        {
            case Storage.Vector: return new View(Field("vector-gradient:" + n.Name, "_d_" + Ident(n.Name)), SpanText.Array($"_cell.{Gradient(VectorField(n.Name))}"), "", "", true, Single: n.Size == Size.One, Size: n.Size);
            case Storage.Input: return new View(Field("input-gradient", "_d_" + Ident(_cell.Input)), InputSpan("InputGradients", phase), "X", "", false, Size: Size.Input);
            case Storage.StatePrev: return new View(Field("carry-out:" + n.Name, $"_d_{Ident(n.Name)}_prev"), SpanText.Of($"CarryOut({StateIndex(n.Name)})"), StateSize(n.Name), "", false, Size: _cell.SizeOfState(n.Name));
            case Storage.CallOutput:
            {
                CallPlan call = _schedule.Calls[plan.Buffer];
                BufferPlan b = _schedule.Buffers[call.GradientBuffer];
                return new View(_bufferFields[call.GradientBuffer], BufferSpan(call.GradientBuffer, phase), BufferWidth(b), CallColumn(plan), false, Size: n.Size);
            }
            default:
                return new View(_bufferFields[plan.AdjointBuffer], BufferSpan(plan.AdjointBuffer, phase), BufferWidth(_schedule.Buffers[plan.AdjointBuffer]), "", false,
                    PerRow: IsPerRow(plan.AdjointBuffer), Size: _schedule.Buffers[plan.AdjointBuffer].Width[0]);
        }
    }
}
