using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using CellGen.OnnxSchema;
using Google.Protobuf;

namespace CellGen;

/// <summary>
/// Models out to ONNX, for inference elsewhere (ONNX Runtime and the rest). The built-in cells become ONNX's own
/// operators: Rnn and Irnn its RNN (tanh, relu), Lstm its LSTM (gates reordered i, o, f, c), TorchGru its GRU with
/// linear_before_reset = 1 and Gru with 0 (its update gate negated: ONNX's z keeps the old state where Gru's keeps the
/// new); layers and directions as stacked operators, variable lengths as sequence_lens. Embedding is a Gather, Dense a
/// MatMul and an Add, LastStep the operators' final states, Dropout nothing.
/// </summary>
public static class Onnx
{
    /// <summary>The ONNX operator set the models use.</summary>
    public const int Opset = 14;

    /// <summary>
    /// Writes <paramref name="model"/> as an ONNX model, atomically. Its inputs: "tokens" [T, B] int64 when the model
    /// starts with an <see cref="Embedding"/>, otherwise "inputs" [T, B, X] float; and "lengths" [B] int32, each
    /// sequence's length. Its output "output": [T, B, W], or [B, W] after a <see cref="LastStep"/>.
    /// </summary>
    /// <exception cref="NotSupportedException">A module or cell the export does not cover (Lstmp and cells of your own: not yet).</exception>
    public static void Export(string path, Module model)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        var modules = new List<Module>();
        Flatten(model, modules);
        foreach (Module module in modules) Check(module);
        var builder = new Builder();
        GraphProto graph = builder.Build(modules);
        var onnx = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "CellGen",
            ProducerVersion = typeof(Onnx).Assembly.GetName().Version?.ToString(3) ?? "",
            Graph = graph,
        };
        onnx.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        Files.WriteAtomically(path, onnx.ToByteArray());
    }

    private static void Flatten(Module module, List<Module> into)
    {
        if (module is Sequential sequential) foreach (Module child in sequential.Modules) Flatten(child, into);
        else into.Add(module);
    }

    private static void Check(Module module)
    {
        if (module is Embedding or Dense or Dropout or LastStep) return;
        if (module is Recurrent recurrent)
        {
            if (KindOf(recurrent.Cell()) is null)
                throw new NotSupportedException($"ONNX export covers the built-in Rnn, Irnn, Lstm, Gru and TorchGru as ONNX's RNN, LSTM and GRU; {recurrent.Cell().GetType().Name} is not exported yet (Lstmp and cells of your own would need an ONNX Scan of their equations).");
            return;
        }
        throw new NotSupportedException($"ONNX export has no operators for a {module.GetType().Name}.");
    }

    private static string? KindOf(RecurrentCell<float> cell) => cell.GetType().FullName switch
    {
        "CellGen.Cells.Rnn" => "Tanh",
        "CellGen.Cells.Irnn" => "Relu",
        "CellGen.Cells.Lstm" => "LSTM",
        "CellGen.Cells.Gru" => "Gru",
        "CellGen.Cells.TorchGru" => "TorchGru",
        _ => null,
    };

    /// <summary>Builds the graph: names each value, adds the initialisers and nodes, module by module.</summary>
    private sealed class Builder
    {
        private readonly GraphProto _graph = new() { Name = "cellgen" };
        private int _next;

        private string Name(string stem) => $"{stem}_{_next++}";

        public GraphProto Build(List<Module> modules)
        {
            string current;
            if (modules[0] is Embedding)
            {
                _graph.Input.Add(Value("tokens", TensorProto.Types.DataType.Int64, "T", "B"));
                current = "tokens";
            }
            else
            {
                int width = modules[0].InputWidth ?? throw new NotSupportedException($"The first module, {modules[0].GetType().Name}, does not say its input width.");
                _graph.Input.Add(Value("inputs", TensorProto.Types.DataType.Float, "T", "B", width.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                current = "inputs";
            }
            _graph.Input.Add(Value("lengths", TensorProto.Types.DataType.Int32, "B"));
            (string Name, int Directions)? finalStates = null; // the last recurrent operator's Y_h, while nothing has changed its output since
            foreach (Module module in modules)
            {
                switch (module)
                {
                    case Embedding embedding:
                        current = Node("Gather", new[] { Initializer("embedding", embedding.Table.ToArray(), embedding.Vocabulary, embedding.Dimension), current }, "embedded");
                        finalStates = null;
                        break;
                    case Recurrent recurrent:
                        for (int l = 0; l < recurrent.Layers; l++) (current, finalStates) = Layer(recurrent, l, current);
                        break;
                    case Dropout:
                        break; // inference: the identity
                    case LastStep:
                        if (finalStates is not { } states)
                            throw new NotSupportedException("ONNX export reads LastStep from the final states of the recurrent module right before it.");
                        // Y_h [D, B, H] to [B, D·H]: the forward direction's last valid step, then the reverse direction's t = 0.
                        string transposed = Node("Transpose", new[] { states.Name }, "states", ("perm", new long[] { 1, 0, 2 }));
                        current = Node("Reshape", new[] { transposed, Shape(0, -1) }, "pooled");
                        finalStates = null;
                        break;
                    case Dense dense:
                        float[] weights = dense.Weights.ToArray(), transposedWeights = new float[weights.Length];
                        for (int o = 0; o < dense.Outputs; o++)
                            for (int i = 0; i < dense.Inputs; i++) transposedWeights[i * dense.Outputs + o] = weights[o * dense.Inputs + i];
                        string product = Node("MatMul", new[] { current, Initializer("dense_weight", transposedWeights, dense.Inputs, dense.Outputs) }, "product");
                        current = Node("Add", new[] { product, Initializer("dense_bias", dense.Bias.ToArray(), dense.Outputs) }, "dense");
                        finalStates = null;
                        break;
                }
            }
            _graph.Node.Add(new NodeProto { OpType = "Identity", Input = { current }, Output = { "output" }, Name = "output" });
            _graph.Output.Add(new ValueInfoProto { Name = "output", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } } });
            return _graph;
        }

        /// <summary>One layer as one RNN, LSTM or GRU operator over both directions; its Y [T, D, B, H] to [T, B, D·H].</summary>
        private (string Output, (string, int) FinalStates) Layer(Recurrent recurrent, int layer, string input)
        {
            int directions = recurrent.Directions;
            RecurrentCell<float> first = recurrent.Cell(layer);
            string kind = KindOf(first)!;
            int h = first.HiddenSize, x = first.InputSize;
            int gates = kind switch { "LSTM" => 4, "Gru" or "TorchGru" => 3, _ => 1 };
            var w = new float[directions * gates * h * x];
            var r = new float[directions * gates * h * h];
            var b = new float[directions * 2 * gates * h];
            for (int d = 0; d < directions; d++)
            {
                RecurrentCell<float> cell = recurrent.Cell(layer, d == 1);
                foreach ((int slot, float[] ih, float[] hh, float[] wb, float[] rb) in Gates(cell, kind))
                {
                    ih.CopyTo(w, (d * gates + slot) * h * x);
                    hh.CopyTo(r, (d * gates + slot) * h * h);
                    wb.CopyTo(b, d * 2 * gates * h + slot * h);
                    rb.CopyTo(b, d * 2 * gates * h + (gates + slot) * h);
                }
            }
            string op = kind switch { "LSTM" => "LSTM", "Gru" or "TorchGru" => "GRU", _ => "RNN" };
            var node = new NodeProto { OpType = op, Name = Name(op.ToLowerInvariant()) };
            node.Input.Add(new[] { input, Initializer("W", w, directions, gates * h, x), Initializer("R", r, directions, gates * h, h), Initializer("B", b, directions, 2 * gates * h), "lengths" });
            string y = Name("Y"), yh = Name("Y_h");
            node.Output.Add(new[] { y, yh });
            node.Attribute.Add(Attribute("hidden_size", h));
            node.Attribute.Add(new AttributeProto { Name = "direction", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(directions == 2 ? "bidirectional" : "forward") });
            if (op == "GRU") node.Attribute.Add(Attribute("linear_before_reset", kind == "TorchGru" ? 1 : 0));
            if (op == "RNN")
            {
                var activations = new AttributeProto { Name = "activations", Type = AttributeProto.Types.AttributeType.Strings };
                for (int d = 0; d < directions; d++) activations.Strings.Add(ByteString.CopyFromUtf8(kind));
                node.Attribute.Add(activations);
            }
            _graph.Node.Add(node);
            string transposed = Node("Transpose", new[] { y }, "steps", ("perm", new long[] { 0, 2, 1, 3 }));
            return (Node("Reshape", new[] { transposed, Shape(0, 0, -1) }, "layer"), (yh, directions));
        }

        /// <summary>
        /// A cell's gates in ONNX's order, each (slot, W part [H, X], R part [H, H], Wb [H], Rb [H]). Cell matrices are
        /// [H, H + X]: the columns that multiply h[t-1] first.
        /// </summary>
        private static IEnumerable<(int Slot, float[] Ih, float[] Hh, float[] Wb, float[] Rb)> Gates(RecurrentCell<float> cell, string kind)
        {
            int h = cell.HiddenSize, x = cell.InputSize;
            (float[] Ih, float[] Hh) Split(string name, float sign = 1)
            {
                float[] all = cell.Parameter(name).ToArray(), ih = new float[h * x], hh = new float[h * h];
                for (int row = 0; row < h; row++)
                {
                    for (int c = 0; c < h; c++) hh[row * h + c] = sign * all[row * (h + x) + c];
                    for (int c = 0; c < x; c++) ih[row * x + c] = sign * all[row * (h + x) + h + c];
                }
                return (ih, hh);
            }
            float[] Bias(string name, float sign = 1) => cell.Parameter(name).ToArray().Select(v => sign * v).ToArray();
            var zero = new float[h];
            switch (kind)
            {
                case "LSTM":
                    string[] order = { "i", "o", "f", "g" }; // ONNX: i, o, f, c
                    for (int k = 0; k < 4; k++)
                    {
                        (float[] ih, float[] hh) = Split("W_" + order[k]);
                        yield return (k, ih, hh, Bias("b_" + order[k]), zero);
                    }
                    break;
                case "TorchGru":
                {
                    (float[] zi, float[] zh) = Split("W_z");
                    (float[] ri, float[] rh) = Split("W_r");
                    yield return (0, zi, zh, Bias("b_z"), zero);
                    yield return (1, ri, rh, Bias("b_r"), zero);
                    yield return (2, cell.Parameter("Wx_n").ToArray(), cell.Parameter("Wh_n").ToArray(), Bias("bx_n"), Bias("bh_n"));
                    break;
                }
                case "Gru":
                {
                    // ONNX's h[t] = (1 - z) n + z h[t-1]; Gru's (1 - z) h[t-1] + z n: ONNX's z is 1 - Gru's, sigmoid(-a).
                    (float[] zi, float[] zh) = Split("W_z", -1);
                    (float[] ri, float[] rh) = Split("W_r");
                    (float[] ni, float[] nh) = Split("W_n");
                    yield return (0, zi, zh, Bias("b_z", -1), zero);
                    yield return (1, ri, rh, Bias("b_r"), zero);
                    yield return (2, ni, nh, Bias("b_n"), zero);
                    break;
                }
                default:
                {
                    (float[] ih, float[] hh) = Split("W");
                    yield return (0, ih, hh, Bias("b"), zero);
                    break;
                }
            }
        }

        private string Node(string op, string[] inputs, string stem, params (string Name, long[] Values)[] attributes)
        {
            string output = Name(stem);
            var node = new NodeProto { OpType = op, Name = Name(op.ToLowerInvariant()) };
            node.Input.Add(inputs);
            node.Output.Add(output);
            foreach ((string name, long[] values) in attributes)
                node.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints, Ints = { values } });
            _graph.Node.Add(node);
            return output;
        }

        private static AttributeProto Attribute(string name, long value) =>
            new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

        private string Initializer(string stem, float[] values, params int[] shape)
        {
            var tensor = new TensorProto { Name = Name(stem), DataType = (int)TensorProto.Types.DataType.Float };
            tensor.Dims.Add(shape.Select(d => (long)d));
            var bytes = new byte[values.Length * 4];
            Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX's raw data is little-endian.");
            tensor.RawData = ByteString.CopyFrom(bytes);
            _graph.Initializer.Add(tensor);
            return tensor.Name;
        }

        /// <summary>A Reshape's target shape as an int64 initialiser (0 keeps a dimension, -1 takes the rest).</summary>
        private string Shape(params long[] dims)
        {
            var tensor = new TensorProto { Name = Name("shape"), DataType = (int)TensorProto.Types.DataType.Int64 };
            tensor.Dims.Add(dims.Length);
            tensor.Int64Data.Add(dims);
            _graph.Initializer.Add(tensor);
            return tensor.Name;
        }

        private static ValueInfoProto Value(string name, TensorProto.Types.DataType type, params string[] dims)
        {
            var shape = new TensorShapeProto();
            foreach (string dim in dims)
                shape.Dim.Add(long.TryParse(dim, out long value) ? new TensorShapeProto.Types.Dimension { DimValue = value } : new TensorShapeProto.Types.Dimension { DimParam = dim });
            return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
        }
    }
}
