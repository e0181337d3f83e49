using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace CellGen;

/// <summary>
/// Checkpoints in the safetensors format (an 8-byte little-endian header length, a JSON header naming each tensor's
/// dtype, shape and byte range, then the data). Saving writes a temporary file beside the target and renames it over
/// the target, so a crash mid-write leaves the old file intact. Loading reads and checks everything (names, shapes,
/// dtype, byte ranges) before it changes any parameter, so a bad file changes nothing.
/// </summary>
public static class Checkpoint
{
    private const int HeaderLimit = 100 * 1024 * 1024;

    /// <summary>Every parameter of a cell or layer by name, optionally under a prefix ("encoder." + "W_i").</summary>
    public static IEnumerable<KeyValuePair<string, Parameter<float>>> Named(RecurrentCell<float> cell, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(cell);
        ArgumentNullException.ThrowIfNull(prefix);
        return cell.Parameters.Select(p => new KeyValuePair<string, Parameter<float>>(prefix + p.Name, p));
    }

    /// <summary>
    /// Every parameter of a module or a whole model by name, optionally under a prefix: a Dense's "weight" and "bias",
    /// a Sequential's "0.weight", a Recurrent's "l0.W_i" and "l0_reverse.W_i".
    /// </summary>
    public static IEnumerable<KeyValuePair<string, Parameter<float>>> Named(Module module, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(prefix);
        return module.NamedParameters(prefix);
    }

    /// <summary>Saves the parameters as float32 tensors, atomically.</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Parameter<float>>> parameters) =>
        Save(path, parameters, null, stream => stream);

    /// <summary>The metadata keys CellGen writes itself: the optimiser's steps and learning rate, the dropout generators.</summary>
    private const string Reserved = "cellgen.";

    /// <summary>
    /// Saves a whole model: every parameter under its module's name (<see cref="Module.NamedParameters"/>), the
    /// optimiser's state when given (its moments or momentum under "optimizer.N.", its steps and learning rate), the
    /// state of every dropout generator, the learning-rate <paramref name="schedule"/>'s when given (it must be the
    /// optimiser's), and <paramref name="metadata"/> (string pairs in the header's __metadata__, e.g. a vocabulary);
    /// atomically. Loading it into the same model, optimiser and schedule continues training exactly where it stopped.
    /// </summary>
    public static void Save(string path, Module model, Optimizer? optimizer = null, IReadOnlyDictionary<string, string>? metadata = null, LearningRateSchedule? schedule = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (schedule is not null && !ReferenceEquals(schedule.Optimizer, optimizer))
            throw new ArgumentException("The schedule sets another optimiser's rate than the one given: save a schedule with its own optimiser.", nameof(schedule));
        var pairs = new Dictionary<string, string>();
        if (metadata is not null)
            foreach ((string key, string value) in metadata)
            {
                if (key is null || value is null) throw new ArgumentException("A metadata key or value is null.", nameof(metadata));
                if (IsReserved(key))
                    throw new ArgumentException($"The metadata key '{key}' is CellGen's own (format, writer and cellgen.*): choose another.", nameof(metadata));
                pairs[key] = value;
            }
        foreach ((string name, Func<ulong> get, Action<ulong> _) in model.NamedGenerators(""))
            pairs[Reserved + "generator." + name] = get().ToString(CultureInfo.InvariantCulture);
        var tensors = model.NamedParameters().ToList();
        if (optimizer is not null)
        {
            pairs[Reserved + "optimizer.steps"] = optimizer.Steps.ToString(CultureInfo.InvariantCulture);
            pairs[Reserved + "optimizer.learning_rate"] = optimizer.LearningRate.ToString("R", CultureInfo.InvariantCulture);
            tensors.AddRange(optimizer.StateTensors());
        }
        if (schedule is not null)
        {
            pairs[Reserved + "schedule.kind"] = schedule.GetType().Name;
            foreach ((string name, string value) in schedule.State()) pairs[Reserved + "schedule." + name] = value;
        }
        Save(path, tensors, pairs, stream => stream);
    }

    /// <summary>
    /// Loads what <see cref="Save(string, Module, Optimizer?, IReadOnlyDictionary{string, string}?, LearningRateSchedule?)"/> wrote into the same
    /// model (and optimiser and schedule, when given; without them, their state in the file is skipped) and returns the
    /// caller's metadata. Every parameter must be in the file with its shape; nothing changes when anything is wrong.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Load(string path, Module model, Optimizer? optimizer = null, LearningRateSchedule? schedule = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        if (schedule is not null && !ReferenceEquals(schedule.Optimizer, optimizer))
            throw new ArgumentException("The schedule sets another optimiser's rate than the one given: load a schedule with its own optimiser.", nameof(schedule));
        var targets = model.NamedParameters().ToList();
        if (optimizer is not null) targets.AddRange(optimizer.StateTensors());
        using Safetensors file = Safetensors.Open(path);
        Dictionary<string, string> metadata = file.Metadata;
        var skipped = optimizer is null ? file.Entries.Keys.Where(k => k.StartsWith(Optimizer.StatePrefix, StringComparison.Ordinal)).ToHashSet() : new HashSet<string>();
        var staged = Stage(Checked(path, targets), file, skipped);
        var generators = model.NamedGenerators("").ToList();
        var seeds = new List<(Action<ulong> Set, ulong Value)>();
        foreach ((string name, Func<ulong> _, Action<ulong> set) in generators)
        {
            if (!metadata.TryGetValue(Reserved + "generator." + name, out string? text) || !ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong value))
                throw new InvalidDataException($"{path}: no state for the dropout generator '{name}' (was it saved from another model?).");
            seeds.Add((set, value));
        }
        int steps = 0;
        double learningRate = 0;
        if (optimizer is not null)
        {
            if (!metadata.TryGetValue(Reserved + "optimizer.steps", out string? stepsText) || !metadata.TryGetValue(Reserved + "optimizer.learning_rate", out string? rateText))
                throw new InvalidDataException($"{path}: no optimiser steps or learning rate in the metadata (saved without an optimiser?).");
            if (!int.TryParse(stepsText, NumberStyles.None, CultureInfo.InvariantCulture, out steps))
                throw new InvalidDataException($"{path}: the optimiser's steps in the metadata are '{stepsText}', not a whole number >= 0.");
            // Checked here, as the optimiser would check it, so that a bad value fails before anything changes.
            if (!double.TryParse(rateText, NumberStyles.Float, CultureInfo.InvariantCulture, out learningRate) || !Optimizer.IsValidRate(learningRate))
                throw new InvalidDataException($"{path}: the optimiser's learning rate in the metadata is '{rateText}', not a finite number >= 0.");
        }
        Action? restoreSchedule = null;
        if (schedule is not null)
        {
            if (!metadata.TryGetValue(Reserved + "schedule.kind", out string? kind))
                throw new InvalidDataException($"{path}: no learning-rate schedule in it (saved without one?).");
            if (kind != schedule.GetType().Name)
                throw new InvalidDataException($"{path}: its schedule is a {kind}, not a {schedule.GetType().Name}.");
            var state = metadata.Where(p => p.Key.StartsWith(Reserved + "schedule.", StringComparison.Ordinal))
                .ToDictionary(p => p.Key[(Reserved + "schedule.").Length..], p => p.Value);
            restoreSchedule = schedule.Restorer(state, out string? problem) ?? throw new InvalidDataException($"{path}: the schedule's state is not valid: {problem}.");
        }
        // Everything is checked: from here on nothing fails.
        foreach ((Parameter<float> target, float[] values) in staged) target.CopyFrom(values);
        foreach ((Action<ulong> set, ulong value) in seeds) set(value);
        if (optimizer is not null) optimizer.Restore(steps, learningRate);
        restoreSchedule?.Invoke();
        return UserMetadata(metadata);
    }

    /// <summary>The caller's metadata of a checkpoint, without loading it.</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using Safetensors file = Safetensors.Open(path);
        return UserMetadata(file.Metadata);
    }

    /// <summary>Keys CellGen writes itself: "format", "writer" and "cellgen.*".</summary>
    private static bool IsReserved(string key) => key.StartsWith(Reserved, StringComparison.Ordinal) || key is "format" or "writer";

    private static Dictionary<string, string> UserMetadata(Dictionary<string, string> metadata) =>
        metadata.Where(p => !IsReserved(p.Key)).ToDictionary(p => p.Key, p => p.Value);

    /// <summary>The arguments of Save and Load: a path, and parameters each with a name of its own.</summary>
    private static List<KeyValuePair<string, Parameter<float>>> Checked(string path, IEnumerable<KeyValuePair<string, Parameter<float>>> parameters)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(parameters);
        var list = parameters.ToList();
        if (list.Any(p => p.Key is null || p.Value is null)) throw new ArgumentException("A parameter or its name is null.", nameof(parameters));
        var duplicate = list.GroupBy(p => p.Key).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Two parameters are called '{duplicate.Key}': each name is one tensor of the file.", nameof(parameters));
        return list;
    }

    /// <summary>Saves through a stream wrapper (tests use it to fail in the middle of a write).</summary>
    internal static void Save(string path, IEnumerable<KeyValuePair<string, Parameter<float>>> parameters, Dictionary<string, string>? metadata, Func<Stream, Stream> wrap)
    {
        var list = Checked(path, parameters);

        var header = new Dictionary<string, object>();
        long offset = 0;
        foreach ((string name, Parameter<float> parameter) in list)
        {
            header[name] = new Dictionary<string, object> { ["dtype"] = "F32", ["shape"] = parameter.Shape, ["data_offsets"] = new[] { offset, offset + 4L * parameter.Length } };
            offset += 4L * parameter.Length;
        }
        var pairs = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { ["format"] = "pt", ["writer"] = "CellGen" };
        header["__metadata__"] = pairs;
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int padded = (json.Length + 7) / 8 * 8;

        Files.WriteAtomically(path, file =>
        {
            Stream stream = wrap(file);
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            stream.Write(length);
            stream.Write(json);
            for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach ((string _, Parameter<float> parameter) in list)
            {
                stream.Write(Files.LittleEndian(parameter.ToArray()));
            }
            stream.Flush();
        });
    }

    /// <summary>A tensor as read from a file.</summary>
    private sealed record Entry(string DType, int[] Shape, long Begin, long End);

    /// <summary>
    /// A safetensors file opened and checked: its header read (every entry well formed, in range, not overlapping), its
    /// data read a tensor at a time, only when asked for, so that what a file costs is the tensors taken from it (a file
    /// with data nobody reads, or only its metadata wanted, costs its header).
    /// </summary>
    private sealed class Safetensors : IDisposable
    {
        private readonly FileStream _file;
        private readonly bool _owned;
        private readonly long _dataStart;

        public string Path { get; }

        public Dictionary<string, Entry> Entries { get; } = new();

        public Dictionary<string, string> Metadata { get; } = new();

        public static Safetensors Open(string path) => new(path, Files.OpenRead(path), owned: true);

        public Safetensors(string path, FileStream file, bool owned)
        {
            Path = path;
            _file = file;
            _owned = owned;
            try { _dataStart = ReadHeader(); }
            catch
            {
                Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            if (_owned) _file.Dispose();
        }

        private long ReadHeader()
        {
            string path = Path;
            long fileLength = _file.Length;
            if (fileLength < 8) throw new InvalidDataException($"{path}: {fileLength} bytes, too short for a safetensors header (truncated?).");
            Span<byte> prefix = stackalloc byte[8];
            _file.Position = 0;
            _file.ReadExactly(prefix);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > HeaderLimit || 8 + (long)headerLength > fileLength)
                throw new InvalidDataException($"{path}: the header claims {headerLength} bytes but the file has {fileLength - 8} after the length (truncated or not safetensors).");
            var headerBytes = new byte[headerLength];
            try { _file.ReadExactly(headerBytes); }
            catch (IOException e) { throw new InvalidDataException($"{path}: the header cannot be read ({e.Message}).", e); }
            try
            {
                using JsonDocument header = JsonDocument.Parse(headerBytes);
                if (header.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: the header is not a JSON object.");
                foreach (JsonProperty property in header.RootElement.EnumerateObject())
                {
                    if (property.Name == "__metadata__")
                    {
                        if (property.Value.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: __metadata__ is not an object of strings.");
                        foreach (JsonProperty pair in property.Value.EnumerateObject())
                            Metadata[pair.Name] = pair.Value.ValueKind == JsonValueKind.String ? pair.Value.GetString()! : throw new InvalidDataException($"{path}: metadata '{pair.Name}' is not a string.");
                        continue;
                    }
                    JsonElement e = property.Value;
                    if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("dtype", out JsonElement dtype) || !e.TryGetProperty("shape", out JsonElement shape)
                        || !e.TryGetProperty("data_offsets", out JsonElement offsets) || offsets.GetArrayLength() != 2)
                        throw new InvalidDataException($"{path}: tensor '{property.Name}' lacks dtype, shape or data_offsets.");
                    Entries[property.Name] = new Entry(dtype.GetString() ?? "", shape.EnumerateArray().Select(d => d.GetInt32()).ToArray(),
                        offsets[0].GetInt64(), offsets[1].GetInt64());
                }
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
            {
                throw new InvalidDataException($"{path}: the header is not valid safetensors JSON ({e.Message}).", e);
            }
            long dataLength = fileLength - 8 - (long)headerLength;
            foreach ((string name, Entry entry) in Entries)
            {
                if (entry.Shape.Any(d => d < 0)) throw new InvalidDataException($"{path}: tensor '{name}' has a negative dimension.");
                long size = entry.DType switch { "F32" => 4, "F64" => 8, "F16" or "BF16" => 2, _ => 0 };
                long count = 1;
                foreach (int d in entry.Shape)
                {
                    if (d != 0 && count > Array.MaxLength / d) throw new InvalidDataException($"{path}: tensor '{name}' of shape [{string.Join(", ", entry.Shape)}] has more values than an array holds.");
                    count *= d;
                }
                long expected = size * count;
                if (entry.Begin < 0 || entry.End > dataLength || entry.Begin > entry.End)
                    throw new InvalidDataException($"{path}: tensor '{name}' spans bytes [{entry.Begin}, {entry.End}) of a data section of {dataLength} (truncated?).");
                if (size > 0 && entry.End - entry.Begin != expected)
                    throw new InvalidDataException($"{path}: tensor '{name}' of shape [{string.Join(", ", entry.Shape)}] {entry.DType} needs {expected} bytes but spans {entry.End - entry.Begin}.");
            }
            var ordered = Entries.OrderBy(e => e.Value.Begin).ToList();
            for (int i = 1; i < ordered.Count; i++)
                if (ordered[i].Value.Begin < ordered[i - 1].Value.End)
                    throw new InvalidDataException($"{path}: tensors '{ordered[i - 1].Key}' and '{ordered[i].Key}' overlap.");
            return 8 + (long)headerLength;
        }

        /// <summary>A tensor's values as float32, read in chunks straight into the result (never a byte array of the tensor's size).</summary>
        public float[] Values(string name, Entry entry, string dtype)
        {
            int width = PyTorchArchive.Width(dtype);
            var values = new float[(entry.End - entry.Begin) / width];
            var buffer = new byte[(int)Math.Min(1 << 16, Math.Max(width, entry.End - entry.Begin))];
            _file.Position = _dataStart + entry.Begin;
            for (int at = 0; at < values.Length;)
            {
                int take = Math.Min(buffer.Length / width, values.Length - at);
                try { _file.ReadExactly(buffer, 0, take * width); }
                catch (IOException e) { throw new InvalidDataException($"{Path}: tensor '{name}' cannot be read ({e.Message}; the file shrank while it was read?).", e); }
                PyTorchArchive.ToSingles(buffer.AsSpan(0, take * width), values.AsSpan(at, take), dtype);
                at += take;
            }
            return values;
        }
    }

    private static float[] Values(Safetensors file, string name, Entry entry)
    {
        if (entry.DType != "F32") throw new InvalidDataException($"{file.Path}: tensor '{name}' is {entry.DType}; float32 (F32) is expected.");
        return file.Values(name, entry, "float32");
    }

    /// <summary>
    /// Loads every parameter by name. The file must hold exactly these names (no missing, no unknown), with the same
    /// shapes, as float32; otherwise an <see cref="InvalidDataException"/> names what is wrong and nothing changes.
    /// </summary>
    public static void Load(string path, IEnumerable<KeyValuePair<string, Parameter<float>>> parameters)
    {
        var list = Checked(path, parameters);
        using Safetensors file = Safetensors.Open(path);
        foreach ((Parameter<float> target, float[] values) in Stage(list, file, new HashSet<string>())) target.CopyFrom(values);
    }

    /// <summary>The values of every target, checked against the file (names both ways, shapes, dtype) before any is set.</summary>
    private static List<(Parameter<float> Target, float[] Values)> Stage(List<KeyValuePair<string, Parameter<float>>> list, Safetensors file, HashSet<string> skipped)
    {
        string path = file.Path;
        Dictionary<string, Entry> entries = file.Entries;
        var targets = list.ToDictionary(p => p.Key, p => p.Value);
        var missing = targets.Keys.Where(k => !entries.ContainsKey(k)).ToList();
        if (missing.Count > 0) throw new InvalidDataException($"{path}: missing {string.Join(", ", missing.Select(m => $"'{m}'"))}; the file has {string.Join(", ", entries.Keys)}.");
        var unknown = entries.Keys.Where(k => !targets.ContainsKey(k) && !skipped.Contains(k)).ToList();
        if (unknown.Count > 0) throw new InvalidDataException($"{path}: unknown tensors {string.Join(", ", unknown.Select(m => $"'{m}'"))}; expected {string.Join(", ", targets.Keys)}.");
        var staged = new List<(Parameter<float> Target, float[] Values)>();
        foreach ((string name, Parameter<float> target) in targets)
        {
            Entry entry = entries[name];
            if (!entry.Shape.SequenceEqual(target.Shape))
                throw new InvalidDataException($"{path}: tensor '{name}' has shape [{string.Join(", ", entry.Shape)}]; the parameter has [{string.Join(", ", target.Shape)}].");
            staged.Add((target, Values(file, name, entry)));
        }
        return staged;
    }

    /// <summary>
    /// Imports the weights of one layer and direction of a PyTorch <c>nn.RNN</c>, <c>nn.LSTM</c> or <c>nn.GRU</c>, from
    /// a <c>torch.save</c> file or safetensors, under PyTorch's names (weight_ih_l0, weight_hh_l0, bias_ih_l0,
    /// bias_hh_l0; <paramref name="layer"/> picks _lN and <paramref name="reverse"/> the _reverse direction), into a
    /// cell that computes one of them (Rnn or Irnn, Lstm, Lstmp, TorchGru, or a cell of yours with their equations):
    /// W = [weight_hh | weight_ih] and b = bias_ih + bias_hh per gate; GRU's n gate stays split; for
    /// <c>nn.LSTM(proj_size=P)</c> the projection is weight_hr. Whole models:
    /// <see cref="PyTorch.Import(string, ValueTuple{string, Module}[])"/>.
    /// </summary>
    public static void ImportPyTorch(string path, RecurrentCell<float> cell, int layer = 0, bool reverse = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(cell);
        string suffix = $"_l{layer}" + (reverse ? "_reverse" : "");
        PyTorch.TorchForm(cell); // refuses a cell PyTorch has no module for before the file is read
        var tensors = PyTorch.ReadStateDict(path);
        var staged = PyTorch.CellWeights(cell, (name, shape) =>
        {
            string key = name + suffix;
            if (!tensors.TryGetValue(key, out PyTorchTensor? tensor))
                throw new InvalidDataException($"{path}: missing '{key}'; the file has {string.Join(", ", tensors.Keys)}.");
            PyTorch.CheckShape(path, key, tensor, shape, cell);
            return tensor.Values;
        })!;
        foreach ((Parameter<float> target, float[] values) in staged) target.CopyFrom(values);
    }

    /// <summary>Every tensor of a safetensors file as float32 (F32, F64, F16 and BF16), for imports.</summary>
    internal static Dictionary<string, PyTorchTensor> ReadTensors(string path, FileStream file)
    {
        using var safetensors = new Safetensors(path, file, owned: false);
        var tensors = new Dictionary<string, PyTorchTensor>();
        foreach ((string name, Entry entry) in safetensors.Entries)
        {
            string dtype = entry.DType switch { "F32" => "float32", "F64" => "float64", "F16" => "float16", "BF16" => "bfloat16", _ => throw new InvalidDataException($"{path}: tensor '{name}' is {entry.DType}; F32, F64, F16 or BF16 is expected.") };
            tensors[name] = new PyTorchTensor(entry.Shape, safetensors.Values(name, entry, dtype));
        }
        return tensors;
    }
}
