using System;
using System.Linq;
using BenchmarkDotNet.Attributes;
using CellGen.Cells;

namespace CellGen.Bench;

/// <summary>
/// The FeedForward layer (equations compiled by the generator) against the same block written by hand: two Dense
/// calls and the ReLU between them, same weights, rows [B·T, 256] → 1024 → 256; allocations must read 0 B.
/// </summary>
[MemoryDiagnoser]
public class LayerBenchmarks
{
    [Params(2048)] public int Rows;
    [Params(256)] public int Width;
    [Params(1024)] public int Hidden;

    private FeedForward _layer = null!;
    private Dense _first = null!, _second = null!;
    private Activations _input;
    private float[] _x = null!, _u = null!, _y = null!, _dy = null!, _du = null!, _dx = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _first = new Dense(Width, Hidden, random);
        _second = new Dense(Hidden, Width, random);
        _layer = new FeedForward(Width, Hidden);
        _layer.Cell.Parameter("W_1").CopyFrom(_first.Weights.ToArray());
        _layer.Cell.Parameter("b_1").CopyFrom(_first.Bias.ToArray());
        _layer.Cell.Parameter("W_2").CopyFrom(_second.Weights.ToArray());
        _layer.Cell.Parameter("b_2").CopyFrom(_second.Bias.ToArray());
        _x = Enumerable.Range(0, Rows * Width).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        _dy = Enumerable.Range(0, Rows * Width).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        (_u, _du, _y, _dx) = (new float[Rows * Hidden], new float[Rows * Hidden], new float[Rows * Width], new float[Rows * Width]);
        _input = new Activations();
        _input.ShapeVectors(Rows, Width);
        _x.CopyTo(_input.Values);
    }

    /// <summary>The largest difference between both outputs, for the correctness check.</summary>
    internal double Difference()
    {
        HandForward();
        GeneratedForward();
        ReadOnlySpan<float> layer = _layer.Output.Values;
        double worst = 0;
        for (int i = 0; i < _y.Length; i++) worst = Math.Max(worst, Math.Abs(_y[i] - layer[i]));
        return worst;
    }

    [Benchmark(Baseline = true)]
    public void HandForward()
    {
        _first.Forward(_x, _u, Rows);
        Relu(_u);
        _second.Forward(_u, _y, Rows);
    }

    /// <summary>max(v, 0) in place, a vector at a time, as one would write it by hand.</summary>
    private static void Relu(Span<float> values)
    {
        var vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(values);
        for (int i = 0; i < vectors.Length; i++) vectors[i] = System.Numerics.Vector.Max(vectors[i], System.Numerics.Vector<float>.Zero);
        for (int i = vectors.Length * System.Numerics.Vector<float>.Count; i < values.Length; i++) values[i] = MathF.Max(values[i], 0);
    }

    /// <summary>dU where u &gt; 0, else 0, a vector at a time.</summary>
    private static void ReluGradient(ReadOnlySpan<float> u, Span<float> du)
    {
        var us = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(u);
        var dus = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(du);
        for (int i = 0; i < us.Length; i++) dus[i] = System.Numerics.Vector.ConditionalSelect(System.Numerics.Vector.GreaterThan(us[i], System.Numerics.Vector<float>.Zero), dus[i], System.Numerics.Vector<float>.Zero);
        for (int i = us.Length * System.Numerics.Vector<float>.Count; i < u.Length; i++) if (u[i] <= 0) du[i] = 0;
    }

    [Benchmark]
    public void GeneratedForward() => _layer.Forward(_input, training: false);

    [Benchmark]
    public void HandForwardBackward()
    {
        _first.Forward(_x, _u, Rows);
        Relu(_u);
        _second.Forward(_u, _y, Rows);
        _second.Backward(_u, _dy, _du, Rows);
        ReluGradient(_u, _du);
        _first.Backward(_x, _du, _dx, Rows);
    }

    [Benchmark]
    public void GeneratedForwardBackward()
    {
        _layer.Forward(_input, training: true);
        _dy.CopyTo(_layer.Output.Gradients);
        _layer.Backward();
    }
}
