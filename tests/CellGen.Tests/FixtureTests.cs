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
        Directory.GetFiles(Fixture.Folder, "*.json").OrderBy(f => f, StringComparer.Ordinal).Select(f => new object[] { Path.GetFileName(f) });

    [Theory]
    [MemberData(nameof(Files))]
    public void MatchesPyTorch(string file)
    {
        Fixture fixture = Fixture.Load(Path.Combine(Fixture.Folder, file));
        RecurrentCell<float>? cell = CellCatalog.Create(fixture.Cell, fixture.InputSize, fixture.HiddenSize);
        Assert.True(cell is not null, $"No generated cell is called '{fixture.Cell}'. Known: {string.Join(", ", CellCatalog.All().Select(t => t.Name))}");
        Assert.Equal(fixture.Equations.Select(Normalise), cell!.Equations.Select(Normalise));

        foreach ((string name, Tensor value) in fixture.Params)
        {
            Parameter<float> parameter = cell.Parameter(name); // throws for a name the cell lacks
            Assert.Equal(value.Shape, parameter.Shape);
            parameter.CopyFrom(value.ToSingle());
        }
        Assert.Equal(fixture.Params.Keys.OrderBy(k => k, StringComparer.Ordinal), cell.Parameters.Select(p => p.Name).OrderBy(k => k, StringComparer.Ordinal));

        int b = fixture.Batch, h = fixture.HiddenSize, s = cell.StateNames.Count;
        Assert.Equal(fixture.InitialState.Keys.OrderBy(k => k), cell.StateNames.OrderBy(k => k));
        float[] States(Dictionary<string, Tensor> byName)
        {
            var all = new float[s * b * h];
            foreach ((string name, Tensor value) in byName) value.ToSingle().CopyTo(all, cell.StateIndex(name) * b * h);
            return all;
        }

        var runner = cell.CreateRunner(fixture.Steps, b);
        var outputs = new float[fixture.Steps * b * h];
        var final = new float[s * b * h];
        runner.ForwardTraining(fixture.X.ToSingle(), States(fixture.InitialState), outputs, final);

        var inputGrad = new float[fixture.X.Data.Length];
        var initialGrad = new float[s * b * h];
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
        foreach ((string name, Tensor value) in fixture.FinalState) Compare($"finalState.{name}", value.Data, final.AsSpan(cell.StateIndex(name) * b * h, b * h));
        double loss = 0;
        for (int i = 0; i < outputs.Length; i++) loss += (double)outputs[i] * fixture.OutputGrad.Data[i];
        foreach ((string name, Tensor grad) in fixture.FinalStateGrad)
            for (int i = 0; i < b * h; i++) loss += (double)final[cell.StateIndex(name) * b * h + i] * grad.Data[i];
        Compare("loss", new[] { fixture.Loss }, new[] { (float)loss });
        foreach ((string name, Tensor grad) in fixture.ParamGrads) Compare($"d{name}", grad.Data, cell.Parameter(name).GradientToArray());
        Compare("inputGrad", fixture.InputGrad.Data, inputGrad);
        foreach ((string name, Tensor grad) in fixture.InitialStateGrad) Compare($"initialStateGrad.{name}", grad.Data, initialGrad.AsSpan(cell.StateIndex(name) * b * h, b * h));
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static string Normalise(string equation) => string.Join(" ", equation.Split(' ', StringSplitOptions.RemoveEmptyEntries));
}
