using System.Collections.Generic;
using System.Linq;
using CellGen.Generator.Language;
using CellGen.Generator.Model;

namespace CellGen.Generator.Compiler;

/// <summary>Lower: the bound equations become one step graph in SSA form.</summary>
internal static class Lowering
{
    public static StepGraph Lower(BoundCell cell)
    {
        var builder = new GraphBuilder();
        var locals = new Dictionary<string, int>();
        var states = new Dictionary<string, int>();
        var labels = new List<Label>();
        var vectorSizes = cell.Vectors.ToDictionary(v => v.Name, v => v.Size);

        var dropouts = cell.Dropouts.Count > 0 ? cell.Dropouts : EquatableArray<DropoutInfo>.Empty;
        int Mask(int dropout) => builder.Add(new Node(Op.Mask, EquatableArray<int>.Empty, cell.SizeOfState(dropouts[dropout].State), dropouts[dropout].State, Part: dropout));
        int Previous(string state) => builder.Add(new Node(Op.StatePrev, EquatableArray<int>.Empty, cell.SizeOfState(state), state));
        int DropoutOf(DropoutKind kind, string state)
        {
            for (int k = 0; k < dropouts.Count; k++)
                if (dropouts[k].Kind == kind && dropouts[k].State == state) return k;
            return -1;
        }

        // inProduct: inside the operand of a matrix product, where variational dropout masks the states it names.
        int Visit(BoundExpr expr, bool inProduct = false)
        {
            switch (expr)
            {
                case ConstantExpr c: return builder.Constant(c.Value);
                case InputExpr i: return builder.Add(new Node(Op.Input, EquatableArray<int>.Empty, Size.Input, Lag: i.Lag));
                case StateExpr { Previous: true } s when inProduct && DropoutOf(DropoutKind.Variational, s.State) is int k and >= 0:
                    return builder.Add(Node.Apply(Operation.Multiply, cell.SizeOfState(s.State), Mask(k), Previous(s.State)));
                case StateExpr { Previous: true } s: return Previous(s.State);
                case StateExpr s: return states[s.State];
                case LocalExpr l: return locals[l.Name];
                case VectorExpr v: return builder.Add(new Node(Op.Vector, EquatableArray<int>.Empty, vectorSizes[v.Name], v.Name));
                case CallExpr { Function.Kind: OperationKind.Reduction } c:
                    return Mean(Visit(c.Arguments[0], inProduct));
                case CallExpr { Function.Kind: OperationKind.Expansion } c when c.Function == Operation.LayerNorm:
                {
                    // (v - mean(v)) / sqrt(mean((v - mean(v))²) + eps), as PyTorch's layer_norm without its affine part. The
                    // variance is one reduction over v and its mean (one pass, nothing stored between), whose gradient is
                    // 2 (v - mean(v)) / n to each feature (exact: the deviations sum to zero, so nothing flows to the mean).
                    int v = Visit(c.Arguments[0], inProduct);
                    Size size = GraphBuilder.Computed(builder.Nodes[v].Size);
                    if (builder.Nodes[v].Op == Op.Constant || size == Size.Row) return builder.Constant(0); // one value per row is its own mean
                    int mean = Mean(v);
                    int centred = builder.Add(new Node(Op.Sum, new EquatableArray<int>(new[] { v, mean }), size, Signs: new EquatableArray<int>(new[] { 1, -1 })));
                    int variance = builder.Add(new Node(Op.Variance, new EquatableArray<int>(new[] { v, mean }), Size.Row));
                    int shifted = builder.Add(new Node(Op.Sum, new EquatableArray<int>(new[] { variance, builder.Constant(Operation.LayerNormEpsilon) }), Size.Row,
                        Signs: new EquatableArray<int>(new[] { 1, 1 })));
                    int deviation = builder.Add(Node.Apply(Operation.Sqrt, Size.Row, shifted));
                    return builder.Add(Node.Apply(Operation.Divide, size, centred, deviation));
                }
                case CallExpr c when c.Function == Operation.Outer:
                    // outer(a, b)[head, r, c] = a[head, r] * b[head, c]
                    return builder.Add(Node.Apply(Operation.Multiply, Size.Memory, Spread(Op.Rows, Visit(c.Arguments[0], inProduct)), Spread(Op.Columns, Visit(c.Arguments[1], inProduct))));
                case CallExpr c when c.Function == Operation.Dot:
                {
                    // dot(a, b)[head] = the sum over the head's units of a * b
                    int a = Visit(c.Arguments[0], inProduct), b = Visit(c.Arguments[1], inProduct);
                    return SegmentSum(builder.Add(Node.Apply(Operation.Multiply, GraphBuilder.Combine(builder.Nodes[a].Size, builder.Nodes[b].Size), a, b)), Size.Heads);
                }
                case CallExpr c when c.Function == Operation.MemoryProduct:
                {
                    // (C @ q)[head, r] = the sum over c of C[head, r, c] * q[head, c]
                    int memory = Visit(c.Arguments[0], inProduct), q = Spread(Op.Columns, Visit(c.Arguments[1], inProduct));
                    return SegmentSum(builder.Add(Node.Apply(Operation.Multiply, Size.Memory, memory, q)), Size.Hidden);
                }
                case CallExpr { Function.Kind: not OperationKind.Elementwise } c:
                    throw new System.InvalidOperationException($"'{c.Function.Name}' has no lowering");
                case CallExpr c:
                {
                    int[] arguments = c.Arguments.Select(a => Visit(a, inProduct)).ToArray();
                    Size size = GraphBuilder.Computed(arguments.Select(a => builder.Nodes[a].Size).Aggregate(GraphBuilder.Combine));
                    return builder.Add(Node.Apply(c.Function, size, arguments));
                }
                case NegateExpr n:
                {
                    int operand = Visit(n.Operand, inProduct);
                    return builder.Add(Node.Apply(Operation.Negate, GraphBuilder.Computed(builder.Nodes[operand].Size), operand));
                }
                case BinaryExpr b:
                {
                    int left = Visit(b.Left, inProduct), right = Visit(b.Right, inProduct);
                    Size size = GraphBuilder.Combine(builder.Nodes[left].Size, builder.Nodes[right].Size);
                    return b.Operator switch
                    {
                        '*' => builder.Add(Node.Apply(Operation.Multiply, size, left, right)),
                        '/' => builder.Add(Node.Apply(Operation.Divide, size, left, right)),
                        '+' or '-' => builder.Add(new Node(Op.Sum, new EquatableArray<int>(new[] { left, right }), size,
                            Signs: new EquatableArray<int>(new[] { 1, b.Operator == '+' ? 1 : -1 }))),
                        _ => throw new System.InvalidOperationException($"Unknown operator '{b.Operator}'"),
                    };
                }
                case MatVecExpr m:
                {
                    var parts = m.Parts.Select(p => Visit(p, true)).ToEquatableArray();
                    return builder.Add(new Node(Op.MatVec, parts, cell.Matrices.First(x => x.Name == m.Matrix).Rows, m.Matrix));
                }
            }
            throw new System.InvalidOperationException("Unknown bound node " + expr.GetType().Name);
        }

        // A number (or a value per sequence, a learnable scalar, a value per head) is the same along rows and columns: it
        // broadcasts over the matrix as it is. A value of size H is read into the matrix memory's sweep, which sums its
        // gradient back (the runner clears it first, only its own columns of a product's gradient). A state, the input or a
        // product not yet combined with anything is copied into a buffer of its own first.
        int Spread(Op op, int value)
        {
            Node node = builder.Nodes[value];
            if (node.Op == Op.Constant || node.Size.Kind is SizeKind.Scalar or SizeKind.Row or SizeKind.One or SizeKind.Heads) return value;
            if (!node.IsElementwise && node.Op != Op.Vector) value = builder.Add(new Node(Op.Copy, new EquatableArray<int>(new[] { value }), GraphBuilder.Computed(node.Size)));
            return builder.Add(new Node(op, new EquatableArray<int>(new[] { value }), Size.Memory));
        }

        // The binder gives dot and '@' values with a size (never two numbers), so the sum is over features.
        int SegmentSum(int value, Size size) => builder.Add(new Node(Op.SegmentSum, new EquatableArray<int>(new[] { value }), size));

        // The mean of a number, or of one value per row or in all, is that value.
        int Mean(int argument) => builder.Nodes[argument].Op == Op.Constant || builder.Nodes[argument].Size is { Kind: SizeKind.Row or SizeKind.One }
            ? argument
            : builder.Add(new Node(Op.Mean, new EquatableArray<int>(new[] { argument }), Size.Row));

        var updates = new List<StateUpdate>();
        foreach (BoundEquation equation in cell.Equations)
        {
            int node = Visit(equation.Value);
            if (equation.IsState && DropoutOf(DropoutKind.Zoneout, equation.Target) is int zoneout and >= 0)
            {
                // Zoneout: m * s[t-1] + (1 - m) * s_new, m drawn per step and unit (its expectation p at inference).
                Size size = equation.Size;
                int mask = Mask(zoneout);
                int kept = builder.Add(Node.Apply(Operation.Multiply, size, mask, Previous(equation.Target)));
                int rest = builder.Add(new Node(Op.Sum, new EquatableArray<int>(new[] { builder.Constant(1), mask }), size, Signs: new EquatableArray<int>(new[] { 1, -1 })));
                int updated = builder.Add(Node.Apply(Operation.Multiply, size, rest, node));
                node = builder.Add(new Node(Op.Sum, new EquatableArray<int>(new[] { kept, updated }), size, Signs: new EquatableArray<int>(new[] { 1, 1 })));
            }
            if (equation.IsState)
            {
                states[equation.Target] = node;
                updates.Add(new StateUpdate(equation.Target, node));
                labels.Add(new Label(node, equation.Target + "[t]", equation.Index));
            }
            else
            {
                locals[equation.Target] = node;
                labels.Add(new Label(node, equation.Target, equation.Index));
            }
        }
        return new StepGraph(cell, builder.Nodes.ToEquatableArray(), updates.ToEquatableArray(), labels.ToEquatableArray());
    }
}
