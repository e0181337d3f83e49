using System;
using System.Collections.Generic;
using System.Linq;

namespace CellGen.Generator.Tests;

/// <summary>
/// Random well-formed cells over the whole language: states and intermediates in random order, + - * ⊙ / and unary -,
/// every function (each kept inside its domain: log and sqrt of positive values, exp of bounded ones, division by
/// values away from zero), @ and · with concatenations of any parts (expressions of the hidden size, or of the input
/// size such as tanh(x[t]) and x[t-2]), numbers, parameter vectors of both sizes, shared matrices, s[t] read after
/// its equation, and highways (the input combined elementwise with H, so that the cell needs X = H).
/// </summary>
public sealed class RandomCells
{
    private readonly Random _random;
    private int _names;
    private readonly List<(string Name, List<bool> Parts)> _matrices = new();
    private List<string> _hidden = new();

    public RandomCells(int seed) => _random = new Random(seed);

    private bool Chance(double p) => _random.NextDouble() < p;

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    private string Fresh(string prefix) => prefix + _names++;

    private string Number() => Pick(new[] { "0.5", "2", "1", "0.25", "1.5", "3e-1", "0.75" });

    // Entries are swapped, not added, so that the cells keep their shapes (a longer list would reshuffle every draw).
    private string Function() => Pick(new[] { "sigmoid", "σ", "tanh", "relu", "tanh", "softsign" });

    private string Times() => Chance(0.2) ? " ⊙ " : " * ";

    /// <summary>x[t], or the input of an earlier step.</summary>
    private string Input() => Chance(0.3) ? $"x[t-{_random.Next(1, 4)}]" : "x[t]";

    /// <summary>A function of version 2 applied to an expression, kept inside its domain.</summary>
    private string Function2(string e, string other) => _random.Next(16) switch
    {
        0 => $"exp({Number()} * tanh({e}))",
        1 => $"log(1 + sigmoid({e}))",
        2 => $"softplus({e})",
        3 => $"abs({e})",
        4 => $"sqrt({Operand(e)} * {Operand(e)} + 1)",
        5 => $"min({e}, {other})",
        6 => $"max({e}, {Number()})",
        7 => $"{Operand(e)} / (1 + abs({other}))",
        8 => $"log(2 + tanh({e})) / {Number()}",
        10 => $"sqrt(1 + sigmoid({e}))",
        11 => $"min({Number()}, {e})",
        12 => $"{Operand(e)} - mean({e})",
        13 => $"mean({e}) * {Operand(other)}",
        14 => $"{Number()} * layernorm({e}) + {Operand(other)}",
        15 => $"layernorm({e}) * sigmoid({other})",
        _ => $"{Operand(e)} / (2 + sigmoid({other}))",
    };

    private string At() => Chance(0.2) ? " · " : " @ ";

    /// <summary>An expression of the input size X: reads x[t], nothing of the hidden size.</summary>
    private string InputExpression(int depth)
    {
        if (depth <= 0) return Input();
        return _random.Next(7) switch
        {
            0 => $"{Function()}({InputExpression(depth - 1)})",
            1 => $"{Number()}{Times()}{InputExpression(depth - 1)}",
            2 => $"{Fresh("q")}{Times()}{Input()}",
            3 => $"-{InputExpression(depth - 1)}",
            4 => $"({InputExpression(depth - 1)} - {Number()})",
            5 => Function2(InputExpression(depth - 1), InputExpression(0)),
            _ => Input(),
        };
    }

    private string Product(int depth, bool needInput)
    {
        if (_matrices.Count > 0 && Chance(0.15))
        {
            var (shared, sizes) = Pick(_matrices);
            return shared + At() + Concatenation(sizes.Select(isInput => isInput ? InputExpression(depth - 1) : HiddenExpression(depth - 1, false)).ToList());
        }
        int count = _random.Next(1, 4);
        var kinds = Enumerable.Range(0, count).Select(_ => Chance(0.4)).ToList();
        if (needInput && !kinds.Contains(true)) kinds[_random.Next(count)] = true;
        string name = Fresh("W");
        _matrices.Add((name, kinds));
        return name + At() + Concatenation(kinds.Select(isInput => isInput ? InputExpression(Chance(0.6) ? 0 : depth - 1) : HiddenExpression(depth - 1, false)).ToList());
    }

    private string Concatenation(List<string> parts) => parts.Count == 1 && Chance(0.5) ? Operand(parts[0]) : "[" + string.Join(", ", parts) + "]";

    private static string Operand(string expression) =>
        !expression.StartsWith("-") && expression.All(c => char.IsLetterOrDigit(c) || c is '_' or '[' or ']' or '-') ? expression : "(" + expression + ")";

    /// <summary>An expression of the hidden size H.</summary>
    private string HiddenExpression(int depth, bool needInput)
    {
        if (needInput) return Pick(new Func<string>[]
        {
            () => Product(depth, true),
            () => $"{Function()}({Product(depth, true)} + {Fresh("b")})",
            () => $"{HiddenExpression(depth - 1, false)} + {Product(depth, true)}",
        })();
        if (depth <= 0) return Chance(0.8) ? Pick(_hidden) : Fresh("p");
        return _random.Next(13) switch
        {
            9 or 10 or 12 => Function2(HiddenExpression(depth - 1, false), HiddenExpression(depth - 1, false)),
            // Highways (X = H): the other side is a state or an intermediate, whose size H is known.
            11 when Chance(0.5) => $"{Pick(_hidden)}{Times()}{Input()}",
            11 => $"(1 - sigmoid({Pick(_hidden)})){Times()}tanh({Input()})",
            0 => $"{HiddenExpression(depth - 1, false)} + {HiddenExpression(depth - 1, false)}",
            1 => $"{HiddenExpression(depth - 1, false)} - {Operand(HiddenExpression(depth - 1, false))}",
            2 => $"{Operand(HiddenExpression(depth - 1, false))}{Times()}{Operand(HiddenExpression(depth - 1, false))}",
            3 => $"{Function()}({HiddenExpression(depth - 1, false)})",
            4 => $"-{Operand(HiddenExpression(depth - 1, false))}",
            5 => $"{Function()}({Product(depth, false)} + {Fresh("b")})",
            6 => $"({Number()} - {HiddenExpression(depth - 1, false)}){Times()}{Operand(HiddenExpression(depth - 1, false))}",
            7 => Product(depth, false),
            _ => $"{Number()}{Times()}{Operand(HiddenExpression(depth - 1, false))}",
        };
    }

    /// <summary>A random cell: its equations, its states (the output is h).</summary>
    public List<string> Next()
    {
        _names = 0;
        _matrices.Clear();
        int stateCount = _random.Next(1, 4);
        var states = new List<string> { "h" };
        for (int s = 1; s < stateCount; s++) states.Add(Pick(new[] { "c", "m", "s", "n2" }.Where(n => !states.Contains(n)).ToList()));
        int intermediateCount = _random.Next(0, 4);
        var order = states.Select(s => (Name: s, State: true)).Concat(Enumerable.Range(0, intermediateCount).Select(i => (Name: "g" + i, State: false)))
            .OrderBy(_ => _random.Next()).ToList();
        _hidden = states.Select(s => s + "[t-1]").ToList();
        var equations = new List<string>();
        bool inputUsed = false;
        foreach (var (name, isState) in order)
        {
            bool needInput = !inputUsed;
            string value = HiddenExpression(_random.Next(1, 4), needInput);
            inputUsed = true;
            string target = isState ? name + "[t]" : name;
            equations.Add($"{target}{new string(' ', _random.Next(1, 3))}= {value}");
            _hidden.Add(target);
        }
        LastSizes = "";
        if (Chance(0.25))
        {
            // A state of a size of its own, P: it is made by a product of H values (and of itself) and reaches the H
            // equations through a product, so that sizes meet only where matrices join them.
            string read = Chance(0.5) ? "q[t-1]" : "q[t]";
            int at = _random.Next(equations.Count + 1), user = _random.Next(equations.Count);
            string own = $"q[t] = {Pick(new[] { "tanh", "sigmoid", "softplus" })}({Fresh("Wq")} @ [{Pick(_hidden.Take(states.Count).ToList())}, q[t-1]] + {Fresh("bq")})";
            if (read == "q[t]") { at = 0; user = _random.Next(equations.Count); }
            equations[user] += $" + {Fresh("Wr")} @ {read}";
            equations.Insert(at, own);
            LastSizes = "[Size(\"q\", \"P\")]";
        }
        return equations;
    }

    /// <summary>The [Size] attributes of the last cell (one line, or empty).</summary>
    public string LastSizes { get; private set; } = "";

    /// <summary>A cell's source: its equations (escaped for a C# string) and its [Size] attributes.</summary>
    public static string Source(IEnumerable<string> equations, string sizes, string ns) =>
        GeneratorHarness.Cell("C", equations.Select(e => e.Replace("\\", "\\\\").Replace("\"", "\\\"")), ns: ns)
            .Replace("public partial class", sizes + (sizes.Length > 0 ? "\n" : "") + "public partial class");

}
