using System;
using CellGen.Generator.Language;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace CellGen.Generator;

/// <summary>
/// The CellGen incremental generator: [RecurrentCell] and [Layer] classes in, specialised forward and backward passes
/// out. The pipeline only; the compiler's steps live in Language/, Compiler/ and Emit/. It reports nothing: the
/// diagnostics are <see cref="CellAnalyzer"/>'s, which runs the same compiler with locations (a generator that reports
/// must join the whole compilation to place them, and re-runs on every edit).
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class CellGenerator : IIncrementalGenerator
{
    /// <summary>Tracking names of the pipeline's steps (for incrementality tests).</summary>
    public const string DeclarationStep = "CellDeclarations", CompileStep = "CompiledCells", SourceStep = "CellSources";

    /// <summary>The MSBuild property that asks for a double-precision variant (Float64) of every cell.</summary>
    public const string EmitFloat64Property = "build_property.CellGenEmitFloat64";

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var emitFloat64 = context.AnalyzerConfigOptionsProvider.Select((options, _) => EmitsFloat64(options.GlobalOptions));
        // The language version the project compiles (LanguageVersion's value: 1200 for C# 12): below C# 13 nothing is
        // generated (the analyzer says why at the cell) rather than code that fails to compile.
        var languageVersion = context.ParseOptionsProvider.Select((options, _) => LanguageVersionOf(options));

        foreach (string attribute in new[] { Declarations.RecurrentCellAttribute, Declarations.LayerAttribute })
        {
            var declarations = context.SyntaxProvider
                .ForAttributeWithMetadataName(attribute, (node, _) => node is TypeDeclarationSyntax, Declarations.Read)
                .Where(declaration => declaration is not null).Select((declaration, _) => declaration!)
                .WithTrackingName(DeclarationStep);
            var sources = declarations.Combine(emitFloat64).Combine(languageVersion)
                .Select((pair, _) => CellCompiler.Compile(pair.Left.Left, pair.Left.Right, pair.Right).Spec)
                .WithTrackingName(CompileStep)
                .Where(spec => spec is not null).Select((spec, _) => (HintName: spec!.HintName, Text: CellCompiler.TryEmit(spec).Text))
                .WithTrackingName(SourceStep);
            context.RegisterSourceOutput(sources, (output, source) =>
            {
                // An emitter failure adds nothing (the analyzer reports it, CG0099) rather than half a cell.
                if (source.Text is not null) output.AddSource(source.HintName, source.Text);
            });
        }
    }

    internal static bool EmitsFloat64(AnalyzerConfigOptions options) =>
        options.TryGetValue(EmitFloat64Property, out string? value) && string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);

    internal static int LanguageVersionOf(ParseOptions? options) => options is CSharpParseOptions csharp ? (int)csharp.LanguageVersion : int.MaxValue;
}
