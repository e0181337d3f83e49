using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System;

namespace CellGen.Bench;

/// <summary>
/// before B H T [ROUNDS]: the Lstm as generated now against the Lstm as generated before the step's product added
/// itself onto the input's (BeforeLstm.g.cs, the approved snapshot of that build), the same weights and inputs, timed
/// alternately in one process so that the machine's swings hit both: medians of the rounds, forward only.
/// </summary>
public static class BeforeAfter
{
    public static int Run(int[] a)
    {
        if (a.Length < 3) { Console.Error.WriteLine("Usage: before B H T [ROUNDS]"); return 2; }
        int batch = a[0], hidden = a[1], steps = a[2], rounds = a.Length > 3 ? a[3] : 60;
        Initializers.ManualSeed(1);
        var now = new Cells.Lstm(hidden, hidden);
        Initializers.ManualSeed(1);
        var before = new Before.Lstm(hidden, hidden);
        var runners = new[] { now.CreateRunner(steps, batch), before.CreateRunner(steps, batch) };
        var random = new Random(2);
        float[] x = Enumerable.Range(0, steps * batch * hidden).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var outputs = new[] { new float[x.Length], new float[x.Length] };
        for (int k = 0; k < 2; k++) runners[k].Forward(x, batch, default, outputs[k], default);
        double worst = outputs[0].Zip(outputs[1], (p, q) => Math.Abs(p - q)).Max();
        var times = new[] { new List<double>(), new List<double>() };
        for (int i = 0; i < rounds + 5; i++)
            for (int k = 0; k < 2; k++)
            {
                var clock = Stopwatch.StartNew();
                runners[k].Forward(x, batch, default, outputs[k], default);
                if (i >= 5) times[k].Add(clock.Elapsed.TotalMilliseconds);
            }
        double[] m = times.Select(t => t.Order().ElementAt(t.Count / 2)).ToArray();
        Console.WriteLine($"lstm B {batch} H {hidden} T {steps}: now {m[0]:F3} ms, before {m[1]:F3} ms, now / before {m[0] / m[1]:F3} (outputs differ by {worst:E1} at most)");
        return 0;
    }
}
