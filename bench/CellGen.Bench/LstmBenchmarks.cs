using System;
using System.Linq;
using BenchmarkDotNet.Attributes;
using CellGen.Cells;

namespace CellGen.Bench;

/// <summary>The generated Lstm over a batch of sequences: inference forward, and forward with tape plus backward.</summary>
[MemoryDiagnoser]
public class LstmBenchmarks
{
    [Params(32)] public int Batch;
    [Params(256)] public int Hidden;
    [Params(50)] public int Steps;

    private SequenceRunner<float> _runner = null!;
    private float[] _inputs = null!, _outputs = null!, _outputGradients = null!, _inputGradients = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        var cell = new Lstm(Hidden, Hidden);
        foreach (Parameter<float> p in cell.Parameters)
            p.CopyFrom(Enumerable.Range(0, p.Length).Select(_ => (float)(random.NextDouble() - 0.5) * 0.1f).ToArray());
        _runner = cell.CreateRunner(Steps, Batch);
        _inputs = Enumerable.Range(0, Steps * Batch * Hidden).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        _outputs = new float[Steps * Batch * Hidden];
        _outputGradients = Enumerable.Range(0, _outputs.Length).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        _inputGradients = new float[_inputs.Length];
    }

    [Benchmark]
    public void Forward() => _runner.Forward(_inputs, Batch, default, _outputs, default);

    [Benchmark]
    public void ForwardBackward()
    {
        _runner.ForwardTraining(_inputs, Batch, default, _outputs, default);
        _runner.Backward(_outputGradients, default, _inputGradients, default);
    }
}
