using System.Collections.Generic;
using System.Linq;
using CellGen.Generator.Model;

namespace CellGen.Generator.Compiler;

/// <summary>An expression of the backward pass, in terms of a node's adjoint and forward values.</summary>
internal abstract record DExpr;

/// <summary>dL/d(node): the adjoint of the node being differentiated.</summary>
internal sealed record DGrad : DExpr;

/// <summary>The forward value of a node, read from the tape or recomputed.</summary>
internal sealed record DValue(int Node) : DExpr;

internal sealed record DConstant(double Value) : DExpr;

internal sealed record DMul(DExpr Left, DExpr Right) : DExpr;

internal sealed record DSub(DExpr Left, DExpr Right) : DExpr;

internal sealed record DNeg(DExpr Operand) : DExpr;

/// <summary>relu'(a) * grad, written as (y &gt; 0 ? grad : 0) with y = relu(a).</summary>
internal sealed record DReluMask(int Output) : DExpr;

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

        for (int i = 0; i < nodes.Count; i++)
        {
            Node node = nodes[i];
            void Add(int target, DExpr value)
            {
                if (nodes[target].Op == Op.Constant) return;
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
                case Op.Mul:
                    Add(node.Args[0], new DMul(grad, Value(node.Args[1])));
                    Add(node.Args[1], new DMul(grad, Value(node.Args[0])));
                    break;
                case Op.Copy:
                    Add(node.Args[0], grad);
                    break;
                case Op.Neg:
                    Add(node.Args[0], new DNeg(grad));
                    break;
                case Op.Sigmoid:
                    Add(node.Args[0], new DMul(grad, new DMul(Value(i), new DSub(new DConstant(1), Value(i)))));
                    break;
                case Op.Tanh:
                    Add(node.Args[0], new DMul(grad, new DSub(new DConstant(1), new DMul(Value(i), Value(i)))));
                    break;
                case Op.Relu:
                    needed[i] = true;
                    Add(node.Args[0], new DReluMask(i));
                    break;
            }
        }

        // A needed sum or negation of values the tape keeps anyway (1 - z) is recomputed instead of kept.
        var recomputed = new bool[nodes.Count];
        bool changed = true;
        while (changed)
        {
            changed = false;
            for (int i = 0; i < nodes.Count; i++)
            {
                Node node = nodes[i];
                if (!needed[i] || recomputed[i] || node.Op is not (Op.Sum or Op.Neg)) continue;
                if (node.Args.All(a => nodes[a].Op is Op.Constant or Op.Vector || (needed[a] && !recomputed[a]) || nodes[a].Op is Op.StatePrev or Op.Input))
                {
                    recomputed[i] = true;
                    foreach (int a in node.Args)
                        if (nodes[a].Op is Op.StatePrev or Op.Input) needed[a] = true;
                    changed = true;
                }
            }
        }
        return new Derivative(cell, contributions.ToEquatableArray(), needed.ToEquatableArray(), recomputed.ToEquatableArray());
    }
}
