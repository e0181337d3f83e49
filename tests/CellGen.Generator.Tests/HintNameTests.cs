using System;
using System.Collections.Generic;
using System.Linq;
using CellGen.Generator.Emit;
using CellGen.Generator.Model;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>
/// Hint names are files: Roslyn compares them ignoring case, and so do some file systems. Two different cells never get
/// the same one (issue 25: N.Cell and N.cell, namespaces A and a, a namespace N.C and a class N.C crashed the generator).
/// </summary>
public sealed class HintNameTests
{
    private static string HintName(string ns, string[] containing, string name) =>
        new CellSpec(ns, name, containing.Select(c => new ContainingType("class", c)).ToEquatableArray(), null!, false).HintName;

    [Fact]
    public void EveryCellOfACompilationHasAHintNameOfItsOwnIgnoringCase()
    {
        // Every namespace (0 to 2 parts), nesting (0 to 1) and name over the letters a, A, b and B, up to two letters each.
        string[] parts = ["a", "A", "b", "B", "aa", "aA", "Aa", "AA", "ab", "Ab", "aB", "AB"];
        var cells = new List<(string Ns, string[] Containing, string Name)>();
        var namespaces = new[] { "" }.Concat(parts).Concat(parts.SelectMany(p => new[] { "a", "A" }.Select(q => p + "." + q))).ToList();
        foreach (string ns in namespaces)
            foreach (string[] containing in new[] { Array.Empty<string>() }.Concat(parts.Take(4).Select(p => new[] { p })))
                foreach (string name in parts)
                    cells.Add((ns, containing, name));
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach ((string ns, string[] containing, string name) in cells)
        {
            string full = $"{ns}|{string.Join("+", containing)}|{name}";
            string hint = HintName(ns, containing, name);
            Assert.EndsWith(".g.cs", hint);
            Assert.True(seen.TryAdd(hint, full), $"{full} and {(seen.TryGetValue(hint, out string? other) ? other : "")} share the hint name {hint}");
        }
        Assert.True(seen.Count > 2000, $"{seen.Count} cells");
    }

    [Theory]
    [InlineData("CellGen.Cells", "Lstm", "CellGen.Cells.Lstm-8908.g.cs")]
    [InlineData("n", "cell", "n.cell.g.cs")]
    [InlineData("MyApp.@event", "C", "MyApp.event.C-a02.g.cs")]
    public void AHintNameReadsAsTheCellsName(string ns, string name, string expected) => Assert.Equal(expected, HintName(ns, [], name));

    [Fact]
    public void ANestedCellHasAPlusBeforeEachType() => Assert.Equal("N.O+C-e.g.cs", HintName("N", ["O"], "C"));
}
