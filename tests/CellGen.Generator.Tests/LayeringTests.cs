using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>
/// The generator's folders are its layers, each a namespace that uses only those below it: Model (shared models, the
/// operation table) under Language (parse, bind) under Compiler (lower, optimise, derive, schedule) under Emit; the
/// pipeline (CellGenerator, CellCompiler) at the root uses them all. No namespace cycle.
/// </summary>
public sealed class LayeringTests
{
    private static readonly string[] Layers = { "Model", "Language", "Compiler", "Emit" };

    [Fact]
    public void EachFolderIsOneNamespaceThatUsesOnlyTheLayersBelowIt()
    {
        string root = Path.Combine(GeneratorHarness.RepositoryRoot, "src", "Generator");
        int files = 0;
        for (int rank = 0; rank < Layers.Length; rank++)
        {
            foreach (string file in Directory.GetFiles(Path.Combine(root, Layers[rank]), "*.cs"))
            {
                files++;
                string text = File.ReadAllText(file);
                Assert.Matches(new Regex($@"^namespace CellGen\.Generator\.{Layers[rank]};", RegexOptions.Multiline), text);
                foreach (Match used in Regex.Matches(text, @"CellGen\.Generator\.(\w+)"))
                {
                    int other = System.Array.IndexOf(Layers, used.Groups[1].Value);
                    Assert.True(other <= rank, $"{Layers[rank]}/{Path.GetFileName(file)} uses {used.Value}, a layer above it");
                }
            }
        }
        Assert.True(files > 20, $"only {files} files read");
    }
}
