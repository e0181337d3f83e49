using System;
using System.Linq;
using CellGen;
using CellGen.Cells;
using CellGen.Distributed;

namespace CellGen.MpiWorker;

/// <summary>
/// train OUT STEPS: trains <see cref="Model"/> for STEPS steps on batches of 32 generated sequences, this rank's share
/// of each, averaging gradients across the ranks; rank 0 saves the parameters to OUT. fail: rank 1 throws after one
/// step (the others must end with an error, not hang). differ length|count: the ranks build models whose buffers differ
/// in length or in number (each rank must report it and exit 3, not hang).
/// </summary>
public static class Program
{
    public const int Batch = 32;

    public static int Main(string[] args)
    {
        using DataParallel group = DataParallel.Start();
        if (args.Length == 3 && args[0] == "train")
        {
            Sequential model = Train(group, int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture), crashRank: -1);
            if (group.IsRoot) Checkpoint.Save(args[1], model);
            return 0;
        }
        if (args.Length == 1 && args[0] == "fail")
        {
            Train(group, steps: 3, crashRank: 1);
            return 0;
        }
        if (args.Length == 2 && args[0] == "differ")
        {
            // Ranks that build different models: a vocabulary of their own ("length"), or one layer more ("count").
            Sequential model = args[1] == "length"
                ? new Sequential(new Embedding(13 + group.Rank, 8), new Dense(8, 3))
                : group.Rank == 0 ? new Sequential(new Embedding(13, 8), new Dense(8, 3)) : new Sequential(new Embedding(13, 8), new Dense(8, 8), new Dense(8, 3));
            try
            {
                group.Broadcast(model);
                group.AverageGradients(model);
            }
            catch (InvalidOperationException e)
            {
                Console.WriteLine(e.Message);
                return 3;
            }
            return 0;
        }
        Console.Error.WriteLine("Usage: CellGen.MpiWorker train OUT STEPS | fail | differ length|count");
        return 2;
    }

    /// <summary>An embedding, a bidirectional LSTM, the last valid steps and a dense layer: the same on every rank.</summary>
    public static Sequential Model() => new(
        new Embedding(13, 8, new Random(1)),
        new Recurrent((x, h) => new Lstm(x, h), 8, 12, bidirectional: true, random: new Random(2)),
        new LastStep(),
        new Dense(24, 3, new Random(3)));

    /// <summary>Batch <paramref name="step"/>: 32 sequences of 3 to 10 tokens, time-major, padded; their lengths and labels.</summary>
    public static (int[] Tokens, int[] Lengths, int[] Labels) Batch32(int step, int start, int count)
    {
        var random = new Random(1000 + step);
        var all = Enumerable.Range(0, Batch).Select(_ => Enumerable.Range(0, random.Next(3, 11)).Select(_ => random.Next(13)).ToArray()).ToArray();
        var mine = all.Skip(start).Take(count).ToArray();
        int steps = mine.Max(s => s.Length);
        var tokens = new int[steps * count];
        for (int b = 0; b < count; b++)
            for (int t = 0; t < mine[b].Length; t++) tokens[t * count + b] = mine[b][t];
        return (tokens, mine.Select(s => s.Length).ToArray(), mine.Select(s => s.Sum() % 3).ToArray());
    }

    public static Sequential Train(DataParallel group, int steps, int crashRank)
    {
        Sequential model = Model();
        group.Broadcast(model);
        var optimizer = Adam.W([model], 1e-2f);
        var loss = new CrossEntropyLoss();
        (int start, int count) = group.Shard(Batch);
        for (int step = 0; step < steps; step++)
        {
            if (step == 1 && group.Rank == crashRank) throw new InvalidOperationException($"rank {group.Rank} fails on purpose");
            (int[] tokens, int[] lengths, int[] labels) = Batch32(step, start, count);
            loss.Compute(model.Forward(tokens, lengths, training: true), labels);
            optimizer.ZeroGradients();
            model.Backward();
            group.AverageGradients(model);
            optimizer.ClipGradientsByNorm(1.0);
            optimizer.Step();
        }
        return model;
    }
}
