using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Numerics;

namespace CellGen;

/// <summary>
/// Reads what <c>torch.save</c> writes: a zip of <c>data.pkl</c> (read by <see cref="StateDictPickle"/>) and one entry per
/// storage. Every entry's CRC-32 is checked, as Python's zipfile does. Each storage is read once, by key, and only as
/// many bytes as its declared element count needs (an entry of another length is refused, before anything is
/// allocated for it), and dropped once its last tensor is copied out: the memory a file costs is the tensors returned
/// plus the storages they use, whatever the file declares.
/// </summary>
internal static class PyTorchArchive
{
    /// <summary>A state dict's pickle is about a hundred bytes a tensor; past this it is not one.</summary>
    private const long PickleLimit = 64L << 20;

    /// <summary>How deep dicts may nest (a checkpoint nests a state dict two or three levels down).</summary>
    private const int DepthLimit = 64;

    private sealed record Named(string Name, StateDictPickle.TensorView View);

    public static Dictionary<string, PyTorchTensor> Read(string path, Stream file)
    {
        using var zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
        var pickles = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl").ToList();
        if (pickles.Count != 1) throw new InvalidDataException($"{path}: a zip archive, but not one torch.save wrote: {(pickles.Count == 0 ? "no" : "more than one")} data.pkl in it.");
        ZipArchiveEntry pickleEntry = pickles[0];
        string root = pickleEntry.FullName[..^"data.pkl".Length];
        if (pickleEntry.Length > PickleLimit)
            throw new InvalidDataException($"{path}: its data.pkl declares {pickleEntry.Length} bytes; a state dict's pickle is far smaller (the limit is {PickleLimit}).");
        byte[] pickle = new byte[pickleEntry.Length];
        int filled = 0;
        ReadEntry(path, pickleEntry, pickle.Length, chunk =>
        {
            chunk.CopyTo(pickle.AsSpan(filled));
            filled += chunk.Length;
        });

        object? loaded = StateDictPickle.Load(pickle, path);
        if (loaded is not StateDictPickle.Dict dictionary)
            throw new InvalidDataException($"{path}: holds a {StateDictPickle.Describe(loaded)}, not a state dict (a dict of names to tensors).");
        List<Named> views = Collect(path, dictionary, budget: 16L * pickle.Length + (1L << 20));
        if (views.Count == 0) throw new InvalidDataException($"{path}: a dict with no tensors in it: not a state dict.");

        // Each storage is read when its first tensor needs it and dropped after its last.
        var uses = views.GroupBy(v => v.View.Storage.Key).ToDictionary(g => g.Key, g => g.Count());
        var storages = new Dictionary<string, (StateDictPickle.StorageReference Reference, float[] Values)>();
        var tensors = new Dictionary<string, PyTorchTensor>();
        foreach ((string name, StateDictPickle.TensorView view) in views)
        {
            StateDictPickle.StorageReference reference = view.Storage;
            if (!storages.TryGetValue(reference.Key, out var storage))
                storages[reference.Key] = storage = (reference, Storage(path, zip, root, reference));
            else if (storage.Reference != reference)
                throw new InvalidDataException($"{path}: the storage '{reference.Key}' is declared as {storage.Reference.Count} {storage.Reference.DType} values and as {reference.Count} {reference.DType} values.");
            tensors[name] = Materialise(path, name, view, storage.Values);
            if (--uses[reference.Key] == 0) storages.Remove(reference.Key);
        }
        return tensors;
    }

    /// <summary>
    /// The tensors under every dict, with dotted names ("model.rnn.weight_ih_l0"): a checkpoint often nests a state dict
    /// ({"model": ..., "optimizer": ..., "epoch": 3}); numbers, strings and lists beside the tensors are skipped. No
    /// recursion: a dict that contains itself, dicts nested past <see cref="DepthLimit"/>, or shared dicts that would
    /// name more than the pickle holds (<paramref name="budget"/> characters of names) are refused.
    /// </summary>
    private static List<Named> Collect(string path, StateDictPickle.Dict root, long budget)
    {
        var found = new List<Named>();
        var open = new HashSet<StateDictPickle.Dict>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(StateDictPickle.Dict Dict, string Prefix, int Next)>();
        stack.Push((root, "", 0));
        open.Add(root);
        while (stack.Count > 0)
        {
            (StateDictPickle.Dict dict, string prefix, int next) = stack.Pop();
            if (next == dict.Items.Count)
            {
                open.Remove(dict);
                continue;
            }
            stack.Push((dict, prefix, next + 1));
            (object key, object? value) = dict.Items[next];
            if (value is not (StateDictPickle.TensorView or StateDictPickle.Dict) || KeyText(key) is not { } text) continue;
            string name = prefix + text;
            budget -= name.Length + 1;
            if (budget < 0) throw new InvalidDataException($"{path}: its dicts share entries so often that they name more than the pickle holds; refused.");
            if (value is StateDictPickle.TensorView view) found.Add(new Named(name, view));
            else if (value is StateDictPickle.Dict inner)
            {
                if (!open.Add(inner)) throw new InvalidDataException($"{path}: the dict under '{name}' contains itself; a state dict never does.");
                if (stack.Count >= DepthLimit) throw new InvalidDataException($"{path}: its dicts nest deeper than {DepthLimit} levels ('{Shorten(name)}'); a state dict never does.");
                stack.Push((inner, name + ".", 0));
            }
        }
        return found;
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "...";

    /// <summary>A key as a name: Python's str() of strings and numbers; other keys name nothing.</summary>
    private static string? KeyText(object key) => key switch
    {
        string s => s,
        long l => l.ToString(CultureInfo.InvariantCulture),
        BigInteger b => b.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "True" : "False",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        _ => null,
    };

    /// <summary>The storage's values as float32, from exactly the bytes its element count declares.</summary>
    private static float[] Storage(string path, ZipArchive zip, string root, StateDictPickle.StorageReference reference)
    {
        ZipArchiveEntry entry = zip.GetEntry(root + "data/" + reference.Key)
            ?? throw new InvalidDataException($"{path}: the storage '{reference.Key}' is missing from the archive.");
        int width = Width(reference.DType);
        if (reference.Count < 0 || reference.Count > Array.MaxLength)
            throw new InvalidDataException($"{path}: the storage '{reference.Key}' declares {reference.Count} values, more than an array holds.");
        long bytes = reference.Count * width;
        if (entry.Length != bytes)
            throw new InvalidDataException($"{path}: the storage '{reference.Key}' has {entry.Length} bytes; {reference.Count} {reference.DType} values need {bytes} (truncated or corrupt?).");
        var values = new float[reference.Count];
        int at = 0;
        var carry = new byte[width];
        int carried = 0;
        ReadEntry(path, entry, bytes, chunk =>
        {
            // Values may straddle chunks: the part of one that ended a chunk waits in carry.
            if (carried > 0)
            {
                int more = Math.Min(width - carried, chunk.Length);
                chunk[..more].CopyTo(carry.AsSpan(carried));
                carried += more;
                chunk = chunk[more..];
                if (carried < width) return;
                ToSingles(carry, values.AsSpan(at++, 1), reference.DType);
                carried = 0;
            }
            int whole = chunk.Length / width;
            ToSingles(chunk[..(whole * width)], values.AsSpan(at, whole), reference.DType);
            at += whole;
            chunk[(whole * width)..].CopyTo(carry);
            carried = chunk.Length - whole * width;
        });
        return values;
    }

    private delegate void ChunkReader(ReadOnlySpan<byte> chunk);

    /// <summary>
    /// Reads exactly <paramref name="length"/> bytes of an entry (its declared length) in chunks, refuses an entry that
    /// ends sooner or goes on, and checks its CRC-32. A deflated entry cannot inflate past about 1032 times its size,
    /// so one that declares more is refused before anything is read.
    /// </summary>
    private static void ReadEntry(string path, ZipArchiveEntry entry, long length, ChunkReader read)
    {
        if (entry.CompressedLength < length / 1100)
            throw new InvalidDataException($"{path}: the entry '{entry.FullName}' declares {length} bytes from {entry.CompressedLength} compressed ones, more than compression gives; corrupt.");
        using Stream stream = entry.Open();
        var buffer = new byte[(int)Math.Clamp(length, 1, 1 << 16)];
        uint crc = Crc32.Start;
        long left = length;
        while (left > 0)
        {
            int n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n == 0) throw new InvalidDataException($"{path}: the entry '{entry.FullName}' ends after {length - left} of its {length} bytes (truncated?).");
            crc = Crc32.Update(crc, buffer.AsSpan(0, n));
            read(buffer.AsSpan(0, n));
            left -= n;
        }
        if (stream.Read(buffer, 0, 1) != 0) throw new InvalidDataException($"{path}: the entry '{entry.FullName}' holds more than its declared {length} bytes; corrupt.");
        if (Crc32.Finish(crc) != entry.Crc32)
            throw new InvalidDataException($"{path}: the entry '{entry.FullName}' fails its CRC-32 check (stored {entry.Crc32:x8}, read {Crc32.Finish(crc):x8}): the file is corrupt.");
    }

    /// <summary>A view's values, row-major, with every size, stride and offset checked without overflow.</summary>
    private static PyTorchTensor Materialise(string path, string name, StateDictPickle.TensorView view, float[] storage)
    {
        InvalidDataException Bad(string what) => new($"{path}: tensor '{Shorten(name)}' {what}.");
        long[] size = view.Size, stride = view.Stride;
        if (view.Offset < 0) throw Bad($"has a negative storage offset ({view.Offset})");
        long count = 1, last = view.Offset;
        for (int d = 0; d < size.Length; d++)
        {
            if (size[d] < 0 || size[d] > int.MaxValue) throw Bad($"has a size out of range ({size[d]})");
            if (stride[d] < 0) throw Bad($"has a negative stride ({stride[d]})");
            if (size[d] == 0) { count = 0; continue; }
            if (count != 0 && size[d] > Array.MaxLength / count) throw Bad("has more values than an array holds");
            count *= size[d];
            if (stride[d] > 0 && size[d] - 1 > (long.MaxValue - last) / stride[d]) throw Bad("has strides that reach past any storage");
            last += (size[d] - 1) * stride[d];
        }
        if (count > 0 && last >= storage.Length)
            throw Bad($"reads past the end of its storage ({storage.Length} values; offset {view.Offset}, size [{string.Join(", ", size)}], stride [{string.Join(", ", stride)}])");
        if (count > storage.Length)
            throw Bad($"has {count} values over a storage of {storage.Length}: overlapping strides, which no parameter or buffer has");
        var values = new float[count];
        long expected = 1; // row-major strides: the values lie in one run of the storage
        bool contiguous = true;
        for (int d = size.Length - 1; d >= 0; d--)
        {
            contiguous &= size[d] == 1 || stride[d] == expected;
            expected *= size[d];
        }
        if (contiguous)
        {
            if (count > 0) storage.AsSpan((int)view.Offset, (int)count).CopyTo(values);
            return new PyTorchTensor(Array.ConvertAll(size, s => (int)s), values);
        }
        var index = new long[size.Length];
        for (long k = 0; k < count; k++)
        {
            long at = view.Offset;
            for (int d = 0; d < size.Length; d++) at += index[d] * stride[d];
            values[k] = storage[at];
            for (int d = size.Length - 1; d >= 0; d--)
            {
                if (++index[d] < size[d]) break;
                index[d] = 0;
            }
        }
        return new PyTorchTensor(Array.ConvertAll(size, s => (int)s), values);
    }

    /// <summary>The bytes of one value of <paramref name="dtype"/>.</summary>
    public static int Width(string dtype) => dtype switch
    {
        "float64" or "int64" => 8,
        "float32" or "int32" => 4,
        "float16" or "bfloat16" or "int16" => 2,
        "int8" or "uint8" or "bool" => 1,
        _ => throw new ArgumentException($"Unknown dtype {dtype}.", nameof(dtype)),
    };

    /// <summary>Little-endian values of <paramref name="dtype"/> (as many as <paramref name="values"/> holds) as float32; the dtype is decided once, not per value.</summary>
    public static void ToSingles(ReadOnlySpan<byte> bytes, Span<float> values, string dtype)
    {
        switch (dtype)
        {
            case "float64": for (int k = 0; k < values.Length; k++) values[k] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * k)..]); break;
            case "float32": for (int k = 0; k < values.Length; k++) values[k] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * k)..]); break;
            case "float16": for (int k = 0; k < values.Length; k++) values[k] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(2 * k)..]); break;
            case "bfloat16": for (int k = 0; k < values.Length; k++) values[k] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * k)..]) << 16); break;
            case "int64": for (int k = 0; k < values.Length; k++) values[k] = BinaryPrimitives.ReadInt64LittleEndian(bytes[(8 * k)..]); break;
            case "int32": for (int k = 0; k < values.Length; k++) values[k] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(4 * k)..]); break;
            case "int16": for (int k = 0; k < values.Length; k++) values[k] = BinaryPrimitives.ReadInt16LittleEndian(bytes[(2 * k)..]); break;
            case "int8": for (int k = 0; k < values.Length; k++) values[k] = (sbyte)bytes[k]; break;
            default: for (int k = 0; k < values.Length; k++) values[k] = bytes[k]; break; // uint8, bool
        }
    }

    /// <summary>The zip format's CRC-32 (IEEE 802.3, reflected), as Python's zipfile checks it.</summary>
    private static class Crc32
    {
        public const uint Start = 0xFFFFFFFF;

        private static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
        {
            uint c = (uint)n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            return c;
        }).ToArray();

        public static uint Update(uint crc, ReadOnlySpan<byte> bytes)
        {
            foreach (byte b in bytes) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            return crc;
        }

        public static uint Finish(uint crc) => ~crc;
    }
}
