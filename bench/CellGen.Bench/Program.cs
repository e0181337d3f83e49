using System;
using System.Diagnostics;
using System.Linq;
using BenchmarkDotNet.Running;

namespace CellGen.Bench;

public static class Program
{
    /// <summary>
    /// BenchmarkDotNet by default (pass its arguments, e.g. --filter *Lstm*); "quick" times the Lstm with a stopwatch:
    /// warm-up, then the median of repeated runs.
    /// </summary>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "quick") return Quick(args.Skip(1).Select(int.Parse).ToArray());
        if (args.Length > 0 && args[0] == "compare") return Compare.Run(args.Skip(1).ToArray());
        if (args.Length > 0 && args[0] == "report") return Compare.Report(args.Skip(1).ToArray());
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }

    /// <summary>quick [batch hidden steps]: defaults 32 256 50.</summary>
    private static int Quick(int[] sizes)
    {
        var bench = new LstmBenchmarks { Batch = sizes.Length > 0 ? sizes[0] : 32, Hidden = sizes.Length > 1 ? sizes[1] : 256, Steps = sizes.Length > 2 ? sizes[2] : 50 };
        bench.Setup();
        Console.WriteLine($"Lstm B={bench.Batch} X=H={bench.Hidden} T={bench.Steps}");
        foreach ((string name, Action run) in new (string, Action)[] { ("forward", bench.Forward), ("forward+backward", bench.ForwardBackward) })
        {
            for (int i = 0; i < 3; i++) run();
            var times = Enumerable.Range(0, 15).Select(_ => { var clock = Stopwatch.StartNew(); run(); return clock.Elapsed.TotalMilliseconds; }).OrderBy(t => t).ToArray();
            Console.WriteLine($"  {name,-18} median {times[times.Length / 2],8:F2} ms   min {times[0],8:F2} ms");
        }
        return 0;
    }
}
