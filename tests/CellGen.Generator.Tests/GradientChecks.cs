using System;
using System.Collections.Generic;
using System.Linq;

namespace CellGen.Generator.Tests;

/// <summary>
/// Finite-difference checks of a cell's backward pass in double precision: L = Σ &lt;G, outputs&gt; + Σ &lt;F, final states&gt;,
/// central differences against the gradients of parameters, inputs and initial states.
/// </summary>
public static class GradientChecks
{
    public const double Epsilon = 1e-6, Absolute = 1e-6, Relative = 1e-5;

    public sealed record Report(int Checked, int Kinks, List<string> Failures);

    private static double[] RandomArray(Random random, int length, double scale) =>
        Enumerable.Range(0, length).Select(_ => (random.NextDouble() * 2 - 1) * scale).ToArray();

    public static Report Check(RecurrentCell<double> cell, int batch, int steps, int seed, int entriesPerTensor = 6)
    {
        var random = new Random(seed);
        foreach (Parameter<double> parameter in cell.Parameters) parameter.CopyFrom(RandomArray(random, parameter.Length, 0.5));
        int x = cell.InputSize, o = cell.OutputSize, states = cell.StateValues(batch);
        double[] inputs = RandomArray(random, steps * batch * x, 1);
        double[] initial = RandomArray(random, states, 0.5);
        double[] outputGradients = RandomArray(random, steps * batch * o, 1);
        double[] finalGradients = RandomArray(random, states, 1);
        // A runner with room for a step and a sequence more, every buffer filled by a full call first: each check also
        // runs a batch smaller than its runner's, where a kernel reading past the call's rows would read stale values.
        var runner = cell.CreateRunner(steps + 1, batch + 1);
        var other = new Random(seed + 1);
        runner.ForwardTraining(RandomArray(other, (steps + 1) * (batch + 1) * x, 1), batch + 1, RandomArray(other, cell.StateValues(batch + 1), 1),
            new double[(steps + 1) * (batch + 1) * o], default);
        runner.Backward(RandomArray(other, (steps + 1) * (batch + 1) * o, 1), RandomArray(other, cell.StateValues(batch + 1), 1), default, default);
        var outputs = new double[steps * batch * o];
        var final = new double[states];

        // A cell with dropouts is checked in training, its masks drawn again from the same seed for every pass: the
        // gradient is the one of the masked step, and inference (p or 1 in place of the masks) is another function.
        bool training = cell.Dropouts.Count > 0;
        double Loss()
        {
            if (training)
            {
                ReseedDropouts(cell, seed);
                runner.ForwardTraining(inputs, batch, initial, outputs, final);
            }
            else runner.Forward(inputs, batch, initial, outputs, final);
            double loss = 0;
            for (int i = 0; i < outputs.Length; i++) loss += outputs[i] * outputGradients[i];
            for (int i = 0; i < final.Length; i++) loss += final[i] * finalGradients[i];
            return loss;
        }

        ReseedDropouts(cell, seed);
        runner.ForwardTraining(inputs, batch, initial, outputs, final);
        cell.ZeroGradients();
        var inputGradients = new double[inputs.Length];
        var initialGradients = new double[initial.Length];
        runner.Backward(outputGradients, finalGradients, inputGradients, initialGradients);

        int count = 0, kinks = 0;
        var failures = new List<string>();
        void Probe(string what, int index, double analytic, Func<double> get, Action<double> set)
        {
            double value = get();
            set(value + Epsilon); double plus = Loss();
            set(value - Epsilon); double minus = Loss();
            set(value); double centre = Loss();
            double numeric = (plus - minus) / (2 * Epsilon);
            count++;
            if (Math.Abs(numeric - analytic) <= Absolute + Relative * Math.Abs(analytic)) return;
            // At a kink of relu the loss has no derivative and the two one-sided differences disagree.
            double forward = (plus - centre) / Epsilon, backward = (centre - minus) / Epsilon;
            if (Math.Abs(forward - backward) > 1e-3 * (1 + Math.Abs(numeric))) { kinks++; return; }
            failures.Add($"{what}[{index}]: backward pass {analytic:G9}, finite difference {numeric:G9}");
        }

        IEnumerable<int> Entries(int length) => Enumerable.Range(0, length).OrderBy(_ => random.Next()).Take(entriesPerTensor);

        foreach (Parameter<double> parameter in cell.Parameters)
        {
            double[] values = parameter.ToArray();
            double[] gradient = parameter.GradientToArray();
            foreach (int i in Entries(values.Length))
                Probe(parameter.Name, i, gradient[i], () => values[i], v => { values[i] = v; parameter.CopyFrom(values); });
        }
        foreach (int i in Entries(inputs.Length)) Probe("x", i, inputGradients[i], () => inputs[i], v => inputs[i] = v);
        foreach (int i in Entries(initial.Length)) Probe("initial " + cell.StateNames[Enumerable.Range(0, cell.StateNames.Count).Last(k => cell.StateOffset(k, batch) <= i)], i, initialGradients[i], () => initial[i], v => initial[i] = v);
        return new Report(count, kinks, failures);
    }

    /// <summary>Restarts the generator of every dropout of the cell from <paramref name="seed"/> (each its own stream): the next training pass draws the same masks.</summary>
    public static void ReseedDropouts<T>(RecurrentCell<T> cell, int seed) where T : unmanaged, System.Numerics.INumberBase<T>
    {
        for (int k = 0; k < cell.Dropouts.Count; k++) cell.Dropouts[k].Reseed(seed * 31 + k);
    }

    /// <summary>
    /// Runs the float cell and the double cell on the same numbers (every one a float, so that they differ only in how
    /// they compute) and lists where they differ beyond float error; null when the double run itself overflows (|values|
    /// above 1e6), where float and double cannot be compared.
    /// </summary>
    /// <remarks>
    /// The bound is each element's own: 1e-4 of its magnitude, or of the tensor's root mean square if larger (an element
    /// that is a sum carries the error of its terms, whose size the tensor's typical one tells, even where they cancel),
    /// and at least 1e-4, plus 100 times how far the double result
    /// moves when every number given to the cell moves by 2^-20 relative (random signs), the float activations'
    /// accuracy (each within about 1e-6; float's own rounding, 2^-24, is smaller). The first term is the activations'
    /// error compounded through a cell's chains of them over the steps (2e-5 measured in the deepest random cells); the
    /// second is the element's condition: small for most elements, large only where the computation amplifies what
    /// float gets wrong (long sums that cancel, saturated gates, the layernorm of a nearly constant vector, which
    /// multiplies its error by 1 / its spread), where the float result cannot be closer. The old bound was 1e-4 of the
    /// whole tensor's largest value: the first term is at most that, and tighter at every element below it; the second
    /// lets through only what the element's condition explains.
    /// </remarks>
    /// <param name="positiveStates">States whose values must be positive (an sLSTM's normaliser n, a sum of exponentials, which h divides by): their initial values from [0.5, 1].</param>
    public static List<string>? CompareSingleWithDouble(RecurrentCell<float> single, RecurrentCell<double> @double, int batch, int steps, int seed, IReadOnlyCollection<string>? positiveStates = null)
    {
        var random = new Random(seed);
        double[] Floats(int length, double scale) => RandomArray(random, length, scale).Select(v => (double)(float)v).ToArray();
        var parameters = @double.Parameters.Select(p => Floats(p.Length, 0.5)).ToList();
        int x = @double.InputSize, o = @double.OutputSize, states = @double.StateValues(batch);
        double[] inputs = Floats(steps * batch * x, 1), initial = Floats(states, 0.5);
        foreach (string state in positiveStates ?? Array.Empty<string>())
        {
            int index = @double.StateIndex(state), offset = @double.StateOffset(index, batch);
            for (int i = offset; i < offset + batch * @double.StateSizes[index]; i++) initial[i] = (float)(0.75 + initial[i] / 2);
        }
        double[] outputGradients = Floats(steps * batch * o, 1), finalGradients = Floats(states, 1);

        var expected = RunDouble(@double, parameters, inputs, initial, outputGradients, finalGradients, batch, steps, seed);
        if (expected is null) return null;
        var signs = new Random(seed ^ 0x5bd1e995);
        double[] Nudge(double[] values) => values.Select(v => v * (1 + (signs.Next(2) * 2 - 1) * Math.Pow(2, -20))).ToArray();
        var nudged = RunDouble(@double, parameters.Select(Nudge).ToList(), Nudge(inputs), Nudge(initial), Nudge(outputGradients), Nudge(finalGradients), batch, steps, seed);
        if (nudged is null) return null;

        float[] F(double[] a) => a.Select(v => (float)v).ToArray();
        for (int k = 0; k < parameters.Count; k++) single.Parameter(@double.Parameters[k].Name).CopyFrom(F(parameters[k]));
        var rf = single.CreateRunner(steps, batch);
        var of = new float[steps * batch * o];
        var ff = new float[states];
        ReseedDropouts(single, seed); // the same masks as the double runs
        rf.ForwardTraining(F(inputs), batch, F(initial), of, ff);
        var dxf = new float[inputs.Length];
        var dif = new float[initial.Length];
        single.ZeroGradients();
        rf.Backward(F(outputGradients), F(finalGradients), dxf, dif);
        var actual = new List<(string, float[])> { ("outputs", of), ("final states", ff), ("dx", dxf), ("d initial", dif) };
        actual.AddRange(@double.Parameters.Select(p => ("d" + p.Name, single.Parameter(p.Name).GradientToArray())));

        var failures = new List<string>();
        for (int t = 0; t < actual.Count; t++)
        {
            (string what, float[] values) = actual[t];
            double[] e = expected[t].Values, n = nudged[t].Values;
            double rms = e.Length == 0 ? 0 : Math.Sqrt(e.Sum(v => v * v) / e.Length);
            for (int i = 0; i < e.Length; i++)
            {
                double bound = 1e-4 * Math.Max(Math.Max(1, rms), Math.Abs(e[i])) + 100 * Math.Abs(n[i] - e[i]);
                if (!(Math.Abs(values[i] - e[i]) <= bound))
                {
                    failures.Add($"{what}[{i}]: float {values[i]:G9}, double {e[i]:G9} (bound {bound:G3}; nudged double {n[i]:G9})");
                    break;
                }
            }
        }
        return failures;
    }

    /// <summary>The double cell's outputs, final states and every gradient, in the float comparison's order; null on overflow.</summary>
    private static List<(string Name, double[] Values)>? RunDouble(RecurrentCell<double> cell, IReadOnlyList<double[]> parameters, double[] inputs, double[] initial,
        double[] outputGradients, double[] finalGradients, int batch, int steps, int seed)
    {
        for (int k = 0; k < parameters.Count; k++) cell.Parameters[k].CopyFrom(parameters[k]);
        var runner = cell.CreateRunner(steps, batch);
        var outputs = new double[steps * batch * cell.OutputSize];
        var final = new double[initial.Length];
        ReseedDropouts(cell, seed);
        runner.ForwardTraining(inputs, batch, initial, outputs, final);
        var dx = new double[inputs.Length];
        var dInitial = new double[initial.Length];
        cell.ZeroGradients();
        runner.Backward(outputGradients, finalGradients, dx, dInitial);
        var results = new List<(string, double[])> { ("outputs", outputs), ("final states", final), ("dx", dx), ("d initial", dInitial) };
        results.AddRange(cell.Parameters.Select(p => ("d" + p.Name, p.GradientToArray())));
        return results.Any(r => r.Item2.Any(v => !(Math.Abs(v) <= 1e6))) ? null : results;
    }
}
