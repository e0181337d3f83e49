using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace CellGen.Tests;

/// <summary>A tensor of a fixture: shape and row-major data.</summary>
public sealed record Tensor(int[] Shape, double[] Data)
{
    public static Tensor Read(JsonElement element) => new(
        element.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
        element.GetProperty("data").EnumerateArray().Select(e => e.GetDouble()).ToArray());

    public float[] ToSingle() => Data.Select(d => (float)d).ToArray();
}

/// <summary>One reference case (format cellgen-fixture/1, see Fixtures/README in shared/fixtures).</summary>
public sealed record Fixture(
    string Name, string Cell, string[] Equations, int InputSize, int HiddenSize, int Batch, int Steps,
    Dictionary<string, Tensor> Params, Tensor X, Dictionary<string, Tensor> InitialState, Tensor OutputGrad,
    Dictionary<string, Tensor> FinalStateGrad, Tensor Outputs, Dictionary<string, Tensor> FinalState, double Loss,
    Dictionary<string, Tensor> ParamGrads, Tensor InputGrad, Dictionary<string, Tensor> InitialStateGrad, double Abs, double Rel,
    string Output, Dictionary<string, int> Sizes)
{
    public static Fixture Load(string path)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(path));
        JsonElement root = document.RootElement;
        if (root.GetProperty("format").GetString() != "cellgen-fixture/1")
            throw new InvalidDataException($"{path}: unknown format {root.GetProperty("format")}");
        Dictionary<string, Tensor> Map(JsonElement e) => e.EnumerateObject().ToDictionary(p => p.Name, p => Tensor.Read(p.Value));
        JsonElement expected = root.GetProperty("expected");
        JsonElement tolerance = root.GetProperty("tolerance").GetProperty("float32");
        return new Fixture(
            Path.GetFileNameWithoutExtension(path),
            root.GetProperty("cell").GetString()!,
            root.GetProperty("equations").EnumerateArray().Select(e => e.GetString()!).ToArray(),
            root.GetProperty("inputSize").GetInt32(), root.GetProperty("hiddenSize").GetInt32(),
            root.GetProperty("batch").GetInt32(), root.GetProperty("steps").GetInt32(),
            Map(root.GetProperty("params")), Tensor.Read(root.GetProperty("x")), Map(root.GetProperty("initialState")),
            Tensor.Read(root.GetProperty("outputGrad")), Map(root.GetProperty("finalStateGrad")),
            Tensor.Read(expected.GetProperty("outputs")), Map(expected.GetProperty("finalState")), expected.GetProperty("loss").GetDouble(),
            Map(expected.GetProperty("paramGrads")), Tensor.Read(expected.GetProperty("inputGrad")), Map(expected.GetProperty("initialStateGrad")),
            tolerance.GetProperty("abs").GetDouble(), tolerance.GetProperty("rel").GetDouble(),
            root.TryGetProperty("output", out JsonElement output) ? output.GetString()! : "h",
            root.TryGetProperty("sizes", out JsonElement sizes) ? sizes.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32()) : new Dictionary<string, int>());
    }

    /// <summary>The folders of fixtures: CELLGEN_FIXTURES, or the copies in this project (the built-ins', the zoo's, and the language's version 3: heads, scalars).</summary>
    public static string[] Folders =>
        Environment.GetEnvironmentVariable("CELLGEN_FIXTURES") is { Length: > 0 } folder
            ? new[] { folder }
            : new[] { "pytorch", "zoo", "pytorch-v3" }.Select(name => Path.Combine(AppContext.BaseDirectory, "Fixtures", name)).ToArray();
}
