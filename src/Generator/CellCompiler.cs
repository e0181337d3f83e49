using System.Collections.Generic;
using System.Linq;
using CellGen.Generator.Emit;
using CellGen.Generator.Compiler;
using CellGen.Generator.Language;
using CellGen.Generator.Model;
using Microsoft.CodeAnalysis;

namespace CellGen.Generator;

/// <summary>What compiling one cell gives: the spec to emit (null when there are errors) and the diagnostics.</summary>
internal sealed record CompiledCell(CellSpec? Spec, EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>The pipeline for one cell: Parse, Bind, Lower, Optimise, Derive, Schedule. Pure: declaration in, spec out.</summary>
internal static class CellCompiler
{
    /// <summary>The oldest C# the generated code compiles under (ref struct kernels implement an interface: C# 13).</summary>
    public const int MinimumLanguageVersion = 1300;

    public static CompiledCell Compile(CellDeclaration declaration, bool emitFloat64, int languageVersion = int.MaxValue)
    {
        var diagnostics = new List<DiagnosticInfo>(declaration.Problems);
        try
        {
            if (languageVersion < MinimumLanguageVersion)
                diagnostics.Add(new DiagnosticInfo(Diagnostics.LanguageVersionTooOld.Id, declaration.AttributeLocation, new EquatableArray<string>(new[]
                {
                    declaration.ClassName, languageVersion % 100 == 0 ? (languageVersion / 100).ToString(System.Globalization.CultureInfo.InvariantCulture) : languageVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
                })));
            if (emitFloat64 && (declaration.ClassName == "Float64" || declaration.Members.Contains("Float64")))
                diagnostics.Add(new DiagnosticInfo(Diagnostics.NotACellClass.Id, declaration.AttributeLocation, new EquatableArray<string>(new[]
                {
                    $"'{declaration.ClassName}' {(declaration.ClassName == "Float64" ? "is called" : "has a member called")} Float64, the name of the double-precision variant that CellGenEmitFloat64 adds: rename it, or turn the option off",
                })));
            if (HasErrors(diagnostics)) return new CompiledCell(null, diagnostics.ToEquatableArray());

            var syntax = new List<EquationSyntax>();
            for (int i = 0; i < declaration.Equations.Count; i++)
            {
                (EquationSyntax? equation, EquationProblem? problem) = Parser.Parse(declaration.Equations[i].Text!, i);
                if (equation is not null) syntax.Add(equation);
                if (problem is not null) diagnostics.Add(Locate(declaration, problem));
            }
            if (declaration.IsLayer)
            {
                (IReadOnlyList<EquationSyntax> asCell, IReadOnlyList<EquationProblem> problems) = LayerSyntax.AsCell(syntax, declaration.Input, declaration.Output);
                syntax = asCell.ToList();
                diagnostics.AddRange(problems.Select(p => Locate(declaration, p)));
            }
            if (HasErrors(diagnostics)) return new CompiledCell(null, diagnostics.ToEquatableArray());

            Binder.BindResult bound = Binder.Bind(syntax, declaration.Input, declaration.Output, declaration.Sizes, declaration.IsLayer, declaration.Blocks, declaration.Dropouts, declaration.Heads);
            BoundCell? cell = bound.Cell;
            diagnostics.AddRange(bound.Problems.Select(p => Locate(declaration, p)));
            diagnostics.AddRange(bound.CellProblems.Select(p => new DiagnosticInfo(p.Id, declaration.AttributeLocation, p.Arguments)));
            diagnostics.AddRange(bound.DeclarationProblems);
            if (cell is null || HasErrors(diagnostics)) return new CompiledCell(null, diagnostics.ToEquatableArray());

            CellSchedule schedule = Scheduler.Schedule(Derivation.Derive(Optimiser.Optimise(Lowering.Lower(cell))));
            var spec = new CellSpec(declaration.Namespace, declaration.ClassName, declaration.Containing, schedule, emitFloat64, declaration.Members, declaration.IsLayer);
            return new CompiledCell(spec, diagnostics.ToEquatableArray());
        }
        catch (System.Exception e) when (e is not System.OperationCanceledException)
        {
            diagnostics.Add(new DiagnosticInfo(Diagnostics.InternalError.Id, declaration.AttributeLocation,
                new EquatableArray<string>(new[] { e.GetType().Name + ": " + e.Message })));
            return new CompiledCell(null, diagnostics.ToEquatableArray());
        }
    }

    /// <summary>The generated source of a compiled cell, or what made the emitter fail (an internal error, CG0099) instead of an exception.</summary>
    public static (string? Text, string? Error) TryEmit(CellSpec spec)
    {
        try
        {
            return (CellEmitter.Emit(spec), null);
        }
        catch (System.Exception e) when (e is not System.OperationCanceledException)
        {
            return (null, $"{spec.FullName}: {e.GetType().Name}: {e.Message}");
        }
    }

    private static bool HasErrors(IEnumerable<DiagnosticInfo> diagnostics) =>
        diagnostics.Any(d => Diagnostics.ById(d.Id).DefaultSeverity == DiagnosticSeverity.Error);

    private static DiagnosticInfo Locate(CellDeclaration declaration, EquationProblem problem)
    {
        EquationSource equation = declaration.Equations[problem.Equation];
        // A replacement edits the literal's characters: offered only where each character of the text maps to the source.
        return new(problem.Id, equation.Locate(problem.Range), problem.Arguments, equation.Positions.Count > 0 ? problem.Replacement : null);
    }
}
