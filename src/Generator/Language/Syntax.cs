using CellGen.Generator.Model;

namespace CellGen.Generator.Language;

/// <summary>An expression as written, with the range of characters it spans in its equation.</summary>
internal abstract record ExprSyntax(TextRange Range);

internal sealed record NumberSyntax(double Value, TextRange Range) : ExprSyntax(Range);

/// <summary>A name written without a time index: an intermediate or a parameter vector.</summary>
internal sealed record NameSyntax(string Name, TextRange Range) : ExprSyntax(Range);

/// <summary><c>name[t]</c> (Offset 0) or <c>name[t-k]</c> (Offset -k).</summary>
internal sealed record TimedNameSyntax(string Name, int Offset, TextRange NameRange, TextRange Range) : ExprSyntax(Range);

/// <summary>A function of the table called on its arguments; <c>NameRange</c> is the function's name as written.</summary>
internal sealed record CallSyntax(Operation Function, EquatableArray<ExprSyntax> Arguments, TextRange NameRange, TextRange Range) : ExprSyntax(Range);

/// <summary>'+', '-', '*' or '/' (elementwise).</summary>
internal sealed record BinarySyntax(char Operator, ExprSyntax Left, ExprSyntax Right, TextRange Range) : ExprSyntax(Range);

internal sealed record NegateSyntax(ExprSyntax Operand, TextRange Range) : ExprSyntax(Range);

/// <summary><c>W @ operand</c>.</summary>
internal sealed record MatVecSyntax(string Matrix, TextRange MatrixRange, ExprSyntax Operand, TextRange Range) : ExprSyntax(Range);

/// <summary><c>[a, b, ...]</c>: the concatenation of its parts.</summary>
internal sealed record ConcatSyntax(EquatableArray<ExprSyntax> Parts, TextRange Range) : ExprSyntax(Range);

/// <summary>One equation: <c>target = value</c> where the target is <c>g</c> or <c>s[t]</c>.</summary>
internal sealed record EquationSyntax(int Index, string Text, string Target, bool TargetIsState, TextRange TargetRange, ExprSyntax Value);
