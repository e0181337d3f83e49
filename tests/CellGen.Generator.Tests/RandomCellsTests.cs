using System.Linq;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>The random cells stay put as their generator grows: a new construct changes only the cells it is drawn in.</summary>
public sealed class RandomCellsTests
{
    [Fact]
    public void AddingAFunctionChangesOnlyTheCellsThatDrawIt()
    {
        var before = new RandomCells(2026);
        var after = new RandomCells(2026, extraFunction: "newfunction");
        int unchanged = 0;
        for (int i = 0; i < 200; i++)
        {
            var (a, aSizes) = (before.Next(), before.LastSizes);
            var (b, bSizes) = (after.Next(), after.LastSizes);
            if (b.Any(e => e.Contains("newfunction(", System.StringComparison.Ordinal))) continue;
            Assert.Equal(a, b);
            Assert.Equal(aSizes, bSizes);
            unchanged++;
        }
        // The new function is one option of six at each draw of a function: most cells never draw it.
        Assert.InRange(unchanged, 60, 190);
    }

    [Fact]
    public void EachCellDependsOnItsIndexAlone()
    {
        var all = new RandomCells(7);
        var cells = Enumerable.Range(0, 30).Select(_ => all.Next()).ToList();
        var again = new RandomCells(7);
        Assert.Equal(cells, Enumerable.Range(0, 30).Select(_ => again.Next()).ToList());
        Assert.True(cells.Distinct(new SequenceComparer()).Count() >= 29);
    }

    private sealed class SequenceComparer : System.Collections.Generic.IEqualityComparer<System.Collections.Generic.List<string>>
    {
        public bool Equals(System.Collections.Generic.List<string>? x, System.Collections.Generic.List<string>? y) => x!.SequenceEqual(y!);

        public int GetHashCode(System.Collections.Generic.List<string> list) => string.Join("\n", list).GetHashCode();
    }
}
