using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>
/// Declarations a user can write, crossed: class shapes, names, namespaces and equation shapes. Each gives code that
/// compiles or at least one CG error; never a crash of the generator (CS8785), an internal error (CG0099), an error in
/// generated code, or a stack overflow; and a good cell beside it is always generated.
/// </summary>
[Trait("Category", "Slow")] // out of the daily loop (dotnet test --filter "Category!=Slow"); CI runs it
public sealed class TortureTests
{
    private const string Rnn = "h[t] = tanh(W @ [h[t-1], x[t]] + b)";

    private static string Cell(string equation = Rnn) => $"[RecurrentCell]\n[Equation(\"{equation}\")]\n";

    /// <summary>(name, source): each a whole file.</summary>
    public static IEnumerable<object[]> Declarations()
    {
        var cases = new List<(string, string)>();
        string[] shapes =
        {
            "public partial class C;", "public sealed partial class C;", "public abstract partial class C;", "internal partial class C;",
            "public static partial class C;", "file partial class C;", "public partial record C;", "public partial record struct C;",
            "public partial struct C;", "public partial class C(string label) { public string Label => label; }",
            "public partial class C { public C(int a, int b) : base(a, b) { } }",
            "public partial class C { public C(string size) : this(int.Parse(size), 2) { } }",
            "public partial class C<T>;", "public partial class C : System.IDisposable { public void Dispose() { } }",
            "public partial class C : System.Exception;", "public partial class C : RecurrentCell<double>;", "public partial class C : RecurrentCell<float>;",
            "public partial interface C;", "public partial class C { private int Runner; private int _weights0; private int s_equations; private int StepForward0; private class InputForward0 { } }",
            "public partial class C { public const string Text = \"" + Rnn + "\"; }",
        };
        foreach (string shape in shapes) cases.Add(($"shape: {shape}", "using CellGen;\nnamespace N;\n" + Cell() + shape));
        string[] outers = { "partial class O", "partial struct O", "partial record O", "partial record struct O", "class O", "partial class O<T>", "static partial class O", "partial interface O",
            "ref partial struct O", "readonly partial struct O", "readonly partial record struct O", "unsafe partial class O", "abstract partial class O", "sealed partial class O",
            "internal partial class O", "file partial class O", "partial record class O" };
        foreach (string outer in outers)
            cases.Add(($"nested in {outer}", "using CellGen;\nnamespace N;\n" + outer + "\n{\n" + Cell() + "public partial class C;\n}"));
        cases.Add(("nested twice", "using CellGen;\nnamespace N;\npartial class A { partial struct B {\n" + Cell() + "public partial class C; } }"));
        foreach (string name in new[] { "@class", "@event", "Runner", "Float64", "Equations", "StateNames", "CreateRunner", "Parameters", "B", "H", "X", "Zelle", "Ünit", "_", "Cell1" })
        {
            cases.Add(($"class {name}", "using CellGen;\nnamespace N;\n" + Cell() + $"public partial class {name};"));
            cases.Add(($"class {name}, Float64", "//float64\nusing CellGen;\nnamespace N;\n" + Cell() + $"public partial class {name};"));
        }
        foreach (string ns in new[] { "", "namespace A.B;", "namespace A.B { ", "namespace MyApp.@event;", "namespace @class.@struct;", "namespace Ünicode;" })
            cases.Add(($"namespace '{ns}'", "using CellGen;\n" + ns + "\n" + Cell() + "public partial class C;" + (ns.EndsWith("{ ") ? "\n}" : "")));
        // Names of generated members, and keywords, for the pieces the generator names after the equations.
        foreach (string name in new[] { "Runner", "B", "H", "X", "row", "j", "V", "Record", "steps", "t", "slot", "_cell", "@int", "@class", "weights0Packed", "product0", "d_h", "mean_g", "size_P",
            "var", "record", "nameof", "value", "global", "dynamic", "await", "yield", "field", "scoped", "args", "unmanaged", "when", "kStepForward0", "StepForward0", "System", "CellGen", "Math" })
        {
            string id = name.TrimStart('@');
            cases.Add(($"intermediate {name}", "using CellGen;\nnamespace N;\n[RecurrentCell]\n[Equation(\"" + id + " = tanh(W @ [h[t-1], x[t]] + b)\")]\n[Equation(\"h[t] = " + id + " * h[t-1] + mean(" + id + ")\")]\npublic partial class C;"));
        }
        foreach (string size in new[] { "P", "Q", "@int", "size_P", "B", "X", "hiddenSize", "_p", "Größe" })
            cases.Add(($"declared size {size}", "using CellGen;\nnamespace N;\n[RecurrentCell(Output = \"r\")]\n[Equation(\"c[t] = tanh(W @ [r[t-1], x[t]] + b)\")]\n[Equation(\"r[t] = W_r @ c[t]\")]\n[Size(\"r\", \"" + size.TrimStart('@') + "\")]\npublic partial class C;"));
        // Issue 25: declarations that crashed the generator or gave generated code that does not compile.
        foreach (string escape in new[] { "\\U0000D800", "\\uDC00", "\\U0001F600", "\\xD800", "\\U00110000", "\\u12", "\\U0000d83d\\U0000de00" })
            cases.Add(($"escape {escape}", "using CellGen;\nnamespace N;\n" + Cell("h[t] = tanh(W @ [h[t-1], x[t]] + b)" + escape) + "public partial class C;"));
        cases.Add(("cells differing by case", "using CellGen;\nnamespace N;\n" + Cell() + "public partial class Cell;\n" + Cell() + "public partial class cell;\n" + Cell() + "public partial class CELL;"));
        cases.Add(("namespaces differing by case", "using CellGen;\nnamespace A {\n" + Cell() + "public partial class C; }\nnamespace a {\n" + Cell() + "public partial class C; }"));
        cases.Add(("namespace and class of one dotted name", "using CellGen;\nnamespace N.C {\n" + Cell() + "public partial class X; }\nnamespace N { public partial class C {\n" + Cell() + "public partial class X; } }"));
        cases.Add(("a class and a lower-case namespace of its name", "using CellGen;\nnamespace N {\n" + Cell() + "public partial class C; }\nnamespace n.c {\n" + Cell() + "public partial class c; }"));
        cases.Add(("namespace and class differing by case", "using CellGen;\nnamespace N.c {\n" + Cell() + "public partial class X; }\nnamespace N { public partial class C {\n" + Cell() + "public partial class x; } }"));
        foreach (string type in new[] { "public class var { }", "public class Span<T> { }", "public class ReadOnlySpan<T> { }", "public class Math { }", "public class MathF { }",
            "public class Array { }", "public class Buffer { }", "public class String { }", "public class Single { }", "public class CellGen { }", "public class System { }",
            "public class Vector<T> { }", "public class Runner { }", "public class ArgumentException { }", "public static class MemoryExtensions { }", "public class dynamic { }",
            "public class StepForward0 { }", "public class V { }", "public class ParameterBlock<T> { }", "public class IReadOnlyList<T> { }" })
            cases.Add(($"a type of the user's: {type}", "using CellGen;\nnamespace N;\n" + type + "\n" + Cell() + "public partial class C;"));
        foreach (string keyword in new[] { "record", "var", "dynamic", "nameof", "async", "await", "required", "scoped", "file", "value", "unmanaged", "notnull", "partial", "when", "with", "init", "and", "or", "not", "managed", "args", "allows", "extension", "yield", "global", "select", "where" })
        {
            cases.Add(($"class @{keyword}", "using CellGen;\nnamespace N;\n" + Cell() + $"public partial class @{keyword};"));
            cases.Add(($"namespace @{keyword}", $"using CellGen;\nnamespace @{keyword}.@{keyword};\n" + Cell() + "public partial class C;"));
            cases.Add(($"nested in @{keyword}", "using CellGen;\nnamespace N;\n" + $"public partial class @{keyword} {{\n" + Cell() + "public partial class C; }"));
        }
        // Members of the user's named as the base class's members that the generated code calls or overrides.
        foreach (string member in new[] { "public int AddParameter;", "public int AllocateStorage;", "public int ResetParameters;", "public const int MaxSize = 3;",
            "public int DeclareSizes;", "public int Parameter;", "public new int HiddenSize;", "public new int InputSize;", "public int Equations;", "public int OutputName;",
            "public int CreateRunner;", "public int StateNames;", "public int Parameters;", "private class Runner { }", "private static void AddParameter(int a) { }",
            "public int X, H, B;", "public static int s_states;", "private class StepBackward0 { }", "private int _cell;" })
            cases.Add(($"member {member}", "using CellGen;\nnamespace N;\n" + Cell() + "public partial class C { " + member + " }"));
        foreach ((string input, string output) in new[] { ("record", "var"), ("var", "value"), ("args", "global"), ("nameof", "await"), ("System", "CellGen") })
            cases.Add(($"Input {input}, Output {output}", $"using CellGen;\nnamespace N;\n[RecurrentCell(Input = \"{input}\", Output = \"{output}\")]\n[Equation(\"{output}[t] = tanh(W @ [{output}[t-1], {input}[t]] + b)\")]\npublic partial class C;"));
        foreach (string parameter in new[] { "var", "record", "global", "System", "value", "nameof" })
            cases.Add(($"parameters {parameter}", $"using CellGen;\nnamespace N;\n" + Cell($"h[t] = tanh({parameter} @ [h[t-1], x[t]] + {parameter}_b) * {parameter}_g") + "public partial class C;"));
        cases.Add(("[RecurrentCell] on two parts", "using CellGen;\nnamespace N;\n" + Cell() + "public partial class C;\n[RecurrentCell]\npublic partial class C;"));
        cases.Add(("[Equation] without [RecurrentCell]", "using CellGen;\nnamespace N;\n[Equation(\"" + Rnn + "\")]\npublic partial class C;"));
        // Layers ([Layer]): the same crossings where they differ from a cell's, and the names a layer's generated part uses.
        string layer = "[Layer]\n[Equation(\"y = tanh(W @ x + b)\")]\n";
        foreach (string shape in new[] { "public partial class C;", "public partial class C : Layer;", "public partial class C : RecurrentCell<float>;", "public class C { }",
            "public partial struct C;", "public partial record C;", "public static partial class C;", "public partial class C<T>;", "public partial class C(int size);",
            "public partial class C { partial void OnCreated() { } }", "public partial class C { void OnCreated() { } }", "public partial class C { public void OnCreated() { } }",
            "public partial class C { partial void OnCreated(); }", "public partial class C { private int OnCreated; }", "public partial class C { public C(int size) : base(null!) { } }",
            "public partial class C { public C(string size) : this(int.Parse(size)) { } }", "public partial class C { private int Float32; }", "public partial class C { private int Float64; }",
            "public partial class C { protected override void Initialized() { } }", "public partial class C { public new int Cell; public new int InputSize; private int ResetParameters; }" })
            cases.Add(($"layer shape: {shape}", "using CellGen;\nnamespace N;\n" + layer + shape));
        foreach (string outer in new[] { "partial class O", "partial struct O", "partial record O", "class O", "partial class O<T>", "static partial class O" })
            cases.Add(($"layer nested in {outer}", "using CellGen;\nnamespace N;\n" + outer + "\n{\n" + layer + "public partial class C;\n}"));
        foreach (string name in new[] { "@class", "Float32", "Float64", "Layer", "Module", "Cell", "Runner", "Initialized", "OnCreated", "Ünit" })
        {
            cases.Add(($"layer {name}", "using CellGen;\nnamespace N;\n" + layer + $"public partial class {name};"));
            cases.Add(($"layer {name}, Float64", "//float64\nusing CellGen;\nnamespace N;\n" + layer + $"public partial class {name};"));
        }
        foreach (string ns in new[] { "", "namespace @class.@struct;", "namespace CellGen.Layers;" })
            cases.Add(($"layer in namespace '{ns}'", "using CellGen;\n" + ns + "\n" + layer + "public partial class C;"));
        foreach ((string input, string output) in new[] { ("h", "z"), ("var", "value"), ("y", "x"), ("x", "x"), ("record", "global"), ("", "y") })
            cases.Add(($"layer Input {input}, Output {output}", $"using CellGen;\nnamespace N;\n[Layer(Input = \"{input}\", Output = \"{output}\")]\n[Equation(\"{output} = tanh(W @ {input} + b)\")]\npublic partial class C;"));
        foreach (string size in new[] { "inputSize", "hidden", "@int", "X", "H", "out" })
            cases.Add(($"layer size {size}", "using CellGen;\nnamespace N;\n[Layer]\n[Equation(\"u = relu(W @ x)\")]\n[Equation(\"y = V @ u\")]\n[Size(\"u\", \"" + size.TrimStart('@') + "\")]\npublic partial class C;"));
        foreach (string equation in new[] { "y = x", "y = 2", "y = x[t]", "y[t] = x", "y = x + y", "y = W @ y", "y = W @ [x, x]", "y = mean(x)", "y = layernorm(x) * 0", "u = x\")]\n[Equation(\"y = u[t-1]",
            "y = x[t-1]", "y = h[t-1] * x", "y = max(x, 0) + min(x, 0)", "y = W @ x\")]\n[Equation(\"y = V @ x" })
            cases.Add(($"layer equation: {equation}", "using CellGen;\nnamespace N;\n[Layer]\n[Equation(\"" + equation + "\")]\npublic partial class C;"));
        cases.Add(("[Layer] and [RecurrentCell]", "using CellGen;\nnamespace N;\n" + layer + "[RecurrentCell]\npublic partial class C;"));
        cases.Add(("[Layer] on two parts", "using CellGen;\nnamespace N;\n" + layer + "public partial class C;\n[Layer]\npublic partial class C;"));
        cases.Add(("a layer and a cell of one name in two namespaces", "using CellGen;\nnamespace A {\n" + layer + "public partial class C; }\nnamespace B {\n" + Cell() + "public partial class C; }"));
        string[] equations =
        {
            "", "   ", "h[t] = tanh(W @ [h[t-1],\\rx[t]] + b)", "h[t] = tanh(W @ [h[t-1],\\u2028x[t]] + b)", "h[t] = tanh(W @ [h[t-1],\\u2029x[t]] + b)\\u0085",
            "h[t] = tanh(W @ [h[t-1], x[t]] + b) * 1e39", "h[t] = tanh(W @ [h[t-1], x[t]] + b) * (1e38 * 1e38)", "h[t] = tanh(W @ [h[t-1], x[t]] + b) + log(0)",
            "h[t] = tanh(W @ [h[t-1], x[t]] + b) * (1 / 0)", "weights0Packed = tanh(W @ [h[t-1], x[t]])\")]\n[Equation(\"h[t] = weights0Packed * 2",
            "h[t] = tanh(W @ [h[t-1], x[t]] + " + string.Join(" + ", Enumerable.Range(0, 6000).Select(i => "b" + i)) + ")",
            "h[t] = " + new string('-', 5000) + "tanh(W @ [h[t-1], x[t]])",
            "h[t] = tanh(W @ [h[t-1], x[t]] + " + new string('(', 10000) + "b" + new string(')', 10000) + ")",
            "h[t] = " + string.Concat(Enumerable.Repeat("tanh(", 1000)) + "W @ [h[t-1], x[t]]" + new string(')', 1000),
            "h[t] = tanh(W @ [h[t-1], x[t]] + " + string.Join(" + ", Enumerable.Range(0, 150).Select(i => $"p{i} * h[t-1]")) + ")",
            "h[t] = tanh(W @ [h[t-1], x[t]] + b) + " + new string('x', 100_000),
        };
        foreach (string equation in equations)
            cases.Add(($"equation of {equation.Length} characters: {(equation.Length > 60 ? equation.Substring(0, 60) : equation)}", "using CellGen;\nnamespace N;\n" + Cell(equation) + "public partial class C;"));
        return cases.Select(c => new object[] { c.Item1, c.Item2 });
    }

    private const string Good = "using CellGen;\nnamespace Good;\n[RecurrentCell]\n[Equation(\"" + Rnn + "\")]\npublic partial class GoodCell;\n";

    [Theory]
    [MemberData(nameof(Declarations))]
    public void CompilesOrIsDiagnosedAndNeverTakesAnotherCellDown(string name, string source)
    {
        var result = GeneratorHarness.Run(GeneratorHarness.Compilation(("Cell.cs", source), ("Good.cs", Good)), emitFloat64: source.StartsWith("//float64"));
        Assert.Null(result.GeneratorException);
        Assert.Empty(result.Crashes);
        var generated = result.RunResult.GeneratedTrees.Select(t => t.FilePath).ToHashSet();
        var errors = result.CompileErrors;
        Assert.True(!errors.Any(e => e.Location.SourceTree is { } tree && generated.Contains(tree.FilePath)),
            $"{name}: an error in generated code: {string.Join("\n", errors.Where(e => e.Location.SourceTree is { } t && generated.Contains(t.FilePath)).Take(3))}");
        bool cellGenError = result.CellGenDiagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
        bool userError = errors.Any(e => e.Location.SourceTree?.FilePath == "Cell.cs");
        Assert.True(cellGenError || !userError || IsTheUsersOwnMistake(errors), $"{name}: errors without a CG error: {string.Join("\n", errors.Take(3))}");
        Assert.Contains(generated, path => GeneratorHarness.IsSourceOf(path, "Good.GoodCell"));
        Assert.DoesNotContain(errors, e => e.Location.SourceTree?.FilePath == "Good.cs");
    }

    /// <summary>Errors C# itself reports about what the user wrote, that CellGen need not repeat (a duplicate attribute, a class deriving from Exception, a namespace and a class of one name).</summary>
    private static bool IsTheUsersOwnMistake(IEnumerable<Diagnostic> errors) => errors.All(e => e.Id is "CS0579" or "CS0263" or "CS0101");

    /// <summary>
    /// Issue 14, item 4: the generated code grew quadratically (a sum of 3,000 terms gave 71 MB, 1,000 nested tanh 19 MB,
    /// one derivative comment per term repeating the whole expression). Four times the equation, at most about four
    /// times the code (one or two equations of the sizes that the parser accepts).
    /// </summary>
    [Theory]
    [InlineData("sum")]
    [InlineData("nested")]
    [InlineData("products")]
    public void GeneratedCodeGrowsLinearlyWithTheEquation(string shape)
    {
        string Equation(int n) => shape switch
        {
            "sum" => "h[t] = tanh(W @ [h[t-1], x[t]] + " + string.Join(" + ", Enumerable.Range(0, n).Select(i => "b" + i)) + ")",
            "nested" => "h[t] = " + string.Concat(Enumerable.Repeat("tanh(", n)) + "W @ [h[t-1], x[t]]" + new string(')', n),
            _ => "h[t] = tanh(W @ [h[t-1], x[t]] + " + string.Join(" + ", Enumerable.Range(0, n).Select(i => $"p{i} * h[t-1]")) + ")",
        };
        long Size(int n)
        {
            var result = GeneratorHarness.Run("using CellGen;\nnamespace N;\n" + Cell(Equation(n)) + "public partial class C;");
            Assert.DoesNotContain(result.CellGenDiagnostics, d => d.Severity == DiagnosticSeverity.Error);
            return result.RunResult.GeneratedTrees.Sum(t => (long)t.Length);
        }
        int n = shape == "nested" ? 24 : 100; // nesting stops at 100 levels (CG0001)
        long small = Size(n), large = Size(4 * n);
        Assert.True(large <= 4.5 * small, $"{shape}: {small} characters for {n} terms, {large} for {4 * n} ({(double)large / small:F2} times)");
    }

    [Fact]
    public void ThereAreAtLeastAHundredDeclarations() => Assert.True(Declarations().Count() >= 100, $"{Declarations().Count()} declarations");
}
