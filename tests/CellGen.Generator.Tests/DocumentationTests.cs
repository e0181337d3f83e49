using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using CellGen.Generator.Language;
using Microsoft.CodeAnalysis;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>docs/diagnostics.md documents every diagnostic, and its examples do what they say.</summary>
public sealed class DocumentationTests
{
    private static string Document => File.ReadAllText(Path.Combine(GeneratorHarness.RepositoryRoot, "docs", "diagnostics.md"));

    public static IEnumerable<object[]> Ids() => Diagnostics.All.Select(d => new object[] { d.Id });

    private static string Section(string id)
    {
        string document = Document;
        int start = document.IndexOf($"<a id=\"{id.ToLowerInvariant()}\"></a>", System.StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/diagnostics.md has no entry for {id}");
        int end = document.IndexOf("<a id=", start + 5, System.StringComparison.Ordinal);
        return end < 0 ? document[start..] : document[start..end];
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void EveryDiagnosticIsDocumentedAndItsExamplesHold(string id)
    {
        string section = Section(id);
        Assert.Contains($"## {id}:", section);
        var blocks = Regex.Matches(section, "```csharp\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToList();
        if (id == Diagnostics.InternalError.Id) { Assert.Empty(blocks); return; }
        if (id == Diagnostics.LanguageVersionTooOld.Id)
        {
            // A project setting, not code: DiagnosticTests compiles a cell under C# 12 and 13.
            Assert.Empty(blocks);
            Assert.Contains("<LangVersion>12</LangVersion>", section);
            return;
        }
        Assert.Equal(2, blocks.Count);
        string Wrap(string code) => "using CellGen;\nnamespace Docs;\n\n" + code + "\n";

        var bad = GeneratorHarness.Run(Wrap(blocks[0]));
        Assert.Null(bad.GeneratorException);
        Assert.Contains(bad.CellGenDiagnostics, d => d.Id == id);

        var fixedResult = GeneratorHarness.Run(Wrap(blocks[1]));
        Assert.Null(fixedResult.GeneratorException);
        Assert.Empty(fixedResult.CellGenDiagnostics);
        Assert.Empty(fixedResult.CompileErrors);
    }

    [Fact]
    public void HelpLinksPointAtTheirEntries()
    {
        foreach (DiagnosticDescriptor descriptor in Diagnostics.All)
            Assert.EndsWith("docs/diagnostics.md#" + descriptor.Id.ToLowerInvariant(), descriptor.HelpLinkUri);
    }

    [Fact]
    public void AnalyzerReleasesListEveryDiagnosticWithItsCategoryAndSeverity()
    {
        string folder = Path.Combine(GeneratorHarness.RepositoryRoot, "src", "Generator");
        var rows = new[] { "AnalyzerReleases.Shipped.md", "AnalyzerReleases.Unshipped.md" }
            .SelectMany(file => File.ReadAllLines(Path.Combine(folder, file)))
            .Select(line => line.Split('|').Select(cell => cell.Trim()).ToArray())
            .Where(cells => cells.Length == 4 && cells[0].StartsWith("CG", System.StringComparison.Ordinal))
            .ToList();
        foreach (DiagnosticDescriptor descriptor in Diagnostics.All)
        {
            string[]? row = rows.SingleOrDefault(r => r[0] == descriptor.Id);
            Assert.True(row is not null, $"{descriptor.Id} is in neither AnalyzerReleases file (once each)");
            Assert.Equal(descriptor.Category, row![1]);
            Assert.Equal(descriptor.DefaultSeverity.ToString(), row[2]);
        }
        Assert.Equal(Diagnostics.All.Count(), rows.Count);
    }

    /// <summary>Every function of the operation table, in each list of functions the docs give (issue 27: CG0002's lacked mean and layernorm).</summary>
    [Fact]
    public void EveryListOfFunctionsInTheDocsNamesEveryFunction()
    {
        string readme = File.ReadAllText(Path.Combine(GeneratorHarness.RepositoryRoot, "README.md"));
        int at = readme.IndexOf("Functions:", System.StringComparison.Ordinal);
        Assert.True(at >= 0, "README.md has no list of functions");
        var lists = new Dictionary<string, string>
        {
            ["docs/diagnostics.md, CG0002"] = Section(Diagnostics.UnknownFunction.Id),
            ["README.md, the equation language in brief"] = readme.Substring(at, readme.IndexOf("\n\n", at, System.StringComparison.Ordinal) - at),
        };
        foreach ((string where, string list) in lists)
            foreach (string spelling in CellGen.Generator.Model.Operation.Functions.SelectMany(f => f.Spellings))
                Assert.True(list.Contains($"`{spelling}`", System.StringComparison.Ordinal), $"{where} does not list `{spelling}`");
        // The language's own page: its grammar's func rule and its table of functions, a row each.
        string language = File.ReadAllText(Path.Combine(GeneratorHarness.RepositoryRoot, "docs", "equation-language.md"));
        string grammar = Regex.Match(language, @"^func\s+:=(.*)$", RegexOptions.Multiline).Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(grammar), "docs/equation-language.md has no func rule");
        foreach (CellGen.Generator.Model.Operation function in CellGen.Generator.Model.Operation.Functions)
        {
            foreach (string spelling in function.Spellings)
                Assert.True(Regex.IsMatch(grammar, $@"(^|\|)\s*{Regex.Escape(spelling)}\s*(\||$)"), $"the grammar's func rule does not list {spelling}");
            Assert.True(language.Split('\n').Any(line => line.StartsWith("| ", System.StringComparison.Ordinal) && line.Contains($"`{function.Spellings[0]}(", System.StringComparison.Ordinal)),
                $"docs/equation-language.md's table of functions has no row for {function.Spellings[0]}");
        }
    }

    /// <summary>Every repository path the docs cite in backquotes (src/..., tests/..., docs/..., samples/..., bench/...) exists.</summary>
    [Fact]
    public void EveryPathTheDocsCiteExists()
    {
        string root = GeneratorHarness.RepositoryRoot;
        var documents = new[] { "README.md" }.Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Select(f => Path.GetRelativePath(root, f)));
        foreach (string document in documents)
            foreach (Match m in Regex.Matches(File.ReadAllText(Path.Combine(root, document)), "`((?:src|tests|docs|samples|bench)/[A-Za-z0-9_./-]+)`"))
            {
                string cited = m.Groups[1].Value.TrimEnd('/', '.');
                Assert.True(File.Exists(Path.Combine(root, cited)) || Directory.Exists(Path.Combine(root, cited)), $"{document} cites {cited}, which does not exist");
            }
    }

    /// <summary>
    /// Every elementwise operation of the table that a step can apply has an ONNX operator (Onnx.StepOperators), and
    /// every function is in the random cells the gradient checks and the fuzzing draw from: a new entry missing either fails here.
    /// </summary>
    [Fact]
    public void EveryOperationIsExportableAndCovered()
    {
        string randomCells = File.ReadAllText(Path.Combine(GeneratorHarness.RepositoryRoot, "tests", "CellGen.Generator.Tests", "RandomCells.cs"));
        foreach (CellGen.Generator.Model.Operation operation in CellGen.Generator.Model.Operation.All)
        {
            bool applied = operation.Kind == CellGen.Generator.Model.OperationKind.Elementwise && !operation.IsInternal; // internal ones: derivatives only
            if (applied) Assert.True(CellGen.Onnx.StepOperators.ContainsKey(operation.Name), $"'{operation.Name}' has no ONNX operator in Onnx.StepOperators");
            foreach (string spelling in operation.Spellings)
                Assert.True(randomCells.Contains($"\"{spelling}\"", System.StringComparison.Ordinal) || randomCells.Contains(spelling + "(", System.StringComparison.Ordinal),
                    $"the random cells never write '{spelling}'");
        }
    }
}
