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

        double Loss()
        {
            runner.Forward(inputs, batch, initial, outputs, final);
            double loss = 0;
            for (int i = 0; i < outputs.Length; i++) loss += outputs[i] * outputGradients[i];
            for (int i = 0; i < final.Length; i++) loss += final[i] * finalGradients[i];
            return loss;
        }

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

    /// <summary>
    /// Runs the float cell and the double cell on the same numbers and lists where they differ beyond float error;
    /// null when the double run itself overflows (|values| above 1e6), where float and double cannot be compared.
    /// </summary>
    public static List<string>? CompareSingleWithDouble(RecurrentCell<float> single, RecurrentCell<double> @double, int batch, int steps, int seed)
    {
        var random = new Random(seed);
        foreach (Parameter<double> parameter in @double.Parameters)
        {
            double[] values = RandomArray(random, parameter.Length, 0.5);
            parameter.CopyFrom(values);
            single.Parameter(parameter.Name).CopyFrom(values.Select(v => (float)v).ToArray());
        }
        int x = @double.InputSize, o = @double.OutputSize, states = @double.StateValues(batch);
        double[] inputs = RandomArray(random, steps * batch * x, 1), initial = RandomArray(random, states, 0.5);
        double[] outputGradients = RandomArray(random, steps * batch * o, 1), finalGradients = RandomArray(random, states, 1);
        float[] F(double[] a) => a.Select(v => (float)v).ToArray();

        var failures = new List<string>();
        void Compare(string what, ReadOnlySpan<double> expected, ReadOnlySpan<float> actual)
        {
            double scale = 1;
            foreach (double e in expected) scale = Math.Max(scale, Math.Abs(e));
            for (int i = 0; i < expected.Length; i++)
                if (!(Math.Abs(actual[i] - expected[i]) <= 1e-4 * scale))
                {
                    failures.Add($"{what}[{i}]: float {actual[i]:G9}, double {expected[i]:G9}");
                    return;
                }
        }

        var rd = @double.CreateRunner(steps, batch);
        var rf = single.CreateRunner(steps, batch);
        var od = new double[steps * batch * o]; var of = new float[od.Length];
        var fd = new double[states]; var ff = new float[fd.Length];
        rd.ForwardTraining(inputs, batch, initial, od, fd);
        if (od.Concat(fd).Any(v => !(Math.Abs(v) <= 1e6))) return null;
        rf.ForwardTraining(F(inputs), batch, F(initial), of, ff);
        Compare("outputs", od, of);
        Compare("final states", fd, ff);
        var dxd = new double[inputs.Length]; var dxf = new float[inputs.Length];
        var did = new double[initial.Length]; var dif = new float[initial.Length];
        @double.ZeroGradients(); single.ZeroGradients();
        rd.Backward(outputGradients, finalGradients, dxd, did);
        if (dxd.Concat(did).Concat(@double.Parameters.SelectMany(p => p.GradientToArray())).Any(v => !(Math.Abs(v) <= 1e6))) return null;
        rf.Backward(F(outputGradients), F(finalGradients), dxf, dif);
        Compare("dx", dxd, dxf);
        Compare("d initial", did, dif);
        foreach (Parameter<double> parameter in @double.Parameters)
            Compare("d" + parameter.Name, parameter.GradientToArray(), single.Parameter(parameter.Name).GradientToArray());
        return failures;
    }
}
