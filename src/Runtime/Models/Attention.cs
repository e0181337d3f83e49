using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using CellGen.CompilerServices;

namespace CellGen;

/// <summary>How <see cref="Attention"/> scores a query against each step of the memory.</summary>
public enum AttentionScore
{
    /// <summary>Luong's dot product, q · m (the query and the memory have one width).</summary>
    Dot,

    /// <summary>Bahdanau's additive score, v · tanh(W_q q + W_k m), with an attention size of its own.</summary>
    Additive,
}

/// <summary>
/// Global attention over an encoder's outputs (Luong et al. 2015): for each row of its input, the query (a decoder's
/// output at a step), a score against every step of the <see cref="Memory"/> of the same sequence (Luong's dot product
/// or Bahdanau's additive score), softmax over the memory's valid steps (its lengths mask the rest), the context
/// c = Σ α m, and the output tanh(W_c [c, q] + b_c). All rows of a batch at once, forward and backward; the backward pass
/// writes the gradients of the query (its input) and of the memory (<see cref="Memory"/>'s gradients, which the
/// encoder's Backward then reads). Parameters: "W_c" [O, M + Q], "b_c", and for the additive score "W_q" [A, Q],
/// "W_k" [A, M], "v" [A]. Buffers grow to the largest batch and are reused.
/// </summary>
public sealed class Attention : Module
{
    private readonly float[] _wc, _wcGradient, _bc, _bcGradient;
    private readonly float[] _wq = Array.Empty<float>(), _wqGradient = Array.Empty<float>(), _wk = Array.Empty<float>(), _wkGradient = Array.Empty<float>();
    private readonly float[] _v = Array.Empty<float>(), _vGradient = Array.Empty<float>();
    private readonly List<Parameter<float>> _parameters = new();
    private float[] _qa = Array.Empty<float>(), _ka = Array.Empty<float>(), _alpha = Array.Empty<float>(), _joined = Array.Empty<float>();
    private float[] _dJoined = Array.Empty<float>(), _dPre = Array.Empty<float>(), _dAlpha = Array.Empty<float>(), _dQa = Array.Empty<float>(), _dKa = Array.Empty<float>();
    private Activations? _memory, _forwardMemory;

    /// <summary>
    /// Creates the attention of queries of <paramref name="queryWidth"/> values over memories of
    /// <paramref name="memoryWidth"/>, with outputs of <paramref name="outputWidth"/> (the query's width unless given)
    /// and, for <see cref="AttentionScore.Additive"/>, an attention size (the query's width unless given). Parameters
    /// start as nn.Linear's, U(±1/√fan_in).
    /// </summary>
    public Attention(int queryWidth, int memoryWidth, AttentionScore score = AttentionScore.Dot, int? outputWidth = null, int? attentionSize = null, Random? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queryWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(memoryWidth, 1);
        if (!Enum.IsDefined(score)) throw new ArgumentOutOfRangeException(nameof(score), score, "Dot or Additive.");
        if (score == AttentionScore.Dot && queryWidth != memoryWidth)
            throw new ArgumentException($"A dot-product score needs queries and memory of one width; the query has {queryWidth} values and the memory {memoryWidth}: use AttentionScore.Additive, or project one of them.", nameof(memoryWidth));
        int output = outputWidth ?? queryWidth, size = attentionSize ?? queryWidth;
        ArgumentOutOfRangeException.ThrowIfLessThan(output, 1, nameof(outputWidth));
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1, nameof(attentionSize));
        (QueryWidth, MemoryWidth, OutputWidth, Score, AttentionSize) = (queryWidth, memoryWidth, output, score, score == AttentionScore.Additive ? size : 0);
        int joined = memoryWidth + queryWidth;
        (_wc, _wcGradient) = Matrix("W_c", joined, output, random);
        (_bc, _bcGradient) = Vector("b_c", output, joined, random);
        if (score == AttentionScore.Additive)
        {
            (_wq, _wqGradient) = Matrix("W_q", queryWidth, size, random);
            (_wk, _wkGradient) = Matrix("W_k", memoryWidth, size, random);
            (_v, _vGradient) = Vector("v", size, size, random);
        }
    }

    /// <summary>A matrix stored [inputs, outputs] for the products, seen as [outputs, inputs] as nn.Linear's weight.</summary>
    private (float[], float[]) Matrix(string name, int inputs, int outputs, Random? random)
    {
        float[] values = new float[checked(inputs * outputs)], gradient = new float[values.Length];
        Initializers.Uniform<float>(values, 1 / Math.Sqrt(inputs), random);
        _parameters.Add(new Parameter<float>(name, new[] { outputs, inputs }, new[] { new ParameterBlock<float>(values, gradient, 0, inputs, outputs, 0, "input", true) }));
        return (values, gradient);
    }

    private (float[], float[]) Vector(string name, int length, int fanIn, Random? random)
    {
        float[] values = new float[length], gradient = new float[length];
        Initializers.Uniform<float>(values, 1 / Math.Sqrt(fanIn), random);
        _parameters.Add(new Parameter<float>(name, new[] { length }, new[] { new ParameterBlock<float>(values, gradient, 0, 1, 0, 0) }));
        return (values, gradient);
    }

    /// <summary>Q: the width of a query row (the input).</summary>
    public int QueryWidth { get; }

    /// <summary>M: the width of a memory row.</summary>
    public int MemoryWidth { get; }

    /// <summary>O: the width of an output row.</summary>
    public int OutputWidth { get; }

    /// <summary>A: the attention size of the additive score (0 for the dot product).</summary>
    public int AttentionSize { get; }

    /// <summary>The score.</summary>
    public AttentionScore Score { get; }

    /// <summary>
    /// What the queries attend to: an encoder's outputs [T', B, M] (its lengths mask the steps past each sequence's
    /// end), set before each Forward; the batch must be the queries'. Backward writes its gradients.
    /// </summary>
    public Activations? Memory
    {
        get => _memory;
        set
        {
            if (value is { } memory)
            {
                if (memory.IsDefault) throw new ArgumentException("The memory is default(Activations).", nameof(value));
                if (!memory.IsSequence) throw new ArgumentException($"The memory is a batch of sequences [T, B, M]; it is {memory}.", nameof(value));
                if (memory.Width != MemoryWidth) throw new ArgumentException($"The memory's rows have {memory.Width} values; this attention reads {MemoryWidth}.", nameof(value));
            }
            _memory = value;
        }
    }

    /// <summary>The weights of the last Forward, [rows of the input, T'] (a row's weights over the memory's steps, 0 past its length).</summary>
    public ReadOnlySpan<float> Weights => _forwardMemory is { } memory ? _alpha.AsSpan(0, Output.Rows * memory.Steps) : ReadOnlySpan<float>.Empty;

    /// <inheritdoc/>
    public override int? InputWidth => QueryWidth;

    /// <summary>The parameters by name: W_c, b_c (and W_q, W_k, v for the additive score).</summary>
    public IReadOnlyList<Parameter<float>> Parameters => _parameters;

    /// <inheritdoc/>
    public override IEnumerable<ParameterBuffer> ParameterBuffers
    {
        get
        {
            yield return new ParameterBuffer(_wc, _wcGradient);
            yield return new ParameterBuffer(_bc, _bcGradient);
            if (Score != AttentionScore.Additive) yield break;
            yield return new ParameterBuffer(_wq, _wqGradient);
            yield return new ParameterBuffer(_wk, _wkGradient);
            yield return new ParameterBuffer(_v, _vGradient);
        }
    }

    /// <inheritdoc/>
    protected override IEnumerable<KeyValuePair<string, Parameter<float>>> NamedParametersCore(string prefix)
    {
        foreach (Parameter<float> parameter in _parameters) yield return KeyValuePair.Create(prefix + parameter.Name, parameter);
    }

    internal override string? OnnxUnsupported => "ONNX export does not write Attention yet: it needs the encoder's outputs as a second input.";

    private static float[] Grow(ref float[] buffer, long length)
    {
        if (buffer.Length < length) buffer = new float[checked((int)length)];
        return buffer;
    }

    /// <inheritdoc/>
    protected override void ForwardCore(Activations input, bool training)
    {
        CheckWidth(input, QueryWidth);
        Activations memory = _memory ?? throw new InvalidOperationException("Attention.Memory is not set: give it the encoder's outputs before Forward.");
        int batch = input.BatchSize, steps = memory.Steps, rows = input.Rows, q = QueryWidth, m = MemoryWidth, joined = q + m;
        if (memory.BatchSize != batch)
            throw new ArgumentException($"The memory has B={memory.BatchSize} sequences and the queries {input}: one memory per sequence.", nameof(input));
        _forwardMemory = memory;
        Output.ReshapeLike(input, OutputWidth);
        ReadOnlySpan<float> queries = input.Values, values = memory.Values;
        Span<float> alpha = Grow(ref _alpha, (long)rows * steps).AsSpan(0, rows * steps);
        Span<float> join = Grow(ref _joined, (long)rows * joined).AsSpan(0, rows * joined);
        if (Score == AttentionScore.Additive)
        {
            int a = AttentionSize;
            Gemm.Forward<float>(queries, q, _wq, default, Grow(ref _qa, (long)rows * a).AsSpan(0, rows * a), a, rows, q, a);
            Gemm.Forward<float>(values, m, _wk, default, Grow(ref _ka, (long)memory.Rows * a).AsSpan(0, memory.Rows * a), a, memory.Rows, m, a);
        }
        for (int r = 0; r < rows; r++)
        {
            int b = r % batch, length = memory.Length(b);
            Span<float> weights = alpha.Slice(r * steps, steps);
            weights.Clear();
            Span<float> context = join.Slice(r * joined, m);
            context.Clear();
            queries.Slice(r * q, q).CopyTo(join.Slice(r * joined + m, q));
            if (length == 0) continue; // nothing to attend to: the context is zero
            float largest = float.NegativeInfinity;
            for (int j = 0; j < length; j++)
            {
                float score = Score == AttentionScore.Dot
                    ? Dot(queries.Slice(r * q, q), values.Slice((j * batch + b) * m, m))
                    : AdditiveScore(_qa.AsSpan(r * AttentionSize, AttentionSize), _ka.AsSpan((j * batch + b) * AttentionSize, AttentionSize), _v);
                weights[j] = score;
                largest = Math.Max(largest, score);
            }
            float sum = 0;
            for (int j = 0; j < length; j++) sum += weights[j] = MathF.Exp(weights[j] - largest);
            for (int j = 0; j < length; j++)
            {
                weights[j] /= sum;
                AddScaled(context, values.Slice((j * batch + b) * m, m), weights[j]);
            }
        }
        // The output: tanh(W_c [c, q] + b_c), one product for every row.
        Span<float> output = Output.Values;
        Gemm.Forward<float>(join, joined, _wc, _bc, output, OutputWidth, rows, joined, OutputWidth);
        Tanh(output);
    }

    /// <inheritdoc/>
    protected override void BackwardCore(Activations input)
    {
        Activations memory = _forwardMemory ?? throw new InvalidOperationException("Attention.Backward needs a Forward first.");
        int batch = input.BatchSize, steps = memory.Steps, rows = input.Rows, q = QueryWidth, m = MemoryWidth, joined = q + m, o = OutputWidth;
        ReadOnlySpan<float> queries = input.Values, values = memory.Values, output = Output.Values, dOutput = Output.Gradients;
        ReadOnlySpan<float> alpha = _alpha.AsSpan(0, rows * steps), join = _joined.AsSpan(0, rows * joined);
        // Through tanh and W_c: d(pre) = dy (1 - y²), then dW_c, db_c and d[c, q].
        Span<float> dPre = Grow(ref _dPre, (long)rows * o).AsSpan(0, rows * o);
        for (int i = 0; i < dPre.Length; i++) dPre[i] = dOutput[i] * (1 - output[i] * output[i]);
        Gemm.BackwardWeights<float>(join, joined, dPre, o, _wcGradient, rows, joined, o);
        Gemm.BiasGradient<float>(dPre, o, _bcGradient, rows, o);
        Span<float> dJoin = Grow(ref _dJoined, (long)rows * joined).AsSpan(0, rows * joined);
        Gemm.BackwardData<float>(dPre, o, _wc, dJoin, joined, rows, joined, o, accumulate: false);
        // The memory's gradients are written here (set, then added to), the query's after the scores.
        Span<float> dMemory = memory.Gradients;
        dMemory.Clear();
        bool additive = Score == AttentionScore.Additive;
        int a = AttentionSize;
        Span<float> dQa = additive ? Grow(ref _dQa, (long)rows * a).AsSpan(0, rows * a) : default, dKa = additive ? Grow(ref _dKa, (long)memory.Rows * a).AsSpan(0, memory.Rows * a) : default;
        dQa.Clear();
        dKa.Clear();
        Span<float> dAlpha = Grow(ref _dAlpha, steps).AsSpan(0, steps);
        for (int r = 0; r < rows; r++)
        {
            int b = r % batch, length = memory.Length(b);
            ReadOnlySpan<float> weights = alpha.Slice(r * steps, steps), dContext = dJoin.Slice(r * joined, m);
            Span<float> dQuery = dJoin.Slice(r * joined + m, q); // d[c, q]'s query part: the rest of dq is added to it
            // Through the context c = Σ α m: dα_j = dc · m_j, dm_j += α_j dc; then the softmax: ds_j = α_j (dα_j - Σ α dα).
            float mean = 0;
            for (int j = 0; j < length; j++)
            {
                ReadOnlySpan<float> value = values.Slice((j * batch + b) * m, m);
                dAlpha[j] = Dot(dContext, value);
                mean += weights[j] * dAlpha[j];
                AddScaled(dMemory.Slice((j * batch + b) * m, m), dContext, weights[j]);
            }
            for (int j = 0; j < length; j++)
            {
                float ds = weights[j] * (dAlpha[j] - mean);
                if (ds == 0) continue;
                if (!additive)
                {
                    AddScaled(dQuery, values.Slice((j * batch + b) * m, m), ds);
                    AddScaled(dMemory.Slice((j * batch + b) * m, m), queries.Slice(r * q, q), ds);
                }
                else
                    AdditiveBackward(_qa.AsSpan(r * a, a), _ka.AsSpan((j * batch + b) * a, a), _v, ds, _vGradient, dQa.Slice(r * a, a), dKa.Slice((j * batch + b) * a, a));
            }
        }
        if (additive)
        {
            Gemm.BackwardWeights<float>(queries, q, dQa, a, _wqGradient, rows, q, a);
            Gemm.BackwardWeights<float>(values, m, dKa, a, _wkGradient, memory.Rows, m, a);
            // dq += dQa W_qᵀ, into the query part of d[c, q] (rows of `joined` values, starting at m).
            Gemm.BackwardData<float>(dQa, a, _wq, dJoin.Slice(m), joined, rows, q, a, accumulate: true);
            Gemm.BackwardData<float>(dKa, a, _wk, dMemory, m, memory.Rows, m, a, accumulate: true);
        }
        if (!input.RequiresGradient) return;
        Span<float> dInput = input.Gradients;
        for (int r = 0; r < rows; r++) dJoin.Slice(r * joined + m, q).CopyTo(dInput.Slice(r * q, q));
    }

    private static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        float sum = 0;
        int i = 0;
        if (Vector512.IsHardwareAccelerated) sum += DotLanes<F32x16>(x, y, ref i);
        if (Vector256.IsHardwareAccelerated) sum += DotLanes<F32x8>(x, y, ref i);
        if (Vector128.IsHardwareAccelerated) sum += DotLanes<F32x4>(x, y, ref i);
        return sum + DotLanes<F32x1>(x, y, ref i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float DotLanes<V>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ref int i) where V : struct, IFloatLanes<V>
    {
        V total = V.Constant(0);
        for (; i <= x.Length - V.Count; i += V.Count) total = V.MultiplyAdd(V.Load(x, i), V.Load(y, i), total);
        return V.Sum(total);
    }

    /// <summary>target += scale · source.</summary>
    private static void AddScaled(Span<float> target, ReadOnlySpan<float> source, float scale)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated) AddScaledLanes<F32x16>(target, source, scale, ref i);
        if (Vector256.IsHardwareAccelerated) AddScaledLanes<F32x8>(target, source, scale, ref i);
        if (Vector128.IsHardwareAccelerated) AddScaledLanes<F32x4>(target, source, scale, ref i);
        AddScaledLanes<F32x1>(target, source, scale, ref i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaledLanes<V>(Span<float> target, ReadOnlySpan<float> source, float scale, ref int i) where V : struct, IFloatLanes<V>
    {
        V factor = V.Constant(scale);
        for (; i <= target.Length - V.Count; i += V.Count) V.Store(V.MultiplyAdd(V.Load(source, i), factor, V.Load(target, i)), target, i);
    }

    /// <summary>tanh in place, a vector at a time.</summary>
    private static void Tanh(Span<float> values)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated) TanhLanes<F32x16>(values, ref i);
        if (Vector256.IsHardwareAccelerated) TanhLanes<F32x8>(values, ref i);
        if (Vector128.IsHardwareAccelerated) TanhLanes<F32x4>(values, ref i);
        TanhLanes<F32x1>(values, ref i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TanhLanes<V>(Span<float> values, ref int i) where V : struct, IFloatLanes<V>
    {
        for (; i <= values.Length - V.Count; i += V.Count) V.Store(V.Tanh(V.Load(values, i)), values, i);
    }

    /// <summary>v · tanh(qa + ka), a vector at a time.</summary>
    private static float AdditiveScore(ReadOnlySpan<float> qa, ReadOnlySpan<float> ka, ReadOnlySpan<float> v)
    {
        float sum = 0;
        int i = 0;
        if (Vector512.IsHardwareAccelerated) sum += ScoreLanes<F32x16>(qa, ka, v, ref i);
        if (Vector256.IsHardwareAccelerated) sum += ScoreLanes<F32x8>(qa, ka, v, ref i);
        if (Vector128.IsHardwareAccelerated) sum += ScoreLanes<F32x4>(qa, ka, v, ref i);
        return sum + ScoreLanes<F32x1>(qa, ka, v, ref i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ScoreLanes<V>(ReadOnlySpan<float> qa, ReadOnlySpan<float> ka, ReadOnlySpan<float> v, ref int i) where V : struct, IFloatLanes<V>
    {
        V total = V.Constant(0);
        for (; i <= qa.Length - V.Count; i += V.Count)
            total = V.MultiplyAdd(V.Tanh(V.Load(qa, i) + V.Load(ka, i)), V.Load(v, i), total);
        return V.Sum(total);
    }

    /// <summary>u = tanh(qa + ka): dv += ds u, and d(qa) and d(ka) += ds v (1 - u²).</summary>
    private static void AdditiveBackward(ReadOnlySpan<float> qa, ReadOnlySpan<float> ka, ReadOnlySpan<float> v, float ds, Span<float> dv, Span<float> dqa, Span<float> dka)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated) ScoreBackward<F32x16>(qa, ka, v, ds, dv, dqa, dka, ref i);
        if (Vector256.IsHardwareAccelerated) ScoreBackward<F32x8>(qa, ka, v, ds, dv, dqa, dka, ref i);
        if (Vector128.IsHardwareAccelerated) ScoreBackward<F32x4>(qa, ka, v, ds, dv, dqa, dka, ref i);
        ScoreBackward<F32x1>(qa, ka, v, ds, dv, dqa, dka, ref i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScoreBackward<V>(ReadOnlySpan<float> qa, ReadOnlySpan<float> ka, ReadOnlySpan<float> v, float ds, Span<float> dv, Span<float> dqa, Span<float> dka, ref int i)
        where V : struct, IFloatLanes<V>
    {
        V scale = V.Constant(ds), one = V.Constant(1);
        for (; i <= qa.Length - V.Count; i += V.Count)
        {
            V u = V.Tanh(V.Load(qa, i) + V.Load(ka, i));
            V.Store(V.MultiplyAdd(u, scale, V.Load(dv, i)), dv, i);
            V d = scale * V.Load(v, i) * (one - u * u);
            V.Store(V.Load(dqa, i) + d, dqa, i);
            V.Store(V.Load(dka, i) + d, dka, i);
        }
    }
}
