using System;
using System.Collections.Generic;
using System.Linq;

namespace CellGen;

/// <summary>
/// A part of a model: Forward maps the Activations of its input to its <see cref="Output"/>, and Backward, after a
/// training Forward and once the gradients of the output are written, accumulates the gradients of its parameters and
/// writes those of its input (when the input requires them). A <see cref="Sequential"/> runs the Backward of its
/// modules in reverse order on its own; calling them by hand stays possible for custom wiring.
/// </summary>
public abstract class Module : IHasParameters
{
    private Activations? _input;
    private bool _trained;

    /// <summary>
    /// The output of the last Forward, with the gradients a loss or the next module writes: a view that the next
    /// Forward invalidates (reading it then throws), so that a result kept too long is never silently another batch's.
    /// </summary>
    public virtual Activations Output => new(_output);

    private readonly ActivationBuffer _output;

    /// <summary>Creates the module and its output buffer.</summary>
    protected Module() => _output = new ActivationBuffer { Owner = this };

    /// <summary>Runs the module on <paramref name="input"/>; <paramref name="training"/> records what Backward needs and turns dropout on.</summary>
    /// <exception cref="InvalidOperationException">The module is running on another thread: a module's buffers are its own, one call at a time.</exception>
    public Activations Forward(Activations input, bool training)
    {
        if (input.IsDefault) throw new ArgumentException("input is default(Activations), which has no buffers: create it with new Activations() and shape it.", nameof(input));
        _ = input.Buffer; // overwritten activations are refused before anything runs
        using (Enter(nameof(Forward)))
        {
            Forget();
            ForwardCore(input, training); // a Forward that throws leaves nothing for Backward
            Record(input, training);
            return Output;
        }
    }

    /// <summary>Forgets the last Forward: Backward is refused until a Forward succeeds.</summary>
    internal void Forget()
    {
        _output.Overwrite(); // every earlier view of the output is stale from here
        _input = null;
        _trained = false;
        _backedUp = false;
    }

    /// <summary>Records a forward run that did not go through <see cref="Forward"/> (a model fed token ids), for Backward.</summary>
    private protected void Record(Activations input, bool training)
    {
        _input = input;
        _trained = training;
        _backedUp = false;
    }

    /// <summary>
    /// Back-propagates the gradients of <see cref="Output"/> through the last training Forward, once: a second
    /// Backward for the same Forward would add every parameter's gradient again, so it is refused (as PyTorch
    /// refuses a second backward through a graph); so is a Backward before any gradient of this Forward was written
    /// (a loss computed on its output, or its gradients written), which would reuse an earlier batch's.
    /// </summary>
    public void Backward()
    {
        using (Enter(nameof(Backward)))
        {
            if (_input is null || !_trained)
                throw new InvalidOperationException(_input is null || !_backedUp
                    ? $"{GetType().Name}.Backward needs a Forward with training: true that succeeded first."
                    : $"{GetType().Name}.Backward has already run for the last Forward; run Forward again (a second Backward would add the gradients twice).");
            if (!Output.GradientsWritten)
            {
                if (!GradientsSeeded)
                    throw new InvalidOperationException($"{GetType().Name}.Backward: nothing has written the gradients of this Forward's output: compute a loss on it (loss.Compute(output, targets)) or write output.Gradients first; otherwise the last batch's would be used again.");
                Output.Gradients.Clear(); // only other gradients were given (a final state's): the output's count as zero
            }
            _ = _input.Value.Buffer; // an input its module has overwritten since is refused before any gradient is added
            _trained = false;
            _backedUp = true;
            BackwardCore(_input.Value);
        }
    }

    private bool _backedUp; // the last training Forward's Backward has run

    /// <summary>Whether gradients other than the output's were written since the last Forward (a recurrent layer's final states).</summary>
    internal virtual bool GradientsSeeded => false;

    private int _busy; // the managed thread id of the call running, or 0

    /// <summary>
    /// Marks the module busy for one call, so that a second thread's call is refused rather than sharing its buffers in
    /// silence (an Interlocked exchange: nothing allocated, the returned guard is a struct).
    /// </summary>
    private protected Busy Enter(string what)
    {
        if (System.Threading.Interlocked.CompareExchange(ref _busy, Environment.CurrentManagedThreadId, 0) != 0)
            throw new InvalidOperationException($"{GetType().Name}.{what} was called while another call on this module was running (from another thread?): a module and its buffers serve one call at a time; give each thread its own model.");
        return new Busy(this);
    }

    /// <summary>Whether a call of another thread is running on this module (and so writing its output).</summary>
    internal bool BusyElsewhere
    {
        get
        {
            int thread = System.Threading.Volatile.Read(ref _busy);
            return thread != 0 && thread != Environment.CurrentManagedThreadId;
        }
    }

    private protected readonly struct Busy(Module module) : IDisposable
    {
        public void Dispose() => System.Threading.Volatile.Write(ref module._busy, 0);
    }

    /// <summary>Computes <see cref="Output"/> from <paramref name="input"/>.</summary>
    protected abstract void ForwardCore(Activations input, bool training);

    /// <summary>Reads the gradients of <see cref="Output"/>; accumulates parameter gradients; writes <paramref name="input"/>'s gradients if it requires them.</summary>
    protected abstract void BackwardCore(Activations input);

    /// <summary>The packed parameter buffers with their gradients, for optimisers.</summary>
    public virtual IEnumerable<ParameterBuffer> ParameterBuffers => Enumerable.Empty<ParameterBuffer>();

    /// <summary>Every parameter under the name a checkpoint stores it by, each prefixed with <paramref name="prefix"/>.</summary>
    public IEnumerable<KeyValuePair<string, Parameter<float>>> NamedParameters(string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return NamedParametersCore(prefix);
    }

    /// <summary>The parameters by name under <paramref name="prefix"/> (not null).</summary>
    protected virtual IEnumerable<KeyValuePair<string, Parameter<float>>> NamedParametersCore(string prefix) =>
        Enumerable.Empty<KeyValuePair<string, Parameter<float>>>();

    /// <summary>
    /// The generators of random masks inside the module (dropout), by name, each prefixed with <paramref name="prefix"/>:
    /// a checkpoint saves their states, so that a resumed run draws the masks the uninterrupted one would have.
    /// </summary>
    public IEnumerable<(string Name, Func<ulong> Get, Action<ulong> Set)> NamedGenerators(string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return NamedGeneratorsCore(prefix);
    }

    /// <summary>The generators by name under <paramref name="prefix"/>: a module that holds others (a Dropout, say) hands on theirs.</summary>
    protected virtual IEnumerable<(string Name, Func<ulong> Get, Action<ulong> Set)> NamedGeneratorsCore(string prefix) =>
        Enumerable.Empty<(string, Func<ulong>, Action<ulong>)>();

    /// <summary>
    /// The parameters under the names the module's PyTorch counterpart gives them, for <see cref="PyTorch.Import(string, ValueTuple{string, Module}[])"/>
    /// and <see cref="PyTorch.Save"/>: by default <see cref="NamedParameters"/>, so that a module of your own round-trips
    /// with a PyTorch module whose attributes have its parameters' names and shapes.
    /// </summary>
    internal virtual IEnumerable<KeyValuePair<string, Parameter<float>>> TorchParameters(string prefix) => NamedParameters(prefix);

    /// <summary>Why the module has no PyTorch counterpart (a message naming it), or null.</summary>
    internal virtual string? TorchUnsupported => null;

    /// <summary>Stages the module's parameters from a file's tensors (the shapes checked; nothing is set yet).</summary>
    internal virtual void TorchLoad(string prefix, TorchSource source, List<(Parameter<float> Target, float[] Values)> staged)
    {
        foreach ((string name, Parameter<float> parameter) in TorchParameters(prefix))
            if (source.Get(name, parameter.Shape.ToArray()) is { } values) staged.Add((parameter, values));
    }

    /// <summary>Adds the module's tensors under PyTorch's names.</summary>
    internal virtual void TorchSave(string prefix, List<(string Name, int[] Shape, float[] Values)> tensors)
    {
        foreach ((string name, Parameter<float> parameter) in TorchParameters(prefix)) tensors.Add((name, parameter.Shape.ToArray(), parameter.ToArray()));
    }

    /// <summary>Why ONNX export cannot write the module (a message naming it), or null.</summary>
    internal virtual string? OnnxUnsupported =>
        $"ONNX export has no operators for a {GetType().Name}: the computation of a module of your own is C#, which the export cannot read; written as a [Layer] (equations), it exports.";

    /// <summary>Whether the module reads token ids (the model's ONNX input is then "tokens").</summary>
    internal virtual bool OnnxReadsTokens => false;

    /// <summary>Whether the module's ONNX operators read the sequences' lengths (the model then has the "lengths" input).</summary>
    internal virtual bool OnnxReadsLengths => false;

    /// <summary>What the module needs that <paramref name="shape"/> is not ("reads rows of 4 values"), as Forward would refuse it, or null.</summary>
    internal virtual string? OnnxNeeds(OnnxShape shape, Module? previous) =>
        InputWidth is { } width && width != shape.Width ? $"reads rows of {width} values" : null;

    /// <summary>The shape of the module's output for an input of <paramref name="shape"/>.</summary>
    internal virtual OnnxShape OnnxOutput(OnnxShape shape) => shape;

    /// <summary>Adds the module's ONNX operators, reading and replacing <see cref="Onnx.OnnxGraph.Current"/>.</summary>
    internal virtual void OnnxLower(Onnx.OnnxGraph graph) => throw new NotSupportedException(OnnxUnsupported);

    /// <summary>The values of each row a module that keeps the row count needs (the width of its input), or null for any.</summary>
    public virtual int? InputWidth => null;

    /// <summary>Refuses an input of the wrong width with both widths named.</summary>
    protected void CheckWidth(Activations input, int width)
    {
        if (input.Width != width)
            throw new ArgumentException($"{GetType().Name} reads rows of {width} values; its input is {input}.", nameof(input));
    }
}
