using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;

namespace CellGen.Bench;

/// <summary>
/// ONNX Runtime as a peer: a cell exported by <see cref="Onnx.Export"/> (the built-ins as ONNX's own RNN, LSTM and GRU,
/// whose kernels run on MLAS; others as a Scan), run with 2 intra-op threads on the same inputs as ours, its input and
/// output tensors allocated once.
/// </summary>
public sealed class OrtPeer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _options = new();
    private readonly OrtValue[] _inputs;
    private readonly string[] _inputNames = { "inputs", "lengths" }, _outputNames = { "output" };
    private readonly string _path;

    public OrtPeer(RecurrentCell<float> cell, float[] x, int batch)
    {
        _path = Path.Combine(Path.GetTempPath(), $"cellgen-peer-{Guid.NewGuid():N}.onnx");
        Onnx.Export(_path, new Sequential(new Recurrent((_, _) => cell, cell.InputSize, cell.HiddenSize)));
        using var options = new SessionOptions { IntraOpNumThreads = 2, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        _session = new InferenceSession(_path, options);
        int steps = x.Length / (batch * cell.InputSize);
        _inputs = new[]
        {
            OrtValue.CreateTensorValueFromMemory(x, new long[] { steps, batch, cell.InputSize }),
            OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(steps, batch).ToArray(), new long[] { batch }),
        };
    }

    /// <summary>One forward run over the whole sequence.</summary>
    public void Run()
    {
        using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(_options, _inputNames, _inputs, _outputNames);
    }

    /// <summary>The largest absolute difference between ORT's outputs and <paramref name="ours"/>.</summary>
    public double LargestDifference(float[] ours)
    {
        using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(_options, _inputNames, _inputs, _outputNames);
        ReadOnlySpan<float> theirs = outputs[0].GetTensorDataAsSpan<float>();
        if (theirs.Length != ours.Length) throw new InvalidOperationException($"ONNX Runtime gave {theirs.Length} outputs; ours are {ours.Length}.");
        double largest = 0;
        for (int i = 0; i < ours.Length; i++) largest = Math.Max(largest, Math.Abs(theirs[i] - ours[i]));
        return largest;
    }

    public void Dispose()
    {
        foreach (OrtValue value in _inputs) value.Dispose();
        _options.Dispose();
        _session.Dispose();
        File.Delete(_path);
    }
}
