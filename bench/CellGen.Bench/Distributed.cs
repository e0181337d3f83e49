using System;
using System.Diagnostics;
using System.Linq;
using CellGen.Distributed;

namespace CellGen.Bench;

/// <summary>
/// distributed, run as <c>mpirun -np 2 -x DOTNET_PROCESSOR_COUNT=1 dotnet CellGen.Bench.dll distributed</c> (one core
/// per rank): for each built-in cell at b32-h256 and
/// b64-h512, the time of a training step on this rank's half of the batch (forward and backward) against the time of
/// averaging its gradients across the ranks, medians of 20 steps after 5; rank 0 prints the table.
/// </summary>
public static class Distributed
{
    public static int Run()
    {
        using DataParallel group = DataParallel.Start();
        if (group.IsRoot) Console.WriteLine($"{group.Size} ranks\n\n| cell/config | gradient MB | step ms (B/{group.Size} each) | all-reduce ms | all-reduce / step |\n| --- | ---: | ---: | ---: | ---: |");
        foreach (Compare.Configuration config in Compare.Configurations.Where(c => c.Name != "b1-h128"))
            foreach ((string name, Func<int, int, RecurrentCell<float>> create) in Compare.Cells)
            {
                RecurrentCell<float> cell = create(config.Hidden, config.Hidden);
                group.Broadcast(cell);
                (int _, int batch) = group.Shard(config.Batch);
                var runner = cell.CreateRunner(config.Steps, batch);
                var random = new Random(1 + group.Rank);
                float[] x = Enumerable.Range(0, config.Steps * batch * config.Hidden).Select(_ => random.NextSingle() - 0.5f).ToArray();
                float[] y = new float[x.Length], dy = Enumerable.Range(0, x.Length).Select(_ => random.NextSingle() - 0.5f).ToArray();
                double[] step = new double[20], reduce = new double[20];
                float[] barrier = new float[1];
                for (int i = -5; i < 20; i++)
                {
                    var clock = Stopwatch.StartNew();
                    runner.ForwardTraining(x, batch, default, y, default);
                    runner.Backward(dy, default, default, default);
                    double compute = clock.Elapsed.TotalMilliseconds;
                    group.Sum(barrier); // a barrier: what is timed next is the transfer, not one rank waiting for the other
                    clock.Restart();
                    group.AverageGradients(cell);
                    double communicate = clock.Elapsed.TotalMilliseconds;
                    if (i >= 0) (step[i], reduce[i]) = (compute, communicate);
                }
                Array.Sort(step);
                Array.Sort(reduce);
                double megabytes = cell.ParameterBuffers.Sum(b => b.Gradients.Length) * 4.0 / 1e6;
                if (group.IsRoot)
                    Console.WriteLine($"| {name}/{config.Name} | {megabytes:F2} | {step[10]:F2} | {reduce[10]:F3} | {reduce[10] / step[10]:P1} |");
            }
        return 0;
    }
}
