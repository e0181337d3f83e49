using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Xunit;

namespace CellGen.Tests;

/// <summary>Where the tests find the repository's files and the fixtures PyTorch wrote, and how they compare with them.</summary>
internal static class TestFiles
{
    /// <summary>The repository's root: the folder above the test assembly that holds CellGen.sln.</summary>
    public static string Root()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
            if (File.Exists(Path.Combine(dir, "CellGen.sln"))) return dir;
        throw new DirectoryNotFoundException("CellGen.sln not found above the test assembly.");
    }

    /// <summary>The "cases" of a fixture file beside the tests, Fixtures/<paramref name="folder"/>/<paramref name="file"/>.</summary>
    public static JsonElement[] Cases(string folder, string file) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", folder, file))).RootElement.GetProperty("cases").EnumerateArray().ToArray();

    /// <summary>The indices of <paramref name="cases"/>, as theory data.</summary>
    public static TheoryData<int> Indices(JsonElement[] cases)
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < cases.Length; i++) data.Add(i);
        return data;
    }

    /// <summary>A fixture tensor's values ({"shape", "data"}) as floats.</summary>
    public static float[] Floats(JsonElement tensor) => tensor.GetProperty("data").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();

    /// <summary>A fixture tensor's shape.</summary>
    public static int[] Shape(JsonElement tensor) => tensor.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();

    /// <summary>Float results against PyTorch's float64 ones: 2e-5 absolute plus 2e-5 relative, element by element.</summary>
    public static void Near(float[] expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-5 + 2e-5 * Math.Abs(expected[i]), $"{what}[{i}]: PyTorch {expected[i]}, CellGen {actual[i]}");
    }
}
