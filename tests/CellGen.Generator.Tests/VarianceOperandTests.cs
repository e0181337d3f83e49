using System.Linq;
using System.Reflection;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>
/// The operand of a variance (layernorm's) that is a sum or a negation: the backward sweeps recompute such values in
/// registers, but the variance's gradient instruction reads the operand's buffer, which once held only the last step
/// (found by the random cells: gradients of earlier steps read the last step's values). Finite differences in double.
/// </summary>
public sealed class VarianceOperandTests
{
    [Theory]
    [InlineData("h[t] = p * h[t-1]", "c[t] = layernorm(-h[t-1]) - c[t-1] + W @ x[t]")]
    [InlineData("h[t] = p * h[t-1]", "c[t] = layernorm(h[t-1] - c[t-1]) + W @ x[t]")]
    [InlineData("h[t] = p * h[t-1]", "c[t] = layernorm(1 - h[t-1]) + c[t-1] + W @ x[t]")]
    [InlineData("h[t] = (0.5 - softsign(p)) * abs(h[t-1])", "c[t] = 0.25 * layernorm(-h[t-1]) + (h[t-1] - c[t-1]) + W @ x[t]")]
    public void GradientsMatchFiniteDifferences(params string[] equations)
    {
        var result = GeneratorHarness.Run(GeneratorHarness.Compilation(("C.cs", GeneratorHarness.Cell("C", equations))), emitFloat64: true);
        Assert.Empty(result.CompileErrors);
        ConstructorInfo constructor = result.Load().GetType("Test.C+Float64", throwOnError: true)!.GetConstructors().Single();
        var cell = (RecurrentCell<double>)constructor.Invoke(new object[] { 3, 4 });
        var report = GradientChecks.Check(cell, batch: 2, steps: 4, seed: 1);
        Assert.True(report.Failures.Count == 0, string.Join("\n", report.Failures));
        Assert.True(report.Checked >= 20, $"only {report.Checked} probes");
    }
}
