using System;
using CellGen.Generator.Compiler;
using CellGen.Generator.Emit;
using CellGen.Generator.Language;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace CellGen.Generator;

/// <summary>
/// The CellGen incremental generator: [RecurrentCell] classes in, specialised forward and backward passes out.
/// The pipeline only; the compiler's steps live in Language/, Compiler/ and Emit/.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class CellGenerator : IIncrementalGenerator
{
    /// <summary>Tracking names of the pipeline's steps (for incrementality tests).</summary>
    public const string DeclarationStep = "CellDeclarations", CompileStep = "CompiledCells", SourceStep = "CellSources", DiagnosticStep = "CellDiagnostics";

    /// <summary>The MSBuild property that asks for a double-precision variant (Float64) of every cell.</summary>
    public const string EmitFloat64Property = "build_property.CellGenEmitFloat64";

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var withoutCell = context.SyntaxProvider
            .ForAttributeWithMetadataName(Declarations.EquationAttribute, (node, _) => node is TypeDeclarationSyntax, Declarations.WithoutCell)
            .Where(diagnostic => diagnostic is not null);
        context.RegisterSourceOutput(withoutCell.Combine(context.CompilationProvider), (output, pair) => output.ReportDiagnostic(pair.Left!.ToDiagnostic(pair.Right)));

        var emitFloat64 = context.AnalyzerConfigOptionsProvider.Select((options, _) =>
            options.GlobalOptions.TryGetValue(EmitFloat64Property, out string? value) && string.Equals(value, "true", StringComparison.OrdinalIgnoreCase));

        Register(context, emitFloat64, context.SyntaxProvider.ForAttributeWithMetadataName(Declarations.RecurrentCellAttribute, (node, _) => node is TypeDeclarationSyntax, Declarations.Read));
        Register(context, emitFloat64, context.SyntaxProvider.ForAttributeWithMetadataName(Declarations.LayerAttribute, (node, _) => node is TypeDeclarationSyntax, Declarations.ReadLayer)
            .Where(declaration => declaration is not null).Select((declaration, _) => declaration!));
    }

    /// <summary>The pipeline of one kind of declaration: [RecurrentCell] classes, or [Layer] classes (compiled as cells with no earlier step).</summary>
    private static void Register(IncrementalGeneratorInitializationContext context, IncrementalValueProvider<bool> emitFloat64, IncrementalValuesProvider<CellDeclaration> read)
    {
        var declarations = read.WithTrackingName(DeclarationStep);

        // The language version the project compiles (LanguageVersion's value: 1200 for C# 12), so that an old one is a CG error at the cell rather than errors inside generated code.
        var languageVersion = context.ParseOptionsProvider.Select((options, _) => options is CSharpParseOptions csharp ? (int)csharp.LanguageVersion : int.MaxValue);

        var compiled = declarations.Combine(emitFloat64).Combine(languageVersion)
            .Select((pair, _) => CellCompiler.Compile(pair.Left.Left, pair.Left.Right, pair.Right))
            .WithTrackingName(CompileStep);

        var sources = compiled.Select((cell, _) => cell.Spec).WithTrackingName(SourceStep);
        var diagnostics = compiled.Select((cell, _) => cell.Diagnostics).WithTrackingName(DiagnosticStep);

        context.RegisterSourceOutput(sources, (output, spec) =>
        {
            if (spec is null) return;
            // A generator must never throw: an exception here would drop the generated code of every cell of the project.
            try
            {
                output.AddSource(spec.HintName, CellEmitter.Emit(spec));
            }
            catch (System.Exception e) when (e is not System.OperationCanceledException)
            {
                output.ReportDiagnostic(Diagnostic.Create(Diagnostics.InternalError, Location.None, $"{spec.FullName}: {e.GetType().Name}: {e.Message}"));
            }
        });
        // Located in the compilation's own trees, so that #pragma warning disable applies (the cached models hold no trees).
        context.RegisterSourceOutput(diagnostics.Combine(context.CompilationProvider), (output, pair) =>
        {
            foreach (DiagnosticInfo diagnostic in pair.Left) output.ReportDiagnostic(diagnostic.ToDiagnostic(pair.Right));
        });
    }
}
