using System;
using System.IO;
using System.Linq;

namespace CellGen.Package.Tests;

/// <summary>
/// Packs CellGen once, from a copy of the sources (so that the repository's own build output is never touched), into a
/// local feed of its own, with a version no earlier run used.
/// </summary>
public sealed class PackageFixture : IDisposable
{
    public PackageFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "cellgen-package-" + Guid.NewGuid().ToString("N")[..12]);
        Feed = Path.Combine(Root, "feed");
        NuGetPackages = Path.Combine(Root, "packages");
        string sources = Path.Combine(Root, "sources");
        string repository = Dotnet.RepositoryRoot();
        Directory.CreateDirectory(Feed);
        Directory.CreateDirectory(sources);
        foreach (string file in new[] { "Directory.Build.props", "README.md", "LICENSE" })
            File.Copy(Path.Combine(repository, file), Path.Combine(sources, file));
        CopySources(Path.Combine(repository, "src"), Path.Combine(sources, "src"));
        Version = "0.0.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmss");
        Pack = Dotnet.Run(sources, NuGetPackages, "pack", "src/Cells/CellGen.Cells.csproj", "-c", "Release", "-o", Feed,
            $"-p:Version={Version}", "--disable-build-servers");
        Package = Directory.GetFiles(Feed, "*.nupkg").SingleOrDefault();
        File.WriteAllText(Path.Combine(Root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{Feed}" />
              </packageSources>
            </configuration>
            """);
    }

    /// <summary>The temporary directory everything lives in; its nuget.config lists only the local feed.</summary>
    public string Root { get; }

    public string Feed { get; }

    public string NuGetPackages { get; }

    public string Version { get; }

    public Dotnet.Result Pack { get; }

    /// <summary>The .nupkg, or null when packing failed.</summary>
    public string? Package { get; }

    private static void CopySources(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (string directory in Directory.GetDirectories(from))
        {
            string name = Path.GetFileName(directory);
            if (name is "bin" or "obj") continue;
            CopySources(directory, Path.Combine(to, name));
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }          // a build server may still hold a file; the temp folder is cleaned later
        catch (UnauthorizedAccessException) { }
    }
}
