using System;
using System.Collections.Generic;
using System.Linq;

namespace CellGen.Generator.Tests;

/// <summary>
/// Random well-formed cells over the whole language: states and intermediates in random order, + - * ⊙ / and unary -,
/// every function (each kept inside its domain: log and sqrt of positive values, exp and powers of bounded ones, division by
/// values away from zero), @ and · with concatenations of any parts (expressions of the hidden size, or of the input
/// size such as tanh(x[t]) and x[t-2]), numbers, parameter vectors of both sizes, shared matrices, s[t] read after
/// its equation, and highways (the input combined elementwise with H, so that the cell needs X = H).
/// </summary>
///
/// Draws stay put as the generator grows: each cell has its own seed (the generator's seed and the cell's index), and
/// every named option of a choice (<see cref="Choose"/>) has its own stream, drawn whether or not it is chosen. Adding
/// a function, or a case of a switch, leaves every cell the new option does not win exactly as it was; only the cells
/// it wins change (about 1 in n+1 choices of that point).
/// </summary>
public sealed class RandomCells
{
    private readonly int _seed;
    private int _cell, _current;
    private readonly string? _extraFunction;
    private Random _random = new(0);
    private readonly Dictionary<string, Random> _streams = new();
    private int _names;
    private readonly List<(string Name, List<bool> Parts)> _matrices = new();
    private List<string> _hidden = new();

    /// <param name="extraFunction">A function added to those drawn, as a new entry would be (for the test that the draws stay put).</param>
    public RandomCells(int seed, string? extraFunction = null) => (_seed, _extraFunction) = (seed, extraFunction);

    private bool Chance(double p) => _random.NextDouble() < p;

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    /// <summary>
    /// One option of a choice point, each taken with probability weight / total: every option draws a key from its own
    /// stream and the least key wins (exponential keys, so the weights hold); the main stream is not touched.
    /// </summary>
    private string Choose(string point, params (string Name, double Weight, Func<string> Make)[] options)
    {
        (string Name, double Weight, Func<string> Make) best = options[0];
        double least = double.MaxValue;
        foreach (var option in options)
        {
            string key = point + "/" + option.Name;
            if (!_streams.TryGetValue(key, out Random? stream)) _streams[key] = stream = new Random(Mix(_seed, _current, key));
            double draw = -Math.Log(1 - stream.NextDouble()) / option.Weight;
            if (draw < least) (least, best) = (draw, option);
        }
        return best.Make();
    }

    private static (string, double, Func<string>) Option(string name, Func<string> make, double weight = 1) => (name, weight, make);

    /// <summary>A seed from the generator's seed, the cell's index and an option's name (FNV-1a: string hashes change per process).</summary>
    private static int Mix(int seed, int cell, string name)
    {
        uint hash = 2166136261;
        foreach (char c in $"{seed}:{cell}:{name}") hash = (hash ^ c) * 16777619;
        return (int)(hash & 0x7fffffff);
    }

    private string Fresh(string prefix) => prefix + _names++;

    private readonly List<string> _scalars = new();
    private readonly List<string> _blockMatrices = new();
    private int _blocks;

    /// <summary>A new block-diagonal matrix times an expression of the input size (hoisted out of the loop when it reads only x).</summary>
    private string BlockInputProduct(int depth)
    {
        string name = Fresh("R");
        _blockMatrices.Add(name);
        return $"{name}{At()}{Operand(InputExpression(depth - 1))}";
    }

    /// <summary>A new block-diagonal matrix ([BlockDiagonal(name, n)], n the cell's number of heads) times an expression of the hidden size.</summary>
    private string BlockProduct(int depth)
    {
        string name = Fresh("R");
        _blockMatrices.Add(name);
        return $"{name}{At()}{Operand(HiddenExpression(depth - 1, false))}";
    }

    private bool _heads;

    /// <summary>A state or an intermediate times a bounded dot product per head of two values of H.</summary>
    private string Dot(int depth)
    {
        _heads = true;
        // A state or an intermediate on the left: its size H is known (a new parameter vector there would take the dot's).
        return $"{Pick(_hidden)}{Times()}max(tanh(dot({HiddenExpression(depth - 1, false)}, {Pick(_hidden)})), -0.5)";
    }

    /// <summary>A new learnable scalar, declared by the cell's [Size(name, "1")].</summary>
    private string Scalar()
    {
        string name = Fresh("a");
        _scalars.Add(name);
        return name;
    }

    private string Number() => Choose("number", new[] { "0.5", "2", "1", "0.25", "1.5", "3e-1", "0.75" }.Select(n => Option(n, () => n)).ToArray());

    private string Function() => Choose("function", new[]
    {
        Option("sigmoid", () => "sigmoid"), Option("σ", () => "σ"), Option("tanh", () => "tanh", 2), Option("relu", () => "relu"), Option("softsign", () => "softsign"), Option("elu", () => "elu"),
        Option("logsigmoid", () => "logsigmoid"), Option("silu", () => "silu"), Option("hardsigmoid", () => "hardsigmoid"), Option("hardtanh", () => "hardtanh"), Option("gelu", () => "gelu"),
    }.Concat(_extraFunction is { } extra ? new[] { Option(extra, () => extra) } : Array.Empty<(string, double, Func<string>)>()).ToArray());

    private string Times() => Chance(0.2) ? " ⊙ " : " * ";

    /// <summary>x[t], or the input of an earlier step.</summary>
    private string Input() => Chance(0.3) ? $"x[t-{_random.Next(1, 4)}]" : "x[t]";

    /// <summary>A function of version 2 applied to an expression, kept inside its domain.</summary>
    private string Function2(string e, string other) => Choose("function2",
        Option("exp", () => $"exp({Number()} * tanh({e}))", 2),
        Option("log", () => $"log(1 + sigmoid({e}))"),
        Option("softplus", () => $"softplus({e})"),
        Option("abs", () => $"abs({e})"),
        Option("sqrt", () => $"sqrt({Operand(e)} * {Operand(e)} + 1)"),
        Option("min", () => $"min({e}, {other})"),
        Option("max", () => $"max({e}, {Number()})"),
        Option("divide by abs", () => $"{Operand(e)} / (1 + abs({other}))"),
        Option("log over number", () => $"log(2 + tanh({e})) / {Number()}"),
        Option("sqrt sigmoid", () => $"sqrt(1 + sigmoid({e}))"),
        Option("min number", () => $"min({Number()}, {e})"),
        Option("minus mean", () => $"{Operand(e)} - mean({e})"),
        Option("mean times", () => $"mean({e}) * {Operand(other)}"),
        Option("layernorm affine", () => $"{Number()} * layernorm({e}) + {Operand(other)}"),
        Option("layernorm gated", () => $"layernorm({e}) * sigmoid({other})"),
        Option("divide by sigmoid", () => $"{Operand(e)} / (2 + sigmoid({other}))", 2),
        // A power of a bounded value, as exp's argument is bounded: a cube of a state feeding itself would explode.
        Option("power", () => $"tanh({e})^{Choose("exponent", Option("2", () => "2"), Option("3", () => "3"))} * {Number()}"),
        Option("reciprocal power", () => $"(1 + {Operand(e)}^2)^-1"));

    private string At() => Chance(0.2) ? " · " : " @ ";

    /// <summary>An expression of the input size X: reads x[t], nothing of the hidden size.</summary>
    private string InputExpression(int depth)
    {
        if (depth <= 0) return Input();
        return Choose("input expression",
            Option("function", () => $"{Function()}({InputExpression(depth - 1)})"),
            Option("scaled", () => $"{Number()}{Times()}{InputExpression(depth - 1)}"),
            Option("weighted", () => $"{Fresh("q")}{Times()}{Input()}"),
            Option("negated", () => $"-{InputExpression(depth - 1)}"),
            Option("shifted", () => $"({InputExpression(depth - 1)} - {Number()})"),
            Option("function2", () => Function2(InputExpression(depth - 1), InputExpression(0))),
            Option("input", Input));
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
        return Choose("hidden expression",
            Option("function2", () => Function2(HiddenExpression(depth - 1, false), HiddenExpression(depth - 1, false)), 3),
            // Highways (X = H): the other side is a state or an intermediate, whose size H is known.
            Option("highway", () => $"{Pick(_hidden)}{Times()}{Input()}", 0.5),
            Option("gated highway", () => $"(1 - sigmoid({Pick(_hidden)})){Times()}tanh({Input()})", 0.5),
            Option("sum", () => $"{HiddenExpression(depth - 1, false)} + {HiddenExpression(depth - 1, false)}"),
            Option("difference", () => $"{HiddenExpression(depth - 1, false)} - {Operand(HiddenExpression(depth - 1, false))}"),
            Option("product", () => $"{Operand(HiddenExpression(depth - 1, false))}{Times()}{Operand(HiddenExpression(depth - 1, false))}"),
            Option("function", () => $"{Function()}({HiddenExpression(depth - 1, false)})"),
            Option("negated", () => $"-{Operand(HiddenExpression(depth - 1, false))}"),
            Option("gate", () => $"{Function()}({Product(depth, false)} + {Fresh("b")})"),
            Option("complement", () => $"({Number()} - {HiddenExpression(depth - 1, false)}){Times()}{Operand(HiddenExpression(depth - 1, false))}"),
            Option("matrix product", () => Product(depth, false)),
            Option("scaled", () => $"{Number()}{Times()}{Operand(HiddenExpression(depth - 1, false))}"),
            // A learnable scalar ([Size(name, "1")]), alone or through a function of it, scaling a state or an intermediate:
            // a scalar times parameters alone can make a state that barely varies over its features, whose layernorm then
            // multiplies float's error by 1 / its spread (1e-3 relative measured on the scalar path), a test of float,
            // not of the code.
            Option("learnable scalar", () => $"{Scalar()}{Times()}{Pick(_hidden)}", 0.5),
            Option("function of a scalar", () => $"{Function()}({Scalar()}) * {Pick(_hidden)}", 0.5),
            // A block-diagonal matrix (heads); H and X are then multiples of the cell's number of blocks (the tests round them up).
            Option("block product", () => BlockProduct(depth)),
            Option("block input product", () => BlockInputProduct(depth), 0.5),
            Option("block gate", () => $"{Function()}({BlockProduct(depth)} + {Fresh("b")})"),
            // A dot product per head ([Heads(n)], n the cell's number of blocks), bounded, broadcast over its head's units.
            Option("dot", () => Dot(depth)));
    }

    /// <summary>A random cell: its equations, its states (the output is h).</summary>
    public List<string> Next()
    {
        _current = _cell++;
        _random = new Random(Mix(_seed, _current, ""));
        _streams.Clear();
        _scalars.Clear();
        _blockMatrices.Clear();
        _heads = false;
        _blocks = Choose("blocks", Option("2", () => "2"), Option("3", () => "3")) == "2" ? 2 : 3;
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
        // Regularisation inside the cell, each drawn from streams of its own: zoneout of a state (q included), and
        // variational dropout of a state of H where a matrix reads it, a product of it added to an equation of H so that
        // one does (other reads of it inside products are dropped too). p = 0.5: masks of both values in small cells.
        var regularisers = new List<string>();
        var allStates = equations.Any(e => e.StartsWith("q[t]", StringComparison.Ordinal)) ? states.Append("q").ToList() : states;
        string zoneout = Choose("zoneout", new[] { Option("none", () => "", 4) }.Concat(allStates.Select(s => Option(s, () => s))).ToArray());
        if (zoneout.Length > 0) regularisers.Add($"[Zoneout(\"{zoneout}\", 0.5)]");
        string dropped = Choose("variational dropout", new[] { Option("none", () => "", 4) }.Concat(states.Select(s => Option(s, () => s))).ToArray());
        if (dropped.Length > 0)
        {
            var readers = Enumerable.Range(0, equations.Count).Where(k => !equations[k].StartsWith("q[t]", StringComparison.Ordinal))
                .Select(k => k.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
            int user = int.Parse(Choose("dropout reader", readers.Select(k => Option(k, () => k)).ToArray()), System.Globalization.CultureInfo.InvariantCulture);
            equations[user] += $" + {Fresh("Wd")} @ {dropped}[t-1]";
            regularisers.Add($"[VariationalDropout(\"{dropped}\", 0.5)]");
        }
        // DropConnect on the weights that multiply a state some matrix reads at t-1: one the dropout's product reads, or h
        // when a product of h[t-1] is written (its operand read as the binder reads it: a state inside a product).
        string connected = Choose("dropconnect", Option("none", () => "", 3), Option("h", () => "h"));
        if (connected.Length > 0 && (dropped == "h" || equations.Any(e => ReadsInProduct(e, "h"))))
            regularisers.Add("[DropConnect(\"h\", 0.5)]");
        // Heads ([Heads(n)], n the cell's number of blocks), each from streams of its own: a gate of one value per head, made
        // by a matrix of n rows from the states and the input, and gating a state; a matrix memory M (a P x P matrix per
        // head), decaying, written by an outer product of bounded values and read by M @ v into an equation of H.
        var headSizes = new List<string>();
        bool OfH(int k) => !equations[k].StartsWith("q[t]", StringComparison.Ordinal) && !equations[k].StartsWith("M[t]", StringComparison.Ordinal);
        if (Choose("head gate", Option("none", () => "", 3), Option("gate", () => "gate")) == "gate")
        {
            string state = Pick(states);
            int user = Pick(Enumerable.Range(0, equations.Count).Where(OfH).ToList());
            equations[user] += $" + e * {state}[t-1]";
            equations.Insert(0, $"e = sigmoid({Fresh("We")} @ [{state}[t-1], x[t]] + {Fresh("be")})");
            headSizes.Add("[Size(\"e\", \"heads\")]");
            _heads = true;
        }
        if (Choose("matrix memory", Option("none", () => "", 3), Option("memory", () => "memory")) == "memory")
        {
            // M[t-1] read by any equation of H, M[t] only by one after M's, which reads only states at t-1 and the input.
            // A decay per row or per column of each head's matrix is an outer product with a number on one side (broadcast).
            string decay = Choose("decay", Option("number", () => "0.5"), Option("scalar", () => $"sigmoid({Scalar()})"),
                Option("column", () => $"outer(1, sigmoid({Fresh("Wd")} @ x[t]))"), Option("row", () => $"outer(sigmoid({Fresh("Wd")} @ x[t]), 1)"));
            string a = $"tanh({Fresh("Wa")} @ [{Pick(states)}[t-1], x[t]])", b = Chance(0.5) ? $"sigmoid({Pick(states)}[t-1])" : $"tanh({Fresh("Wb")} @ x[t])";
            int at = _random.Next(equations.Count + 1);
            equations.Insert(at, $"M[t] = {decay} * M[t-1] + outer({a}, {b})");
            bool current = Chance(0.5) && Enumerable.Range(at + 1, equations.Count - at - 1).Any(OfH);
            int reader = Pick(Enumerable.Range(0, equations.Count).Where(k => OfH(k) && (!current || k > at)).ToList());
            // Read as it is, through a matrix expression in parentheses, or through an intermediate declared a matrix
            // (written just before the equation that reads it).
            string memory = current ? "M[t]" : "M[t-1]", written = $"outer({Pick(states)}[t-1], sigmoid({Fresh("Wn")} @ x[t]))";
            string read = Choose("memory read", Option("state", () => memory), Option("expression", () => $"({memory} - 0.5 * {written})"),
                Option("intermediate", () => "N"));
            if (read == "N")
            {
                equations.Insert(reader, $"N = {memory} + {written}");
                headSizes.Add("[Size(\"N\", \"matrix\")]");
                reader++;
            }
            equations[reader] += $" + tanh({read} @ {Pick(states)}[t-1])";
            headSizes.Add("[Size(\"M\", \"matrix\")]");
            _heads = true;
        }
        if (_heads) headSizes.Insert(0, $"[Heads({_blocks})]");
        // Only the scalars the equations kept: an argument drawn for a choice that did not use it is dropped with its names.
        var kept = _scalars.Where(a => equations.Any(e => System.Text.RegularExpressions.Regex.IsMatch(e, $@"\b{a}\b")));
        LastSizes = string.Join("\n", new[] { LastSizes }.Where(s => s.Length > 0).Concat(kept.Select(a => $"[Size(\"{a}\", \"1\")]"))
            .Concat(_blockMatrices.Where(r => equations.Any(e => System.Text.RegularExpressions.Regex.IsMatch(e, $@"\b{r}\b"))).Select(r => $"[BlockDiagonal(\"{r}\", {_blocks})]"))
            .Concat(regularisers).Concat(headSizes));
        return equations;
    }

    /// <summary>
    /// Whether <paramref name="equation"/> reads <paramref name="state"/>[t-1] inside a product's operand: after an '@' or
    /// '·', within the operand's brackets or parentheses (or as the operand itself).
    /// </summary>
    private static bool ReadsInProduct(string equation, string state)
    {
        string read = state + "[t-1]";
        for (int at = 0; at < equation.Length; at++)
        {
            if (equation[at] is not ('@' or '·')) continue;
            int start = at + 1;
            while (start < equation.Length && equation[start] == ' ') start++;
            if (start >= equation.Length) continue;
            if (equation[start] is '[' or '(')
            {
                int depth = 0, end = start;
                for (; end < equation.Length; end++)
                {
                    if (equation[end] is '[' or '(') depth++;
                    else if (equation[end] is ']' or ')' && --depth == 0) break;
                }
                if (equation.Substring(start, Math.Min(end + 1, equation.Length) - start).Contains(read)) return true;
            }
            else if (string.CompareOrdinal(equation, start, read, 0, read.Length) == 0) return true;
        }
        return false;
    }

    /// <summary>The [Size], [BlockDiagonal], [Zoneout], [VariationalDropout] and [DropConnect] attributes of the last cell (a line each, or empty).</summary>
    public string LastSizes { get; private set; } = "";

    /// <summary>A cell's source: its equations (escaped for a C# string) and its [Size] attributes.</summary>
    public static string Source(IEnumerable<string> equations, string sizes, string ns) =>
        GeneratorHarness.Cell("C", equations.Select(e => e.Replace("\\", "\\\\").Replace("\"", "\\\"")), ns: ns)
            .Replace("public partial class", sizes + (sizes.Length > 0 ? "\n" : "") + "public partial class");

}
