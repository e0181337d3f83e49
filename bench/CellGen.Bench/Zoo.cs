using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Reflection;

namespace CellGen.Bench;

/// <summary>
/// zoo [ROUNDS [CELL...]]: every zoo cell (or those named) (tests/CellGen.Tests/Zoo), our LayerNormLstm and our Lstm, forward (inference) and
/// forward+backward, at B 1 / H 128 and B 32 / H 256 (X = H, T = 50, a declared size P = H / 2), in ROUNDS rounds
/// (default 3), then the block product of the sLSTM's step against the full matrix (`zoo ROUNDS blocks`: that table alone). In each round every cell is timed between two timings of the Lstm, and its time per multiply-add of its
/// products (per step: the sum over its matrices of rows x columns, times B) is divided by the Lstm's around it; the
/// table gives the medians of those ratios over the rounds, and of the times.
/// </summary>
public static class Zoo
{
    private const int Steps = 50;

    private static IEnumerable<(string Name, Func<int, int, RecurrentCell<float>> Create)> Cells()
    {
        yield return ("Lstm", (x, h) => new Cells.Lstm(x, h));
        yield return ("LayerNormLstm", (x, h) => new Cells.LayerNormLstm(x, h));
        // xLSTM's sLSTM with 4 heads (block-diagonal recurrent matrices), and the same equations with full matrices.
        yield return ("Slstm", (x, h) => new Cells.Slstm(x, h));
        yield return ("DenseSlstm", (x, h) => new DenseSlstm(x, h));
        // xLSTM's mLSTM with 4 heads: its products are the input's alone; its step is the matrix memory's sweeps (H x H / 4 per sequence).
        yield return ("Mlstm", (x, h) => new Cells.Mlstm(x, h));
        // The Lstm regularised inside the cell: what drawing and applying its masks costs a training pass.
        yield return ("RegularisedLstm", (x, h) => new RegularisedLstm(x, h));
        // And with one kind on at a time (the others at p = 0), to tell their costs apart.
        foreach (CellDropoutKind kind in Enum.GetValues<CellDropoutKind>())
            yield return ("RegularisedLstm-" + kind, (x, h) => Only(new RegularisedLstm(x, h), kind));
        foreach (Type type in typeof(Zoo).Assembly.GetTypes().Where(t => t.Namespace == "CellGen.Tests.Zoo" && typeof(RecurrentCell<float>).IsAssignableFrom(t)).OrderBy(t => t.Name))
        {
            ConstructorInfo constructor = type.GetConstructors().Single();
            yield return (type.Name, (x, h) => (RecurrentCell<float>)constructor.Invoke(
                constructor.GetParameters().Select((_, k) => (object)(k == 0 ? x : k == 1 ? h : h / 2)).ToArray()));
        }
    }

    private static RecurrentCell<float> Only(RecurrentCell<float> cell, CellDropoutKind kind)
    {
        foreach (CellDropout dropout in cell.Dropouts)
            if (dropout.Kind != kind) dropout.Probability = 0;
        return cell;
    }

    /// <summary>Multiply-adds of the products of one step of one sequence: every matrix once (a block-diagonal one's blocks only).</summary>
    private static long MultiplyAdds(RecurrentCell<float> cell) =>
        cell.Parameters.Where(p => p.Shape.Count >= 2).Sum(p => p.Shape.Aggregate(1L, (product, extent) => product * extent));

    public static int Run(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0]) : 3;
        var only = new HashSet<string>(args.Skip(1)); // cell names, or all; the Lstm is always timed, as the reference
        if (only.Count == 1 && only.Contains("blocks"))
        {
            BlockProducts(rounds);
            return 0;
        }
        var configurations = new[] { (Name: "b1-h128", Batch: 1, Hidden: 128), (Name: "b32-h256", Batch: 32, Hidden: 256) };
        Console.WriteLine($"{Environment.ProcessorCount} cores; Vector512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, Vector256 {System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated}; T = {Steps}, X = H; medians of {rounds} rounds");
        foreach (var config in configurations)
        {
            var cases = Cells().Where(c => only.Count == 0 || c.Name == "Lstm" || only.Contains(c.Name)).Select(c =>
            {
                RecurrentCell<float> cell = c.Create(config.Hidden, config.Hidden);
                Initializers.Initialize(cell, new Random(1));
                var runner = cell.CreateRunner(Steps, config.Batch);
                var random = new Random(2);
                float[] x = Enumerable.Range(0, Steps * config.Batch * config.Hidden).Select(_ => random.NextSingle() - 0.5f).ToArray();
                float[] y = new float[Steps * config.Batch * cell.OutputSize];
                float[] dy = y.Select(_ => random.NextSingle() - 0.5f).ToArray();
                Action forward = () => runner.Forward(x, config.Batch, default, y, default);
                Action train = () => { runner.ForwardTraining(x, config.Batch, default, y, default); runner.Backward(dy, default, default, default); };
                return (c.Name, Work: MultiplyAdds(cell) * config.Batch, Forward: forward, Train: train);
            }).ToList();
            // Each cell is timed between two timings of the Lstm, so that each ratio compares times taken moments apart
            // (the machine drifts, and flips between a fast and a slow mode): the table gives each cell's median time and
            // the median of its ratios, one ratio per round.
            var forwardTimes = cases.Select(_ => new List<double>()).ToArray();
            var trainTimes = cases.Select(_ => new List<double>()).ToArray();
            var forwardRatios = cases.Select(_ => new List<double>()).ToArray();
            var trainRatios = cases.Select(_ => new List<double>()).ToArray();
            for (int round = 0; round < rounds; round++)
            {
                (double Forward, double Train) Lstm() => (Median(Compare.Times(cases[0].Forward)), Median(Compare.Times(cases[0].Train)));
                var before = Lstm();
                for (int i = 0; i < cases.Count; i++)
                {
                    double f = i == 0 ? before.Forward : Median(Compare.Times(cases[i].Forward));
                    double t = i == 0 ? before.Train : Median(Compare.Times(cases[i].Train));
                    var after = i == 0 ? before : Lstm();
                    forwardTimes[i].Add(f);
                    trainTimes[i].Add(t);
                    // Per multiply-add, against the mean of the Lstm's times just before and just after.
                    forwardRatios[i].Add(f / cases[i].Work / ((before.Forward + after.Forward) / 2 / cases[0].Work));
                    trainRatios[i].Add(t / cases[i].Work / ((before.Train + after.Train) / 2 / cases[0].Work));
                    before = after;
                }
            }
            Console.WriteLine();
            Console.WriteLine($"| {config.Name} | multiply-adds per step | fwd ms | train ms | fwd per multiply-add vs Lstm | train per multiply-add vs Lstm | fwd vs Lstm | train vs Lstm |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            for (int i = 0; i < cases.Count; i++)
            {
                double f = Median(forwardTimes[i]), t = Median(trainTimes[i]);
                double fr = Median(forwardRatios[i]), tr = Median(trainRatios[i]);
                double perWork = (double)cases[i].Work / cases[0].Work;
                Console.WriteLine($"| {cases[i].Name} | {cases[i].Work:N0} | {f:F2} | {t:F2} | {fr:F2}x | {tr:F2}x | {fr * perWork:F2}x | {tr * perWork:F2}x |");
            }
        }
        BlockProducts(rounds);
        return 0;
    }

    /// <summary>
    /// A step's recurrent product of the sLSTM, [B, H] @ the four gates' [H, 4H], with 4 blocks along the diagonal
    /// (Gemm.ForwardBlocks, only the blocks) against the full matrix it replaces (Gemm.Forward), both from packed panels,
    /// the two timed one after the other in each round: the medians of the times and of the ratios.
    /// </summary>
    private static void BlockProducts(int rounds)
    {
        const int Blocks = 4;
        Console.WriteLine();
        Console.WriteLine("| block product, 4 gates, 4 heads | full us | blocks us | full / blocks | data gradient: full us | blocks us | full / blocks | weight gradient, 50 steps: full us | blocks us | full / blocks |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach ((int batch, int hidden) in new[] { (1, 128), (1, 512), (32, 256), (64, 512) })
        {
            var random = new Random(3);
            float[] Random(int length) => Enumerable.Range(0, length).Select(_ => random.NextSingle() - 0.5f).ToArray();
            int n = 4 * hidden;
            float[] a = Random(batch * hidden), full = Random(hidden * n), blocks = Random(hidden / Blocks * n), c = new float[batch * n];
            var fullPacked = new CompilerServices.PackedWeights<float>(hidden, n);
            var blockPacked = new CompilerServices.PackedWeights<float>(hidden / Blocks, n);
            // Many products per timing, as a sequence's steps run them: one product is microseconds.
            const int Repeats = 50;
            Action dense = () => { for (int i = 0; i < Repeats; i++) CompilerServices.Gemm.Forward<float>(a, hidden, full, fullPacked, default, c, n, batch, hidden, n); };
            Action block = () => { for (int i = 0; i < Repeats; i++) CompilerServices.Gemm.ForwardBlocks<float>(a, hidden, blocks, blockPacked, default, c, n, batch, hidden, 4, hidden, Blocks); };
            // The data gradient of the same products, as a backward step runs it: dC [B, 4H] times the transposed weights.
            float[] dc = Random(batch * n), da = new float[batch * hidden], fullT = new float[full.Length], blocksT = new float[blocks.Length];
            CompilerServices.Gemm.Transpose<float>(full, fullT, hidden, n);
            CompilerServices.Gemm.TransposeBlocks<float>(blocks, blocksT, hidden, 4, hidden, Blocks);
            var blocksTPacked = new CompilerServices.PackedWeights<float>(4 * hidden / Blocks, hidden / Blocks, Blocks);
            var fullTPacked = new CompilerServices.PackedWeights<float>(n, hidden);
            Action denseData = () => { for (int i = 0; i < Repeats; i++) CompilerServices.Gemm.BackwardDataTransposed<float>(dc, n, fullT, fullTPacked, da, hidden, batch, hidden, n, accumulate: false); };
            Action blockData = () => { for (int i = 0; i < Repeats; i++) CompilerServices.Gemm.BackwardDataBlocks<float>(dc, n, blocksT, blocksTPacked, da, hidden, batch, hidden, 4, hidden, Blocks, accumulate: false); };
            // The weight gradient over a pass of 50 steps, as a backward pass runs it once after its loop.
            const int Steps = 50;
            float[] states = Random(Steps * batch * hidden), dcs = Random(Steps * batch * n), dwFull = new float[full.Length], dwBlocks = new float[blocks.Length];
            Action denseWeights = () => CompilerServices.Gemm.BackwardWeights<float>(states, hidden, dcs, n, dwFull, Steps * batch, hidden, n);
            Action blockWeights = () => CompilerServices.Gemm.BackwardWeightsBlocks<float>(states, hidden, dcs, n, dwBlocks, Steps * batch, hidden, 4, hidden, Blocks);
            var times = Enumerable.Range(0, 9).Select(_ => new List<double>()).ToArray();
            for (int round = 0; round < rounds; round++)
            {
                double f = Median(Compare.Times(dense)) * 1000 / Repeats, b = Median(Compare.Times(block)) * 1000 / Repeats;
                double fd = Median(Compare.Times(denseData)) * 1000 / Repeats, bd = Median(Compare.Times(blockData)) * 1000 / Repeats;
                times[0].Add(f); times[1].Add(b); times[2].Add(f / b);
                times[3].Add(fd); times[4].Add(bd); times[5].Add(fd / bd);
                double fw = Median(Compare.Times(denseWeights)) * 1000, bw = Median(Compare.Times(blockWeights)) * 1000;
                times[6].Add(fw); times[7].Add(bw); times[8].Add(fw / bw);
            }
            Console.WriteLine($"| b{batch}-h{hidden} | {Median(times[0]):F2} | {Median(times[1]):F2} | {Median(times[2]):F2}x | {Median(times[3]):F2} | {Median(times[4]):F2} | {Median(times[5]):F2}x | {Median(times[6]):F0} | {Median(times[7]):F0} | {Median(times[8]):F2}x |");
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted[sorted.Count / 2];
    }
}

/// <summary>The built-in Slstm's equations with full recurrent matrices: what its block-diagonal ones replace.</summary>
[RecurrentCell]
[Equation("ir   = W_i @ x[t] + R_i @ h[t-1] + b_i")]
[Equation("lf   = logsigmoid(W_f @ x[t] + R_f @ h[t-1] + b_f)")]
[Equation("z    = tanh(W_z @ x[t] + R_z @ h[t-1] + b_z)")]
[Equation("o    = sigmoid(W_o @ x[t] + R_o @ h[t-1] + b_o)")]
[Equation("m[t] = max(lf + m[t-1], ir)")]
[Equation("i    = exp(ir - m[t])")]
[Equation("f    = exp(lf + m[t-1] - m[t])")]
[Equation("c[t] = f * c[t-1] + i * z")]
[Equation("n[t] = f * n[t-1] + i")]
[Equation("h[t] = o * c[t] / n[t]")]
public partial class DenseSlstm;

/// <summary>The built-in Lstm's equations with zoneout on c and h, variational dropout and DropConnect on h: CharLm's sample cell.</summary>
[RecurrentCell]
[Zoneout("c", 0.5), Zoneout("h", 0.05), VariationalDropout("h", 0.25), DropConnect("h", 0.5)]
[Equation("i    = sigmoid(W_i @ [h[t-1], x[t]] + b_i)")]
[Equation("f    = sigmoid(W_f @ [h[t-1], x[t]] + b_f)")]
[Equation("g    = tanh(W_g @ [h[t-1], x[t]] + b_g)")]
[Equation("o    = sigmoid(W_o @ [h[t-1], x[t]] + b_o)")]
[Equation("c[t] = f * c[t-1] + i * g")]
[Equation("h[t] = o * tanh(c[t])")]
public partial class RegularisedLstm;
