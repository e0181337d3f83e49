using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using Xunit;

namespace CellGen.Tests;

/// <summary>
/// Seeded fuzzing of the file readers, bounded for CI: byte flips and truncations of files PyTorch wrote, pickle
/// mutations re-zipped with valid CRCs, random pickles over every opcode, and safetensors header edits. Every mutant
/// must end in the right values or an InvalidDataException naming the file, within bounded memory; nothing else.
/// </summary>
public sealed class ReaderFuzzTests : IDisposable
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pytorch-pt");
    private static readonly string[] Sources = ["lstm.pt", "gru.pt", "nested.pt", "linear-float16.pt", "linear-strided.pt", "linear-protocol4.pt"];
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "cellgen-fuzz-" + Guid.NewGuid().ToString("N"));
    private int _count;

    /// <summary>CELLGEN_FUZZ_SCALE=N runs N times the mutants (CI runs 1; a longer run by hand finds rarer cases).</summary>
    private static readonly int Scale = int.TryParse(Environment.GetEnvironmentVariable("CELLGEN_FUZZ_SCALE"), out int scale) && scale > 0 ? scale : 1;

    public ReaderFuzzTests() => Directory.CreateDirectory(_scratch);

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    /// <summary>Reads a mutant: the values, or null when it was refused as it should be.</summary>
    private IReadOnlyDictionary<string, PyTorchTensor>? Read(byte[] bytes, string what)
    {
        string path = Path.Combine(_scratch, $"mutant{_count++}.pt");
        File.WriteAllBytes(path, bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        try { return PyTorch.ReadStateDict(path); }
        catch (InvalidDataException e)
        {
            Assert.True(e.Message.StartsWith(path + ":", StringComparison.Ordinal), $"{what}: the message does not name the file: {e.Message}");
            return null;
        }
        catch (Exception e)
        {
            Assert.Fail($"{what}: {e.GetType().Name} instead of InvalidDataException: {e.Message}\n{e.StackTrace}");
            return null;
        }
        finally
        {
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 64L << 20, $"{what}: reading allocated {allocated} bytes");
            File.Delete(path);
        }
    }

    private static void SameValues(IReadOnlyDictionary<string, PyTorchTensor> expected, IReadOnlyDictionary<string, PyTorchTensor> actual, string what)
    {
        Assert.True(expected.Keys.Order().SequenceEqual(actual.Keys.Order()), $"{what}: other names read");
        foreach ((string name, PyTorchTensor tensor) in expected)
        {
            Assert.True(tensor.Shape.SequenceEqual(actual[name].Shape), $"{what}: {name} has another shape");
            Assert.True(tensor.Values.SequenceEqual(actual[name].Values), $"{what}: {name} has other values");
        }
    }

    [Fact]
    [Trait("Category", "Fuzz")]
    public void FlippedAndTruncatedTorchSaveFilesAreRefusedOrReadRight()
    {
        var random = new Random(25);
        foreach (string source in Sources)
        {
            byte[] good = File.ReadAllBytes(Path.Combine(Folder, source));
            var expected = PyTorch.ReadStateDict(Path.Combine(Folder, source));
            for (int m = 0; m < 400 * Scale; m++)
            {
                byte[] bytes = (byte[])good.Clone();
                int flips = 1 + random.Next(3);
                for (int f = 0; f < flips; f++) bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                // A flip the zip's CRCs cannot see lies outside the data (a local header the central directory overrides).
                if (Read(bytes, $"{source}, flips #{m}") is { } read) SameValues(expected, read, $"{source}, flips #{m}");
            }
            for (int m = 0; m < 30 * Scale; m++)
            {
                int length = random.Next(good.Length);
                Read(good[..length], $"{source} truncated to {length}");
            }
        }
    }

    [Fact]
    [Trait("Category", "Fuzz")]
    public void MutatedPicklesRezippedWithValidCrcsAreRefusedOrRead()
    {
        var random = new Random(26);
        foreach (string source in Sources)
        {
            (string PickleName, byte[] Pickle, List<(string Name, byte[] Bytes)> Others) archive = Unzip(File.ReadAllBytes(Path.Combine(Folder, source)));
            for (int m = 0; m < 400 * Scale; m++)
            {
                var pickle = archive.Pickle.ToList();
                int edits = 1 + random.Next(4);
                for (int e = 0; e < edits; e++)
                {
                    int at = random.Next(pickle.Count);
                    switch (random.Next(4))
                    {
                        case 0: pickle[at] ^= (byte)(1 << random.Next(8)); break;
                        case 1: pickle[at] = (byte)random.Next(256); break;
                        case 2: pickle.RemoveAt(at); break;
                        default: pickle.Insert(at, (byte)random.Next(256)); break;
                    }
                }
                Read(Rezip(archive.PickleName, pickle.ToArray(), archive.Others), $"{source}, pickle mutant #{m}");
            }
        }
    }

    [Fact]
    [Trait("Category", "Fuzz")]
    public void RandomPicklesOverEveryOpcodeAreRefusedOrRead()
    {
        // Every opcode of protocols 0 to 5, each with operands of its kind (sometimes of the wrong kind or length).
        var random = new Random(27);
        string[] textValues = ["0", "1", "-7", "00", "01", "abc", "1e30", "nan", "99999999999999999999999", "'x'", "\"y\"", "z", ""];
        byte[][] texts = textValues.Select(t => Encoding.ASCII.GetBytes(t + "\n")).ToArray();
        string[] names = ["torch._utils\n_rebuild_tensor_v2\n", "collections\nOrderedDict\n", "torch\nFloatStorage\n", "torch\nLongStorage\n",
            "os\nsystem\n", "builtins\neval\n", "torch\n_utils\n"];
        byte[] Operand(byte op) => op switch
        {
            (byte)'I' or (byte)'L' or (byte)'F' or (byte)'g' or (byte)'p' or (byte)'S' or (byte)'V' or (byte)'P' => texts[random.Next(texts.Length)],
            (byte)'c' or (byte)'i' => Encoding.ASCII.GetBytes(names[random.Next(names.Length)]),
            (byte)'K' or (byte)'h' or (byte)'q' or 0x80 or (byte)'U' or (byte)'C' or 0x8c or 0x8a => [(byte)random.Next(4), .. RandomBytes(random.Next(4))],
            (byte)'M' => RandomBytes(2),
            (byte)'J' or (byte)'j' or (byte)'r' => BitConverter.GetBytes(random.Next(-2, 8)),
            (byte)'T' or (byte)'B' or (byte)'X' or 0x8b => [.. BitConverter.GetBytes(random.Next(-1, 6)), .. Encoding.ASCII.GetBytes("abcdef")[..random.Next(6)]],
            0x8d or 0x8e or 0x96 or 0x95 or (byte)'G' => [.. BitConverter.GetBytes(random.Next(2) == 0 ? random.Next(5) : long.MaxValue - random.Next(5)), .. RandomBytes(random.Next(5))],
            _ => [],
        };
        byte[] RandomBytes(int n)
        {
            var bytes = new byte[n];
            random.NextBytes(bytes);
            return bytes;
        }
        byte[] opcodes = Enumerable.Range(0, 256).Select(b => (byte)b)
            .Where(b => "IJKMLSTUBCNVXFG]ael)t}dsu02(1ghjpqrcRbio.PQ".Contains((char)b) || b is >= 0x80 and <= 0x98).ToArray();
        Assert.Equal(68, opcodes.Length); // pickletools.opcodes: protocol 0 and 1's 43, protocol 2 to 5's 25
        var storage = new List<(string, byte[])> { ("0", BitConverter.GetBytes(1.5f)) };
        int read = 0;
        for (int m = 0; m < 5000 * Scale; m++)
        {
            var pickle = new List<byte> { 0x80, (byte)random.Next(6) };
            int length = 1 + random.Next(24);
            for (int k = 0; k < length; k++)
            {
                byte op = opcodes[random.Next(opcodes.Length)];
                pickle.Add(op);
                pickle.AddRange(Operand(op));
            }
            if (random.Next(4) > 0) pickle.Add((byte)'.');
            if (Read(Rezip("archive/data.pkl", pickle.ToArray(), storage), $"random pickle #{m}: {Convert.ToHexString(pickle.ToArray())}") is not null) read++;
        }
        Assert.True(read < 5000 * Scale);
    }

    [Fact]
    [Trait("Category", "Fuzz")]
    public void EditedSafetensorsHeadersAreRefusedOrReadAndLeaveTheModelUnchanged()
    {
        var random = new Random(28);
        var model = new Sequential(new Embedding(9, 4), new Dense(4, 3));
        string path = Path.Combine(_scratch, "model.safetensors");
        Checkpoint.Save(path, model);
        byte[] good = File.ReadAllBytes(path);
        int length = (int)BitConverter.ToUInt64(good, 0);
        string header = Encoding.UTF8.GetString(good, 8, length);
        byte[] data = good[(8 + length)..];
        string[] replacements = ["-1", "0", "1", "65536", "4294967296", "9223372036854775807", "1e400", "\"F64\"", "\"I64\"", "\"BF16\"", "null", "[]", "[65536,65536,65536,65536]", "{}", "\"x\""];
        for (int m = 0; m < 400 * Scale; m++)
        {
            string edited = header;
            int edits = 1 + random.Next(3);
            for (int e = 0; e < edits; e++)
            {
                // Replace a number, a string or a bracketed list of the header with something of another kind or size.
                var tokens = System.Text.RegularExpressions.Regex.Matches(edited, "\\[[^\\[\\]{}]*\\]|-?\\d+|\"[A-Z0-9]+\"");
                if (tokens.Count == 0) break;
                var token = tokens[random.Next(tokens.Count)];
                edited = edited[..token.Index] + replacements[random.Next(replacements.Length)] + edited[(token.Index + token.Length)..];
            }
            if (random.Next(8) == 0) edited = edited[..random.Next(edited.Length)];
            byte[] json = Encoding.UTF8.GetBytes(edited);
            ulong declared = random.Next(10) == 0 ? (ulong)random.NextInt64() : (ulong)json.Length;
            byte[] bytes = [.. BitConverter.GetBytes(declared), .. json, .. data];
            Read(bytes, $"header mutant #{m}: {edited}");

            // The same through Checkpoint.Load: refused with the model unchanged, or loaded.
            string file = Path.Combine(_scratch, "edited.safetensors");
            File.WriteAllBytes(file, bytes);
            var target = new Sequential(new Embedding(9, 4), new Dense(4, 3));
            var before = target.NamedParameters().Select(p => p.Value.ToArray()).ToList();
            try { Checkpoint.Load(file, target); }
            catch (InvalidDataException e)
            {
                Assert.StartsWith(file + ":", e.Message);
                Assert.Equal(before, target.NamedParameters().Select(p => p.Value.ToArray()).ToList());
            }
        }
    }

    private static (string PickleName, byte[] Pickle, List<(string Name, byte[] Bytes)> Others) Unzip(byte[] bytes)
    {
        using var zip = new ZipArchive(new MemoryStream(bytes));
        string pickleName = "";
        byte[] pickle = [];
        var others = new List<(string, byte[])>();
        foreach (ZipArchiveEntry entry in zip.Entries)
        {
            using var copy = new MemoryStream();
            using (Stream stream = entry.Open()) stream.CopyTo(copy);
            if (entry.FullName.EndsWith("data.pkl", StringComparison.Ordinal)) (pickleName, pickle) = (entry.FullName, copy.ToArray());
            else others.Add((entry.FullName, copy.ToArray()));
        }
        return (pickleName, pickle, others);
    }

    private static byte[] Rezip(string pickleName, byte[] pickle, IEnumerable<(string Name, byte[] Bytes)> others)
    {
        using var memory = new MemoryStream();
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (Stream entry = zip.CreateEntry(pickleName, CompressionLevel.NoCompression).Open()) entry.Write(pickle);
            foreach ((string name, byte[] bytes) in others)
                using (Stream entry = zip.CreateEntry(name.Contains('/') ? name : "archive/data/" + name, CompressionLevel.NoCompression).Open()) entry.Write(bytes);
        }
        return memory.ToArray();
    }
}
