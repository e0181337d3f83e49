using System.Collections.Generic;
using System.Linq;
using CellGen.Generator.Language;
using CellGen.Generator.Model;

namespace CellGen.Generator.Compiler;

internal enum Phase { Hoisted, Step }

/// <summary>Where a node's forward value lives.</summary>
internal enum Storage
{
    Register,    // computed and used inside one sweep only
    Constant,
    Vector,      // a parameter vector, broadcast over rows
    Input,       // x, [T*B, X]
    StatePrev,   // state history, slot t
    StateNext,   // state history, slot t + 1
    CallOutput,  // a column block of a matrix product's output
    Buffer,      // a buffer of the runner
}

/// <summary>A buffer of the runner: [rows, width] where rows is B (one step) or T*B (all steps) and width the sum of <c>Width</c>.</summary>
internal sealed record BufferPlan(int Index, string Name, EquatableArray<Size> Width, bool AllSteps, BufferPurpose Purpose);

/// <summary>What a runner buffer holds.</summary>
internal enum BufferPurpose
{
    Product,   // the output of a fused matrix product
    Gradient,  // a gradient (of a product, a value, a mean)
    Tape,      // a value only the backward pass reads
    Value,     // a value a later stage of the same pass reads
    Lagged,    // the input of an earlier step, x[t-k]
    Mask,      // a dropout's mask for every step, drawn before the loop and read again by the backward pass
}

/// <summary>How one node is computed, stored and differentiated.</summary>
internal sealed record NodePlan(
    Phase Phase,
    int Level,
    Storage Storage,
    int Buffer,              // Buffer: buffer index; CallOutput: call index
    int Column,              // CallOutput: the part's position in the call's output
    string State,            // StatePrev / StateNext: the state
    bool StoreAlways,        // a sweep stores it for a later stage, another phase or a state
    bool StoreWhenRecording, // only the backward pass reads it
    int AdjointBuffer);      // buffer receiving dL/d(node) from outside its own sweep, or -1

internal sealed record SweepPlan(int Index, Phase Phase, int Level, Size Size, EquatableArray<int> Nodes, SweepShape Shape = SweepShape.Rows);

/// <summary>
/// How a sweep walks its values. Rows: [rows, its size]. Heads: [rows * N, P], one head of a row per kernel row, for a
/// sweep over H that reads values per head (each then one number for the kernel row). MatrixRows: [rows * H, P], one
/// row of one head's P x P matrix per kernel row, for a matrix memory's sweep.
/// </summary>
internal enum SweepShape { Rows, Heads, MatrixRows }

/// <summary>
/// How a matrix product is run and differentiated. <c>SharesGradientWith</c> is an earlier call whose gradient equals
/// this one's at every position, whose buffer <c>GradientBuffer</c> then is; otherwise -1. <c>AddsOnto</c>: a step's
/// product whose parts are each only added to the part in the same place of that call, a product before the loop; in
/// single precision it adds itself onto that product's slice of the step, where its sweep reads the sums (Scheduler.AddsOnto).
/// </summary>
internal sealed record CallPlan(int Call, Phase Phase, int Level, int OutputBuffer, int GradientBuffer, int SharesGradientWith = -1, int AddsOnto = -1);

/// <summary>
/// One instruction of a pass: a sweep or a matrix product (forward, dOperand, dW), a step's product fused with the
/// sweep that follows it (Index the call, Sweep the sweep), or a mean over each row and its gradient (Index the Mean node).
/// </summary>
internal sealed record Instruction(InstructionKind Kind, int Index, int Sweep = -1);

internal enum InstructionKind { Sweep, Gemm, BackwardSweep, GemmData, GemmWeights, GemmThenSweep, Reduce, ReduceData }

/// <summary>
/// Schedule: phases (before the loop / per step), stages separated by matrix products, one fused elementwise sweep per
/// stage, buffers for what is stored, the tape, adjoint buffers, and the order of both passes. For every adjoint,
/// the first writer in backward order overwrites and later ones add, so nothing is zeroed that need not be.
/// </summary>
internal sealed record CellSchedule(
    Derivative Derivative,
    EquatableArray<NodePlan> Nodes,
    EquatableArray<BufferPlan> Buffers,
    EquatableArray<SweepPlan> Sweeps,
    EquatableArray<CallPlan> Calls,
    EquatableArray<Instruction> HoistedForward,
    EquatableArray<Instruction> StepForward,
    EquatableArray<Instruction> StepBackward,
    EquatableArray<Instruction> AfterLoopBackward,
    EquatableArray<Instruction?> FirstWriter, // per node: the instruction that first writes its adjoint (null: none)
    EquatableArray<bool> StatesReadBack,    // per state (cell order): some backward contribution reaches s[t-1]
    EquatableArray<string> Names,           // per node: what generated code calls its value (Naming)
    EquatableArray<int> DropConnectOf = default) // per weight buffer: the cell's [DropConnect] that drops it, or -1
{
    /// <summary>The [DropConnect] (its index in the cell's dropouts) that drops weight buffer <paramref name="buffer"/>, or -1.</summary>
    public int DropConnect(int buffer) => DropConnectOf.Count > buffer ? DropConnectOf[buffer] : -1;

    public OptimisedCell Optimised => Derivative.Cell;

    /// <summary>
    /// Whether <paramref name="node"/> is a part of a step's product that adds itself onto a product before the loop
    /// (<see cref="CallPlan.AddsOnto"/>): single-precision code reads it only inside the sum it was added to.
    /// </summary>
    public bool AddedOnto(int node) => Nodes[node] is { Storage: Storage.CallOutput } plan && Calls[plan.Buffer].AddsOnto >= 0;

    public StepGraph Graph => Derivative.Cell.Graph;
}

internal static class Scheduler
{

    public static CellSchedule Schedule(Derivative derivative)
    {
        OptimisedCell cell = derivative.Cell;
        StepGraph graph = cell.Graph;
        var nodes = graph.Nodes;
        int count = nodes.Count;

        // Phases and levels: a product's level is one more than its operand's; elementwise nodes take their arguments' maximum.
        var phase = new Phase[count];
        var level = new int[count];
        for (int i = 0; i < count; i++)
        {
            Node node = nodes[i];
            phase[i] = cell.Hoisted[i] ? Phase.Hoisted : Phase.Step;
            int LevelOf(int a) => phase[a] == phase[i] ? level[a] : 0;
            level[i] = node.IsLeaf ? 0
                : node.Op == Op.MatPart ? LevelOf(node.Args[0]) + 1
                : node.IsReduction ? node.Args.Select(LevelOf).Max() + 1
                : node.Args.Select(LevelOf).DefaultIfEmpty(0).Max();
        }
        DelayToConsumers(nodes, phase, level);

        // Consumers outside a node's own sweep make it materialised and give it an adjoint buffer.
        var sweepOf = new int[count];
        var sweeps = new List<SweepPlan>();
        foreach (Phase p in new[] { Phase.Hoisted, Phase.Step })
            foreach (var group in Enumerable.Range(0, count).Where(i => nodes[i].IsElementwise && phase[i] == p)
                         .GroupBy(i => (Level: level[i], Size: nodes[i].Size == Size.Scalar ? Size.Hidden : nodes[i].Size))
                         .OrderBy(g => g.Key.Level).ThenBy(g => g.Key.Size.Kind).ThenBy(g => g.Key.Size.Name, System.StringComparer.Ordinal))
            {
                foreach (int i in group) sweepOf[i] = sweeps.Count;
                SweepShape shape = group.Key.Size == Size.Memory ? SweepShape.MatrixRows
                    : group.Key.Size == Size.Hidden && group.Any(i => nodes[i].Args.Any(a => nodes[a].Size == Size.Heads)) ? SweepShape.Heads
                    : SweepShape.Rows;
                sweeps.Add(new SweepPlan(sweeps.Count, p, group.Key.Level, group.Key.Size, group.ToEquatableArray(), shape));
            }
        var external = new bool[count];
        var operandOfStepCall = new bool[count];
        for (int i = 0; i < count; i++)
        {
            Node node = nodes[i];
            foreach (int a in node.Args)
            {
                if (!nodes[a].IsElementwise) continue;
                if (node.Op == Op.MatPart || !node.IsElementwise || sweepOf[a] != sweepOf[i]) external[a] = true;
            }
            if (node.Op == Op.MatPart && phase[i] == Phase.Step) operandOfStepCall[node.Args[0]] = true;
        }
        var updateStates = new Dictionary<int, string>();
        foreach (StateUpdate update in graph.Updates)
            if (!updateStates.ContainsKey(update.Node)) updateStates[update.Node] = update.State;

        var buffers = new List<BufferPlan>();
        int AddBuffer(string name, IEnumerable<Size> width, bool allSteps, BufferPurpose purpose)
        {
            buffers.Add(new BufferPlan(buffers.Count, name, width.ToEquatableArray(), allSteps, purpose));
            return buffers.Count - 1;
        }
        Size[] WidthOf(Node node) => new[] { node.Size == Size.Scalar ? Size.Hidden : node.Size };

        // Matrix products: outputs kept for all steps when before the loop or read by the backward pass.
        var calls = new List<CallPlan>();
        foreach (GemmCall call in cell.Calls)
        {
            WeightBuffer weights = cell.Buffers[call.Buffer];
            var parts = Enumerable.Range(0, count).Where(i => cell.CallOfNode[i] == call.Index).ToList();
            Phase p = call.Hoisted ? Phase.Hoisted : Phase.Step;
            bool allSteps = p == Phase.Hoisted || parts.Any(i => derivative.Needed[i] || operandOfStepCall[i]);
            int output = AddBuffer($"product{call.Index}", weights.Parts.Select(w => w.Rows), allSteps, BufferPurpose.Product);
            CallPlan? same = calls.FirstOrDefault(earlier => SameGradient(cell, derivative, cell.Calls[earlier.Call], call));
            int gradient = same?.GradientBuffer ?? AddBuffer($"d_product{call.Index}", weights.Parts.Select(w => w.Rows), true, BufferPurpose.Gradient);
            calls.Add(new CallPlan(call.Index, p, level[parts[0]], output, gradient, same?.Call ?? -1));
        }

        var names = Naming.Of(graph);
        var plans = new NodePlan[count];
        var stateNames = graph.Cell.States;
        for (int i = 0; i < count; i++)
        {
            Node node = nodes[i];
            bool needed = derivative.Needed[i] && !derivative.Recomputed[i];
            int adjoint = -1;
            switch (node.Op)
            {
                case Op.Constant: plans[i] = new NodePlan(phase[i], 0, Storage.Constant, -1, 0, "", false, false, -1); continue;
                case Op.Vector: plans[i] = new NodePlan(phase[i], 0, Storage.Vector, -1, 0, "", false, false, -1); continue;
                case Op.Input when node.IsLaggedInput:
                {
                    // x[t-k] is the input moved down k steps into a buffer of its own before anything reads it; its
                    // gradient, moved back up, is added to the input's after the backward pass.
                    int values = AddBuffer(names[i], new[] { Size.Input }, true, BufferPurpose.Lagged);
                    int gradient = AddBuffer("d_" + names[i], new[] { Size.Input }, true, BufferPurpose.Gradient);
                    plans[i] = new NodePlan(phase[i], 0, Storage.Buffer, values, 0, "", false, false, gradient);
                    continue;
                }
                case Op.Mask:
                {
                    int values = AddBuffer(names[i], new[] { node.Size }, true, BufferPurpose.Mask);
                    plans[i] = new NodePlan(phase[i], 0, Storage.Buffer, values, 0, "", false, false, -1);
                    continue;
                }
                case Op.Input: plans[i] = new NodePlan(phase[i], 0, Storage.Input, -1, 0, "", false, false, -1); continue;
                case Op.StatePrev: plans[i] = new NodePlan(phase[i], 0, Storage.StatePrev, -1, 0, node.Name, false, false, -1); continue;
                case Op.MatPart:
                    plans[i] = new NodePlan(phase[i], level[i], Storage.CallOutput, cell.CallOfNode[i], cell.SlotOfNode[i], "", false, false, -1);
                    continue;
                case Op.Mean or Op.Variance or Op.SegmentSum:
                {
                    // Written by its reduction, read by later sweeps (a mean broadcast over their features, a sum per head over
                    // its head's units); a mean's gradient is summed over those features into a value per row.
                    string mean = names[i];
                    int values = AddBuffer(mean, new[] { node.Size }, phase[i] == Phase.Hoisted || needed, BufferPurpose.Value);
                    int gradient = AddBuffer("d_" + mean, new[] { node.Size }, phase[i] == Phase.Hoisted, BufferPurpose.Gradient);
                    plans[i] = new NodePlan(phase[i], level[i], Storage.Buffer, values, 0, "", true, false, gradient);
                    continue;
                }
            }
            string name = names[i];
            bool allSteps = phase[i] == Phase.Hoisted || needed || operandOfStepCall[i];
            if (external[i])
                adjoint = AddBuffer("d_" + name, WidthOf(node), phase[i] == Phase.Hoisted, BufferPurpose.Gradient);
            if (updateStates.TryGetValue(i, out string? state))
            {
                plans[i] = new NodePlan(phase[i], level[i], Storage.StateNext, -1, 0, state, true, false, adjoint);
                continue;
            }
            if (external[i] || needed)
            {
                int buffer = AddBuffer(name, WidthOf(node), allSteps, needed && !external[i] ? BufferPurpose.Tape : BufferPurpose.Value);
                plans[i] = new NodePlan(phase[i], level[i], Storage.Buffer, buffer, 0, "", external[i], needed && !external[i], adjoint);
                continue;
            }
            plans[i] = new NodePlan(phase[i], level[i], Storage.Register, -1, 0, "", false, false, adjoint);
        }

        IEnumerable<int> Reductions(Phase p, int l) => Enumerable.Range(0, count).Where(i => nodes[i].IsReduction && phase[i] == p && level[i] == l);

        // Forward order per phase: means and products of a level, then the sweep of that level.
        EquatableArray<Instruction> Forward(Phase p)
        {
            var list = new List<Instruction>();
            int max = Enumerable.Range(0, count).Where(i => phase[i] == p).Select(i => level[i]).DefaultIfEmpty(0).Max();
            for (int l = 0; l <= max; l++)
            {
                var levelCalls = calls.Where(c => c.Phase == p && c.Level == l).ToList();
                var levelSweeps = sweeps.Where(s => s.Phase == p && s.Level == l).ToList();
                // Reductions first: each reads rows of the level before, and the level's sweeps read them.
                list.AddRange(Reductions(p, l).Select(n => new Instruction(InstructionKind.Reduce, n)));
                // In the loop, a level of one product and one sweep over hidden units runs block by block of units, the
                // sweep reading each block of gates while it is in cache. Not before the loop: over T * B rows, each
                // block would read all of the operand again.
                if (p == Phase.Step && levelCalls.Count == 1 && levelSweeps.Count == 1 && levelSweeps[0].Size.Kind != SizeKind.Input && levelSweeps[0].Shape == SweepShape.Rows
                    && cell.Buffers[cell.Calls[levelCalls[0].Call].Buffer].Parts.All(part => part.Rows == levelSweeps[0].Size))
                {
                    list.Add(new Instruction(InstructionKind.GemmThenSweep, levelCalls[0].Call, levelSweeps[0].Index));
                    continue;
                }
                list.AddRange(levelCalls.Select(c => new Instruction(InstructionKind.Gemm, c.Call)));
                list.AddRange(levelSweeps.Select(s => new Instruction(InstructionKind.Sweep, s.Index)));
            }
            return list.ToEquatableArray();
        }
        EquatableArray<Instruction> Backward(Phase p)
        {
            var list = new List<Instruction>();
            int max = Enumerable.Range(0, count).Where(i => phase[i] == p).Select(i => level[i]).DefaultIfEmpty(0).Max();
            for (int l = max; l >= 0; l--)
            {
                // The level's sweeps in the reverse of their forward order: one of them may read another's values.
                list.AddRange(sweeps.Where(s => s.Phase == p && s.Level == l).Reverse().Select(s => new Instruction(InstructionKind.BackwardSweep, s.Index)));
                list.AddRange(calls.Where(c => c.Phase == p && c.Level == l).Select(c => new Instruction(InstructionKind.GemmData, c.Call)));
                list.AddRange(Reductions(p, l).Select(n => new Instruction(InstructionKind.ReduceData, n)));
            }
            return list.ToEquatableArray();
        }
        var stepForward = Forward(Phase.Step);
        foreach (Instruction fused in stepForward.Where(i => i.Kind == InstructionKind.GemmThenSweep))
            calls[fused.Index] = calls[fused.Index] with { AddsOnto = AddsOnto(cell, derivative, cell.Calls[fused.Index], sweeps[fused.Sweep]) };
        var stepBackward = Backward(Phase.Step);
        var afterLoop = calls.Where(c => c.Phase == Phase.Step).Select(c => new Instruction(InstructionKind.GemmWeights, c.Call))
            .Concat(Backward(Phase.Hoisted))
            .Concat(calls.Where(c => c.Phase == Phase.Hoisted).Select(c => new Instruction(InstructionKind.GemmWeights, c.Call)))
            .ToEquatableArray();

        // The first writer of every adjoint, in backward order.
        var first = new Instruction?[count];
        void Touch(int target, Instruction by) => first[target] ??= by;
        foreach (Instruction instruction in stepBackward.Concat(afterLoop))
        {
            if (instruction.Kind == InstructionKind.BackwardSweep)
            {
                var members = new HashSet<int>(sweeps[instruction.Index].Nodes);
                foreach (Contribution c in derivative.Contributions)
                    if (members.Contains(c.From) && !members.Contains(c.Target)) Touch(c.Target, instruction);
            }
            else if (instruction.Kind == InstructionKind.GemmData)
                Touch(cell.Calls[instruction.Index].Operand, instruction);
            else if (instruction.Kind == InstructionKind.ReduceData)
                Touch(nodes[instruction.Index].Args[0], instruction);
        }
        var statesReadBack = stateNames.Select(s => Enumerable.Range(0, count).Any(i => nodes[i].Op == Op.StatePrev && nodes[i].Name == s && first[i] is not null)).ToEquatableArray();

        return new CellSchedule(derivative, plans.ToEquatableArray(), buffers.ToEquatableArray(), sweeps.ToEquatableArray(),
            calls.ToEquatableArray(), Forward(Phase.Hoisted), stepForward, stepBackward, afterLoop,
            first.ToEquatableArray(), statesReadBack, names, DropConnects(cell));
    }

    /// <summary>
    /// The product before the loop that the fused step product <paramref name="step"/> can add itself onto, or -1. It
    /// can when each of its parts is read only by a sum in <paramref name="sweep"/> that also adds, with a plus sign,
    /// the part in the same place of that product, which nothing else reads: W_h h[t-1] + (W_x x[t] + b) in each gate
    /// of an LSTM. Then the step's product adds into the step's slice of the other, and the sweep reads each pair's
    /// sum with one load. Neither part may be read by the backward pass (the slice holds the sums afterwards), and the
    /// step's product may have no bias of its own; the parts must lie alike, so that the slice is laid out as its output.
    /// </summary>
    private static int AddsOnto(OptimisedCell cell, Derivative derivative, GemmCall step, SweepPlan sweep)
    {
        var nodes = cell.Graph.Nodes;
        WeightBuffer weights = cell.Buffers[step.Buffer];
        if (weights.HasBias) return -1;
        int[] uses = Optimiser.CountUses(cell.Graph);
        var members = new HashSet<int>(sweep.Nodes);
        // Each part is read once (uses), so it stands once in the sum: its sign there is its only one.
        bool Added(Node sum, int arg) => sum.Args.Contains(arg) && Enumerable.Range(0, sum.Args.Count).All(k => sum.Args[k] != arg || sum.Signs[k] > 0);
        foreach (GemmCall hoisted in cell.Calls.Where(c => c.Hoisted))
        {
            WeightBuffer other = cell.Buffers[hoisted.Buffer];
            if (other.Parts.Count != weights.Parts.Count || Enumerable.Range(0, weights.Parts.Count).Any(s => other.Parts[s].Rows != weights.Parts[s].Rows)) continue;
            bool all = true;
            for (int slot = 0; slot < weights.Parts.Count && all; slot++)
            {
                int mine = OnlyPart(cell, step.Index, slot), theirs = OnlyPart(cell, hoisted.Index, slot);
                int sum = mine < 0 ? -1 : Enumerable.Range(0, nodes.Count).Where(i => nodes[i].Args.Contains(mine)).DefaultIfEmpty(-1).First();
                all = theirs >= 0 && sum >= 0 && uses[mine] == 1 && uses[theirs] == 1 && members.Contains(sum) && nodes[sum].Op == Op.Sum
                    && Added(nodes[sum], mine) && Added(nodes[sum], theirs) && !derivative.Needed[mine] && !derivative.Needed[theirs];
            }
            if (all) return hoisted.Index;
        }
        return -1;
    }

    /// <summary>
    /// For each weight buffer, the [DropConnect] whose state one of its products reads at t-1 (in its operand, through
    /// elementwise operations: r * h[t-1] reads h[t-1]), or -1: the buffer's weights multiply that state. A buffer that
    /// multiplies two such states takes the first declaration.
    /// </summary>
    private static EquatableArray<int> DropConnects(OptimisedCell cell)
    {
        var nodes = cell.Graph.Nodes;
        var dropouts = cell.Graph.Cell.Dropouts.Count > 0 ? cell.Graph.Cell.Dropouts : EquatableArray<DropoutInfo>.Empty;
        bool Reads(int node, string state) => nodes[node] switch
        {
            { Op: Op.StatePrev } n => n.Name == state,
            { IsElementwise: true } n => n.Args.Any(a => Reads(a, state)),
            _ => false,
        };
        return cell.Buffers.Select(buffer => Enumerable.Range(0, dropouts.Count).Where(k => dropouts[k].Kind == DropoutKind.DropConnect
                && cell.Calls.Any(call => call.Buffer == buffer.Index && Reads(call.Operand, dropouts[k].State))).DefaultIfEmpty(-1).First())
            .ToEquatableArray();
    }

    /// <summary>
    /// True when the gradients of two products are equal at every position, so that one buffer can hold both and the
    /// backward sweep writes it once: their weights have the same parts, and each part of one and the part in the same
    /// place of the other receive one contribution each, the same one from the same node. That is the LSTM's
    /// W_h h[t-1] + W_x x[t] + b in every gate: the sum passes its gradient to both products unchanged.
    /// </summary>
    private static bool SameGradient(OptimisedCell cell, Derivative derivative, GemmCall first, GemmCall second)
    {
        int parts = cell.Buffers[first.Buffer].Parts.Count;
        if (cell.Buffers[second.Buffer].Parts.Count != parts) return false;
        for (int slot = 0; slot < parts; slot++)
        {
            Contribution? a = OnlyContribution(cell, derivative, first.Index, slot);
            Contribution? b = OnlyContribution(cell, derivative, second.Index, slot);
            if (a is null || b is null || a.From != b.From || !a.Value.Equals(b.Value)) return false;
        }
        return true;
    }

    /// <summary>The one contribution to the gradient of the part of <paramref name="call"/> at <paramref name="slot"/>; null when the part is not one node or its gradient has no or several terms.</summary>
    private static Contribution? OnlyContribution(OptimisedCell cell, Derivative derivative, int call, int slot)
    {
        int part = OnlyPart(cell, call, slot);
        if (part < 0) return null;
        var terms = derivative.Contributions.Where(c => c.Target == part).ToList();
        return terms.Count == 1 ? terms[0] : null;
    }

    /// <summary>The node that is the part of <paramref name="call"/> at <paramref name="slot"/>; -1 when there is not exactly one.</summary>
    private static int OnlyPart(OptimisedCell cell, int call, int slot)
    {
        var nodes = Enumerable.Range(0, cell.CallOfNode.Count).Where(i => cell.CallOfNode[i] == call && cell.SlotOfNode[i] == slot).ToList();
        return nodes.Count == 1 ? nodes[0] : -1;
    }

    /// <summary>
    /// Moves every elementwise node to the latest level its consumers allow: the level of the sweep that reads it, or
    /// the one before a product that reads it. Left at the earliest level, a value that depends only on states (a
    /// peephole's p_i * c[t-1]) would take a sweep of its own before the step's product, and a buffer to reach the
    /// sweep after it. A node that nothing in its phase reads goes to the phase's last level.
    /// </summary>
    private static void DelayToConsumers(EquatableArray<Node> nodes, Phase[] phase, int[] level)
    {
        int count = nodes.Count;
        var lastLevel = new Dictionary<Phase, int>();
        for (int i = 0; i < count; i++)
            lastLevel[phase[i]] = lastLevel.TryGetValue(phase[i], out int l) ? System.Math.Max(l, level[i]) : level[i];
        var latest = Enumerable.Repeat(int.MaxValue, count).ToArray();
        // Consumers come after their arguments, so walking backwards sees each node's final level before its arguments.
        for (int i = count - 1; i >= 0; i--)
        {
            Node node = nodes[i];
            if (node.IsElementwise) level[i] = System.Math.Max(level[i], latest[i] == int.MaxValue ? lastLevel[phase[i]] : latest[i]);
            foreach (int a in node.Args)
                if (nodes[a].IsElementwise && phase[a] == phase[i])
                    latest[a] = System.Math.Min(latest[a], node.Op == Op.MatPart || node.IsReduction ? level[i] - 1 : level[i]);
        }
    }
}
