using System;
using System.ComponentModel;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>
/// The runtime types that only generated code calls (products, sweeps, lanes) are public because generated code lives
/// in the user's assembly, and hidden from IntelliSense, so that what a user sees is the API written for them.
/// </summary>
public sealed class SupportTypesTests
{
    /// <summary>What generated code names and users use too.</summary>
    private static readonly string[] UserFacing = { "RecurrentCell", "SequenceRunner", "ParameterBlock", "Parameter" };

    private static bool Hidden(MemberInfo member) =>
        member.GetCustomAttribute<EditorBrowsableAttribute>()?.State == EditorBrowsableState.Never;

    [Fact]
    public void EveryRuntimeTypeThatOnlyGeneratedCodeNamesIsHidden()
    {
        string folder = Path.Combine(GeneratorHarness.RepositoryRoot, "tests", "CellGen.Generator.Tests", "Snapshots");
        var named = Directory.GetFiles(folder, "*.cs")
            .SelectMany(file => Regex.Matches(File.ReadAllText(file), @"global::CellGen\.([A-Za-z0-9]+)").Select(m => m.Groups[1].Value))
            .Distinct().Except(UserFacing).ToList();
        Assert.NotEmpty(named);
        Assembly runtime = typeof(SequenceRunner<>).Assembly;
        var types = runtime.GetExportedTypes().ToLookup(t => t.Name.Split('`')[0]);
        var lanes = runtime.GetExportedTypes().Where(t => t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ISimd<,>)));
        var visible = named.SelectMany(name => types[name]).Concat(lanes).Where(t => !Hidden(t)).Select(t => t.Name).ToList();
        Assert.True(visible.Count == 0, $"visible support types: {string.Join(", ", visible)}");
    }

    [Fact]
    public void TheMembersOnlyGeneratedRunnersAndCellsCallAreHidden()
    {
        foreach (Type type in new[] { typeof(SequenceRunner<float>), typeof(RecurrentCell<float>) })
        {
            var visible = type.GetMembers(BindingFlags.Instance | BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                .Where(m => m is MethodBase { IsFamily: true, IsSpecialName: false } or PropertyInfo { GetMethod.IsFamily: true })
                .Where(m => !Hidden(m)).Select(m => m.Name).ToList();
            Assert.True(visible.Count == 0, $"{type.Name}: visible protected members: {string.Join(", ", visible)}");
        }
    }
}
