using System.ComponentModel;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using System;
using CellGen.CompilerServices;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>
/// The runtime types that only generated code calls (products, sweeps, lanes) are public because generated code lives
/// in the user's assembly, and hidden from IntelliSense, so that what a user sees is the API written for them.
/// </summary>
public sealed class SupportTypesTests
{
    /// <summary>What generated code names and users use too.</summary>
    private static readonly string[] UserFacing = { "RecurrentCell", "SequenceRunner", "Parameter", "Layer" };

    private static bool Hidden(MemberInfo member) =>
        member.GetCustomAttribute<EditorBrowsableAttribute>()?.State == EditorBrowsableState.Never;

    [Fact]
    public void EveryRuntimeTypeThatOnlyGeneratedCodeNamesIsInCompilerServicesAndHidden()
    {
        string folder = Path.Combine(GeneratorHarness.RepositoryRoot, "tests", "CellGen.Generator.Tests", "Snapshots");
        var named = Directory.GetFiles(folder, "*.cs")
            .SelectMany(file => Regex.Matches(File.ReadAllText(file), @"global::CellGen\.((?:CompilerServices\.)?[A-Za-z0-9]+)").Select(m => m.Groups[1].Value))
            .Distinct().ToList();
        var outside = named.Where(n => !n.StartsWith("CompilerServices.") && !UserFacing.Contains(n)).ToList();
        Assert.True(outside.Count == 0, $"generated code names support types outside CellGen.CompilerServices: {string.Join(", ", outside)}");
        Assert.Contains(named, n => n.StartsWith("CompilerServices."));
        Assembly runtime = typeof(SequenceRunner<>).Assembly;
        var visible = runtime.GetExportedTypes().Where(t => t.Namespace == "CellGen.CompilerServices" && !Hidden(t)).Select(t => t.Name).ToList();
        Assert.True(visible.Count == 0, $"visible support types: {string.Join(", ", visible)}");
        var lanes = runtime.GetExportedTypes().Where(t => t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ISimd<,>)));
        Assert.All(lanes, t => Assert.Equal("CellGen.CompilerServices", t.Namespace));
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
