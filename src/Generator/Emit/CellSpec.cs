using System.Linq;
using CellGen.Generator.Compiler;
using CellGen.Generator.Model;

namespace CellGen.Generator.Emit;

/// <summary>A type that contains the cell class: its keyword ("class", "struct", "record") and name.</summary>
internal sealed record ContainingType(string Keyword, string Name);

/// <summary>Everything Emit needs: where the class is, and the scheduled cell. No locations, so edits elsewhere cache.</summary>
internal sealed record CellSpec(string Namespace, string ClassName, EquatableArray<ContainingType> Containing, CellSchedule Schedule, bool EmitFloat64,
    EquatableArray<string> Members = default)
{
    public string FullName => string.Join(".", new[] { Namespace }.Concat(Containing.Select(c => c.Name)).Concat(new[] { ClassName }).Where(s => s.Length > 0));

    /// <summary>The file name of the generated source: the full name without the '@' of verbatim identifiers (not allowed in hint names).</summary>
    public string HintName => FullName.Replace("@", "") + ".g.cs";

    /// <summary>The names whose size is <paramref name="size"/>, for the constructor's documentation.</summary>
    public System.Collections.Generic.IEnumerable<string> SizesOf(string size) =>
        Schedule.Graph.Cell.States.Where(s => Schedule.Graph.Cell.SizeOfState(s).Name == size && Schedule.Graph.Cell.SizeOfState(s).Kind == Language.SizeKind.Declared)
            .Concat(Schedule.Graph.Cell.Vectors.Where(v => v.Size.Kind == Language.SizeKind.Declared && v.Size.Name == size).Select(v => v.Name))
            .Concat(Schedule.Graph.Cell.Equations.Where(e => !e.IsState && e.Size.Kind == Language.SizeKind.Declared && e.Size.Name == size).Select(e => e.Target));
}
