using System.Collections.Generic;
using System.Linq;
using System.Threading;
using CellGen.CodeFixes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>
/// Each code fix on its text before and after, run as the editor runs it (the analyzer's diagnostic, the fix's action
/// applied in a workspace); and each fix is certain: the fixed source has no CellGen error and its cell compiles.
/// </summary>
public sealed class CodeFixTests
{
    private const string Head = "using CellGen;\nnamespace Test;\n\n";

    /// <summary>The one fix offered for the first diagnostic <paramref name="id"/> of the source, applied; null when none is offered.</summary>
    private static string? Fix(string source, string id)
    {
        using var workspace = new AdhocWorkspace();
        Project project = workspace.AddProject("Cells", LanguageNames.CSharp)
            .WithMetadataReferences(GeneratorHarness.References)
            .WithParseOptions(GeneratorHarness.ParseOptions)
            .WithCompilationOptions(GeneratorHarness.CompilationOptions);
        Document document = project.AddDocument("Cell.cs", source);
        Compilation compilation = document.Project.GetCompilationAsync().GetAwaiter().GetResult()!;
        Diagnostic diagnostic = GeneratorHarness.Analyze(compilation).First(d => d.Id == id);
        var fixes = new CellFixes();
        Assert.Contains(id, fixes.FixableDiagnosticIds);
        var actions = new List<CodeAction>();
        fixes.RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), CancellationToken.None)).GetAwaiter().GetResult();
        if (actions.Count == 0) return null;
        CodeAction only = Assert.Single(actions);
        Solution changed = only.GetOperationsAsync(CancellationToken.None).GetAwaiter().GetResult().OfType<ApplyChangesOperation>().Single().ChangedSolution;
        return changed.GetDocument(document.Id)!.GetTextAsync().GetAwaiter().GetResult().ToString();
    }

    private static void Check(string id, string before, string after)
    {
        string? fixedSource = Fix(before, id);
        Assert.Equal(after, fixedSource);
        var result = GeneratorHarness.Run(fixedSource!);
        Assert.DoesNotContain(result.CellGenDiagnostics, d => d.Severity == DiagnosticSeverity.Error || d.Id == id);
        Assert.Empty(result.CompileErrors);
    }

    [Fact]
    public void CG0010_MakesTheCellPartial() => Check("CG0010",
        Head + "[RecurrentCell]\n[Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]\npublic sealed class C;\n",
        Head + "[RecurrentCell]\n[Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]\npublic sealed partial class C;\n");

    [Fact]
    public void CG0010_MakesACellWithoutModifiersPartial() => Check("CG0010",
        Head + "[RecurrentCell]\n[Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]\n  class C;\n",
        Head + "[RecurrentCell]\n[Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]\n  partial class C;\n");

    [Fact]
    public void CG0012_MakesEveryEnclosingTypePartial() => Check("CG0012", // two diagnostics, one per type; either fixes both
        Head + "public static class Outer\n{\n    internal class Middle\n    {\n        [RecurrentCell]\n        [Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]\n        public partial class C;\n    }\n}\n",
        Head + "public static partial class Outer\n{\n    internal partial class Middle\n    {\n        [RecurrentCell]\n        [Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]\n        public partial class C;\n    }\n}\n");

    [Fact]
    public void CG0013_RemovesTheUnusedEquation() => Check("CG0013",
        Head + "[RecurrentCell]\n// g is not used yet\n[Equation(\"g = sigmoid(U @ x[t])\")]\n[Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]\npublic partial class C;\n",
        Head + "[RecurrentCell]\n// g is not used yet\n[Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]\npublic partial class C;\n");

    [Fact]
    public void CG0013_RemovesTheUnusedEquationFromAListOfAttributes() => Check("CG0013",
        Head + "[RecurrentCell, Equation(\"g = sigmoid(U @ x[t])\"), Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]\npublic partial class C;\n",
        Head + "[RecurrentCell, Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]\npublic partial class C;\n");

    [Fact]
    public void CG0013_KeepsAPragmaAboveTheRemovedEquation() => Check("CG0013",
        Head + "[RecurrentCell]\n#pragma warning disable CS0618\n[Equation(\"g = sigmoid(U @ x[t])\")]\n#pragma warning restore CS0618\n[Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]\npublic partial class C;\n",
        Head + "[RecurrentCell]\n#pragma warning disable CS0618\n#pragma warning restore CS0618\n[Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]\npublic partial class C;\n");

    [Fact]
    public void CG0002_CallsTheNearestFunction() => Check("CG0002",
        Head + "[RecurrentCell]\n[Equation(\"h[t] = tahn(W @ [h[t-1], x[t]] + b)\")]\npublic partial class C;\n",
        Head + "[RecurrentCell]\n[Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]\npublic partial class C;\n");

    [Fact]
    public void CG0002_CallsTheNearestFunctionWrittenInCapitals() => Check("CG0002",
        Head + "[RecurrentCell]\n[Equation(@\"h[t] = Sigmoid(W @ [h[t-1], x[t]] + b)\")]\npublic partial class C;\n",
        Head + "[RecurrentCell]\n[Equation(@\"h[t] = sigmoid(W @ [h[t-1], x[t]] + b)\")]\npublic partial class C;\n");

    [Theory]
    [InlineData("softmax")] // as far from softplus as from max: a choice, not a fix
    [InlineData("attention")]
    public void CG0002_OffersNothingWhenNoFunctionIsNearest(string name) =>
        Assert.Null(Fix(Head + $"[RecurrentCell]\n[Equation(\"h[t] = {name}(W @ [h[t-1], x[t]] + b)\")]\npublic partial class C;\n", "CG0002"));

    [Fact]
    public void CG0009_WritesTheOutputAsTheState() => Check("CG0009",
        Head + "[RecurrentCell]\n[Equation(\"h = tanh(W @ [h[t-1], x[t]] + b)\")]\npublic partial class C;\n",
        Head + "[RecurrentCell]\n[Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]\npublic partial class C;\n");

    [Fact]
    public void CG0015_ReadsTheInputAtThisStep() => Check("CG0015",
        Head + "[RecurrentCell]\n[Equation(\"h[t] = tanh(W @ [h[t-1], x] + b)\")]\npublic partial class C;\n",
        Head + "[RecurrentCell]\n[Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]\npublic partial class C;\n");

    /// <summary>The replaced characters are the source's, escapes and all, not the string value's.</summary>
    [Fact]
    public void CG0015_ReplacesTheRightCharactersAfterAnEscape() => Check("CG0015",
        Head + "[RecurrentCell]\n[Equation(\"h[t] = \\u0074anh(W @ [h[t-1], x] + b)\")]\npublic partial class C;\n",
        Head + "[RecurrentCell]\n[Equation(\"h[t] = \\u0074anh(W @ [h[t-1], x[t]] + b)\")]\npublic partial class C;\n");

    [Fact]
    public void CG0021_DropsALayersOutputTimeIndex() => Check("CG0021",
        Head + "[Layer]\n[Equation(\"y[t] = relu(W @ x + b)\")]\npublic partial class C;\n",
        Head + "[Layer]\n[Equation(\"y = relu(W @ x + b)\")]\npublic partial class C;\n");

    [Fact]
    public void CG0021_DropsALayersInputTimeIndex() => Check("CG0021",
        Head + "[Layer]\n[Equation(\"\"\"\n    y = relu(W @ x[t] + b)\n    \"\"\")]\npublic partial class C;\n",
        Head + "[Layer]\n[Equation(\"\"\"\n    y = relu(W @ x + b)\n    \"\"\")]\npublic partial class C;\n");

    [Fact]
    public void CG0021_OffersNothingForAnEarlierStepInALayer() =>
        Assert.Null(Fix(Head + "[Layer]\n[Equation(\"y = relu(W @ x[t-1] + b)\")]\npublic partial class C;\n", "CG0021"));

    /// <summary>A constant's text is not in the attribute: there are no characters to replace there.</summary>
    [Fact]
    public void NoReplacementInsideAConstant() =>
        Assert.Null(Fix(Head + "[RecurrentCell]\n[Equation(C.Text)]\npublic partial class C { public const string Text = \"h[t] = tahn(W @ [h[t-1], x[t]] + b)\"; }\n", "CG0002"));
}
