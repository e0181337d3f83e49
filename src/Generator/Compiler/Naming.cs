using System.Linq;
using CellGen.Generator.Language;
using CellGen.Generator.Model;

namespace CellGen.Generator.Compiler;

/// <summary>
/// The names generated code gives the values of a step, decided once from the equations before anything is emitted:
/// a value an equation defines is called as it is there (i, c); another is named after what it computes (h_prev,
/// tanh_c, o_tanh_c, W_f_x, mean_c), and only a value with nothing short to say is v and its index.
/// </summary>
internal static class Naming
{
    private const int Longest = 32;

    /// <summary>An identifier for each node of the graph (not yet unique: the scopes that use them make them so).</summary>
    public static EquatableArray<string> Of(StepGraph graph)
    {
        var names = new string[graph.Nodes.Count];
        var labels = new string?[graph.Nodes.Count];
        foreach (Label label in graph.Labels)
            labels[label.Node] ??= label.Name;
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            Node node = graph.Nodes[i];
            string? name = labels[i] is { } label ? Identifier(label) : node.Op switch
            {
                Op.Input => Identifier(graph.Cell.Input) + (node.Lag > 0 ? "_lag" + node.Lag : ""),
                Op.StatePrev => Identifier(node.Name) + "_prev",
                Op.Vector => Identifier(node.Name),
                Op.Mask => graph.Cell.Dropouts[node.Part].Kind.Noun() + "_" + Identifier(node.Name),
                Op.Constant => "", // written inline, never named
                Op.MatPart => Identifier(node.Name) + "_" + names[node.Args[0]],
                Op.Mean => "mean_" + names[node.Args[0]],
                Op.Variance => "variance_" + names[node.Args[0]],
                Op.Rows => names[node.Args[0]] + "_row",
                Op.Columns => names[node.Args[0]] + "_column",
                Op.SegmentSum => "sum_" + names[node.Args[0]],
                Op.Copy => names[node.Args[0]],
                Op.Apply when node.Operation == Operation.Negate && names[node.Args[0]].Length > 0 => "minus_" + names[node.Args[0]],
                // A sum with a product of W in it is W's pre-activation: W_f @ h[t-1] + W_f @ x[t] + b_f is W_f_sum.
                Op.Sum when node.Args.Select(a => graph.Nodes[a]).FirstOrDefault(a => a.Op == Op.MatPart) is { } product => Identifier(product.Name) + "_sum",
                Op.Apply when node.Operation == Operation.Multiply => Join(node, names, "_"),
                Op.Apply when node.Operation == Operation.Divide => Join(node, names, "_over_"),
                Op.Apply when node.Operation!.Notation == Notation.Function => Identifier(node.Operation.Name) + "_" + Join(node, names, "_"),
                _ => null,
            };
            names[i] = node.Op == Op.Constant ? "" : name is null || name.Length == 0 || name.EndsWith("_", System.StringComparison.Ordinal) || name.Length > Longest ? "v" + i : name;
        }
        return new EquatableArray<string>(names);
    }

    /// <summary>The names of the arguments, numbers left out (2 * a is named as a).</summary>
    private static string Join(Node node, string[] names, string separator) =>
        string.Join(separator, node.Args.Select(a => names[a]).Where(n => n.Length > 0));

    /// <summary>A C# identifier for a label: 'c[t]' becomes 'c', other characters become '_'.</summary>
    public static string Identifier(string label)
    {
        var text = new System.Text.StringBuilder();
        foreach (char c in label.Replace("[t]", ""))
            text.Append(char.IsLetterOrDigit(c) || c == '_' ? c : '_');
        return text.ToString();
    }
}
