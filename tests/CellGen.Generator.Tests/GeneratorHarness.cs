using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace CellGen.Generator.Tests;

/// <summary>Runs the CellGen generator in-process over test sources, compiled against the running framework.</summary>
public static class GeneratorHarness
{
    /// <summary>The running framework's System assemblies and CellGen's runtime.</summary>
    public static ImmutableArray<MetadataReference> References => s_references.Value;

    private static readonly Lazy<ImmutableArray<MetadataReference>> s_references = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Append(typeof(RecurrentCell<>).Assembly.Location)
            .Distinct();
        return paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToImmutableArray();
    });

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Preview);

    public static readonly CSharpCompilationOptions CompilationOptions =
        new(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true);

    public static CSharpCompilation Compilation(params (string Path, string Source)[] sources) =>
        CSharpCompilation.Create("Cells" + Guid.NewGuid().ToString("N"),
            sources.Select(s => CSharpSyntaxTree.ParseText(s.Source, ParseOptions, s.Path)),
            s_references.Value,
            CompilationOptions);

    public static GeneratorDriver Driver(bool emitFloat64 = false, bool track = false) =>
        CSharpGeneratorDriver.Create(
            new[] { new CellGenerator().AsSourceGenerator() },
            parseOptions: ParseOptions,
            optionsProvider: OptionsProvider(emitFloat64),
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: track));

    private static AnalyzerConfigOptionsProvider OptionsProvider(bool emitFloat64) =>
        new Options(emitFloat64 ? new Dictionary<string, string> { [CellGenerator.EmitFloat64Property] = "true" } : new());

    /// <summary>CellGen's analyzer over a compilation, as a build runs it: its diagnostics, and AD0001 if it threw.</summary>
    public static ImmutableArray<Diagnostic> Analyze(Compilation compilation, bool emitFloat64 = false) =>
        compilation.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new CellAnalyzer()),
                new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty, OptionsProvider(emitFloat64)))
            .GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();

    /// <summary>
    /// Generates, and returns the output compilation with every diagnostic: the analyzer's over the user's sources and
    /// the compiler's. The generator itself must report nothing: a CG diagnostic from it throws here, in every test.
    /// </summary>
    public static Result Run(CSharpCompilation compilation, bool emitFloat64 = false)
    {
        GeneratorDriver driver = Driver(emitFloat64).RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out ImmutableArray<Diagnostic> generatorDiagnostics);
        if (generatorDiagnostics.FirstOrDefault(d => d.Id.StartsWith("CG", StringComparison.Ordinal)) is { } reported)
            throw new InvalidOperationException("The generator reported a diagnostic (the analyzer's job): " + reported);
        GeneratorDriverRunResult run = driver.GetRunResult();
        return new Result(output, run, generatorDiagnostics, Analyze(output, emitFloat64));
    }

    public static Result Run(string source, bool emitFloat64 = false) => Run(Compilation(("Cell.cs", source)), emitFloat64);

    /// <param name="GeneratorDiagnostics">The generator driver's (CS8785 when the generator throws; never a CG one).</param>
    /// <param name="AnalyzerDiagnostics">CellGen's analyzer's (AD0001 when it throws).</param>
    public sealed record Result(Compilation Output, GeneratorDriverRunResult RunResult, ImmutableArray<Diagnostic> GeneratorDiagnostics, ImmutableArray<Diagnostic> AnalyzerDiagnostics)
    {
        public IReadOnlyList<Diagnostic> CellGenDiagnostics => AnalyzerDiagnostics.Where(d => d.Id.StartsWith("CG", StringComparison.Ordinal)).ToList();

        /// <summary>What says CellGen broke rather than the cell: the generator or the analyzer threw, or an internal error.</summary>
        public IReadOnlyList<Diagnostic> Crashes => GeneratorDiagnostics.Concat(AnalyzerDiagnostics).Where(d => d.Id is "CS8785" or "AD0001" or "CG0099").ToList();

        public IReadOnlyList<Diagnostic> CompileErrors =>
            Output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();

        public Exception? GeneratorException => RunResult.Results.Select(r => r.Exception).FirstOrDefault(e => e is not null);

        /// <summary>The generated source of a cell by its full name ("Test.C").</summary>
        public string Source(string fullName) => RunResult.Results.SelectMany(r => r.GeneratedSources).Single(s => IsSourceOf(s.HintName, fullName)).SourceText.ToString();

        /// <summary>Emits the compilation and loads it in a collectible context.</summary>
        public Assembly Load()
        {
            using var stream = new MemoryStream();
            var emit = Output.Emit(stream);
            if (!emit.Success)
                throw new InvalidOperationException("Compilation failed:\n" + string.Join("\n", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(20)));
            stream.Position = 0;
            return new AssemblyLoadContext("cells", isCollectible: true).LoadFromStream(stream);
        }
    }

    private sealed class Options : AnalyzerConfigOptionsProvider
    {
        private readonly ConfigOptions _global;

        public Options(Dictionary<string, string> values) => _global = new ConfigOptions(values);

        public override AnalyzerConfigOptions GlobalOptions => _global;

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => ConfigOptions.Empty;

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => ConfigOptions.Empty;
    }

    private sealed class ConfigOptions : AnalyzerConfigOptions
    {
        public static readonly ConfigOptions Empty = new(new Dictionary<string, string>());
        private readonly Dictionary<string, string> _values;

        public ConfigOptions(Dictionary<string, string> values) => _values = values;

        public override bool TryGetValue(string key, out string value) => _values.TryGetValue(key, out value!);
    }

    /// <summary>
    /// Whether a generated file (its hint name or path) is the cell <paramref name="fullName"/>'s: the name, then the
    /// '-' and the case of its letters in hex where any is upper case (CellSpec.HintName), then ".g.cs".
    /// </summary>
    public static bool IsSourceOf(string hintNameOrPath, string fullName) =>
        System.Text.RegularExpressions.Regex.IsMatch(hintNameOrPath, "(^|[/\\\\])" + System.Text.RegularExpressions.Regex.Escape(fullName) + "(-[0-9a-f]+)?\\.g\\.cs$");

    /// <summary>The repository root (the folder of CellGen.sln).</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
                if (File.Exists(Path.Combine(dir, "CellGen.sln"))) return dir;
            throw new InvalidOperationException("CellGen.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The cell "C" of namespace Test with <paramref name="attributes"/> ([BlockDiagonal], [Heads], [Size] ...) above its class.</summary>
    public static string CellWith(string attributes, params string[] equations) =>
        Cell("C", equations).Replace("public partial class", attributes + "\npublic partial class");

    /// <summary>Generates (the float and double variants) and compiles <paramref name="source"/>, which must give no CellGen diagnostic, and loads it.</summary>
    public static System.Reflection.Assembly CompileWithFloat64(string source)
    {
        Result result = Run(Compilation(("C.cs", source)), emitFloat64: true);
        Xunit.Assert.True(result.CompileErrors.Count == 0 && result.CellGenDiagnostics.Count == 0 && result.Crashes.Count == 0,
            string.Join("\n", result.CompileErrors.Concat(result.CellGenDiagnostics).Concat(result.Crashes)) + "\n" + result.GeneratorException);
        return result.Load();
    }

    /// <summary>A cell class declaration with the given equations.</summary>
    public static string Cell(string name, IEnumerable<string> equations, string? attribute = null, string ns = "Test") =>
        $"using CellGen;\nnamespace {ns};\n\n[{attribute ?? "RecurrentCell"}]\n" +
        string.Concat(equations.Select(e => $"[Equation(\"{e}\")]\n")) +
        $"public partial class {name};\n";
}
