using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>One test per diagnostic: its ID and the exact characters it points at, marked [| |] in the source.</summary>
public sealed class DiagnosticTests
{
    private const string Rnn = "h[t] = tanh(W @ [h[t-1], x[t]] + b)";

    private static string CellSource(params string[] equations) =>
        "using CellGen;\nnamespace Test;\n\n[RecurrentCell]\n" + string.Concat(equations.Select(e => $"[Equation(\"{e}\")]\n")) + "public partial class C;\n";

    /// <summary>Compiles the source without its markers and asserts a single diagnostic with the ID over the marked span.</summary>
    private static Diagnostic Expect(string id, string marked, DiagnosticSeverity severity = DiagnosticSeverity.Error)
    {
        int start = marked.IndexOf("[|", System.StringComparison.Ordinal);
        string source = marked.Remove(start, 2);
        int end = source.IndexOf("|]", System.StringComparison.Ordinal);
        source = source.Remove(end, 2);
        var result = GeneratorHarness.Run(source);
        Assert.Null(result.GeneratorException);
        Assert.Empty(result.Crashes);
        var matches = result.CellGenDiagnostics.Where(d => d.Id == id).ToList();
        Assert.True(matches.Count == 1, $"Expected one {id}, got: {string.Join("; ", result.CellGenDiagnostics)}");
        Diagnostic diagnostic = matches[0];
        Assert.Equal(severity, diagnostic.Severity);
        Assert.Equal(new TextSpan(start, end - start), diagnostic.Location.SourceSpan);
        var text = SourceText.From(source);
        Assert.Equal(text.Lines.GetLinePositionSpan(new TextSpan(start, end - start)), diagnostic.Location.GetLineSpan().Span);
        Assert.False(string.IsNullOrWhiteSpace(diagnostic.GetMessage()));
        Assert.EndsWith("#" + id.ToLowerInvariant(), diagnostic.Descriptor.HelpLinkUri);
        if (severity == DiagnosticSeverity.Error) Assert.DoesNotContain(result.RunResult.GeneratedTrees, t => GeneratorHarness.IsSourceOf(t.FilePath, "Test.C"));
        return diagnostic;
    }

    /// <summary>A projected cell (output r of size P) with extra [Size] attributes and equations.</summary>
    private static string SizedSource(string sizes, params string[] equations) =>
        "using CellGen;\nnamespace Test;\n\n[RecurrentCell(Output = \"r\")]\n" + string.Concat(equations.Select(e => $"[Equation(\"{e}\")]\n")) + sizes + "public partial class C;\n";

    private static readonly string[] Projected = { "c[t] = tanh(W @ [r[t-1], x[t]] + b)", "r[t] = W_r @ c[t]" };

    [Fact]
    public void CG0023_SizeOfAnUnknownName() => Expect("CG0023", SizedSource("[Size([|\"q\"|], \"P\")]\n", Projected));

    [Fact]
    public void CG0023_SizeOfAMatrix() => Expect("CG0023", SizedSource("[Size(\"r\", \"P\")]\n[Size([|\"W_r\"|], \"Q\")]\n", Projected));

    [Fact]
    public void CG0023_SizeOfTheInput() => Expect("CG0023", SizedSource("[Size(\"r\", \"P\")]\n[Size([|\"x\"|], \"Q\")]\n", Projected));

    [Fact]
    public void CG0023_SizeNameNotAnIdentifier() => Expect("CG0023", SizedSource("[Size(\"r\", [|\"2P\"|])]\n", Projected));

    [Fact]
    public void CG0023_SizeNameTaken() => Expect("CG0023", SizedSource("[Size(\"r\", [|\"hiddenSize\"|])]\n", Projected));

    [Fact]
    public void CG0023_AStateCannotBeAScalar() => Expect("CG0023", SizedSource("[Size(\"c\", [|\"1\"|])]\n", Projected));

    [Fact]
    public void CG0023_NameGivenTwoSizes() => Expect("CG0023", SizedSource("[Size(\"r\", \"P\")]\n[Size([|\"r\"|], \"Q\")]\n", Projected));

    private static string Blocks(string declarations, params string[] equations) =>
        "using CellGen;\nnamespace Test;\n\n[RecurrentCell]\n" + string.Concat(equations.Select(e => $"[Equation(\"{e}\")]\n")) + declarations + "public partial class C;\n";

    private const string BlockRnn = "h[t] = tanh(W @ x[t] + R @ h[t-1] + b)";

    [Fact]
    public void CG0026_BlocksOfAnUnknownMatrix() => Expect("CG0026", Blocks("[BlockDiagonal([|\"Q\"|], 4)]\n", BlockRnn));

    [Fact]
    public void CG0026_BlocksOfAVector() => Expect("CG0026", Blocks("[BlockDiagonal([|\"b\"|], 4)]\n", BlockRnn));

    [Fact]
    public void CG0026_BlocksOfAState() => Expect("CG0026", Blocks("[BlockDiagonal([|\"h\"|], 4)]\n", BlockRnn));

    [Fact]
    public void CG0026_NoBlocks() => Expect("CG0026", Blocks("[BlockDiagonal(\"R\", [|0|])]\n", BlockRnn));

    [Fact]
    public void CG0026_TooManyBlocks() => Expect("CG0026", Blocks("[BlockDiagonal(\"R\", [|5000|])]\n", BlockRnn));

    [Fact]
    public void CG0026_DeclaredTwice() => Expect("CG0026", Blocks("[BlockDiagonal(\"R\", 4)]\n[BlockDiagonal([|\"R\"|], 2)]\n", BlockRnn));

    [Fact]
    public void CG0026_BlocksOfAConcatenation() => Expect("CG0026", Blocks("[BlockDiagonal(\"R\", 4)]\n", "h[t] = tanh([|R @ [h[t-1], x[t]]|] + b)"));

    [Fact]
    public void CG0026_BlocksTimesAScalar() =>
        Expect("CG0026", Blocks("[BlockDiagonal(\"R\", 4)]\n[Size(\"a\", \"1\")]\n", "h[t] = tanh(W @ x[t] + [|R @ a|] + b)"));

    // Heads and matrix memory: each construct without [Heads], and each misuse, at its characters.
    private const string Memory = "k = tanh(W @ x[t])\")]\n[Equation(\"C[t] = 0.5 * C[t-1] + outer(k, k)\")]\n[Equation(\"h[t] = C[t] @ k";

    [Fact]
    public void CG0028_MatrixSizeWithoutHeads() => Expect("CG0028", Blocks("[Size(\"C\", [|\"matrix\"|])]\n", Memory));

    [Fact]
    public void CG0028_HeadsSizeWithoutHeads() => Expect("CG0028", Blocks("[Size(\"g\", [|\"heads\"|])]\n", "g = sigmoid(W_g @ x[t])\")]\n[Equation(\"h[t] = g * tanh(W @ x[t])"));

    [Fact]
    public void CG0028_OuterWithoutHeads() => Expect("CG0028", Blocks("", "h[t] = tanh(W @ x[t]) + 0 * mean([|outer|](h[t-1], h[t-1]))"));

    [Fact]
    public void CG0028_DotWithoutHeads() => Expect("CG0028", Blocks("", "h[t] = tanh(W @ x[t]) * [|dot|](h[t-1], h[t-1])"));

    [Fact]
    public void CG0028_NoHeads() => Expect("CG0028", Blocks("[Heads([|0|]), Size(\"C\", \"matrix\")]\n", Memory));

    [Fact]
    public void CG0028_TooManyHeads() => Expect("CG0028", Blocks("[Heads([|5000|]), Size(\"C\", \"matrix\")]\n", Memory));

    [Fact]
    public void CG0028_AMatrixParameter() => Expect("CG0028", Blocks("[Heads(2), Size(\"C\", \"matrix\"), Size(\"a\", [|\"matrix\"|])]\n", "k = tanh(W @ x[t])\")]\n[Equation(\"C[t] = a * C[t-1] + outer(k, k)\")]\n[Equation(\"h[t] = C[t] @ k"));

    [Fact]
    public void CG0028_AWeightMatrixTimesAMemory() =>
        Expect("CG0028", Blocks("[Heads(2), Size(\"C\", \"matrix\")]\n", "k = tanh(W @ x[t])\")]\n[Equation(\"C[t] = 0.5 * C[t-1] + outer(k, k)\")]\n[Equation(\"h[t] = tanh([|U @ C[t]|])"));

    [Fact]
    public void CG0028_TheOutputAMemory() =>
        Expect("CG0028", "using CellGen;\nnamespace Test;\n[[|RecurrentCell(Output = \"C\")|]]\n[Heads(2), Size(\"C\", \"matrix\")]\n[Equation(\"k = tanh(W @ x[t])\")]\n[Equation(\"C[t] = 0.5 * C[t-1] + outer(k, k)\")]\npublic partial class C;\n");

    [Fact]
    public void CG0016_AVectorOnTheLeftOfAt() => Expect("CG0016", Blocks("[Heads(2)]\n", "h[t] = tanh([|h[t-1]|] @ x[t])"));

    // One argument the same across a head's units is broadcast (outer(1, a)); both, and no unit is left to index.
    [Fact]
    public void CG0016_OuterOfAValuePerHeadAndANumber() =>
        Expect("CG0016", Blocks("[Heads(2), Size(\"C\", \"matrix\"), Size(\"g\", \"heads\")]\n", "g = sigmoid(W_g @ x[t])\")]\n[Equation(\"C[t] = 0.5 * C[t-1] + [|outer(g, 2)|]\")]\n[Equation(\"h[t] = C[t] @ h[t-1]"));

    [Fact]
    public void CG0016_DotOfTwoNumbers() =>
        Expect("CG0016", Blocks("[Heads(2)]\n", "h[t] = tanh(W @ x[t]) * [|dot(1, 2)|]"));

    [Fact]
    public void CG0016_OuterOfADeclaredSize() =>
        Expect("CG0016", Blocks("[Heads(2), Size(\"C\", \"matrix\"), Size(\"u\", \"n\")]\n", "u = tanh(W_u @ x[t])\")]\n[Equation(\"C[t] = 0.5 * C[t-1] + outer(h[t-1], [|u|])\")]\n[Equation(\"h[t] = tanh(C[t] @ h[t-1] + W @ x[t])"));

    // qᵀ S, as gated linear attention writes its read-out: the memory goes on the left (and is made transposed).
    [Fact]
    public void CG0028_AVectorTimesAMatrixMemory()
    {
        string marked = Blocks("[Heads(2), Size(\"S\", \"matrix\")]\n", "q = W_q @ x[t]\")]\n[Equation(\"S[t] = 0.9 * S[t-1] + outer(W_k @ x[t], W_v @ x[t])\")]\n[Equation(\"h[t] = [|q @ S[t]|]");
        Assert.Contains("write the memory on the left, 'S[t] @ q'", Expect("CG0028", marked).GetMessage());
        // That one only: q is read there (no CG0013), and not also called a matrix that is not a parameter (CG0007).
        var all = GeneratorHarness.Run(marked.Replace("[|", "").Replace("|]", "")).CellGenDiagnostics;
        Assert.True(all.Count == 1, string.Join("; ", all));
    }

    [Fact]
    public void CG0028_AStateTimesAMatrixMemory() =>
        Assert.Contains("'S[t-1] @ h[t-1]'", Expect("CG0028", Blocks("[Heads(2), Size(\"S\", \"matrix\")]\n", "S[t] = 0.9 * S[t-1] + outer(W_k @ x[t], W_v @ x[t])\")]\n[Equation(\"h[t] = tanh([|h[t-1] @ S[t-1]|])")).GetMessage());

    [Fact]
    public void CG0028_AnExpressionTimesAMatrixMemory() =>
        Assert.Contains("'S[t] @ (W_q @ x[t])'", Expect("CG0028", Blocks("[Heads(2), Size(\"S\", \"matrix\")]\n", "S[t] = 0.9 * S[t-1] + outer(W_k @ x[t], W_v @ x[t])\")]\n[Equation(\"h[t] = tanh([|(W_q @ x[t]) @ S[t]|])")).GetMessage());

    [Fact]
    public void CG0007_AMatrixMemoryWithoutItsTime() =>
        Assert.Contains("'S[t] @ q' or 'S[t-1] @ q'", Expect("CG0007", Blocks("[Heads(2), Size(\"S\", \"matrix\")]\n", "S[t] = 0.9 * S[t-1] + outer(W_k @ x[t], W_v @ x[t])\")]\n[Equation(\"h[t] = tanh([|S|] @ h[t-1])")).GetMessage());

    [Fact]
    public void CG0007_AVectorExpressionTimesAVector() =>
        Assert.Contains("'(W_q @ x[t])' is an expression", Expect("CG0007", Blocks("[Heads(2), Size(\"S\", \"matrix\")]\n", "S[t] = 0.9 * S[t-1] + outer(W_k @ x[t], W_v @ x[t])\")]\n[Equation(\"h[t] = tanh(S[t] @ h[t-1] + [|(W_q @ x[t])|] @ h[t-1])")).GetMessage());

    [Theory]
    [InlineData("(g)", "'g' is an intermediate")]
    [InlineData("(b)", "'b' is a parameter vector")]
    [InlineData("mean(g)", "'mean(g)' is an expression")]
    public void CG0007_AParenthesisedNameOrCallTimesAVector(string left, string expected) =>
        Assert.Contains(expected, Expect("CG0007", CellSource("g = tanh(V @ x[t])", $"h[t] = tanh([|{left}|] @ h[t-1] + b)")).GetMessage());

    [Fact]
    public void CG0016_AnUndeclaredMatrixIntermediate() =>
        Assert.Contains("declare it, [Size(\"U\", \"matrix\")]", Expect("CG0016", Blocks("[Heads(2), Size(\"S\", \"matrix\")]\n", "U = [|outer(W_k @ x[t], W_v @ x[t])|]\")]\n[Equation(\"S[t] = 0.9 * S[t-1] + U\")]\n[Equation(\"h[t] = tanh(S[t] @ h[t-1])")).GetMessage());

    [Fact]
    public void CG0016_AMemoryPlusAVector() =>
        Expect("CG0016", Blocks("[Heads(2), Size(\"C\", \"matrix\")]\n", "C[t] = [|0.5 * C[t-1] + h[t-1]|]\")]\n[Equation(\"h[t] = tanh(C[t] @ h[t-1] + W @ x[t])"));

    private const string Lstm = "i = sigmoid(W_i @ [h[t-1], x[t]])\")]\n[Equation(\"c[t] = c[t-1] + i\")]\n[Equation(\"h[t] = tanh(c[t])";

    [Fact]
    public void CG0027_ZoneoutOfAnUnknownName() => Expect("CG0027", Blocks("[Zoneout([|\"q\"|], 0.1)]\n", BlockRnn));

    [Fact]
    public void CG0027_ZoneoutOfAnIntermediate() => Expect("CG0027", Blocks("[Zoneout([|\"i\"|], 0.1)]\n", Lstm));

    [Fact]
    public void CG0027_DropoutOfTheInput() => Expect("CG0027", Blocks("[VariationalDropout([|\"x\"|], 0.1)]\n", BlockRnn));

    [Fact]
    public void CG0027_DropoutOfAMatrix() => Expect("CG0027", Blocks("[VariationalDropout([|\"R\"|], 0.1)]\n", BlockRnn));

    [Fact]
    public void CG0027_ProbabilityOne() => Expect("CG0027", Blocks("[Zoneout(\"h\", [|1|])]\n", BlockRnn));

    [Fact]
    public void CG0027_NegativeProbability() => Expect("CG0027", Blocks("[VariationalDropout(\"h\", [|-0.5|])]\n", BlockRnn));

    [Fact]
    public void CG0027_NotANumber() => Expect("CG0027", Blocks("[Zoneout(\"h\", [|double.NaN|])]\n", BlockRnn));

    [Fact]
    public void CG0027_DeclaredTwice() => Expect("CG0027", Blocks("[Zoneout(\"h\", 0.1)]\n[Zoneout([|\"h\"|], 0.2)]\n", BlockRnn));

    // c is read at t-1 only elementwise: no matrix to drop it from.
    [Fact]
    public void CG0027_DropoutOfAStateNoMatrixReads() => Expect("CG0027", Blocks("[VariationalDropout([|\"c\"|], 0.1)]\n", Lstm));

    [Fact]
    public void CG0027_DropConnectOfAStateNoMatrixReads() => Expect("CG0027", Blocks("[DropConnect([|\"c\"|], 0.5)]\n", Lstm));

    [Fact]
    public void CG0027_DropConnectProbabilityOutOfRange() => Expect("CG0027", Blocks("[DropConnect(\"h\", [|2|])]\n", BlockRnn));

    [Fact]
    public void CG0027_DropConnectDeclaredTwice() => Expect("CG0027", Blocks("[DropConnect(\"h\", 0.5)]\n[DropConnect([|\"h\"|], 0.5)]\n", BlockRnn));

    [Fact]
    public void CG0027_ZoneoutInALayer() =>
        Expect("CG0027", "using CellGen;\nnamespace Test;\n\n[Layer]\n[Equation(\"y = tanh(W @ x + b)\")]\n[Zoneout([|\"y\"|], 0.1)]\npublic partial class C;\n");

    [Fact]
    public void CG0016_DeclaredSizeCombinedWithH() =>
        Expect("CG0016", SizedSource("[Size(\"r\", \"P\")]\n", "c[t] = tanh(W @ [r[t-1], x[t]] + b)", "r[t] = W_r @ c[t] + [|r[t-1] * c[t]|]"));

    [Fact]
    public void CG0016_MatrixRowsOfTwoSizes() =>
        Expect("CG0016", SizedSource("[Size(\"r\", \"P\")]\n", "c[t] = tanh(W @ [r[t-1], x[t]] + U @ c[t-1])", "r[t] = [|U @ c[t]|]"));

    private static string Shaped(string declaration) => $"using CellGen;\nnamespace Test;\n\n[RecurrentCell]\n[Equation(\"{Rnn}\")]\n{declaration}\n";

    [Fact]
    public void CG0019_PrimaryConstructor() => Expect("CG0019", Shaped("public partial class C[|(string label)|];"));

    [Fact]
    public void CG0019_FileLocalClass() => Expect("CG0019", Shaped("file partial class [|C|];"));

    [Fact]
    public void CG0019_ConstructorOfTheGeneratedOnesParameters() => Expect("CG0019", Shaped("public partial class C { public [|C|](int a, int b) : base(a, b) { } }"));

    [Fact]
    public void CG0019_ClassNamedAfterAnOverriddenMember() => Expect("CG0019", Shaped("public partial class [|Equations|];"));

    [Fact]
    public void CG0019_BaseOfAnotherElementType() => Expect("CG0019", Shaped("public partial class [|C|] : RecurrentCell<double>;"));

    [Fact]
    public void CG0001_NestedTooDeeply() =>
        Expect("CG0001", CellSource("h[t] = tanh(W @ [h[t-1], x[t]] + " + new string('(', 99) + "[|(|]b" + new string(')', 100) + ")")); // tanh's call is level 1

    [Fact]
    public void CG0001_TooManyOperators()
    {
        string equation = "h[t] = tanh(W @ [h[t-1], x[t]] + " + string.Join(" + ", Enumerable.Range(0, 2001).Select(i => "b" + i)) + ")";
        Expect("CG0001", CellSource("[|" + equation + "|]"));
    }

    /// <summary>
    /// Diagnostics are located in the compilation's own syntax tree (not an external file of the same path), which is
    /// what lets #pragma warning disable and editor suppressions apply to them: the analyzer's driver applies the pragma
    /// here as the build does (the package test builds a real project).
    /// </summary>
    [Fact]
    public void DiagnosticsAreInTheSourceTreeSoThatPragmasApply()
    {
        const string cell = "[RecurrentCell]\n[Equation(\"g = tanh(U @ x[t])\")]\n[Equation(\"" + Rnn + "\")]\npublic partial class C;\n";
        var result = GeneratorHarness.Run("using CellGen;\nnamespace Test;\n\n" + cell);
        Diagnostic unused = Assert.Single(result.CellGenDiagnostics, d => d.Id == "CG0013");
        Assert.True(unused.Location.IsInSource);
        Assert.Same(result.Output.SyntaxTrees.First(t => t.FilePath == "Cell.cs"), unused.Location.SourceTree);
        var suppressed = GeneratorHarness.Run("using CellGen;\nnamespace Test;\n\n#pragma warning disable CG0013\n" + cell);
        Assert.Empty(suppressed.CellGenDiagnostics);
        Assert.Contains(suppressed.RunResult.GeneratedTrees, t => GeneratorHarness.IsSourceOf(t.FilePath, "Test.C"));
    }

    [Theory]
    [InlineData("h[t] = tanh(W @ [h[t-1], x[t]] + b)^[|0|]")]
    [InlineData("h[t] = tanh(W @ [h[t-1], x[t]] + b)^[|1.5|]")]
    [InlineData("h[t] = tanh(W @ [h[t-1], x[t]] + b)^[|17|]")]
    [InlineData("h[t] = tanh(W @ [h[t-1], x[t]] + b)^-[|b|]")]
    [InlineData("h[t] = tanh(W @ [h[t-1], x[t]] + b)^2[|^|]3")]
    [InlineData("h[t] = tanh(W @ [h[t-1], x[t]] + b)[|^|]")]
    public void CG0001_APowerTakesAWholeNumberFromOneToSixteen(string equation) => Expect("CG0001", CellSource(equation));

    [Fact]
    public void EveryMessageSaysMoreThanItsArgument()
    {
        foreach (DiagnosticDescriptor descriptor in CellGen.Generator.Language.Diagnostics.All)
            Assert.NotEqual("{0}", descriptor.MessageFormat.ToString());
    }

    [Fact]
    public void CG0024_EquationsWithoutRecurrentCell() =>
        Expect("CG0024", $"using CellGen;\nnamespace Test;\n\n[Equation(\"{Rnn}\")]\npublic partial class [|C|];\n", DiagnosticSeverity.Warning);

    [Fact]
    public void CG0007_AnExpressionLeftOfAt() =>
        Assert.Contains("'(u + 1)' is an expression", Expect("CG0007", CellSource("h[t] = tanh([|(u + 1)|] @ h[t-1] + U @ x[t])")).GetMessage());

    [Fact]
    public void CG0009_TheOutputWrittenWithoutTimeIndexSaysHowToWriteIt()
    {
        var result = GeneratorHarness.Run(CellSource("h = relu(W @ x[t])"));
        Diagnostic missing = Assert.Single(result.CellGenDiagnostics, d => d.Id == "CG0009");
        Assert.Contains("write 'h[t] = ...'", missing.GetMessage());
    }

    [Fact]
    public void CG0005_AnUnknownNameReadAtThisStepMayBeTheInput() =>
        Assert.Contains("set Input = \"u\"", Expect("CG0005", CellSource("h[t] = tanh(W @ [h[t-1], [|u[t]|]])")).GetMessage());

    [Fact]
    public void AStructIsOneCG0019() =>
        Assert.Single(GeneratorHarness.Run(Shaped("public partial struct C;")).CellGenDiagnostics, d => d.Id == "CG0019");

    [Fact]
    public void CG0001_UnexpectedToken() => Expect("CG0001", CellSource("h[t] = tanh(W @ [h[t-1], x[t]] + [|)|]"));

    [Fact]
    public void CG0001_UnexpectedCharacter() => Expect("CG0001", CellSource("h[t] = tanh(W @ [h[t-1], x[t]]) [|%|] 2"));

    [Fact]
    public void CG0001_BadTimeIndex() => Expect("CG0001", CellSource("h[t] = tanh(W @ [h[|[t+1]|], x[t]])"));

    [Fact]
    public void CG0001_StepBackNotWhole() => Expect("CG0001", CellSource("h[t] = tanh(W @ [h[t-1], x[|[t-1.5]|]])"));

    [Fact]
    public void CG0001_StepBackTooFar() => Expect("CG0001", CellSource("h[t] = tanh(W @ [h[t-1], x[t-[|20000|]]])"));

    [Fact]
    public void CG0001_NumberNotFiniteInFloat() => Expect("CG0001", CellSource("h[t] = tanh(W @ [h[t-1], x[t]]) * [|1e39|]"));

    [Fact]
    public void CG0021_StateReadTwoStepsBack() => Expect("CG0021", CellSource("h[t] = tanh(W @ [[|h[t-2]|], x[t]])"));

    [Fact]
    public void CG0022_TooFewArguments() => Expect("CG0022", CellSource("h[t] = [|max(W @ [h[t-1], x[t]])|]"));

    [Fact]
    public void CG0022_TooManyArguments() => Expect("CG0022", CellSource("h[t] = [|exp(W @ [h[t-1], x[t]], 1)|]"));

    [Fact]
    public void CG0001_MissingCloseParenthesisPointsAtTheEnd() => Expect("CG0001", CellSource("h[t] = tanh(W @ [h[t-1], x[t]][|]|]"));

    [Fact]
    public void CG0002_UnknownFunction() => Expect("CG0002", CellSource("h[t] = [|softmax|](W @ [h[t-1], x[t]])"));

    [Fact]
    public void CG0003_ReadBeforeItsEquation() =>
        Expect("CG0003", CellSource("a = sigmoid([|g|])", "g = tanh(W @ [h[t-1], x[t]])", "h[t] = a * g"));

    [Fact]
    public void CG0003_StateReadAtTBeforeItsEquation() =>
        Expect("CG0003", CellSource("h[t] = tanh(W @ [h[t-1], x[t]] + [|c[t]|])", "c[t] = h[t] * c[t-1]"));

    [Fact]
    public void CG0004_DefinedTwice() =>
        Expect("CG0004", CellSource("g = tanh(W @ [h[t-1], x[t]])", "[|g|] = sigmoid(V @ x[t])", "h[t] = g"));

    [Fact]
    public void CG0005_StateNeverUpdated() => Expect("CG0005", CellSource("h[t] = tanh(W @ [h[t-1], x[t]] + [|c[t-1]|])"));

    [Fact]
    public void CG0006_MatrixUsedAsVector() => Expect("CG0006", CellSource("h[t] = tanh(W @ [h[t-1], x[t]] + [|W|])"));

    [Fact]
    public void CG0007_StateLeftOfAt() => Expect("CG0007", CellSource("g = tanh(V @ x[t])", "h[t] = tanh([|g|] @ h[t-1])"));

    [Fact]
    public void CG0008_PartsChangeSizeBetweenUses() =>
        Expect("CG0008", CellSource("a = tanh(W @ [h[t-1], x[t]])", "h[t] = a * tanh([|W @ [x[t], h[t-1]]|])"));

    [Fact]
    public void CG0008_ConcatenationOutsideProduct() => Expect("CG0008", CellSource("h[t] = tanh(W @ x[t] + [|[h[t-1], b]|])"));

    [Fact]
    public void CG0009_OutputMissing() =>
        Expect("CG0009", "using CellGen;\nnamespace Test;\n[[|RecurrentCell|]]\n[Equation(\"s[t] = tanh(W @ [s[t-1], x[t]])\")]\npublic partial class C;\n");

    [Fact]
    public void CG0010_NotPartial() =>
        Expect("CG0010", $"using CellGen;\nnamespace Test;\n[RecurrentCell]\n[Equation(\"{Rnn}\")]\npublic class [|C|] {{ }}\n");

    [Fact]
    public void CG0011_Generic() =>
        Expect("CG0011", $"using CellGen;\nnamespace Test;\n[RecurrentCell]\n[Equation(\"{Rnn}\")]\npublic partial class [|C|]<T> {{ }}\n");

    [Fact]
    public void CG0012_NestedInNonPartialType() =>
        Expect("CG0012", $"using CellGen;\nnamespace Test;\npublic class Outer\n{{\n    [RecurrentCell]\n    [Equation(\"{Rnn}\")]\n    public partial class [|C|];\n}}\n");

    [Fact]
    public void CG0013_UnusedIntermediate()
    {
        Expect("CG0013", CellSource("[|u|] = sigmoid(V @ x[t])", Rnn), DiagnosticSeverity.Warning);
        // A warning does not stop the cell from being generated.
        var result = GeneratorHarness.Run(CellSource("u = sigmoid(V @ x[t])", Rnn));
        Assert.Contains(result.RunResult.GeneratedTrees, t => GeneratorHarness.IsSourceOf(t.FilePath, "Test.C"));
        Assert.Empty(result.CompileErrors);
    }

    [Fact]
    public void CG0014_UnusedInput() =>
        Expect("CG0014", "using CellGen;\nnamespace Test;\n[[|RecurrentCell|]]\n[Equation(\"h[t] = tanh(W @ h[t-1] + b)\")]\npublic partial class C;\n", DiagnosticSeverity.Warning);

    [Fact]
    public void CG0015_InputWithoutTimeIndex() => Expect("CG0015", CellSource("h[t] = tanh(W @ [h[t-1], [|x|]])"));

    [Fact]
    public void CG0016_InputAsAnEquationsValue() => Expect("CG0016", CellSource("h[t] = [|tanh(x[t])|]"));

    [Fact]
    public void CG0016_VectorUsedWithBothSizes() => Expect("CG0016", CellSource("h[t] = tanh(W @ h[t-1] + p * x[t] + U @ x[t] + [|p * h[t-1]|])"));

    [Fact]
    public void CG0017_NoEquations() => Expect("CG0017", "using CellGen;\nnamespace Test;\n[RecurrentCell]\npublic partial class [|C|];\n");

    [Fact]
    public void CG0018_InvalidInputName() =>
        Expect("CG0018", $"using CellGen;\nnamespace Test;\n[[|RecurrentCell(Input = \"1x\")|]]\n[Equation(\"{Rnn}\")]\npublic partial class C;\n");

    [Fact]
    public void CG0019_HasBaseClass() =>
        Expect("CG0019", $"using CellGen;\nnamespace Test;\n[RecurrentCell]\n[Equation(\"{Rnn}\")]\npublic partial class [|C|] : System.Exception;\n");

    [Fact]
    public void CG0020_NullEquation() =>
        Expect("CG0020", $"using CellGen;\nnamespace Test;\n[RecurrentCell]\n[Equation({"[|null|]"})]\n[Equation(\"{Rnn}\")]\npublic partial class C;\n");

    [Fact]
    public void CG0021_StateWithoutTimeIndex() => Expect("CG0021", CellSource("h[t] = tanh(W @ [[|h|], x[t]])"));

    private static string LayerSource(string members, params string[] equations) =>
        "using CellGen;\nnamespace Test;\n\n[Layer]\n" + string.Concat(equations.Select(e => $"[Equation(\"{e}\")]\n")) + "public partial class C" + members + "\n";

    [Fact]
    public void CG0021_ALayerReadsNoEarlierStep() =>
        Assert.Contains("a layer has no steps", Expect("CG0021", LayerSource(";", "u = relu(W @ x + b)", "y = W_2 @ [|u[t-1]|]")).GetMessage());

    [Fact]
    public void CG0021_ALayerWritesNoTimeIndexOnItsInput() => Expect("CG0021", LayerSource(";", "y = relu(W @ [|x[t]|])"));

    [Fact]
    public void CG0021_ALayerWritesNoTimeIndexOnItsTarget() => Expect("CG0021", LayerSource(";", "[|y[t]|] = relu(W @ x)"));

    [Fact]
    public void CG0009_ALayerWithoutItsOutputSaysHowToWriteIt()
    {
        var result = GeneratorHarness.Run(LayerSource(";", "z = relu(W @ x)"));
        Diagnostic missing = Assert.Single(result.CellGenDiagnostics, d => d.Id == "CG0009");
        Assert.Contains("'y'", missing.GetMessage());
        Assert.DoesNotContain("[t]", missing.GetMessage());
    }

    [Fact]
    public void CG0016_ALayerChecksSizesAsACellDoes() =>
        Expect("CG0016", "using CellGen;\nnamespace Test;\n[Layer]\n[Equation(\"u = W @ x\")]\n[Equation(\"y = [|u|]\")]\n[Size(\"u\", \"P\")]\npublic partial class C;\n");

    [Fact]
    public void CG0019_ALayerAndACellAtOnce() =>
        Expect("CG0019", "using CellGen;\nnamespace Test;\n[Layer]\n[RecurrentCell]\n[Equation(\"y = relu(x)\")]\npublic partial class [|C|];\n");

    [Fact]
    public void CG0019_ALayersOnCreatedThatIsNotThePartialHook() =>
        Assert.Contains("partial void OnCreated()", Expect("CG0019", LayerSource(" { public void [|OnCreated|]() { } }", "y = relu(x)")).GetMessage());

    [Fact]
    public void CG0019_ALayerMemberNamedAsTheNestedCell() => Expect("CG0019", LayerSource(" { private int [|Float32|]; }", "y = relu(x)"));

    [Fact]
    public void CG0019_ALayerDerivingFromAnotherClass() => Expect("CG0019", LayerSource(" : System.Exception { }", "y = relu(x)").Replace("class C", "class [|C|]"));

    [Fact]
    public void ALayersOnCreatedHookRunsAndItsSizesAreConstructorArguments()
    {
        var result = GeneratorHarness.Run(LayerSource(" { public static int Created; partial void OnCreated() { Created++; } }", "u = W @ x + b", "y = V @ sigmoid(u)")
            .Replace("[Layer]", "[Layer]\n[Size(\"u\", \"hidden\")]\n[Size(\"y\", \"outputs\")]"));
        Assert.Empty(result.CellGenDiagnostics);
        Assert.False(result.CompileErrors.Any(), string.Join("; ", result.CompileErrors));
        var type = result.Load().GetType("Test.C", throwOnError: true)!;
        var layer = (Layer)System.Activator.CreateInstance(type, 3, 7, 2)!;
        Assert.Equal(1, type.GetField("Created")!.GetValue(null));
        Assert.Equal((3, 2), (layer.InputSize, layer.OutputSize));
        Assert.Equal(new[] { 7, 3 }, layer.Cell.Parameter("W").Shape);
        Assert.Equal(new[] { 2, 7 }, layer.Cell.Parameter("V").Shape);
    }

    [Fact]
    public void SpansMapThroughEscapes() =>
        Expect("CG0002", "using CellGen;\nnamespace Test;\n[RecurrentCell]\n[Equation(\"h[t] = [|\\u0073oftmax|](W @ [h[t-1], x[t]])\")]\npublic partial class C;\n");

    [Fact]
    public void SpansMapInVerbatimStrings() =>
        Expect("CG0002", "using CellGen;\nnamespace Test;\n[RecurrentCell]\n[Equation(@\"h[t] = [|softmax|](W @ [h[t-1], x[t]])\")]\npublic partial class C;\n");

    [Fact]
    public void SpansMapInRawStrings() =>
        Expect("CG0002", "using CellGen;\nnamespace Test;\n[RecurrentCell]\n[Equation(\"\"\"h[t] = [|softmax|](W @ [h[t-1], x[t]])\"\"\")]\npublic partial class C;\n");

    [Fact]
    public void SpansMapInMultiLineRawStrings() =>
        Expect("CG0002", "using CellGen;\nnamespace Test;\n[RecurrentCell]\n[Equation(\"\"\"\n        h[t] = [|softmax|](W @ [h[t-1],\n            x[t]])\n        \"\"\")]\npublic partial class C;\n");

    [Fact]
    public void SpansMapInMultiLineRawStringsWithWindowsLineBreaks() =>
        Expect("CG0002", "using CellGen;\r\nnamespace Test;\r\n[RecurrentCell]\r\n[Equation(\"\"\"\r\n    h[t] = tanh(W @ [h[t-1],\r\n      x[t]]) + [|softmax|](b)\r\n    \"\"\")]\r\npublic partial class C;\r\n");

    [Fact]
    public void ConstantArgumentsPointAtTheArgument() =>
        Expect("CG0002", "using CellGen;\nnamespace Test;\n[RecurrentCell]\n[Equation([|C.Text|])]\npublic partial class C { public const string Text = \"h[t] = softmax(W @ [h[t-1], x[t]])\"; }\n");

    [Theory]
    [InlineData(LanguageVersion.CSharp12, true)]
    [InlineData(LanguageVersion.CSharp11, true)]
    [InlineData(LanguageVersion.CSharp13, false)]
    [InlineData(LanguageVersion.Default, false)]
    public void AProjectOnAnOlderCSharpGetsCG0025AtTheCellAndNoErrorInGeneratedCode(LanguageVersion version, bool tooOld)
    {
        var options = new CSharpParseOptions(version);
        var compilation = GeneratorHarness.Compilation().AddSyntaxTrees(CSharpSyntaxTree.ParseText(
            "using CellGen;\nnamespace Test;\n[RecurrentCell]\n[Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]\npublic partial class C;\n", options, "Cell.cs"));
        var driver = CSharpGeneratorDriver.Create(new[] { new CellGenerator().AsSourceGenerator() }, parseOptions: options)
            .RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out _);
        var diagnostics = GeneratorHarness.Analyze(compilation);
        Assert.Null(driver.GetRunResult().Results.Single().Exception);
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (tooOld)
        {
            Diagnostic cg0025 = Assert.Single(diagnostics, d => d.Id == "CG0025");
            Assert.Contains($"compiles C# {(int)version / 100}:", cg0025.GetMessage());
            Assert.Equal("Cell.cs", cg0025.Location.SourceTree?.FilePath);
            Assert.Empty(driver.GetRunResult().GeneratedTrees);
        }
        else
        {
            Assert.DoesNotContain(diagnostics, d => d.Id.StartsWith("CG", System.StringComparison.Ordinal));
            Assert.Empty(errors);
        }
    }
}
