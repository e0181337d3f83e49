using System.Linq;
using CellGen.Generator.Compiler;
using CellGen.Generator.Model;

namespace CellGen.Generator.Emit;


/// <summary>Everything Emit needs: where the class is, and the scheduled cell. No locations, so edits elsewhere cache.</summary>
internal sealed record CellSpec(string Namespace, string ClassName, EquatableArray<ContainingType> Containing, CellSchedule Schedule, bool EmitFloat64,
    EquatableArray<string> Members = default, bool IsLayer = false)
{
    public string FullName => string.Join(".", new[] { Namespace }.Concat(Containing.Select(c => c.Name)).Concat(new[] { ClassName }).Where(s => s.Length > 0));

    /// <summary>
    /// The file name of the generated source, unique for every cell of a compilation even where file names ignore case
    /// (Roslyn compares hint names so): the namespace, then '+' before each nested type (a namespace N.C and a class
    /// N.C differ), then, when any letter is upper case, '-' and the letters' case as hex bits (N.Cell and N.cell differ).
    /// </summary>
    public string HintName
    {
        get
        {
            string types = string.Join("+", Containing.Select(c => c.Name).Concat(new[] { ClassName }));
            // '@' of verbatim identifiers is not allowed in hint names (and @event is event).
            string name = (Namespace.Length > 0 ? Namespace + "." + types : types).Replace("@", "");
            var letters = name.Where(c => char.ToUpperInvariant(c) != char.ToLowerInvariant(c)).ToList();
            if (letters.All(c => !char.IsUpper(c))) return name + ".g.cs";
            var bits = new System.Text.StringBuilder();
            for (int k = 0; k < letters.Count; k += 4)
            {
                int nibble = 0;
                for (int b = 0; b < 4; b++) nibble = nibble * 2 + (k + b < letters.Count && char.IsUpper(letters[k + b]) ? 1 : 0);
                bits.Append("0123456789abcdef"[nibble]);
            }
            return name + "-" + bits + ".g.cs"; // '-' is in no identifier: N.C-c (class C of N) and n.c.c (class c of n.c) differ
        }
    }

    /// <summary>The names whose size is <paramref name="size"/>, for the constructor's documentation.</summary>
    public System.Collections.Generic.IEnumerable<string> SizesOf(string size) =>
        Schedule.Graph.Cell.States.Where(s => Schedule.Graph.Cell.SizeOfState(s).Name == size && Schedule.Graph.Cell.SizeOfState(s).Kind == Language.SizeKind.Declared)
            .Concat(Schedule.Graph.Cell.Vectors.Where(v => v.Size.Kind == Language.SizeKind.Declared && v.Size.Name == size).Select(v => v.Name))
            .Concat(Schedule.Graph.Cell.Equations.Where(e => !e.IsState && e.Size.Kind == Language.SizeKind.Declared && e.Size.Name == size).Select(e => e.Target));
}
