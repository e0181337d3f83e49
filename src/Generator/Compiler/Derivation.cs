using System.Collections.Generic;
using System.Linq;
using CellGen.Generator.Model;

namespace CellGen.Generator.Compiler;

/// <summary>dL/d(Target) += Value, from differentiating node <c>From</c>.</summary>
internal sealed record Contribution(int From, int Target, DExpr Value);

/// <summary>
/// The backward pass at graph level: for every elementwise node the contributions to its arguments' adjoints,
/// which forward values the backward pass reads, and which of those are recomputed rather than kept on the tape.
/// </summary>
internal sealed record Derivative(
    OptimisedCell Cell,
    EquatableArray<Contribution> Contributions,
    EquatableArray<bool> Needed,       // forward value read by the backward pass
    EquatableArray<bool> Recomputed);  // needed, but cheaply recomputed from other needed values

internal static class Derivation
{
    public static Derivative Derive(OptimisedCell cell)
    {
        var nodes = cell.Graph.Nodes;
        var contributions = new List<Contribution>();
        var needed = new bool[nodes.Count];
        var grad = new DGrad();
        // Values made of numbers and masks alone (1 - m) take no gradient: a mask is drawn, not learned or computed.
        var fixedValue = new bool[nodes.Count];
        for (int i = 0; i < nodes.Count; i++)
            fixedValue[i] = nodes[i].Op is Op.Constant or Op.Mask || (nodes[i].IsElementwise && nodes[i].Args.All(a => fixedValue[a]));

        for (int i = 0; i < nodes.Count; i++)
        {
            Node node = nodes[i];
            void Add(int target, DExpr value)
            {
                if (fixedValue[target]) return;
                contributions.Add(new Contribution(i, target, value));
            }
            DExpr Value(int n)
            {
                if (nodes[n].Op == Op.Constant) return new DConstant(nodes[n].Value);
                needed[n] = true;
                return new DValue(n);
            }
            switch (node.Op)
            {
                case Op.Sum:
                    for (int k = 0; k < node.Args.Count; k++) Add(node.Args[k], node.Signs[k] > 0 ? grad : new DNeg(grad));
                    break;
                case Op.Copy or Op.Rows or Op.Columns: // a spread value's gradient is summed back to each unit where it leaves the sweep
                    Add(node.Args[0], grad);
                    break;
                case Op.Variance:
                    // Its gradient, 2 (v - mean) / n to each feature, is given by an instruction that reads both.
                    needed[node.Args[0]] = needed[node.Args[1]] = true;
                    break;
                case Op.Apply:
                {
                    Operation op = node.Operation!;
                    if (op.Derivatives.Count != op.Arity) throw new System.InvalidOperationException($"'{op.Name}' has no derivative");
                    for (int k = 0; k < op.Arity; k++)
                        if (!fixedValue[node.Args[k]]) Add(node.Args[k], Substitute(op.Derivatives[k], i, node, Value)); // unread otherwise: not kept
                    break;
                }
            }
        }

        // A needed sum or negation of values the tape keeps anyway (1 - z) is recomputed instead of kept, by the backward
        // sweep that reads it, in registers. Not the operand of a variance: its gradient is an instruction of its own that
        // reads the operand's buffer, which must then hold every step's values.
        var readFromBuffer = new HashSet<int>(nodes.Where(n => n.Op == Op.Variance).Select(n => n.Args[0]));
        var recomputed = new bool[nodes.Count];
        // outer(a, b), a product of two spread vectors, is one multiplication of two loads: recomputed rather than kept,
        // a matrix memory's size for every step. A vector spread into a matrix memory is loaded again, never kept: what
        // it spreads is read from its buffer.
        for (int i = 0; i < nodes.Count; i++)
            if (needed[i] && nodes[i].Operation == Operation.Multiply && nodes[i].Args.All(a => nodes[a].IsSpread || nodes[a].Op == Op.Constant))
            {
                recomputed[i] = true;
                foreach (int spread in nodes[i].Args.Where(a => nodes[a].IsSpread)) needed[spread] = true;
            }
        for (int i = 0; i < nodes.Count; i++)
        {
            if (!needed[i] || !nodes[i].IsSpread) continue;
            recomputed[i] = true;
            int spread = nodes[i].Args[0];
            if (nodes[spread].Op is Op.Constant or Op.Vector) continue;
            needed[spread] = true;
            readFromBuffer.Add(spread);
        }
        bool changed = true;
        while (changed)
        {
            changed = false;
            for (int i = 0; i < nodes.Count; i++)
            {
                Node node = nodes[i];
                if (!needed[i] || recomputed[i] || readFromBuffer.Contains(i) || !(node.Op == Op.Sum || node.Operation == Operation.Negate)) continue;
                if (node.Args.All(a => nodes[a].Op is Op.Constant or Op.Vector || (needed[a] && !recomputed[a]) || nodes[a].Op is Op.StatePrev or Op.Input or Op.Mask))
                {
                    recomputed[i] = true;
                    foreach (int a in node.Args)
                        if (nodes[a].Op is Op.StatePrev or Op.Input or Op.Mask) needed[a] = true;
                    changed = true;
                }
            }
        }
        return new Derivative(cell, contributions.ToEquatableArray(), needed.ToEquatableArray(), recomputed.ToEquatableArray());
    }

    /// <summary>A rule of the table made concrete for one node: its arguments and its result become forward values.</summary>
    private static DExpr Substitute(DExpr rule, int self, Node node, System.Func<int, DExpr> value) => rule switch
    {
        DArg a => value(node.Args[a.Index]),
        DOut => value(self),
        DMul m => new DMul(Substitute(m.Left, self, node, value), Substitute(m.Right, self, node, value)),
        DDiv d => new DDiv(Substitute(d.Left, self, node, value), Substitute(d.Right, self, node, value)),
        DSub s => new DSub(Substitute(s.Left, self, node, value), Substitute(s.Right, self, node, value)),
        DNeg n => new DNeg(Substitute(n.Operand, self, node, value)),
        DCall c => new DCall(c.Operation, c.Arguments.Select(a => Substitute(a, self, node, value)).ToEquatableArray()),
        _ => rule,
    };
}
