using System;
using System.Linq;
using CellGen.Cells;
using CellGen.CompilerServices;
using Xunit;

namespace CellGen.Tests;

/// <summary>Threads.Count, as torch.set_num_threads: one thread hands nothing to the worker and gives two threads' bits.</summary>
public sealed class ThreadsTests
{
    [Theory]
    [InlineData(512)]
    [InlineData(10)] // a head too narrow to split by columns: its 320 rows are split
    [InlineData(65)] // two panels and a column of dot products
    public void OneThreadRunsOnOneThreadAndGivesTheSameBitsAsTwo(int outputs)
    {
        int before = Threads.Count;
        try
        {
            var model = new Sequential(new Recurrent((x, h) => new Lstm(x, h), 64, 256, random: new Random(1)), new Dense(256, outputs, new Random(2)));
            float[] inputs = Enumerable.Range(0, 10 * 32 * 64).Select(i => MathF.Sin(0.01f * i)).ToArray();
            float[] targets = Enumerable.Range(0, 10 * 32 * outputs).Select(i => MathF.Cos(0.02f * i)).ToArray();
            (float[] Outputs, float[] Gradient, long HandOffs) Run(int threads)
            {
                Threads.Count = threads;
                Assert.Equal(threads, Threads.Count);
                var optimizer = Adam.W([model]);
                optimizer.ZeroGradients();
                long start = Workers.HandOffs;
                new MeanSquaredErrorLoss().Compute(model.Forward(inputs, 32, training: true), targets);
                model.Backward();
                long handOffs = Workers.HandOffs - start;
                return (model.Output.Values.ToArray(), model.NamedParameters().First().Value.GradientToArray(), handOffs);
            }
            var two = Run(2);
            var one = Run(1);
            Assert.Equal(0, one.HandOffs);
            Assert.True(two.HandOffs > 0, "two threads handed nothing to the worker: the products are too small for this test");
            Assert.Equal(two.Outputs, one.Outputs);
            Assert.Equal(two.Gradient, one.Gradient);
        }
        finally
        {
            Threads.Count = before;
        }
    }

    [Fact]
    public async System.Threading.Tasks.Task EveryJobHandedToTheWorkerRunsOnceWhetherItWasWatchingOrAsleep()
    {
        int before = Threads.Count;
        try
        {
            const int Rows = 64, K = 128, N = 256; // 2 million multiply-adds: shared between the cores
            var random = new Random(3);
            float[][] a = [Fill(Rows * K), Fill(Rows * K)];
            float[] w = Fill(K * N);
            float[] Fill(int length) => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
            Threads.Count = 1; // the expected products on this core alone
            float[][] expected = a.Select(x =>
            {
                var c = new float[Rows * N];
                Gemm.Forward<float>(x, K, w, default, c, N, Rows, K, N);
                return c;
            }).ToArray();
            Threads.Count = 2;
            var run = System.Threading.Tasks.Task.Run(() =>
            {
                var c = new float[Rows * N];
                long start = Workers.HandOffs;
                for (int i = 0; i < 3000; i++)
                {
                    // Back to back, the worker catches each job while it pauses; after a sleep it waits on the event.
                    if (i % 300 == 299) System.Threading.Thread.Sleep(5);
                    Array.Clear(c);
                    Gemm.Forward<float>(a[i % 2], K, w, default, c, N, Rows, K, N);
                    Assert.Equal(expected[i % 2], c);
                }
                return Workers.HandOffs - start;
            });
            Assert.True(await System.Threading.Tasks.Task.WhenAny(run, System.Threading.Tasks.Task.Delay(TimeSpan.FromSeconds(120))) == run, "a job handed to the worker never finished");
            // Other tests' products may hold the worker at times (those then run on their caller alone): some, not all, shared.
            Assert.True(await run > 0, "no product was handed to the worker: too small for this test");
        }
        finally
        {
            Threads.Count = before;
        }
    }

    [Fact]
    public void ACountBelowOneIsRefusedAndAboveTheMaximumUsesTheMaximum()
    {
        int before = Threads.Count;
        try
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => Threads.Count = 0);
            Threads.Count = 64;
            Assert.Equal(Threads.Maximum, Threads.Count);
        }
        finally
        {
            Threads.Count = before;
        }
    }
}
