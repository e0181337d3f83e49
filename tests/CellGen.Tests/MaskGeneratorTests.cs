using System;
using System.Linq;
using Xunit;

namespace CellGen.Tests;

/// <summary>The masks of the cells' dropouts: Fill draws hit below the threshold with its frequency, branch-free, at every length.</summary>
public sealed class MaskGeneratorTests
{
    [Theory]
    [InlineData(0.3f, 100_001)]
    [InlineData(0.5f, 65_536)]
    [InlineData(0.05f, 99_999)]
    public void FillHitsWithTheThresholdsFrequency(float threshold, int length)
    {
        var generator = new MaskGenerator(7);
        var mask = new float[length];
        generator.Fill<float>(mask, threshold, 2f, -1f);
        Assert.All(mask, v => Assert.True(v is 2f or -1f));
        double rate = mask.Count(v => v == 2f) / (double)length;
        double sd = Math.Sqrt(threshold * (1 - threshold) / length);
        Assert.InRange(rate, threshold - 6 * sd, threshold + 6 * sd);
        // Every position of the pairs each output gives, and the last odd one, draws both values.
        Assert.Contains(2f, mask.Where((_, i) => i % 2 == 0));
        Assert.Contains(2f, mask.Where((_, i) => i % 2 == 1));
    }

    [Fact]
    public void FillAtTheEndsAndFromTheSameStateAgain()
    {
        var mask = new double[1001];
        var generator = new MaskGenerator(3);
        generator.Fill<double>(mask, 0f, 1, 0);
        Assert.All(mask, v => Assert.Equal(0, v));
        generator.Fill<double>(mask, 1f, 1, 0);
        Assert.All(mask, v => Assert.Equal(1, v));
        var a = new MaskGenerator(11);
        var b = new MaskGenerator(11);
        var first = new float[333];
        var second = new float[333];
        a.Fill<float>(first, 0.5f, 1, 0);
        b.Fill<float>(second, 0.5f, 1, 0);
        Assert.Equal(first, second);
        a.Fill<float>(first, 0.5f, 1, 0);
        Assert.NotEqual(second, first); // the state moved on
    }
}
