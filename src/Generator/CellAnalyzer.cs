using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using CellGen.Generator.Language;
using CellGen.Generator.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace CellGen.Generator;

/// <summary>
/// Every CellGen diagnostic, at its characters: reads each [RecurrentCell] and [Layer] class as the generator does and
/// runs the same compiler over it (<see cref="CellCompiler"/>), so that what it reports is exactly why the generator
/// emits nothing, or emits what it does. Separate from the generator, as the Roslyn cookbook recommends and as
/// LibraryImport and the MVVM Toolkit do: the generator's pipeline then holds no locations and joins no compilation.
/// </summary>
[DiagnosticAnalyzer(Microsoft.CodeAnalysis.LanguageNames.CSharp)]
public sealed class CellAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = Diagnostics.All.ToImmutableArray();

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        // A cell's symbol is generated code once its generated part exists (that part is [GeneratedCode]): analysed all the same.
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.Analyze | GeneratedCodeAnalysisFlags.ReportDiagnostics);
        context.EnableConcurrentExecution();
        context.RegisterSymbolAction(Analyze, SymbolKind.NamedType);
    }

    private static void Analyze(SymbolAnalysisContext context)
    {
        var symbol = (INamedTypeSymbol)context.Symbol;
        ImmutableArray<AttributeData> attributes = symbol.GetAttributes();
        if (!attributes.Any(a => a.AttributeClass?.ToDisplayString() is Declarations.RecurrentCellAttribute or Declarations.LayerAttribute or Declarations.EquationAttribute))
            return;

        var diagnostics = new List<DiagnosticInfo>();
        bool emitFloat64 = CellGenerator.EmitsFloat64(context.Options.AnalyzerConfigOptionsProvider.GlobalOptions);
        // One reading per part that carries the attribute, as ForAttributeWithMetadataName gives the generator.
        var seen = new HashSet<TypeDeclarationSyntax>();
        foreach (AttributeData attribute in attributes)
        {
            if (PartOf(attribute, context) is not { } part) continue;
            if (Declarations.IsCellAttribute(attribute))
            {
                if (seen.Contains(part) || Declarations.Read(symbol, part, attribute, locate: true, context.CancellationToken) is not { } declaration) continue;
                seen.Add(part);
                CompiledCell compiled = CellCompiler.Compile(declaration, emitFloat64, CellGenerator.LanguageVersionOf(part.SyntaxTree.Options));
                diagnostics.AddRange(compiled.Diagnostics);
                // The generator emits what compiles; an emitter failure is reported here, since the generator reports nothing.
                if (compiled.Spec is not null && CellCompiler.TryEmit(compiled.Spec).Error is { } error)
                    diagnostics.Add(new DiagnosticInfo(Diagnostics.InternalError.Id, declaration.AttributeLocation, new EquatableArray<string>(new[] { error })));
            }
        }
        foreach (AttributeData attribute in attributes)
            if (attribute.AttributeClass?.ToDisplayString() == Declarations.EquationAttribute && PartOf(attribute, context) is { } part && seen.Add(part)
                && Declarations.WithoutCell(symbol, part) is { } without)
                diagnostics.Add(without);

        Compilation compilation = context.Compilation;
        foreach (DiagnosticInfo diagnostic in diagnostics.Distinct())
            context.ReportDiagnostic(diagnostic.ToDiagnostic(compilation));
    }

    private static TypeDeclarationSyntax? PartOf(AttributeData attribute, SymbolAnalysisContext context) =>
        attribute.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken).FirstAncestorOrSelf<TypeDeclarationSyntax>();
}
