using System.Linq;
using CellGen.Generator.Compiler;
using CellGen.Generator.Model;

namespace CellGen.Generator.Emit;

/// <summary>A type that contains the cell class: its keyword ("class", "struct", "record") and name.</summary>
internal sealed record ContainingType(string Keyword, string Name);

/// <summary>Everything Emit needs: where the class is, and the scheduled cell. No locations, so edits elsewhere cache.</summary>
internal sealed record CellSpec(string Namespace, string ClassName, EquatableArray<ContainingType> Containing, CellSchedule Schedule, bool EmitFloat64)
{
    public string FullName => string.Join(".", new[] { Namespace }.Concat(Containing.Select(c => c.Name)).Concat(new[] { ClassName }).Where(s => s.Length > 0));

    public string HintName => FullName + ".g.cs";
}
