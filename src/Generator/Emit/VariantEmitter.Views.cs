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
            case Storage.Vector: return new View(Field("vector:" + n.Name, "_" + Ident(n.Name)), SpanText.Array($"_cell.{VectorField(n.Name)}"), "", "", true, Single: n.Size == Size.One);
            // The forward pass reads the caller's inputs (its parameter); the backward pass the copy a training run kept.
            case Storage.Input: return new View(Field("input", "_" + Ident(_cell.Input)), InputSpan(forward ? "inputs" : "Inputs", phase), "X", "", false);
            case Storage.StatePrev: return new View(Field("prev:" + n.Name, $"_{Ident(n.Name)}_prev"), SpanText.Of($"PreviousState({StateIndex(n.Name)}, t)"), StateSize(n.Name), "", false);
            case Storage.StateNext: return StateView(plan.State);
            case Storage.CallOutput:
            {
                CallPlan call = _schedule.Calls[plan.Buffer];
                BufferPlan b = _schedule.Buffers[call.OutputBuffer];
                return new View(_bufferFields[call.OutputBuffer], BufferSpan(call.OutputBuffer, phase, forward), BufferWidth(b), CallColumn(plan), false);
            }
            case Storage.Buffer:
                return new View(_bufferFields[plan.Buffer], BufferSpan(plan.Buffer, phase, forward), BufferWidth(_schedule.Buffers[plan.Buffer]), "", false,
                    PerRow: IsPerRow(plan.Buffer));
        }
        return null;
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
        new(Field("next:" + state, "_" + Ident(state)), SpanText.Of($"NextState({StateIndex(state)}, t)"), StateSize(state), "", false);

    private View CarryInView(string state) =>
        new(Field("carry:" + state, $"_d_{Ident(state)}_later"), SpanText.Of($"CarryIn({StateIndex(state)})"), StateSize(state), "", false);

    private View OutputGradientView() => new(Field("output-gradient", "_d_output"), SpanText.Of("OutputGradient(outputGradients, t)"), StateSize(_cell.Output), "", false);

    private View AdjointView(int node, Phase phase)
    {
        Node n = _graph.Nodes[node];
        NodePlan plan = _schedule.Nodes[node];
        switch (plan.Storage)
        {
            case Storage.Vector: return new View(Field("vector-gradient:" + n.Name, "_d_" + Ident(n.Name)), SpanText.Array($"_cell.{Gradient(VectorField(n.Name))}"), "", "", true, Single: n.Size == Size.One);
            case Storage.Input: return new View(Field("input-gradient", "_d_" + Ident(_cell.Input)), InputSpan("InputGradients", phase), "X", "", false);
            case Storage.StatePrev: return new View(Field("carry-out:" + n.Name, $"_d_{Ident(n.Name)}_prev"), SpanText.Of($"CarryOut({StateIndex(n.Name)})"), StateSize(n.Name), "", false);
            case Storage.CallOutput:
            {
                CallPlan call = _schedule.Calls[plan.Buffer];
                BufferPlan b = _schedule.Buffers[call.GradientBuffer];
                return new View(_bufferFields[call.GradientBuffer], BufferSpan(call.GradientBuffer, phase), BufferWidth(b), CallColumn(plan), false);
            }
            default:
                return new View(_bufferFields[plan.AdjointBuffer], BufferSpan(plan.AdjointBuffer, phase), BufferWidth(_schedule.Buffers[plan.AdjointBuffer]), "", false,
                    PerRow: IsPerRow(plan.AdjointBuffer));
        }
    }
}
