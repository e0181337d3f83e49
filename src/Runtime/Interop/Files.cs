using System;
using System.Buffers.Binary;
using System.IO;

namespace CellGen;

/// <summary>Reading files from outside with bounded memory; writing a file so that a failure leaves the old one as it was.</summary>
internal static class Files
{
    /// <summary>
    /// Opens a file to read, refusing what is not a regular file before it is opened: a pipe would block the open, and a
    /// device such as /dev/zero reads endless bytes; both say they hold 0 bytes, as an empty file does, and none of
    /// them is a model. Every error is an <see cref="InvalidDataException"/> naming the file (a missing file stays a
    /// <see cref="FileNotFoundException"/>, a missing folder a <see cref="DirectoryNotFoundException"/>).
    /// </summary>
    public static FileStream OpenRead(string path)
    {
        FileSystemInfo info = new FileInfo(path);
        try { info = info.ResolveLinkTarget(returnFinalTarget: true) ?? info; } // a link to a pipe is a pipe
        catch (IOException) { } // a loop of links: the open below says so
        if (info is FileInfo { Exists: true, Length: 0 })
            throw new InvalidDataException($"{path}: 0 bytes, too short for a torch.save zip or a safetensors file (empty, or not a regular file: a pipe or a device).");
        FileStream file;
        try { file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { throw; } // as File.OpenRead: nothing to read
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: cannot be read: {e.Message}", e);
        }
        if (!file.CanSeek)
        {
            file.Dispose();
            throw new InvalidDataException($"{path}: not a regular file (a pipe or a device cannot be read as a model file).");
        }
        return file;
    }

    /// <summary>Float32 values as the little-endian bytes every format here stores (safetensors, torch.save, ONNX).</summary>
    public static byte[] LittleEndian(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return bytes;
    }

    /// <summary>Writes <paramref name="bytes"/> to a temporary file beside <paramref name="path"/>, then moves it over.</summary>
    public static void WriteAtomically(string path, byte[] bytes) => WriteAtomically(path, stream => stream.Write(bytes));

    /// <summary>As the other overload, the contents written by <paramref name="write"/>.</summary>
    public static void WriteAtomically(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string temporary = Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch (IOException e)
        {
            // The temporary file is an implementation detail: the message names the file the caller asked for.
            throw new IOException($"{full}: could not be saved ({e.Message.Replace(temporary, "a temporary file beside it")}); the file is unchanged.", e);
        }
        catch (ArgumentOutOfRangeException e)
        {
            // What .NET throws for EFBIG (a file-size limit, ulimit -f): the arguments were checked before, so it is the file system's.
            throw new IOException($"{full}: could not be saved: the file system refused its length ({e.Message}; a file-size limit?); the file is unchanged.", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException($"{full}: could not be saved ({e.Message.Replace(temporary, "a temporary file beside it")}); the file is unchanged.", e);
        }
        finally
        {
            try { File.Delete(temporary); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // the original error says more; a leftover .tmp is harmless
        }
    }
}
