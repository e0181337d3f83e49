using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using CellGen.Distributed;
using Xunit;

namespace CellGen.Tests;

/// <summary>
/// Data-parallel training under mpirun (Open MPI): 2 ranks of 16 sequences each end with the parameters 1 rank of the
/// same 32 reaches; 1 rank under mpirun is the plain trainer bit for bit; a failing rank ends the run with an error.
/// Needs mpirun: in CI (CI set) its absence fails the tests; elsewhere they are skipped with the reason.
/// </summary>
[Trait("Category", "Slow")] // out of the daily loop (dotnet test --filter "Category!=Slow"); CI runs it
public sealed class DataParallelTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "cellgen-mpi-" + Guid.NewGuid().ToString("N"));

    public DataParallelTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string Worker => Path.Combine(AppContext.BaseDirectory, "CellGen.MpiWorker.dll");

    private static (int ExitCode, string Output) Mpirun(int ranks, params string[] args)
    {
        var start = new ProcessStartInfo(MpiFactAttribute.Mpirun) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { "--allow-run-as-root", "--oversubscribe", "-np", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), "dotnet", Worker }.Concat(args))
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"mpirun -np {ranks} {string.Join(' ', args)} hung for two minutes");
        }
        return (process.ExitCode, output.Result + error.Result);
    }

    private static float[][] Parameters(Module model) => model.NamedParameters().Select(p => p.Value.ToArray()).ToArray();

    private static float[][] Saved(string path)
    {
        Sequential model = MpiWorker.Program.Model();
        Checkpoint.Load(path, model);
        return Parameters(model);
    }

    /// <summary>The parameters after <paramref name="steps"/> steps on <paramref name="ranks"/> ranks under mpirun, and in this process alone.</summary>
    private (float[][] UnderMpirun, float[][] Alone) TrainBothWays(int ranks, int steps)
    {
        string path = Path.Combine(_folder, $"ranks{ranks}.safetensors");
        (int code, string output) = Mpirun(ranks, "train", path, steps.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(code == 0, output);
        using DataParallel alone = DataParallel.Start(); // not under mpirun: a group of one
        return (Saved(path), Parameters(MpiWorker.Program.Train(alone, steps, crashRank: -1)));
    }

    [MpiFact]
    public void TwoRanksOfSixteenTrainAsOneRankOfThirtyTwo()
    {
        (float[][] actual, float[][] expected) = TrainBothWays(ranks: 2, steps: 8);
        for (int p = 0; p < expected.Length; p++)
            for (int i = 0; i < expected[p].Length; i++)
                Assert.True(Math.Abs(expected[p][i] - actual[p][i]) <= 1e-6 * Math.Max(1, Math.Abs(expected[p][i])),
                    $"parameter {p}[{i}]: 2 ranks {actual[p][i]}, 1 rank {expected[p][i]}");
    }

    [MpiFact]
    public void OneRankUnderMpirunIsThePlainTrainerBitForBit()
    {
        (float[][] actual, float[][] expected) = TrainBothWays(ranks: 1, steps: 5);
        for (int p = 0; p < expected.Length; p++) Assert.Equal(expected[p], actual[p]);
    }

    [MpiFact]
    public void AFailingRankEndsTheRunWithAnErrorNotAHang()
    {
        var clock = Stopwatch.StartNew();
        (int code, string output) = Mpirun(2, "fail");
        Assert.NotEqual(0, code);
        Assert.Contains("fails on purpose", output);
        Assert.True(clock.Elapsed.TotalSeconds < 60, $"took {clock.Elapsed.TotalSeconds:F0} s");
    }

    [MpiTheory]
    [InlineData("length", "parameter buffer 0 of 3 holds from 104 to 112 values")]
    [InlineData("count", "from 3 to 5 parameter buffers")]
    public void RanksWithDifferentModelsFailOnEveryRankWithinSecondsNotHang(string how, string message)
    {
        var clock = Stopwatch.StartNew();
        (int code, string output) = Mpirun(2, "differ", how);
        Assert.NotEqual(0, code);
        Assert.Contains("rank 0 of 2: the ranks' models differ", output);
        Assert.Contains("rank 1 of 2: the ranks' models differ", output);
        Assert.Contains(message, output);
        Assert.True(clock.Elapsed.TotalSeconds < 60, $"took {clock.Elapsed.TotalSeconds:F0} s");
    }

    [Fact]
    public void WithoutMpirunAProcessTrainsAloneAndShardsEverything()
    {
        using DataParallel group = DataParallel.Start();
        Assert.Equal(0, group.Rank);
        Assert.Equal(1, group.Size);
        Assert.Equal((0, 32), group.Shard(32));
    }
}

/// <summary>As <see cref="MpiFactAttribute"/>, with data.</summary>
public sealed class MpiTheoryAttribute : TheoryAttribute
{
    public MpiTheoryAttribute()
    {
        if (!File.Exists(MpiFactAttribute.Mpirun) && Environment.GetEnvironmentVariable("CI") is null)
            Skip = $"needs Open MPI ({MpiFactAttribute.Mpirun} is missing: apt-get install -y openmpi-bin libopenmpi-dev); CI installs it and fails without it";
    }
}

/// <summary>A test that needs Open MPI's mpirun: skipped with the reason where it is missing, except in CI, where it fails.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public const string Mpirun = "/usr/bin/mpirun";

    public MpiFactAttribute()
    {
        if (!File.Exists(Mpirun) && Environment.GetEnvironmentVariable("CI") is null)
            Skip = $"needs Open MPI ({Mpirun} is missing: apt-get install -y openmpi-bin libopenmpi-dev); CI installs it and fails without it";
    }
}
