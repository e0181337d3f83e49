using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using Xunit;

namespace CellGen.Tests;

/// <summary>
/// Files made to hurt the readers (PyTorch.ReadStateDict, PyTorch.Import, Checkpoint.Load): loops, depth, memory
/// declared but not there, malformed values, flipped bits, devices and pipes. Each is an InvalidDataException naming
/// the file, within bounded memory, and the model is unchanged.
/// </summary>
public sealed class HostileFileTests : IDisposable
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pytorch-pt");
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "cellgen-hostile-" + Guid.NewGuid().ToString("N"));

    public HostileFileTests() => Directory.CreateDirectory(_scratch);

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    /// <summary>A pickle written opcode by opcode.</summary>
    internal sealed class Pickle
    {
        private readonly MemoryStream _bytes = new();

        public Pickle() => Op(0x80, 2);

        public Pickle Op(params byte[] bytes) { _bytes.Write(bytes); return this; }

        public Pickle Op(char op) => Op((byte)op);

        public Pickle Op(string ops) => Op(Encoding.ASCII.GetBytes(ops));

        public Pickle Line(char op, string text) => Op((byte)op).Op(Encoding.ASCII.GetBytes(text + "\n"));

        public Pickle Text(string value)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(value);
            return Op((byte)'X').Op(BitConverter.GetBytes(bytes.Length)).Op(bytes);
        }

        public Pickle Int(int value) => Op((byte)'J').Op(BitConverter.GetBytes(value));

        public Pickle Global(string module, string name) => Line('c', module + "\n" + name);

        /// <summary>_rebuild_tensor_v2(storage key, offset, size, stride) with the offset and sizes as given.</summary>
        public Pickle Tensor(string key, int count, Action<Pickle> offset, Action<Pickle> size, Action<Pickle> stride, string storage = "FloatStorage")
        {
            Global("torch._utils", "_rebuild_tensor_v2").Op('(');
            Op('(').Text("storage").Global("torch", storage).Text(key).Text("cpu").Int(count).Op('t').Op('Q');
            offset(this);
            Op('('); size(this); Op('t');
            Op('('); stride(this); Op('t');
            Op(0x89).Op(')').Op('t').Op('R');
            return this;
        }

        public Pickle Tensor(string key, int count, int[] size, int[] stride, int offset = 0) =>
            Tensor(key, count, p => p.Int(offset), p => { foreach (int s in size) p.Int(s); }, p => { foreach (int s in stride) p.Int(s); });

        public byte[] Stop() { Op('.'); return _bytes.ToArray(); }
    }

    /// <summary>A torch.save-like zip: archive/data.pkl and the storages, each stored or deflated.</summary>
    internal static byte[] Zip(byte[] pickle, IEnumerable<(string Key, byte[] Bytes)>? storages = null, CompressionLevel level = CompressionLevel.NoCompression)
    {
        using var memory = new MemoryStream();
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (Stream entry = zip.CreateEntry("archive/data.pkl", level).Open()) entry.Write(pickle);
            foreach ((string key, byte[] bytes) in storages ?? [])
                using (Stream entry = zip.CreateEntry("archive/data/" + key, level).Open()) entry.Write(bytes);
        }
        return memory.ToArray();
    }

    private static byte[] Floats(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_scratch, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>The file is refused with an InvalidDataException that names it and says <paramref name="what"/>; a model importing it is unchanged.</summary>
    private static void Refused(string path, string what)
    {
        var error = Assert.Throws<InvalidDataException>(() => PyTorch.ReadStateDict(path));
        Assert.StartsWith(path + ":", error.Message);
        Assert.True(error.Message.Contains(what, StringComparison.Ordinal), $"'{what}' is not in: {error.Message}");
        var dense = new Dense(3, 2);
        float[] before = dense.Weights.ToArray();
        Assert.Throws<InvalidDataException>(() => PyTorch.Import(path, strict: false, ("", dense)));
        Assert.Equal(before, dense.Weights.ToArray());
    }

    [Fact]
    public void ADictThatContainsItselfIsRefused()
    {
        // d = {}; d['a'] = d
        byte[] pickle = new Pickle().Op('}').Op((byte)'q', 0).Text("a").Op((byte)'h', 0).Op('s').Stop();
        Refused(Write("loop.pt", Zip(pickle)), "contains itself");
        // A loop two levels down, through a list memo too: d = {'x': {'y': d}}
        byte[] deeper = new Pickle().Op('}').Op((byte)'q', 0).Text("x").Op('}').Text("y").Op((byte)'h', 0).Op('s').Op('s').Stop();
        Refused(Write("loop2.pt", Zip(deeper)), "contains itself");
    }

    [Fact]
    public void DictsNestedTwoHundredThousandDeepAreRefusedWithoutRecursion()
    {
        var pickle = new Pickle().Op('}');
        for (int i = 0; i < 200_000; i++) pickle.Text("a").Op('}');
        for (int i = 0; i < 200_000; i++) pickle.Op('s');
        Refused(Write("deep.pt", Zip(pickle.Stop(), level: CompressionLevel.Optimal)), "nest deeper");
        // Lists and tuples nest too (skipped by the walk, built without recursion).
        var lists = new Pickle().Op('}').Text("t").Tensor("0", 1, [1], [1]).Op('s').Text("l");
        for (int i = 0; i < 200_000; i++) lists.Op(']');
        for (int i = 0; i < 200_000 - 1; i++) lists.Op('a');
        var tensors = PyTorch.ReadStateDict(Write("lists.pt", Zip(lists.Op('s').Stop(), [("0", Floats(5))])));
        Assert.Equal([5f], tensors["t"].Values);
    }

    [Fact]
    public void DictsSharedSoOftenThatTheirNamesExplodeAreRefused()
    {
        // d0 = {'t': tensor}; d(k+1) = {'a': dk, 'b': dk}: 2^40 names from a few hundred bytes.
        var pickle = new Pickle().Op('}').Text("t").Tensor("0", 1, [1], [1]).Op('s').Op((byte)'r').Op(BitConverter.GetBytes(0)).Op('0');
        for (int k = 1; k <= 40; k++)
            pickle.Op('}').Text("a").Op((byte)'j').Op(BitConverter.GetBytes(k - 1)).Op('s').Text("b").Op((byte)'j').Op(BitConverter.GetBytes(k - 1)).Op('s')
                .Op((byte)'r').Op(BitConverter.GetBytes(k)).Op(k < 40 ? "0" : "");
        Refused(Write("shared.pt", Zip(pickle.Stop(), [("0", Floats(1))])), "share entries");
    }

    [Fact]
    public void AStorageUnderAHundredTensorsIsReadOnceAndOnlyAsFarAsDeclared()
    {
        // One 16 MB storage, deflated to a few KB, under 100 one-value tensors: read once, not once a tensor.
        const int count = 4 << 20;
        var pickle = new Pickle().Op('}').Op('(');
        for (int i = 0; i < 100; i++) pickle.Text($"t{i}").Tensor("0", count, [1], [1], offset: i);
        string path = Write("shared-storage.pt", Zip(pickle.Op('u').Stop(), [("0", new byte[4 * count])], CompressionLevel.Optimal));
        Assert.True(new FileInfo(path).Length < 100_000);
        PyTorch.ReadStateDict(path); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        var tensors = PyTorch.ReadStateDict(path);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(100, tensors.Count);
        // The storage once (16 MB as float32) and small change; before, every tensor inflated, copied and widened it.
        Assert.True(allocated < 4L * count + (2 << 20), $"reading allocated {allocated} bytes for a storage of {4L * count}");
    }

    [Fact]
    public void AStorageEntryShorterOrLongerThanDeclaredIsRefusedBeforeItIsRead()
    {
        byte[] pickle = new Pickle().Op('}').Text("w").Tensor("0", 4, [4], [1]).Op('s').Stop();
        Refused(Write("short.pt", Zip(pickle, [("0", Floats(1, 2, 3))])), "has 12 bytes; 4 float32 values need 16");
        Refused(Write("long.pt", Zip(pickle, [("0", Floats(1, 2, 3, 4, 5))])), "has 20 bytes");
        // A storage that declares 2^30 values over a 4-byte entry allocates nothing for them.
        byte[] huge = new Pickle().Op('}').Text("w").Tensor("0", 1 << 30, [1], [1]).Op('s').Stop();
        Refused(Write("huge.pt", Zip(huge, [("0", Floats(1))])), "has 4 bytes");
        Refused(Write("missing.pt", Zip(pickle)), "missing from the archive");
    }

    [Fact]
    public void APicklePaddedPastStopOrDeclaringHugeValuesCostsNoMoreThanItsBytes()
    {
        // 256 MB of padding after STOP, deflated: the entry is refused by its declared size, never inflated.
        byte[] pickle = new Pickle().Op('}').Text("w").Tensor("0", 1, [1], [1]).Op('s').Stop();
        using (var memory = new MemoryStream())
        {
            using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
            {
                using (Stream entry = zip.CreateEntry("archive/data.pkl", CompressionLevel.Optimal).Open())
                {
                    entry.Write(pickle);
                    var zeros = new byte[1 << 20];
                    for (int i = 0; i < 256; i++) entry.Write(zeros);
                }
                using (Stream entry = zip.CreateEntry("archive/data/0").Open()) entry.Write(Floats(1));
            }
            long before = GC.GetAllocatedBytesForCurrentThread();
            Refused(Write("padded.pt", memory.ToArray()), "data.pkl declares");
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20);
        }
        // A string that declares 2 GB in a pickle of a few bytes.
        byte[] liar = new Pickle().Op((byte)'X').Op(BitConverter.GetBytes(int.MaxValue)).Op((byte)'a', (byte)'.').Op('.').Stop();
        Refused(Write("liar.pt", Zip(liar)), "declares a value of");
        byte[] liar8 = new Pickle().Op(0x8d).Op(BitConverter.GetBytes(long.MaxValue)).Op('.').Stop();
        Refused(Write("liar8.pt", Zip(liar8)), "declares a value of");
    }

    public static TheoryData<string, string> MalformedValues() => new()
    {
        { "I12x\n", "integer that is not a number" },
        { "Fnot-a-float\n", "FLOAT that is not a number" },
        { "gzz\n", "memo index that is not a number" },
        { "}pnope\n", "memo index that is not a number" },
        { "g99\n", "never set" },
        { "Sunquoted\n", "not quoted" },
        { "t", "without a MARK" },
        { "s", "empty stack" },
        { "}0", "stops with the wrong number" },
        { "N", "STOP" },
    };

    [Theory]
    [MemberData(nameof(MalformedValues))]
    public void MalformedOpcodesAreInvalidData(string opcodes, string what)
    {
        byte[] pickle = new byte[] { 0x80, 2 }.Concat(Encoding.ASCII.GetBytes(opcodes)).Concat(opcodes == "N" ? [] : new[] { (byte)'.' }).ToArray();
        if (opcodes == "N") pickle = pickle.Concat(new byte[] { 0x85 }).ToArray(); // a tuple of None, then the end: no STOP
        Refused(Write("malformed.pt", Zip(pickle)), what);
    }

    [Fact]
    public void ATensorsOffsetSizeOrStrideOfTheWrongKindOrOutOfRangeIsInvalidData()
    {
        byte[] Tensor(Action<Pickle> offset, Action<Pickle> size, Action<Pickle> stride) =>
            Zip(new Pickle().Op('}').Text("w").Tensor("0", 4, offset, size, stride).Op('s').Stop(), [("0", Floats(1, 2, 3, 4))]);
        Action<Pickle> Int(int v) => p => p.Int(v);
        Action<Pickle> Float(double v) => p => p.Op((byte)'G').Op(BitConverter.GetBytes(v).Reverse().ToArray());
        Action<Pickle> Long(long v) => p => p.Op(0x8a, 8).Op(BitConverter.GetBytes(v));
        var cases = new (string Name, byte[] Bytes, string What)[]
        {
            ("string-offset", Tensor(p => p.Text("0"), Int(4), Int(1)), "offset as a string"),
            ("string-size", Tensor(Int(0), p => p.Text("4"), Int(1)), "size as a string"),
            ("float-offset", Tensor(Float(1e30), Int(4), Int(1)), "offset as a float"),
            ("nan-offset", Tensor(Float(double.NaN), Int(4), Int(1)), "offset as a float"),
            ("huge-stride", Tensor(Int(0), Int(4), Long(long.MaxValue - 1)), "strides that reach past"),
            ("huge-stride-2d", Tensor(Int(0), p => p.Int(2).Int(2), p => { Long(long.MaxValue / 2)(p); p.Int(1); }), "reads past the end"),
            ("negative-stride", Tensor(Int(0), Int(4), Int(-1)), "negative stride"),
            ("negative-offset", Tensor(Int(-1), Int(4), Int(1)), "negative storage offset"),
            ("huge-offset", Tensor(Long(long.MaxValue), Int(4), Int(1)), "reach past"),
            ("past-end", Tensor(Int(1), Int(4), Int(1)), "reads past the end"),
            ("overlapping", Tensor(Int(0), p => p.Int(1000), Int(0)), "overlapping strides"),
            ("sizes-strides", Tensor(Int(0), p => p.Int(2).Int(2), Int(1)), "2 sizes and 1 strides"),
            ("huge-count", Tensor(Int(0), p => p.Int(65536).Int(65536).Int(65536).Int(65536), p => p.Int(0).Int(0).Int(0).Int(0)), "more values than an array"),
        };
        foreach ((string name, byte[] bytes, string what) in cases) Refused(Write(name + ".pt", bytes), what);
    }

    [Fact]
    public void AFlippedBitInAStorageFailsItsCrc()
    {
        byte[] good = File.ReadAllBytes(Path.Combine(Folder, "linear-float64.pt"));
        int data = DataOf(good, "data/0");
        byte[] flipped = (byte[])good.Clone();
        flipped[data + 3] ^= 0x10;
        Refused(Write("flipped.pt", flipped), "CRC-32");
    }

    /// <summary>Where the bytes of the first entry whose name ends with <paramref name="suffix"/> begin (after its local header).</summary>
    internal static int DataOf(byte[] zip, string suffix)
    {
        for (int i = 0; i + 30 < zip.Length; i++)
        {
            if (zip[i] != 'P' || zip[i + 1] != 'K' || zip[i + 2] != 3 || zip[i + 3] != 4) continue;
            int nameLength = BitConverter.ToUInt16(zip, i + 26), extra = BitConverter.ToUInt16(zip, i + 28);
            if (Encoding.ASCII.GetString(zip, i + 30, nameLength).EndsWith(suffix, StringComparison.Ordinal)) return i + 30 + nameLength + extra;
        }
        throw new InvalidOperationException($"no entry {suffix}");
    }

    [Fact]
    public void DevicesAndPipesAreRefusedNotReadForever()
    {
        if (!OperatingSystem.IsLinux()) return;
        Refused("/dev/zero", "not a regular file");
        string fifo = Path.Combine(_scratch, "fifo.pt");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo)) mkfifo.WaitForExit();
        Refused(fifo, "not a regular file");
        string link = Path.Combine(_scratch, "link.pt");
        File.CreateSymbolicLink(link, fifo); // a link to a pipe would block the open as the pipe does
        Refused(link, "not a regular file");
        Assert.Contains("not a regular file", Assert.Throws<InvalidDataException>(() => Checkpoint.ReadMetadata(fifo)).Message);
        Assert.Contains("cannot be read", Assert.Throws<InvalidDataException>(() => PyTorch.ReadStateDict(_scratch)).Message);
    }

    [Fact]
    public void ASafetensorsShapeWhoseProductOverflowsIsRefused()
    {
        string header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[65536,65536,65536,65536],\"data_offsets\":[0,0]}}";
        byte[] json = Encoding.UTF8.GetBytes(header);
        byte[] file = BitConverter.GetBytes((ulong)json.Length).Concat(json).ToArray();
        string path = Write("overflow.safetensors", file);
        var error = Assert.Throws<InvalidDataException>(() => PyTorch.ReadStateDict(path));
        Assert.Contains("more values than an array holds", error.Message);
    }

    [Fact]
    public void ASafetensorsFileCostsTheTensorsTakenFromItNotItsSize()
    {
        // One tensor of 2 values, then 256 MB of data no entry spans (a sparse file: nothing is written to the disk).
        string header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"__metadata__\":{\"note\":\"x\"}}";
        byte[] json = Encoding.UTF8.GetBytes(header);
        string path = Path.Combine(_scratch, "padded.safetensors");
        using (var file = new FileStream(path, FileMode.CreateNew))
        {
            file.Write(BitConverter.GetBytes((ulong)json.Length));
            file.Write(json);
            file.Write(Floats(1.5f, -2f));
            file.SetLength(file.Length + (256L << 20));
        }
        Checkpoint.ReadMetadata(path); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal("x", Checkpoint.ReadMetadata(path)["note"]);
        var tensors = PyTorch.ReadStateDict(path);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
        Assert.Equal([1.5f, -2f], tensors["w"].Values);
    }
}
