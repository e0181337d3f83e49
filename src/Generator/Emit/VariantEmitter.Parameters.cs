using System.Collections.Generic;
using System.Linq;
using CellGen.Generator.Compiler;
using CellGen.Generator.Model;
using CellGen.Generator.Language;

namespace CellGen.Generator.Emit;

/// <summary>The cell class: parameter storage, the constructor, names and equations.</summary>
internal sealed partial class VariantEmitter
{
    /// <summary>
    /// The name of a member the generator adds to the cell class: as preferred unless the user's part of the class (or
    /// the class itself) has a member of that name, then with a suffix, so that generated members never clash.
    /// </summary>
    private string Member(string preferred)
    {
        if (!_members.TryGetValue(preferred, out string? name)) _members[preferred] = name = _memberNames.Take(preferred);
        return name;
    }

    private string WeightsField(int buffer) => Member($"_weights{buffer}");

    private string BiasField(int buffer) => Member($"_bias{buffer}");

    private string VectorField(string name) => Member("_vector_" + Ident(name));

    private string DetachedField(string matrix, int part) => Member($"_matrix_{Ident(matrix)}_{part}");

    private string Gradient(string field) => Member(field + "Gradient");

    private string SizeField(string size) => Member("_size_" + size);

    /// <summary>The constructor's parameter for a declared size: its name as written (a keyword gets '@').</summary>
    internal static string SizeParameter(string size) =>
        Microsoft.CodeAnalysis.CSharp.SyntaxFacts.GetKeywordKind(size) != Microsoft.CodeAnalysis.CSharp.SyntaxKind.None ? "@" + size : size;

    private (int Buffer, int Slot)? BufferOfPart(string matrix, int part)
    {
        foreach (WeightBuffer buffer in _schedule.Optimised.Buffers)
            for (int s = 0; s < buffer.Parts.Count; s++)
                if (buffer.Parts[s].Matrix == matrix && buffer.Parts[s].Part == part) return (buffer.Index, s);
        return null;
    }

    private (int Buffer, int Slot)? BufferOfBias(string vector)
    {
        foreach (WeightBuffer buffer in _schedule.Optimised.Buffers)
            for (int s = 0; s < buffer.Parts.Count; s++)
                if (buffer.Parts[s].Bias == vector) return (buffer.Index, s);
        return null;
    }

    /// <summary>The name generated code gives a size: X, H, or size_P for a declared size P.</summary>
    private static string SizeOf(Size size) => Describe.SizeName(size);

    private static string Width(IEnumerable<Size> sizes) => Describe.Width(sizes);

    /// <summary>The sizes a cell declares with [Size], in the order of the attributes.</summary>
    private IReadOnlyList<string> DeclaredSizes => _cell.SizeNames;

    /// <summary>Where the part in <paramref name="slot"/> of a fused product's output starts: the rows of the parts before it.</summary>
    private string PartOffset(WeightBuffer buffer, int slot) => Width(buffer.Parts.Take(slot).Select(p => p.Rows));

    private string BufferRows(WeightBuffer buffer) => Width(buffer.Parts.Select(p => p.Rows));

    /// <summary>The rows a buffer stores: the operand's size, or a block's share of it when the buffer holds blocks.</summary>
    private static string StoredRows(WeightBuffer buffer) => BlockShare(buffer.OperandSize, buffer.Blocks);

    /// <summary>"H" for one block, "H / 4" for a block's share of H.</summary>
    private static string BlockShare(Size size, int blocks) => blocks == 1 ? SizeOf(size) : $"{SizeOf(size)} / {blocks}";

    /// <summary>The constructor's argument that gives a size, for messages.</summary>
    private static string ArgumentOf(Size size) =>
        size == Size.Hidden ? "hiddenSize" : size == Size.Input ? "inputSize" : SizeParameter(size.Name);

    private string Mul(string a, string b) => $"{Paren(a)} * {Paren(b)}";

    private static string Paren(string s) => s.Contains(" ") ? "(" + s + ")" : s;

    /// <summary>Parameter names in the order the equations first use them.</summary>
    private List<string> ParameterOrder()
    {
        var order = new List<string>();
        void Visit(BoundExpr e)
        {
            switch (e)
            {
                case VectorExpr v: if (!order.Contains(v.Name)) order.Add(v.Name); break;
                case MatVecExpr m:
                    if (!order.Contains(m.Matrix)) order.Add(m.Matrix);
                    foreach (BoundExpr p in m.Parts) Visit(p);
                    break;
                case CallExpr c: foreach (BoundExpr argument in c.Arguments) Visit(argument); break;
                case BinaryExpr b: Visit(b.Left); Visit(b.Right); break;
                case NegateExpr n: Visit(n.Operand); break;
            }
        }
        foreach (BoundEquation equation in _cell.Equations) Visit(equation.Value);
        return order;
    }

    public void EmitMembers()
    {
        var buffers = _schedule.Optimised.Buffers;
        _w.Line("// Parameters, packed so that each fused product reads one buffer [K, N]: row k holds the weights that");
        _w.Line("// multiply operand element k, for every output of the product. Parameter(name) shows them in their logical shapes.");
        foreach (WeightBuffer buffer in buffers)
        {
            _w.Line($"private readonly {T}[] {WeightsField(buffer.Index)}, {Gradient(WeightsField(buffer.Index))};");
            if (buffer.HasBias) _w.Line($"private readonly {T}[] {BiasField(buffer.Index)}, {Gradient(BiasField(buffer.Index))};");
        }
        var order = ParameterOrder();
        var vectors = _cell.Vectors.Where(v => BufferOfBias(v.Name) is null).ToList();
        foreach (VectorInfo vector in vectors)
            _w.Line($"private readonly {T}[] {VectorField(vector.Name)}, {Gradient(VectorField(vector.Name))};");
        var detached = _cell.Matrices.SelectMany(m => m.PartSizes.Select((s, k) => (m.Name, Part: k, Size: s, m.Rows, m.Blocks))).Where(p => BufferOfPart(p.Name, p.Part) is null).ToList();
        foreach (var part in detached)
            _w.Line($"private readonly {T}[] {DetachedField(part.Name, part.Part)}, {Gradient(DetachedField(part.Name, part.Part))}; // used by no live equation");
        foreach (string size in DeclaredSizes)
            _w.Line($"private readonly int {SizeField(size)};");
        _w.Line();

        _w.Line("/// <summary>Creates the cell with every parameter drawn from U(-1/√H, 1/√H), as PyTorch starts its recurrent modules (see <c>ResetParameters</c>); set them by name with <c>Parameter(name).CopyFrom(...)</c>.</summary>");
        _w.Line("/// <param name=\"inputSize\">X, the size of the input at each step.</param>");
        _w.Line($"/// <param name=\"hiddenSize\">H, the size of every {(DeclaredSizes.Count > 0 ? "state, intermediate and parameter vector whose size is not declared" : "state")}.</param>");
        foreach (string size in DeclaredSizes)
            _w.Line($"/// <param name=\"{size}\">{size}, the size of {Xml(string.Join(", ", _spec.SizesOf(size)))}.</param>");
        string parameters = string.Concat(DeclaredSizes.Select(n => ", int " + SizeParameter(n)));
        _w.Line(CellEmitter.GeneratedCode);
        using (_w.Block($"public {_className}(int inputSize, int hiddenSize{parameters}) : base(inputSize, hiddenSize)"))
        {
            foreach (string size in DeclaredSizes)
                _w.Line($"if ({SizeParameter(size)} <= 0 || {SizeParameter(size)} > global::CellGen.RecurrentCell<{T}>.MaxSize) throw new global::System.ArgumentOutOfRangeException(nameof({SizeParameter(size)}), {SizeParameter(size)}, $\"The size {size} must be from 1 to {{(global::CellGen.RecurrentCell<{T}>.MaxSize)}}.\");");
            _w.Line("int X = inputSize, H = hiddenSize" + string.Concat(DeclaredSizes.Select(n => $", {SizeOf(Size.Declared(n))} = {SizeParameter(n)}"))
                + (_cell.Heads > 0 ? $", heads = {_cell.Heads}" : "") + ";");
            if (_cell.Heads > 0)
                _w.Line($"if (H % heads != 0) throw new global::System.ArgumentException($\"{_className} has {_cell.Heads} heads, so hiddenSize ({{H}}) must be a multiple of {_cell.Heads}.\", nameof(hiddenSize));");
            if (DeclaredSizes.Count > 0 || _cell.States.Any(state => _cell.SizeOfState(state) != Size.Hidden))
            {
                foreach (string size in DeclaredSizes) _w.Line($"{SizeField(size)} = {SizeOf(Size.Declared(size))};");
                string names = DeclaredSizes.Count > 0 ? $"new[] {{ {string.Join(", ", DeclaredSizes.Select(Quote))} }}" : "global::System.Array.Empty<string>()";
                string values = DeclaredSizes.Count > 0 ? $"new[] {{ {string.Join(", ", DeclaredSizes.Select(n => SizeOf(Size.Declared(n))))} }}" : "global::System.Array.Empty<int>()";
                _w.Line($"base.DeclareSizes({names}, {values}, new[] {{ {string.Join(", ", _cell.States.Select(StateSize))} }});");
            }
            if (_cell.InputIsHidden)
                _w.Line($"if (X != H) throw new global::System.ArgumentException($\"{_className} combines its input elementwise with values of the hidden size, so it needs inputSize == hiddenSize; got inputSize {{X}} and hiddenSize {{H}}.\", nameof(inputSize));");
            // Each size a block-diagonal matrix splits into blocks, checked once for each number of blocks, naming the matrices.
            var splits = _cell.Matrices.Where(m => m.Blocks > 1)
                .SelectMany(m => new[] { m.Rows, m.PartSizes[0] }.Distinct().Select(size => (Size: size, m.Blocks, m.Name)))
                .GroupBy(split => (split.Size, split.Blocks));
            foreach (var split in splits)
            {
                var names = split.Select(m => $"'{m.Name}'").ToList();
                string which = names.Count == 1 ? names[0] + " has" : string.Join(", ", names.Take(names.Count - 1)) + " and " + names[names.Count - 1] + " have";
                (Size size, int blocks) = split.Key;
                _w.Line($"if ({SizeOf(size)} % {blocks} != 0) throw new global::System.ArgumentException($\"{which} {blocks} blocks along the diagonal, so {ArgumentOf(size)} ({{{SizeOf(size)}}}) must be a multiple of {blocks}.\", nameof({ArgumentOf(size)}));");
            }
            foreach (WeightBuffer buffer in buffers)
            {
                string n = BufferRows(buffer);
                string operand = _describe.Node(_schedule.Optimised.Calls.First(c => c.Buffer == buffer.Index).Operand);
                _w.Line($"// weights{buffer.Index} [{StoredRows(buffer)}, {n}]: " + string.Join(" | ", buffer.Parts.Select(p => p.Matrix + _describe.Columns(p.Matrix, p.Part))) + $", multiplying {operand}"
                    + (buffer.Blocks > 1 ? $"; only the {buffer.Blocks} blocks along the diagonal, side by side" : ""));
                _w.Line($"({WeightsField(buffer.Index)}, {Gradient(WeightsField(buffer.Index))}) = base.AllocateStorage(1L * {Mul(StoredRows(buffer), n)});");
                if (buffer.HasBias)
                    _w.Line($"({BiasField(buffer.Index)}, {Gradient(BiasField(buffer.Index))}) = base.AllocateStorage({n});");
            }
            foreach (VectorInfo vector in vectors)
                _w.Line($"({VectorField(vector.Name)}, {Gradient(VectorField(vector.Name))}) = base.AllocateStorage({SizeOf(vector.Size)});");
            foreach (var part in detached)
                _w.Line($"({DetachedField(part.Name, part.Part)}, {Gradient(DetachedField(part.Name, part.Part))}) = base.AllocateStorage(1L * {Mul(SizeOf(part.Rows), BlockShare(part.Size, part.Blocks))});");

            foreach (string name in order)
            {
                MatrixInfo? matrix = _cell.Matrices.FirstOrDefault(m => m.Name == name);
                if (matrix is not null)
                {
                    var blocks = new List<string>();
                    for (int k = 0; k < matrix.PartSizes.Count; k++)
                    {
                        // A block-diagonal matrix (one part) is its blocks' rows one after another, each a block's share of the columns.
                        string column = Width(matrix.PartSizes.Take(k)), columns = BlockShare(matrix.PartSizes[k], matrix.Blocks);
                        string operand = $"{Quote(OperandOf(name, k))}, {(matrix.PartSizes[k] == Size.Input ? "true" : "false")}";
                        if (BufferOfPart(name, k) is { } at)
                        {
                            string stride = BufferRows(buffers[at.Buffer]);
                            blocks.Add($"new {Support}.ParameterBlock<{T}>({WeightsField(at.Buffer)}, {Gradient(WeightsField(at.Buffer))}, {column}, {columns}, {stride}, {PartOffset(buffers[at.Buffer], at.Slot)}, {operand})");
                        }
                        else
                            blocks.Add($"new {Support}.ParameterBlock<{T}>({DetachedField(name, k)}, {Gradient(DetachedField(name, k))}, {column}, {columns}, {SizeOf(matrix.Rows)}, 0, {operand})");
                    }
                    string shape = matrix.Blocks == 1 ? $"{SizeOf(matrix.Rows)}, {Width(matrix.PartSizes)}" : $"{matrix.Blocks}, {BlockShare(matrix.Rows, matrix.Blocks)}, {BlockShare(matrix.PartSizes[0], matrix.Blocks)}";
                    _w.Line($"base.AddParameter(\"{name}\", new[] {{ {shape} }},");
                    for (int b = 0; b < blocks.Count; b++) _w.Line("    " + blocks[b] + (b == blocks.Count - 1 ? ");" : ","));
                    continue;
                }
                VectorInfo vector = _cell.Vectors.First(v => v.Name == name);
                string block = BufferOfBias(name) is { } bias
                    ? $"new {Support}.ParameterBlock<{T}>({BiasField(bias.Buffer)}, {Gradient(BiasField(bias.Buffer))}, 0, 1, 0, {PartOffset(buffers[bias.Buffer], bias.Slot)})"
                    : $"new {Support}.ParameterBlock<{T}>({VectorField(name)}, {Gradient(VectorField(name))}, 0, 1, 0, 0{MultipliedBy(name)})";
                _w.Line($"base.AddParameter(\"{name}\", new[] {{ {SizeOf(vector.Size)} }}, {block});");
            }
            _w.Line("base.ResetParameters(); // never all zeros: U(-1/√H, 1/√H), from the generator Initializers.ManualSeed seeds");
            // Their generators are seeded when they first draw: the cell's parameters are those it has without them.
            foreach (DropoutInfo dropout in _cell.Dropouts)
                _w.Line($"base.AddDropout({Runtime}.CellDropoutKind.{dropout.Kind}, {Quote(dropout.State)}, {dropout.Probability.ToString("R", System.Globalization.CultureInfo.InvariantCulture)});");
        }
        _w.Line();

        string Strings(IEnumerable<string> items) => "new string[] { " + string.Join(", ", items.Select(Quote)) + " }";
        _w.Line($"private static readonly string[] {Member("s_equations")} = {Strings(_cell.Equations.Select(e => e.Text))};");
        _w.Line($"private static readonly string[] {Member("s_states")} = {Strings(_cell.States)};");
        _w.Line();
        _w.Line("/// <inheritdoc/>");
        _w.Line($"public override global::System.Collections.Generic.IReadOnlyList<string> Equations => {Member("s_equations")};");
        _w.Line("/// <inheritdoc/>");
        _w.Line($"public override global::System.Collections.Generic.IReadOnlyList<string> StateNames => {Member("s_states")};");
        _w.Line("/// <inheritdoc/>");
        _w.Line($"public override string OutputName => {Quote(_cell.Output)};");
        _w.Line("/// <inheritdoc/>");
        _w.Line($"public override {Runtime}.SequenceRunner<{T}> CreateRunner(int maxSteps, int maxBatchSize) => new {Member("Runner")}(this, maxSteps, maxBatchSize);");
        _w.Line();
        EmitRunner();
        foreach (SweepPlan sweep in _schedule.Sweeps)
        {
            _w.Line();
            EmitForwardKernel(sweep);
            _w.Line();
            EmitBackwardKernel(sweep);
        }
    }

    /// <summary>What part <paramref name="part"/> of a matrix multiplies where it is first used, as written.</summary>
    private string OperandOf(string matrix, int part)
    {
        foreach (Node node in _graph.Nodes)
            if (node.Op == Op.MatPart && node.Name == matrix && node.Part == part) return _describe.Node(node.Args[0], false);
        return "";
    }

    private static string Quote(string text) => Names.Quote(text);

    /// <summary>
    /// ", \"h[t-1]\"" when the vector <paramref name="name"/> multiplies something elementwise (a peephole, an IndRNN's
    /// recurrent weight, a gain), naming what it multiplies, so that initialisers do not start it at zero as they start
    /// a bias; "" when it is only added.
    /// </summary>
    private string MultipliedBy(string name)
    {
        int vector = Enumerable.Range(0, _graph.Nodes.Count).Where(i => _graph.Nodes[i].Op == Op.Vector && _graph.Nodes[i].Name == name).DefaultIfEmpty(-1).First();
        if (vector < 0) return "";
        foreach (Node node in _graph.Nodes)
            if (node.Op == Op.Apply && node.Operation == Operation.Multiply && node.Args.Contains(vector))
                return ", " + Quote(_describe.Node(node.Args[0] == vector ? node.Args[1] : node.Args[0]));
        return "";
    }
}
