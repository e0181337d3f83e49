using System;
using System.Collections.Generic;
using System.Linq;

namespace CellGen.Generator.Model;

/// <summary>
/// What an operation is to the compiler: elementwise (an Apply node of the step graph, computed in a sweep), a reduction
/// over a row's features (a Mean node, with instructions of its own), or an expansion into other operations.
/// </summary>
internal enum OperationKind { Elementwise, Reduction, Expansion }

/// <summary>How an operation is written, in equations and in the comments of generated code.</summary>
internal enum Notation
{
    Function, // name(a, b)
    Prefix,   // -a
    Infix,    // a * b
}

/// <summary>
/// One operation of the equation language, described once: how it is spelled, how many arguments it takes, how it folds
/// when its arguments are numbers, its derivative, how generated code computes it and what a step of it costs. Every
/// stage of the compiler reads this table; none has a switch over the functions. Operations without spellings are
/// internal: derivatives use them, equations cannot.
/// </summary>
internal sealed class Operation
{
    private Operation(string name, Notation notation, string[] spellings, int arity, Func<double[], double> fold,
        string lanes, int work, DExpr[]? derivatives, string? written = null, OperationKind kind = OperationKind.Elementwise)
    {
        Name = name;
        Kind = kind;
        Written = written ?? notation switch
        {
            Notation.Prefix => name + "{0}",
            Notation.Infix => "{0} " + name + " {1}",
            _ => name + (arity == 1 ? "({0})" : "({0}, {1})"),
        };
        Notation = notation;
        Spellings = new EquatableArray<string>(spellings);
        Arity = arity;
        Fold = fold;
        Lanes = lanes;
        Work = work;
        Derivatives = derivatives is null ? default : new EquatableArray<DExpr>(derivatives);
    }

    /// <summary>The name comments write: "exp", "*", "/".</summary>
    public string Name { get; }

    public Notation Notation { get; }

    public OperationKind Kind { get; }

    /// <summary>How comments write it, with {0} and {1} the arguments: "exp({0})", "{0} / {1}".</summary>
    public string Written { get; }

    /// <summary>The names an equation may call it by (functions only).</summary>
    public EquatableArray<string> Spellings { get; }

    public int Arity { get; }

    /// <summary>The value for numbers, in double precision.</summary>
    public Func<double[], double> Fold { get; }

    /// <summary>C# over a lane type V: {0}, {1} are the arguments, {2} the element type.</summary>
    public string Lanes { get; }

    /// <summary>A rough cost per element in simple operations (an exponential and a division count 8).</summary>
    public int Work { get; }

    /// <summary>
    /// For each argument, the gradient it receives, in terms of <see cref="DGrad"/> (the gradient of the result),
    /// <see cref="DArg"/> (an argument's value) and <see cref="DOut"/> (the result's value). Empty for internal
    /// operations, which nothing differentiates.
    /// </summary>
    public EquatableArray<DExpr> Derivatives { get; }

    public bool IsInternal => Spellings.Count == 0 && Notation == Notation.Function;

    public string Emit(IReadOnlyList<string> arguments, string elementType) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, Lanes, Argument(arguments, 0), Argument(arguments, 1), elementType);

    public string Describe(IReadOnlyList<string> arguments) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, Written, Argument(arguments, 0), Argument(arguments, 1));

    private string Argument(IReadOnlyList<string> arguments, int k) =>
        k < Arity ? arguments[k] : "";

    public override string ToString() => Name;

    // The derivatives are written with these: G the incoming gradient, Y the result, A(k) an argument.
    private static readonly DExpr G = new DGrad(), Y = new DOut();
    private static DExpr A(int k) => new DArg(k);
    private static DExpr N(double value) => new DConstant(value);
    private static DExpr Mul(DExpr a, DExpr b) => new DMul(a, b);
    private static DExpr Div(DExpr a, DExpr b) => new DDiv(a, b);
    private static DExpr Sub(DExpr a, DExpr b) => new DSub(a, b);
    private static DExpr Neg(DExpr a) => new DNeg(a);
    // Static fields initialise in their order: a derivative that calls an operation declared after its own would read
    // null, and the table would fail later and far away. It fails here, at the first use of Operation, naming the cause.
    private static DExpr Call(Operation op, params DExpr[] args) =>
        new DCall(op ?? throw new InvalidOperationException("An operation's derivative calls an operation declared after it in Operations.cs: declare that one first."),
            new EquatableArray<DExpr>(args));

    private static Operation Function(string name, string[] spellings, int arity, Func<double[], double> fold, string lanes, int work, params DExpr[] derivatives) =>
        new(name, Notation.Function, spellings, arity, fold, lanes, work, derivatives);

    /// <summary><c>condition &gt; 0 ? value : 0</c>: relu's mask, abs's sign, the choice of min and max.</summary>
    public static readonly Operation Positive = new("positive", Notation.Function, Array.Empty<string>(), 2,
        a => a[0] > 0 ? a[1] : 0, "V.Positive({0}, {1})", 1, null, "({0} > 0 ? {1} : 0)");

    public static readonly Operation Negate = new("-", Notation.Prefix, Array.Empty<string>(), 1,
        a => -a[0], "-{0}", 1, new[] { Neg(G) });

    public static readonly Operation Multiply = new("*", Notation.Infix, Array.Empty<string>(), 2,
        a => a[0] * a[1], "{0} * {1}", 1, new[] { Mul(G, A(1)), Mul(G, A(0)) });

    public static readonly Operation Divide = new("/", Notation.Infix, Array.Empty<string>(), 2,
        a => a[0] / a[1], "{0} / {1}", 4, new[] { Div(G, A(1)), Neg(Div(Mul(G, Y), A(1))) });

    public static readonly Operation Sigmoid = Function("sigmoid", new[] { "sigmoid", "σ" }, 1,
        a => 1 / (1 + Math.Exp(-a[0])), "V.Sigmoid({0})", 8, Mul(G, Mul(Y, Sub(N(1), Y))));

    public static readonly Operation Tanh = Function("tanh", new[] { "tanh" }, 1,
        a => Math.Tanh(a[0]), "V.Tanh({0})", 8, Mul(G, Sub(N(1), Mul(Y, Y))));

    public static readonly Operation Relu = Function("relu", new[] { "relu" }, 1,
        a => Math.Max(a[0], 0), "V.Relu({0})", 1, Call(Positive, Y, G));

    public static readonly Operation Exp = Function("exp", new[] { "exp" }, 1,
        a => Math.Exp(a[0]), "V.Exp({0})", 8, Mul(G, Y));

    public static readonly Operation Log = Function("log", new[] { "log" }, 1,
        a => Math.Log(a[0]), "V.Log({0})", 8, Div(G, A(0)));

    public static readonly Operation Softplus = Function("softplus", new[] { "softplus" }, 1,
        a => a[0] > 20 ? a[0] : Math.Log(1 + Math.Exp(a[0])), "global::CellGen.CompilerServices.LaneOperators.Softplus<V, {2}>({0})", 12,
        Mul(G, Call(Sigmoid, A(0))));

    public static readonly Operation Abs = Function("abs", new[] { "abs" }, 1,
        a => Math.Abs(a[0]), "V.Abs({0})", 1, Sub(Call(Positive, A(0), G), Call(Positive, Neg(A(0)), G)));

    // softsign(v) = v / (1 + |v|); its derivative 1 / (1 + |v|)² is (1 - |y|)², from the result.
    public static readonly Operation Softsign = Function("softsign", new[] { "softsign" }, 1,
        a => a[0] / (1 + Math.Abs(a[0])), "global::CellGen.CompilerServices.LaneOperators.Softsign<V, {2}>({0})", 6,
        Mul(G, Mul(Sub(N(1), Call(Abs, Y)), Sub(N(1), Call(Abs, Y)))));

    // elu(v) = v for v > 0, else e^v - 1 (nn.ELU, alpha 1); its derivative there is e^v = y + 1, written 1 - positive(-v, -y).
    public static readonly Operation Elu = Function("elu", new[] { "elu" }, 1,
        a => a[0] > 0 ? a[0] : Math.Exp(a[0]) - 1, "global::CellGen.CompilerServices.LaneOperators.Elu<V, {2}>({0})", 10,
        Mul(G, Sub(N(1), Call(Positive, Neg(A(0)), Neg(Y)))));

    // logsigmoid(v) = log(sigmoid(v)) = -softplus(-v), as F.logsigmoid; its derivative is sigmoid(-v).
    public static readonly Operation LogSigmoid = Function("logsigmoid", new[] { "logsigmoid" }, 1,
        a => a[0] < -20 ? a[0] : -Math.Log(1 + Math.Exp(-a[0])), "global::CellGen.CompilerServices.LaneOperators.LogSigmoid<V, {2}>({0})", 12,
        Mul(G, Call(Sigmoid, Neg(A(0)))));

    // silu(v) = v · sigmoid(v), as nn.SiLU; its derivative s + y(1 - s) with s = sigmoid(v), written s - y(s - 1).
    public static readonly Operation Silu = Function("silu", new[] { "silu" }, 1,
        a => a[0] / (1 + Math.Exp(-a[0])), "global::CellGen.CompilerServices.LaneOperators.Silu<V, {2}>({0})", 9,
        Mul(G, Sub(Call(Sigmoid, A(0)), Mul(Y, Sub(Call(Sigmoid, A(0)), N(1))))));

    // hardsigmoid(v) = min(max(v / 6 + 1/2, 0), 1), as nn.Hardsigmoid; its derivative 1/6 strictly inside (-3, 3), as PyTorch's.
    public static readonly Operation HardSigmoid = Function("hardsigmoid", new[] { "hardsigmoid" }, 1,
        a => Math.Min(Math.Max(a[0] / 6 + 0.5, 0), 1), "global::CellGen.CompilerServices.LaneOperators.HardSigmoid<V, {2}>({0})", 3,
        Call(Positive, Sub(N(3), A(0)), Call(Positive, Sub(A(0), N(-3)), Mul(G, N(1.0 / 6)))));

    // hardtanh(v) = min(max(v, -1), 1), as nn.Hardtanh; its derivative 1 strictly inside (-1, 1), as PyTorch's.
    public static readonly Operation HardTanh = Function("hardtanh", new[] { "hardtanh" }, 1,
        a => Math.Min(Math.Max(a[0], -1), 1), "global::CellGen.CompilerServices.LaneOperators.HardTanh<V, {2}>({0})", 2,
        Call(Positive, Sub(N(1), A(0)), Call(Positive, Sub(A(0), N(-1)), G)));

    /// <summary>Φ(v), the standard normal distribution function: internal, for gelu's derivative.</summary>
    public static readonly Operation NormalCdf = new("normcdf", Notation.Function, Array.Empty<string>(), 1,
        a => CellGen.CompilerServices.Erfc.NormalCdf(a[0]), "global::CellGen.CompilerServices.LaneOperators.NormalCdf<V, {2}>({0})", 40, null, "Φ({0})");

    // gelu(v) = v·Φ(v), as nn.GELU (exact, erf); its derivative Φ(v) + v·φ(v), φ(v) = e^(-v²/2) / √(2π).
    public static readonly Operation Gelu = Function("gelu", new[] { "gelu" }, 1,
        a => a[0] * CellGen.CompilerServices.Erfc.NormalCdf(a[0]), "global::CellGen.CompilerServices.LaneOperators.Gelu<V, {2}>({0})", 42,
        Mul(G, Sub(Call(NormalCdf, A(0)), Neg(Mul(A(0), Mul(N(0.39894228040143267794), Call(Exp, Mul(N(-0.5), Mul(A(0), A(0))))))))));

    public static readonly Operation Sqrt = Function("sqrt", new[] { "sqrt" }, 1,
        a => Math.Sqrt(a[0]), "V.Sqrt({0})", 4, Div(Mul(G, N(0.5)), Y));

    // Ties go to the first argument, as the language says.
    public static readonly Operation Min = Function("min", new[] { "min" }, 2,
        a => a[0] <= a[1] ? a[0] : a[1], "V.Min({0}, {1})", 1,
        Sub(G, Call(Positive, Sub(A(0), A(1)), G)), Call(Positive, Sub(A(0), A(1)), G));

    public static readonly Operation Max = Function("max", new[] { "max" }, 2,
        a => a[0] >= a[1] ? a[0] : a[1], "V.Max({0}, {1})", 1,
        Sub(G, Call(Positive, Sub(A(1), A(0)), G)), Call(Positive, Sub(A(1), A(0)), G));

    /// <summary>
    /// mean(v): one value per row, the mean of v's features, broadcast where it is used. A Mean node of the step graph:
    /// a reduction instruction computes it and, backwards, gives each feature 1/n of its gradient.
    /// </summary>
    public static readonly Operation Mean = new("mean", Notation.Function, new[] { "mean" }, 1,
        a => a[0], "", 2, null, kind: OperationKind.Reduction);

    /// <summary>The epsilon of layernorm, as PyTorch's layer_norm.</summary>
    public const double LayerNormEpsilon = 1e-5;

    /// <summary>
    /// layernorm(v) = (v - mean(v)) / sqrt(mean((v - mean(v))²) + 1e-5), without gain or bias: Lower writes it as those
    /// operations, so its derivative is theirs.
    /// </summary>
    public static readonly Operation LayerNorm = new("layernorm", Notation.Function, new[] { "layernorm" }, 1,
        a => 0, "", 0, null, kind: OperationKind.Expansion);

    /// <summary>
    /// outer(a, b): per head, the P x P matrix a bᵀ of two values of size H (matrix memory, [Heads]). Lower writes it as
    /// the product of a's units broadcast along each matrix row and b's along each column.
    /// </summary>
    public static readonly Operation Outer = new("outer", Notation.Function, new[] { "outer" }, 2,
        a => 0, "", 0, null, kind: OperationKind.Expansion);

    /// <summary>dot(a, b): per head, the sum of a * b over the head's units: one value per head. Lower writes it so.</summary>
    public static readonly Operation Dot = new("dot", Notation.Function, new[] { "dot" }, 2,
        a => 0, "", 0, null, kind: OperationKind.Expansion);

    /// <summary>
    /// C @ q, C a matrix memory and q of size H: per head, the matrix times the head's units of q. Written with '@' after
    /// a state (the parser makes it this call); Lower writes it as the sums over each matrix row of C times q's units.
    /// </summary>
    public static readonly Operation MemoryProduct = new("@", Notation.Infix, Array.Empty<string>(), 2,
        a => 0, "", 0, null, kind: OperationKind.Expansion);

    /// <summary>
    /// Every operation, internal ones included: the static fields above, in their order (initialised before this one), so
    /// that an operation is added by its entry alone.
    /// </summary>
    public static readonly IReadOnlyList<Operation> All = typeof(Operation)
        .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
        .Where(f => f.FieldType == typeof(Operation)).OrderBy(f => f.MetadataToken).Select(f => (Operation)f.GetValue(null)!).ToArray();

    /// <summary>The functions an equation may call, in the order error messages list them.</summary>
    public static readonly IReadOnlyList<Operation> Functions = All.Where(o => o.Spellings.Count > 0).ToArray();

    public static Operation? FunctionNamed(string spelling) => Functions.FirstOrDefault(o => o.Spellings.Contains(spelling));

    /// <summary>
    /// The one function spelled nearest to <paramref name="spelling"/> (at most a third of its letters changed, added or
    /// removed, and closer than any other), for the fix of an unknown function; null when none is that near or two are.
    /// </summary>
    public static string? NearestFunction(string spelling)
    {
        var distances = Functions.SelectMany(f => f.Spellings).Select(s => (Spelling: s, Distance: EditDistance(spelling, s))).OrderBy(d => d.Distance).ToList();
        int limit = Math.Max(1, spelling.Length / 3);
        return distances.Count > 0 && distances[0].Distance <= limit && (distances.Count == 1 || distances[1].Distance > distances[0].Distance)
            ? distances[0].Spelling : null;
    }

    /// <summary>Letters changed, added, removed or two neighbours swapped ("tahn" is one from "tanh"), ignoring case.</summary>
    private static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 2]) && char.ToLowerInvariant(a[i - 2]) == char.ToLowerInvariant(b[j - 1]))
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }

    /// <summary>"sigmoid (or σ), tanh, relu, ...": for messages.</summary>
    public static string FunctionList => string.Join(", ", Functions.Select(f =>
        f.Spellings.Count > 1 ? $"{f.Spellings[0]} (or {string.Join(", ", f.Spellings.Skip(1))})" : f.Spellings[0]));
}
