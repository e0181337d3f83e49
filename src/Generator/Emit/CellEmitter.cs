using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using CellGen.Generator.Compiler;
using CellGen.Generator.Language;

using CellGen.Generator.Model;

namespace CellGen.Generator.Emit;

/// <summary>Emit: C# source for a scheduled cell (or layer). The only step of the pipeline that knows C#.</summary>
internal static class CellEmitter
{
    /// <summary>The attribute on what the generator writes (tools leave generated code out of coverage and analysis).</summary>
    public static readonly string GeneratedCode =
        $"[global::System.CodeDom.Compiler.GeneratedCode(\"CellGen\", \"{typeof(CellEmitter).Assembly.GetName().Version!.ToString(3)}\")]";

    public static string Emit(CellSpec spec)
    {
        var w = new CodeWriter();
        w.Line(GeneratedFile.FirstLine);
        w.Line($"{GeneratedFile.SecondLineStart} the [Equation] attributes of {spec.FullName}. Edit the equations, not this file.");
        w.Line("#nullable enable");
        w.Line("#pragma warning disable CS1591 // the generated members are documented on RecurrentCell<T>");
        w.Line("using System; // AsSpan");
        w.Line();
        var outer = (spec.Namespace.Length > 0 ? new[] { "namespace " + Names.EscapeDotted(spec.Namespace) } : System.Array.Empty<string>())
            .Concat(spec.Containing.Select(type => $"partial {type.Keyword} {Names.Escape(type.Name)}"));
        using (w.Blocks(outer))
        {
            if (spec.IsLayer) LayerEmitter.Emit(w, spec);
            else EmitCell(w, spec);
        }
        return w.ToString();
    }

    private static void EmitCell(CodeWriter w, CellSpec spec)
    {
        w.Comment("The equations, one step of the cell:\n" + string.Join("\n", spec.Schedule.Graph.Cell.Equations.Select(e => "    " + e.Text)));
        StepGraphEmitter.Emit(w, spec.Schedule.Graph);
        using (w.Block($"partial class {Names.Escape(spec.ClassName)} : global::CellGen.RecurrentCell<float>"))
        {
            // Generated members avoid the user's, the class's name and the nested Float64 class's.
            var taken = spec.Members.Concat(new[] { spec.ClassName, "Float64" });
            new VariantEmitter(spec, w, Precision.Single, Names.Escape(spec.ClassName), taken).EmitMembers();
            if (spec.EmitFloat64)
            {
                w.Line();
                w.Line("/// <summary>The same cell in double precision (scalar code), for verifying gradients by finite differences.</summary>");
                w.Line(GeneratedCode);
                using (w.Block("public sealed class Float64 : global::CellGen.RecurrentCell<double>"))
                {
                    new VariantEmitter(spec, w, Precision.Double, "Float64", new[] { "Float64" }).EmitMembers();
                }
            }
        }
    }
}

internal sealed record Precision(string Type, string ForEach, bool IsSingle)
{
    public static readonly Precision Single = new("float", "ForEach", true);
    public static readonly Precision Double = new("double", "ForEach64", false);

    public string Literal(double value)
    {
        // A folded constant may overflow (log(0), 1 / 0): the literal is then the type's own constant, never 'Infinityf'.
        double rounded = IsSingle ? (float)value : value;
        if (double.IsNaN(rounded)) return Type + ".NaN";
        if (double.IsInfinity(rounded)) return Type + (rounded > 0 ? ".PositiveInfinity" : ".NegativeInfinity");
        if (IsSingle)
        {
            string text = ((float)value).ToString("R", CultureInfo.InvariantCulture);
            return text + "f";
        }
        return value.ToString("R", CultureInfo.InvariantCulture) + "d";
    }
}

/// <summary>
/// A span in generated code: an array (a whole buffer, a parameter's storage), or an expression that is a span already
/// (a slice of a buffer, a state of the history). Written as its text; a start column is AsSpan for an array, Slice else.
/// </summary>
internal sealed record SpanText(string Text, bool IsArray)
{
    public static SpanText Array(string field) => new(field, true);

    public static SpanText Of(string expression) => new(expression, false);

    public string AsSpan() => IsArray ? Text + ".AsSpan()" : Text;

    public string From(string column) => column.Length == 0 ? Text : IsArray ? $"{Text}.AsSpan({column})" : $"{Text}.Slice({column})";

    public override string ToString() => Text;
}

/// <summary>
/// A span of a runner buffer as an elementwise kernel sees it. <c>Broadcast</c>: one value per feature (a parameter
/// vector, the same for every row); <c>PerRow</c>: one value per row (a mean), the same for every feature; <c>Single</c>:
/// one value in all (a learnable scalar), the same for every row and feature. <c>Size</c>: what one row of it holds (H,
/// one value per head, a matrix memory...), which decides where a sweep of another shape finds an element.
/// </summary>
internal sealed record View(string Field, SpanText Span, string Stride, string Column, bool Broadcast, bool ReadOnly = false, bool PerRow = false, bool Single = false,
    Size Size = default)
{
    /// <summary>The arguments a row operation takes for this view: where its first row starts, and the stride between rows (0 for a vector, the same row for all).</summary>
    public string RowArguments => $"{Span.From(Column)}, {(Broadcast ? "0" : Stride)}";

    public string Index => Single ? "0" : Broadcast ? "j" : PerRow ? "row"
        : $"row * {(Stride.Contains(" ") ? "(" + Stride + ")" : Stride)} + {(Column.Length > 0 ? Column + " + " : "")}j";
}

/// <summary>Emits one variant of a cell (float, or the double one for verification); its jobs live in the VariantEmitter.*.cs files.</summary>
internal sealed partial class VariantEmitter
{
    private readonly CellSpec _spec;
    private readonly CellSchedule _schedule;
    private readonly StepGraph _graph;
    private readonly BoundCell _cell;
    private readonly CodeWriter _w;
    private readonly Precision _p;
    private readonly string _className;
    private readonly Describe _describe;
    private readonly string[] _bufferFields;
    private readonly HashSet<int> _keptPerStep;
    private readonly string[] _preferred;
    private readonly Names _fieldNames;
    private readonly Names _memberNames;
    private readonly Dictionary<string, string> _members = new();
    private readonly Dictionary<string, string> _fields = new();

    /// <summary>One field name per thing a kernel or the runner reads, unique across all of them.</summary>
    private string Field(string key, string preferred)
    {
        if (!_fields.TryGetValue(key, out string? name)) _fields[key] = name = _fieldNames.Take(preferred);
        return name;
    }

    private const string Runtime = "global::CellGen";

    /// <summary>The namespace of the kernels and building blocks only generated code calls (hidden from IntelliSense).</summary>
    private const string Support = "global::CellGen.CompilerServices";

    /// <param name="taken">Names the class already has (the user's members, the class's own name), which generated members avoid.</param>
    public VariantEmitter(CellSpec spec, CodeWriter writer, Precision precision, string className, IEnumerable<string> taken)
    {
        _memberNames = new Names(taken.ToArray());
        _spec = spec;
        _schedule = spec.Schedule;
        _graph = _schedule.Graph;
        _cell = _graph.Cell;
        _w = writer;
        _p = precision;
        _className = className;
        _describe = new Describe(_graph);
        _fieldNames = new Names(new[] { "_cell", "B", "H", "X", "Record", "heads" }.Concat(spec.Schedule.Graph.Cell.SizeNames.Select(n => Describe.SizeName(Size.Declared(n)))).ToArray());
        _bufferFields = _schedule.Buffers.Select(b => Field("buffer:" + b.Index, "_" + b.Name)).ToArray();
        _preferred = _schedule.Names.ToArray();
        // Buffers with a slot per step that the time loop writes even without a tape (products, values a later stage
        // reads): only the backward pass needs every step's values, so inference reuses slot 0. Tape-only values are
        // not written then, and what the hoisted phase writes for all steps keeps its slots.
        _keptPerStep = new HashSet<int>(
            _schedule.Nodes.Where(n => n.Phase == Phase.Step && n.Storage == Storage.Buffer && n.StoreAlways).Select(n => n.Buffer)
                .Concat(_schedule.Calls.Where(c => c.Phase == Phase.Step).Select(c => c.OutputBuffer))
                .Where(b => _schedule.Buffers[b].AllSteps));
    }

    private string T => _p.Type;

    private int StateIndex(string state) => _cell.States.ToList().IndexOf(state);

    private static string Ident(string text) => Naming.Identifier(text);
}
