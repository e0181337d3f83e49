using System.Collections.Generic;
using CellGen.Generator.Language;
using CellGen.Generator.Model;

namespace CellGen.Generator.Compiler;

/// <summary>The operations of the step graph; each node computes one [rows, size] value per step.</summary>
internal enum Op
{
    Constant,   // Value, broadcast
    Input,      // x[t - Lag]
    StatePrev,  // s[t-1]; Name is the state
    Vector,     // a parameter vector; Name
    MatVec,     // W @ [args...] before Optimise splits it; Name is the matrix
    MatPart,    // the column block Part of matrix Name times Args[0]; Bias names a folded parameter vector
    Sum,        // sum of Args[i] * Signs[i]
    Apply,      // an operation of the table (Operation) on Args, elementwise
    Copy,       // Args[0] unchanged: a state's new value that no elementwise operation of the loop computes
    Mean,       // the mean of Args[0]'s features, one value per row (Size.Row): a reduction, between two sweeps
    Variance,   // the mean of (Args[0] - Args[1])² over the features, Args[1] being mean(Args[0]): layernorm's, in one pass
    Rows,       // Args[0] (size H) seen as a matrix memory: unit (head, r) along all of row r of its head's matrix (outer's left side)
    Columns,    // Args[0] (size H) seen as a matrix memory: unit (head, c) down all of column c of its head's matrix (outer's right side)
    SegmentSum, // the sums of each P consecutive features of Args[0]: per head of H (one value per head), per row of a matrix memory (H)
    Mask,       // the mask of the cell's dropout Part (zoneout or variational) on state Name, drawn by the runner: no gradient
}

/// <summary>One SSA node of the step graph. Records compare by value, so identical nodes are shared (CSE).</summary>
internal sealed record Node(Op Op, EquatableArray<int> Args, Size Size, string Name = "", double Value = 0, int Part = 0,
    EquatableArray<int> Signs = default, string Bias = "", Operation? Operation = null, int Lag = 0)
{
    public bool IsLeaf => Op is Op.Constant or Op.Input or Op.StatePrev or Op.Vector or Op.Mask;

    public bool IsElementwise => Op is Op.Sum or Op.Apply or Op.Copy or Op.Rows or Op.Columns;

    /// <summary>Rows and Columns: a value of size H read into a matrix memory's sweep, where a load computes nothing.</summary>
    public bool IsSpread => Op is Op.Rows or Op.Columns;

    /// <summary>x[t-k] for k ≥ 1: the input of an earlier step, kept in a buffer of its own.</summary>
    public bool IsLaggedInput => Op == Op.Input && Lag > 0;

    /// <summary>A reduction over each row's features: computed by an instruction of its own between two sweeps.</summary>
    public bool IsReduction => Op is Op.Mean or Op.Variance or Op.SegmentSum;

    public static Node Apply(Operation operation, Size size, params int[] args) =>
        new(Op.Apply, new EquatableArray<int>(args), size, Operation: operation);
}

/// <summary>The new value of a state at each step.</summary>
internal sealed record StateUpdate(string State, int Node);

/// <summary>A display name for a node (an intermediate 'i' or a state 'c[t]') and the equation that defines it.</summary>
internal sealed record Label(int Node, string Name, int Equation);

/// <summary>One step of the cell as a graph: nodes in topological order, state updates, labels for comments.</summary>
internal sealed record StepGraph(
    BoundCell Cell,
    EquatableArray<Node> Nodes,
    EquatableArray<StateUpdate> Updates,
    EquatableArray<Label> Labels);

/// <summary>Builds a graph in topological order, sharing identical nodes.</summary>
internal sealed class GraphBuilder
{
    private readonly List<Node> _nodes = new();
    private readonly Dictionary<Node, int> _index = new();

    public IReadOnlyList<Node> Nodes => _nodes;

    public int Add(Node node)
    {
        if (_index.TryGetValue(node, out int existing)) return existing;
        _nodes.Add(node);
        _index[node] = _nodes.Count - 1;
        return _nodes.Count - 1;
    }

    public int Constant(double value) => Add(new Node(Op.Constant, EquatableArray<int>.Empty, Size.Scalar, Value: value));

    /// <summary>
    /// The size of an elementwise combination: a number, or a value per row, takes the other's size; the input combined
    /// with H (a highway, X = H) is H.
    /// </summary>
    public static Size Combine(Size a, Size b) => CombineComputed(Computed(a), Computed(b));

    /// <summary>
    /// The size of a value computed from <paramref name="size"/>: a learnable scalar's (One) is computed per row (one
    /// value per row, as a mean's), since every value a step computes lives in rows.
    /// </summary>
    public static Size Computed(Size size) => size == Size.One ? Size.Row : size;

    private static Size CombineComputed(Size a, Size b) =>
        a == Size.Scalar ? b : b == Size.Scalar ? a
        : a == Size.Row ? b : b == Size.Row ? a // a value per row broadcasts over the other's features
        : a == Size.Memory || b == Size.Memory ? Size.Memory // one value per head broadcasts over its head's matrix and units
        : a == Size.Hidden || b == Size.Hidden ? Size.Hidden : a;
}
