using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Text;

namespace CellGen;

/// <summary>
/// Writes what <c>torch.save(state_dict)</c> writes: a zip (entries stored, not compressed) holding archive/data.pkl, a
/// protocol-2 pickle of an OrderedDict of float32 tensors rebuilt by torch._utils._rebuild_tensor_v2 from persistent
/// storages, and each storage's raw little-endian values in archive/data/N.
/// </summary>
internal static class PyTorchFile
{
    public static void Write(string path, IReadOnlyList<(string Name, int[] Shape, float[] Values)> tensors) =>
        Files.WriteAtomically(path, file =>
        {
            using var zip = new ZipArchive(file, ZipArchiveMode.Create, leaveOpen: true);
            Entry(zip, "archive/data.pkl", Pickle(tensors));
            for (int i = 0; i < tensors.Count; i++) Entry(zip, $"archive/data/{i}", Files.LittleEndian(tensors[i].Values));
            Entry(zip, "archive/version", "3\n"u8.ToArray());
        });

    private static void Entry(ZipArchive zip, string name, byte[] bytes)
    {
        using Stream stream = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        stream.Write(bytes);
    }

    private static byte[] Pickle(IReadOnlyList<(string Name, int[] Shape, float[] Values)> tensors)
    {
        var p = new MemoryStream();
        void Op(char op) => p.WriteByte((byte)op);
        void Global(string module, string name) { Op('c'); p.Write(Encoding.ASCII.GetBytes(module + "\n" + name + "\n")); }
        void Text(string value)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(value);
            Op('X');
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
            p.Write(length);
            p.Write(bytes);
        }
        void Int(long value)
        {
            Op('J');
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(bytes, checked((int)value));
            p.Write(bytes);
        }
        void Tuple(IEnumerable<long> values) { Op('('); foreach (long v in values) Int(v); Op('t'); }
        void OrderedDict() { Global("collections", "OrderedDict"); Op(')'); Op('R'); }

        p.Write(new byte[] { 0x80, 2 }); // PROTO 2
        OrderedDict();
        Op('(');
        for (int i = 0; i < tensors.Count; i++)
        {
            (string name, int[] shape, float[] values) = tensors[i];
            Text(name);
            Global("torch._utils", "_rebuild_tensor_v2");
            Op('(');
            Op('('); Text("storage"); Global("torch", "FloatStorage"); Text(i.ToString(System.Globalization.CultureInfo.InvariantCulture)); Text("cpu"); Int(values.Length); Op('t');
            Op('Q'); // BINPERSID
            Int(0); // storage offset
            Tuple(Array.ConvertAll(shape, d => (long)d));
            var stride = new long[shape.Length];
            for (int d = shape.Length - 1, step = 1; d >= 0; step *= shape[d], d--) stride[d] = step;
            Tuple(stride);
            p.WriteByte(0x89); // NEWFALSE: requires_grad
            OrderedDict(); // backward hooks
            Op('t');
            Op('R');
        }
        Op('u'); // SETITEMS
        Op('.');
        return p.ToArray();
    }
}
