using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using CellGen.Generator.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace CellGen.Generator.Language;

/// <summary>
/// One equation as written: its text and, for each character of the text, where it stands in the source, so that a
/// diagnostic can point at the exact characters inside the string literal. When the argument is not a plain literal
/// (a constant, a concatenation), <see cref="Positions"/> is empty and every range points at the whole argument.
/// </summary>
internal sealed record EquationSource(string? Text, SourceSpan Whole, EquatableArray<int> Positions, EquatableArray<int> Lines, EquatableArray<int> Columns)
{
    /// <summary>The location of characters [start, end) of the text.</summary>
    public SourceSpan Locate(TextRange range)
    {
        if (Positions.Count == 0) return Whole;
        int last = Positions.Count - 1;
        int start = System.Math.Min(System.Math.Max(range.Start, 0), last);
        int end = System.Math.Min(System.Math.Max(range.End, start), last);
        return new SourceSpan(Whole.FilePath, Positions[start], Positions[end] - Positions[start], Lines[start], Columns[start], Lines[end], Columns[end]);
    }
}

/// <summary>A [Size("name", "P")] attribute: the name, its size, and where each argument is written.</summary>
internal sealed record SizeDeclaration(string Name, string Size, SourceSpan NameLocation, SourceSpan SizeLocation);

/// <summary>A [BlockDiagonal("R", 4)] attribute: the matrix, its number of blocks, and where each argument is written.</summary>
internal sealed record BlockDeclaration(string Matrix, int Blocks, SourceSpan MatrixLocation, SourceSpan BlocksLocation);

/// <summary>
/// A [Zoneout("h", 0.1)], [VariationalDropout("h", 0.25)] or [DropConnect("h", 0.5)] attribute: what it does, the
/// state, p, and where each argument is written.
/// </summary>
internal sealed record DropoutDeclaration(DropoutKind Kind, string State, double Probability, SourceSpan StateLocation, SourceSpan ProbabilityLocation)
{
    /// <summary>The attribute's name, for messages.</summary>
    public string Attribute => "[" + Kind.Attribute() + "]";
}

/// <summary>A [RecurrentCell] class as the generator sees it: names, equations with their locations, declaration problems.</summary>
internal sealed record CellDeclaration(
    string Namespace,
    string ClassName,
    EquatableArray<ContainingType> Containing,
    string Input,
    string Output,
    EquatableArray<EquationSource> Equations,
    SourceSpan? AttributeLocation,
    EquatableArray<DiagnosticInfo> Problems,
    EquatableArray<SizeDeclaration> Sizes = default,
    EquatableArray<string> Members = default,
    bool IsLayer = false,
    EquatableArray<BlockDeclaration> Blocks = default,
    EquatableArray<DropoutDeclaration> Dropouts = default,
    int Heads = 0,
    SourceSpan? HeadsLocation = null);

/// <summary>Reads a [RecurrentCell] class from Roslyn's symbols and syntax into a <see cref="CellDeclaration"/>.</summary>
internal static class Declarations
{
    public const string RecurrentCellAttribute = "CellGen.RecurrentCellAttribute";
    public const string LayerAttribute = "CellGen.LayerAttribute";
    public const string EquationAttribute = "CellGen.EquationAttribute";

    private const string SizeAttribute = "CellGen.SizeAttribute";
    private const string BlockDiagonalAttribute = "CellGen.BlockDiagonalAttribute";
    private const string ZoneoutAttribute = "CellGen.ZoneoutAttribute";
    private const string VariationalDropoutAttribute = "CellGen.VariationalDropoutAttribute";
    private const string DropConnectAttribute = "CellGen.DropConnectAttribute";
    private const string HeadsAttribute = "CellGen.HeadsAttribute";

    /// <summary>The most blocks a matrix may have: as many as a size may be large (RecurrentCell.MaxSize) would be absurd; heads are few.</summary>
    public const int MaxBlocks = 4096;

    /// <summary>The size [Size] gives a learnable scalar: one value, broadcast wherever it is used.</summary>
    public const string ScalarSize = "1";

    /// <summary>The size [Size] gives one value per head of a cell with [Heads].</summary>
    public const string HeadsSize = "heads";

    /// <summary>The size [Size] gives one P x P matrix per head (matrix memory) of a cell with [Heads].</summary>
    public const string MatrixSize = "matrix";

    /// <summary>Whether a declared size is a parameter of the constructor: not a scalar's, a head's or a matrix memory's.</summary>
    public static bool IsConstructorSize(string size) => size is not (ScalarSize or HeadsSize or MatrixSize);

    /// <summary>Whether the attribute is [RecurrentCell] or [Layer], the two that make a class a generated one.</summary>
    public static bool IsCellAttribute(AttributeData attribute) => attribute.AttributeClass?.ToDisplayString() is RecurrentCellAttribute or LayerAttribute;

    /// <summary>A type with [Equation] attributes and no [RecurrentCell] or [Layer]: a warning at its name (or nothing, for a cell).</summary>
    public static DiagnosticInfo? WithoutCell(INamedTypeSymbol symbol, TypeDeclarationSyntax syntax) =>
        symbol.GetAttributes().Any(IsCellAttribute) ? null
            : new DiagnosticInfo(Diagnostics.EquationsWithoutCell.Id, ToSpan(syntax.Identifier.GetLocation()), new EquatableArray<string>(new[] { symbol.Name }));

    /// <summary>
    /// The declaration of the part <paramref name="syntax"/> of <paramref name="symbol"/> that carries
    /// <paramref name="cellAttribute"/>; null for a [Layer] that is also a [RecurrentCell] (the cell's reading reports
    /// that, once). The generator reads without locations (<paramref name="locate"/> false: its model then stays equal
    /// when the cell only moves in its file); the analyzer reads with them, to point at the characters.
    /// </summary>
    public static CellDeclaration? Read(INamedTypeSymbol symbol, TypeDeclarationSyntax syntax, AttributeData cellAttribute, bool locate, CancellationToken cancellation)
    {
        if (cellAttribute.AttributeClass?.ToDisplayString() == LayerAttribute && symbol.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == RecurrentCellAttribute))
            return null;
        // Whatever it holds, nothing here may throw (an exception in a generator drops the generated code of every cell of
        // the project): an unforeseen one becomes CG0099 at the class, for this cell alone.
        try { return ReadCore(symbol, syntax, cellAttribute, locate, cancellation); }
        catch (System.Exception e) when (e is not System.OperationCanceledException)
        {
            SourceSpan at = ToSpan(syntax.Identifier.GetLocation());
            return new CellDeclaration("", symbol.Name, EquatableArray<ContainingType>.Empty, "x", "h", EquatableArray<EquationSource>.Empty, at,
                new[] { new DiagnosticInfo(Diagnostics.InternalError.Id, at, new EquatableArray<string>(new[] { e.GetType().Name + ": " + e.Message })) }.ToEquatableArray());
        }
    }

    /// <summary>The generator's reading: the node ForAttributeWithMetadataName found, without locations.</summary>
    public static CellDeclaration? Read(GeneratorAttributeSyntaxContext context, CancellationToken cancellation) =>
        Read((INamedTypeSymbol)context.TargetSymbol, (TypeDeclarationSyntax)context.TargetNode, context.Attributes[0], locate: false, cancellation);

    private static CellDeclaration ReadCore(INamedTypeSymbol symbol, TypeDeclarationSyntax syntax, AttributeData cellAttribute, bool locate, CancellationToken cancellation)
    {
        var problems = new List<DiagnosticInfo>();
        SourceSpan ToSpan(Location location) => locate ? Declarations.ToSpan(location) : default;
        SourceSpan At(SyntaxNode node) => ToSpan(node.GetLocation());
        SourceSpan AtToken(SyntaxToken token) => ToSpan(token.GetLocation());
        void Report(DiagnosticDescriptor descriptor, SourceSpan location, params string[] arguments) =>
            problems.Add(new DiagnosticInfo(descriptor.Id, location, new EquatableArray<string>(arguments)));

        bool layer = cellAttribute.AttributeClass?.ToDisplayString() == LayerAttribute;
        string what = layer ? "layer" : "recurrent cell", attributeName = layer ? "[Layer]" : "[RecurrentCell]";
        // What the generated part defines, which the user's part may not: a cell's overrides, a layer's nested variants and hook.
        string[] generatedMembers = layer ? new[] { "Float32", "Initialized" } : new[] { "Equations", "StateNames", "OutputName", "CreateRunner" };
        SourceSpan? attributeLocation = cellAttribute.ApplicationSyntaxReference?.GetSyntax(cancellation) is { } attributeSyntax ? At(attributeSyntax) : AtToken(syntax.Identifier);

        if (syntax is not ClassDeclarationSyntax)
            Report(Diagnostics.NotACellClass, AtToken(syntax.Identifier), $"'{symbol.Name}' is a {syntax.Keyword.ValueText}; a {what} must be a partial class");
        else if (!syntax.Modifiers.Any(SyntaxKind.PartialKeyword))
            Report(Diagnostics.NotPartial, AtToken(syntax.Identifier), symbol.Name);
        if (symbol.IsStatic)
            Report(Diagnostics.NotACellClass, AtToken(syntax.Identifier), $"'{symbol.Name}' is static; a {what} is an instance class: remove 'static'");
        SourceSpan MemberAt(ISymbol member) => member.Locations.FirstOrDefault() is { } memberAt && memberAt.IsInSource ? ToSpan(memberAt) : AtToken(syntax.Identifier);
        // What the user wrote: the analyzer sees the generated part too (the generator, running before it, never does).
        var members = symbol.GetMembers().Where(m => !Generated(m, cancellation)).ToList();
        foreach (ISymbol member in members)
        {
            if (member.IsImplicitlyDeclared) continue;
            if (generatedMembers.Contains(member.Name))
                Report(Diagnostics.NotACellClass, MemberAt(member), layer
                    ? $"'{symbol.Name}' declares a member '{member.Name}', which the generated part of a layer defines: rename or remove yours"
                    : $"'{symbol.Name}' declares a member '{member.Name}', which the generated part defines (it overrides RecurrentCell<float>.{member.Name}): rename or remove yours");
            // A layer's OnCreated is the generated partial method's body: only 'partial void OnCreated()' fits it.
            if (layer && member.Name == "OnCreated"
                && !(member is IMethodSymbol { ReturnsVoid: true, Parameters.Length: 0, IsStatic: false, TypeParameters.Length: 0, DeclaredAccessibility: Accessibility.Private } method
                     && UserReferences(method, cancellation).All(r => r.GetSyntax(cancellation) is MethodDeclarationSyntax m && m.Modifiers.Any(SyntaxKind.PartialKeyword) && m.Modifiers.Count == 1
                         && (m.Body is not null || m.ExpressionBody is not null)))) // the generated part declares it: the user's part gives the body
                Report(Diagnostics.NotACellClass, MemberAt(member),
                    $"'{symbol.Name}' declares '{member.Name}' other than as 'partial void OnCreated() {{ ... }}', the hook the generated constructor calls after drawing the parameters: write it so, or rename it");
        }
        if (generatedMembers.Contains(symbol.Name) || (layer && symbol.Name == "OnCreated"))
            Report(Diagnostics.NotACellClass, AtToken(syntax.Identifier), $"'{symbol.Name}' is the name of a member the generated part of every {what} defines, and a class cannot have a member of its own name: rename the class");
        if (syntax.Modifiers.Any(SyntaxKind.FileKeyword) || symbol.IsFileLocal)
            Report(Diagnostics.NotACellClass, AtToken(syntax.Identifier), $"'{symbol.Name}' is file-local; the generated part of a cell is in a file of its own, so the cell cannot be a 'file' class: remove 'file'");
        if (symbol.GetAttributes().Count(a => a.AttributeClass?.ToDisplayString() is RecurrentCellAttribute or LayerAttribute) > 1)
            Report(Diagnostics.NotACellClass, AtToken(syntax.Identifier), symbol.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == RecurrentCellAttribute)
                && symbol.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == LayerAttribute)
                    ? $"'{symbol.Name}' has both [RecurrentCell] and [Layer]: a class is one or the other (a layer reads no earlier step)"
                    : $"'{symbol.Name}' has {attributeName} on more than one of its parts: keep one");
        foreach (TypeDeclarationSyntax part in symbol.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellation)).OfType<TypeDeclarationSyntax>())
            if (part.ParameterList is not null)
                Report(Diagnostics.NotACellClass, ToSpan(part.ParameterList.GetLocation()),
                    $"'{symbol.Name}' has a primary constructor; a generated {what}'s constructor takes (inputSize{(layer ? "" : ", hiddenSize")}, declared sizes): remove the primary constructor");
        if (symbol.TypeParameters.Length > 0)
            Report(Diagnostics.Generic, AtToken(syntax.Identifier), symbol.Name);
        if (symbol.TypeKind == TypeKind.Class && symbol.BaseType is { SpecialType: not SpecialType.System_Object } baseType
            && !(layer
                ? baseType.Name == "Layer" && baseType.ContainingNamespace?.ToDisplayString() == "CellGen" && baseType.TypeArguments.Length == 0
                : baseType.Name == "RecurrentCell" && baseType.ContainingNamespace?.ToDisplayString() == "CellGen"
                  && baseType.TypeArguments.Length == 1 && baseType.TypeArguments[0].SpecialType == SpecialType.System_Single))
            Report(Diagnostics.NotACellClass, AtToken(syntax.Identifier),
                $"'{symbol.Name}' derives from '{baseType.ToDisplayString()}', but a generated {what} derives from {(layer ? "CellGen.Layer" : "CellGen.RecurrentCell<float>")}: remove the base class");

        var containing = new List<ContainingType>();
        for (INamedTypeSymbol? outer = symbol.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            var declarations = outer.DeclaringSyntaxReferences.Where(r => !IsGeneratedFile(r.SyntaxTree, cancellation)).Select(r => r.GetSyntax(cancellation)).OfType<TypeDeclarationSyntax>().ToList();
            if (declarations.Count == 0 || declarations.Any(d => !d.Modifiers.Any(SyntaxKind.PartialKeyword)))
                Report(Diagnostics.ContainingTypeNotPartial, AtToken(syntax.Identifier), symbol.Name, outer.Name);
            if (outer.TypeParameters.Length > 0)
                Report(Diagnostics.Generic, AtToken(syntax.Identifier), outer.Name);
            TypeDeclarationSyntax? first = declarations.FirstOrDefault();
            string keyword = first is RecordDeclarationSyntax record
                ? "record" + (record.ClassOrStructKeyword.IsKind(SyntaxKind.StructKeyword) ? " struct" : "")
                : first?.Keyword.ValueText ?? "class";
            containing.Insert(0, new ContainingType(keyword, outer.Name));
        }

        string input = "x", output = layer ? "y" : "h";
        foreach (KeyValuePair<string, TypedConstant> argument in cellAttribute.NamedArguments)
        {
            string? value = argument.Value.Value as string;
            if (argument.Key == "Input") input = value ?? "";
            if (argument.Key == "Output") output = value ?? "";
        }
        foreach ((string role, string value) in new[] { ("Input", input), ("Output", output) })
            if (!IsName(value))
                Report(Diagnostics.InvalidRoleName, attributeLocation.Value, $"{role} = \"{value}\" is not a name: use letters, digits and '_', starting with a letter or '_'");
        if (input == output && IsName(input))
            Report(Diagnostics.InvalidRoleName, attributeLocation.Value, $"Input and Output are both '{input}': the input and the output {(layer ? "" : "state ")}need different names");

        var equations = new List<EquationSource>();
        foreach (AttributeData attribute in symbol.GetAttributes())
        {
            cancellation.ThrowIfCancellationRequested();
            if (attribute.AttributeClass?.ToDisplayString() != EquationAttribute) continue;
            var argument = attribute.ApplicationSyntaxReference?.GetSyntax(cancellation) is AttributeSyntax a && a.ArgumentList?.Arguments.Count > 0
                ? a.ArgumentList.Arguments[0].Expression : null;
            string? text = attribute.ConstructorArguments.Length == 1 ? attribute.ConstructorArguments[0].Value as string : null;
            EquationSource source = locate ? Map(text, argument, attribute) : new EquationSource(text, default, EquatableArray<int>.Empty, EquatableArray<int>.Empty, EquatableArray<int>.Empty);
            if (text is null)
            {
                Report(Diagnostics.NotAConstantString, source.Whole);
                continue;
            }
            equations.Add(source);
        }
        // Each application of a declaring attribute ([Size], [BlockDiagonal]), where it is written and where each argument is.
        List<(AttributeData Attribute, SourceSpan Whole, Func<int, SourceSpan> Argument)> Applications(params string[] names)
        {
            var found = new List<(AttributeData, SourceSpan, Func<int, SourceSpan>)>();
            foreach (AttributeData attribute in symbol.GetAttributes())
            {
                if (Array.IndexOf(names, attribute.AttributeClass?.ToDisplayString()) < 0) continue;
                SyntaxNode? node = attribute.ApplicationSyntaxReference?.GetSyntax(cancellation);
                var arguments = node is AttributeSyntax a ? a.ArgumentList?.Arguments : null;
                SourceSpan whole = node is not null ? At(node) : attributeLocation.Value;
                found.Add((attribute, whole, k => arguments is { } list && list.Count > k ? At(list[k].Expression) : whole));
            }
            return found;
        }

        var sizes = new List<SizeDeclaration>();
        foreach ((AttributeData attribute, SourceSpan whole, Func<int, SourceSpan> Argument) in Applications(SizeAttribute))
        {
            string? name = attribute.ConstructorArguments.Length == 2 ? attribute.ConstructorArguments[0].Value as string : null;
            string? size = attribute.ConstructorArguments.Length == 2 ? attribute.ConstructorArguments[1].Value as string : null;
            if (name is null || size is null)
            {
                Report(Diagnostics.SizeDeclaration, whole, "[Size] takes two constant strings: the name and its size, as in [Size(\"r\", \"P\")]");
                continue;
            }
            // "1" is a learnable scalar's size (no constructor parameter; the binder checks that the name is a parameter vector).
            if (size != ScalarSize && (!IsName(size) || SyntaxFacts.GetKeywordKind(size) != SyntaxKind.None))
                Report(Diagnostics.SizeDeclaration, Argument(1), $"the size \"{size}\" is not a C# identifier: it names a parameter of the constructor (or is \"1\", for a learnable scalar)");
            else if (size is "inputSize" or "hiddenSize" or "X" or "H")
                Report(Diagnostics.SizeDeclaration, Argument(1), layer
                    ? $"the size \"{size}\" is taken: inputSize (X) is the layer's own size; give the new size another name"
                    : $"the size \"{size}\" is taken: inputSize (X) and hiddenSize (H) are the cell's own sizes; give the new size another name");
            else if (sizes.FirstOrDefault(d => d.Name == name) is { } earlier)
                Report(Diagnostics.SizeDeclaration, Argument(0), $"'{name}' is given a size twice (\"{earlier.Size}\" and \"{size}\"): keep one [Size] for it");
            else
                sizes.Add(new SizeDeclaration(name, size, Argument(0), Argument(1)));
        }

        var blocks = new List<BlockDeclaration>();
        foreach ((AttributeData attribute, SourceSpan whole, Func<int, SourceSpan> Argument) in Applications(BlockDiagonalAttribute))
        {
            string? matrix = attribute.ConstructorArguments.Length == 2 ? attribute.ConstructorArguments[0].Value as string : null;
            int? count = attribute.ConstructorArguments.Length == 2 ? attribute.ConstructorArguments[1].Value as int? : null;
            if (matrix is null || count is null)
                Report(Diagnostics.BlockDiagonalDeclaration, whole, "it takes a matrix's name and a number of blocks, as in [BlockDiagonal(\"R\", 4)]");
            else if (count < 1 || count > MaxBlocks)
                Report(Diagnostics.BlockDiagonalDeclaration, Argument(1), $"{count} blocks: a matrix has from 1 to {MaxBlocks} blocks along its diagonal");
            else if (blocks.FirstOrDefault(d => d.Matrix == matrix) is { } earlier)
                Report(Diagnostics.BlockDiagonalDeclaration, Argument(0), $"'{matrix}' is declared block-diagonal twice ({earlier.Blocks} and {count} blocks): keep one");
            else
                blocks.Add(new BlockDeclaration(matrix, count.Value, Argument(0), Argument(1)));
        }

        var dropouts = new List<DropoutDeclaration>();
        // In the order they are written: the cell's Dropouts keep it.
        foreach ((AttributeData attribute, SourceSpan whole, Func<int, SourceSpan> Argument) in Applications(ZoneoutAttribute, VariationalDropoutAttribute, DropConnectAttribute))
        {
            DropoutKind kind = attribute.AttributeClass?.ToDisplayString() switch
            {
                ZoneoutAttribute => DropoutKind.Zoneout,
                VariationalDropoutAttribute => DropoutKind.Variational,
                _ => DropoutKind.DropConnect,
            };
            string? state = attribute.ConstructorArguments.Length == 2 ? attribute.ConstructorArguments[0].Value as string : null;
            double? p = attribute.ConstructorArguments.Length == 2 ? attribute.ConstructorArguments[1].Value as double? : null;
            string shown = "[" + kind.Attribute() + "]";
            string written = $"[{kind.Attribute()}(\"h\", {(kind == DropoutKind.Zoneout ? "0.1" : "0.25")})]";
            if (state is null || p is null)
                Report(Diagnostics.DropoutDeclaration, whole, shown, $"it takes a state's name and a probability, as in {written}");
            else if (!(p >= 0 && p < 1))
                Report(Diagnostics.DropoutDeclaration, Argument(1), shown, $"p = {p.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}: a probability in [0, 1) is needed");
            else if (dropouts.FirstOrDefault(d => d.Kind == kind && d.State == state) is { } earlier)
                Report(Diagnostics.DropoutDeclaration, Argument(0), shown, $"'{state}' is given {earlier.Attribute} twice: keep one");
            else
                dropouts.Add(new DropoutDeclaration(kind, state, p.Value, Argument(0), Argument(1)));
        }

        // A constructor of the user's with the generated one's parameters would be defined twice.
        int heads = 0;
        SourceSpan? headsLocation = null;
        foreach ((AttributeData attribute, SourceSpan whole, Func<int, SourceSpan> Argument) in Applications(HeadsAttribute))
        {
            int? count = attribute.ConstructorArguments.Length == 1 ? attribute.ConstructorArguments[0].Value as int? : null;
            if (count is null)
                Report(Diagnostics.HeadsDeclaration, whole, "it takes the number of heads, as in [Heads(4)]");
            else if (count < 1 || count > MaxBlocks)
                Report(Diagnostics.HeadsDeclaration, Argument(0), $"{count} heads: a cell has from 1 to {MaxBlocks} heads");
            else
            {
                heads = count.Value;
                headsLocation = Argument(0);
            }
        }

        var constructorSizes = sizes.Select(s => s.Size).Where(IsConstructorSize).Distinct().ToList();
        int sizeCount = constructorSizes.Count, own = layer ? 1 : 2;
        foreach (IMethodSymbol constructor in symbol.InstanceConstructors.Where(c => !c.IsImplicitlyDeclared && !Generated(c, cancellation)))
            if (constructor.Parameters.Length == own + sizeCount && constructor.Parameters.All(p => p.Type.SpecialType == SpecialType.System_Int32))
                Report(Diagnostics.NotACellClass, constructor.Locations.FirstOrDefault() is { } at ? ToSpan(at) : AtToken(syntax.Identifier),
                    $"'{symbol.Name}' declares a constructor with {own + sizeCount} int parameters, the generated constructor's (inputSize{(layer ? "" : ", hiddenSize")}{string.Concat(constructorSizes.Select(n => ", " + n))}): give yours other parameters or remove it");

        if (equations.Count == 0 && problems.All(p => p.Id != Diagnostics.NotAConstantString.Id))
            Report(Diagnostics.NoEquations, AtToken(syntax.Identifier), symbol.Name);

        return new CellDeclaration(
            symbol.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() : "",
            symbol.Name,
            containing.ToEquatableArray(),
            input,
            output,
            equations.ToEquatableArray(),
            attributeLocation,
            problems.ToEquatableArray(),
            sizes.ToEquatableArray(),
            members.Select(m => m.Name).Where(n => !n.StartsWith(".", System.StringComparison.Ordinal)).Distinct().OrderBy(n => n, System.StringComparer.Ordinal).ToEquatableArray(),
            layer,
            blocks.ToEquatableArray(),
            dropouts.ToEquatableArray(),
            heads,
            headsLocation);
    }

    /// <summary>Whether the member is declared only in files the generator wrote (<see cref="GeneratedFile"/>).</summary>
    private static bool Generated(ISymbol member, CancellationToken cancellation) =>
        member.DeclaringSyntaxReferences.Length > 0 && !UserReferences(member, cancellation).Any();

    /// <summary>
    /// The member's declarations outside the generator's files; a partial method's two parts both (Roslyn gives the
    /// definition's symbol the implementation's reference too, as PartialImplementationPart).
    /// </summary>
    private static IEnumerable<SyntaxReference> UserReferences(ISymbol member, CancellationToken cancellation) =>
        member.DeclaringSyntaxReferences
            .Concat(member is IMethodSymbol { PartialImplementationPart: { } implementation } ? implementation.DeclaringSyntaxReferences : Enumerable.Empty<SyntaxReference>())
            .Where(r => !IsGeneratedFile(r.SyntaxTree, cancellation));

    private static bool IsGeneratedFile(SyntaxTree tree, CancellationToken cancellation)
    {
        SourceText text = tree.GetText(cancellation);
        return text.Length >= GeneratedFile.Start.Length && text.ToString(new TextSpan(0, GeneratedFile.Start.Length)) == GeneratedFile.Start;
    }

    private static bool IsName(string name) =>
        name.Length > 0 && (char.IsLetter(name[0]) && name[0] < 128 || name[0] == '_') && name.All(c => c < 128 && (char.IsLetterOrDigit(c) || c == '_'));

    private static SourceSpan ToSpan(Location location)
    {
        FileLinePositionSpan lines = location.GetLineSpan();
        return new SourceSpan(lines.Path ?? "", location.SourceSpan.Start, location.SourceSpan.Length,
            lines.StartLinePosition.Line, lines.StartLinePosition.Character, lines.EndLinePosition.Line, lines.EndLinePosition.Character);
    }

    /// <summary>Maps each character of the equation to its place in the literal, where the argument is one.</summary>
    private static EquationSource Map(string? text, ExpressionSyntax? argument, AttributeData attribute)
    {
        Location location = argument?.GetLocation() ?? attribute.ApplicationSyntaxReference?.GetSyntax().GetLocation() ?? Location.None;
        SourceSpan whole = ToSpan(location);
        SourceText? source = location.SourceTree?.GetText();
        if (text is null || argument is not LiteralExpressionSyntax literal || source is null)
            return new EquationSource(text, whole, EquatableArray<int>.Empty, EquatableArray<int>.Empty, EquatableArray<int>.Empty);
        var positions = new int[text.Length + 1];
        if (!StringLiterals.TryMap(literal.Token, text, positions))
            return new EquationSource(text, whole, EquatableArray<int>.Empty, EquatableArray<int>.Empty, EquatableArray<int>.Empty);
        var lines = new int[positions.Length];
        var columns = new int[positions.Length];
        for (int i = 0; i < positions.Length; i++)
        {
            LinePosition position = source.Lines.GetLinePosition(positions[i]);
            lines[i] = position.Line;
            columns[i] = position.Character;
        }
        return new EquationSource(text, whole, positions.ToEquatableArray(), lines.ToEquatableArray(), columns.ToEquatableArray());
    }
}
