using System;
using System.IO;
using System.Linq;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>
/// A developer's tool, not a check: with CELLGEN_DUMP=path.txt (one equation per line), writes the generated source
/// and the diagnostics to path.txt.g.cs; a line that starts with '[' is an attribute of the class, as written
/// ([Heads(4)], [Size("m", "heads")]). Does nothing otherwise.
/// </summary>
public sealed class DumpTool
{
    [Fact]
    public void DumpWhenAsked()
    {
        string? path = Environment.GetEnvironmentVariable("CELLGEN_DUMP");
        if (string.IsNullOrEmpty(path)) return;
        // CELLGEN_DUMP_RANDOM=seed:index writes that random cell's equations to the file first.
        if (Environment.GetEnvironmentVariable("CELLGEN_DUMP_RANDOM") is { Length: > 0 } which)
        {
            int seed = int.Parse(which.Split(':')[0]), index = int.Parse(which.Split(':')[1]);
            var generator = new RandomCells(seed);
            for (int i = 0; i < index; i++) generator.Next();
            File.WriteAllLines(path, generator.Next());
        }
        string[] lines = File.ReadAllLines(path).Where(l => l.Trim().Length > 0).ToArray();
        var equations = lines.Where(l => !l.TrimStart().StartsWith('[')).Select(l => l.Replace("\\", "\\\\").Replace("\"", "\\\""));
        string attributes = string.Join("\n", lines.Where(l => l.TrimStart().StartsWith('[')));
        var result = GeneratorHarness.Run(GeneratorHarness.CellWith(attributes, equations.ToArray()), emitFloat64: false);
        string text = string.Join("\n", result.GeneratorDiagnostics.Concat(result.AnalyzerDiagnostics).Concat(result.CompileErrors).Select(d => "// " + d)) + "\n"
            + string.Join("\n", result.RunResult.GeneratedTrees.Select(t => t.ToString()));
        File.WriteAllText(path + ".g.cs", text);
    }
}
