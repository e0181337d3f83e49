using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Numerics;
using System.Text;

namespace CellGen;

/// <summary>
/// A pickle machine that knows only what a state dict is made of, as PyTorch's own weights-only unpickler: dicts,
/// lists, tuples, numbers, strings, the ordered dict, tensors rebuilt from persistent storages. Nothing is executed or
/// constructed by name: a global outside <see cref="Globals"/>, and every opcode that builds objects another way, is
/// refused where it stands. Its memory is bounded by the pickle's length (every value is at most as large as the bytes
/// that describe it), it never recurses, and every malformed value is an <see cref="InvalidDataException"/> naming
/// the file, the byte and what is wrong.
/// </summary>
internal sealed class StateDictPickle
{
    /// <summary>The globals a state dict's pickle may name: the tensor rebuilders, the ordered dict, the storage types (with their dtype).</summary>
    public static readonly IReadOnlyDictionary<string, string?> Globals = new Dictionary<string, string?>
    {
        ["torch._utils._rebuild_tensor_v2"] = null,
        ["torch._utils._rebuild_parameter"] = null,
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

    /// <summary>A global the pickle named (one of <see cref="Globals"/>).</summary>
    public sealed record Global(string Name, string? DType);

    /// <summary>A persistent storage: ('storage', type, key, location, element count).</summary>
    public sealed record StorageReference(string Key, string DType, long Count);

    /// <summary>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...): a view into a storage.</summary>
    public sealed record TensorView(StorageReference Storage, long Offset, long[] Size, long[] Stride);

    /// <summary>A dict (and the ordered dict): keys in the order they were set, as Python keeps them.</summary>
    public sealed class Dict
    {
        private readonly Dictionary<object, int> _index = new();

        public List<KeyValuePair<object, object?>> Items { get; } = new();

        public void Set(object key, object? value)
        {
            if (_index.TryGetValue(key, out int at)) Items[at] = new(key, value);
            else
            {
                _index[key] = Items.Count;
                Items.Add(new(key, value));
            }
        }
    }

    /// <summary>A Python tuple (immutable, so a different type from the list).</summary>
    public sealed record Tuple(object?[] Items);

    private sealed class Mark
    {
        public static readonly Mark Instance = new();
    }

    private static readonly object None = new();

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly byte[] _pickle;
    private readonly string _path;
    private readonly List<object?> _stack = new();
    private readonly List<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = new();
    private int _at;
    private int _opcodeAt;

    private StateDictPickle(byte[] pickle, string path)
    {
        _pickle = pickle;
        _path = path;
    }

    /// <summary>The value the pickle holds (Python's None is returned as null).</summary>
    public static object? Load(byte[] pickle, string path) => new StateDictPickle(pickle, path).Run();

    private InvalidDataException Error(string what) => new($"{_path}: its pickle {what} (at byte {_opcodeAt}); refused.");

    private object? Run()
    {
        while (_at < _pickle.Length)
        {
            _opcodeAt = _at;
            byte op = _pickle[_at++];
            switch (op)
            {
                case 0x80: Take(1); break; // PROTO
                case 0x95: Take(8); break; // FRAME: a length hint
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0) throw Error("stops with the wrong number of values left");
                    return Unwrap(_stack[0]);
                case (byte)'(': _marks.Add(_stack.Count); break;
                case (byte)'N': Push(None); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'I': Push(TextInteger(Line(), allowBool: true)); break;
                case (byte)'L': Push(TextInteger(Line().TrimEnd('L'), allowBool: false)); break;
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                case (byte)'K': Push((long)Take(1)[0]); break;
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                case 0x8a: Push(LittleEndianInteger(Take(Take(1)[0]))); break; // LONG1
                case 0x8b: Push(LittleEndianInteger(Take(Length(BinaryPrimitives.ReadInt32LittleEndian(Take(4)))))); break; // LONG4
                case (byte)'F':
                    {
                        string text = Line();
                        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)) throw Error($"has a FLOAT that is not a number ('{Shorten(text)}')");
                        Push(value);
                        break;
                    }
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;
                case (byte)'X': Push(Utf8(Take(Length(BinaryPrimitives.ReadInt32LittleEndian(Take(4)))))); break; // BINUNICODE
                case 0x8c: Push(Utf8(Take(Take(1)[0]))); break; // SHORT_BINUNICODE
                case 0x8d: Push(Utf8(Take(Length(BinaryPrimitives.ReadInt64LittleEndian(Take(8)))))); break; // BINUNICODE8
                case (byte)'V': Push(Line()); break; // UNICODE (raw-unicode-escape: the names here are ASCII)
                case (byte)'T': Push(Latin1(Take(Length(BinaryPrimitives.ReadInt32LittleEndian(Take(4)))))); break; // BINSTRING
                case (byte)'U': Push(Latin1(Take(Take(1)[0]))); break; // SHORT_BINSTRING
                case (byte)'S': Push(Quoted(Line())); break; // STRING
                case (byte)'B': Push(Take(Length(BinaryPrimitives.ReadInt32LittleEndian(Take(4)))).ToArray()); break; // BINBYTES
                case (byte)'C': Push(Take(Take(1)[0]).ToArray()); break; // SHORT_BINBYTES
                case 0x8e or 0x96: Push(Take(Length(BinaryPrimitives.ReadInt64LittleEndian(Take(8)))).ToArray()); break; // BINBYTES8, BYTEARRAY8
                case (byte)')': Push(new Tuple([])); break;
                case (byte)'t': Push(new Tuple(PopMarked().ToArray())); break;
                case 0x85: Push(new Tuple([Pop()])); break;
                case 0x86: { object? b = Pop(), a = Pop(); Push(new Tuple([a, b])); break; }
                case 0x87: { object? c = Pop(), b = Pop(), a = Pop(); Push(new Tuple([a, b, c])); break; }
                case (byte)']': Push(new List<object?>()); break;
                case (byte)'l': Push(PopMarked()); break;
                case (byte)'a': { object? value = Pop(); ListAt(_stack.Count - 1).Add(value); break; }
                case (byte)'e': { List<object?> items = PopMarked(); ListAt(_stack.Count - 1).AddRange(items); break; }
                case (byte)'}': Push(new Dict()); break;
                case (byte)'d': { var dict = new Dict(); SetItems(dict, PopMarked()); Push(dict); break; }
                case (byte)'s': { object? value = Pop(), key = Pop(); DictAt(_stack.Count - 1).Set(Key(key), value); break; }
                case (byte)'u': { List<object?> items = PopMarked(); SetItems(DictAt(_stack.Count - 1), items); break; }
                case 0x8f: Push(new List<object?>()); break; // EMPTY_SET: read as a list (a state dict has none)
                case 0x90: { List<object?> items = PopMarked(); ListAt(_stack.Count - 1).AddRange(items); break; } // ADDITEMS
                case 0x91: Push(PopMarked()); break; // FROZENSET
                case (byte)'0': Pop(); break;
                case (byte)'1': PopMarked(); break;
                case (byte)'2': Push(Peek()); break;
                case (byte)'p': _memo[MemoIndex(Line())] = Peek(); break;
                case (byte)'q': _memo[Take(1)[0]] = Peek(); break;
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Peek(); break;
                case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                case (byte)'g': Push(Memo(MemoIndex(Line()))); break;
                case (byte)'h': Push(Memo(Take(1)[0])); break;
                case (byte)'j': Push(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;
                case (byte)'c': { string module = Line(); Push(GlobalNamed(module + "." + Line())); break; }
                case 0x93: // STACK_GLOBAL
                    {
                        object? name = Pop(), module = Pop();
                        if (module is not string m || name is not string n) throw Error("builds a global from values that are not strings");
                        Push(GlobalNamed(m + "." + n));
                        break;
                    }
                case (byte)'R': { object? args = Pop(), callable = Pop(); Push(Call(callable, args)); break; }
                case (byte)'b': // BUILD: only the ordered dict's attributes (a state dict's _metadata), which are not needed
                    {
                        Pop();
                        if (Peek() is not Dict) throw Error("sets the state of something that is not a dict");
                        break;
                    }
                case (byte)'Q': Push(Persistent(Pop())); break; // BINPERSID
                case (byte)'P' or (byte)'i' or (byte)'o' or 0x81 or 0x92 or 0x82 or 0x83 or 0x84 or 0x97 or 0x98:
                    throw Error($"builds objects in a way a state dict never does (opcode 0x{op:x2})");
                default: throw Error($"has an opcode this reader does not know (0x{op:x2})");
            }
        }
        throw Error("ends without its STOP opcode (truncated?)");
    }

    private static object? Unwrap(object? value) => ReferenceEquals(value, None) ? null : value;

    private void Push(object? value) => _stack.Add(value);

    private object? Peek()
    {
        int floor = _marks.Count > 0 ? _marks[^1] : 0;
        if (_stack.Count <= floor) throw Error("reads a value from an empty stack");
        return _stack[^1];
    }

    private object? Pop()
    {
        object? value = Peek();
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private List<object?> PopMarked()
    {
        if (_marks.Count == 0) throw Error("collects values without a MARK");
        int mark = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        List<object?> items = _stack.GetRange(mark, _stack.Count - mark);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private List<object?> ListAt(int index) =>
        index >= (_marks.Count > 0 ? _marks[^1] : 0) && _stack[index] is List<object?> list ? list : throw Error("appends to something that is not a list");

    private Dict DictAt(int index) =>
        index >= (_marks.Count > 0 ? _marks[^1] : 0) && _stack[index] is Dict dict ? dict : throw Error("sets an item of something that is not a dict");

    private void SetItems(Dict dict, List<object?> items)
    {
        if (items.Count % 2 != 0) throw Error("sets dict items from an odd number of values");
        for (int k = 0; k < items.Count; k += 2) dict.Set(Key(items[k]), items[k + 1]);
    }

    /// <summary>A dict key: Python's hashable values (numbers, strings, bytes, None, tuples compare by identity here).</summary>
    private object Key(object? key) => key switch
    {
        string or long or BigInteger or double or bool or Tuple => key,
        _ when ReferenceEquals(key, None) => None,
        byte[] bytes => Latin1(bytes),
        _ => throw Error($"uses a {Describe(key)} as a dict key"),
    };

    private object? Memo(long index) => _memo.TryGetValue(index, out object? value) ? value : throw Error($"reads memo entry {index}, which was never set");

    private long MemoIndex(string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long index) ? index : throw Error($"has a memo index that is not a number ('{Shorten(text)}')");

    private Global GlobalNamed(string name) =>
        Globals.TryGetValue(name, out string? dtype) ? new Global(name, dtype)
        : throw new InvalidDataException($"{_path}: its pickle names '{Shorten(name)}', which a state dict never needs; refused (only tensors are read: {string.Join(", ", Globals.Keys)}).");

    private object Call(object? callable, object? args)
    {
        if (callable is not Global global || global.DType is not null) throw Error($"calls a {Describe(callable)}");
        if (args is not Tuple tuple) throw Error($"calls {global.Name} with a {Describe(args)} for its arguments");
        object?[] a = tuple.Items;
        switch (global.Name)
        {
            case "collections.OrderedDict":
                var dict = new Dict();
                if (a.Length > 1) throw Error("calls OrderedDict with more than one argument");
                if (a.Length == 1)
                {
                    if (a[0] is not List<object?> pairs) throw Error("calls OrderedDict with something other than a list of pairs");
                    foreach (object? pair in pairs)
                    {
                        object?[]? kv = pair switch { Tuple t => t.Items, List<object?> l => l.ToArray(), _ => null };
                        if (kv is not { Length: 2 }) throw Error("calls OrderedDict with something other than a list of pairs");
                        dict.Set(Key(kv[0]), kv[1]);
                    }
                }
                return dict;
            case "torch._utils._rebuild_parameter": // (data, requires_grad, backward_hooks): the tensor
                return a.Length >= 1 && a[0] is TensorView parameter ? parameter : throw Error("rebuilds a parameter from something that is not a tensor");
            default: // torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks[, metadata])
                if (a.Length < 4) throw Error($"rebuilds a tensor from {a.Length} arguments (a storage, an offset, a size and a stride are needed)");
                if (a[0] is not StorageReference storage) throw Error($"rebuilds a tensor from a {Describe(a[0])}, not a storage");
                long offset = Integer(a[1], "a tensor's storage offset");
                if (a[2] is not Tuple size || a[3] is not Tuple stride) throw Error("rebuilds a tensor whose size or stride is not a tuple");
                if (size.Items.Length != stride.Items.Length) throw Error($"rebuilds a tensor with {size.Items.Length} sizes and {stride.Items.Length} strides");
                return new TensorView(storage, offset, Array.ConvertAll(size.Items, s => Integer(s, "a tensor's size")), Array.ConvertAll(stride.Items, s => Integer(s, "a tensor's stride")));
        }
    }

    private long Integer(object? value, string what) => value is long v ? v : throw Error($"gives {what} as a {Describe(value)}, not an integer");

    private StorageReference Persistent(object? id)
    {
        if (id is not Tuple { Items: [string kind, Global { DType: { } dtype }, var key, _, var count, ..] } || kind != "storage")
            throw Error("has a persistent id that is not a storage ('storage', type, key, location, size)");
        return new StorageReference(key is string k ? k : throw Error("names a storage by a key that is not a string"), dtype, Integer(count, "a storage's size"));
    }

    private ReadOnlySpan<byte> Take(long count)
    {
        if (count < 0 || count > _pickle.Length - _at) throw Error("is truncated: a value runs past its end");
        var span = new ReadOnlySpan<byte>(_pickle, _at, (int)count);
        _at += (int)count;
        return span;
    }

    private long Length(long declared) => declared >= 0 && declared <= _pickle.Length - _at ? declared : throw Error($"declares a value of {declared} bytes where {_pickle.Length - _at} are left");

    private string Line()
    {
        int end = Array.IndexOf(_pickle, (byte)'\n', _at);
        if (end < 0) throw Error("is truncated: a text value has no end of line");
        string text = Encoding.Latin1.GetString(_pickle, _at, end - _at);
        _at = end + 1;
        return text;
    }

    private object TextInteger(string text, bool allowBool)
    {
        if (allowBool && text == "00") return false;
        if (allowBool && text == "01") return true;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value)) return value;
        if (BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out BigInteger big)) return big;
        throw Error($"has an integer that is not a number ('{Shorten(text)}')");
    }

    /// <summary>LONG1 and LONG4: little-endian two's complement; a long where it fits.</summary>
    private static object LittleEndianInteger(ReadOnlySpan<byte> bytes)
    {
        var value = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (object)(long)value : value;
    }

    private string Utf8(ReadOnlySpan<byte> bytes)
    {
        try { return StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException) { throw Error("has a string that is not UTF-8"); }
    }

    private static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    /// <summary>STRING: a Python repr in quotes; the escapes are left as written (state dicts' names have none).</summary>
    private string Quoted(string text) =>
        text.Length >= 2 && (text[0] == '\'' || text[0] == '"') && text[^1] == text[0] ? text[1..^1] : throw Error($"has a STRING that is not quoted ('{Shorten(text)}')");

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";

    public static string Describe(object? value) => value switch
    {
        null => "None",
        _ when ReferenceEquals(value, None) => "None",
        TensorView => "tensor",
        StorageReference => "storage",
        Dict => "dict",
        List<object?> => "list",
        Tuple => "tuple",
        Global g => g.Name,
        string => "string",
        long or BigInteger => "integer",
        double => "float",
        bool => "bool",
        byte[] => "bytes",
        _ => value.GetType().Name,
    };
}
