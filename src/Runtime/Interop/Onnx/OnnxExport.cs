using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using CellGen.OnnxSchema;
using Google.Protobuf;

namespace CellGen;

/// <summary>
/// Models out to ONNX, for inference elsewhere (ONNX Runtime and the rest). Each module writes its own operators: a
/// recurrent layer whose cell computes a standard module (<see cref="CellForm"/>: the built-in Rnn, Irnn, Lstm, Gru and
/// TorchGru, or a cell of yours with their equations) becomes ONNX's RNN, LSTM or GRU, layers and directions stacked,
/// variable lengths as sequence_lens; every other cell (Lstmp, LayerNormLstm, your own) an ONNX Scan whose body is its
/// step, written from the step graph the generator attaches to the cell (the operations its kernels compute), sequences
/// past their ends held by a mask and the reverse direction read through ReverseSequence. A layer from equations is
/// its step applied to every row at once; Embedding is a Gather, Dense a MatMul and an Add, LastStep the final states,
/// Dropout nothing.
/// </summary>
public static class Onnx
{
    /// <summary>The ONNX operator set the models use.</summary>
    public const int Opset = 14;

    /// <summary>
    /// Writes <paramref name="model"/> as an ONNX model, atomically. Its inputs: "tokens" [T, B] int64 when the model
    /// starts with an <see cref="Embedding"/>, otherwise "inputs" [T, B, X] float; and, when a module reads the
    /// sequences' lengths and <paramref name="variableLengths"/> is true, "lengths" [B] int32, each sequence's length
    /// (without it, every sequence has all T steps). Its output "output": [T, B, W], or [B, W] after a
    /// <see cref="LastStep"/>. Every input and output is typed with its shape (T and B symbolic) and no node is left
    /// unused, so that the model passes onnx.checker's full check.
    /// </summary>
    /// <exception cref="NotSupportedException">A module without ONNX operators (one of your own: write it as a [Layer] to export it), or a cell CellGen did not generate (no step graph to write).</exception>
    /// <exception cref="ArgumentException">The modules do not fit together (a module that reads sequences after one that pools them, widths that differ): a model CellGen cannot run is not exported.</exception>
    public static void Export(string path, Module model, bool variableLengths = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        var modules = Sequential.Leaves(model, "").Select(leaf => leaf.Module).ToList();
        foreach (Module module in modules)
            if (module.OnnxUnsupported is { } why) throw new NotSupportedException(why);
        OnnxShape shape = CheckShapes(modules);
        var graph = new OnnxGraph(variableLengths && modules.Any(m => m.OnnxReadsLengths));
        GraphProto built = graph.Build(modules, shape);
        Prune(built);
        var onnx = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "CellGen",
            ProducerVersion = typeof(Onnx).Assembly.GetName().Version?.ToString(3) ?? "",
            Graph = built,
        };
        onnx.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        Files.WriteAtomically(path, onnx.ToByteArray());
    }

    /// <summary>
    /// Follows the shape from module to module as Forward would and refuses what Forward refuses (each module says what
    /// it needs): an embedding after the first module, a recurrent module fed vectors, a width that differs. Returns the
    /// model's output shape.
    /// </summary>
    private static OnnxShape CheckShapes(List<Module> modules)
    {
        var shape = new OnnxShape(true, modules[0].OnnxReadsTokens ? 0 : modules[0].InputWidth
            ?? throw new NotSupportedException($"The first module, {modules[0].GetType().Name}, does not say its input width."));
        for (int i = 0; i < modules.Count; i++)
        {
            Module? previous = i == 0 ? null : modules[i - 1];
            if (modules[i].OnnxNeeds(shape, previous) is { } needs)
                throw new ArgumentException(modules[i].OnnxReadsTokens && i > 0
                    ? $"Module {i} of the model is a {modules[i].GetType().Name}, which {needs}."
                    : $"Module {i} of the model, a {modules[i].GetType().Name}, {needs}, but {(i == 0 ? "the model's input" : $"module {i - 1}")} gives it {shape}: CellGen cannot run this model, so it is not exported.", "model");
            shape = modules[i].OnnxOutput(shape);
        }
        return shape;
    }

    /// <summary>
    /// Removes the nodes whose outputs nothing reads (a layer's pooled states when no LastStep follows, say), then the
    /// initialisers and inputs no node reads; names a Scan's body reads from the outer graph count as read.
    /// </summary>
    private static void Prune(GraphProto graph)
    {
        // A body first (a Scan's step): its inputs are positional and stay, its nodes go if no output needs them.
        foreach (AttributeProto attribute in graph.Node.SelectMany(n => n.Attribute))
            if (attribute.G is { } body) PruneNodes(body);
        var needed = PruneNodes(graph);
        var initialisers = graph.Initializer.Where(i => needed.Contains(i.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.Add(initialisers);
        var inputs = graph.Input.Where(i => needed.Contains(i.Name)).ToList();
        graph.Input.Clear();
        graph.Input.Add(inputs);
    }

    /// <summary>Removes a graph's nodes that no output needs; returns every name the rest reads.</summary>
    private static HashSet<string> PruneNodes(GraphProto graph)
    {
        var needed = new HashSet<string>(graph.Output.Select(o => o.Name));
        var kept = new List<NodeProto>();
        for (int n = graph.Node.Count - 1; n >= 0; n--) // nodes are in order: readers after what they read
        {
            NodeProto node = graph.Node[n];
            if (!node.Output.Any(needed.Contains)) continue;
            kept.Add(node);
            foreach (string input in Reads(node)) needed.Add(input);
        }
        kept.Reverse();
        graph.Node.Clear();
        graph.Node.Add(kept);
        return needed;
    }

    /// <summary>The names a node reads: its inputs, and what the graphs of its attributes read from outside themselves.</summary>
    private static IEnumerable<string> Reads(NodeProto node)
    {
        foreach (string input in node.Input)
            if (input.Length > 0) yield return input;
        foreach (AttributeProto attribute in node.Attribute)
        {
            if (attribute.G is not { } body) continue;
            var inside = new HashSet<string>(body.Input.Select(i => i.Name).Concat(body.Initializer.Select(i => i.Name)).Concat(body.Node.SelectMany(n => n.Output)));
            foreach (string name in body.Node.SelectMany(Reads))
                if (!inside.Contains(name)) yield return name;
        }
    }

    /// <summary>
    /// The ONNX nodes of each elementwise operation a step graph applies ("apply NAME"), one entry each: one operator
    /// where ONNX has it, else its formula in operators ONNX has. A test of the generator checks that every elementwise
    /// operation of its table has an entry, so that a new function is exportable.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, StepLowering> StepOperators = new Dictionary<string, StepLowering>
    {
        ["-"] = One("Neg"), ["*"] = One("Mul"), ["/"] = One("Div"), ["sigmoid"] = One("Sigmoid"), ["tanh"] = One("Tanh"), ["relu"] = One("Relu"),
        ["exp"] = One("Exp"), ["log"] = One("Log"), ["softplus"] = One("Softplus"), ["softsign"] = One("Softsign"), ["elu"] = One("Elu"),
        ["abs"] = One("Abs"), ["sqrt"] = One("Sqrt"), ["min"] = One("Min"), ["max"] = One("Max"),
        ["logsigmoid"] = (n, a) => n.Node("Neg", n.Node("Softplus", n.Node("Neg", a[0]))),
        ["silu"] = (n, a) => n.Node("Mul", a[0], n.Node("Sigmoid", a[0])),
        ["hardsigmoid"] = (n, a) => n.Node("HardSigmoid", new[] { a[0] }, ("alpha", 1f / 6), ("beta", 0.5f)),
        ["hardtanh"] = (n, a) => n.Node("Min", n.Node("Max", a[0], n.Constant(-1)), n.Constant(1)),
        ["gelu"] = (n, a) => n.Node("Mul", n.Node("Mul", a[0], n.Constant(0.5f)), n.Node("Add", n.Constant(1), n.Node("Erf", n.Node("Mul", a[0], n.Constant(0.70710678f))))),
    };

    private static StepLowering One(string op) => (n, a) => n.Node(op, a);

    /// <summary>Adds the nodes of one operation to a graph, its arguments given, and returns the name of its result.</summary>
    internal delegate string StepLowering(StepNodes nodes, string[] arguments);

    /// <summary>What a <see cref="StepLowering"/> adds with: a node of an operator (with attributes), a float constant.</summary>
    internal sealed class StepNodes(Func<string, string[], (string Name, object Value)[], string> node, Func<float, string> constant)
    {
        public string Node(string op, params string[] inputs) => node(op, inputs, Array.Empty<(string, object)>());

        public string Node(string op, string[] inputs, params (string Name, object Value)[] attributes) => node(op, inputs, attributes);

        public string Constant(float value) => constant(value);
    }

    /// <summary>
    /// The graph being built: names each value, adds the initialisers and nodes. Modules add theirs in order through
    /// <see cref="Module.OnnxLower"/>, reading and replacing <see cref="Current"/>, the value of the rows so far.
    /// </summary>
    internal sealed class OnnxGraph(bool variableLengths)
    {
        private readonly GraphProto _graph = new() { Name = "cellgen" };
        private int _next;
        private string _modelInput = "";

        /// <summary>The output of the modules so far: [T, B, W] or [B, W].</summary>
        public string Current { get; set; } = "";

        /// <summary>The final outputs [B, D·O] of the last recurrent module, while nothing has changed its output since (LastStep reads them).</summary>
        public string? Pooled { get; set; }

        /// <summary>Whether the model has the "lengths" input.</summary>
        public bool VariableLengths => variableLengths;

        private string Name(string stem) => $"{stem}_{_next++}";

        /// <summary>The graph of <paramref name="modules"/>, whose output shape CheckShapes found.</summary>
        public GraphProto Build(List<Module> modules, OnnxShape shape)
        {
            if (modules[0].OnnxReadsTokens)
            {
                _graph.Input.Add(Value("tokens", TensorProto.Types.DataType.Int64, "T", "B"));
                Current = "tokens";
            }
            else
            {
                _graph.Input.Add(Value("inputs", TensorProto.Types.DataType.Float, "T", "B", modules[0].InputWidth!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                Current = "inputs";
            }
            _modelInput = Current;
            if (variableLengths) _graph.Input.Add(Value("lengths", TensorProto.Types.DataType.Int32, "B"));
            foreach (Module module in modules) module.OnnxLower(this);
            _graph.Node.Add(new NodeProto { OpType = "Identity", Input = { Current }, Output = { "output" }, Name = "output" });
            string w = shape.Width.ToString(System.Globalization.CultureInfo.InvariantCulture);
            _graph.Output.Add(shape.Sequence ? Value("output", TensorProto.Types.DataType.Float, "T", "B", w) : Value("output", TensorProto.Types.DataType.Float, "B", w));
            return _graph;
        }

        /// <summary>
        /// One layer of a recurrent module, its cells given per direction: ONNX's RNN, LSTM or GRU operator when the
        /// cell computes one (its form says which, and how its gates map), else a Scan of the cell's step per direction.
        /// Returns the layer's outputs [T, B, D·O] and final outputs [B, D·O].
        /// </summary>
        public (string Output, string Pooled) RecurrentLayer(IReadOnlyList<RecurrentCell<float>> directions, string input)
        {
            if (CellForm.Of(directions[0]) is { Form.OnnxOperator: not null } found) return Operator(directions, found.Form, input);
            var outputs = new List<string>();
            var finals = new List<string>();
            for (int d = 0; d < directions.Count; d++)
            {
                string x = d == 0 ? input : Reverse(input);
                (string y, string final) = Scan(directions[d], x);
                outputs.Add(d == 0 ? y : Reverse(y));
                finals.Add(final);
            }
            if (outputs.Count == 1) return (outputs[0], finals[0]);
            return (Node("Concat", outputs.ToArray(), "layer", ("axis", 2L)), Node("Concat", finals.ToArray(), "pooled", ("axis", 1L)));
        }

        /// <summary>One layer as one RNN, LSTM or GRU operator over both directions; its Y [T, D, B, H] to [T, B, D·H].</summary>
        private (string Output, string Pooled) Operator(IReadOnlyList<RecurrentCell<float>> directions, CellForm form, string input)
        {
            RecurrentCell<float> first = directions[0];
            int h = first.HiddenSize, x = first.InputSize, gates = form.Gates.Length, count = directions.Count;
            var w = new float[count * gates * h * x];
            var r = new float[count * gates * h * h];
            var b = new float[count * 2 * gates * h];
            for (int d = 0; d < count; d++)
            {
                RecurrentCell<float> cell = directions[d];
                IReadOnlyDictionary<string, string> names = CellForm.Of(cell)!.Value.Names;
                for (int slot = 0; slot < gates; slot++)
                {
                    FormGate gate = form.Gates[form.OnnxGates[slot]];
                    bool split = gate.RecurrentMatrix is not null;
                    float[] Scaled(string name) => cell.Parameter(names[name]).ToArray().Select(v => gate.Sign * v).ToArray();
                    (split ? Scaled(gate.Matrix) : CellForm.Block(cell, names, gate.Matrix, 1, gate.Sign)).CopyTo(w, (d * gates + slot) * h * x);
                    (split ? Scaled(gate.RecurrentMatrix!) : CellForm.Block(cell, names, gate.Matrix, 0, gate.Sign)).CopyTo(r, (d * gates + slot) * h * h);
                    Scaled(gate.Bias).CopyTo(b, d * 2 * gates * h + slot * h);
                    if (split) Scaled(gate.RecurrentBias!).CopyTo(b, d * 2 * gates * h + (gates + slot) * h);
                }
            }
            string op = form.OnnxOperator!;
            var node = new NodeProto { OpType = op, Name = Name(op.ToLowerInvariant()) };
            node.Input.Add(new[] { input, Initializer("W", w, count, gates * h, x), Initializer("R", r, count, gates * h, h), Initializer("B", b, count, 2 * gates * h) });
            if (variableLengths) node.Input.Add("lengths");
            string y = Name("Y"), yh = Name("Y_h");
            node.Output.Add(new[] { y, yh });
            node.Attribute.Add(Attribute("hidden_size", h));
            node.Attribute.Add(new AttributeProto { Name = "direction", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(count == 2 ? "bidirectional" : "forward") });
            if (op == "GRU") node.Attribute.Add(Attribute("linear_before_reset", form.LinearBeforeReset ? 1 : 0));
            if (form.Activation is { } activation)
            {
                var activations = new AttributeProto { Name = "activations", Type = AttributeProto.Types.AttributeType.Strings };
                for (int d = 0; d < count; d++) activations.Strings.Add(ByteString.CopyFromUtf8(activation));
                node.Attribute.Add(activations);
            }
            _graph.Node.Add(node);
            string transposed = Node("Transpose", new[] { y }, "steps", ("perm", new long[] { 0, 2, 1, 3 }));
            // Y_h [D, B, H] to [B, D·H]: the forward direction's last valid step, then the reverse direction's t = 0.
            string states = Node("Transpose", new[] { yh }, "states", ("perm", new long[] { 1, 0, 2 }));
            return (Node("Reshape", new[] { transposed, Shape(0, 0, -1) }, "layer"), Node("Reshape", new[] { states, Shape(0, -1) }, "pooled"));
        }

        /// <summary>
        /// Each sequence's row at its last valid step, [T, B, W] to [B, W] (zeros for a sequence of length 0), for a
        /// LastStep that does not follow a recurrent module's final states.
        /// </summary>
        public string LastRows(string values)
        {
            if (!variableLengths)
                return Node("Gather", new[] { values, Scalar(-1L) }, "last", ("axis", 0L));
            string last = Node("Max", new[] { Node("Sub", new[] { Lengths64, Initializer64("one", new long[] { 1 }) }, "last_step"), Initializer64("zero", new long[] { 0 }) }, "last_step");
            string index = Node("Expand", new[] { Node("Reshape", new[] { last, Shape(1, -1, 1) }, "index"), Node("Shape", new[] { Node("Gather", new[] { values, Initializer64("first", new long[] { 0 }) }, "first_step", ("axis", 0L)) }, "row_shape") }, "index");
            string rows = Node("Squeeze", new[] { Node("GatherElements", new[] { values, index }, "gathered", ("axis", 0L)), Initializer64("axes", new long[] { 0 }) }, "rows");
            string running = Node("Unsqueeze", new[] { Node("Greater", new[] { Lengths64, Initializer64("zero", new long[] { 0 }) }, "nonempty"), Initializer64("axes", new long[] { 1 }) }, "nonempty");
            return Node("Where", new[] { running, rows, ScalarFloat(0) }, "last");
        }

        /// <summary>
        /// A layer from equations: its step graph applied to every row of <paramref name="x"/> at once (products as
        /// MatMul over the last axis, reductions over the last axis), in the model's graph.
        /// </summary>
        public string Rows(RecurrentCell<float> cell, string x)
        {
            IReadOnlyList<string> program = CellForm.StepGraph(cell.GetType())
                ?? throw new NotSupportedException($"{cell.GetType().Name} was not generated by CellGen: there are no equations to export.");
            var updates = Program(_graph, cell, program, lag => lag == 0 ? x : throw new NotSupportedException("A layer reads no earlier step."),
                state => throw new NotSupportedException("A layer reads no state."));
            return updates[cell.OutputName];
        }

        private string? _lengths64, _batchShape;

        /// <summary>The lengths as int64 (ReverseSequence and the step masks want them so), computed once.</summary>
        private string Lengths64 => _lengths64 ??= Node("Cast", new[] { "lengths" }, "lengths64", ("to", (long)TensorProto.Types.DataType.Int64));

        /// <summary>[B] as a shape, for the zero initial states: the model input's second dimension.</summary>
        private string BatchShape => _batchShape ??= Node("Slice", new[] { Node("Shape", new[] { _modelInput }, "input_shape"), Initializer64("start", new long[] { 1 }), Initializer64("end", new long[] { 2 }) }, "batch");

        /// <summary>The steps of <paramref name="x"/> [T, B, X] in reverse: within each sequence's length when there are lengths, else all T.</summary>
        private string Reverse(string x) => variableLengths
            ? Node("ReverseSequence", new[] { x, Lengths64 }, "reversed", ("batch_axis", 1L), ("time_axis", 0L))
            : Node("Slice", new[] { x, Initializer64("start", new long[] { -1 }), Initializer64("end", new long[] { long.MinValue }), Initializer64("axes", new long[] { 0 }), Initializer64("steps", new long[] { -1 }) }, "reversed");

        /// <summary>One layer of a cell without an ONNX operator: a Scan of its step per direction, the reverse one over each sequence reversed within its length.</summary>
        private (string Output, string Pooled) ScanLayer(Recurrent recurrent, int layer, string input)
        {
            var outputs = new List<string>();
            var finals = new List<string>();
            for (int d = 0; d < recurrent.Directions; d++)
            {
                string x = d == 0 ? input : Reverse(input);
                (string y, string final) = Scan(recurrent.Cell(layer, d == 1), x);
                outputs.Add(d == 0 ? y : Reverse(y));
                finals.Add(final);
            }
            if (outputs.Count == 1) return (outputs[0], finals[0]);
            return (Node("Concat", outputs.ToArray(), "layer", ("axis", 2L)), Node("Concat", finals.ToArray(), "pooled", ("axis", 1L)));
        }

        /// <summary>
        /// A Scan over the steps of <paramref name="x"/> [T, B, X]: its state variables are the cell's states and the
        /// inputs of earlier steps it reads (x[t-k]), its scan inputs x[t] and t; a state keeps its value past its
        /// sequence's end and the output there is zero. Returns Y [T, B, O] and the output state's final value [B, O].
        /// </summary>
        private (string Y, string Final) Scan(RecurrentCell<float> cell, string x)
        {
            IReadOnlyList<string> program = CellForm.StepGraph(cell.GetType())
                ?? throw new NotSupportedException($"{cell.GetType().Name} was not generated by CellGen: there are no equations to export.");
            string[][] instructions = program.Select(line => line.Split(' ')).ToArray();
            int lags = instructions.Where(i => i[0] == "input").Select(i => int.Parse(i[1], System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();
            IReadOnlyList<string> states = cell.StateNames;
            var body = new GraphProto { Name = Name("step") };
            var outerGraph = _graph;

            // The state variables: the cell's states, then x[t-1], ..., x[t-lags]; zeros at first.
            var initial = new List<string>();
            for (int s = 0; s < states.Count; s++) initial.Add(Zeros(cell.StateSizes[s]));
            for (int k = 1; k <= lags; k++) initial.Add(Zeros(cell.InputSize));
            string steps = Node("Gather", new[] { Node("Shape", new[] { x }, "shape"), Scalar(0L) }, "steps", ("axis", 0L));
            string time = Node("Range", new[] { Scalar(0L), steps, Scalar(1L) }, "time");

            string[] previous = states.Select(s => Name("prev_" + s)).ToArray();
            string[] earlier = Enumerable.Range(1, lags).Select(k => Name($"x_lag{k}")).ToArray();
            string xt = Name("x_t"), t = Name("t");
            // Every input and output of the body typed with its shape ([B, size]; t a scalar), as the checker requires.
            string Dim(int size) => size.ToString(System.Globalization.CultureInfo.InvariantCulture);
            for (int s = 0; s < states.Count; s++) body.Input.Add(Value(previous[s], TensorProto.Types.DataType.Float, "B", Dim(cell.StateSizes[s])));
            foreach (string name in earlier.Append(xt)) body.Input.Add(Value(name, TensorProto.Types.DataType.Float, "B", Dim(cell.InputSize)));
            body.Input.Add(Value(t, TensorProto.Types.DataType.Int64));

            // The step's nodes go into the body; initialisers stay in the outer graph, which the body may read.
            string Add(string op, string[] inputs, string stem, params (string Name, object Value)[] attributes) => NodeIn(body, op, inputs, stem, attributes);
            string? mask = variableLengths ? Add("Unsqueeze", new[] { Add("Less", new[] { t, Lengths64 }, "running"), Initializer64("axes", new long[] { 1 }) }, "mask") : null;
            var updates = Program(body, cell, program, lag => lag == 0 ? xt : earlier[lag - 1], state => previous[cell.StateIndex(state)]);
            // Past a sequence's end, states and earlier inputs keep their values and the output is zero; without lengths
            // every step runs. Each output is a node of its own (a body output may not be one of its inputs).
            string Masked(string value, string kept, string stem) => mask is null ? Add("Identity", new[] { value }, stem) : Add("Where", new[] { mask, value, kept }, stem);
            string[] next = states.Select((s, k) => Masked(updates[s], previous[k], "next_" + s)).ToArray();
            string[] nextEarlier = Enumerable.Range(0, lags).Select(k => Masked(k == 0 ? xt : earlier[k - 1], earlier[k], "lag")).ToArray();
            string output = Masked(updates[cell.OutputName], mask is null ? "" : ScalarFloat(0), "output");
            for (int s = 0; s < states.Count; s++) body.Output.Add(Value(next[s], TensorProto.Types.DataType.Float, "B", Dim(cell.StateSizes[s])));
            foreach (string name in nextEarlier) body.Output.Add(Value(name, TensorProto.Types.DataType.Float, "B", Dim(cell.InputSize)));
            body.Output.Add(Value(output, TensorProto.Types.DataType.Float, "B", Dim(cell.OutputSize)));

            var scan = new NodeProto { OpType = "Scan", Name = Name("scan") };
            scan.Input.Add(initial);
            scan.Input.Add(new[] { x, time });
            string[] finals = states.Select(s => Name("final_" + s)).ToArray();
            string y = Name("Y");
            scan.Output.Add(finals);
            scan.Output.Add(Enumerable.Range(0, lags).Select(k => Name("final_lag")));
            scan.Output.Add(y);
            scan.Attribute.Add(Attribute("num_scan_inputs", 2));
            scan.Attribute.Add(new AttributeProto { Name = "body", Type = AttributeProto.Types.AttributeType.Graph, G = body });
            outerGraph.Node.Add(scan);
            return (y, finals[cell.StateIndex(cell.OutputName)]);
        }

        /// <summary>
        /// The nodes of a step graph, added to <paramref name="graph"/> (a Scan's body, or the model's graph for a layer);
        /// initialisers go to the model's graph. Returns the value of each update by the state's name. Reductions run over
        /// the last axis, so that the same nodes serve rows [B, H] and whole sequences [T, B, H].
        /// </summary>
        private Dictionary<string, string> Program(GraphProto graph, RecurrentCell<float> cell, IReadOnlyList<string> program, Func<int, string> input, Func<string, string> state)
        {
            string[][] instructions = program.Select(line => line.Split(' ')).ToArray();
            string Add(string op, string[] inputs, string stem, params (string Name, object Value)[] attributes) => NodeIn(graph, op, inputs, stem, attributes);
            var value = new string[instructions.Length];
            // A cell with [Heads] lists each node's size last: a value per head ("n") is broadcast over its head's units
            // where it meets H ("h") or a matrix memory ("m") by explicit nodes, since ONNX broadcasts trailing axes only.
            // Every value stays flat, [..., size], as the cell lays it out.
            string[]? kinds = instructions.FirstOrDefault(ins => ins[0] == "heads") is { } declared ? declared.Skip(2).ToArray() : null;
            long heads = kinds is null ? 1 : long.Parse(instructions.First(ins => ins[0] == "heads")[1], System.Globalization.CultureInfo.InvariantCulture);
            long hidden = cell.HiddenSize, share = hidden / heads;
            // [..., a] (its last `dropped` axes) as [..., dims], the leading axes kept.
            string Reshaped(string v, int dropped, long[] dims, string stem) =>
                Add("Reshape", new[] { v, Add("Concat", new[] { Add("Slice", new[] { Add("Shape", new[] { v }, "shape"), Initializer64("start", new long[] { 0 }), Initializer64("end", new long[] { -dropped }) }, "leading"), Initializer64("dims", dims) }, "shape", ("axis", 0L)) }, stem);
            // Each value of [..., a] repeated `times` in place: [..., a * times].
            string Repeated(string v, long a, long times, string stem) =>
                Reshaped(Add("Expand", new[] { Add("Unsqueeze", new[] { v, Initializer64("axes", new long[] { -1 }) }, stem), Initializer64("shape", new long[] { 1, times }) }, stem), 2, new[] { a * times }, stem);
            string Fitted(int node, int operand)
            {
                string v = value[operand];
                if (kinds is null || kinds[operand] != "n" || kinds[node] == "n") return v;
                return Repeated(v, heads, kinds[node] == "m" ? share * share : share, "per_head");
            }
            // One initialiser per parameter vector, however many instructions read it (a bias folded into products and read elsewhere).
            var vectors = new Dictionary<string, string>();
            string Vector(string name) => vectors.TryGetValue(name, out string? initializer) ? initializer
                : vectors[name] = Initializer("vector_" + name, cell.Parameter(name).ToArray(), cell.Parameter(name).Length);
            var updates = new Dictionary<string, string>();
            for (int i = 0; i < instructions.Length; i++)
            {
                string[] ins = instructions[i];
                string Arg(int k) => value[int.Parse(ins[k], System.Globalization.CultureInfo.InvariantCulture)];
                int Index(int k) => int.Parse(ins[k], System.Globalization.CultureInfo.InvariantCulture);
                switch (ins[0])
                {
                    case "const": value[i] = ScalarFloat(float.Parse(ins[1], System.Globalization.CultureInfo.InvariantCulture)); break;
                    case "input": value[i] = input(int.Parse(ins[1], System.Globalization.CultureInfo.InvariantCulture)); break;
                    case "state": value[i] = state(ins[1]); break;
                    case "vector": value[i] = Vector(ins[1]); break;
                    case "mask":
                    {
                        // An exported model infers: zoneout's mask is its expectation p, dropout's the identity.
                        CellDropout dropout = cell.Dropouts[int.Parse(ins[1], System.Globalization.CultureInfo.InvariantCulture)];
                        value[i] = ScalarFloat(dropout.Kind == CellDropoutKind.Zoneout ? (float)dropout.Probability : 1f);
                        break;
                    }
                    case "matpart":
                    {
                        Parameter<float> matrix = cell.Parameter(ins[1]);
                        if (matrix.Shape.Count == 3)
                        {
                            value[i] = BlockProduct(ins[1], matrix, Arg(3), Add);
                            if (ins.Length > 4) value[i] = Add("Add", new[] { value[i], Vector(ins[4]) }, "biased");
                            break;
                        }
                        var block = matrix.Blocks[int.Parse(ins[2], System.Globalization.CultureInfo.InvariantCulture)];
                        int rows = matrix.Shape[0], width = matrix.Shape[1];
                        float[] all = matrix.ToArray(), part = new float[block.Columns * rows];
                        for (int r = 0; r < rows; r++)
                            for (int c = 0; c < block.Columns; c++) part[c * rows + r] = all[r * width + block.Column + c];
                        value[i] = Add("MatMul", new[] { Arg(3), Initializer($"{ins[1]}_part{ins[2]}", part, block.Columns, rows) }, "product");
                        if (ins.Length > 4) value[i] = Add("Add", new[] { value[i], Vector(ins[4]) }, "biased");
                        break;
                    }
                    case "sum":
                    {
                        string? sum = null;
                        foreach (string term in ins.Skip(1))
                        {
                            string operand = Fitted(i, int.Parse(term[..^2], System.Globalization.CultureInfo.InvariantCulture));
                            bool minus = term[^1] == '-';
                            sum = sum is null ? (minus ? Add("Neg", new[] { operand }, "neg") : operand) : Add(minus ? "Sub" : "Add", new[] { sum, operand }, "sum");
                        }
                        value[i] = sum!;
                        break;
                    }
                    case "apply":
                    {
                        StepLowering lowering = StepOperators.TryGetValue(ins[1], out StepLowering? known) ? known
                            : throw new NotSupportedException($"ONNX export has no operator for '{ins[1]}' (in {cell.GetType().Name}).");
                        string stem = ins[1] is "-" or "*" or "/" ? "value" : ins[1];
                        value[i] = lowering(new StepNodes((op, inputs, attributes) => Add(op, inputs, stem, attributes), ScalarFloat), Enumerable.Range(2, ins.Length - 2).Select(k => Fitted(i, Index(k))).ToArray());
                        break;
                    }
                    case "copy": value[i] = Add("Identity", new[] { Arg(1) }, "copy"); break;
                    // Matrix memory, head by head, each P x P matrix row by row: element (head, r, c) at (head * P + r) * P + c.
                    case "rows": value[i] = Repeated(Arg(1), hidden, share, "rows"); break; // v[head, r] along row r
                    case "columns":
                    {
                        // k[head, c] down column c: [..., heads, 1, P] expanded to [..., heads, P, P].
                        string grouped = Add("Unsqueeze", new[] { Reshaped(Arg(1), 1, new[] { heads, share }, "columns"), Initializer64("axes", new long[] { -2 }) }, "columns");
                        value[i] = Reshaped(Add("Expand", new[] { grouped, Initializer64("shape", new long[] { share, 1 }) }, "columns"), 3, new[] { hidden * share }, "columns");
                        break;
                    }
                    case "segmentsum":
                    {
                        // The sums of each P consecutive values: per head of H, per matrix row of a matrix memory.
                        long width = kinds![Index(1)] == "m" ? hidden * share : hidden;
                        value[i] = Add("ReduceSum", new[] { Reshaped(Arg(1), 1, new[] { width / share, share }, "segments"), Initializer64("axes", new long[] { -1 }) }, "segment_sums", ("keepdims", 0L));
                        break;
                    }
                    case "heads": break; // the sizes, read above
                    case "mean": value[i] = Add("ReduceMean", new[] { Arg(1) }, "mean", ("axes", new long[] { -1 }), ("keepdims", 1L)); break;
                    case "variance":
                    {
                        string deviation = Add("Sub", new[] { Arg(1), Arg(2) }, "deviation");
                        value[i] = Add("ReduceMean", new[] { Add("Mul", new[] { deviation, deviation }, "square") }, "variance", ("axes", new long[] { -1 }), ("keepdims", 1L));
                        break;
                    }
                    case "update": updates[ins[1]] = Arg(2); break;
                    default: throw new NotSupportedException($"An instruction this export does not know: '{program[i]}' (in {cell.GetType().Name}).");
                }
            }
            return updates;
        }

        /// <summary>
        /// A block-diagonal matrix [blocks, rows, columns] times the operand [..., blocks * columns]: the operand's
        /// columns grouped by block, one batched MatMul over the blocks, the results' blocks side by side again. Only
        /// the blocks are multiplied, as in the cell.
        /// </summary>
        private string BlockProduct(string name, Parameter<float> matrix, string operand, Func<string, string[], string, (string Name, object Value)[], string> add)
        {
            int blocks = matrix.Shape[0], rows = matrix.Shape[1], columns = matrix.Shape[2];
            float[] all = matrix.ToArray(), transposed = new float[all.Length]; // each block transposed: [blocks, columns, rows]
            for (int b = 0; b < blocks; b++)
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < columns; c++) transposed[(b * columns + c) * rows + r] = all[(b * rows + r) * columns + c];
            string weights = Initializer($"{name}_blocks", transposed, blocks, columns, rows);
            string leading = add("Slice", new[] { add("Shape", new[] { operand }, "operand_shape", Array.Empty<(string, object)>()), Initializer64("start", new long[] { 0 }), Initializer64("end", new long[] { -1 }) }, "leading", Array.Empty<(string, object)>());
            string grouped = add("Reshape", new[] { operand, Shape(-1, blocks, columns) }, "by_block", Array.Empty<(string, object)>());
            string perBlock = add("Transpose", new[] { grouped }, "by_block", new (string, object)[] { ("perm", new long[] { 1, 0, 2 }) });
            string products = add("MatMul", new[] { perBlock, weights }, "block_product", Array.Empty<(string, object)>());
            string back = add("Transpose", new[] { products }, "block_product", new (string, object)[] { ("perm", new long[] { 1, 0, 2 }) });
            string shape = add("Concat", new[] { leading, Initializer64("rows", new long[] { blocks * rows }) }, "product_shape", new (string, object)[] { ("axis", 0L) });
            return add("Reshape", new[] { back, shape }, "product", Array.Empty<(string, object)>());
        }

        private string Zeros(int size)
        {
            string shape = Node("Concat", new[] { BatchShape, Initializer64("size", new long[] { size }) }, "zeros_shape", ("axis", 0L));
            var node = new NodeProto { OpType = "ConstantOfShape", Name = Name("constantofshape") };
            node.Input.Add(shape);
            string output = Name("zeros");
            node.Output.Add(output);
            var zero = new TensorProto { Name = "value", DataType = (int)TensorProto.Types.DataType.Float };
            zero.Dims.Add(1);
            zero.FloatData.Add(0f);
            node.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = zero });
            _graph.Node.Add(node);
            return output;
        }

        private string ScalarFloat(float value)
        {
            var tensor = new TensorProto { Name = Name("constant"), DataType = (int)TensorProto.Types.DataType.Float };
            tensor.FloatData.Add(value);
            _graph.Initializer.Add(tensor);
            return tensor.Name;
        }

        private string Scalar(long value)
        {
            var tensor = new TensorProto { Name = Name("constant"), DataType = (int)TensorProto.Types.DataType.Int64 };
            tensor.Int64Data.Add(value);
            _graph.Initializer.Add(tensor);
            return tensor.Name;
        }

        private string Initializer64(string stem, long[] values)
        {
            var tensor = new TensorProto { Name = Name(stem), DataType = (int)TensorProto.Types.DataType.Int64 };
            tensor.Dims.Add(values.Length);
            tensor.Int64Data.Add(values);
            _graph.Initializer.Add(tensor);
            return tensor.Name;
        }

        public string Node(string op, string[] inputs, string stem, params (string Name, object Value)[] attributes) =>
            NodeIn(_graph, op, inputs, stem, attributes);

        /// <summary>A node of <paramref name="graph"/> with one output, named from <paramref name="stem"/>; attributes are int64s, arrays of them, or floats.</summary>
        private string NodeIn(GraphProto graph, string op, string[] inputs, string stem, (string Name, object Value)[] attributes)
        {
            string output = Name(stem);
            var node = new NodeProto { OpType = op, Name = Name(op.ToLowerInvariant()) };
            node.Input.Add(inputs);
            node.Output.Add(output);
            foreach ((string name, object value) in attributes)
                node.Attribute.Add(value switch
                {
                    long[] ints => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints, Ints = { ints } },
                    float f => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = f },
                    _ => Attribute(name, (long)value),
                });
            graph.Node.Add(node);
            return output;
        }

        private static AttributeProto Attribute(string name, long value) =>
            new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

        public string Initializer(string stem, float[] values, params int[] shape)
        {
            var tensor = new TensorProto { Name = Name(stem), DataType = (int)TensorProto.Types.DataType.Float };
            tensor.Dims.Add(shape.Select(d => (long)d));
            tensor.RawData = ByteString.CopyFrom(Files.LittleEndian(values)); // ONNX's raw data is little-endian
            _graph.Initializer.Add(tensor);
            return tensor.Name;
        }

        /// <summary>A Reshape's target shape as an int64 initialiser (0 keeps a dimension, -1 takes the rest).</summary>
        private string Shape(params long[] dims) => Initializer64("shape", dims);

        private static ValueInfoProto Value(string name, TensorProto.Types.DataType type, params string[] dims)
        {
            var shape = new TensorShapeProto();
            foreach (string dim in dims)
                shape.Dim.Add(long.TryParse(dim, out long value) ? new TensorShapeProto.Types.Dimension { DimValue = value } : new TensorShapeProto.Types.Dimension { DimParam = dim });
            return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
        }
    }
}

/// <summary>The shape of the rows between two modules, as ONNX export follows it: sequences [T, B, W] or vectors [B, W].</summary>
internal readonly record struct OnnxShape(bool Sequence, int Width)
{
    public override string ToString() => Sequence ? $"[T, B, W={Width}]" : $"[B, W={Width}]";
}
