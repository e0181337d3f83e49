using System;
using System.IO;
using System.Linq;
using Xunit;

namespace CellGen.Tests;

/// <summary>
/// The samples' models and training loops (between the "model and training: begin/end" markers, blank lines and
/// comments not counted) stay within 1.5 times the lines of the same model in PyTorch (samples/*/pytorch.py).
/// </summary>
public sealed class SampleTests
{
    /// <summary>The counted lines of a sample file, between its markers.</summary>
    public static int ModelLines(string path)
    {
        string[] lines = File.ReadAllLines(path);
        int begin = Array.FindIndex(lines, l => l.Contains("model and training: begin"));
        int end = Array.FindIndex(lines, l => l.Contains("model and training: end"));
        Assert.True(begin >= 0 && end > begin, $"{path} has no 'model and training: begin/end' markers");
        return lines[(begin + 1)..end].Count(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith("//") && !l.TrimStart().StartsWith('#'));
    }

    [Theory]
    [InlineData("Sentiment")]
    [InlineData("Translate")]
    [InlineData("CharLm")]
    public void TheModelAndItsTrainingTakeAtMostOneAndAHalfTimesPyTorchsLines(string sample)
    {
        string folder = Path.Combine(TestFiles.Root(), "samples", sample);
        int ours = ModelLines(Path.Combine(folder, "Program.cs")), pytorch = ModelLines(Path.Combine(folder, "pytorch.py"));
        Assert.True(ours <= 1.5 * pytorch, $"{sample}: {ours} lines of C# against {pytorch} of PyTorch ({(double)ours / pytorch:F2} times)");
    }

    /// <summary>Issue 27: the digits task, data loading included, in at most 1.2 times PyTorch's lines (whole files, blank lines and comments not counted).</summary>
    [Fact]
    public void TheDigitsSampleWholeTakesAtMostOnePointTwoTimesPyTorchsLines()
    {
        static int Lines(string path) => File.ReadAllLines(path).Count(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith("//") && !l.TrimStart().StartsWith('#'));
        string folder = Path.Combine(TestFiles.Root(), "samples", "Digits");
        int ours = Lines(Path.Combine(folder, "Program.cs")), pytorch = Lines(Path.Combine(folder, "pytorch.py"));
        Assert.True(ours <= 1.2 * pytorch, $"Digits: {ours} lines of C# against {pytorch} of PyTorch ({(double)ours / pytorch:F2} times)");
    }

    /// <summary>The README shows samples/Digits as it is (its code below the two lines of comment at the top).</summary>
    [Fact]
    public void TheReadmeShowsTheDigitsSampleAsItIs()
    {
        string program = string.Join("\n", File.ReadAllLines(Path.Combine(TestFiles.Root(), "samples", "Digits", "Program.cs")).Skip(2)).TrimEnd();
        Assert.Contains("```csharp\n" + program + "\n```", File.ReadAllText(Path.Combine(TestFiles.Root(), "README.md")).ReplaceLineEndings("\n"));
    }
}
