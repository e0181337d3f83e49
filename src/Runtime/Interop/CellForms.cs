using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace CellGen;

/// <summary>
/// One gate of a standard recurrent module, in its order: the template's names of its matrix over [recurrent input,
/// input] and its bias, or of a gate whose two products stay apart (GRU's n: <c>Wx_n x + bx_n + r * (Wh_n h + bh_n)</c>).
/// <paramref name="Sign"/> -1: the operator's gate is the complement of the cell's (ONNX's z keeps the old state where
/// the Cho GRU's keeps the new one: sigmoid(-a) = 1 - sigmoid(a)).
/// </summary>
internal sealed record FormGate(string Matrix, string Bias, string? RecurrentMatrix = null, string? RecurrentBias = null, float Sign = 1);

/// <summary>
/// A standard recurrent module that a cell may compute: PyTorch's nn.RNN, nn.LSTM (with proj_size), nn.GRU, and the
/// ONNX operators RNN, LSTM, GRU. Its step is a template program (the generator's step graph of the equations PyTorch
/// computes); a cell computes the module when its own step graph is the template's up to names, whatever the cell calls
/// its parameters and states, the order of its equations, or the order of the operands of +, * , min and max.
/// </summary>
/// <param name="Name">The module, for messages ("nn.LSTM").</param>
/// <param name="TorchModule">"RNN", "LSTM" or "GRU" (null: no PyTorch module computes it).</param>
/// <param name="Gates">The gates in PyTorch's order (the order of the rows of weight_ih).</param>
/// <param name="OnnxOperator">"RNN", "LSTM" or "GRU", or null when no ONNX operator computes it (a projected LSTM: a Scan of its step).</param>
/// <param name="Activation">The RNN's nonlinearity as ONNX names it ("Tanh", "Relu").</param>
/// <param name="OnnxGates">The positions in <paramref name="Gates"/> of ONNX's gates, in ONNX's order (LSTM: i, o, f, c).</param>
/// <param name="LinearBeforeReset">ONNX GRU's linear_before_reset: the reset gate multiplies the product (PyTorch's GRU), not its operand.</param>
/// <param name="Projection">The template's name of the projection matrix (nn.LSTM's weight_hr), or null.</param>
/// <param name="Program">The step graph of the equations the module computes, with the template's names.</param>
internal sealed record CellForm(string Name, string? TorchModule, string? OnnxOperator, string? Activation, bool LinearBeforeReset,
    FormGate[] Gates, int[] OnnxGates, string? Projection, string[] Program)
{
    /// <summary>Every standard form, one entry each: the one table that PyTorch import and export and ONNX export read.</summary>
    public static readonly CellForm[] All =
    {
        new("nn.RNN (tanh)", "RNN", "RNN", "Tanh", false, new[] { new FormGate("W", "b") }, new[] { 0 }, null, new[]
        {
            "state h", "input 0", "matpart W 0 0", "matpart W 1 1 b", "sum 2:+ 3:+", "apply tanh 4", "update h 5",
        }),
        new("nn.RNN (relu)", "RNN", "RNN", "Relu", false, new[] { new FormGate("W", "b") }, new[] { 0 }, null, new[]
        {
            "state h", "input 0", "matpart W 0 0", "matpart W 1 1 b", "sum 2:+ 3:+", "apply relu 4", "update h 5",
        }),
        new("nn.LSTM", "LSTM", "LSTM", null, false, LstmGates, new[] { 0, 3, 1, 2 }, null, LstmProgram(projected: false)),
        new("nn.LSTM (proj_size)", "LSTM", null, null, false, LstmGates, new[] { 0, 3, 1, 2 }, "W_r", LstmProgram(projected: true)),
        new("nn.GRU", "GRU", "GRU", null, true,
            new[] { new FormGate("W_r", "b_r"), new FormGate("W_z", "b_z"), new FormGate("Wx_n", "bx_n", "Wh_n", "bh_n") }, new[] { 1, 0, 2 }, null, new[]
        {
            "state h", "input 0", "matpart W_r 0 0", "matpart W_r 1 1 b_r", "sum 2:+ 3:+", "apply sigmoid 4",
            "matpart W_z 0 0", "matpart W_z 1 1 b_z", "sum 6:+ 7:+", "apply sigmoid 8",
            "matpart Wh_n 0 0 bh_n", "apply * 5 10", "matpart Wx_n 0 1 bx_n", "sum 12:+ 11:+", "apply tanh 13",
            "const 1", "sum 15:+ 9:-", "apply * 16 14", "apply * 9 0", "sum 17:+ 18:+", "update h 19",
        }),
        // The GRU of Cho et al. (reset before the product): ONNX's GRU with linear_before_reset = 0; no PyTorch module.
        new("GRU (Cho et al.)", null, "GRU", null, false,
            new[] { new FormGate("W_z", "b_z", Sign: -1), new FormGate("W_r", "b_r"), new FormGate("W_n", "b_n") }, new[] { 0, 1, 2 }, null, new[]
        {
            "state h", "input 0", "matpart W_z 0 0", "matpart W_z 1 1 b_z", "sum 2:+ 3:+", "apply sigmoid 4",
            "matpart W_r 0 0", "matpart W_r 1 1 b_r", "sum 6:+ 7:+", "apply sigmoid 8", "apply * 9 0",
            "matpart W_n 0 10", "matpart W_n 1 1 b_n", "sum 11:+ 12:+", "apply tanh 13",
            "const 1", "sum 15:+ 5:-", "apply * 16 0", "apply * 5 14", "sum 17:+ 18:+", "update h 19",
        }),
    };

    private static FormGate[] LstmGates => new[] { new FormGate("W_i", "b_i"), new FormGate("W_f", "b_f"), new FormGate("W_g", "b_g"), new FormGate("W_o", "b_o") };

    private static string[] LstmProgram(bool projected)
    {
        string output = projected ? "r" : "h";
        var program = new List<string>
        {
            "state " + output, "input 0",
            "matpart W_i 0 0", "matpart W_i 1 1 b_i", "sum 2:+ 3:+", "apply sigmoid 4",
            "matpart W_f 0 0", "matpart W_f 1 1 b_f", "sum 6:+ 7:+", "apply sigmoid 8",
            "matpart W_g 0 0", "matpart W_g 1 1 b_g", "sum 10:+ 11:+", "apply tanh 12",
            "matpart W_o 0 0", "matpart W_o 1 1 b_o", "sum 14:+ 15:+", "apply sigmoid 16",
            "state c", "apply * 9 18", "apply * 5 13", "sum 19:+ 20:+", "apply tanh 21", "apply * 17 22",
        };
        if (projected) program.AddRange(new[] { "matpart W_r 0 23", "copy 24", "update c 21", "update r 25" });
        else program.AddRange(new[] { "update c 21", "update h 23" });
        return program.ToArray();
    }

    /// <summary>
    /// The form the cell computes and how its names map onto the template's (parameters, and each product's column
    /// block: "W_i#0" is the block of W_i that multiplies the recurrent input), or null when it computes none of them.
    /// </summary>
    public static (CellForm Form, IReadOnlyDictionary<string, string> Names)? Of(RecurrentCell<float> cell)
    {
        ArgumentNullException.ThrowIfNull(cell);
        IReadOnlyList<string>? program = StepGraph(cell.GetType());
        if (program is null) return null;
        foreach (CellForm form in All)
            if (StepMatcher.Match(form.Program, program) is { } names && form.Fits(cell, names)) return (form, names);
        return null;
    }

    /// <summary>
    /// Whether the cell's parameters have the module's shapes: each gate H rows, its products' columns the recurrent
    /// input (the output, of size O) and the input (X), its biases H, the projection [O, H]. Equations of the module's
    /// form with declared sizes that differ are another module.
    /// </summary>
    private bool Fits(RecurrentCell<float> cell, IReadOnlyDictionary<string, string> names)
    {
        int h = cell.HiddenSize, x = cell.InputSize, o = cell.OutputSize;
        bool Shape(string name, params int[] shape) => cell.Parameter(names[name]).Shape.SequenceEqual(shape);
        bool Columns(string matrix, int block, int columns) => cell.Parameter(names[matrix]).Blocks[int.Parse(names[$"{matrix}#{block}"], CultureInfo.InvariantCulture)].Columns == columns;
        foreach (FormGate gate in Gates)
        {
            bool fits = gate.RecurrentMatrix is null
                ? cell.Parameter(names[gate.Matrix]).Shape[0] == h && Columns(gate.Matrix, 0, o) && Columns(gate.Matrix, 1, x) && Shape(gate.Bias, h)
                : Shape(gate.Matrix, h, x) && Shape(gate.RecurrentMatrix, h, o) && Shape(gate.Bias, h) && Shape(gate.RecurrentBias!, h);
            if (!fits) return false;
        }
        return Projection is null ? o == h : Shape(Projection, o, h);
    }

    /// <summary>The step graph the generator attached to a cell's class, or null for a cell it did not generate.</summary>
    public static IReadOnlyList<string>? StepGraph(Type cell) =>
        cell.GetCustomAttributes(typeof(CellGen.CompilerServices.StepGraphAttribute), inherit: false)
            .OfType<CellGen.CompilerServices.StepGraphAttribute>().FirstOrDefault()?.Instructions;

    /// <summary>"nn.RNN, nn.LSTM (with proj_size), nn.GRU" for messages.</summary>
    public static string TorchModules => "nn.RNN (tanh or relu), nn.LSTM (with or without proj_size) and nn.GRU";

    /// <summary>
    /// The columns of a cell's matrix that the template's block <paramref name="block"/> of <paramref name="matrix"/>
    /// names (0: the recurrent input, 1: the input), as [rows, those columns] row-major, times <paramref name="sign"/>.
    /// </summary>
    public static float[] Block(RecurrentCell<float> cell, IReadOnlyDictionary<string, string> names, string matrix, int block, float sign = 1)
    {
        Parameter<float> parameter = cell.Parameter(names[matrix]);
        var part = parameter.Blocks[int.Parse(names[$"{matrix}#{block}"], CultureInfo.InvariantCulture)];
        int rows = parameter.Shape[0], width = parameter.Shape[1];
        float[] all = parameter.ToArray(), values = new float[rows * part.Columns];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < part.Columns; c++) values[r * part.Columns + c] = sign * all[r * width + part.Column + c];
        return values;
    }

    /// <summary>A whole matrix of the cell from its blocks as the template names them ([rows, columns] per block, in template order).</summary>
    public static float[] Join(RecurrentCell<float> cell, IReadOnlyDictionary<string, string> names, string matrix, params float[][] blocks)
    {
        Parameter<float> parameter = cell.Parameter(names[matrix]);
        int rows = parameter.Shape[0], width = parameter.Shape[1];
        var all = new float[rows * width];
        for (int b = 0; b < blocks.Length; b++)
        {
            var part = parameter.Blocks[int.Parse(names[$"{matrix}#{b}"], CultureInfo.InvariantCulture)];
            for (int r = 0; r < rows; r++)
                blocks[b].AsSpan(r * part.Columns, part.Columns).CopyTo(all.AsSpan(r * width + part.Column));
        }
        return all;
    }
}

/// <summary>
/// Whether two step graphs compute the same thing up to names: each update of one is matched with an update of the
/// other and their values node by node from there, binding the template's names (parameters, states, column blocks)
/// to the cell's one to one; the operands of sums and of *, min and max match in any order.
/// </summary>
internal static class StepMatcher
{
    private sealed record Node(string Kind, string[] Words);

    public static IReadOnlyDictionary<string, string>? Match(IReadOnlyList<string> template, IReadOnlyList<string> cell)
    {
        Node[] t = template.Select(Parse).ToArray(), c = cell.Select(Parse).ToArray();
        Node[] tUpdates = t.Where(n => n.Kind == "update").ToArray(), cUpdates = c.Where(n => n.Kind == "update").ToArray();
        if (tUpdates.Length != cUpdates.Length) return null;
        return MatchUpdates(0, new Dictionary<string, string>());

        Dictionary<string, string>? MatchUpdates(int k, Dictionary<string, string> names)
        {
            if (k == tUpdates.Length) return names;
            foreach (Node candidate in cUpdates)
            {
                var attempt = new Dictionary<string, string>(names);
                if (!Bind(attempt, "state:" + tUpdates[k].Words[1], candidate.Words[1])) continue;
                if (!Values(attempt, Index(tUpdates[k].Words[2]), Index(candidate.Words[2]))) continue;
                if (MatchUpdates(k + 1, attempt) is { } done) return done;
            }
            return null;
        }

        bool Values(Dictionary<string, string> names, int i, int j)
        {
            Node a = t[i], b = c[j];
            if (a.Kind != b.Kind || a.Words.Length != b.Words.Length) return false;
            switch (a.Kind)
            {
                case "state": return Bind(names, "state:" + a.Words[1], b.Words[1]);
                case "input": return a.Words[1] == b.Words[1];
                case "const": return double.Parse(a.Words[1], CultureInfo.InvariantCulture) == double.Parse(b.Words[1], CultureInfo.InvariantCulture);
                case "vector": return Bind(names, a.Words[1], b.Words[1]);
                case "copy": return Values(names, Index(a.Words[1]), Index(b.Words[1]));
                case "matpart":
                    return Bind(names, a.Words[1], b.Words[1]) && Bind(names, $"{a.Words[1]}#{a.Words[2]}", b.Words[2])
                        && (a.Words.Length < 5 || Bind(names, a.Words[4], b.Words[4])) && Values(names, Index(a.Words[3]), Index(b.Words[3]));
                case "apply":
                    if (a.Words[1] != b.Words[1]) return false;
                    return a.Words[1] is "*" or "min" or "max"
                        ? Unordered(names, a.Words.Skip(2).Select(w => (Index(w), '+')).ToArray(), b.Words.Skip(2).Select(w => (Index(w), '+')).ToArray())
                        : Ordered(names, a.Words.Skip(2).Select(Index).ToArray(), b.Words.Skip(2).Select(Index).ToArray());
                case "sum":
                    return Unordered(names, a.Words.Skip(1).Select(Term).ToArray(), b.Words.Skip(1).Select(Term).ToArray());
                default:
                    return Ordered(names, a.Words.Skip(1).Select(Index).ToArray(), b.Words.Skip(1).Select(Index).ToArray());
            }
        }

        bool Ordered(Dictionary<string, string> names, int[] a, int[] b)
        {
            for (int k = 0; k < a.Length; k++)
                if (!Values(names, a[k], b[k])) return false;
            return true;
        }

        // Operands in any order: the first of a's with each unused one of b's, backtracking on the names bound.
        bool Unordered(Dictionary<string, string> names, (int Value, char Sign)[] a, (int Value, char Sign)[] b)
        {
            if (a.Length == 0) return true;
            for (int k = 0; k < b.Length; k++)
            {
                if (a[0].Sign != b[k].Sign) continue;
                var attempt = new Dictionary<string, string>(names);
                if (!Values(attempt, a[0].Value, b[k].Value)) continue;
                if (!Unordered(attempt, a.Skip(1).ToArray(), b.Where((_, m) => m != k).ToArray())) continue;
                names.Clear();
                foreach (KeyValuePair<string, string> pair in attempt) names[pair.Key] = pair.Value;
                return true;
            }
            return false;
        }
    }

    /// <summary>Binds a template name to a cell's, one to one; false when either is bound to another already.</summary>
    private static bool Bind(Dictionary<string, string> names, string template, string cell)
    {
        if (names.TryGetValue(template, out string? bound)) return bound == cell;
        string kind = template.Contains('#') ? "#" : template.StartsWith("state:", StringComparison.Ordinal) ? "state:" : "";
        foreach (KeyValuePair<string, string> pair in names)
            if (pair.Value == cell && KindOf(pair.Key) == kind && (kind != "#" || pair.Key[..pair.Key.IndexOf('#')] == template[..template.IndexOf('#')])) return false;
        names[template] = cell;
        return true;

        static string KindOf(string key) => key.Contains('#') ? "#" : key.StartsWith("state:", StringComparison.Ordinal) ? "state:" : "";
    }

    private static Node Parse(string line)
    {
        string[] words = line.Split(' ');
        return new Node(words[0], words);
    }

    private static int Index(string word) => int.Parse(word, CultureInfo.InvariantCulture);

    private static (int, char) Term(string word) => (Index(word[..^2]), word[^1]);
}
