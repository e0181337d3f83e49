using System;
using System.Buffers.Binary;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using Razorvine.Pickle;

namespace CellGen;

/// <summary>A tensor read from a PyTorch file: its shape, and its values converted to float32, row-major.</summary>
public sealed record PyTorchTensor(IReadOnlyList<int> Shape, float[] Values)
{
    /// <summary>The extent of each dimension.</summary>
    public IReadOnlyList<int> Shape { get; } = Shape ?? throw new ArgumentNullException(nameof(Shape));

    /// <summary>The values, row-major.</summary>
    public float[] Values { get; } = Values ?? throw new ArgumentNullException(nameof(Values));
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
}

/// <summary>
/// PyTorch's files in: what <c>torch.save(model.state_dict(), path)</c> writes (a zip of a pickle and the raw
/// storages; float32, float64, float16 and bfloat16, and the integer types, contiguous or strided; a state dict nested
/// in a checkpoint's dict gets dotted names), and safetensors files, read into modules
/// under PyTorch's names. The pickle is read by Razorvine.Pickle after every global it names has been checked against
/// the few a state dict needs: anything else is refused before any of it is read, never executed or constructed.
/// </summary>
public static class PyTorch
{
    /// <summary>The globals a state dict's pickle may name: the tensor rebuilder, the ordered dict, the storage types.</summary>
    private static readonly Dictionary<string, string?> Globals = new()
    {
        ["torch._utils._rebuild_tensor_v2"] = null,
        ["collections.OrderedDict"] = null,
        ["torch.FloatStorage"] = "float32",
        ["torch.DoubleStorage"] = "float64",
        ["torch.HalfStorage"] = "float16",
        ["torch.BFloat16Storage"] = "bfloat16",
        ["torch.LongStorage"] = "int64",
        ["torch.IntStorage"] = "int32",
        ["torch.ShortStorage"] = "int16",
        ["torch.CharStorage"] = "int8",
        ["torch.ByteStorage"] = "uint8",
        ["torch.BoolStorage"] = "bool",
    };

    static PyTorch()
    {
        Unpickler.registerConstructor("torch._utils", "_rebuild_tensor_v2", new TensorRebuilder());
        Unpickler.registerConstructor("collections", "OrderedDict", new StateDictConstructor());
        foreach ((string name, string? dtype) in Globals)
            if (dtype is not null) Unpickler.registerConstructor("torch", name["torch.".Length..], new StorageType(dtype));
    }

    /// <summary>
    /// Every tensor of a <c>torch.save</c> file (a state dict) or a safetensors file, by name, as float32.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not one of these, is truncated or corrupt, or its pickle names anything but tensors.</exception>
    public static IReadOnlyDictionary<string, PyTorchTensor> ReadStateDict(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] head = new byte[4];
        try
        {
            using FileStream file = File.OpenRead(path);
            file.ReadExactly(head, 0, Math.Min(4, (int)file.Length));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new InvalidDataException($"{path}: cannot be read: {e.Message}", e); }
        if (head[0] == (byte)'P' && head[1] == (byte)'K') return ReadZip(path);
        if (head[0] == 0x80) throw new InvalidDataException($"{path}: a bare pickle, PyTorch's legacy format (torch.save with _use_new_zipfile_serialization=False): save it again with torch.save's default format.");
        return Checkpoint.ReadTensors(path);
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

    private static Dictionary<string, PyTorchTensor> ReadZip(string path)
    {
        try
        {
            using ZipArchive zip = ZipFile.OpenRead(path);
            var pickles = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl").ToList();
            if (pickles.Count != 1) throw new InvalidDataException($"{path}: a zip archive, but not one torch.save wrote: {(pickles.Count == 0 ? "no" : "more than one")} data.pkl in it.");
            string root = pickles[0].FullName[..^"data.pkl".Length];
            byte[] pickle = Bytes(pickles[0]);
            CheckGlobals(pickle, path);
            using var unpickler = new StateDictUnpickler(zip, root, path);
            object loaded;
            try { loaded = unpickler.loads(pickle); }
            catch (Exception e) when (e is PickleException or InvalidCastException or IndexOutOfRangeException or ArgumentException or NullReferenceException or InvalidOperationException)
            {
                throw new InvalidDataException($"{path}: the pickle in it cannot be read as a state dict ({e.Message}).", e);
            }
            if (loaded is not IDictionary dictionary) throw new InvalidDataException($"{path}: holds a {Describe(loaded)}, not a state dict (a dict of names to tensors).");
            var tensors = new Dictionary<string, PyTorchTensor>();
            Collect(dictionary, "");
            if (tensors.Count == 0) throw new InvalidDataException($"{path}: a dict with no tensors in it: not a state dict.");
            return tensors;

            // A checkpoint often nests the state dict ({"model": ..., "optimizer": ..., "epoch": 3}): nested dicts
            // give dotted names ("model.rnn.weight_ih_l0"); numbers, strings and lists beside the tensors are skipped.
            void Collect(IDictionary level, string prefix)
            {
                foreach (DictionaryEntry entry in level)
                {
                    string name = prefix + entry.Key;
                    if (entry.Value is TensorView view) tensors[name] = view.Materialise(name, path);
                    else if (entry.Value is IDictionary inner) Collect(inner, name + ".");
                }
            }
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            // ZipArchive's own: a truncated or corrupt archive.
            throw new InvalidDataException($"{path}: not a readable zip archive (truncated or corrupt?): {e.Message}", e);
        }
        catch (Exception e) when (e is IOException and not FileNotFoundException)
        {
            throw new InvalidDataException($"{path}: cannot be read: {e.Message}", e);
        }
    }

    private static string Describe(object? value) => value switch
    {
        null => "None",
        TensorView => "tensor",
        IDictionary => "dict",
        ICollection => "sequence",
        _ => value.GetType().Name,
    };

    private static byte[] Bytes(ZipArchiveEntry entry)
    {
        using Stream stream = entry.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>
    /// Walks the pickle's opcodes and refuses any global outside <see cref="Globals"/>, and the opcodes that build
    /// objects by other routes (INST, OBJ, NEWOBJ, the extension registry), before anything is unpickled.
    /// </summary>
    private static void CheckGlobals(byte[] pickle, string path)
    {
        int i = 0;
        string? last = null, beforeLast = null; // the last two strings pushed, for STACK_GLOBAL
        string Line()
        {
            int end = Array.IndexOf(pickle, (byte)'\n', i);
            if (end < 0) throw new InvalidDataException($"{path}: the pickle is truncated.");
            string text = Encoding.ASCII.GetString(pickle, i, end - i);
            i = end + 1;
            return text;
        }
        void Skip(long count)
        {
            if (count < 0 || i + count > pickle.Length) throw new InvalidDataException($"{path}: the pickle is truncated.");
            i += (int)count;
        }
        int Read(int bytes)
        {
            if (i + bytes > pickle.Length) throw new InvalidDataException($"{path}: the pickle is truncated.");
            int value = bytes switch { 1 => pickle[i], 2 => BinaryPrimitives.ReadUInt16LittleEndian(pickle.AsSpan(i)), _ => BinaryPrimitives.ReadInt32LittleEndian(pickle.AsSpan(i)) };
            i += bytes;
            return value;
        }
        string Text(int length)
        {
            if (length < 0 || i + length > pickle.Length) throw new InvalidDataException($"{path}: the pickle is truncated.");
            string text = Encoding.UTF8.GetString(pickle, i, length);
            i += length;
            return text;
        }
        void Check(string global)
        {
            if (!Globals.ContainsKey(global))
                throw new InvalidDataException($"{path}: its pickle names '{global}', which a state dict never needs; refused (only tensors are read: {string.Join(", ", Globals.Keys)}).");
        }
        while (i < pickle.Length)
        {
            byte op = pickle[i++];
            string? pushed = null;
            switch (op)
            {
                case (byte)'.': return; // STOP
                case (byte)'c': Check(Line() + "." + Line()); break; // GLOBAL module\nname\n
                case 0x93: // STACK_GLOBAL: the module and the name are the last two strings pushed
                    if (beforeLast is null || last is null) throw new InvalidDataException($"{path}: its pickle builds a global from values this reader does not follow; refused.");
                    Check(beforeLast + "." + last);
                    break;
                case (byte)'i' or (byte)'o' or 0x81 or 0x92 or 0x82 or 0x83 or 0x84 or (byte)'P':
                    throw new InvalidDataException($"{path}: its pickle builds objects in a way a state dict never does (opcode 0x{op:x2}); refused.");
                case (byte)'(' or (byte)'0' or (byte)'1' or (byte)'2' or (byte)'N' or (byte)'Q' or (byte)'R' or (byte)'a' or (byte)'b'
                    or (byte)'d' or (byte)'}' or (byte)'e' or (byte)'l' or (byte)']' or (byte)'s' or (byte)'t' or (byte)')' or (byte)'u'
                    or 0x85 or 0x86 or 0x87 or 0x88 or 0x89 or 0x8f or 0x90 or 0x91 or 0x94 or 0x97 or 0x98:
                    break;
                case (byte)'F' or (byte)'I' or (byte)'L' or (byte)'g' or (byte)'p': Line(); break;
                case (byte)'S' or (byte)'V': pushed = Line(); break;
                case (byte)'K' or (byte)'h' or (byte)'q' or 0x80: Skip(1); break;
                case (byte)'M': Skip(2); break;
                case (byte)'J' or (byte)'j' or (byte)'r': Skip(4); break;
                case (byte)'G' or 0x95: Skip(8); break;
                case (byte)'T' or (byte)'B': Skip(Read(4)); break;
                case (byte)'U' or (byte)'C': Skip(Read(1)); break;
                case 0x8a: Skip(Read(1)); break;
                case 0x8b: Skip(Read(4)); break;
                case (byte)'X': pushed = Text(Read(4)); break;
                case 0x8c: pushed = Text(Read(1)); break;
                case 0x8d or 0x8e or 0x96:
                    if (i + 8 > pickle.Length) throw new InvalidDataException($"{path}: the pickle is truncated.");
                    long length = BinaryPrimitives.ReadInt64LittleEndian(pickle.AsSpan(i));
                    i += 8;
                    if (op == 0x8d && length <= int.MaxValue) pushed = Text((int)length); else Skip(length);
                    break;
                default: throw new InvalidDataException($"{path}: its pickle has an opcode this reader does not know (0x{op:x2}); refused.");
            }
            if (pushed is not null) { beforeLast = last; last = pushed; }
            else if (op is not (0x94 or (byte)'q' or (byte)'r' or (byte)'p')) { beforeLast = null; last = null; }
        }
        throw new InvalidDataException($"{path}: the pickle ends without its STOP opcode (truncated?).");
    }

    /// <summary>The storage types of the persistent ids: their element type.</summary>
    private sealed class StorageType(string dtype) : IObjectConstructor
    {
        public string DType { get; } = dtype;

        public object construct(object[] args) => throw new PickleException("a storage type is not called in a state dict");
    }

    /// <summary>A state dict: an ordered dict whose <c>_metadata</c> (module versions) is set by BUILD and not needed.</summary>
    private sealed class StateDict : Hashtable
    {
        [System.Diagnostics.CodeAnalysis.SuppressMessage("Style", "IDE1006", Justification = "Razorvine.Pickle calls __setstate__ by name.")]
        public void __setstate__(Hashtable state) { }
    }

    private sealed class StateDictConstructor : IObjectConstructor
    {
        public object construct(object[] args) => new StateDict();
    }

    /// <summary>A storage's values, read from its entry in the archive.</summary>
    private sealed record Storage(float[] Values);

    /// <summary>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks): a view into a storage.</summary>
    private sealed record TensorView(Storage Storage, long Offset, long[] Size, long[] Stride)
    {
        public PyTorchTensor Materialise(string name, string path)
        {
            long count = 1, last = Offset;
            for (int d = 0; d < Size.Length; d++)
            {
                if (Size[d] < 0 || Size[d] > int.MaxValue || Stride[d] < 0) throw new InvalidDataException($"{path}: tensor '{name}' has size or stride out of range.");
                count *= Size[d];
                if (count > Array.MaxLength) throw new InvalidDataException($"{path}: tensor '{name}' has more values than an array holds.");
                if (Size[d] > 0) last += (Size[d] - 1) * Stride[d];
            }
            if (count > 0 && (Offset < 0 || last >= Storage.Values.Length))
                throw new InvalidDataException($"{path}: tensor '{name}' reads past the end of its storage ({Storage.Values.Length} values).");
            var values = new float[count];
            var index = new long[Size.Length];
            for (long k = 0; k < count; k++)
            {
                long at = Offset;
                for (int d = 0; d < Size.Length; d++) at += index[d] * Stride[d];
                values[k] = Storage.Values[at];
                for (int d = Size.Length - 1; d >= 0; d--)
                {
                    if (++index[d] < Size[d]) break;
                    index[d] = 0;
                }
            }
            return new PyTorchTensor(Size.Select(s => (int)s).ToArray(), values);
        }
    }

    private sealed class TensorRebuilder : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length < 4 || args[0] is not Storage storage || args[2] is not object[] size || args[3] is not object[] stride || size.Length != stride.Length)
                throw new PickleException("a tensor is rebuilt from a storage, an offset, a size and a stride");
            return new TensorView(storage, Convert.ToInt64(args[1]), size.Select(Convert.ToInt64).ToArray(), stride.Select(Convert.ToInt64).ToArray());
        }
    }

    /// <summary>Resolves persistent ids ('storage', type, key, location, size) to the archive's data/key entries.</summary>
    private sealed class StateDictUnpickler(ZipArchive zip, string root, string path) : Unpickler
    {
        protected override object persistentLoad(object pid)
        {
            if (pid is not object[] id || id.Length < 5 || id[0] as string != "storage" || id[1] is not StorageType type || id[2] is not string key)
                throw new PickleException("a persistent id that is not a storage");
            ZipArchiveEntry entry = zip.GetEntry(root + "data/" + key) ?? throw new InvalidDataException($"{path}: the storage '{key}' is missing from the archive.");
            byte[] bytes = Bytes(entry);
            int size = Width(type.DType);
            if (bytes.Length % size != 0) throw new InvalidDataException($"{path}: the storage '{key}' has {bytes.Length} bytes, not a whole number of {type.DType} values.");
            return new Storage(ToSingles(bytes, type.DType));
        }
    }

    /// <summary>Little-endian values of <paramref name="dtype"/> to float32.</summary>
    private static int Width(string dtype) => dtype switch
    {
        "float64" or "int64" => 8,
        "float32" or "int32" => 4,
        "float16" or "bfloat16" or "int16" => 2,
        "int8" or "uint8" or "bool" => 1,
        _ => throw new ArgumentException($"Unknown dtype {dtype}.", nameof(dtype)),
    };

    internal static float[] ToSingles(ReadOnlySpan<byte> bytes, string dtype)
    {
        int size = Width(dtype);
        var values = new float[bytes.Length / size];
        for (int k = 0; k < values.Length; k++)
        {
            ReadOnlySpan<byte> v = bytes.Slice(k * size, size);
            values[k] = dtype switch
            {
                "float64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(v),
                "float32" => BinaryPrimitives.ReadSingleLittleEndian(v),
                "float16" => (float)BinaryPrimitives.ReadHalfLittleEndian(v),
                "bfloat16" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(v) << 16),
                "int64" => BinaryPrimitives.ReadInt64LittleEndian(v),
                "int32" => BinaryPrimitives.ReadInt32LittleEndian(v),
                "int16" => BinaryPrimitives.ReadInt16LittleEndian(v),
                "int8" => (sbyte)v[0],
                _ => v[0], // uint8, bool
            };
        }
        return values;
    }
}
