using System;
using System.Diagnostics;
using System.Collections.Generic;
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
        if (args.Length > 0 && args[0] == "handcheck") return HandCheck();
        if (args.Length > 0 && args[0] == "hand") return HandTimes();
        if (args.Length > 0 && args[0] == "report") return Compare.Report(args.Skip(1).ToArray());
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }

    /// <summary>The hand-written Lstm computes what the generated one does (outputs, dx, dW), or the comparison means nothing.</summary>
    private static int HandCheck()
    {
        var bench = new HandVersusGenerated { Batch = 3, Hidden = 37, Steps = 5 };
        bench.Setup();
        var cell = (CellGen.Cells.Lstm)bench.GeneratedCell;
        HandLstm hand = bench.Hand;
        int h = bench.Hidden, x = bench.Hidden, g = 4 * h;
        string[] gates = { "i", "f", "g", "o" };
        for (int k = 0; k < 4; k++)
        {
            var w = new float[h * (h + x)];
            for (int j = 0; j < h; j++)
            {
                for (int c = 0; c < h; c++) w[j * (h + x) + c] = hand.Wh[c * g + k * h + j];
                for (int c = 0; c < x; c++) w[j * (h + x) + h + c] = hand.Wx[c * g + k * h + j];
            }
            cell.Parameter("W_" + gates[k]).CopyFrom(w);
            cell.Parameter("b_" + gates[k]).CopyFrom(hand.Bias.AsSpan(k * h, h).ToArray());
        }
        var (generated, handResult) = bench.RunBoth();
        double worst = generated.Zip(handResult).Max(p => Math.Abs(p.First - p.Second));
        Console.WriteLine($"hand-written vs generated Lstm: max |difference| of outputs, dx and dW_i = {worst:E2}");
        return worst < 1e-4 ? 0 : 1;
    }

    /// <summary>Generated and hand-written Lstm timed alternately (so that drift hits both), medians of 40 runs each.</summary>
    private static int HandTimes()
    {
        var bench = new HandVersusGenerated { Batch = 32, Hidden = 256, Steps = 50 };
        bench.Setup();
        var runs = new (string Name, Action Run)[]
        {
            ("hand forward", bench.HandForward), ("generated forward", bench.GeneratedForward),
            ("hand forward+backward", bench.HandForwardBackward), ("generated forward+backward", bench.GeneratedForwardBackward),
        };
        var times = runs.Select(_ => new List<double>()).ToArray();
        for (int i = 0; i < 45; i++)
            for (int k = 0; k < runs.Length; k++)
            {
                var clock = Stopwatch.StartNew();
                runs[k].Run();
                if (i >= 5) times[k].Add(clock.Elapsed.TotalMilliseconds);
            }
        Console.WriteLine($"Lstm B=32 X=H=256 T=50, medians of 40 alternating runs:");
        for (int k = 0; k < runs.Length; k++)
        {
            times[k].Sort();
            Console.WriteLine($"  {runs[k].Name,-28} {times[k][times[k].Count / 2],8:F2} ms");
        }
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
