using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>With step tracking on: unrelated edits cache every step; an edited equation regenerates its cell only.</summary>
public sealed class IncrementalityTests
{
    private static readonly string[] Steps =
        { CellGenerator.DeclarationStep, CellGenerator.CompileStep, CellGenerator.SourceStep };

    private const string First = "using CellGen;\nnamespace Test;\n[RecurrentCell]\n[Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]\npublic partial class First;\n";
    private const string Second = "using CellGen;\nnamespace Test;\n[RecurrentCell]\n[Equation(\"z = sigmoid(U @ [h[t-1], x[t]])\")]\n[Equation(\"h[t] = z * h[t-1] + (1 - z) * tanh(W @ x[t])\")]\npublic partial class Second;\n";
    private const string Other = "namespace Test;\npublic static class Other { public static int Value => 1; }\n";

    private static (GeneratorDriver Driver, CSharpCompilation Compilation) Start()
    {
        var compilation = GeneratorHarness.Compilation(("First.cs", First), ("Second.cs", Second), ("Other.cs", Other));
        GeneratorDriver driver = GeneratorHarness.Driver(track: true).RunGenerators(compilation);
        return (driver, compilation);
    }

    private static CSharpCompilation Replace(CSharpCompilation compilation, string path, string source)
    {
        SyntaxTree old = compilation.SyntaxTrees.Single(t => t.FilePath == path);
        return compilation.ReplaceSyntaxTree(old, CSharpSyntaxTree.ParseText(source, GeneratorHarness.ParseOptions, path));
    }

    private static List<(string Step, IncrementalStepRunReason Reason)> Reasons(GeneratorDriver driver)
    {
        var result = driver.GetRunResult().Results.Single();
        return Steps.SelectMany(step => result.TrackedSteps.TryGetValue(step, out var runs)
                ? runs.SelectMany(run => run.Outputs).Select(o => (step, o.Reason))
                : Enumerable.Empty<(string, IncrementalStepRunReason)>())
            .ToList();
    }

    [Fact]
    public void UnrelatedEditCachesEveryStep()
    {
        (GeneratorDriver driver, CSharpCompilation compilation) = Start();
        compilation = Replace(compilation, "Other.cs", Other.Replace("Value => 1", "Value => 2"));
        driver = driver.RunGenerators(compilation);
        var reasons = Reasons(driver);
        Assert.NotEmpty(reasons);
        Assert.All(reasons, r => Assert.True(r.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{r.Step}: {r.Reason}"));
    }

    [Fact]
    public void EditBelowACellInItsOwnFileCachesItsSource()
    {
        (GeneratorDriver driver, CSharpCompilation compilation) = Start();
        compilation = Replace(compilation, "First.cs", First + "// a comment added below the cell\n");
        driver = driver.RunGenerators(compilation);
        var sources = driver.GetRunResult().Results.Single().TrackedSteps[CellGenerator.SourceStep].SelectMany(r => r.Outputs).ToList();
        Assert.All(sources, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, o.Reason.ToString()));
    }

    /// <summary>The generator reads no locations (the analyzer does): a cell that only moves in its file is the same model, from the first step.</summary>
    [Fact]
    public void EditAboveACellCachesEveryStep()
    {
        (GeneratorDriver driver, CSharpCompilation compilation) = Start();
        compilation = Replace(compilation, "First.cs", "// a comment added above the cell\n\n" + First);
        driver = driver.RunGenerators(compilation);
        var reasons = Reasons(driver);
        Assert.NotEmpty(reasons);
        Assert.All(reasons, r => Assert.True(r.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{r.Step}: {r.Reason}"));
    }

    [Fact]
    public void EditedEquationRegeneratesItsCellOnly()
    {
        (GeneratorDriver driver, CSharpCompilation compilation) = Start();
        compilation = Replace(compilation, "Second.cs", Second.Replace("(1 - z)", "(1 - z) * 0.5"));
        driver = driver.RunGenerators(compilation);
        var result = driver.GetRunResult().Results.Single();
        var sources = result.TrackedSteps[CellGenerator.SourceStep].SelectMany(r => r.Outputs).ToList();
        Assert.Equal(2, sources.Count);
        Assert.Single(sources, o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Single(sources, o => o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged);
        Assert.Contains("Test.Second", sources.Single(o => o.Reason == IncrementalStepRunReason.Modified).Value!.ToString());
        Assert.Contains(result.GeneratedSources, s => GeneratorHarness.IsSourceOf(s.HintName, "Test.Second") && s.SourceText.ToString().Contains("0.5f"));
    }
}
