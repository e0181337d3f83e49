using System.Linq;
using CellGen.Generator.Model;
using Microsoft.CodeAnalysis;

namespace CellGen.Generator.Language;

/// <summary>A span inside one equation's text (character offsets into the string value).</summary>
internal readonly record struct TextRange(int Start, int Length)
{
    public int End => Start + Length;

    public static TextRange FromBounds(int start, int end) => new(start, end - start);

    public TextRange Union(TextRange other) => FromBounds(System.Math.Min(Start, other.Start), System.Math.Max(End, other.End));
}

/// <summary>Where a diagnostic points, as plain data (no Roslyn types, so models stay value-equal).</summary>
internal readonly record struct SourceSpan(string FilePath, int Start, int Length, int StartLine, int StartColumn, int EndLine, int EndColumn)
{
    /// <summary>
    /// A location in the compilation's own syntax tree of the file where there is one, so that #pragma warning disable
    /// and the editor's suppressions apply to it (an external-file location escapes both).
    /// </summary>
    public Location ToLocation(Compilation? compilation)
    {
        string path = FilePath;
        SyntaxTree? tree = compilation?.SyntaxTrees.FirstOrDefault(t => t.FilePath == path);
        return tree is not null && Start + Length <= tree.Length
            ? Location.Create(tree, new Microsoft.CodeAnalysis.Text.TextSpan(Start, Length))
            : ToLocation();
    }

    public Location ToLocation() => Location.Create(
        FilePath,
        new Microsoft.CodeAnalysis.Text.TextSpan(Start, Length),
        new Microsoft.CodeAnalysis.Text.LinePositionSpan(
            new Microsoft.CodeAnalysis.Text.LinePosition(StartLine, StartColumn),
            new Microsoft.CodeAnalysis.Text.LinePosition(EndLine, EndColumn)));
}

/// <summary>
/// A diagnostic as value-equal data: descriptor id, where, and the message arguments. <see cref="Replacement"/> is the
/// text that certainly fixes it in place of the located characters, where there is one (the code fix offers it).
/// </summary>
internal sealed record DiagnosticInfo(string Id, SourceSpan? Location, EquatableArray<string> Arguments, string? Replacement = null)
{
    /// <summary>The property of a diagnostic that carries <see cref="Replacement"/> to the code fix.</summary>
    public const string ReplacementProperty = "Replacement";

    public Diagnostic ToDiagnostic(Compilation? compilation = null) => Diagnostic.Create(
        Diagnostics.ById(Id), Location?.ToLocation(compilation) ?? Microsoft.CodeAnalysis.Location.None,
        Replacement is null ? null : System.Collections.Immutable.ImmutableDictionary<string, string?>.Empty.Add(ReplacementProperty, Replacement),
        Arguments.Cast<object>().ToArray());
}

/// <summary>A problem found in one equation, located by a range inside that equation's text, with its certain fix if it has one.</summary>
internal sealed record EquationProblem(string Id, int Equation, TextRange Range, EquatableArray<string> Arguments, string? Replacement = null)
{
    public static EquationProblem Create(DiagnosticDescriptor descriptor, int equation, TextRange range, params string[] arguments) =>
        new(descriptor.Id, equation, range, new EquatableArray<string>(arguments));
}

/// <summary>Every diagnostic of CellGen; docs/diagnostics.md documents each with a bad and a fixed example.</summary>
internal static class Diagnostics
{
    private const string Category = "CellGen";
    private const string HelpBase = "https://github.com/cellgen/cellgen/blob/main/docs/diagnostics.md#";

    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpBase + id.ToLowerInvariant());

    private static DiagnosticDescriptor Warning(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpBase + id.ToLowerInvariant());

    public static readonly DiagnosticDescriptor SyntaxError = Error("CG0001", "Syntax error in an equation",
        "Syntax error: {0}");

    public static readonly DiagnosticDescriptor UnknownFunction = Error("CG0002", "Unknown function",
        "Unknown function '{0}': the functions are {1}");

    public static readonly DiagnosticDescriptor ReadBeforeDefinition = Error("CG0003", "Name read before its equation",
        "'{0}' is read before the equation that defines it: move its equation above this one{1}");

    public static readonly DiagnosticDescriptor DefinedTwice = Error("CG0004", "Name defined twice",
        "'{0}' is already defined by equation {1}: give one of them another name");

    public static readonly DiagnosticDescriptor StateNotUpdated = Error("CG0005", "State read but never updated",
        "'{0}' reads a state that no equation updates: {1}");

    public static readonly DiagnosticDescriptor MatrixAndVector = Error("CG0006", "Name used as a matrix and as a vector",
        "'{0}' is used as a weight matrix ('{0} @ ...') elsewhere and as a vector here: use two different names");

    public static readonly DiagnosticDescriptor MatrixNotParameter = Error("CG0007", "Left of '@' is not a parameter",
        "'{0}' is {1} and cannot be the matrix of '@': the left of '@' must be a weight parameter name");

    public static readonly DiagnosticDescriptor ConcatenationSizes = Error("CG0008", "Concatenation parts do not have one size per position",
        "Concatenation: {0}");

    public static readonly DiagnosticDescriptor OutputMissing = Error("CG0009", "Output state missing",
        "No equation defines the output {0}: {1}");

    public static readonly DiagnosticDescriptor NotPartial = Error("CG0010", "Cell class is not partial",
        "The cell class '{0}' must be declared partial so the generated forward and backward passes can be added to it");

    public static readonly DiagnosticDescriptor Generic = Error("CG0011", "Cell class is generic",
        "The cell class '{0}' must not be generic: remove its type parameters");

    public static readonly DiagnosticDescriptor ContainingTypeNotPartial = Error("CG0012", "Cell class nested in a non-partial type",
        "The cell class '{0}' is nested in '{1}', which is not partial: declare '{1}' partial or move the cell out of it");

    public static readonly DiagnosticDescriptor UnusedIntermediate = Warning("CG0013", "Unused intermediate",
        "'{0}' is defined but never read: remove its equation or use it");

    public static readonly DiagnosticDescriptor UnusedInput = Warning("CG0014", "Unused input",
        "The input '{0}[t]' is never read: the cell ignores its input sequence");

    public static readonly DiagnosticDescriptor InputMisuse = Error("CG0015", "Input used other than as x[t]",
        "Input: {0}");

    public static readonly DiagnosticDescriptor SizeMismatch = Error("CG0016", "Sizes do not match",
        "Sizes do not match: {0}");

    public static readonly DiagnosticDescriptor NoEquations = Error("CG0017", "Cell has no equations",
        "The cell class '{0}' has no [Equation] attributes: add one per equation, e.g. [Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b)\")]");

    public static readonly DiagnosticDescriptor InvalidRoleName = Error("CG0018", "Invalid Input or Output name",
        "[RecurrentCell]: {0}");

    public static readonly DiagnosticDescriptor NotACellClass = Error("CG0019", "Class cannot be a generated cell",
        "Not a cell class: {0}");

    public static readonly DiagnosticDescriptor NotAConstantString = Error("CG0020", "Equation is not a constant string",
        "The equation must be a non-null constant string");

    public static readonly DiagnosticDescriptor TimeIndexMisuse = Error("CG0021", "Time index does not fit the name",
        "Time index: {0}");

    public static readonly DiagnosticDescriptor WrongArgumentCount = Error("CG0022", "Wrong number of arguments",
        "'{0}' takes {1} but is given {2}");

    public static readonly DiagnosticDescriptor SizeDeclaration = Error("CG0023", "Invalid [Size] declaration",
        "[Size]: {0}");

    public static readonly DiagnosticDescriptor BlockDiagonalDeclaration = Error("CG0026", "Invalid [BlockDiagonal] declaration",
        "[BlockDiagonal]: {0}");

    public static readonly DiagnosticDescriptor DropoutDeclaration = Error("CG0027", "Invalid [Zoneout], [VariationalDropout] or [DropConnect] declaration",
        "{0}: {1}");

    public static readonly DiagnosticDescriptor HeadsDeclaration = Error("CG0028", "Invalid heads or matrix memory",
        "Heads: {0}");

    public static readonly DiagnosticDescriptor EquationsWithoutCell = Warning("CG0024", "[Equation] without [RecurrentCell]",
        "'{0}' has [Equation] attributes but no [RecurrentCell] or [Layer]: nothing is generated for it; add [RecurrentCell] to make it a cell ([Layer] for equations that read no earlier step)");

    public static readonly DiagnosticDescriptor LanguageVersionTooOld = Error("CG0025", "C# language version too old for generated cells",
        "The generated code of '{0}' needs C# 13 or later (a ref struct that implements an interface), and this project compiles C# {1}: remove <LangVersion> or set it to 13 or later");

    public static readonly DiagnosticDescriptor InternalError = Error("CG0099", "Internal error in the CellGen compiler",
        "CellGen could not compile this cell because of an internal error ({0}); please report it with the equations");

    public static readonly DiagnosticDescriptor[] All =
    {
        SyntaxError, UnknownFunction, ReadBeforeDefinition, DefinedTwice, StateNotUpdated, MatrixAndVector,
        MatrixNotParameter, ConcatenationSizes, OutputMissing, NotPartial, Generic, ContainingTypeNotPartial,
        UnusedIntermediate, UnusedInput, InputMisuse, SizeMismatch, NoEquations, InvalidRoleName, NotACellClass,
        NotAConstantString, TimeIndexMisuse, WrongArgumentCount, SizeDeclaration, EquationsWithoutCell, LanguageVersionTooOld, BlockDiagonalDeclaration, DropoutDeclaration, HeadsDeclaration, InternalError,
    };

    public static DiagnosticDescriptor ById(string id)
    {
        foreach (DiagnosticDescriptor descriptor in All)
            if (descriptor.Id == id) return descriptor;
        throw new System.ArgumentException("Unknown diagnostic " + id, nameof(id));
    }
}
