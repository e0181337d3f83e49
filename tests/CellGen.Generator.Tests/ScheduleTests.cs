using System.Linq;
using System.Text.RegularExpressions;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>Where the schedule puts elementwise work: as few sweeps, and as few buffers between them, as the products allow.</summary>
public sealed class ScheduleTests
{
    private static string Generate(params string[] equations) => Generate(false, equations);

    private static string Generate(bool emitFloat64, params string[] equations)
    {
        var result = GeneratorHarness.Run(GeneratorHarness.Cell("C", equations), emitFloat64);
        Assert.Empty(result.CellGenDiagnostics);
        Assert.Empty(result.CompileErrors);
        return result.Source("Test.C");
    }

    private static int ForwardSweeps(string source) => Regex.Matches(source, @"private ref struct StepForward\d").Count;

    [Fact]
    public void AValueOfTheStatesAloneJoinsTheSweepThatReadsIt()
    {
        // p * c[t-1] could run before the product; alone there, it would take a sweep and a buffer of its own.
        string source = Generate(
            "a    = sigmoid(W_a @ [h[t-1], x[t]] + p * c[t-1] + b_a)",
            "c[t] = a * c[t-1]",
            "h[t] = tanh(c[t])");
        Assert.Equal(1, ForwardSweeps(source));
        Assert.DoesNotContain("kept for a later stage", source);
    }

    [Fact]
    public void AValueAProductReadsStaysBeforeThatProduct()
    {
        // r * h[t-1] is the operand of W_n's product, so r needs a sweep before it; z, read only after it, joins the last one.
        string source = Generate(
            "z    = sigmoid(W_z @ [h[t-1], x[t]] + b_z)",
            "r    = sigmoid(W_r @ [h[t-1], x[t]] + b_r)",
            "n    = tanh(W_n @ [r * h[t-1], x[t]] + b_n)",
            "h[t] = (1 - z) * h[t-1] + z * n");
        Assert.Equal(2, ForwardSweeps(source));
        string first = Regex.Match(source, @"Forward sweep 0 [^\n]*").Value, last = Regex.Match(source, @"Forward sweep 1 [^\n]*").Value;
        Assert.EndsWith(": r.</summary>", first);
        Assert.EndsWith(": z, n, h[t].</summary>", last);
    }

    [Fact]
    public void AStepsProductAndTheSweepAfterItRunFusedInSinglePrecision()
    {
        // The Float64 variant, for verification, keeps the two apart: the fused path exists for floats only.
        string source = Generate(true, "h[t] = tanh(W @ [h[t-1], x[t]] + b)");
        Assert.Single(Regex.Matches(source, @"Gemm\.ForwardOntoThenSweep\("));
        Assert.Single(Regex.Matches(source, @"Gemm\.Forward<double>\(PreviousState"));
        Assert.Contains("Elementwise.ForEach64(ref kStepForward0", source);
        // Apart, the double sweep adds the two products itself.
        Assert.Contains("V W_sum = W_h_prev + W_x;", source);
    }

    [Theory]
    [InlineData("h[t] = tanh(W @ [h[t-1], x[t]] + b)")]
    [InlineData("h[t] = tanh(W @ h[t-1] + U @ x[t] + p * h[t-1] + b)")] // a third term stays in the sum
    public void AStepsProductOnlyAddedToTheInputsAddsItselfOntoIt(string equation)
    {
        // In the loop, W h[t-1] goes into the input's product's rows of the step; the sweep loads the sum, and the step's
        // product has no buffer of its own.
        string source = Generate(equation);
        Assert.Single(Regex.Matches(source, @"Gemm\.ForwardOntoThenSweep\(PreviousState\(0, t\), H, _cell\._weights0, _weights0Packed, _product1\.AsSpan\(t \* B \* H, B \* H\), H,"));
        Assert.DoesNotMatch(@"(?<!d)_product0\b", source);
        Assert.Contains("added by the step's product", source.Replace("added up by", "added by"));
    }

    [Theory]
    [InlineData("h[t] = tanh(W @ h[t-1] - U @ x[t] + b)")]                               // the input's product is subtracted
    [InlineData("h[t] = tanh(W @ h[t-1] + u * (U @ x[t] + b))")]                         // ... scaled
    [InlineData("h[t] = tanh(u * (W @ h[t-1]) + U @ x[t] + b)")]                         // the step's product is scaled
    [InlineData("h[t] = tanh(W @ h[t-1] + U @ x[t] + b) * sigmoid(W @ h[t-1])")]         // ... read by another value too
    [InlineData("h[t] = tanh(W @ h[t-1] + b_w + U @ x[t] + r * (V @ h[t-1] + b_v))")]    // two step products in one: the second has a bias
    [InlineData("h[t] = tanh(W @ h[t-1] + U @ x[t] + b) + (W @ h[t-1]) * (W @ h[t-1])")] // its value is needed by the backward pass
    public void AStepsProductThatIsNotOnlyAddedToTheInputsKeepsItsOwnOutput(string equation)
    {
        string source = Generate(equation);
        Assert.DoesNotContain("ForwardOntoThenSweep", source);
        Assert.Contains("Gemm.ForwardThenSweep(", source);
    }

    [Fact]
    public void ProductsWhoseGradientsAreEqualShareOneBuffer()
    {
        // W @ [h[t-1], x[t]] + b is two products, in the loop and before it; the sum passes its gradient to both as it is.
        string source = Generate("h[t] = tanh(W @ [h[t-1], x[t]] + b)");
        Assert.Contains("_d_product0; // [T * B, H] gradient of product0 and product1, which are equal", source);
        Assert.DoesNotContain("_d_product1", source);
        Assert.Single(Regex.Matches(source, @"V\.Store\([^,]+, _d_product0,"));
        Assert.Contains("is the same: product1 shares product0's gradient", source);
    }

    [Theory]
    [InlineData("h[t] = tanh(W @ h[t-1] - U @ x[t] + b)")]                  // the second product's gradient is negated
    [InlineData("h[t] = tanh(W @ h[t-1] + u * (U @ x[t] + b))")]             // the second product's gradient is scaled
    public void ProductsWhoseGradientsDifferKeepTheirOwn(string equation)
    {
        string source = Generate(equation);
        Assert.Contains("_d_product0; // [T * B, H] gradient\n", source.Replace("\r\n", "\n"));
        Assert.Contains("_d_product1; // [T * B, H] gradient\n", source.Replace("\r\n", "\n"));
    }
}
