using System;

namespace CellGen;

/// <summary>
/// What flows between modules: a batch of B sequences of T steps of W values, time-major [T, B, W], with the length of
/// each sequence when they differ; or a batch of B vectors [B, W] (T = 1, <see cref="IsSequence"/> false). Beside the
/// values, their gradients: a module's Backward writes the gradients of its input, a loss those of the model's output.
/// <para>
/// A module's output is a view of buffers the module owns and reuses (they grow to the largest batch seen, so that
/// training allocates nothing after the first batches). The view returned by a Forward is valid until the module's
/// next Forward: reading it after that throws <see cref="InvalidOperationException"/> rather than showing the later
/// batch's values in silence. Keep what you need with <c>Values.ToArray()</c> (or copy it into a buffer of yours).
/// </para>
/// </summary>
public readonly struct Activations : IEquatable<Activations>
{
    private readonly ActivationBuffer? _buffer;
    private readonly int _version;

    /// <summary>Creates empty activations of your own (a module's input, say): shape them with <see cref="ShapeLike"/> or <see cref="ShapeVectors"/>.</summary>
    public Activations()
    {
        _buffer = new ActivationBuffer();
        _version = _buffer.Version;
    }

    /// <summary>A view of <paramref name="buffer"/> as it is now.</summary>
    internal Activations(ActivationBuffer buffer)
    {
        _buffer = buffer;
        _version = buffer.Version;
    }

    /// <summary>Whether these are default(Activations), with no buffers.</summary>
    internal bool IsDefault => _buffer is null;

    /// <summary>The buffers, checked: not a default value, not overwritten since this view was taken, not being written by another thread.</summary>
    internal ActivationBuffer Buffer
    {
        get
        {
            ActivationBuffer buffer = _buffer ?? throw new InvalidOperationException("These Activations are default(Activations), which have no buffers: create them with new Activations().");
            if (buffer.Version != _version)
                throw new InvalidOperationException(buffer.Owner is { } owner
                    ? $"These Activations are the output of a {owner.GetType().Name} from an earlier Forward, which a later Forward has overwritten: keep what you need (Values.ToArray()) before running the module again, or read its latest output."
                    : "These Activations have been overwritten by a later Forward: keep what you need (Values.ToArray()) before running the model again.");
            if (buffer.Owner is { BusyElsewhere: true } busy)
                throw new InvalidOperationException($"The output of a {busy.GetType().Name} was read while another thread's call runs on it and overwrites it: a module serves one thread at a time; give each thread its own model.");
            return buffer;
        }
    }

    /// <summary>T: the steps of each sequence (1 for a batch of vectors).</summary>
    public int Steps => Buffer.Steps;

    /// <summary>B: the number of sequences or vectors.</summary>
    public int BatchSize => Buffer.BatchSize;

    /// <summary>W: the values of each row.</summary>
    public int Width => Buffer.Width;

    /// <summary>True for sequences [T, B, W], false for vectors [B, W].</summary>
    public bool IsSequence => Buffer.IsSequence;

    /// <summary>
    /// 1, or 2 when these are the outputs of a bidirectional recurrent layer: the second half of each row was computed
    /// running backward in time, so its last step is t = 0.
    /// </summary>
    public int Directions => Buffer.Directions;

    /// <summary>T × B: the rows of <see cref="Values"/>.</summary>
    public int Rows => Buffer.Rows;

    /// <summary>The module whose output these are (null for a model's input).</summary>
    internal Module? Owner => _buffer?.Owner;

    /// <summary>The values, [T, B, W] or [B, W].</summary>
    /// <exception cref="InvalidOperationException">A later Forward of the module has overwritten them, or another thread's call is writing them.</exception>
    public Span<float> Values => Buffer.Values;

    /// <summary>dL/d(values), laid out as the values. Asking for them after a Forward counts as writing them (see <see cref="Module.Backward"/>).</summary>
    /// <exception cref="InvalidOperationException">A later Forward of the module has overwritten them, or another thread's call is writing them.</exception>
    public Span<float> Gradients => Buffer.Gradients;

    /// <summary>Whether <see cref="Gradients"/> was asked for since these values were last shaped by a Forward.</summary>
    internal bool GradientsWritten => Buffer.GradientsWritten;

    /// <summary>The length of each sequence, or empty when every sequence has all <see cref="Steps"/> steps.</summary>
    public ReadOnlySpan<int> Lengths => Buffer.Lengths;

    /// <summary>The length of sequence <paramref name="sequence"/>.</summary>
    public int Length(int sequence) => Buffer.Length(sequence);

    /// <summary>
    /// Whether the module that reads these values should compute their gradient. False for a model's own input, so
    /// that the first layer skips dL/dx unless it is asked for.
    /// </summary>
    public bool RequiresGradient
    {
        get => Buffer.RequiresGradient;
        set => Buffer.RequiresGradient = value;
    }

    /// <summary>Sets the shape, growing the buffers if they are too small (the values are then not kept).</summary>
    internal void Reshape(int steps, int batchSize, int width, bool isSequence, ReadOnlySpan<int> lengths, int directions = 1) =>
        Buffer.Reshape(steps, batchSize, width, isSequence, lengths, directions);

    /// <summary>The shape of <paramref name="source"/> with another width.</summary>
    internal void ReshapeLike(Activations source, int width, int directions = 1) =>
        Reshape(source.Steps, source.BatchSize, width, source.IsSequence, source.Lengths, directions);

    /// <summary>
    /// Gives these activations the shape of <paramref name="source"/> (its steps, batch, lengths) with rows of
    /// <paramref name="width"/> values: what a module of your own calls on its <see cref="Module.Output"/> in its
    /// forward pass. The buffers grow when they must and are reused otherwise; the values are then not kept.
    /// </summary>
    public void ShapeLike(Activations source, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ReshapeLike(source, width);
    }

    /// <summary>Gives these activations the shape of a batch of <paramref name="batchSize"/> vectors of <paramref name="width"/> values, [B, W].</summary>
    public void ShapeVectors(int batchSize, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        Reshape(1, batchSize, width, isSequence: false, ReadOnlySpan<int>.Empty);
    }

    /// <summary>Sequences from a caller's span: [T, B, W] with T = values.Length / (B·W), checked.</summary>
    internal void SetSequences(ReadOnlySpan<float> values, int batchSize, int width, ReadOnlySpan<int> lengths, string name)
    {
        int steps = StepsOf(values.Length, batchSize, width, lengths, name);
        Reshape(steps, batchSize, width, isSequence: true, lengths);
        values.CopyTo(Values);
    }

    /// <summary>T of a [T, B, W] buffer of <paramref name="length"/> values, or an exception naming the shapes.</summary>
    internal static int StepsOf(int length, int batchSize, int width, ReadOnlySpan<int> lengths, string name)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "A batch needs at least one sequence.");
        if (!lengths.IsEmpty && lengths.Length != batchSize)
            throw new ArgumentException($"lengths has {lengths.Length} values; expected one per sequence, B={batchSize}.", nameof(lengths));
        long perStep = (long)batchSize * width;
        if (length == 0 || length % perStep != 0)
            throw new ArgumentException($"{name} has {length} values; expected [T, B={batchSize}, W={width}], a positive multiple of {perStep}.", name);
        int steps = (int)(length / perStep);
        for (int b = 0; b < lengths.Length; b++)
            if (lengths[b] < 0 || lengths[b] > steps)
                throw new ArgumentOutOfRangeException(nameof(lengths), lengths[b], $"lengths[{b}] = {lengths[b]} is outside [0, T={steps}].");
        return steps;
    }

    /// <summary>Whether both are views of the same buffers from the same Forward.</summary>
    public bool Equals(Activations other) => ReferenceEquals(_buffer, other._buffer) && _version == other._version;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Activations other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_buffer, _version);

    /// <summary>Whether both are views of the same buffers from the same Forward.</summary>
    public static bool operator ==(Activations left, Activations right) => left.Equals(right);

    /// <summary>Whether they differ.</summary>
    public static bool operator !=(Activations left, Activations right) => !left.Equals(right);

    /// <summary>"[T=.., B=.., W=..]" or "[B=.., W=..]" ("overwritten" once a later Forward has replaced them).</summary>
    public override string ToString() =>
        _buffer is null ? "default(Activations)" : _buffer.Version != _version ? "Activations overwritten by a later Forward" : _buffer.ToString();
}

/// <summary>
/// The buffers behind <see cref="Activations"/>: values, gradients, lengths and shape, grown to the largest batch and
/// reused; <see cref="Version"/> counts the Forwards that overwrote them, so that an older view is refused.
/// </summary>
internal sealed class ActivationBuffer
{
    private float[] _values = Array.Empty<float>(), _gradients = Array.Empty<float>();
    private int[] _lengths = Array.Empty<int>();
    private bool _hasLengths;

    public int Version { get; private set; }

    /// <summary>A Forward is about to overwrite the buffers: views taken before are stale from now on.</summary>
    public void Overwrite() => Version++;

    public int Steps { get; private set; }

    public int BatchSize { get; private set; }

    public int Width { get; private set; }

    public bool IsSequence { get; private set; }

    public int Directions { get; private set; } = 1;

    public int Rows => Steps * BatchSize;

    /// <summary>The module whose output these are (null for a model's input).</summary>
    public Module? Owner { get; init; }

    public bool RequiresGradient { get; set; } = true;

    public Span<float> Values => _values.AsSpan(0, Rows * Width);

    public Span<float> Gradients
    {
        get
        {
            GradientsWritten = true;
            return _gradients.AsSpan(0, Rows * Width);
        }
    }

    public bool GradientsWritten { get; private set; }

    public ReadOnlySpan<int> Lengths => _hasLengths ? _lengths.AsSpan(0, BatchSize) : ReadOnlySpan<int>.Empty;

    public int Length(int sequence) => _hasLengths ? _lengths[sequence] : Steps;

    public void Reshape(int steps, int batchSize, int width, bool isSequence, ReadOnlySpan<int> lengths, int directions)
    {
        long count = (long)steps * batchSize * width;
        if (count > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"[T={steps}, B={batchSize}, W={width}] needs {count} values, more than an array holds.");
        GradientsWritten = false;
        Steps = steps;
        BatchSize = batchSize;
        Width = width;
        IsSequence = isSequence;
        Directions = directions;
        if (_values.Length < count)
        {
            _values = new float[count];
            _gradients = new float[count];
        }
        _hasLengths = false;
        foreach (int length in lengths) _hasLengths |= length != steps;
        if (!_hasLengths) return;
        if (_lengths.Length < batchSize) _lengths = new int[batchSize];
        lengths.CopyTo(_lengths);
    }

    public override string ToString() => IsSequence ? $"[T={Steps}, B={BatchSize}, W={Width}]" : $"[B={BatchSize}, W={Width}]";
}
