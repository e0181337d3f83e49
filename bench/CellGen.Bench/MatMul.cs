using System;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;

namespace CellGen.Bench;

/// <summary>
/// matmul: a Dense layer (rows x k times k x n, plus bias) against the same layer exported to ONNX and run by ONNX
/// Runtime (MatMul and Add on MLAS's SGEMM, 2 threads), at the shapes of the products of b32-h256 and b64-h512:
/// the hoisted input product over all steps and one step's product. Two alternating rounds, medians (Compare.Median).
/// </summary>
public static class MatMul
{
    public static int Run()
    {
        // The products of b32-h256 and b64-h512, then the heads of the samples: Digits' Dense(64, 10) over a batch of 32
        // and its test batch of 1000, Sentiment's Dense(128, 2), CharLm's Dense(128, vocabulary) over 32 streams of 64
        // characters (a vocabulary of 65), Translate's Dense(128, 12) over 32 sequences of 16.
        foreach (var (rows, k, n) in new[]
        {
            (1600, 256, 1024), (32, 256, 1024), (6400, 512, 2048), (64, 512, 2048),
            (32, 64, 10), (1000, 64, 10), (32, 128, 2), (2048, 128, 65), (512, 128, 12),
        })
        {
            var dense = new Dense(k, n, new Random(1));
            string path = Path.Combine(Path.GetTempPath(), $"cellgen-matmul-{Guid.NewGuid():N}.onnx");
            Onnx.Export(path, new Sequential(dense));
            float[] x = Enumerable.Range(0, rows * k).Select(i => (i % 7) * 0.1f - 0.3f).ToArray(), y = new float[rows * n];
            using var options = new SessionOptions { IntraOpNumThreads = 2 };
            using var session = new InferenceSession(path, options);
            using var input = OrtValue.CreateTensorValueFromMemory(x, new long[] { 1, rows, k });
            using var run = new RunOptions();
            string[] names = { "inputs" }, outputs = { "output" }; // a model without a recurrent module has no lengths input
            double flop = 2.0 * rows * k * n;
            for (int round = 0; round < 2; round++)
            {
                double ours = Compare.Median(() => dense.Forward(x, y, rows));
                double ort = Compare.Median(() => { using var result = session.Run(run, names, new[] { input }, outputs); });
                Console.WriteLine($"[{rows}, {k}] x [{k}, {n}]  Dense {ours * 1000,8:F0} us {flop / ours / 1e6,5:F0} GFLOP/s   ORT MatMul+Add {ort * 1000,8:F0} us {flop / ort / 1e6,5:F0} GFLOP/s   ORT/ours {ort / ours:F2}");
            }
            File.Delete(path);
        }
        return 0;
    }
}
