using CellGen.Generator.Model;

namespace CellGen.Generator.Language;

/// <summary>
/// Row: one value per row (per sequence), broadcast over the features where it is used: what mean(v) gives. One: one
/// value in all, a learnable scalar ([Size("a", "1")]), broadcast over rows and features. Heads: one value per head of
/// a cell with [Heads(N)] (N per row), broadcast over its head's P = H / N units. Memory: one P x P matrix per head (N * P
/// * P per row). The order is the order of a level's sweeps: per-head values before the H values that read them, matrix
/// memory after the H values its outer products read.
/// </summary>
internal enum SizeKind { Scalar, Row, Heads, Input, Hidden, Declared, One, Memory }

/// <summary>
/// The size of a value: a number's (broadcast), the input size X, the hidden size H, or a size the class declares with
/// [Size("name", "P")], by its name.
/// </summary>
internal readonly record struct Size(SizeKind Kind, string Name)
{
    public static readonly Size Scalar = new(SizeKind.Scalar, "1");
    public static readonly Size Row = new(SizeKind.Row, "1");
    public static readonly Size One = new(SizeKind.One, "1");
    public static readonly Size Input = new(SizeKind.Input, "X");
    public static readonly Size Hidden = new(SizeKind.Hidden, "H");
    public static readonly Size Heads = new(SizeKind.Heads, "heads");
    public static readonly Size Memory = new(SizeKind.Memory, "matrix");

    public static Size Declared(string name) => new(SizeKind.Declared, name);

    /// <summary>For messages: "the input size X", "the hidden size H", "the size P".</summary>
    public string Describe() => Kind switch
    {
        SizeKind.Input => "the input size X",
        SizeKind.Hidden => "the hidden size H",
        SizeKind.Declared => $"the size {Name}",
        SizeKind.Row => "one value per sequence",
        SizeKind.One => "one value (a learnable scalar)",
        SizeKind.Heads => "one value per head",
        SizeKind.Memory => "a P x P matrix per head (matrix memory)",
        _ => "no size (a number)",
    };

    public override string ToString() => Name;
}

/// <summary>An expression whose names have been resolved to their roles.</summary>
internal abstract record BoundExpr;

internal sealed record ConstantExpr(double Value) : BoundExpr;

/// <summary><c>x[t]</c> (Lag 0) or <c>x[t-k]</c> (Lag k), zero before the first step.</summary>
internal sealed record InputExpr(int Lag = 0) : BoundExpr;

/// <summary><c>s[t-1]</c> (Previous) or <c>s[t]</c> read after its equation.</summary>
internal sealed record StateExpr(string State, bool Previous) : BoundExpr;

/// <summary>An intermediate of this step, read after its equation.</summary>
internal sealed record LocalExpr(string Name) : BoundExpr;

/// <summary>A parameter vector (a bias, a diagonal peephole).</summary>
internal sealed record VectorExpr(string Name) : BoundExpr;

internal sealed record CallExpr(Operation Function, EquatableArray<BoundExpr> Arguments) : BoundExpr;

internal sealed record BinaryExpr(char Operator, BoundExpr Left, BoundExpr Right) : BoundExpr;

internal sealed record NegateExpr(BoundExpr Operand) : BoundExpr;

/// <summary><c>W @ [parts]</c>; a single operand is a concatenation of one part.</summary>
internal sealed record MatVecExpr(string Matrix, EquatableArray<BoundExpr> Parts) : BoundExpr;

/// <summary>
/// Regularisation inside the cell: zoneout of a state, variational dropout where matrices read it, or DropConnect on the
/// weights that multiply it. The order is the runtime's CellDropoutKind.
/// </summary>
internal enum DropoutKind { Zoneout, Variational, DropConnect }

internal static class DropoutKinds
{
    /// <summary>The attribute that declares it: "Zoneout", "VariationalDropout", "DropConnect".</summary>
    public static string Attribute(this DropoutKind kind) => kind switch
    {
        DropoutKind.Zoneout => "Zoneout",
        DropoutKind.Variational => "VariationalDropout",
        _ => "DropConnect",
    };

    /// <summary>What generated code and its comments call its mask: "zoneout", "dropout" (DropConnect has none in the step).</summary>
    public static string Noun(this DropoutKind kind) => kind == DropoutKind.Zoneout ? "zoneout" : "dropout";
}

/// <summary>One [Zoneout], [VariationalDropout] or [DropConnect]: its index is its position in <see cref="BoundCell.Dropouts"/>, the cell's Dropouts at run time.</summary>
internal sealed record DropoutInfo(DropoutKind Kind, string State, double Probability);

/// <summary>One equation; <c>Size</c> is its target's: H unless declared.</summary>
internal sealed record BoundEquation(int Index, string Text, string Target, bool IsState, BoundExpr Value, Size Size);

/// <summary>
/// A weight matrix: <c>Rows</c> (the size its products flow into) by the sum of <c>PartSizes</c>; <c>Blocks</c> along
/// its diagonal when declared block-diagonal (then of one part), else 1.
/// </summary>
internal sealed record MatrixInfo(string Name, EquatableArray<Size> PartSizes, Size Rows, int Blocks = 1);

internal sealed record VectorInfo(string Name, Size Size);

/// <summary>
/// A cell whose equations are well formed: every name has a role and a size. <c>InputIsHidden</c>: the input is
/// combined elementwise with values of size H (a highway), so the cell needs X = H. <c>Heads</c>: the number of heads
/// [Heads] declares, 0 without it.
/// </summary>
internal sealed record BoundCell(
    string Input,
    string Output,
    EquatableArray<string> States,
    EquatableArray<MatrixInfo> Matrices,
    EquatableArray<VectorInfo> Vectors,
    EquatableArray<BoundEquation> Equations,
    bool InputIsHidden = false,
    EquatableArray<Size> StateSizes = default,
    EquatableArray<string> SizeNames = default,
    EquatableArray<DropoutInfo> Dropouts = default,
    int Heads = 0)
{
    /// <summary>The size of a state: H unless declared.</summary>
    public Size SizeOfState(string state)
    {
        for (int i = 0; i < States.Count; i++)
            if (States[i] == state) return StateSizes.Count > i ? StateSizes[i] : Size.Hidden;
        throw new System.ArgumentException("Unknown state " + state);
    }

    public Size OutputSize => SizeOfState(Output);
}
