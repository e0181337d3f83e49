// A tour of CellGen: declare a cell, run a batch of sequences forward and backward, and check one gradient
// against a finite difference.
using System;
using System.Diagnostics;
using System.Linq;
using CellGen;
using CellGen.Cells;

const int inputSize = 8, hiddenSize = 16, batch = 4, steps = 20;
var random = new Random(7);

// A cell of our own: a minimal gated unit, in the paper's notation.
var cell = new MinimalGatedUnit(inputSize, hiddenSize);
foreach (Parameter<float> parameter in cell.Parameters)
    parameter.CopyFrom(Enumerable.Range(0, parameter.Length).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray());

Console.WriteLine("Equations of MinimalGatedUnit:");
foreach (string equation in cell.Equations) Console.WriteLine("  " + equation);
Console.WriteLine("Parameters: " + string.Join(", ", cell.Parameters.Select(p => $"{p.Name} [{string.Join(", ", p.Shape)}]")));

var runner = cell.CreateRunner(steps, batch);
float[] inputs = Enumerable.Range(0, steps * batch * inputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
var outputs = new float[steps * batch * hiddenSize];
float[] outputGradients = Enumerable.Range(0, outputs.Length).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();

// L = sum over t of <outputGradients[t], h[t]>: dL/dh[t] is outputGradients[t].
double Loss()
{
    runner.Forward(inputs, batch, default, outputs, default);
    return outputs.Select((h, i) => (double)h * outputGradients[i]).Sum();
}

var clock = Stopwatch.StartNew();
runner.ForwardTraining(inputs, batch, default, outputs, default);
cell.ZeroGradients();
runner.Backward(outputGradients, default, default, default);
Console.WriteLine($"Forward and backward over {batch} sequences of {steps} steps: {clock.Elapsed.TotalMilliseconds:F2} ms (first call, includes JIT)");

Parameter<float> w = cell.Parameter("W_f");
float[] values = w.ToArray();
float analytic = w.GradientToArray()[5];
const float epsilon = 1e-2f;
values[5] += epsilon; w.CopyFrom(values); double plus = Loss();
values[5] -= 2 * epsilon; w.CopyFrom(values); double minus = Loss();
values[5] += epsilon; w.CopyFrom(values);
double numeric = (plus - minus) / (2 * epsilon);
Console.WriteLine($"dL/dW_f[0, 5]: backward pass {analytic:F5}, finite difference {numeric:F5}");

// The built-in cells are declared with the same equations a user would write.
var lstm = new Lstm(inputSize, hiddenSize);
Console.WriteLine($"Lstm: states {string.Join(", ", lstm.StateNames)}; parameters {string.Join(", ", lstm.Parameters.Select(p => p.Name))}");
return Math.Abs(analytic - numeric) <= 1e-2 * Math.Max(1, Math.Abs(numeric)) ? 0 : 1;

/// <summary>The minimal gated unit (Zhou et al. 2016): one forget gate that also resets.</summary>
[RecurrentCell]
[Equation("f    = σ(W_f · [h[t-1], x[t]] + b_f)")]
[Equation("n    = tanh(W_n · [f ⊙ h[t-1], x[t]] + b_n)")]
[Equation("h[t] = (1 - f) ⊙ h[t-1] + f ⊙ n")]
public partial class MinimalGatedUnit;
