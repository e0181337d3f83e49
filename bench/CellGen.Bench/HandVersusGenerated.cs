using System;
using System.Linq;
using BenchmarkDotNet.Attributes;
using CellGen.Cells;

namespace CellGen.Bench;

/// <summary>
/// A generated cell against the same cell written by hand (Lstm, TorchGru), same sizes, same weights, same products;
/// allocations must read 0 B.
/// </summary>
[MemoryDiagnoser]
public class HandVersusGenerated
{
    [Params("lstm", "gru")] public string CellKind = "lstm";
    [Params(32)] public int Batch;
    [Params(256)] public int Hidden;
    [Params(50)] public int Steps;

    private SequenceRunner<float> _generated = null!;
    private HandCell _hand = null!;
    private float[] _inputs = null!, _outputs = null!, _dy = null!, _dx = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        (RecurrentCell<float> cell, _hand) = CellKind switch
        {
            "lstm" => ((RecurrentCell<float>)new Lstm(Hidden, Hidden), (HandCell)new HandLstm(Hidden, Hidden, Batch, Steps)),
            "gru" => (new TorchGru(Hidden, Hidden), new HandTorchGru(Hidden, Hidden, Batch, Steps)),
            _ => throw new ArgumentException($"no hand-written '{CellKind}': lstm or gru", nameof(CellKind)),
        };
        Initializers.Initialize(cell, random);
        _hand.ReadFrom(cell);
        _generated = cell.CreateRunner(Steps, Batch);
        int n = Steps * Batch * Hidden;
        _inputs = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        _outputs = new float[n];
        _dy = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        _dx = new float[n];
    }

    /// <summary>The largest differences between both (outputs, dx, every parameter gradient), for the correctness check.</summary>
    internal (double Outputs, double InputGradients, double ParameterGradients) Differences()
    {
        _generated.Cell.ZeroGradients();
        _hand.ZeroGradients();
        GeneratedForwardBackward();
        float[] outputs = (float[])_outputs.Clone(), dx = (float[])_dx.Clone();
        HandForwardBackward();
        static double Worst(float[] a, float[] b) => a.Zip(b).Max(p => (double)Math.Abs(p.First - p.Second));
        return (Worst(outputs, _outputs), Worst(dx, _dx), _hand.WorstGradientDifference(_generated.Cell));
    }

    [Benchmark(Baseline = true)]
    public void HandForward() => _hand.Forward(_inputs, _outputs, record: false);

    [Benchmark]
    public void GeneratedForward() => _generated.Forward(_inputs, Batch, default, _outputs, default);

    [Benchmark]
    public void HandForwardBackward()
    {
        _hand.Forward(_inputs, _outputs, record: true);
        _hand.Backward(_inputs, _outputs, _dy, _dx);
    }

    [Benchmark]
    public void GeneratedForwardBackward()
    {
        _generated.ForwardTraining(_inputs, Batch, default, _outputs, default);
        _generated.Backward(_dy, default, _dx, default);
    }
}
