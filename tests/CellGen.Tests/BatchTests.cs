using System;
using System.Collections.Generic;
using System.Linq;
using CellGen.Cells;
using Xunit;

namespace CellGen.Tests;

/// <summary>Issue 27: batch-first inputs, and mini-batches of variable-length sequences (DataLoader with pad_sequence).</summary>
public sealed class BatchTests
{
    [Fact]
    public void BatchFirstInputsGiveTheTimeMajorOutputs()
    {
        const int steps = 4, batch = 3, x = 2;
        Sequential Make(bool batchFirst) => new(new Recurrent((i, h) => new Lstm(i, h), x, 5, random: new Random(1)), new Dense(5, 2, new Random(2))) { BatchFirst = batchFirst };
        float[] timeMajor = Enumerable.Range(0, steps * batch * x).Select(i => MathF.Sin(i)).ToArray();
        float[] batchFirst = new float[timeMajor.Length];
        for (int t = 0; t < steps; t++)
            for (int b = 0; b < batch; b++)
                for (int k = 0; k < x; k++) batchFirst[(b * steps + t) * x + k] = timeMajor[(t * batch + b) * x + k];
        int[] lengths = { 4, 2, 3 };
        Assert.Equal(Make(false).Forward(timeMajor, lengths, training: false).Values.ToArray(), Make(true).Forward(batchFirst, lengths, training: false).Values.ToArray());

        // Token ids [B, T].
        Sequential Tokens(bool batchFirst) => new(new Embedding(9, 3, new Random(3)), new Recurrent((i, h) => new Gru(i, h), 3, 4, random: new Random(4)), new LastStep()) { BatchFirst = batchFirst };
        int[] ids = { 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3 }; // [T=4, B=3]
        int[] idsBatchFirst = new int[ids.Length];
        for (int t = 0; t < steps; t++)
            for (int b = 0; b < batch; b++) idsBatchFirst[b * steps + t] = ids[t * batch + b];
        Assert.Equal(Tokens(false).Forward(ids, lengths, training: false).Values.ToArray(), Tokens(true).Forward(idsBatchFirst, lengths, training: false).Values.ToArray());
    }

    private static (List<float[]> Sequences, List<int> Labels) Data(int count, int width)
    {
        var random = new Random(5);
        var sequences = new List<float[]>();
        var labels = new List<int>();
        for (int i = 0; i < count; i++)
        {
            int length = random.Next(1, 12);
            sequences.Add(Enumerable.Range(0, length * width).Select(k => i + 0.001f * (k + 1)).ToArray()); // the sequence's number, recognisable
            labels.Add(i % 3);
        }
        return (sequences, labels);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void EachEpochGivesEverySequenceOncePaddedTimeMajorWithItsLengthAndLabel(bool shuffle, bool bucket)
    {
        (List<float[]> sequences, List<int> labels) = Data(103, 2);
        var batches = new SequenceBatches<float, int>(sequences, labels, batchSize: 10, width: 2, shuffle: shuffle, seed: 7, bucketByLength: bucket);
        Assert.Equal(11, batches.Count);
        var orders = new List<List<int>>();
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var seen = new List<int>();
            foreach (SequenceBatch<float, int> batch in batches)
            {
                for (int b = 0; b < batch.Size; b++)
                {
                    int index = (int)batch.Values[b * 2]; // step 0 of sequence b
                    seen.Add(index);
                    Assert.Equal(sequences[index].Length / 2, batch.Lengths[b]);
                    Assert.Equal(labels[index], batch.Labels[b]);
                    for (int t = 0; t < batch.Steps; t++)
                        for (int k = 0; k < 2; k++)
                            Assert.Equal(t < batch.Lengths[b] ? sequences[index][t * 2 + k] : 0f, batch.Values[(t * batch.Size + b) * 2 + k]);
                }
                Assert.Equal(batch.Lengths.ToArray().Max(), batch.Steps);
            }
            Assert.Equal(Enumerable.Range(0, 103), seen.Order());
            orders.Add(seen);
        }
        if (shuffle) Assert.NotEqual(orders[0], orders[1]);
        else Assert.Equal(Enumerable.Range(0, 103), orders[0]);

        // The same seed, the same batches.
        var again = new SequenceBatches<float, int>(sequences, labels, batchSize: 10, width: 2, shuffle: shuffle, seed: 7, bucketByLength: bucket);
        var first = new List<int>();
        foreach (SequenceBatch<float, int> batch in again)
            for (int b = 0; b < batch.Size; b++) first.Add((int)batch.Values[b * 2]);
        Assert.Equal(orders[0], first);
    }

    [Fact]
    public void BucketingPadsLessAndAnEpochAllocatesNothingOnceWarm()
    {
        (List<float[]> sequences, List<int> labels) = Data(500, 1);
        long Padding(bool bucket)
        {
            long padding = 0;
            foreach (SequenceBatch<float, int> batch in new SequenceBatches<float, int>(sequences, labels, 16, shuffle: true, seed: 1, bucketByLength: bucket))
                foreach (int length in batch.Lengths) padding += batch.Steps - length;
            return padding;
        }
        Assert.True(Padding(true) * 3 < Padding(false), $"bucketed {Padding(true)} padded steps, shuffled {Padding(false)}");

        var batches = new SequenceBatches<float, int>(sequences, labels, 16, shuffle: true, seed: 1, bucketByLength: true);
        int Epoch()
        {
            int rows = 0;
            foreach (SequenceBatch<float, int> batch in batches) rows += batch.Size;
            return rows;
        }
        Epoch();
        long before = GC.GetAllocatedBytesForCurrentThread();
        int rows = Epoch();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(500, rows);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void TokenBatchesTrainAModelAndBadDataIsRefusedByName()
    {
        var random = new Random(2);
        var sequences = Enumerable.Range(0, 40).Select(_ => Enumerable.Range(0, random.Next(2, 9)).Select(_ => random.Next(1, 9)).ToArray()).ToList();
        var labels = sequences.Select(s => s.Count(t => t > 4) > s.Length / 2 ? 1 : 0).ToList();
        var model = new Sequential(new Embedding(9, 4, new Random(1)), new Recurrent((x, h) => new Gru(x, h), 4, 8, random: new Random(2)), new LastStep(), new Dense(8, 2, new Random(3)));
        var optimizer = Adam.W([model], learningRate: 1e-2);
        var loss = new CrossEntropyLoss();
        foreach (SequenceBatch<int, int> batch in new SequenceBatches<int, int>(sequences, labels, batchSize: 8, seed: 3))
        {
            loss.Compute(model.Forward(batch.Values, batch.Lengths, training: true), batch.Labels);
            optimizer.ZeroGradients();
            model.Backward();
            optimizer.Step();
        }
        Assert.Throws<ArgumentException>(() => new SequenceBatches<int, int>(sequences, labels.Take(3).ToList(), 8));
        Assert.Throws<ArgumentException>(() => new SequenceBatches<float, int>(new[] { new float[3] }, new[] { 0 }, 1, width: 2));
        Assert.Throws<ArgumentException>(() => new SequenceBatches<int, int>(sequences, labels, 8, width: 2));
        Assert.Throws<ArgumentException>(() => new SequenceBatches<double, int>(new[] { new double[1] }, new[] { 0 }, 1));
    }
}
