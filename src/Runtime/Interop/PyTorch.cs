using System;
using System.Buffers.Binary;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;

namespace CellGen;

/// <summary>A tensor read from a PyTorch file: its shape, and its values converted to float32, row-major.</summary>
public sealed record PyTorchTensor(IReadOnlyList<int> Shape, float[] Values)
{
    /// <summary>The extent of each dimension.</summary>
    public IReadOnlyList<int> Shape { get; } = Shape ?? throw new ArgumentNullException(nameof(Shape));

    /// <summary>The values, row-major.</summary>
    public float[] Values { get; } = Values ?? throw new ArgumentNullException(nameof(Values));

    /// <summary>"PyTorchTensor [9, 4]".</summary>
    public override string ToString() => $"PyTorchTensor [{string.Join(", ", Shape)}]";
}

/// <summary>What an import used of a file, and what it did not find.</summary>
/// <param name="Used">The file's tensors that set a parameter.</param>
/// <param name="Unused">The file's tensors no module asked for.</param>
/// <param name="Missing">The names the modules asked for that the file lacks (their parameters are unchanged).</param>
public sealed record PyTorchImport(IReadOnlyList<string> Used, IReadOnlyList<string> Unused, IReadOnlyList<string> Missing)
{
    /// <summary>The file's tensors that set a parameter.</summary>
    public IReadOnlyList<string> Used { get; } = Used ?? throw new ArgumentNullException(nameof(Used));

    /// <summary>The file's tensors no module asked for.</summary>
    public IReadOnlyList<string> Unused { get; } = Unused ?? throw new ArgumentNullException(nameof(Unused));

    /// <summary>The names the modules asked for that the file lacks.</summary>
    public IReadOnlyList<string> Missing { get; } = Missing ?? throw new ArgumentNullException(nameof(Missing));

    /// <summary>The counts and the names: "PyTorchImport: used 7 (embedding.weight, ...), unused 0, missing 0".</summary>
    public override string ToString()
    {
        static string List(IReadOnlyList<string> names) => names.Count == 0 ? "0" : $"{names.Count} ({string.Join(", ", names)})";
        return $"PyTorchImport: used {List(Used)}, unused {List(Unused)}, missing {List(Missing)}";
    }
}

/// <summary>
/// PyTorch's files in: what <c>torch.save(model.state_dict(), path)</c> writes (a zip of a pickle and the raw
/// storages; float32, float64, float16 and bfloat16, and the integer types, contiguous or strided; a state dict nested
/// in a checkpoint's dict gets dotted names), and safetensors files, read into modules
/// under PyTorch's names. The pickle is read by a machine that knows only what a state dict is made of
/// (<see cref="StateDictPickle"/>): a global outside the few a state dict needs is refused, never executed or constructed.
/// </summary>
public static class PyTorch
{
    /// <summary>
    /// Every tensor of a <c>torch.save</c> file (a state dict) or a safetensors file, by name, as float32.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not one of these, is truncated or corrupt, or its pickle names anything but tensors.</exception>
    public static IReadOnlyDictionary<string, PyTorchTensor> ReadStateDict(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using FileStream file = Files.OpenRead(path);
        Span<byte> head = stackalloc byte[2];
        if (file.Length >= 2) file.ReadExactly(head);
        file.Position = 0;
        if (head[0] == (byte)'P' && head[1] == (byte)'K') return ReadZip(path, file);
        if (head[0] == 0x80) throw new InvalidDataException($"{path}: a bare pickle, PyTorch's legacy format (torch.save with _use_new_zipfile_serialization=False): save it again with torch.save's default format.");
        return Checkpoint.ReadTensors(path, file);
    }

    private static Dictionary<string, PyTorchTensor> ReadZip(string path, FileStream file)
    {
        try { return PyTorchArchive.Read(path, file); }
        catch (InvalidDataException e) when (e.Message.StartsWith(path + ":", StringComparison.Ordinal)) { throw; }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or NotSupportedException or OverflowException or InvalidOperationException)
        {
            // ZipArchive's own: a truncated or corrupt archive.
            throw new InvalidDataException($"{path}: not a readable zip archive (truncated or corrupt?): {e.Message}", e);
        }
    }

    /// <summary>
    /// Imports a PyTorch model's weights into modules, each under the prefix its PyTorch module has in the file:
    /// <c>PyTorch.Import("model.pt", ("embedding.", embedding), ("lstm.", lstm), ("head.", head))</c>. An
    /// <see cref="Embedding"/> reads "weight"; a <see cref="Dense"/> "weight" and "bias" (nn.Linear); a
    /// <see cref="Recurrent"/> of Rnn, Irnn, Lstm, Lstmp or TorchGru cells reads nn.RNN, nn.LSTM (with proj_size) or
    /// nn.GRU, every layer and direction; a <see cref="Sequential"/> its modules under "0.", "1."... (nn.Sequential).
    /// Strict: every tensor of the file is used and every parameter set, or nothing changes and the exception lists
    /// what is missing and what is left over.
    /// </summary>
    public static PyTorchImport Import(string path, params (string Prefix, Module Module)[] modules) => Import(path, strict: true, modules);

    /// <summary>As <see cref="Import(string, ValueTuple{string, Module}[])"/>; when not <paramref name="strict"/>, what
    /// the file has is imported and the report lists what was missing and unused. A shape that differs is an error either way.</summary>
    public static PyTorchImport Import(string path, bool strict, params (string Prefix, Module Module)[] modules)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(modules);
        var leaves = Leaves(modules);
        var tensors = ReadStateDict(path);
        var used = new List<string>();
        var missing = new List<string>();
        var staged = new List<(Parameter<float> Target, float[] Values)>();
        foreach ((string prefix, Module module) in leaves) Stage(module, prefix);
        var unused = tensors.Keys.Except(used).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (strict && (missing.Count > 0 || unused.Count > 0))
            throw new InvalidDataException($"{path}: {(missing.Count > 0 ? $"missing {string.Join(", ", missing.Select(m => $"'{m}'"))}" : "")}"
                + $"{(missing.Count > 0 && unused.Count > 0 ? "; " : "")}{(unused.Count > 0 ? $"not used: {string.Join(", ", unused.Select(m => $"'{m}'"))}" : "")}. Nothing was imported.");
        foreach ((Parameter<float> target, float[] values) in staged) target.CopyFrom(values);
        return new PyTorchImport(used, unused, missing);

        float[]? Get(string key, int[] shape, RecurrentCell<float>? cell)
        {
            if (!tensors.TryGetValue(key, out PyTorchTensor? tensor))
            {
                missing.Add(key);
                return null;
            }
            CheckShape(path, key, tensor, shape, cell);
            used.Add(key);
            return tensor.Values;
        }

        void Stage(Module module, string prefix)
        {
            switch (module)
            {
                case Embedding embedding:
                    if (Get(prefix + "weight", new[] { embedding.Vocabulary, embedding.Dimension }, null) is { } table) staged.Add((embedding.Table, table));
                    break;
                case Dense dense:
                    if (Get(prefix + "weight", new[] { dense.Outputs, dense.Inputs }, null) is { } weight) staged.Add((dense.Weights, weight));
                    if (Get(prefix + "bias", new[] { dense.Outputs }, null) is { } bias) staged.Add((dense.Bias, bias));
                    break;
                case Recurrent recurrent:
                    for (int l = 0; l < recurrent.Layers; l++)
                        for (int d = 0; d < recurrent.Directions; d++)
                        {
                            RecurrentCell<float> cell = recurrent.Cell(l, d == 1);
                            string suffix = $"_l{l}{(d == 1 ? "_reverse" : "")}";
                            if (CellWeights(cell, (name, shape) => Get(prefix + name + suffix, shape, cell)) is { } weights) staged.AddRange(weights);
                        }
                    break;
            }
        }
    }

    /// <summary>
    /// Writes modules' weights under PyTorch's names, each under its prefix, as a <c>torch.save</c> file that
    /// <c>torch.load</c> reads and <c>load_state_dict(strict=True)</c> accepts into the equivalent PyTorch modules
    /// (nn.Embedding, nn.Linear, nn.RNN/LSTM/GRU, nn.Sequential); atomically. A gate's bias goes to bias_ih, with
    /// bias_hh zero (their sum is what the cell has).
    /// </summary>
    public static void Save(string path, params (string Prefix, Module Module)[] modules)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(modules);
        var leaves = Leaves(modules);
        var tensors = new List<(string Name, int[] Shape, float[] Values)>();
        foreach ((string prefix, Module module) in leaves) Collect(module, prefix);
        var duplicate = tensors.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Two tensors are called '{duplicate.Key}': give the modules different prefixes.", nameof(modules));
        PyTorchFile.Write(path, tensors);

        void Collect(Module module, string prefix)
        {
            switch (module)
            {
                case Embedding embedding:
                    tensors.Add((prefix + "weight", new[] { embedding.Vocabulary, embedding.Dimension }, embedding.Table.ToArray()));
                    break;
                case Dense dense:
                    tensors.Add((prefix + "weight", new[] { dense.Outputs, dense.Inputs }, dense.Weights.ToArray()));
                    tensors.Add((prefix + "bias", new[] { dense.Outputs }, dense.Bias.ToArray()));
                    break;
                case Recurrent recurrent:
                    for (int l = 0; l < recurrent.Layers; l++)
                        for (int d = 0; d < recurrent.Directions; d++)
                            foreach ((string name, int[] shape, float[] values) in TorchWeights(recurrent.Cell(l, d == 1)))
                                tensors.Add(($"{prefix}{name}_l{l}{(d == 1 ? "_reverse" : "")}", shape, values));
                    break;
            }
        }
    }

    /// <summary>The inverse of <see cref="CellWeights"/>: a cell's parameters as PyTorch's weight_ih, weight_hh, bias_ih, bias_hh (and weight_hr).</summary>
    private static List<(string Name, int[] Shape, float[] Values)> TorchWeights(RecurrentCell<float> cell)
    {
        string[] gates = GatesOf(cell)!;
        int h = cell.HiddenSize, x = cell.InputSize, g = gates.Length, p = cell.OutputSize;
        float[] ih = new float[g * h * x], hh = new float[g * h * p], bih = new float[g * h], bhh = new float[g * h];
        for (int k = 0; k < g; k++)
        {
            string gate = gates[k];
            if (gate == "_n")
            {
                cell.Parameter("Wx_n").ToArray().CopyTo(ih, k * h * x);
                cell.Parameter("Wh_n").ToArray().CopyTo(hh, k * h * h);
                cell.Parameter("bx_n").ToArray().CopyTo(bih, k * h);
                cell.Parameter("bh_n").ToArray().CopyTo(bhh, k * h);
                continue;
            }
            float[] w = cell.Parameter("W" + gate).ToArray();
            for (int r = 0; r < h; r++)
            {
                w.AsSpan(r * (p + x), p).CopyTo(hh.AsSpan((k * h + r) * p));
                w.AsSpan(r * (p + x) + p, x).CopyTo(ih.AsSpan((k * h + r) * x));
            }
            cell.Parameter("b" + gate).ToArray().CopyTo(bih, k * h);
        }
        var weights = new List<(string, int[], float[])>
        {
            ("weight_ih", new[] { g * h, x }, ih), ("weight_hh", new[] { g * h, p }, hh), ("bias_ih", new[] { g * h }, bih), ("bias_hh", new[] { g * h }, bhh),
        };
        if (cell.GetType().Name == "Lstmp") weights.Add(("weight_hr", new[] { p, h }, cell.Parameter("W_r").ToArray()));
        return weights;
    }

    /// <summary>
    /// The modules under their prefixes, a Sequential's as its own under "0.", "1."... (nn.Sequential's names), each
    /// checked before anything is read: a module with no PyTorch counterpart is refused.
    /// </summary>
    private static List<(string Prefix, Module Module)> Leaves((string Prefix, Module Module)[] modules)
    {
        var leaves = new List<(string, Module)>();
        foreach ((string prefix, Module module) in modules)
        {
            if (prefix is null || module is null) throw new ArgumentException("A prefix or a module is null.", nameof(modules));
            foreach ((string Prefix, Module Module) leaf in Sequential.Leaves(module, prefix))
            {
                switch (leaf.Module)
                {
                    case Recurrent recurrent: CheckCell(recurrent.Cell()); break;
                    case Embedding or Dense or Dropout or LastStep: break;
                    default: throw new ArgumentException($"A {leaf.Module.GetType().Name} has no PyTorch counterpart to import from.", nameof(modules));
                }
                leaves.Add(leaf);
            }
        }
        return leaves;
    }

    /// <summary>Refuses a cell whose weights PyTorch has no module for.</summary>
    internal static void CheckCell(RecurrentCell<float> cell)
    {
        if (GatesOf(cell) is null)
            throw new ArgumentException($"PyTorch weights map to Rnn, Irnn, Lstm, Lstmp and TorchGru (nn.RNN, nn.LSTM, nn.GRU); not to {cell.GetType().Name}.", nameof(cell));
    }

    private static string[]? GatesOf(RecurrentCell<float> cell) => cell.GetType().FullName switch
    {
        "CellGen.Cells.Rnn" or "CellGen.Cells.Irnn" => new[] { "" },
        "CellGen.Cells.Lstm" or "CellGen.Cells.Lstmp" => new[] { "_i", "_f", "_g", "_o" },
        "CellGen.Cells.TorchGru" => new[] { "_r", "_z", "_n" },
        _ => null,
    };

    internal static void CheckShape(string path, string key, PyTorchTensor tensor, int[] shape, RecurrentCell<float>? cell)
    {
        if (tensor.Shape.SequenceEqual(shape)) return;
        string sizes = cell is null ? "" : $"; a cell with X={cell.InputSize}, H={cell.HiddenSize}{(cell.OutputSize != cell.HiddenSize ? $", P={cell.OutputSize}" : "")}";
        throw new InvalidDataException($"{path}: '{key}' has shape [{string.Join(", ", tensor.Shape)}]{sizes} needs [{string.Join(", ", shape)}].");
    }

    /// <summary>
    /// A cell's parameters from PyTorch's tensors for one layer and direction (<paramref name="tensor"/> gives a tensor
    /// by its name without the _lN suffix, and its shape; null when the file lacks it), or null when one is missing:
    /// W = [weight_hh | weight_ih] and b = bias_ih + bias_hh per gate; TorchGru's n gate split; Lstmp's W_r = weight_hr.
    /// </summary>
    internal static List<(Parameter<float> Target, float[] Values)>? CellWeights(RecurrentCell<float> cell, Func<string, int[], float[]?> tensor)
    {
        string[] gates = GatesOf(cell) ?? throw new ArgumentException($"No PyTorch module for {cell.GetType().Name}.", nameof(cell));
        // The recurrent input is the output: of size H, or P for a projected LSTM.
        int h = cell.HiddenSize, x = cell.InputSize, g = gates.Length, p = cell.OutputSize;
        bool projected = cell.GetType().Name == "Lstmp";
        float[]? ih = tensor("weight_ih", new[] { g * h, x }), hh = tensor("weight_hh", new[] { g * h, p });
        float[]? bih = tensor("bias_ih", new[] { g * h }), bhh = tensor("bias_hh", new[] { g * h });
        float[]? hr = projected ? tensor("weight_hr", new[] { p, h }) : null;
        if (ih is null || hh is null || bih is null || bhh is null || (projected && hr is null)) return null;
        var staged = new List<(Parameter<float>, float[])>();
        if (projected) staged.Add((cell.Parameter("W_r"), hr!));
        for (int k = 0; k < g; k++)
        {
            string gate = gates[k];
            if (gate == "_n")
            {
                staged.Add((cell.Parameter("Wx_n"), ih.AsSpan(k * h * x, h * x).ToArray()));
                staged.Add((cell.Parameter("Wh_n"), hh.AsSpan(k * h * h, h * h).ToArray()));
                staged.Add((cell.Parameter("bx_n"), bih.AsSpan(k * h, h).ToArray()));
                staged.Add((cell.Parameter("bh_n"), bhh.AsSpan(k * h, h).ToArray()));
                continue;
            }
            var w = new float[h * (p + x)];
            for (int r = 0; r < h; r++)
            {
                hh.AsSpan((k * h + r) * p, p).CopyTo(w.AsSpan(r * (p + x)));
                ih.AsSpan((k * h + r) * x, x).CopyTo(w.AsSpan(r * (p + x) + p));
            }
            var b = new float[h];
            for (int r = 0; r < h; r++) b[r] = bih[k * h + r] + bhh[k * h + r];
            staged.Add((cell.Parameter("W" + gate), w));
            staged.Add((cell.Parameter("b" + gate), b));
        }
        return staged;
    }
}
