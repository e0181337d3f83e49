using System;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit;

namespace CellGen.Package.Tests;

/// <summary>
/// What a new user does: add the CellGen package to a fresh console project, paste the README's quick start, build with
/// warnings as errors and run it; then write a cell with a mistake and read the build error.
/// </summary>
[Trait("Category", "Package")]
[Trait("Category", "Slow")] // out of the daily loop (dotnet test --filter "Category!=Slow"); CI runs it
public sealed class PackageTests(PackageFixture package) : IClassFixture<PackageFixture>
{
    [Fact]
    public void PackageHoldsTheRuntimeTheCellsAndTheGenerator()
    {
        Assert.True(package.Package is not null, $"dotnet pack made no package: {package.Pack}");
        using ZipArchive zip = ZipFile.OpenRead(package.Package!);
        string[] entries = zip.Entries.Select(e => e.FullName).ToArray();
        foreach (string expected in new[]
        {
            "lib/net10.0/CellGen.Cells.dll", "lib/net10.0/CellGen.Cells.xml",
            "lib/net10.0/CellGen.Runtime.dll", "lib/net10.0/CellGen.Runtime.xml",
            "analyzers/dotnet/cs/CellGen.Generator.dll", "analyzers/dotnet/cs/CellGen.CodeFixes.dll",
            "build/CellGen.props", "buildTransitive/CellGen.props", "README.md", "LICENSE", "CellGen.nuspec",
        })
            Assert.True(entries.Contains(expected), $"{expected} missing from the package; it holds:\n{string.Join('\n', entries)}");
        Assert.DoesNotContain(entries, e => e.StartsWith("lib/", StringComparison.Ordinal) && e.Contains("Generator", StringComparison.Ordinal));
        // The lane types' generator is a step of this repository's build, not of a user's.
        Assert.DoesNotContain(entries, e => e.Contains("LaneGenerator", StringComparison.Ordinal));

        using Stream nuspecStream = zip.GetEntry("CellGen.nuspec")!.Open();
        XElement metadata = XDocument.Load(nuspecStream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string Value(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value ?? "";
        Assert.Equal("CellGen", Value("id"));
        Assert.Equal(package.Version, Value("version"));
        Assert.Equal("MIT", Value("license"));
        Assert.Equal("README.md", Value("readme"));
        Assert.False(string.IsNullOrWhiteSpace(Value("description")));
        Assert.Contains(metadata.Elements(), e => e.Name.LocalName == "repository" && e.Attribute("url")?.Value.StartsWith("https://", StringComparison.Ordinal) == true);
        // The runtime and the generator are inside, not dependencies; the dependencies are the unpickler that reads
        // torch.save files and Protocol Buffers for ONNX (ONNX Runtime, used by the tests and the bench, never is one).
        var dependencies = metadata.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => e.Attribute("id")?.Value).Distinct().Order().ToArray();
        Assert.Equal(new[] { "Google.Protobuf" }, dependencies);
    }

    [Fact]
    public void ReadmeQuickStartBuildsWithoutWarningsAndTrains()
    {
        string app = NewConsoleProject("QuickStart");
        File.WriteAllText(Path.Combine(app, "Program.cs"), QuickStart());

        Dotnet.Result build = Dotnet.Run(app, package.NuGetPackages, "build", "-c", "Release", "-warnaserror", "--disable-build-servers");
        Assert.True(build.ExitCode == 0, $"the quick start does not build against the package: {build}");
        Assert.Matches(new Regex(@"\b0 Warning\(s\)"), build.Output);

        Dotnet.Result run = Dotnet.Run(app, package.NuGetPackages, "run", "-c", "Release", "--no-build");
        Assert.True(run.ExitCode == 0, $"the quick start failed: {run}");
        double[] errors = Regex.Matches(run.Output, @"mean squared error (\d+\.\d+)")
            .Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
        Assert.True(errors.Length >= 2, $"the quick start printed no errors to compare: {run.Output}");
        // It learns: the error ends below what always answering 0.5 scores (1/120 for the mean of ten uniforms).
        Assert.True(errors[^1] < errors[0] && errors[^1] < 1.0 / 120, $"the quick start did not learn: {run.Output}");

        // And it prints what the README says it prints, line for line; only the last digit of each error may differ, as
        // the README says.
        string[] printed = run.Output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.StartsWith("step ", StringComparison.Ordinal) || l.StartsWith("(always", StringComparison.Ordinal)).ToArray();
        string[] promised = QuickStartOutput();
        Assert.Equal(promised.Length, printed.Length);
        for (int i = 0; i < promised.Length; i++)
        {
            Match p = Regex.Match(promised[i], @"^(.*?)(\d+\.\d+)$"), a = Regex.Match(printed[i], @"^(.*?)(\d+\.\d+)$");
            if (!p.Success || promised[i].StartsWith('(')) { Assert.Equal(promised[i], printed[i]); continue; }
            Assert.True(a.Success && a.Groups[1].Value == p.Groups[1].Value, $"line {i}: README '{promised[i]}', printed '{printed[i]}'");
            double lastDigit = Math.Pow(10, -(p.Groups[2].Value.Length - p.Groups[2].Value.IndexOf('.') - 1));
            double difference = Math.Abs(double.Parse(a.Groups[2].Value, CultureInfo.InvariantCulture) - double.Parse(p.Groups[2].Value, CultureInfo.InvariantCulture));
            Assert.True(difference <= 9 * lastDigit * 1.0001, $"line {i}: README '{promised[i]}', printed '{printed[i]}' (more than the last digit differs)");
        }
    }

    /// <summary>The README's block of what the quick start prints: the first plain block after the C# one.</summary>
    private static string[] QuickStartOutput()
    {
        string readme = File.ReadAllText(Path.Combine(Dotnet.RepositoryRoot(), "README.md"));
        int section = readme.IndexOf("## Quick start", StringComparison.Ordinal);
        int code = readme.IndexOf("```csharp\n", section, StringComparison.Ordinal);
        int start = readme.IndexOf("\n```\n", readme.IndexOf("\n```", code + 10, StringComparison.Ordinal) + 4, StringComparison.Ordinal) + "\n```\n".Length;
        int end = readme.IndexOf("\n```", start, StringComparison.Ordinal);
        return readme[start..end].Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public void BrokenEquationFailsTheBuildAtItsCharacters()
    {
        string app = NewConsoleProject("Broken");
        string[] cell =
        {
            "using CellGen;",
            "",
            "[RecurrentCell]",
            "[Equation(\"h[t] = tanh(W @ [h[t-1], x[t]] + b + c[t-1])\")]",
            "public partial class Broken;",
        };
        File.WriteAllLines(Path.Combine(app, "Broken.cs"), cell);
        int line = 4, column = cell[3].IndexOf("c[t-1]", StringComparison.Ordinal) + 1;
        // A warning under #pragma warning disable is suppressed; the same warning elsewhere is not.
        File.WriteAllLines(Path.Combine(app, "Warnings.cs"), new[]
        {
            "using CellGen;",
            "#pragma warning disable CG0013",
            "[RecurrentCell]",
            "[Equation(\"unusedQuiet = tanh(W @ x[t])\")]",
            "[Equation(\"h[t] = tanh(U @ [h[t-1], x[t]] + b)\")]",
            "public partial class Quiet;",
            "#pragma warning restore CG0013",
            "[RecurrentCell]",
            "[Equation(\"unusedLoud = tanh(W @ x[t])\")]",
            "[Equation(\"h[t] = tanh(U @ [h[t-1], x[t]] + b)\")]",
            "public partial class Loud;",
        });

        Dotnet.Result build = Dotnet.Run(app, package.NuGetPackages, "build", "-c", "Release", "--disable-build-servers");
        Assert.NotEqual(0, build.ExitCode);
        Assert.True(Regex.IsMatch(build.Output, $@"Broken\.cs\({line},{column}\): error CG0005: 'c\[t-1\]'"),
            $"expected CG0005 at Broken.cs({line},{column}): {build}");
        Assert.Contains("docs/diagnostics.md#cg0005", build.Output); // the help link
        // The README's example of the error is what the build prints, but for the file's name and place.
        string readme = File.ReadAllText(Path.Combine(Dotnet.RepositoryRoot(), "README.md"));
        Match example = Regex.Match(readme, @"\n\S+\.cs\(\d+,\d+\): (error CG0005: [^\n]*)\n");
        Assert.True(example.Success, "the README has no example of CG0005");
        Assert.Contains(example.Groups[1].Value, build.Output);
        Assert.Contains("'unusedLoud' is defined but never read", build.Output);
        Assert.DoesNotContain("'unusedQuiet' is defined but never read", build.Output);
    }

    /// <summary>`dotnet new console`, then `dotnet add package CellGen` from the local feed.</summary>
    private string NewConsoleProject(string name)
    {
        string app = Path.Combine(package.Root, name);
        Dotnet.Result created = Dotnet.Run(package.Root, package.NuGetPackages, "new", "console", "-o", app);
        Assert.True(created.ExitCode == 0, $"dotnet new console failed: {created}");
        Dotnet.Result added = Dotnet.Run(app, package.NuGetPackages, "add", "package", "CellGen", "--version", package.Version);
        Assert.True(added.ExitCode == 0, $"dotnet add package CellGen failed: {added}");
        return app;
    }

    /// <summary>The README's quick start: the first C# block after the "Quick start" heading, as it is.</summary>
    private static string QuickStart()
    {
        string readme = File.ReadAllText(Path.Combine(Dotnet.RepositoryRoot(), "README.md"));
        int section = readme.IndexOf("## Quick start", StringComparison.Ordinal);
        Assert.True(section >= 0, "README.md has no '## Quick start' section");
        int start = readme.IndexOf("```csharp\n", section, StringComparison.Ordinal);
        Assert.True(start >= 0, "the quick start has no C# block");
        start += "```csharp\n".Length;
        int end = readme.IndexOf("\n```", start, StringComparison.Ordinal);
        return readme[start..end] + "\n";
    }
}
