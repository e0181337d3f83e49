using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>
/// 10,000 random and mutated equation sets: the generator never throws (no CS8785) and each cell yields either code
/// that compiles or at least one CG diagnostic.
/// </summary>
[Trait("Category", "Slow")] // out of the daily loop (dotnet test --filter "Category!=Slow"); CI runs it
public sealed class FuzzTests
{
    private const int Cells = 10_000;
    private const int PerCompilation = 500;
    private const string Alphabet = "hxcWbgt[]()@*+-/^,=.0123456789 σ⊙·_iofelpqnamdMru"; // d, M, r, u: dot, outer, a matrix memory M

    private static string Mutate(string text, Random random)
    {
        var chars = text.ToList();
        int edits = random.Next(1, 4);
        for (int e = 0; e < edits; e++)
        {
            int at = random.Next(chars.Count + 1);
            switch (random.Next(4))
            {
                case 0 when chars.Count > 0 && at < chars.Count: chars.RemoveAt(at); break;
                case 1: chars.Insert(at, Alphabet[random.Next(Alphabet.Length)]); break;
                case 2 when at < chars.Count: chars[at] = Alphabet[random.Next(Alphabet.Length)]; break;
                default:
                    if (chars.Count > 2) { int a = random.Next(chars.Count), b = random.Next(chars.Count); (chars[a], chars[b]) = (chars[b], chars[a]); }
                    break;
            }
        }
        return new string(chars.ToArray());
    }

    private static List<string> Case(int index, Random random, RandomCells valid)
    {
        List<string> equations = valid.Next();
        switch (index % 4)
        {
            case 0: return equations; // well formed
            case 1: // one equation mutated
            {
                int k = random.Next(equations.Count);
                equations[k] = Mutate(equations[k], random);
                return equations;
            }
            case 2: // equations dropped, duplicated or swapped
            {
                if (equations.Count > 1 && random.Next(2) == 0) equations.RemoveAt(random.Next(equations.Count));
                else equations.Insert(random.Next(equations.Count + 1), equations[random.Next(equations.Count)]);
                if (equations.Count > 1) { int a = random.Next(equations.Count), b = random.Next(equations.Count); (equations[a], equations[b]) = (equations[b], equations[a]); }
                return equations;
            }
            default: // random soup
                return Enumerable.Range(0, random.Next(1, 4))
                    .Select(_ => new string(Enumerable.Range(0, random.Next(0, 30)).Select(_ => Alphabet[random.Next(Alphabet.Length)]).ToArray()))
                    .ToList();
        }
    }

    /// <summary>A [BlockDiagonal] with another number of blocks (none, negative, too many, not dividing) or another matrix's name.</summary>
    private static string MutateBlocks(string attributes, Random random) =>
        System.Text.RegularExpressions.Regex.Replace(attributes, @"\[BlockDiagonal\(""([^""]*)"", (\d+)\)\]", m => random.Next(3) switch
        {
            0 => $"[BlockDiagonal(\"{m.Groups[1].Value}\", {new[] { -1, 0, 1, 5, 7, 4097, int.MaxValue }[random.Next(7)]})]",
            1 => $"[BlockDiagonal(\"{new[] { "h", "x", "b0", "W0", "Q", "" }[random.Next(6)]}\", {m.Groups[2].Value})]",
            _ => m.Value + m.Value, // declared twice
        });

    /// <summary>A [Zoneout], [VariationalDropout] or [DropConnect] with another p (out of [0, 1), not a number), another name, another kind, or twice.</summary>
    private static string MutateDropouts(string attributes, Random random) =>
        System.Text.RegularExpressions.Regex.Replace(attributes, @"\[(Zoneout|VariationalDropout|DropConnect)\(""([^""]*)"", ([^)]*)\)\]", m => random.Next(4) switch
        {
            0 => $"[{m.Groups[1].Value}(\"{m.Groups[2].Value}\", {new[] { "-0.1", "1", "1.5", "double.NaN", "double.PositiveInfinity", "0", "0.999999" }[random.Next(7)]})]",
            1 => $"[{m.Groups[1].Value}(\"{new[] { "h", "x", "b0", "W0", "g0", "q", "Q", "" }[random.Next(8)]}\", {m.Groups[3].Value})]",
            2 => $"[{new[] { "Zoneout", "VariationalDropout", "DropConnect" }[random.Next(3)]}(\"{m.Groups[2].Value}\", {m.Groups[3].Value})]",
            _ => m.Value + m.Value, // declared twice
        });

    /// <summary>
    /// [Heads] with another number (none, negative, too many, not dividing H) or gone; a "heads" or "matrix" size moved to
    /// another name (a parameter, the input, the output, a matrix) or swapped for the other.
    /// </summary>
    private static string MutateHeads(string attributes, Random random)
    {
        attributes = System.Text.RegularExpressions.Regex.Replace(attributes, @"\[Heads\((\d+)\)\]", m => random.Next(3) switch
        {
            0 => $"[Heads({new[] { -1, 0, 1, 5, 7, 4097, int.MaxValue }[random.Next(7)]})]",
            1 => "",
            _ => m.Value,
        });
        return System.Text.RegularExpressions.Regex.Replace(attributes, @"\[Size\(""([^""]*)"", ""(heads|matrix)""\)\]", m => random.Next(3) switch
        {
            0 => $"[Size(\"{new[] { "h", "x", "b0", "W0", "g0", "e", "M", "q", "" }[random.Next(9)]}\", \"{m.Groups[2].Value}\")]",
            1 => $"[Size(\"{m.Groups[1].Value}\", \"{(m.Groups[2].Value == "heads" ? "matrix" : "heads")}\")]",
            _ => "",
        });
    }

    private static readonly string[] ClassShapes =
    {
        "public partial class C;", "public sealed partial class C;", "public abstract partial class C;", "public static partial class C;",
        "file partial class C;", "public partial record C;", "public partial struct C;", "public partial class C(int a);",
        "public partial class C<T>;", "public class C;", "public partial class C { public C(int a, int b) : base(a, b) { } }",
        "public partial class C : System.Exception;", "public partial class C { private int Runner; }", "public partial class @class;",
        "public partial class Runner;", "public partial class Equations;", "partial class O { public partial class C; }",
        "class O { public partial class C; }", "public partial interface C;", "public partial record struct C;",
    };

    [Fact]
    public void GeneratorNeverThrowsAndEveryCellCompilesOrIsDiagnosed()
    {
        var random = new Random(20261122);
        var valid = new RandomCells(20261122);
        int compiled = 0, diagnosed = 0;
        for (int start = 0; start < Cells; start += PerCompilation)
        {
            var files = new List<(string Path, string Source)>();
            for (int i = start; i < start + PerCompilation; i++)
            {
                var equations = Case(i, random, valid);
                string attributes = i % 4 != 3 ? valid.LastSizes : "";
                if (i % 8 == 1) attributes = MutateBlocks(attributes, random);
                if (i % 8 == 5) attributes = MutateDropouts(attributes, random);
                if (i % 8 == 2) attributes = MutateHeads(attributes, random);
                string source = RandomCells.Source(equations, attributes, "Fuzz" + i);
                // One cell in five has its class declaration mutated too: another shape, modifiers, a primary constructor.
                if (i % 5 == 4) source = source.Replace("public partial class C;", ClassShapes[random.Next(ClassShapes.Length)]);
                files.Add(($"Cell{i}.cs", source));
            }
            var result = GeneratorHarness.Run(GeneratorHarness.Compilation(files.ToArray()));
            Assert.Null(result.GeneratorException);
            Assert.Empty(result.Crashes);

            var errorsByFile = result.Output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error)
                .GroupBy(d => d.Location.SourceTree?.FilePath ?? "").ToDictionary(g => g.Key, g => g.First());
            var cgByFile = result.CellGenDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.Location.SourceTree?.FilePath ?? d.Location.GetLineSpan().Path).ToHashSet();
            for (int i = start; i < start + PerCompilation; i++)
            {
                string file = $"Cell{i}.cs";
                if (cgByFile.Contains(file)) { diagnosed++; continue; }
                string generated = result.RunResult.GeneratedTrees.FirstOrDefault(t => System.IO.Path.GetFileName(t.FilePath).StartsWith($"Fuzz{i}.", StringComparison.Ordinal))?.FilePath ?? "";
                Assert.True(generated.Length > 0, $"{file}: neither generated code nor a CG error:\n{files[i - start].Source}");
                Assert.False(errorsByFile.TryGetValue(generated, out Diagnostic? error), $"{file}: generated code does not compile: {error}\n{files[i - start].Source}");
                Assert.False(errorsByFile.ContainsKey(file), $"{file}: {errorsByFile.GetValueOrDefault(file)}");
                compiled++;
            }
        }
        Assert.Equal(Cells, compiled + diagnosed);
        Assert.True(compiled > Cells / 5 && diagnosed > Cells / 5, $"compiled {compiled}, diagnosed {diagnosed}");
    }
}
