using System.Globalization;
using System.Linq;
using CellGen.Generator.Compiler;
using CellGen.Generator.Model;
using CellGen.Generator.Language;

namespace CellGen.Generator.Emit;

/// <summary>Writes nodes and derivatives back in the equation language, for the comments of generated code.</summary>
internal sealed class Describe
{
    private readonly StepGraph _graph;
    private readonly string[] _labels;

    public Describe(StepGraph graph)
    {
        _graph = graph;
        _labels = new string[graph.Nodes.Count];
        foreach (Label label in graph.Labels)
            if (_labels[label.Node] is null) _labels[label.Node] = label.Name;
    }

    public string? LabelOf(int node) => _labels[node];

    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The name generated code gives a size: X, H, or size_P for a size P that the class declares.</summary>
    public static string SizeName(Size size) => size.Kind switch
    {
        SizeKind.Input => "X",
        SizeKind.Declared => "size_" + size.Name,
        SizeKind.Row or SizeKind.One => "1",
        SizeKind.Heads => "heads", // a constant of the generated class and of its runner and kernels: [Heads]'s number
        SizeKind.Memory => "H * (H / heads)",
        _ => "H",
    };

    /// <summary>The sum of sizes, grouped: "4 * H", "H + X", "2 * H + size_P"; "0" for none.</summary>
    public static string Width(System.Collections.Generic.IEnumerable<Size> sizes)
    {
        var counts = sizes.Select(s => s == Language.Size.Scalar ? Language.Size.Hidden : s).GroupBy(s => s)
            .OrderBy(g => g.Key.Kind == SizeKind.Hidden ? 0 : g.Key.Kind == SizeKind.Input ? 1 : 2).ThenBy(g => g.Key.Name, System.StringComparer.Ordinal)
            .Select(g => g.Count() == 1 ? SizeName(g.Key) : g.Count() + " * " + SizeName(g.Key)).ToArray();
        return counts.Length == 0 ? "0" : string.Join(" + ", counts);
    }

    /// <summary>The columns [start, end) of a matrix that part <paramref name="part"/> multiplies.</summary>
    public string Columns(string matrix, int part)
    {
        MatrixInfo info = _graph.Cell.Matrices.First(m => m.Name == matrix);
        if (info.PartSizes.Count == 1) return "";
        string start = Width(info.PartSizes.Take(part));
        return $"[:, {(start == "0" ? "" : start)}:{Width(info.PartSizes.Take(part + 1))}]";
    }

    /// <summary>A node in the equation language (at most <see cref="Longest"/> characters and a cut mark).</summary>
    public string Node(int index, bool top = true) => Cut(NodeText(index, top));

    private string NodeText(int index, bool top)
    {
        if (!top && _labels[index] is { } label) return label;
        Node node = _graph.Nodes[index];
        string Arg(int k) => Node(node.Args[k], false);
        string Grouped(int k)
        {
            Node arg = _graph.Nodes[node.Args[k]];
            string text = Arg(k);
            return _labels[node.Args[k]] is null && NeedsParentheses(arg) ? "(" + text + ")" : text;
        }
        switch (node.Op)
        {
            case Op.Constant: return Number(node.Value);
            case Op.Input: return _graph.Cell.Input + (node.Lag == 0 ? "[t]" : $"[t-{node.Lag}]");
            case Op.StatePrev: return node.Name + "[t-1]";
            case Op.Vector: return node.Name;
            case Op.Mask: return $"{_graph.Cell.Dropouts[node.Part].Kind.Noun()}_mask({node.Name})";
            case Op.MatPart:
            {
                // '@' binds tighter than '*' and '/': an operand r * h[t-1] is written in parentheses.
                Node operand = _graph.Nodes[node.Args[0]];
                string factor = _labels[node.Args[0]] is null && operand.Operation is { Notation: Notation.Infix } ? "(" + Arg(0) + ")" : Grouped(0);
                string product = $"{node.Name}{Columns(node.Name, node.Part)} @ {factor}";
                return node.Bias.Length > 0 ? $"{product} + {node.Bias}" : product;
            }
            case Op.Sum:
            {
                var text = new System.Text.StringBuilder();
                for (int k = 0; k < node.Args.Count; k++)
                {
                    string term = _graph.Nodes[node.Args[k]].Op == Op.MatPart && _graph.Nodes[node.Args[k]].Bias.Length > 0 && _labels[node.Args[k]] is null
                        ? "(" + Arg(k) + ")" : Arg(k);
                    if (k == 0) text.Append(node.Signs[k] < 0 ? "-" + term : term);
                    else text.Append(node.Signs[k] < 0 ? " - " : " + ").Append(term);
                }
                return text.ToString();
            }
            case Op.Apply when node.Operation == Operation.Multiply && _graph.Nodes[node.Args[0]].Op == Op.Rows && _graph.Nodes[node.Args[1]].Op == Op.Columns:
                return $"outer({Node(_graph.Nodes[node.Args[0]].Args[0], false)}, {Node(_graph.Nodes[node.Args[1]].Args[0], false)})";
            case Op.Apply:
            {
                Operation op = node.Operation!;
                return op.Describe(Enumerable.Range(0, node.Args.Count).Select(k => op.Notation == Notation.Function ? Arg(k) : Grouped(k)).ToArray());
            }
            case Op.Copy: return Arg(0);
            case Op.Mean: return "mean(" + Arg(0) + ")";
            case Op.Rows: return "rows(" + Arg(0) + ")";       // v[head, r] along row r of its head's matrix
            case Op.Columns: return "columns(" + Arg(0) + ")"; // v[head, c] down column c
            case Op.SegmentSum:
            {
                Node sum = _graph.Nodes[node.Args[0]];
                if (_labels[node.Args[0]] is null && sum.Operation == Operation.Multiply)
                {
                    if (node.Size == Language.Size.Heads) return $"dot({Node(sum.Args[0], false)}, {Node(sum.Args[1], false)})";
                    if (_graph.Nodes[sum.Args[1]].Op == Op.Columns) return $"{Node(sum.Args[0], false)} @ {Node(_graph.Nodes[sum.Args[1]].Args[0], false)}";
                }
                return (node.Size == Language.Size.Heads ? "sum_per_head(" : "sum_per_matrix_row(") + Arg(0) + ")";
            }
            case Op.Variance: return "variance(" + Arg(0) + ")";
        }
        throw new System.InvalidOperationException("Unknown node " + node.Op);
    }

    /// <summary>The longest description a comment repeats: past it, the text is cut, so that comments grow linearly with the equations.</summary>
    private const int Longest = 160;

    public string Short(int index) => _labels[index] ?? Node(index);

    private static string Cut(string text) => text.Length <= Longest ? text : text.Substring(0, Longest) + " …";

    public string Derivative(DExpr expr, int from) => expr switch
    {
        DGrad => "d(" + Short(from) + ")",
        DValue v => Wrap(v.Node),
        DConstant c => Number(c.Value),
        DMul m => Derivative(m.Left, from) + " * " + Derivative(m.Right, from),
        DSub s => "(" + Derivative(s.Left, from) + " - " + Derivative(s.Right, from) + ")",
        DNeg n => "-" + Derivative(n.Operand, from),
        DDiv d => Derivative(d.Left, from) + " / " + Grouped(d.Right, from),
        DCall c => c.Operation.Describe(c.Arguments.Select(a => Derivative(a, from)).ToArray()),
        _ => throw new System.InvalidOperationException("Unknown derivative " + expr.GetType().Name),
    };

    /// <summary>A divisor that is a product or a quotient reads as one only in parentheses.</summary>
    private string Grouped(DExpr expr, int from) =>
        expr is DMul or DDiv or DNeg ? "(" + Derivative(expr, from) + ")" : Derivative(expr, from);

    private string Wrap(int node)
    {
        string text = Short(node);
        return _labels[node] is null && NeedsParentheses(_graph.Nodes[node]) ? "(" + text + ")" : text;
    }

    /// <summary>A sum, or a product with its bias, reads as one factor only in parentheses.</summary>
    private static bool NeedsParentheses(Node node) => node.Op is Op.Sum && node.Args.Count > 1 || node.Op is Op.MatPart && node.Bias.Length > 0;
}
