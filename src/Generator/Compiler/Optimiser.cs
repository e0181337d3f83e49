using System;
using System.Collections.Generic;
using System.Linq;
using CellGen.Generator.Language;
using CellGen.Generator.Model;

namespace CellGen.Generator.Compiler;

/// <summary>The column block <c>Part</c> of matrix <c>Matrix</c>, stacked in a weight buffer, with a folded bias.</summary>
internal sealed record BufferPart(string Matrix, int Part, string Bias, Size Rows);

/// <summary>
/// The rows of several matrix parts that multiply the same operand, stored together so that one matrix product
/// computes them all (all gates of an LSTM from one product on h[t-1]). <c>Blocks</c> &gt; 1: every part is
/// block-diagonal with that many blocks and has the same rows, and the buffer holds only the blocks, as the
/// [OperandSize / Blocks, rows] matrix of the blocks side by side (Gemm.ForwardBlocks).
/// </summary>
internal sealed record WeightBuffer(int Index, Size OperandSize, EquatableArray<BufferPart> Parts, int Blocks = 1)
{
    public bool HasBias => Parts.Any(p => p.Bias.Length > 0);
}

/// <summary>One fused matrix product: the stacked rows of <c>Buffer</c> times the operand node.</summary>
internal sealed record GemmCall(int Index, int Buffer, int Operand, bool Hoisted);

/// <summary>The graph after Optimise: products fused by operand, x[t] products hoisted out of the time loop.</summary>
internal sealed record OptimisedCell(
    StepGraph Graph,
    EquatableArray<bool> Hoisted,
    EquatableArray<WeightBuffer> Buffers,
    EquatableArray<GemmCall> Calls,
    EquatableArray<int> CallOfNode,   // MatPart node -> call index, else -1
    EquatableArray<int> SlotOfNode);  // MatPart node -> its part's position in the call's buffer, else -1

/// <summary>
/// Optimise: split W @ [a, b] by parts, fold constants, flatten sums, fold biases into matrix products, hoist every
/// product of x[t] out of the time loop, fuse products with the same operand, and drop what no state needs.
/// </summary>
internal static class Optimiser
{
    public static OptimisedCell Optimise(StepGraph graph)
    {
        graph = Rewrite(graph, SplitConcatenations);
        graph = Rewrite(graph, Simplify(graph));
        graph = EliminateDeadNodes(graph);
        graph = Rewrite(graph, FoldBiases(graph));
        graph = EliminateDeadNodes(graph);
        graph = Rewrite(graph, GroupHoistedTerms(graph));
        graph = EliminateDeadNodes(graph);
        graph = ComputeUpdatesInLoop(graph);
        graph = Rewrite(graph, MaterialiseVectorOperands);
        return Fuse(graph);
    }

    private delegate int Rule(Node node, GraphBuilder builder);

    /// <summary>Rebuilds the graph node by node (arguments already mapped); a rule may emit other nodes instead.</summary>
    private static StepGraph Rewrite(StepGraph graph, Rule rule)
    {
        var builder = new GraphBuilder();
        var map = new int[graph.Nodes.Count];
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            Node node = graph.Nodes[i];
            Node mapped = node with { Args = node.Args.Select(a => map[a]).ToEquatableArray() };
            map[i] = rule(mapped, builder);
        }
        return graph with
        {
            Nodes = builder.Nodes.ToEquatableArray(),
            Updates = graph.Updates.Select(u => u with { Node = map[u.Node] }).ToEquatableArray(),
            Labels = graph.Labels.Select(l => l with { Node = map[l.Node] }).ToEquatableArray(),
        };
    }

    /// <summary>How many nodes (and state updates) read each node.</summary>
    internal static int[] CountUses(StepGraph graph)
    {
        var uses = new int[graph.Nodes.Count];
        foreach (Node node in graph.Nodes)
            foreach (int arg in node.Args) uses[arg]++;
        foreach (StateUpdate update in graph.Updates) uses[update.Node]++;
        return uses;
    }

    private static EquatableArray<int> Ints(params int[] values) => new(values);

    private static int SplitConcatenations(Node node, GraphBuilder builder)
    {
        if (node.Op != Op.MatVec) return builder.Add(node);
        var parts = node.Args.Select((arg, k) => builder.Add(new Node(Op.MatPart, Ints(arg), node.Size, node.Name, Part: k))).ToArray();
        return parts.Length == 1 ? parts[0] : builder.Add(new Node(Op.Sum, new EquatableArray<int>(parts), node.Size, Signs: new EquatableArray<int>(parts.Select(_ => 1))));
    }

    /// <summary>Folds constants, flattens single-use sums into their users, and turns negations inside sums into signs.</summary>
    private static Rule Simplify(StepGraph original)
    {
        int[] uses = CountUses(original);
        var newToOld = new Dictionary<int, int>();
        int position = 0;
        return (node, builder) =>
        {
            int oldIndex = position++;
            int result = SimplifyNode(node, builder, n => newToOld.TryGetValue(n, out int o) ? uses[o] : 2);
            if (!newToOld.ContainsKey(result)) newToOld[result] = oldIndex;
            return result;
        };
    }

    private static int SimplifyNode(Node node, GraphBuilder builder, Func<int, int> usesOf)
    {
        Node Arg(int k) => builder.Nodes[node.Args[k]];
        bool IsConstant(int k, out double value)
        {
            value = Arg(k).Value;
            return Arg(k).Op == Op.Constant;
        }

        switch (node.Op)
        {
            case Op.Mean when IsConstant(0, out double mean): return builder.Constant(mean);
            case Op.Apply when node.Args.All(a => builder.Nodes[a].Op == Op.Constant):
                return builder.Constant(node.Operation!.Fold(node.Args.Select(a => builder.Nodes[a].Value).ToArray()));
            case Op.Apply when node.Operation == Operation.Multiply:
            {
                bool c0 = IsConstant(0, out double a), c1 = IsConstant(1, out double b);
                if (c0 && a == 1) return node.Args[1];
                if (c1 && b == 1) return node.Args[0];
                return builder.Add(node);
            }
            case Op.Sum:
            {
                var terms = new List<(int Node, int Sign)>();
                double constant = 0;
                void AddTerm(int term, int sign)
                {
                    Node n = builder.Nodes[term];
                    if (n.Op == Op.Constant) constant += sign * n.Value;
                    else if (n.Op == Op.Sum && usesOf(term) == 1)
                        for (int k = 0; k < n.Args.Count; k++) AddTerm(n.Args[k], sign * n.Signs[k]);
                    else if (n.Operation == Operation.Negate && usesOf(term) == 1) AddTerm(n.Args[0], -sign);
                    else terms.Add((term, sign));
                }
                for (int k = 0; k < node.Args.Count; k++) AddTerm(node.Args[k], node.Signs[k]);
                if (constant != 0 || terms.Count == 0) terms.Insert(0, (builder.Constant(constant), 1)); // 1 - z stays 1 - z
                if (terms.Count == 1 && terms[0].Sign == 1) return terms[0].Node;
                return builder.Add(node with
                {
                    Args = terms.Select(t => t.Node).ToEquatableArray(),
                    Signs = terms.Select(t => t.Sign).ToEquatableArray(),
                });
            }
            default: return builder.Add(node);
        }
    }

    /// <summary>
    /// A node is hoisted when it depends on no state: it is computed before the loop for all steps at once (products
    /// of x[t], and the rare values made of parameters alone). A state's new value belongs to the loop, and so does
    /// everything that reads it, and so does what reads a dropout's mask (drawn for each step: 1 - m is computed in the
    /// step's sweep, not kept for all steps). Leaves are in neither phase.
    /// </summary>
    private static bool[] ClassifyHoisted(StepGraph graph)
    {
        var hoisted = new bool[graph.Nodes.Count];
        var inLoop = new bool[graph.Nodes.Count];
        var updates = new HashSet<int>(graph.Updates.Select(u => u.Node));
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            Node node = graph.Nodes[i];
            // A matrix memory's values are computed in the loop, step by step, never kept for all steps (P times H's size).
            inLoop[i] = node.Op is Op.StatePrev or Op.Copy or Op.Mask || node.Size == Size.Memory || updates.Contains(i) || node.Args.Any(a => inLoop[a]);
            hoisted[i] = !inLoop[i] && !node.IsLeaf;
        }
        return hoisted;
    }

    /// <summary>Which operands each matrix part multiplies; a part with one operand can be fused and carry a bias.</summary>
    private static Dictionary<(string, int), HashSet<int>> OperandsOfParts(StepGraph graph)
    {
        var operands = new Dictionary<(string, int), HashSet<int>>();
        foreach (Node node in graph.Nodes.Where(n => n.Op == Op.MatPart))
        {
            if (!operands.TryGetValue((node.Name, node.Part), out var set)) operands[(node.Name, node.Part)] = set = new HashSet<int>();
            set.Add(node.Args[0]);
        }
        return operands;
    }

    /// <summary>
    /// <c>W @ v + b</c> becomes one matrix product with a bias when the product and the vector are used nowhere else;
    /// a product of x[t] takes the bias first, since it is computed once for all steps.
    /// </summary>
    private static Rule FoldBiases(StepGraph original)
    {
        int[] uses = CountUses(original);
        bool[] hoisted = ClassifyHoisted(original);
        var operands = OperandsOfParts(original);
        var vectorUses = new Dictionary<string, int>();
        for (int i = 0; i < original.Nodes.Count; i++)
            if (original.Nodes[i].Op == Op.Vector) vectorUses[original.Nodes[i].Name] = uses[i];
        var folded = new HashSet<(string, int)>();
        int position = 0;
        var newToOld = new Dictionary<int, int>();
        return (node, builder) =>
        {
            int oldIndex = position++;
            int result = node.Op == Op.Sum ? Fold(node, builder) : builder.Add(node);
            if (!newToOld.ContainsKey(result)) newToOld[result] = oldIndex;
            return result;

            int Fold(Node sum, GraphBuilder b)
            {
                var terms = sum.Args.Select((a, k) => (Node: a, Sign: sum.Signs[k])).ToList();
                var products = terms.Where(t => t.Sign == 1 && b.Nodes[t.Node].Op == Op.MatPart && b.Nodes[t.Node].Bias.Length == 0 && b.Nodes[t.Node].Size == sum.Size
                        && newToOld.TryGetValue(t.Node, out int o) && uses[o] == 1
                        && operands[(b.Nodes[t.Node].Name, b.Nodes[t.Node].Part)].Count == 1
                        && !folded.Contains((b.Nodes[t.Node].Name, b.Nodes[t.Node].Part)))
                    .OrderByDescending(t => hoisted[newToOld[t.Node]]).ToList();
                var vectors = terms.Where(t => t.Sign == 1 && b.Nodes[t.Node].Op == Op.Vector && b.Nodes[t.Node].Size == sum.Size
                    && vectorUses[b.Nodes[t.Node].Name] == 1).ToList();
                int count = Math.Min(products.Count, vectors.Count);
                if (count == 0) return b.Add(sum);
                for (int k = 0; k < count; k++)
                {
                    Node product = b.Nodes[products[k].Node];
                    folded.Add((product.Name, product.Part));
                    int withBias = b.Add(product with { Bias = b.Nodes[vectors[k].Node].Name });
                    newToOld[withBias] = newToOld[products[k].Node];
                    terms[terms.IndexOf(products[k])] = (withBias, 1);
                    terms.Remove(vectors[k]);
                }
                if (terms.Count == 1) return terms[0].Node;
                return b.Add(sum with { Args = terms.Select(t => t.Node).ToEquatableArray(), Signs = terms.Select(t => t.Sign).ToEquatableArray() });
            }
        };
    }

    /// <summary>In a sum of the time loop, the terms that depend only on x[t] (and parameters) are summed before it.</summary>
    private static Rule GroupHoistedTerms(StepGraph original)
    {
        bool[] hoisted = ClassifyHoisted(original);
        var newHoisted = new Dictionary<int, bool>();
        int position = 0;
        return (node, builder) =>
        {
            int oldIndex = position++;
            int result = Group(node, builder);
            if (!newHoisted.ContainsKey(result)) newHoisted[result] = hoisted[oldIndex];
            return result;

            int Group(Node sum, GraphBuilder b)
            {
                if (sum.Op != Op.Sum || hoisted[oldIndex]) return b.Add(sum);
                var terms = sum.Args.Select((a, k) => (Node: a, Sign: sum.Signs[k])).ToList();
                bool IsHoisted(int n) => newHoisted.TryGetValue(n, out bool h) && h;
                var invariant = terms.Where(t => IsHoisted(t.Node) || b.Nodes[t.Node].Op is Op.Vector or Op.Constant).ToList();
                if (!invariant.Any(t => IsHoisted(t.Node)) || invariant.Count < 2 || invariant.Count == terms.Count) return b.Add(sum);
                int inner = b.Add(sum with
                {
                    Args = invariant.Select(t => t.Node).ToEquatableArray(),
                    Signs = invariant.Select(t => t.Sign).ToEquatableArray(),
                });
                newHoisted[inner] = true;
                var rest = terms.Where(t => !invariant.Contains(t)).ToList();
                rest.Insert(0, (inner, 1));
                return b.Add(sum with { Args = rest.Select(t => t.Node).ToEquatableArray(), Signs = rest.Select(t => t.Sign).ToEquatableArray() });
            }
        };
    }

    /// <summary>
    /// A state's new value must come out of an elementwise sweep of the time loop; one that is a parameter, a previous
    /// state, a product, a value computed before the loop or a vector spread into a matrix (outer(v, 1)) is copied by an
    /// explicit Copy node.
    /// </summary>
    private static StepGraph ComputeUpdatesInLoop(StepGraph graph)
    {
        bool[] hoisted = ClassifyHoisted(graph);
        var nodes = graph.Nodes.ToList();
        var updates = new List<StateUpdate>();
        foreach (StateUpdate update in graph.Updates)
        {
            Node node = nodes[update.Node];
            if (node.IsElementwise && !node.IsSpread && !hoisted[update.Node]) { updates.Add(update); continue; }
            nodes.Add(new Node(Op.Copy, Ints(update.Node), graph.Cell.SizeOfState(update.State)));
            updates.Add(update with { Node = nodes.Count - 1 });
        }
        return graph with { Nodes = nodes.ToEquatableArray(), Updates = updates.ToEquatableArray() };
    }

    /// <summary>
    /// A matrix product reads its operand row by row; a parameter vector operand is first written into rows, by a
    /// one-term sum that is computed before the loop.
    /// </summary>
    private static int MaterialiseVectorOperands(Node node, GraphBuilder builder)
    {
        if (node.Op != Op.MatPart || builder.Nodes[node.Args[0]].Op != Op.Vector) return builder.Add(node);
        int rows = builder.Add(new Node(Op.Sum, Ints(node.Args[0]), builder.Nodes[node.Args[0]].Size, Signs: Ints(1)));
        return builder.Add(node with { Args = Ints(rows) });
    }

    private static StepGraph EliminateDeadNodes(StepGraph graph)
    {
        var live = new bool[graph.Nodes.Count];
        foreach (StateUpdate update in graph.Updates) live[update.Node] = true;
        for (int i = graph.Nodes.Count - 1; i >= 0; i--)
            if (live[i])
                foreach (int arg in graph.Nodes[i].Args) live[arg] = true;
        var map = new int[graph.Nodes.Count];
        var nodes = new List<Node>();
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            map[i] = -1;
            if (!live[i]) continue;
            Node node = graph.Nodes[i];
            nodes.Add(node with { Args = node.Args.Select(a => map[a]).ToEquatableArray() });
            map[i] = nodes.Count - 1;
        }
        return graph with
        {
            Nodes = nodes.ToEquatableArray(),
            Updates = graph.Updates.Select(u => u with { Node = map[u.Node] }).ToEquatableArray(),
            Labels = graph.Labels.Where(l => map[l.Node] >= 0).Select(l => l with { Node = map[l.Node] }).ToEquatableArray(),
        };
    }

    /// <summary>Every matrix part with a single operand joins the buffer of that operand; a shared part gets its own.</summary>
    private static OptimisedCell Fuse(StepGraph graph)
    {
        bool[] hoisted = ClassifyHoisted(graph);
        var operands = OperandsOfParts(graph);
        var buffers = new List<(Size Size, List<BufferPart> Parts, int Blocks)>();
        var calls = new List<GemmCall>();
        // Block-diagonal parts fuse only with parts of as many blocks and as many rows: their products run block by block.
        var bufferOfOperand = new Dictionary<(int Operand, int Blocks, Size Rows), int>();
        var bufferOfSharedPart = new Dictionary<(string, int), int>();
        var callOf = Enumerable.Repeat(-1, graph.Nodes.Count).ToArray();
        var slotOf = Enumerable.Repeat(-1, graph.Nodes.Count).ToArray();
        var callIndex = new Dictionary<(int Buffer, int Operand), int>();

        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            Node node = graph.Nodes[i];
            if (node.Op != Op.MatPart) continue;
            int operand = node.Args[0];
            var key = (node.Name, node.Part);
            int blocks = graph.Cell.Matrices.First(m => m.Name == node.Name).Blocks;
            int buffer;
            if (operands[key].Count == 1)
            {
                var fusion = (operand, blocks, blocks > 1 ? node.Size : default);
                if (!bufferOfOperand.TryGetValue(fusion, out buffer))
                {
                    buffers.Add((graph.Nodes[operand].Size, new List<BufferPart>(), blocks));
                    bufferOfOperand[fusion] = buffer = buffers.Count - 1;
                }
            }
            else if (!bufferOfSharedPart.TryGetValue(key, out buffer))
            {
                buffers.Add((graph.Nodes[operand].Size, new List<BufferPart>(), blocks));
                bufferOfSharedPart[key] = buffer = buffers.Count - 1;
            }
            var parts = buffers[buffer].Parts;
            int slot = parts.FindIndex(p => p.Matrix == node.Name && p.Part == node.Part);
            if (slot < 0)
            {
                parts.Add(new BufferPart(node.Name, node.Part, node.Bias, node.Size));
                slot = parts.Count - 1;
            }
            if (!callIndex.TryGetValue((buffer, operand), out int call))
            {
                calls.Add(new GemmCall(calls.Count, buffer, operand, hoisted[i]));
                callIndex[(buffer, operand)] = call = calls.Count - 1;
            }
            callOf[i] = call;
            slotOf[i] = slot;
        }

        return new OptimisedCell(
            graph,
            hoisted.ToEquatableArray(),
            buffers.Select((b, k) => new WeightBuffer(k, b.Size, b.Parts.ToEquatableArray(), b.Blocks)).ToEquatableArray(),
            calls.ToEquatableArray(),
            callOf.ToEquatableArray(),
            slotOf.ToEquatableArray());
    }
}
