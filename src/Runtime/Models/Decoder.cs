using System;
using System.Collections.Generic;
using System.Linq;

namespace CellGen;

/// <summary>
/// The decoder of a sequence-to-sequence model, around a model of token ids to logits: an <see cref="Embedding"/>
/// first, one <see cref="Recurrent"/> module (any cell), optionally an <see cref="Attention"/> over the encoder's
/// outputs, and any head (<c>new Sequential(embedding, recurrent, attention, new Dense(h, vocabulary))</c>). In
/// training it runs the whole target at once with teacher forcing (the inputs are the targets shifted by one, after
/// the start token); in generation it writes a token at a time, greedily or by beam search, attending to the memory at
/// every step. The decoder's initial states are the recurrent module's: give them with
/// <c>Recurrent.SetInitialState</c> (the encoder's final states) before each call, or they start at zero.
/// </summary>
public sealed class Decoder
{
    private int[] _step = Array.Empty<int>(), _parents = Array.Empty<int>(), _tokens = Array.Empty<int>(), _history = Array.Empty<int>(), _backpointers = Array.Empty<int>();
    private float[] _scores = Array.Empty<float>(), _candidates = Array.Empty<float>();
    private bool[] _ended = Array.Empty<bool>(), _oldEnded = Array.Empty<bool>();
    private int[] _lengths = Array.Empty<int>();
    private Activations _beamMemory = new();

    /// <summary>Wraps <paramref name="model"/>; its recurrent module is made <see cref="Recurrent.Stateful"/>, to carry its states from step to step.</summary>
    /// <exception cref="ArgumentException">The model does not start with an Embedding, or has no recurrent module or more than one, or more than one Attention.</exception>
    public Decoder(Sequential model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var modules = Sequential.Leaves(model, "").Select(leaf => leaf.Module).ToList();
        if (modules[0] is not Embedding) throw new ArgumentException($"A decoder reads token ids: its model starts with an Embedding, not a {modules[0].GetType().Name}.", nameof(model));
        var recurrent = modules.OfType<Recurrent>().ToList();
        if (recurrent.Count != 1) throw new ArgumentException($"A decoder's model has one Recurrent module, whose states carry from step to step; this one has {recurrent.Count}.", nameof(model));
        var attention = modules.OfType<Attention>().ToList();
        if (attention.Count > 1) throw new ArgumentException($"A decoder's model has at most one Attention; this one has {attention.Count}.", nameof(model));
        Model = model;
        Recurrent = recurrent[0];
        Attention = attention.Count == 1 ? attention[0] : null;
        Recurrent.Stateful = true;
    }

    /// <summary>The model of token ids to logits.</summary>
    public Sequential Model { get; }

    /// <summary>Its recurrent module: set the initial states here (<c>SetInitialState</c>) before each call; read their gradients here after Backward.</summary>
    public Recurrent Recurrent { get; }

    /// <summary>Its attention, or null.</summary>
    public Attention? Attention { get; }

    /// <summary>A memory of another batch than the call's is refused before anything runs.</summary>
    private static void CheckBatch(Activations? memory, int batchSize)
    {
        if (memory is { } given && given.BatchSize != batchSize)
            throw new ArgumentException($"The memory holds B={given.BatchSize} sequences; the call writes {batchSize}.", nameof(memory));
    }

    private void Begin(Activations? memory)
    {
        if (Attention is not null)
            Attention.Memory = memory ?? throw new ArgumentException("This decoder attends: give it the encoder's outputs as its memory.", nameof(memory));
        else if (memory is not null) throw new ArgumentException("This decoder has no Attention: it reads no memory; give null.", nameof(memory));
        if (!Recurrent.HasGivenStates) Recurrent.ResetStates(); // never the states of an earlier batch
    }

    /// <summary>
    /// Teacher forcing: runs the target inputs [T, B] (the start token, then the targets but the last) at once, attending
    /// to <paramref name="memory"/> (the encoder's outputs; null without attention). Returns the logits [T, B, V].
    /// </summary>
    public Activations Forward(ReadOnlySpan<int> inputs, ReadOnlySpan<int> lengths, Activations? memory, bool training)
    {
        Begin(memory);
        return Model.Forward(inputs, lengths, training);
    }

    /// <summary>
    /// Back-propagates the last training Forward: the parameters' gradients, the memory's (the encoder's outputs), and
    /// the initial states' (<c>Recurrent.InitialStateGradient</c>, for the encoder's final states).
    /// </summary>
    public void Backward() => Model.Backward();

    /// <summary>
    /// Writes <paramref name="batchSize"/> sequences a token at a time, each step's most likely token fed back, from
    /// <paramref name="start"/> until each has written <paramref name="end"/> or <paramref name="tokens"/> is full:
    /// tokens [steps, B], time-major, <paramref name="end"/> after a sequence's end. Returns the steps written.
    /// </summary>
    public int Greedy(Activations? memory, int batchSize, int start, int end, Span<int> tokens)
    {
        int steps = Steps(tokens, batchSize);
        CheckBatch(memory, batchSize);
        Begin(memory);
        Span<int> step = Grow(ref _step, batchSize);
        Span<bool> ended = Grow(ref _ended, batchSize);
        step.Fill(start);
        ended.Clear();
        for (int t = 0; t < steps; t++)
        {
            Activations logits = Model.Forward(step, batchSize, training: false);
            CheckEnd(end, logits.Width);
            bool all = true;
            for (int b = 0; b < batchSize; b++)
            {
                int token = ended[b] ? end : Sampling.Greedy(logits.Values.Slice(b * logits.Width, logits.Width));
                tokens[t * batchSize + b] = step[b] = token;
                ended[b] |= token == end;
                all &= ended[b];
            }
            if (all)
            {
                tokens.Slice((t + 1) * batchSize).Fill(end);
                return t + 1;
            }
        }
        return steps;
    }

    /// <summary>
    /// Beam search: keeps the <paramref name="width"/> most likely hypotheses of each sequence (by the sum of their
    /// tokens' log-probabilities), extends each by every token at every step, and writes each sequence's most likely
    /// one into <paramref name="tokens"/> [steps, B] (time-major, <paramref name="end"/> after its end). A hypothesis
    /// that has written <paramref name="end"/> is finished and keeps its score; the search stops when every kept one
    /// has. Width 1 is <see cref="Greedy"/>. The memory and the initial states are repeated for each hypothesis.
    /// Returns the steps written.
    /// </summary>
    public int BeamSearch(Activations? memory, int batchSize, int start, int end, int width, Span<int> tokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        int steps = Steps(tokens, batchSize), rows = batchSize * width;
        CheckBatch(memory, batchSize);
        Begin(memory is { } given ? Repeat(given, width) : null);
        if (Recurrent.HasGivenStates)
        {
            Span<int> origin = Grow(ref _parents, rows);
            for (int r = 0; r < rows; r++) origin[r] = r / width;
            Recurrent.SelectStates(origin);
        }
        Span<int> step = Grow(ref _step, rows), parents = Grow(ref _parents, rows);
        Span<bool> ended = Grow(ref _ended, rows);
        Span<float> scores = Grow(ref _scores, rows);
        Span<int> history = Grow(ref _history, steps * rows), backpointers = Grow(ref _backpointers, steps * rows);
        step.Fill(start);
        ended.Clear();
        for (int r = 0; r < rows; r++) scores[r] = r % width == 0 ? 0 : float.NegativeInfinity; // one hypothesis to start from
        int written = 0;
        for (int t = 0; t < steps; t++)
        {
            Activations logits = Model.Forward(step, rows, training: false);
            int vocabulary = logits.Width;
            CheckEnd(end, vocabulary);
            Span<float> candidates = Grow(ref _candidates, width * vocabulary);
            Span<int> next = Grow(ref _tokens, rows);
            bool all = true;
            for (int b = 0; b < batchSize; b++)
            {
                // Every extension of this sequence's hypotheses: a finished one only by `end`, at no cost.
                for (int k = 0; k < width; k++)
                {
                    int r = b * width + k;
                    Span<float> scored = candidates.Slice(k * vocabulary, vocabulary);
                    if (ended[r] || float.IsNegativeInfinity(scores[r]))
                    {
                        scored.Fill(float.NegativeInfinity);
                        if (ended[r]) scored[end] = scores[r];
                        continue;
                    }
                    ReadOnlySpan<float> row = logits.Values.Slice(r * vocabulary, vocabulary);
                    float largest = float.NegativeInfinity;
                    foreach (float value in row) largest = Math.Max(largest, value);
                    double sum = 0;
                    foreach (float value in row) sum += Math.Exp(value - largest);
                    float normaliser = largest + (float)Math.Log(sum);
                    for (int v = 0; v < vocabulary; v++) scored[v] = scores[r] + row[v] - normaliser;
                }
                // The best `width` of them, in order (a partial selection: the vocabulary is small next to the work of a step).
                for (int k = 0; k < width; k++)
                {
                    int best = -1;
                    for (int c = 0; c < candidates.Length; c++)
                        if (!float.IsNaN(candidates[c]) && (best < 0 || candidates[c] > candidates[best])) best = c;
                    int r = b * width + k;
                    parents[r] = b * width + best / vocabulary;
                    next[r] = best % vocabulary;
                    scores[r] = candidates[best];
                    candidates[best] = float.NaN; // taken (NaN is never greater)
                }
            }
            // A hypothesis is finished when its parent was or it has just written `end` (the old flags read before any is replaced).
            Span<bool> old = Grow(ref _oldEnded, rows);
            ended.CopyTo(old);
            for (int r = 0; r < rows; r++)
            {
                ended[r] = old[parents[r]] || next[r] == end;
                history[t * rows + r] = next[r];
                backpointers[t * rows + r] = parents[r];
                all &= ended[r] || float.IsNegativeInfinity(scores[r]);
            }
            next.CopyTo(step);
            written = t + 1;
            if (all) break;
            Recurrent.SelectStates(parents);
        }
        // Each sequence's best hypothesis, followed back from its last step.
        tokens.Fill(end);
        for (int b = 0; b < batchSize; b++)
        {
            int r = b * width;
            for (int k = 1; k < width; k++)
                if (scores[b * width + k] > scores[r]) r = b * width + k;
            for (int t = written - 1; t >= 0; t--)
            {
                tokens[t * batchSize + b] = history[t * rows + r];
                r = backpointers[t * rows + r];
            }
            bool done = false;
            for (int t = 0; t < written; t++)
            {
                if (done) tokens[t * batchSize + b] = end;
                done |= tokens[t * batchSize + b] == end;
            }
        }
        return written;
    }

    private static void CheckEnd(int end, int vocabulary)
    {
        if ((uint)end >= (uint)vocabulary)
            throw new ArgumentOutOfRangeException(nameof(end), end, $"The end token is one of the model's {vocabulary} outputs, from 0 to {vocabulary - 1}.");
    }

    private static int Steps(Span<int> tokens, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (tokens.IsEmpty || tokens.Length % batchSize != 0)
            throw new ArgumentException($"tokens has {tokens.Length} values; expected [steps, B={batchSize}], a positive multiple of {batchSize}.", nameof(tokens));
        return tokens.Length / batchSize;
    }

    /// <summary>The memory with each sequence repeated <paramref name="width"/> times, [T', B·W, M], lengths too.</summary>
    private Activations Repeat(Activations memory, int width)
    {
        int batch = memory.BatchSize, steps = memory.Steps, m = memory.Width, rows = batch * width;
        Span<int> lengths = Grow(ref _lengths, rows);
        for (int r = 0; r < rows; r++) lengths[r] = memory.Length(r / width);
        _beamMemory.Reshape(steps, rows, m, isSequence: true, lengths);
        ReadOnlySpan<float> source = memory.Values;
        Span<float> target = _beamMemory.Values;
        for (int t = 0; t < steps; t++)
            for (int r = 0; r < rows; r++) source.Slice((t * batch + r / width) * m, m).CopyTo(target.Slice((t * rows + r) * m, m));
        return _beamMemory;
    }

    private static Span<T> Grow<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new T[length];
        return buffer.AsSpan(0, length);
    }
}
