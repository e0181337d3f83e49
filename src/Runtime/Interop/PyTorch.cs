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
    /// <c>PyTorch.Import("model.pt", ("embedding.", embedding), ("lstm.", lstm), ("head.", head))</c>. Each module reads
    /// the tensors it describes: an <see cref="Embedding"/> "weight"; a <see cref="Dense"/> "weight" and "bias"
    /// (nn.Linear); a <see cref="Layer"/> its parameters under their PyTorch names (nn.LayerNorm's "weight" and "bias",
    /// a FeedForward's "0.weight"...); a <see cref="Recurrent"/> whose cell computes nn.RNN, nn.LSTM (with proj_size)
    /// or nn.GRU (the built-in Rnn, Irnn, Lstm, Lstmp and TorchGru, and any cell of yours with the same equations)
    /// every layer and direction; a <see cref="Sequential"/> its modules under "0.", "1."... (nn.Sequential); a module
    /// of your own its <see cref="Module.NamedParameters"/>. Strict: every tensor of the file is used and every
    /// parameter set, or nothing changes and the exception lists what is missing and what is left over.
    /// </summary>
    public static PyTorchImport Import(string path, params (string Prefix, Module Module)[] modules) => Import(path, strict: true, modules);

    /// <summary>As <see cref="Import(string, ValueTuple{string, Module}[])"/>; when not <paramref name="strict"/>, what
    /// the file has is imported and the report lists what was missing and unused. A shape that differs is an error either way.</summary>
    public static PyTorchImport Import(string path, bool strict, params (string Prefix, Module Module)[] modules)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(modules);
        var leaves = Leaves(modules);
        var source = new TorchSource(path, ReadStateDict(path));
        var staged = new List<(Parameter<float> Target, float[] Values)>();
        foreach ((string prefix, Module module) in leaves) module.TorchLoad(prefix, source, staged);
        var unused = source.Tensors.Keys.Except(source.Used).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var missing = source.Missing;
        if (strict && (missing.Count > 0 || unused.Count > 0))
            throw new InvalidDataException($"{path}: {(missing.Count > 0 ? $"missing {string.Join(", ", missing.Select(m => $"'{m}'"))}" : "")}"
                + $"{(missing.Count > 0 && unused.Count > 0 ? "; " : "")}{(unused.Count > 0 ? $"not used: {string.Join(", ", unused.Select(m => $"'{m}'"))}" : "")}. Nothing was imported.");
        foreach ((Parameter<float> target, float[] values) in staged) target.CopyFrom(values);
        return new PyTorchImport(source.Used, unused, missing);
    }

    /// <summary>
    /// Writes modules' weights under PyTorch's names, each under its prefix, as a <c>torch.save</c> file that
    /// <c>torch.load</c> reads and <c>load_state_dict(strict=True)</c> accepts into the equivalent PyTorch modules
    /// (nn.Embedding, nn.Linear, nn.LayerNorm, nn.RNN/LSTM/GRU, nn.Sequential...); atomically. A gate's bias goes to
    /// bias_ih, with bias_hh zero: the cell holds their sum, which is all the outputs depend on.
    /// </summary>
    public static void Save(string path, params (string Prefix, Module Module)[] modules)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(modules);
        var leaves = Leaves(modules);
        var tensors = new List<(string Name, int[] Shape, float[] Values)>();
        foreach ((string prefix, Module module) in leaves) module.TorchSave(prefix, tensors);
        var duplicate = tensors.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Two tensors are called '{duplicate.Key}': give the modules different prefixes.", nameof(modules));
        PyTorchFile.Write(path, tensors);
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
                if (leaf.Module.TorchUnsupported is { } why) throw new ArgumentException(why, nameof(modules));
                leaves.Add(leaf);
            }
        }
        return leaves;
    }

    /// <summary>The standard form of a cell PyTorch has a module for, or an exception naming the cell.</summary>
    internal static (CellForm Form, IReadOnlyDictionary<string, string> Names) TorchForm(RecurrentCell<float> cell) =>
        CellForm.Of(cell) is { Form.TorchModule: not null } found ? found : throw new ArgumentException(NoTorchModule(cell), nameof(cell));

    /// <summary>Why PyTorch has no module for the cell, or null when it has one.</summary>
    internal static string? TorchProblem(RecurrentCell<float> cell) => CellForm.Of(cell) is { Form.TorchModule: not null } ? null : NoTorchModule(cell);

    private static string NoTorchModule(RecurrentCell<float> cell) =>
        $"PyTorch weights map to cells that compute {CellForm.TorchModules} (the built-in Rnn, Irnn, Lstm, Lstmp and TorchGru, or a cell of yours with their equations); {cell.GetType().Name}'s equations are none of these.";

    internal static void CheckShape(string path, string key, PyTorchTensor tensor, int[] shape, RecurrentCell<float>? cell)
    {
        if (tensor.Shape.SequenceEqual(shape)) return;
        string sizes = cell is null ? "" : $"; a cell with X={cell.InputSize}, H={cell.HiddenSize}{(cell.OutputSize != cell.HiddenSize ? $", P={cell.OutputSize}" : "")}";
        throw new InvalidDataException($"{path}: '{key}' has shape [{string.Join(", ", tensor.Shape)}]{sizes} needs [{string.Join(", ", shape)}].");
    }

    /// <summary>
    /// A cell's weights as PyTorch's weight_ih, weight_hh, bias_ih, bias_hh (and weight_hr) of one layer and direction,
    /// from the cell's standard form: each gate's matrix split into the columns that multiply the input and those that
    /// multiply the recurrent input, the gates stacked in PyTorch's order.
    /// </summary>
    internal static List<(string Name, int[] Shape, float[] Values)> TorchWeights(RecurrentCell<float> cell)
    {
        (CellForm form, IReadOnlyDictionary<string, string> names) = TorchForm(cell);
        int h = cell.HiddenSize, x = cell.InputSize, g = form.Gates.Length, p = cell.OutputSize;
        float[] ih = new float[g * h * x], hh = new float[g * h * p], bih = new float[g * h], bhh = new float[g * h];
        for (int k = 0; k < g; k++)
        {
            FormGate gate = form.Gates[k];
            bool split = gate.RecurrentMatrix is not null;
            (split ? cell.Parameter(names[gate.Matrix]).ToArray() : CellForm.Block(cell, names, gate.Matrix, 1)).CopyTo(ih, k * h * x);
            (split ? cell.Parameter(names[gate.RecurrentMatrix!]).ToArray() : CellForm.Block(cell, names, gate.Matrix, 0)).CopyTo(hh, k * h * p);
            cell.Parameter(names[gate.Bias]).ToArray().CopyTo(bih, k * h);
            if (split) cell.Parameter(names[gate.RecurrentBias!]).ToArray().CopyTo(bhh, k * h);
        }
        var weights = new List<(string, int[], float[])>
        {
            ("weight_ih", new[] { g * h, x }, ih), ("weight_hh", new[] { g * h, p }, hh), ("bias_ih", new[] { g * h }, bih), ("bias_hh", new[] { g * h }, bhh),
        };
        if (form.Projection is { } projection) weights.Add(("weight_hr", new[] { p, h }, cell.Parameter(names[projection]).ToArray()));
        return weights;
    }

    /// <summary>
    /// The inverse of <see cref="TorchWeights"/>: a cell's parameters from PyTorch's tensors for one layer and direction
    /// (<paramref name="tensor"/> gives a tensor by its name without the _lN suffix, and its shape; null when the file
    /// lacks it), or null when one is missing: each gate's matrix joined from weight_hh and weight_ih, and its bias
    /// bias_ih + bias_hh where the cell has one (a gate whose products stay apart, GRU's n, keeps both).
    /// </summary>
    internal static List<(Parameter<float> Target, float[] Values)>? CellWeights(RecurrentCell<float> cell, Func<string, int[], float[]?> tensor)
    {
        (CellForm form, IReadOnlyDictionary<string, string> names) = TorchForm(cell);
        int h = cell.HiddenSize, x = cell.InputSize, g = form.Gates.Length, p = cell.OutputSize;
        float[]? ih = tensor("weight_ih", new[] { g * h, x }), hh = tensor("weight_hh", new[] { g * h, p });
        float[]? bih = tensor("bias_ih", new[] { g * h }), bhh = tensor("bias_hh", new[] { g * h });
        float[]? hr = form.Projection is null ? null : tensor("weight_hr", new[] { p, h });
        if (ih is null || hh is null || bih is null || bhh is null || (form.Projection is not null && hr is null)) return null;
        var staged = new List<(Parameter<float>, float[])>();
        if (form.Projection is { } projection) staged.Add((cell.Parameter(names[projection]), hr!));
        for (int k = 0; k < g; k++)
        {
            FormGate gate = form.Gates[k];
            float[] input = ih.AsSpan(k * h * x, h * x).ToArray(), recurrent = hh.AsSpan(k * h * p, h * p).ToArray();
            if (gate.RecurrentMatrix is not null)
            {
                staged.Add((cell.Parameter(names[gate.Matrix]), input));
                staged.Add((cell.Parameter(names[gate.RecurrentMatrix]), recurrent));
                staged.Add((cell.Parameter(names[gate.Bias]), bih.AsSpan(k * h, h).ToArray()));
                staged.Add((cell.Parameter(names[gate.RecurrentBias!]), bhh.AsSpan(k * h, h).ToArray()));
                continue;
            }
            var b = new float[h];
            for (int r = 0; r < h; r++) b[r] = bih[k * h + r] + bhh[k * h + r];
            staged.Add((cell.Parameter(names[gate.Matrix]), CellForm.Join(cell, names, gate.Matrix, recurrent, input)));
            staged.Add((cell.Parameter(names[gate.Bias]), b));
        }
        return staged;
    }
}

/// <summary>The tensors of a file being imported, with what the modules took and what they asked for and did not find.</summary>
internal sealed class TorchSource(string path, IReadOnlyDictionary<string, PyTorchTensor> tensors)
{
    public string Path { get; } = path;

    public IReadOnlyDictionary<string, PyTorchTensor> Tensors { get; } = tensors;

    public List<string> Used { get; } = new();

    public List<string> Missing { get; } = new();

    /// <summary>The tensor's values, its shape checked; null (and recorded as missing) when the file lacks it.</summary>
    public float[]? Get(string key, int[] shape, RecurrentCell<float>? cell = null)
    {
        if (!Tensors.TryGetValue(key, out PyTorchTensor? tensor))
        {
            Missing.Add(key);
            return null;
        }
        PyTorch.CheckShape(Path, key, tensor, shape, cell);
        Used.Add(key);
        return tensor.Values;
    }
}
