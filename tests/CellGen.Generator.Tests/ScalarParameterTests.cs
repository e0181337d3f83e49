using System.Linq;
using System.Reflection;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>
/// Learnable scalars ([Size("a", "1")]): one value, broadcast over rows and features wherever it is used, its gradient
/// the sum over all of them. Finite differences in double and float against double, for a scalar read directly, through
/// functions of it alone (values per row), and in a layer.
/// </summary>
public sealed class ScalarParameterTests
{
    [Theory]
    [InlineData("h[t] = a * tanh(W @ [h[t-1], x[t]] + b) + (1 - a) * h[t-1]")]
    [InlineData("h[t] = tanh(W @ x[t] + sigmoid(a) * h[t-1])")]
    [InlineData("h[t] = exp(-softplus(a)) * h[t-1] + W @ x[t]", "c[t] = a + c[t-1] * a^2")]
    [InlineData("g = a * W @ x[t] + a", "h[t] = layernorm(g + h[t-1]) + mean(a * h[t-1])")]
    public void GradientsMatchFiniteDifferencesAndFloatMatchesDouble(params string[] equations)
    {
        string source = GeneratorHarness.Cell("C", equations).Replace("public partial class", "[Size(\"a\", \"1\")]\npublic partial class");
        var result = GeneratorHarness.Run(GeneratorHarness.Compilation(("C.cs", source)), emitFloat64: true);
        Assert.DoesNotContain(result.CellGenDiagnostics, d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error);
        Assert.Empty(result.CompileErrors);
        Assembly assembly = result.Load();
        var cell = (RecurrentCell<double>)assembly.GetType("Test.C+Float64", throwOnError: true)!.GetConstructors().Single().Invoke(new object[] { 4, 5 });
        Assert.Equal(1, cell.Parameter("a").Length);
        var report = GradientChecks.Check(cell, batch: 3, steps: 4, seed: 7);
        Assert.True(report.Failures.Count == 0, string.Join("\n", report.Failures));
        var single = (RecurrentCell<float>)assembly.GetType("Test.C", throwOnError: true)!.GetConstructors().Single().Invoke(new object[] { 4, 5 });
        // Batches of 3 and 6 take both step paths; 37 units run every lane width's tail.
        foreach ((int batch, int h) in new[] { (3, 5), (6, 37) })
        {
            var f = (RecurrentCell<float>)assembly.GetType("Test.C", throwOnError: true)!.GetConstructors().Single().Invoke(new object[] { 4, h });
            var d = (RecurrentCell<double>)assembly.GetType("Test.C+Float64", throwOnError: true)!.GetConstructors().Single().Invoke(new object[] { 4, h });
            var failures = GradientChecks.CompareSingleWithDouble(f, d, batch, 4, h);
            Assert.NotNull(failures);
            Assert.True(failures!.Count == 0, string.Join("\n", failures));
        }
        Assert.Equal(1, single.Parameter("a").Length);
    }

    [Fact]
    public void ALayerScales()
    {
        string source = "using CellGen;\nnamespace Test;\n[Layer]\n[Equation(\"y = a * x + b\")]\n[Size(\"a\", \"1\")]\npublic partial class C;\n";
        var result = GeneratorHarness.Run(GeneratorHarness.Compilation(("C.cs", source)), emitFloat64: true);
        Assert.Empty(result.CompileErrors);
        ConstructorInfo constructor = result.Load().GetType("Test.C+Float64", throwOnError: true)!.GetConstructors().Single();
        var cell = (RecurrentCell<double>)constructor.Invoke(constructor.GetParameters().Select(_ => (object)6).ToArray()); // a layer's cell: X = H
        Assert.Equal(1, cell.Parameter("a").Length);
        Assert.Equal(6, cell.Parameter("b").Length);
        var report = GradientChecks.Check(cell, batch: 5, steps: 1, seed: 3, entriesPerTensor: 12);
        Assert.True(report.Failures.Count == 0, string.Join("\n", report.Failures));
    }
}
