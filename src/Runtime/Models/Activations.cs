using System;

namespace CellGen;

/// <summary>
/// What flows between modules: a batch of B sequences of T steps of W values, time-major [T, B, W], with the length of
/// each sequence when they differ; or a batch of B vectors [B, W] (T = 1, <see cref="IsSequence"/> false). Beside the
/// values, their gradients: a module's Backward writes the gradients of its input, a loss those of the model's output.
/// The module that writes an Activations owns it; its buffers grow to the largest batch seen and are then reused, so
/// that training allocates nothing after the first batches.
/// </summary>
public sealed class Activations
{
    private float[] _values = Array.Empty<float>(), _gradients = Array.Empty<float>();
    private int[] _lengths = Array.Empty<int>();
    private bool _hasLengths;

    /// <summary>T: the steps of each sequence (1 for a batch of vectors).</summary>
    public int Steps { get; private set; }

    /// <summary>B: the number of sequences or vectors.</summary>
    public int BatchSize { get; private set; }

    /// <summary>W: the values of each row.</summary>
    public int Width { get; private set; }

    /// <summary>True for sequences [T, B, W], false for vectors [B, W].</summary>
    public bool IsSequence { get; private set; }

    /// <summary>
    /// 1, or 2 when these are the outputs of a bidirectional recurrent layer: the second half of each row was computed
    /// running backward in time, so its last step is t = 0.
    /// </summary>
    public int Directions { get; private set; } = 1;

    /// <summary>T × B: the rows of <see cref="Values"/>.</summary>
    public int Rows => Steps * BatchSize;

    /// <summary>The module whose output these are (null for a model's input), so that a read while another thread's Forward writes them is refused.</summary>
    internal Module? Owner { get; init; }

    /// <summary>The values, [T, B, W] or [B, W].</summary>
    /// <exception cref="InvalidOperationException">Another thread's call is running on the module whose output these are.</exception>
    public Span<float> Values
    {
        get
        {
            CheckNotBeingWritten();
            return _values.AsSpan(0, Rows * Width);
        }
    }

    private void CheckNotBeingWritten()
    {
        if (Owner is { BusyElsewhere: true } owner)
            throw new InvalidOperationException($"The output of a {owner.GetType().Name} was read while another thread's call runs on it and overwrites it: a module serves one thread at a time; give each thread its own model.");
    }

    /// <summary>dL/d(values), laid out as the values. Asking for them after a Forward counts as writing them (see <see cref="Module.Backward"/>).</summary>
    public Span<float> Gradients
    {
        get
        {
            CheckNotBeingWritten();
            GradientsWritten = true;
            return _gradients.AsSpan(0, Rows * Width);
        }
    }

    /// <summary>Whether <see cref="Gradients"/> was asked for since these values were last shaped by a Forward.</summary>
    internal bool GradientsWritten { get; private set; }

    /// <summary>The length of each sequence, or empty when every sequence has all <see cref="Steps"/> steps.</summary>
    public ReadOnlySpan<int> Lengths => _hasLengths ? _lengths.AsSpan(0, BatchSize) : ReadOnlySpan<int>.Empty;

    /// <summary>The length of sequence <paramref name="sequence"/>.</summary>
    public int Length(int sequence) => _hasLengths ? _lengths[sequence] : Steps;

    /// <summary>
    /// Whether the module that reads these values should compute their gradient. False for a model's own input, so
    /// that the first layer skips dL/dx unless it is asked for.
    /// </summary>
    public bool RequiresGradient { get; set; } = true;

    /// <summary>Sets the shape, growing the buffers if they are too small (the values are then not kept).</summary>
    internal void Reshape(int steps, int batchSize, int width, bool isSequence, ReadOnlySpan<int> lengths, int directions = 1)
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
        ArgumentNullException.ThrowIfNull(source);
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

    /// <summary>"[T=.., B=.., W=..]" or "[B=.., W=..]".</summary>
    public override string ToString() => IsSequence ? $"[T={Steps}, B={BatchSize}, W={Width}]" : $"[B={BatchSize}, W={Width}]";
}
