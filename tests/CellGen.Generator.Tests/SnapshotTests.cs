using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>The generated source of every built-in cell, against its approved snapshot.</summary>
public sealed class SnapshotTests
{
    public static IEnumerable<object[]> BuiltInCells() =>
        Directory.GetFiles(Path.Combine(GeneratorHarness.RepositoryRoot, "src", "Cells"), "*.cs")
            .Select(f => new object[] { Path.GetFileNameWithoutExtension(f) }).OrderBy(o => (string)o[0]);

    [Theory]
    [MemberData(nameof(BuiltInCells))]
    public void GeneratedSourceMatchesSnapshot(string cell)
    {
        string path = Path.Combine(GeneratorHarness.RepositoryRoot, "src", "Cells", cell + ".cs");
        var result = GeneratorHarness.Run(GeneratorHarness.Compilation((path, File.ReadAllText(path))));
        Assert.Null(result.GeneratorException);
        Assert.Empty(result.CellGenDiagnostics);
        Assert.Empty(result.Output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        Approvals.Verify(cell, result.Source($"CellGen.Cells.{cell}"));
    }
}
