using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Xunit;

namespace CellGen.Tests;

/// <summary>
/// Every training fixture (clipping, optimiser trajectories, the loss) against PyTorch's float64 numbers. Our
/// arithmetic is float32, so values pass within 1e-5 + 1e-4 |expected|.
/// </summary>
public sealed class TrainingFixtureTests
{
    private const double Abs = 1e-5, Rel = 1e-4;

    private static string Folder =>
        Environment.GetEnvironmentVariable("CELLGEN_TRAIN_FIXTURES") is { Length: > 0 } folder
            ? folder
            : Path.Combine(AppContext.BaseDirectory, "Fixtures", "pytorch-train");

    public static IEnumerable<object[]> Files() =>
        Directory.GetFiles(Folder, "*.json").OrderBy(f => f, StringComparer.Ordinal).Select(f => new object[] { Path.GetFileName(f) });

    private sealed class Buffers(List<float[]> values) : IHasParameters
    {
        public List<float[]> Values { get; } = values;
        public List<float[]> Gradients { get; } = values.Select(v => new float[v.Length]).ToList();
        public IEnumerable<ParameterBuffer> ParameterBuffers => Values.Select((v, i) => new ParameterBuffer(v, Gradients[i]));
    }

    private static List<float[]> Tensors(JsonElement list) => list.EnumerateArray().Select(t => Tensor.Read(t).ToSingle()).ToList();

    private static void Compare(string what, double expected, double actual, List<string> failures)
    {
        if (!(Math.Abs(actual - expected) <= Abs + Rel * Math.Abs(expected))) failures.Add($"{what} = {actual}, expected {expected}");
    }

    private static void Compare(string what, IReadOnlyList<float[]> actual, JsonElement expected, List<string> failures)
    {
        var tensors = expected.EnumerateArray().Select(Tensor.Read).ToList();
        Assert.Equal(tensors.Count, actual.Count);
        for (int t = 0; t < tensors.Count; t++)
            for (int i = 0; i < tensors[t].Data.Length; i++)
            {
                int before = failures.Count;
                Compare($"{what}[{t}][{i}]", tensors[t].Data[i], actual[t][i], failures);
                if (failures.Count > before) return;
            }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void MatchesPyTorch(string file)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, file)));
        JsonElement root = document.RootElement;
        Assert.Equal("cellgen-train-fixture/1", root.GetProperty("format").GetString());
        string kind = root.GetProperty("kind").GetString()!;
        JsonElement options = root.GetProperty("options");
        float Option(string name, float fallback) => options.TryGetProperty(name, out JsonElement e) ? (float)e.GetDouble() : fallback;
        var failures = new List<string>();
        switch (kind)
        {
            case "clip_grad_norm":
            {
                var gradients = Tensors(root.GetProperty("grads"));
                NormType norm = options.GetProperty("normType").ValueKind == JsonValueKind.String ? NormType.Infinity : NormType.Two;
                if (norm == NormType.Two) Assert.Equal(2.0, options.GetProperty("normType").GetDouble());
                ClipResult result = Clipping.ClipByNorm(gradients, options.GetProperty("maxNorm").GetDouble(), norm);
                Compare("totalNorm", root.GetProperty("expected").GetProperty("totalNorm").GetDouble(), result.TotalNorm, failures);
                Compare("grads", gradients, root.GetProperty("expected").GetProperty("grads"), failures);
                break;
            }
            case "clip_grad_value":
            {
                var gradients = Tensors(root.GetProperty("grads"));
                Clipping.ClipByValue(gradients, Option("clipValue", float.NaN));
                Compare("grads", gradients, root.GetProperty("expected").GetProperty("grads"), failures);
                break;
            }
            case "softmax_cross_entropy":
            {
                Assert.Equal("mean", options.GetProperty("reduction").GetString());
                Tensor logits = Tensor.Read(root.GetProperty("logits"));
                int[] targets = root.GetProperty("targets").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                var gradient = new float[logits.Data.Length];
                float loss = Losses.SoftmaxCrossEntropy(logits.ToSingle(), targets, logits.Shape[1], gradient);
                Compare("loss", root.GetProperty("expected").GetProperty("loss").GetDouble(), loss, failures);
                Compare("logitsGrad", new[] { gradient }, JsonDocument.Parse("[" + root.GetProperty("expected").GetProperty("logitsGrad").GetRawText() + "]").RootElement, failures);
                break;
            }
            case "SGD" or "Adam" or "AdamW":
            {
                var parameters = new Buffers(Tensors(root.GetProperty("initialParams")));
                float lr = Option("lr", float.NaN);
                float[] betas = options.TryGetProperty("betas", out JsonElement b) ? b.EnumerateArray().Select(e => (float)e.GetDouble()).ToArray() : new[] { 0.9f, 0.999f };
                Optimizer optimizer = kind switch
                {
                    "SGD" => new Sgd(new[] { parameters }, lr, Option("momentum", 0), Option("dampening", 0),
                        options.TryGetProperty("nesterov", out JsonElement n) && n.GetBoolean(), Option("weightDecay", 0)),
                    "Adam" => new Adam(new[] { parameters }, lr, betas[0], betas[1], Option("eps", 1e-8f), Option("weightDecay", 0)),
                    _ => Adam.W(new[] { parameters }, lr, betas[0], betas[1], Option("eps", 1e-8f), Option("weightDecay", 1e-2f)),
                };
                int step = 0;
                foreach (JsonElement s in root.GetProperty("steps").EnumerateArray())
                {
                    var gradients = Tensors(s.GetProperty("grads"));
                    for (int i = 0; i < gradients.Count; i++) gradients[i].CopyTo(parameters.Gradients[i], 0);
                    optimizer.Step();
                    Compare($"step {++step} params", parameters.Values, s.GetProperty("params"), failures);
                }
                break;
            }
            default:
                Assert.Fail($"{file}: unknown kind '{kind}'");
                break;
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
