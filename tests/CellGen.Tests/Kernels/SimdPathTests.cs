using System;
using System.Runtime.Intrinsics;
using Xunit;

namespace CellGen.Tests.Kernels;

/// <summary>
/// CI runs the kernel tests again with lane widths switched off. A switch the runtime does not honour would leave them
/// on the widest path and test nothing new (.NET 10 ignores DOTNET_EnableAVX512F; it reads DOTNET_EnableAVX512).
/// </summary>
[Trait("Category", "Kernels")]
public sealed class SimdPathTests
{
    private static bool SwitchedOff(string name) => Environment.GetEnvironmentVariable("DOTNET_" + name) == "0";

    [Fact]
    public void LaneWidthsSwitchedOffAreNotAccelerated()
    {
        if (SwitchedOff("EnableHWIntrinsic")) Assert.False(Vector128.IsHardwareAccelerated, "DOTNET_EnableHWIntrinsic=0 left Vector128 on");
        if (SwitchedOff("EnableAVX") || SwitchedOff("EnableHWIntrinsic")) Assert.False(Vector256.IsHardwareAccelerated, "Vector256 is still on");
        if (SwitchedOff("EnableAVX512F") || SwitchedOff("EnableAVX512") || SwitchedOff("EnableAVX") || SwitchedOff("EnableHWIntrinsic"))
            Assert.False(Vector512.IsHardwareAccelerated, "Vector512 is still on");
        // The lane kernels pick the widest accelerated width; a wider one never runs without the narrower ones.
        Assert.True(!Vector512.IsHardwareAccelerated || Vector256.IsHardwareAccelerated);
        Assert.True(!Vector256.IsHardwareAccelerated || Vector128.IsHardwareAccelerated);
    }
}
