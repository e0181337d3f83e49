namespace CellGen.Generator.Model;

/// <summary>An expression of the backward pass, in terms of a node's adjoint and forward values.</summary>
internal abstract record DExpr;

/// <summary>dL/d(node): the adjoint of the node being differentiated.</summary>
internal sealed record DGrad : DExpr;

/// <summary>The forward value of a node, read from the tape or recomputed.</summary>
internal sealed record DValue(int Node) : DExpr;

internal sealed record DConstant(double Value) : DExpr;

internal sealed record DMul(DExpr Left, DExpr Right) : DExpr;

internal sealed record DSub(DExpr Left, DExpr Right) : DExpr;

internal sealed record DNeg(DExpr Operand) : DExpr;

internal sealed record DDiv(DExpr Left, DExpr Right) : DExpr;

/// <summary>An operation of the table applied to values of the backward pass (sigmoid in softplus's derivative, the selection of relu's).</summary>
internal sealed record DCall(Operation Operation, EquatableArray<DExpr> Arguments) : DExpr;

/// <summary>In the table's derivative rules only: the value of argument <c>Index</c> of the node differentiated.</summary>
internal sealed record DArg(int Index) : DExpr;

/// <summary>In the table's derivative rules only: the value of the node differentiated.</summary>
internal sealed record DOut : DExpr;
