using System;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using Xunit;

namespace CellGen.Tests.Kernels;

/// <summary>
/// A method marked for inlining that the JIT cannot inline is compiled on its own, unoptimised first (tier 0), and
/// stays so until tiering promotes it: about 0.1 s of steady calls on two processors, seconds on one (the delay is ten
/// times longer there). Lane code at tier 0 calls every vector operation: a [32, 256] x [256, 1024] product through
/// such a kernel took 10 ms a call for the first 3 s of a process on one processor, then 0.2 ms.
/// </summary>
[Trait("Category", "Kernels")]
public sealed class KernelCompilationTests
{
    /// <summary>RyuJIT's limits for an inlinee (MAX_INL_LCLS, MAX_INL_ARGS in inline.h): beyond either, it never inlines.</summary>
    private const int MaxInlineLocals = 32, MaxInlineArguments = 32;

    [Fact]
    public void EveryMethodMarkedForInliningCanBeInlined()
    {
        var assemblies = new[] { typeof(SequenceRunner<>).Assembly, typeof(CellGen.Cells.Lstm).Assembly };
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        var tooLarge = (
            from assembly in assemblies
            from type in assembly.GetTypes()
            from method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all))
            where (method.MethodImplementationFlags & MethodImplAttributes.AggressiveInlining) != 0
            let locals = method.GetMethodBody()?.LocalVariables.Count ?? 0
            let arguments = method.GetParameters().Length
            where locals > MaxInlineLocals || arguments > MaxInlineArguments
            select $"{type.FullName}.{method.Name}: {locals} locals, {arguments} arguments").ToList();
        Assert.True(tooLarge.Count == 0,
            "Marked for inlining but beyond the JIT's limits (mark them AggressiveOptimization | NoInlining instead):\n" + string.Join("\n", tooLarge));
    }
}
