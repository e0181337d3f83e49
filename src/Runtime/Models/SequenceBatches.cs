using System;
using System.Collections.Generic;

namespace CellGen;

/// <summary>
/// Mini-batches of variable-length sequences with one label each, as PyTorch's DataLoader with pad_sequence: each epoch
/// (each <c>foreach</c>) shuffles the sequences from a generator seeded once, optionally groups sequences of similar
/// lengths into the same batch (less padding), and gives each batch padded and time-major ([T, B, X] values, or [T, B]
/// token ids), with the lengths and the labels, ready for <see cref="Sequential.Forward(ReadOnlySpan{float}, ReadOnlySpan{int}, bool)"/>
/// and a loss. The batch's buffers are reused: nothing is allocated per batch once the largest batch has been seen, and a
/// batch's values are valid until the next one.
/// </summary>
/// <typeparam name="TInput"><see cref="float"/> for sequences of feature vectors, <see cref="int"/> for token ids.</typeparam>
/// <typeparam name="TLabel"><see cref="int"/> for classes, <see cref="float"/> for regression targets.</typeparam>
public sealed class SequenceBatches<TInput, TLabel>
    where TInput : unmanaged
    where TLabel : unmanaged
{
    private readonly IReadOnlyList<TInput[]> _sequences;
    private readonly IReadOnlyList<TLabel> _labels;
    private readonly int[] _order, _shuffled;
    private readonly long[] _keys;
    private readonly Random _random;
    private readonly bool _shuffle, _bucket;
    private readonly SequenceBatch<TInput, TLabel> _batch = new();
    private readonly int[] _batchStarts;

    /// <summary>
    /// Batches of <paramref name="batchSize"/> of <paramref name="sequences"/> (each [length, <paramref name="width"/>]
    /// values, row-major; width 1 for token ids) with their <paramref name="labels"/>. <paramref name="shuffle"/> orders
    /// them anew each epoch from a generator seeded with <paramref name="seed"/>; <paramref name="bucketByLength"/> puts
    /// sequences of similar lengths together (then shuffles the batches); <paramref name="dropLast"/> skips a last batch
    /// smaller than the others, as DataLoader's drop_last.
    /// </summary>
    public SequenceBatches(IReadOnlyList<TInput[]> sequences, IReadOnlyList<TLabel> labels, int batchSize, int width = 1,
        bool shuffle = true, int seed = 0, bool bucketByLength = false, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (typeof(TInput) != typeof(float) && typeof(TInput) != typeof(int))
            throw new ArgumentException($"Sequences are of float (feature vectors) or int (token ids), not {typeof(TInput).Name}.", nameof(sequences));
        if (typeof(TInput) == typeof(int) && width != 1) throw new ArgumentException("Token ids have width 1.", nameof(width));
        if (sequences.Count == 0) throw new ArgumentException("There are no sequences.", nameof(sequences));
        if (labels.Count != sequences.Count)
            throw new ArgumentException($"labels has {labels.Count} values; expected one per sequence ({sequences.Count}).", nameof(labels));
        for (int i = 0; i < sequences.Count; i++)
        {
            if (sequences[i] is null) throw new ArgumentException($"Sequence {i} is null.", nameof(sequences));
            if (sequences[i].Length == 0 || sequences[i].Length % width != 0)
                throw new ArgumentException($"Sequence {i} has {sequences[i].Length} values; expected [length >= 1, width {width}].", nameof(sequences));
        }
        _sequences = sequences;
        _labels = labels;
        BatchSize = batchSize;
        Width = width;
        _shuffle = shuffle;
        _bucket = bucketByLength;
        _random = new Random(seed);
        _order = new int[sequences.Count];
        _keys = new long[sequences.Count];
        _shuffled = new int[sequences.Count];
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
        Count = dropLast ? sequences.Count / batchSize : (sequences.Count + batchSize - 1) / batchSize;
        if (Count == 0) throw new ArgumentException($"{sequences.Count} sequences make no whole batch of {batchSize} with dropLast.", nameof(dropLast));
        _batchStarts = new int[Count];
    }

    /// <summary>B: the sequences of each batch (the last may have fewer unless dropLast).</summary>
    public int BatchSize { get; }

    /// <summary>X: the values of each step.</summary>
    public int Width { get; }

    /// <summary>The number of batches of an epoch.</summary>
    public int Count { get; }

    /// <summary>An epoch: the batches in a new order (when shuffling). Allocates nothing.</summary>
    public Enumerator GetEnumerator()
    {
        PlanEpoch();
        return new Enumerator(this);
    }

    /// <summary>Orders the sequences and the batches of the next epoch.</summary>
    private void PlanEpoch()
    {
        if (_shuffle) Shuffle(_order);
        if (_bucket)
        {
            // Sorted by length in windows of 50 batches (the order within each window still random), so that each batch
            // pads little while the epoch stays shuffled.
            // Each key is the length, then the place in the shuffled order (so that equal lengths keep it): a sort of
            // plain longs, which allocates nothing.
            int window = 50 * BatchSize;
            for (int i = 0; i < _order.Length; i++) _keys[i] = ((long)_sequences[_order[i]].Length << 32) | (uint)i;
            for (int start = 0; start < _order.Length; start += window) _keys.AsSpan(start, Math.Min(window, _order.Length - start)).Sort();
            _order.CopyTo(_shuffled, 0);
            for (int i = 0; i < _order.Length; i++) _order[i] = _shuffled[(int)(uint)_keys[i]];
        }
        for (int k = 0; k < Count; k++) _batchStarts[k] = k * BatchSize;
        if (_bucket && _shuffle) Shuffle(_batchStarts);
    }

    private void Shuffle(int[] values)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = _random.Next(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    /// <summary>Fills the shared batch with the sequences from <paramref name="start"/> of this epoch's order.</summary>
    private SequenceBatch<TInput, TLabel> Fill(int start)
    {
        int size = Math.Min(BatchSize, _order.Length - start);
        int steps = 0;
        for (int b = 0; b < size; b++) steps = Math.Max(steps, _sequences[_order[start + b]].Length / Width);
        _batch.Begin(size, steps, Width);
        for (int b = 0; b < size; b++)
        {
            int index = _order[start + b];
            _batch.Set(b, _sequences[index], _labels[index]);
        }
        return _batch;
    }

    /// <summary>The batches of one epoch.</summary>
    public struct Enumerator
    {
        private readonly SequenceBatches<TInput, TLabel> _owner;
        private int _next;

        internal Enumerator(SequenceBatches<TInput, TLabel> owner)
        {
            _owner = owner;
            _next = -1;
            Current = null!;
        }

        /// <summary>The batch (valid until the next one).</summary>
        public SequenceBatch<TInput, TLabel> Current { get; private set; }

        /// <summary>Moves to the next batch.</summary>
        public bool MoveNext()
        {
            if (++_next >= _owner.Count) return false;
            Current = _owner.Fill(_owner._batchStarts[_next]);
            return true;
        }
    }
}

/// <summary>One batch of <see cref="SequenceBatches{TInput, TLabel}"/>: padded time-major values, lengths and labels.</summary>
public sealed class SequenceBatch<TInput, TLabel>
    where TInput : unmanaged
    where TLabel : unmanaged
{
    private TInput[] _values = Array.Empty<TInput>();
    private int[] _lengths = Array.Empty<int>();
    private TLabel[] _labels = Array.Empty<TLabel>();

    internal SequenceBatch() { }

    /// <summary>B: the sequences of this batch.</summary>
    public int Size { get; private set; }

    /// <summary>T: the steps of the longest one; the others are padded with zeros to it.</summary>
    public int Steps { get; private set; }

    /// <summary>The values, time-major [T, B, X] (token ids [T, B]), zeros past each sequence's end.</summary>
    public ReadOnlySpan<TInput> Values => _values.AsSpan(0, Steps * Size * Width);

    /// <summary>X.</summary>
    public int Width { get; private set; }

    /// <summary>Each sequence's length.</summary>
    public ReadOnlySpan<int> Lengths => _lengths.AsSpan(0, Size);

    /// <summary>Each sequence's label.</summary>
    public ReadOnlySpan<TLabel> Labels => _labels.AsSpan(0, Size);

    /// <summary>Shapes the batch and clears its values (the padding is zeros).</summary>
    internal void Begin(int size, int steps, int width)
    {
        (Size, Steps, Width) = (size, steps, width);
        int count = steps * size * width;
        if (_values.Length < count) _values = new TInput[count];
        if (_lengths.Length < size) _lengths = new int[size];
        if (_labels.Length < size) _labels = new TLabel[size];
        _values.AsSpan(0, count).Clear();
    }

    /// <summary>Writes sequence <paramref name="b"/> of the batch, step by step, into the time-major values.</summary>
    internal void Set(int b, TInput[] data, TLabel label)
    {
        int length = data.Length / Width;
        _lengths[b] = length;
        _labels[b] = label;
        Span<TInput> values = _values;
        for (int t = 0; t < length; t++) data.AsSpan(t * Width, Width).CopyTo(values.Slice((t * Size + b) * Width, Width));
    }
}
