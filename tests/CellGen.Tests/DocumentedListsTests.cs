using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using CellGen.Cells;
using Xunit;

namespace CellGen.Tests;

/// <summary>Issue 27: the README's lists of built-in cells and of modules are the code's, no more and no fewer.</summary>
public sealed class DocumentedListsTests
{
    private static string Readme() => File.ReadAllText(Path.Combine(TestFiles.Root(), "README.md"));

    [Fact]
    public void TheTableOfBuiltInCellsListsEveryCellOfCellGenCells()
    {
        string readme = Readme();
        int start = readme.IndexOf("## Built-in cells", StringComparison.Ordinal), end = readme.IndexOf("\n## ", start + 5, StringComparison.Ordinal);
        var listed = Regex.Matches(readme[start..end], @"^\| `(\w+)` \|", RegexOptions.Multiline).Select(m => m.Groups[1].Value).Order().ToArray();
        var cells = typeof(Lstm).Assembly.GetExportedTypes()
            .Where(t => t.Namespace == "CellGen.Cells" && !t.IsNested && typeof(RecurrentCell<float>).IsAssignableFrom(t) && !t.IsAbstract).Select(t => t.Name).Order().ToArray();
        Assert.Equal(cells, listed);
    }

    [Fact]
    public void TheTableOfBuiltInLayersListsEveryLayerOfCellGenCells()
    {
        string readme = Readme();
        int start = readme.IndexOf("## Layers from equations", StringComparison.Ordinal), end = readme.IndexOf("\n## ", start + 5, StringComparison.Ordinal);
        var listed = Regex.Matches(readme[start..end], @"^\| ([^|]+) \|", RegexOptions.Multiline)
            .SelectMany(row => Regex.Matches(row.Groups[1].Value, @"`(\w+)`").Select(m => m.Groups[1].Value)).Order().ToArray();
        var layers = typeof(Lstm).Assembly.GetExportedTypes()
            .Where(t => t.Namespace == "CellGen.Cells" && !t.IsNested && t.IsSubclassOf(typeof(Layer))).Select(t => t.Name).Order().ToArray();
        Assert.NotEmpty(layers);
        Assert.Equal(layers, listed);
    }

    [Fact]
    public void TheListOfModulesNamesEveryModuleOfTheRuntime()
    {
        string readme = Readme();
        Match list = Regex.Match(readme, @"^- Modules: (.*?)(?=^- |^\s*$)", RegexOptions.Multiline | RegexOptions.Singleline);
        Assert.True(list.Success, "the README has no list of modules");
        var modules = typeof(Module).Assembly.GetExportedTypes().Where(t => t.IsSubclassOf(typeof(Module)) && !t.IsAbstract).Select(t => t.Name).ToArray();
        Assert.NotEmpty(modules);
        foreach (string module in modules) Assert.True(list.Value.Contains($"`{module}`", StringComparison.Ordinal), $"the README's list of modules lacks {module}");
    }
}
