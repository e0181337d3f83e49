using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;

namespace CellGen.Samples.Adding;

/// <summary>What one cell did on the adding problem.</summary>
public sealed record TrainingResult(string Cell, double FinalMse, int? StepsToSolve, double MsPerStep, List<(int Step, double TestMse)> Curve, bool Diverged);

/// <summary>Trains one cell with a dense head on the adding problem: many-to-one, full BPTT, Adam, clipping by norm.</summary>
public sealed class Trainer(Options options)
{
    public const double SolvedMse = 0.01;

    public TrainingResult Train(string name, Func<int, int, RecurrentCell<float>> create, Action<string> progress)
    {
        int t = options.Length, b = options.Batch, h = options.Hidden;
        var random = new Random(options.Seed);
        RecurrentCell<float> cell = create(2, h);
        Initializers.Initialize(cell, random, name == "Irnn" ? RecurrentInit.Identity : RecurrentInit.Orthogonal);
        foreach (Parameter<float> bias in cell.Parameters.Where(p => p.Name is "b_f"))
            Initializers.Fill(bias, 1f); // forget gates start open (Jozefowicz et al. 2015)
        var head = new Dense(h, 1);
        Initializers.Initialize(head, random);
        var owners = new IHasParameters[] { cell, head };
        var optimizer = new Adam(owners, name == "Irnn" ? options.LearningRate / 10 : options.LearningRate);

        int states = cell.StateNames.Count, output = cell.StateIndex(cell.OutputName);
        var runner = cell.CreateRunner(t, b);
        var inputs = new float[t * b * 2];
        var targets = new float[b];
        var outputs = new float[t * b * h];
        var final = new float[states * b * h];
        var prediction = new float[b];
        var dPrediction = new float[b];
        var dFinal = new float[states * b * h];
        var dHidden = new float[b * h];

        // A fixed test set, evaluated with the inference path.
        var testProblem = new AddingProblem(t, options.Seed + 1);
        int testBatches = Math.Max(1, options.TestSize / b);
        var testInputs = new float[testBatches][];
        var testTargets = new float[testBatches][];
        for (int i = 0; i < testBatches; i++)
        {
            testInputs[i] = new float[t * b * 2];
            testTargets[i] = new float[b];
            testProblem.Batch(testInputs[i], testTargets[i], b);
        }
        double Evaluate()
        {
            double sum = 0;
            for (int i = 0; i < testBatches; i++)
            {
                runner.Forward(testInputs[i], b, default, outputs, final);
                head.Forward(final.AsSpan(output * b * h, b * h), prediction, b);
                for (int k = 0; k < b; k++) sum += Math.Pow(prediction[k] - testTargets[i][k], 2);
            }
            return sum / (testBatches * b);
        }

        var problem = new AddingProblem(t, options.Seed);
        var curve = new List<(int, double)> { (0, Evaluate()) };
        int? solved = null;
        bool diverged = false;
        var clock = new Stopwatch();
        double loss = double.NaN;
        for (int step = 1; step <= options.Steps; step++)
        {
            problem.Batch(inputs, targets, b);
            clock.Start();
            runner.ForwardTraining(inputs, b, default, outputs, final);
            ReadOnlySpan<float> hidden = final.AsSpan(output * b * h, b * h);
            head.Forward(hidden, prediction, b);
            float stepLoss = Losses.MeanSquaredError(prediction, targets, dPrediction);
            head.Backward(hidden, dPrediction, dHidden, b);
            dHidden.CopyTo(dFinal.AsSpan(output * b * h));
            runner.Backward(default, dFinal, default, default);
            ClipResult clip = optimizer.ClipGradientsByNorm(options.ClipNorm, NormType.Two, NonFiniteNorm.Report);
            if (clip.IsFinite) optimizer.Step();
            optimizer.ZeroGradients();
            clock.Stop();
            loss = double.IsNaN(loss) ? stepLoss : 0.98 * loss + 0.02 * stepLoss;
            if (!clip.IsFinite || !float.IsFinite(stepLoss)) { diverged = true; break; }
            if (step % options.EvaluateEvery == 0 || step == options.Steps)
            {
                double test = Evaluate();
                curve.Add((step, test));
                if (solved is null && test < SolvedMse) solved = step;
                progress($"{name,-13} step {step,5}/{options.Steps}  train loss {loss:F4}  test MSE {test:F4}{(solved is { } s ? $"  solved at {s}" : "")}");
            }
        }
        return new TrainingResult(name, curve[^1].Item2, solved, clock.Elapsed.TotalMilliseconds / Math.Max(1, optimizer.Steps), curve, diverged);
    }
}
