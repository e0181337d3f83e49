using System.Globalization;
using System.Linq;
using CellGen.Generator.Compiler;

namespace CellGen.Generator.Emit;

/// <summary>
/// The step graph as data, for exporters: an attribute on the generated class listing one instruction per node of
/// the optimised graph (what the generated kernels compute), then one per state update. The runtime's ONNX export reads
/// it to write the step as ONNX operators. Instructions, their arguments being node indices:
/// "const VALUE", "input LAG", "state NAME", "vector NAME", "matpart MATRIX PART ARG [BIAS]", "sum ARG:SIGN...",
/// "apply OPERATION ARG...", "copy ARG", "mean ARG", "variance ARG MEAN", "rows ARG", "columns ARG", "segmentsum ARG"
/// (matrix memory); then "update STATE NODE"; last, for a cell with [Heads], "heads N" and each node's size: "n" one
/// value per head, "m" a matrix memory, "h" H, "o" another (the exporter broadcasts a head's value over its units).
/// </summary>
internal static class StepGraphEmitter
{
    public static void Emit(CodeWriter w, StepGraph graph)
    {
        var lines = graph.Nodes.Select(Instruction).Concat(graph.Updates.Select(u => $"update {u.State} {u.Node}")).ToList();
        if (graph.Cell.Heads > 0)
            lines.Add("heads " + graph.Cell.Heads.ToString(CultureInfo.InvariantCulture) + " " + string.Join(" ", graph.Nodes.Select(n => n.Size.Kind switch
            {
                Language.SizeKind.Heads => "n",
                Language.SizeKind.Memory => "m",
                Language.SizeKind.Hidden => "h",
                _ => "o",
            })));
        w.Line("[global::CellGen.CompilerServices.StepGraph(new string[] // the step as data, for exporters: one instruction per node");
        w.Line("{");
        for (int i = 0; i < lines.Count; i++) w.Line($"    {Names.Quote(lines[i])},{(i < graph.Nodes.Count ? " // " + i.ToString(CultureInfo.InvariantCulture) : "")}");
        w.Line("})]");
    }

    private static string Instruction(Node node) => node.Op switch
    {
        Op.Constant => "const " + node.Value.ToString("R", CultureInfo.InvariantCulture),
        Op.Input => "input " + node.Lag.ToString(CultureInfo.InvariantCulture),
        Op.StatePrev => "state " + node.Name,
        Op.Vector => "vector " + node.Name,
        // The exporters read it as its inference value: zoneout's p, dropout's 1, from the cell's Dropouts[Part].
        Op.Mask => $"mask {node.Part.ToString(CultureInfo.InvariantCulture)} {node.Name}",
        Op.MatPart => $"matpart {node.Name} {node.Part} {node.Args[0]}" + (node.Bias.Length > 0 ? " " + node.Bias : ""),
        Op.Sum => "sum " + string.Join(" ", node.Args.Select((a, k) => $"{a}:{(node.Signs[k] > 0 ? "+" : "-")}")),
        Op.Apply => $"apply {node.Operation!.Name} {string.Join(" ", node.Args)}",
        Op.Copy => $"copy {node.Args[0]}",
        Op.Mean => $"mean {node.Args[0]}",
        Op.Variance => $"variance {node.Args[0]} {node.Args[1]}",
        Op.Rows => $"rows {node.Args[0]}",
        Op.Columns => $"columns {node.Args[0]}",
        Op.SegmentSum => $"segmentsum {node.Args[0]}",
        _ => throw new System.InvalidOperationException($"No instruction for a {node.Op} node in an optimised graph"),
    };
}
