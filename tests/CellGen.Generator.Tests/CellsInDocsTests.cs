using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>Every cell declared in the README and in docs/equation-language.md builds as written: docs that run.</summary>
public sealed class CellsInDocsTests
{
    /// <summary>The C# blocks that are only a cell: attributes, comments and one partial class.</summary>
    public static IEnumerable<object[]> Cells()
    {
        foreach (string file in new[] { "README.md", Path.Combine("docs", "equation-language.md") })
        {
            string text = File.ReadAllText(Path.Combine(GeneratorHarness.RepositoryRoot, file)).Replace("\r\n", "\n");
            foreach (Match block in Regex.Matches(text, "```csharp\n(.*?)```", RegexOptions.Singleline))
            {
                string code = block.Groups[1].Value;
                var lines = code.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
                bool onlyACell = lines.All(l => l.StartsWith('[') || l.StartsWith("//") || l.StartsWith("using ") || l.StartsWith("public partial class "))
                    && lines.Count(l => l.StartsWith("public partial class ")) == 1;
                if (onlyACell) yield return new object[] { file, code };
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void BuildsAsWritten(string file, string code)
    {
        var result = GeneratorHarness.Run("using CellGen;\nnamespace Docs;\n\n" + code.Replace("using CellGen;", "") + "\n");
        Assert.Null(result.GeneratorException);
        Assert.True(result.CellGenDiagnostics.Count(d => d.Severity >= DiagnosticSeverity.Warning) == 0,
            $"{file}: {string.Join("; ", result.CellGenDiagnostics)}\n{code}");
        Assert.True(!result.CompileErrors.Any(), $"{file}: {string.Join("; ", result.CompileErrors)}\n{code}");
    }

    [Fact]
    public void TheDocsDeclareCellsOfVersion2()
    {
        string all = string.Join("\n", Cells().Select(c => (string)c[1]));
        foreach (string construct in new[] { "layernorm(", " / ", "[Size(" }) Assert.Contains(construct, all);
    }
}
