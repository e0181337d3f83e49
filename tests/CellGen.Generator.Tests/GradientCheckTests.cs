using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Xunit;
using Xunit.Abstractions;

namespace CellGen.Generator.Tests;

/// <summary>Finite-difference gradient checks of every built-in cell and of 300 random cells, run through the generator here.</summary>
[Trait("Category", "Slow")] // out of the daily loop (dotnet test --filter "Category!=Slow"); CI runs it
public sealed class GradientCheckTests
{
    private readonly ITestOutputHelper _output;

    public GradientCheckTests(ITestOutputHelper output) => _output = output;

    private const int RandomCellCount = 300; // cells keep their index's draws: more cells add cells, changing none

    private static Assembly Build(IEnumerable<(string Path, string Source)> files)
    {
        var result = GeneratorHarness.Run(GeneratorHarness.Compilation(files.ToArray()), emitFloat64: true);
        Assert.Null(result.GeneratorException);
        Assert.DoesNotContain(result.CellGenDiagnostics, d => d.Severity == DiagnosticSeverity.Error);
        return result.Load();
    }

    /// <summary>
    /// The cell at X and H (declared sizes get H / 2 + 1, so that they differ from H), or at X = H when it combines its
    /// input elementwise with H (its constructor says so).
    /// </summary>
    private static RecurrentCell<T> Create<T>(Type type, int x, int h) where T : unmanaged, System.Numerics.INumberBase<T>
    {
        // A cell with heads (block-diagonal matrices) takes sizes that are multiples of its number of blocks: rounded up.
        int heads = (type.DeclaringType ?? type).GetCustomAttributes<BlockDiagonalAttribute>().Select(a => a.Blocks)
            .Concat((type.DeclaringType ?? type).GetCustomAttributes<HeadsAttribute>().Select(a => a.Heads)).DefaultIfEmpty(1).Aggregate(Lcm);
        (x, h) = ((x + heads - 1) / heads * heads, (h + heads - 1) / heads * heads);
        ConstructorInfo constructor = type.GetConstructors().Single();
        object[] Arguments(int input) => constructor.GetParameters().Select((_, k) => (object)(k == 0 ? input : k == 1 ? h : h / 2 + 1)).ToArray();
        try
        {
            return (RecurrentCell<T>)constructor.Invoke(Arguments(x));
        }
        catch (TargetInvocationException e) when (e.InnerException is ArgumentException && x != h)
        {
            return (RecurrentCell<T>)constructor.Invoke(Arguments(h));
        }
    }

    private static int Lcm(int a, int b) => a / Gcd(a, b) * b;

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);

    public static IEnumerable<object[]> BuiltInCells() => SnapshotTests.BuiltInCells();

    private static readonly Lazy<Assembly> s_builtIns = new(() =>
        Build(Directory.GetFiles(Path.Combine(GeneratorHarness.RepositoryRoot, "src", "Cells"), "*.cs").Select(f => (f, File.ReadAllText(f)))));

    [Theory]
    [MemberData(nameof(BuiltInCells))]
    public void BuiltInCellGradientsMatchFiniteDifferences(string cell)
    {
        Type type = s_builtIns.Value.GetType($"CellGen.Cells.{cell}+Float64", throwOnError: true)!;
        // A layer has few tensors (an activation only its input and output): more entries of each, for as many probes.
        bool layer = type.DeclaringType?.BaseType?.Name == "Layer";
        var report = GradientChecks.Check(Create<double>(type, 5, 7), batch: 3, steps: layer ? 1 : 4, seed: cell.Length, entriesPerTensor: layer ? 48 : 12);
        Assert.True(report.Failures.Count == 0, string.Join("\n", report.Failures));
        Assert.True(report.Checked >= 40, $"only {report.Checked} probes");
        Assert.True(report.Kinks <= report.Checked / 20, $"{report.Kinks} of {report.Checked} probes at kinks");
    }

    private static readonly Lazy<(List<List<string>> Cells, Assembly Assembly)> s_random = new(() =>
    {
        var generator = new RandomCells(2026);
        var cells = Enumerable.Range(0, RandomCellCount).Select(_ => (Equations: generator.Next(), Sizes: generator.LastSizes)).ToList();
        Assembly assembly = Build(cells.Select((cell, i) => ($"Random{i}.cs", RandomCells.Source(cell.Equations, cell.Sizes, "Random" + i))));
        // The [Size] attributes join the equations, so that failures print the whole declaration.
        return (cells.Select(c => c.Sizes.Length > 0 ? c.Equations.Append(c.Sizes).ToList() : c.Equations).ToList(), assembly);
    });

    private static (int X, int H) SizesOf(int cell) => (1 + cell % 5, 1 + (cell * 7) % 9);

    /// <summary>Each construct of the language's versions 2 and 3, and each function of the table, is in at least 20 of the random cells.</summary>
    [Fact]
    public void RandomCellsCoverVersion2()
    {
        var (cells, assembly) = s_random.Value;
        var texts = cells.Select(c => string.Join("\n", c)).ToList();
        var constructs = new Dictionary<string, Func<string, bool>>
        {
            ["/"] = t => t.Contains(" / "),
            ["^"] = t => t.Contains('^'),
            ["x[t-k]"] = t => t.Contains("x[t-"),
            ["[Size]"] = t => t.Contains("[Size("),
            ["learnable scalar"] = t => t.Contains("\"1\")]"),
            ["block-diagonal"] = t => t.Contains("[BlockDiagonal("),
            ["zoneout"] = t => t.Contains("[Zoneout("),
            ["variational dropout"] = t => t.Contains("[VariationalDropout("),
            ["dropconnect"] = t => t.Contains("[DropConnect("),
            ["heads"] = t => t.Contains("[Heads("),
            ["a value per head"] = t => t.Contains("\"heads\")]"),
            ["matrix memory"] = t => t.Contains("\"matrix\")]"),
            ["C @ q"] = t => System.Text.RegularExpressions.Regex.IsMatch(t, @"\]\s*@"),
            ["outer with a broadcast argument"] = t => t.Contains("outer(1, ") || t.Contains("), 1)"),
            ["a matrix expression @ q"] = t => System.Text.RegularExpressions.Regex.IsMatch(t, @"\)\s*@"),
            ["a matrix intermediate @ q"] = t => t.Contains("[Size(\"N\", \"matrix\")]"),
            ["highway"] = t => false, // counted below, from the constructors
        };
        // Every function of the operation table, read from it: a new entry must reach the random cells too.
        foreach (CellGen.Generator.Model.Operation function in CellGen.Generator.Model.Operation.Functions)
            constructs[function.Name + "("] = t => function.Spellings.Any(spelling => t.Contains(spelling + "(", StringComparison.Ordinal));
        var counts = constructs.ToDictionary(c => c.Key, c => texts.Count(c.Value));
        counts["highway"] = Enumerable.Range(0, cells.Count).Count(i =>
        {
            RecurrentCell<float> cell = Create<float>(assembly.GetType($"Random{i}.C", throwOnError: true)!, 2, 3);
            return cell.InputSize == 3; // Create fell back to X = H
        });
        _output.WriteLine(string.Join(", ", counts.Select(c => $"{c.Key} {c.Value}")));
        Assert.All(counts, c => Assert.True(c.Value >= 20, $"{c.Key} is in only {c.Value} of {cells.Count} random cells"));
    }

    [Fact]
    public void RandomCellGradientsMatchFiniteDifferences()
    {
        var (cells, assembly) = s_random.Value;
        int probes = 0, kinks = 0;
        var failures = new List<string>();
        for (int i = 0; i < cells.Count; i++)
        {
            Type type = assembly.GetType($"Random{i}.C+Float64", throwOnError: true)!;
            (int x, int h) = SizesOf(i);
            RecurrentCell<double> cell = Create<double>(type, x, h);
            var report = GradientChecks.Check(cell, batch: 2, steps: 3, seed: i);
            probes += report.Checked;
            kinks += report.Kinks;
            foreach (string failure in report.Failures.Take(3)) failures.Add($"cell {i} (X={cell.InputSize}, H={cell.HiddenSize}): {failure}\n    {string.Join("\n    ", cells[i])}");
        }
        _output.WriteLine($"{cells.Count} random cells, {probes} probes, {kinks} at relu kinks");
        Assert.True(failures.Count == 0, $"{failures.Count} failures:\n" + string.Join("\n", failures.Take(10)));
        Assert.True(kinks <= probes / 50, $"{kinks} of {probes} probes at kinks");
    }

    /// <summary>
    /// The float code (every SIMD width and tail, as the machine allows) against the scalar double variant of the same
    /// cell, at sizes from 1 to 37 so that 16-, 8-, 4- and 1-lane tails all run, and at batches that take both step paths.
    /// </summary>
    [Fact]
    [Trait("Category", "Kernels")]
    public void RandomCellsInFloatMatchDouble()
    {
        var (cells, assembly) = s_random.Value;
        var failures = new List<string>();
        int overflowed = 0;
        for (int i = 0; i < cells.Count; i++)
        {
            Type single = assembly.GetType($"Random{i}.C", throwOnError: true)!;
            Type type = assembly.GetType($"Random{i}.C+Float64", throwOnError: true)!;
            // Batches of 3 run each step's product and sweep apart; batches of 6 run them fused, block by block of units.
            int x = 1 + (i * 3) % 23, h = 1 + (i * 11) % 37, batch = i % 2 == 0 ? 3 : 6;
            RecurrentCell<double> cell = Create<double>(type, x, h);
            var differences = GradientChecks.CompareSingleWithDouble(Create<float>(single, x, h), cell, batch, 4, i);
            if (differences is null) { overflowed++; continue; }
            foreach (string failure in differences.Take(2))
                failures.Add($"cell {i} (X={cell.InputSize}, H={cell.HiddenSize}): {failure}\n    {string.Join("\n    ", cells[i])}");
        }
        _output.WriteLine($"{cells.Count} random cells, {overflowed} overflowed in double and were not compared");
        Assert.True(failures.Count == 0, $"{failures.Count} failures:\n" + string.Join("\n", failures.Take(10)));
        Assert.True(overflowed <= cells.Count / 20, $"{overflowed} cells overflowed");
    }

    [Theory]
    [MemberData(nameof(BuiltInCells))]
    [Trait("Category", "Kernels")]
    public void BuiltInCellsInFloatMatchDoubleAtOddSizes(string cell)
    {
        // A layer's float cell is its nested Float32; a cell is its own class.
        Type single = s_builtIns.Value.GetType($"CellGen.Cells.{cell}+Float32") ?? s_builtIns.Value.GetType($"CellGen.Cells.{cell}", throwOnError: true)!;
        Type type = s_builtIns.Value.GetType($"CellGen.Cells.{cell}+Float64", throwOnError: true)!;
        // A batch of 3 runs each step's product and sweep apart, a batch of 6 fused.
        foreach ((int x, int h, int batch) in new[] { (13, 37, 6), (1, 16, 3), (29, 7, 6) })
        {
            // An sLSTM divides by its normaliser n, a sum of exponentials: its initial value must be positive, as the cell's own zero start makes it after one step.
            var failures = GradientChecks.CompareSingleWithDouble(Create<float>(single, x, h), Create<double>(type, x, h), batch, 5, x + h, cell == "Slstm" ? new[] { "n" } : null);
            Assert.NotNull(failures);
            Assert.True(failures!.Count == 0, $"X={x}, H={h}: " + string.Join("\n", failures));
        }
    }
}
