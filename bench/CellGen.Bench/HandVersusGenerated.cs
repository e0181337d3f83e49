using System;
using System.Linq;
using BenchmarkDotNet.Attributes;
using CellGen.Cells;

namespace CellGen.Bench;

/// <summary>The generated Lstm against the hand-written one, same sizes, same products; allocations must read 0 B.</summary>
[MemoryDiagnoser]
public class HandVersusGenerated
{
    [Params(32)] public int Batch;
    [Params(256)] public int Hidden;
    [Params(50)] public int Steps;

    private SequenceRunner<float> _generated = null!;

    internal RecurrentCell<float> GeneratedCell => _generated.Cell;

    internal HandLstm Hand => _hand;

    /// <summary>Outputs, dx and the gradient of W_i of both, for the correctness check.</summary>
    internal (float[] Generated, float[] Hand) RunBoth()
    {
        _generated.Cell.ZeroGradients();
        GeneratedForwardBackward();
        float[] generated = _outputs.Concat(_dx).Concat(_generated.Cell.Parameter("W_i").GradientToArray()).ToArray();
        HandForwardBackward();
        int h = Hidden, g = 4 * h;
        var dWi = new float[h * 2 * h];
        for (int j = 0; j < h; j++)
            for (int c = 0; c < h; c++)
            {
                dWi[j * 2 * h + c] = _hand.WhGrad[c * g + j];
                dWi[j * 2 * h + h + c] = _hand.WxGrad[c * g + j];
            }
        return (generated, _outputs.Concat(_dx).Concat(dWi).ToArray());
    }
    private HandLstm _hand = null!;
    private float[] _inputs = null!, _outputs = null!, _dy = null!, _dx = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        var cell = new Lstm(Hidden, Hidden);
        Initializers.Initialize(cell, random);
        _generated = cell.CreateRunner(Steps, Batch);
        _hand = new HandLstm(Hidden, Hidden, Batch, Steps);
        foreach (float[] w in new[] { _hand.Wh, _hand.Wx })
            for (int i = 0; i < w.Length; i++) w[i] = (float)(random.NextDouble() - 0.5) * 0.1f;
        int n = Steps * Batch * Hidden;
        _inputs = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        _outputs = new float[n];
        _dy = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        _dx = new float[n];
    }

    [Benchmark(Baseline = true)]
    public void HandForward() => _hand.Forward(_inputs, _outputs);

    [Benchmark]
    public void GeneratedForward() => _generated.Forward(_inputs, default, _outputs, default);

    [Benchmark]
    public void HandForwardBackward()
    {
        _hand.Forward(_inputs, _outputs);
        _hand.Backward(_inputs, _dy, _dx);
    }

    [Benchmark]
    public void GeneratedForwardBackward()
    {
        _generated.ForwardTraining(_inputs, default, _outputs, default);
        _generated.Backward(_dy, default, _dx, default);
    }
}
