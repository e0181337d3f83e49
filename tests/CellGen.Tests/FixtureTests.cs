using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Xunit;

namespace CellGen.Tests;

/// <summary>Every PyTorch fixture: forward and backward of the generated cell against PyTorch's float64 numbers.</summary>
public sealed class FixtureTests
{
    public static IEnumerable<object[]> Files() =>
        Fixture.Folders.SelectMany(folder => Directory.GetFiles(folder, "*.json")).OrderBy(f => f, StringComparer.Ordinal)
            .Select(f => new object[] { Path.GetRelativePath(AppContext.BaseDirectory, f) });

    [Theory]
    [MemberData(nameof(Files))]
    public void MatchesPyTorch(string file)
    {
        Fixture fixture = Fixture.Load(Path.Combine(AppContext.BaseDirectory, file));
        RecurrentCell<float>? cell = CellCatalog.Create(fixture.Cell, fixture.InputSize, fixture.HiddenSize, fixture.Sizes,
            file.Replace('\\', '/').Contains("/zoo/") ? "CellGen.Tests.Zoo" : null);
        Assert.True(cell is not null, $"No generated cell is called '{fixture.Cell}'. Known: {string.Join(", ", CellCatalog.All().Select(t => t.Name))}");
        Assert.Equal(fixture.Equations.Select(Normalise), cell!.Equations.Select(Normalise));

        foreach ((string name, Tensor value) in fixture.Params)
        {
            Parameter<float> parameter = cell.Parameter(name); // throws for a name the cell lacks
            Assert.Equal(value.Shape, parameter.Shape);
            parameter.CopyFrom(value.ToSingle());
        }
        Assert.Equal(fixture.Params.Keys.OrderBy(k => k, StringComparer.Ordinal), cell.Parameters.Select(p => p.Name).OrderBy(k => k, StringComparer.Ordinal));

        int b = fixture.Batch;
        Assert.Equal(fixture.Output, cell.OutputName);
        Assert.Equal(fixture.InitialState.Keys.OrderBy(k => k), cell.StateNames.OrderBy(k => k));
        // States lie one after another in StateNames order, each [B, its own size]; the fixture's shapes give the sizes.
        int[] sizes = cell.StateNames.Select(name => fixture.InitialState[name].Shape[1]).ToArray();
        int[] offsets = sizes.Select((_, k) => sizes.Take(k).Sum() * b).ToArray();
        int stateValues = sizes.Sum() * b;
        float[] States(Dictionary<string, Tensor> byName)
        {
            var all = new float[stateValues];
            foreach ((string name, Tensor value) in byName) value.ToSingle().CopyTo(all, offsets[cell.StateIndex(name)]);
            return all;
        }
        Span<float> State(float[] all, string name) => all.AsSpan(offsets[cell.StateIndex(name)], b * sizes[cell.StateIndex(name)]);

        var runner = cell.CreateRunner(fixture.Steps, b);
        var outputs = new float[fixture.Outputs.Data.Length];
        var final = new float[stateValues];
        runner.ForwardTraining(fixture.X.ToSingle(), b, States(fixture.InitialState), outputs, final);

        var inputGrad = new float[fixture.X.Data.Length];
        var initialGrad = new float[stateValues];
        cell.ZeroGradients();
        runner.Backward(fixture.OutputGrad.ToSingle(), States(fixture.FinalStateGrad), inputGrad, initialGrad);

        var failures = new List<string>();
        void Compare(string what, double[] expected, ReadOnlySpan<float> actual)
        {
            if (expected.Length != actual.Length) { failures.Add($"{what}: {actual.Length} values, expected {expected.Length}"); return; }
            for (int i = 0; i < expected.Length; i++)
                if (!(Math.Abs(actual[i] - expected[i]) <= fixture.Abs + fixture.Rel * Math.Abs(expected[i])))
                {
                    failures.Add($"{what}[{i}] = {actual[i]}, expected {expected[i]}");
                    return;
                }
        }
        Compare("outputs", fixture.Outputs.Data, outputs);
        foreach ((string name, Tensor value) in fixture.FinalState) Compare($"finalState.{name}", value.Data, State(final, name));
        double loss = 0;
        for (int i = 0; i < outputs.Length; i++) loss += (double)outputs[i] * fixture.OutputGrad.Data[i];
        foreach ((string name, Tensor grad) in fixture.FinalStateGrad)
        {
            Span<float> values = State(final, name);
            for (int i = 0; i < values.Length; i++) loss += (double)values[i] * grad.Data[i];
        }
        Compare("loss", new[] { fixture.Loss }, new[] { (float)loss });
        foreach ((string name, Tensor grad) in fixture.ParamGrads) Compare($"d{name}", grad.Data, cell.Parameter(name).GradientToArray());
        Compare("inputGrad", fixture.InputGrad.Data, inputGrad);
        foreach ((string name, Tensor grad) in fixture.InitialStateGrad) Compare($"initialStateGrad.{name}", grad.Data, State(initialGrad, name));
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static string Normalise(string equation) => string.Join(" ", equation.Split(' ', StringSplitOptions.RemoveEmptyEntries));
}
