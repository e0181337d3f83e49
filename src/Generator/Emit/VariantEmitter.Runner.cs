using System.Collections.Generic;
using System.Linq;
using CellGen.Generator.Compiler;
using CellGen.Generator.Language;

namespace CellGen.Generator.Emit;

/// <summary>The runner: its buffers, and the instructions of the forward and backward passes.</summary>
internal sealed partial class VariantEmitter
{
    private string Rows(Phase phase) => phase == Phase.Step ? "B" : "steps * B";

    private void EmitRunner()
    {
        _w.Line("/// <summary>Runs the cell over batches of sequences; every buffer is allocated here, once.</summary>");
        _w.Line(CellEmitter.GeneratedCode);
        using (_w.Block($"private sealed class {Member("Runner")} : {Runtime}.SequenceRunner<{T}>"))
        {
            _w.Line($"private readonly {_className} _cell;");
            _w.Line($"private readonly int {string.Join(", ", new[] { "H", "X" }.Concat(DeclaredSizes.Select(n => SizeOf(Size.Declared(n)))))};");
            EmitHeadsConstant();
            foreach (BufferPlan b in RunnerBuffers())
                _w.Line($"private readonly {T}[] {_bufferFields[b.Index]}; // [{(b.AllSteps ? "T * B" : "B")}, {BufferWidth(b)}] {Purpose(b)}");
            foreach (WeightBuffer weights in ForwardWeights())
                _w.Line($"private readonly {Support}.PackedWeights<{T}> {PackedField(WeightsField(weights.Index))}; // weights{weights.Index} in the panels the forward kernels read");
            foreach (WeightBuffer weights in DroppedWeights())
            {
                _w.Line($"private {T}[] {UsedField(weights.Index)}; // weights{weights.Index} as the last pass multiplied by: the cell's, or dropped while training ([DropConnect])");
                _w.Line($"private readonly {T}[] {DroppedField(weights.Index)}, {MaskField(weights.Index)}, {Gradient(DroppedField(weights.Index))}; // the dropped weights, their mask, their gradient");
            }
            foreach (WeightBuffer weights in TransposedWeights())
            {
                _w.Line($"private readonly {T}[] {TransposedField(weights.Index)}; // [{BufferRows(weights)}, {StoredRows(weights)}] weights{weights.Index}ᵀ{(weights.Blocks > 1 ? " block by block" : "")}, for the data gradients");
                _w.Line($"private readonly {Support}.PackedWeights<{T}> {PackedField(TransposedField(weights.Index))}; // the same, in panels");
            }
            _w.Line();
            using (_w.Block($"public {Member("Runner")}({_className} cell, int maxSteps, int maxBatchSize) : base(cell, maxSteps, maxBatchSize)"))
            {
                _w.Line("_cell = cell;");
                _w.Line("H = cell.HiddenSize;");
                _w.Line("X = cell.InputSize;");
                foreach (string size in DeclaredSizes)
                    _w.Line($"{SizeOf(Size.Declared(size))} = cell.{SizeField(size)};");
                foreach (BufferPlan b in RunnerBuffers())
                    _w.Line($"{_bufferFields[b.Index]} = Buffer(1L * {(b.AllSteps ? "maxSteps * maxBatchSize" : "maxBatchSize")} * {Paren(BufferWidth(b))}, \"{b.Name}\");");
                foreach (WeightBuffer weights in ForwardWeights())
                    _w.Line($"{PackedField(WeightsField(weights.Index))} = new {Support}.PackedWeights<{T}>({StoredRows(weights)}, {BufferRows(weights)});");
                foreach (WeightBuffer weights in DroppedWeights())
                {
                    _w.Line($"{UsedField(weights.Index)} = _cell.{WeightsField(weights.Index)};");
                    foreach (string field in new[] { DroppedField(weights.Index), MaskField(weights.Index), Gradient(DroppedField(weights.Index)) })
                        _w.Line($"{field} = new {T}[_cell.{WeightsField(weights.Index)}.Length];");
                }
                foreach (WeightBuffer weights in TransposedWeights())
                {
                    _w.Line($"{TransposedField(weights.Index)} = new {T}[_cell.{WeightsField(weights.Index)}.Length]; // [{BufferRows(weights)}, {StoredRows(weights)}]");
                    _w.Line(weights.Blocks == 1
                        ? $"{PackedField(TransposedField(weights.Index))} = new {Support}.PackedWeights<{T}>({BufferRows(weights)}, {StoredRows(weights)});"
                        : $"{PackedField(TransposedField(weights.Index))} = new {Support}.PackedWeights<{T}>({weights.Parts.Count} * {Paren(BlockShare(weights.Parts[0].Rows, weights.Blocks))}, {StoredRows(weights)}, {weights.Blocks}); // one matrix per block");
                }
            }
            _w.Line();

            _w.Line("/// <inheritdoc/>");
            using (_w.Block($"protected override void RunForward(int steps, int batchSize, bool record, global::System.ReadOnlySpan<{T}> inputs)"))
            {
                _w.Line("int B = batchSize; // this call's; the buffers hold maxBatchSize");
                _w.Comment("The weights may have changed since the last pass: the first product to read their panels packs them again.");
                foreach (WeightBuffer weights in ForwardWeights())
                    _w.Line($"{PackedField(WeightsField(weights.Index))}.Invalidate();");
                foreach (WeightBuffer weights in DroppedWeights())
                {
                    DropoutInfo dropout = _cell.Dropouts[_schedule.DropConnect(weights.Index)];
                    _w.Line($"{UsedField(weights.Index)} = DropConnect({_schedule.DropConnect(weights.Index)}, record, _cell.{WeightsField(weights.Index)}, {DroppedField(weights.Index)}, {MaskField(weights.Index)}); "
                        + $"// the weights that multiply {dropout.State}[t-1], dropped with one mask for the pass while training");
                }
                foreach (var lagged in LaggedInputs())
                    _w.Line($"LaggedInputs(inputs, {lagged.Lag}, steps, {_bufferFields[lagged.Buffer]}); // {_cell.Input}[t-{lagged.Lag}]: zero before the first step");
                foreach (int mask in Enumerable.Range(0, _graph.Nodes.Count).Where(i => _graph.Nodes[i].Op == Op.Mask))
                {
                    Node node = _graph.Nodes[mask];
                    DropoutInfo dropout = _cell.Dropouts[node.Part];
                    _w.Line($"DrawMask({node.Part}, steps, {StateSize(node.Name)}, record, {_bufferFields[_schedule.Nodes[mask].Buffer]}); // "
                        + (dropout.Kind == DropoutKind.Zoneout ? $"zoneout of {node.Name}: 1 keeps {node.Name}[t-1], drawn per step while training; p at inference"
                            : $"dropout of {node.Name}[t-1] where matrices read it: one mask per sequence while training; 1 at inference"));
                }
                if (_schedule.HoistedForward.Count > 0)
                {
                    _w.Comment("Before the loop: everything that depends only on the input, for all steps at once.");
                    foreach (Instruction instruction in _schedule.HoistedForward) EmitForwardInstruction(instruction, Phase.Hoisted);
                }
                using (_w.Block("for (int t = 0; t < steps; t++)"))
                {
                    if (_keptPerStep.Count > 0)
                        _w.Line("int slot = record ? t : 0; // without a tape, one step's room is enough for what only the backward pass reads");
                    foreach (Instruction instruction in _schedule.StepForward) EmitForwardInstruction(instruction, Phase.Step);
                    _w.Line("EndForwardStep(t); // sequences that have ended keep their states");
                }
            }
            _w.Line();

            _w.Line("/// <inheritdoc/>");
            using (_w.Block($"protected override void RunBackward(int steps, int batchSize, global::System.ReadOnlySpan<{T}> outputGradients)"))
            {
                _w.Line("int B = batchSize;");
                if (TransposedWeights().Count > 0)
                    _w.Comment("The data gradients multiply by transposed weights: transposed once here, they run on the forward kernels.");
                foreach (WeightBuffer weights in TransposedWeights())
                {
                    _w.Line(weights.Blocks == 1
                        ? $"{Support}.Gemm.Transpose<{T}>({WeightsRead(weights.Index)}, {TransposedField(weights.Index)}, {StoredRows(weights)}, {BufferRows(weights)});"
                        : $"{Support}.Gemm.TransposeBlocks<{T}>({WeightsRead(weights.Index)}, {TransposedField(weights.Index)}, {SizeOf(weights.OperandSize)}, {BlockArguments(weights)});");
                    _w.Line($"{PackedField(TransposedField(weights.Index))}.Invalidate();");
                }
                using (_w.Block("for (int t = steps - 1; t >= 0; t--)"))
                {
                    _w.Line("BeginBackwardStep(t); // sequences that have ended add nothing from here on");
                    foreach (Instruction instruction in _schedule.StepBackward) EmitBackwardInstruction(instruction, Phase.Step);
                    for (int s = 0; s < _cell.States.Count; s++)
                        if (!_schedule.StatesReadBack[s])
                            _w.Line($"CarryOut({s}).Clear(); // nothing in a step reads {_cell.States[s]}[t-1]");
                    _w.Line("EndBackwardStep(t);");
                }
                if (_schedule.AfterLoopBackward.Count > 0)
                    _w.Comment("After the loop: weight gradients as products over all steps, then what depends only on the input.");
                foreach (Instruction instruction in _schedule.AfterLoopBackward)
                    EmitBackwardInstruction(instruction, Phase.Hoisted);
                bool inputReached = Enumerable.Range(0, _graph.Nodes.Count).Any(i => _graph.Nodes[i].Op == Op.Input && _graph.Nodes[i].Lag == 0 && _schedule.FirstWriter[i] is not null);
                var laggedReached = LaggedInputs().Where(l => _schedule.FirstWriter[l.Node] is not null).ToList();
                if (!inputReached)
                    _w.Line($"InputGradients.AsSpan(0, steps * B * X).Clear(); // {(laggedReached.Count > 0 ? "nothing reaches x[t] itself" : "the output does not depend on the input")}");
                foreach (var lagged in laggedReached)
                    _w.Line($"AddLaggedInputGradients({lagged.Lag}, steps, {_bufferFields[_schedule.Nodes[lagged.Node].AdjointBuffer]}); // d({_cell.Input}[t-{lagged.Lag}]) moved back to the step it was read at");
            }
        }
    }

    /// <summary>The weight buffers whose products pass a gradient back to their operand, in buffer order.</summary>
    private List<WeightBuffer> TransposedWeights() =>
        WeightsOf(_schedule.StepBackward.Concat(_schedule.AfterLoopBackward), InstructionKind.GemmData);

    /// <summary>The weight buffers of the forward products, in buffer order.</summary>
    private List<WeightBuffer> ForwardWeights() =>
        WeightsOf(_schedule.HoistedForward.Concat(_schedule.StepForward), InstructionKind.Gemm, InstructionKind.GemmThenSweep);

    private List<WeightBuffer> WeightsOf(IEnumerable<Instruction> instructions, params InstructionKind[] kinds) =>
        instructions.Where(instruction => kinds.Contains(instruction.Kind))
            .Select(instruction => _schedule.Optimised.Calls[_schedule.Calls[instruction.Index].Call].Buffer)
            .Distinct().OrderBy(buffer => buffer)
            .Select(buffer => _schedule.Optimised.Buffers[buffer]).ToList();

    private string TransposedField(int weights) => Field("transposed:" + weights, WeightsField(weights) + "Transposed");

    /// <summary>The schedule's buffers this variant uses: not the output of a step's product that adds itself onto another (single precision).</summary>
    private IEnumerable<BufferPlan> RunnerBuffers() =>
        _schedule.Buffers.Where(b => !(_p.IsSingle && _schedule.Calls.Any(c => c.AddsOnto >= 0 && c.OutputBuffer == b.Index)));

    /// <summary>The weight buffers a [DropConnect] drops, in buffer order.</summary>
    private List<WeightBuffer> DroppedWeights() => _schedule.Optimised.Buffers.Where(b => _schedule.DropConnect(b.Index) >= 0).ToList();

    private string UsedField(int weights) => Field("used:" + weights, WeightsField(weights) + "Used");

    private string DroppedField(int weights) => Field("dropped:" + weights, WeightsField(weights) + "Dropped");

    private string MaskField(int weights) => Field("mask:" + weights, WeightsField(weights) + "Mask");

    /// <summary>What a pass multiplies by: the cell's weights, or the runner's choice of them and their dropped copy.</summary>
    private string WeightsRead(int weights) => _schedule.DropConnect(weights) >= 0 ? UsedField(weights) : $"_cell.{WeightsField(weights)}";

    private string PackedField(string weights) => Field("packed:" + weights, weights + "Packed");

    /// <summary>"product0 and product1" when more than one product's gradient lives in buffer <paramref name="buffer"/>, else "".</summary>
    private string SharedGradient(int buffer)
    {
        var calls = _schedule.Calls.Where(c => c.GradientBuffer == buffer).Select(c => "product" + c.Call).ToList();
        return calls.Count > 1 ? string.Join(" and ", calls) : "";
    }

    private string Purpose(BufferPlan b) => b.Purpose switch
    {
        BufferPurpose.Product => "a fused matrix product",
        BufferPurpose.Gradient when SharedGradient(b.Index) is { Length: > 0 } calls => $"gradient of {calls}, which are equal",
        BufferPurpose.Gradient => "gradient",
        BufferPurpose.Tape => "tape: read by the backward pass",
        BufferPurpose.Lagged => "the input of an earlier step",
        BufferPurpose.Mask => "a dropout's mask, drawn before the loop",
        BufferPurpose.Value => "kept for a later stage",
        _ => throw new System.InvalidOperationException("Unknown purpose " + b.Purpose),
    };

    private (string Span, string Stride) OperandValues(int operand, Phase phase, bool allSteps, bool forward = false)
    {
        NodePlan plan = _schedule.Nodes[operand];
        Node node = _graph.Nodes[operand];
        switch (plan.Storage)
        {
            case Storage.StatePrev:
                return (allSteps ? $"PreviousStates({StateIndex(node.Name)}, steps)" : $"PreviousState({StateIndex(node.Name)}, t)", StateSize(node.Name));
            case Storage.StateNext:
                return (allSteps ? $"NextStates({StateIndex(plan.State)}, steps)" : $"NextState({StateIndex(plan.State)}, t)", StateSize(plan.State));
            default:
            {
                View view = ValueView(operand, allSteps ? Phase.Hoisted : phase, forward)!;
                return (view.Span.From(view.Column), view.Stride);
            }
        }
    }

    private void EmitForwardInstruction(Instruction instruction, Phase phase)
    {
        switch (instruction.Kind)
        {
            case InstructionKind.Reduce:
            {
                int mean = instruction.Index, argument = _graph.Nodes[mean].Args[0];
                View source = ValueView(argument, phase, forward: true)!;
                string values = source.RowArguments;
                if (_graph.Nodes[mean].Op == Op.SegmentSum)
                {
                    _w.Comment(_graph.Nodes[mean].Size == Size.Heads
                        ? $"{_describe.Short(mean)}: per head, the sum of {_describe.Short(argument)} over the head's units"
                        : $"{_describe.Short(mean)}: per row of each head's matrix, the sum of {_describe.Short(argument)} along it");
                    _w.Line($"{Support}.Elementwise.SegmentSums<{T}>({values}, {SizeOf(_graph.Nodes[argument].Size)}, H / heads, {ValueView(mean, phase, forward: true)!.Span}, {Rows(phase)});");
                    return;
                }
                _w.Comment($"{_describe.Short(mean)}: one value per row");
                if (_graph.Nodes[mean].Op == Op.Variance)
                    _w.Line($"{Support}.Elementwise.RowVariances<{T}>({values}, {ValueView(_graph.Nodes[mean].Args[1], phase, forward: true)!.Span}, {SizeOf(_graph.Nodes[argument].Size)}, {ValueView(mean, phase, forward: true)!.Span}, {Rows(phase)});");
                else
                    _w.Line($"{Support}.Elementwise.RowMeans<{T}>({values}, {SizeOf(_graph.Nodes[argument].Size)}, {ValueView(mean, phase, forward: true)!.Span}, {Rows(phase)});");
                return;
            }
            case InstructionKind.Sweep:
                EmitKernelCall(_schedule.Sweeps[instruction.Index], forward: true);
                return;
            case InstructionKind.GemmThenSweep when !_p.IsSingle: // the double variant, for verification, keeps them apart
                EmitForwardInstruction(new Instruction(InstructionKind.Gemm, instruction.Index), phase);
                EmitForwardInstruction(new Instruction(InstructionKind.Sweep, instruction.Sweep), phase);
                return;
            case InstructionKind.GemmThenSweep when _schedule.Calls[instruction.Index].AddsOnto >= 0:
            {
                CallPlan call = _schedule.Calls[instruction.Index], onto = _schedule.Calls[call.AddsOnto];
                SweepPlan sweep = _schedule.Sweeps[instruction.Sweep];
                WeightBuffer weights = WeightsOfCall(instruction.Index);
                string product = ProductArguments(call, phase, out int parts, into: BufferSpan(onto.OutputBuffer, phase, forward: true).AsSpan());
                string kernel = EmitKernelLocal(sweep, forward: true, " (fused with the product: each block of hidden units as soon as its gates are computed)");
                _w.Comment($"product{call.Call} is added onto product{onto.Call}'s rows of this step, where the sweep reads each sum once (read ahead block by block)");
                _w.Line($"{Support}.Gemm.ForwardOntoThenSweep({product}, {parts}, {SizeOf(sweep.Size)}, {weights.Blocks}, ref {kernel});");
                return;
            }
            case InstructionKind.GemmThenSweep:
            {
                string product = ProductArguments(_schedule.Calls[instruction.Index], phase, out int parts);
                SweepPlan sweep = _schedule.Sweeps[instruction.Sweep];
                int blocks = WeightsOfCall(instruction.Index).Blocks;
                string kernel = EmitKernelLocal(sweep, forward: true, " (fused with the product: each block of hidden units as soon as its gates are computed)");
                string? ahead = ReadAhead(sweep, _schedule.Calls[instruction.Index].Call);
                if (ahead is not null) _w.Comment($"{ahead} is read ahead: each block of it arrives in cache while that block's product runs");
                string reads = ahead is null ? (blocks == 1 ? "" : ", default") : $", {kernel}.{ahead}";
                _w.Line($"{Support}.Gemm.ForwardThenSweep({product}, {parts}, {SizeOf(sweep.Size)}{(blocks == 1 ? "" : $", {blocks}")}, ref {kernel}{reads});");
                return;
            }
            default:
            {
                string product = ProductArguments(_schedule.Calls[instruction.Index], phase, out _);
                WeightBuffer weights = WeightsOfCall(instruction.Index);
                _w.Line(weights.Blocks == 1
                    ? $"{Support}.Gemm.Forward<{T}>({product}, {BufferRows(weights)});"
                    : $"{Support}.Gemm.ForwardBlocks<{T}>({product}, {BlockArguments(weights)});");
                return;
            }
        }
    }

    /// <summary>
    /// The field of a fused step sweep that holds a product computed before the loop, laid out as the step's product
    /// (the same row width), for the runtime to read ahead block by block; null when the sweep reads none. Read by the
    /// sweep alone, its rows (each in another 4 KiB page) came from L3 one miss at a time.
    /// </summary>
    private string? ReadAhead(SweepPlan sweep, int call)
    {
        string n = BufferRows(_schedule.Optimised.Buffers[_schedule.Optimised.Calls[call].Buffer]);
        var members = new HashSet<int>(sweep.Nodes);
        foreach (int node in sweep.Nodes)
            foreach (int a in _graph.Nodes[node].Args)
            {
                int other = _schedule.Optimised.CallOfNode[a];
                if (members.Contains(a) || other < 0 || other == call || _schedule.Calls.First(c => c.Call == other).Phase != Phase.Hoisted) continue;
                View? view = ValueView(a, sweep.Phase, forward: true);
                if (view is { Broadcast: false, PerRow: false } && view.Stride == n) return view.Field;
            }
        return null;
    }

    /// <summary>
    /// Writes the product's comment and returns its arguments up to k: A, lda, W, packed W, bias, C, ldc, rows, k; with
    /// <paramref name="into"/>, a span laid out as C to add onto, in place of bias and C.
    /// </summary>
    private string ProductArguments(CallPlan call, Phase phase, out int parts, string? into = null)
    {
        GemmCall gemm = _schedule.Optimised.Calls[call.Call];
        WeightBuffer weights = _schedule.Optimised.Buffers[gemm.Buffer];
        (string operand, string lda) = OperandValues(gemm.Operand, phase, allSteps: false, forward: true);
        parts = weights.Parts.Count;
        string n = BufferRows(weights);
        _w.Comment($"product{call.Call} = " + string.Join(" | ", weights.Parts.Select(p => p.Matrix + _describe.Columns(p.Matrix, p.Part) + " @ " + _describe.Node(gemm.Operand, false) + (p.Bias.Length > 0 ? " + " + p.Bias : "")))
            + (weights.Blocks > 1 ? $", each matrix {weights.Blocks} blocks along its diagonal, only the blocks multiplied" : ""));
        string bias = weights.HasBias ? $"_cell.{BiasField(weights.Index)}" : "default";
        string output = into ?? $"{bias}, {ValueView(NodeOfCall(call.Call), phase, forward: true)!.Span}";
        return $"{operand}, {lda}, {WeightsRead(weights.Index)}, {PackedField(WeightsField(weights.Index))}, {output}, {n}, {Rows(phase)}, {SizeOf(weights.OperandSize)}";
    }

    /// <summary>The weights of the call planned at <paramref name="plan"/>.</summary>
    private WeightBuffer WeightsOfCall(int plan) => _schedule.Optimised.Buffers[_schedule.Optimised.Calls[_schedule.Calls[plan].Call].Buffer];

    /// <summary>parts, partWidth, blocks: the shape of a block-diagonal product's columns (its parts have equal rows).</summary>
    private static string BlockArguments(WeightBuffer weights) => $"{weights.Parts.Count}, {SizeOf(weights.Parts[0].Rows)}, {weights.Blocks}";

    private int NodeOfCall(int call) => Enumerable.Range(0, _graph.Nodes.Count).First(i => _schedule.Optimised.CallOfNode[i] == call);

    private void EmitBackwardInstruction(Instruction instruction, Phase phase)
    {
        switch (instruction.Kind)
        {
            case InstructionKind.BackwardSweep:
            {
                foreach (int target in SummedTargets(_schedule.Sweeps[instruction.Index]).Where(t => _schedule.FirstWriter[t] == instruction))
                {
                    View view = AdjointView(target, phase);
                    string why = $"// d({_describe.Short(target)}) is summed over the features below";
                    if (view.Column.Length == 0 && view.Stride == SizeOf(_graph.Nodes[target].Size))
                        _w.Line($"{view.Span.AsSpan()}.Clear(); {why}");
                    else // its columns of a product's gradient, row by row: the other columns belong to other values
                        _w.Line($"for (int r = 0; r < {Rows(phase)}; r++) {view.Span.From("r * " + Paren(view.Stride) + (view.Column.Length > 0 ? " + " + view.Column : ""))}.Slice(0, {SizeOf(_graph.Nodes[target].Size)}).Clear(); {why}");
                }
                EmitKernelCall(_schedule.Sweeps[instruction.Index], forward: false);
                return;
            }
            case InstructionKind.ReduceData:
            {
                int mean = instruction.Index, argument = _graph.Nodes[mean].Args[0];
                View source = AdjointView(mean, phase), target = AdjointView(argument, phase);
                // A parameter vector is the same row for every row (stride 0), and its gradient always accumulates.
                bool accumulate = _graph.Nodes[argument].Op == Op.Vector || _schedule.FirstWriter[argument] != instruction;
                if (_schedule.FirstWriter[mean] is null) _w.Line($"{source.Span.AsSpan()}.Clear(); // nothing reaches {_describe.Short(mean)}");
                string targets = target.RowArguments;
                string width = SizeOf(_graph.Nodes[argument].Size);
                if (_graph.Nodes[mean].Op == Op.SegmentSum)
                {
                    _w.Comment($"d({_describe.Short(argument)}) {(accumulate ? "+=" : "=")} d({_describe.Short(mean)}), for every feature it sums");
                    _w.Line($"{Support}.Elementwise.SegmentSumsGradient<{T}>({source.Span}, {targets}, {Paren(width)}, H / heads, {Rows(phase)}, accumulate: {(accumulate ? "true" : "false")});");
                    return;
                }
                if (_graph.Nodes[mean].Op == Op.Variance)
                {
                    View values = ValueView(argument, phase)!, means = ValueView(_graph.Nodes[mean].Args[1], phase)!;
                    _w.Comment($"d({_describe.Short(argument)}) {(accumulate ? "+=" : "=")} d({_describe.Short(mean)}) * 2 ({_describe.Short(argument)} - {_describe.Short(_graph.Nodes[mean].Args[1])}) / {width}, for every feature");
                    _w.Line($"{Support}.Elementwise.RowVariancesGradient<{T}>({source.Span}, {values.RowArguments}, {means.Span}, {width}, {targets}, {Rows(phase)}, accumulate: {(accumulate ? "true" : "false")});");
                    return;
                }
                _w.Comment($"d({_describe.Short(argument)}) {(accumulate ? "+=" : "=")} d({_describe.Short(mean)}) / {width}, for every feature");
                _w.Line($"{Support}.Elementwise.RowMeansGradient<{T}>({source.Span}, {targets}, {width}, {Rows(phase)}, accumulate: {(accumulate ? "true" : "false")});");
                return;
            }
            case InstructionKind.GemmData:
            {
                CallPlan call = _schedule.Calls[instruction.Index];
                GemmCall gemm = _schedule.Optimised.Calls[call.Call];
                WeightBuffer weights = _schedule.Optimised.Buffers[gemm.Buffer];
                View target = AdjointView(gemm.Operand, call.Phase);
                string span = target.Span.From(target.Column);
                bool accumulate = _schedule.FirstWriter[gemm.Operand] != instruction;
                string n = BufferRows(weights);
                _w.Comment($"d({_describe.Short(gemm.Operand)}) {(accumulate ? "+=" : "=")} d(product{call.Call}) @ weights{weights.Index}ᵀ" + (weights.Blocks > 1 ? ", block by block" : ""));
                if (weights.Blocks > 1)
                {
                    _w.Line($"{Support}.Gemm.BackwardDataBlocks<{T}>({BufferSpan(call.GradientBuffer, call.Phase)}, {n}, {TransposedField(weights.Index)}, {PackedField(TransposedField(weights.Index))}, {span}, {target.Stride}, {Rows(call.Phase)}, {SizeOf(weights.OperandSize)}, {BlockArguments(weights)}, accumulate: {(accumulate ? "true" : "false")});");
                    return;
                }
                _w.Line($"{Support}.Gemm.BackwardDataTransposed<{T}>({BufferSpan(call.GradientBuffer, call.Phase)}, {n}, {TransposedField(weights.Index)}, {PackedField(TransposedField(weights.Index))}, {span}, {target.Stride}, {Rows(call.Phase)}, {SizeOf(weights.OperandSize)}, {n}, accumulate: {(accumulate ? "true" : "false")});");
                return;
            }
            case InstructionKind.GemmWeights:
            {
                CallPlan call = _schedule.Calls[instruction.Index];
                GemmCall gemm = _schedule.Optimised.Calls[call.Call];
                WeightBuffer weights = _schedule.Optimised.Buffers[gemm.Buffer];
                (string operand, string lda) = OperandValues(gemm.Operand, Phase.Hoisted, allSteps: true);
                string n = BufferRows(weights);
                string dz = BufferSpan(call.GradientBuffer, Phase.Hoisted).Text;
                _w.Comment($"d(weights{weights.Index}) += {_describe.Short(gemm.Operand)}ᵀ @ d(product{call.Call}), over all steps" + (weights.Blocks > 1 ? ", the blocks only" : ""));
                string Product(string gradient) => weights.Blocks == 1
                    ? $"{Support}.Gemm.BackwardWeights<{T}>({operand}, {lda}, {dz}, {n}, {gradient}, steps * B, {SizeOf(weights.OperandSize)}, {n});"
                    : $"{Support}.Gemm.BackwardWeightsBlocks<{T}>({operand}, {lda}, {dz}, {n}, {gradient}, steps * B, {SizeOf(weights.OperandSize)}, {BlockArguments(weights)});";
                string own = $"_cell.{Gradient(WeightsField(weights.Index))}";
                if (_schedule.DropConnect(weights.Index) < 0)
                    _w.Line(Product(own));
                else
                {
                    _w.Line($"if ({UsedField(weights.Index)} == _cell.{WeightsField(weights.Index)}) {Product(own)}");
                    using (_w.Block("else // the pass dropped them: the gradient of the dropped weights, times the mask, is the weights'"))
                    {
                        _w.Line($"global::System.Array.Clear({Gradient(DroppedField(weights.Index))});");
                        _w.Line(Product(Gradient(DroppedField(weights.Index))));
                        _w.Line($"AddDropConnectGradient({own}, {Gradient(DroppedField(weights.Index))}, {MaskField(weights.Index)});");
                    }
                }
                if (weights.HasBias)
                    _w.Line($"{Support}.Gemm.BiasGradient<{T}>({dz}, {n}, _cell.{Gradient(BiasField(weights.Index))}, steps * B, {n});");
                return;
            }
        }
    }

    private string KernelName(SweepPlan sweep, bool forward) =>
        Member($"{(sweep.Phase == Phase.Hoisted ? "Input" : "Step")}{(forward ? "Forward" : "Backward")}{sweep.Index}");

    private void EmitKernelCall(SweepPlan sweep, bool forward)
    {
        string local = EmitKernelLocal(sweep, forward, "");
        // A sweep by heads walks one head of a row per kernel row, a matrix memory's one row of a head's matrix.
        string shape = sweep.Shape switch
        {
            SweepShape.Heads => $"{Rows(sweep.Phase)} * heads, H / heads",
            SweepShape.MatrixRows => $"{Rows(sweep.Phase)} * H, H / heads",
            _ => $"{Rows(sweep.Phase)}, {SizeOf(sweep.Size)}",
        };
        _w.Line($"{Support}.Elementwise.{_p.ForEach}(ref {local}, {shape});");
    }

    /// <summary>The number of heads, for the sizes written with it (heads, H / heads), where a cell has [Heads].</summary>
    private void EmitHeadsConstant()
    {
        if (_cell.Heads > 0) _w.Line($"private const int heads = {_cell.Heads}; // [Heads]: each of a row's heads has P = H / heads units");
    }

    /// <summary>Writes the sweep's comment (with <paramref name="how"/> after it) and its kernel, a local; returns the local's name.</summary>
    private string EmitKernelLocal(SweepPlan sweep, bool forward, string how)
    {
        var views = forward ? ForwardViews(sweep) : BackwardViews(sweep);
        string name = KernelName(sweep, forward);
        string what = string.Join(", ", sweep.Nodes.Where(n => _describe.LabelOf(n) is not null).Select(n => _describe.LabelOf(n)));
        _w.Comment($"{(forward ? "" : "Backward of ")}{(what.Length > 0 ? what : "sweep " + sweep.Index)}{how}");
        string local = "k" + name;
        var init = new List<string> { "H = H", "X = X" };
        init.AddRange(DeclaredSizes.Select(n => SizeOf(Size.Declared(n))).Select(n => $"{n} = {n}"));
        if (forward) init.Add("Record = record");
        init.AddRange(views.Values.Select(v => $"{v.Field} = {v.Span}"));
        _w.Line($"{name} {local} = new {name} {{ {string.Join(", ", init)} }};"); // no 'var': a type of the user's called var would capture it
        return local;
    }
}
