using CellGen.Generator.Compiler;
using CellGen.Generator.Model;

namespace CellGen.Generator.Language;

/// <summary>The size of a value: a number (broadcast), the input size X, or the hidden size H.</summary>
internal enum Size { Scalar, Input, Hidden }

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

internal sealed record BoundEquation(int Index, string Text, string Target, bool IsState, BoundExpr Value);

internal sealed record MatrixInfo(string Name, EquatableArray<Size> PartSizes);

internal sealed record VectorInfo(string Name, Size Size);

/// <summary>
/// A cell whose equations are well formed: every name has a role and a size. <c>InputIsHidden</c>: the input is
/// combined elementwise with values of size H (a highway), so the cell needs X = H.
/// </summary>
internal sealed record BoundCell(
    string Input,
    string Output,
    EquatableArray<string> States,
    EquatableArray<MatrixInfo> Matrices,
    EquatableArray<VectorInfo> Vectors,
    EquatableArray<BoundEquation> Equations,
    bool InputIsHidden = false);
