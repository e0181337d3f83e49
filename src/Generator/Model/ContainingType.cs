namespace CellGen.Generator.Model;

/// <summary>A type that contains the cell class: its keyword ("class", "struct", "record") and name.</summary>
internal sealed record ContainingType(string Keyword, string Name);
