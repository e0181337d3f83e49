using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System;
using CellGen.Cells;
using CellGen.CompilerServices;

namespace CellGen.Bench;

/// <summary>
/// The side-by-side comparison with PyTorch: each cell on each configuration, timed with a plain stopwatch (warm-up,
/// then the median of repeated runs), written as {"lstm/b1-h128": {"forward_ms": ..., "train_ms": ...}, ...}.
/// </summary>
public static class Compare
{
    public sealed record Configuration(string Name, int Batch, int Hidden, int Steps);

    public static readonly Configuration[] Configurations =
    {
        new("b1-h128", 1, 128, 100),
        new("b32-h256", 32, 256, 50),
        new("b64-h512", 64, 512, 100),
    };

    /// <summary>
    /// DeepBench's inference shapes for CPUs (X = H): the LSTM at H 256 over 150 steps and the GRU at H 512 over 100,
    /// each at batch 1 to 4, and the vanilla RNN at H 64 over 96 steps at batch 1 (`compare --deepbench`).
    /// </summary>
    public static readonly (string Cell, Configuration Config)[] DeepBench =
    [
        .. Enumerable.Range(1, 4).Select(b => ("lstm", new Configuration($"b{b}-h256-t150", b, 256, 150))),
        .. Enumerable.Range(1, 4).Select(b => ("gru", new Configuration($"b{b}-h512-t100", b, 512, 100))),
        ("rnn", new Configuration("b1-h64-t96", 1, 64, 96)),
    ];

    public static readonly (string Name, Func<int, int, RecurrentCell<float>> Create)[] Cells =
    {
        ("rnn", (x, h) => new Rnn(x, h)),
        ("lstm", (x, h) => new Lstm(x, h)),
        ("gru", (x, h) => new TorchGru(x, h)),
        ("peephole", (x, h) => new PeepholeLstm(x, h)),
    };

    /// <summary>
    /// Median milliseconds of <paramref name="run"/> over at least 5 runs and about a second, after a warm-up of at
    /// least 10 runs and half a second (so that tiered compilation has finished and does not compete for the cores).
    /// </summary>
    public static double Median(Action run)
    {
        List<double> times = Times(run);
        return times[times.Count / 2];
    }

    /// <summary>The run times in ms, sorted, after a warm-up: at least 5 runs and a second (at most 200 runs).</summary>
    public static List<double> Times(Action run)
    {
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < 10 || warm.Elapsed.TotalSeconds < 0.5; i++) run();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < 5 || (total.Elapsed.TotalSeconds < 1 && times.Count < 200))
        {
            var clock = Stopwatch.StartNew();
            run();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times;
    }

    /// <summary>
    /// Each cell on each configuration (those in <paramref name="only"/>, or all): a runner, random inputs, and the
    /// random source that made them and the cell's weights, for what the caller draws next.
    /// </summary>
    private static IEnumerable<(string Key, SequenceRunner<float> Runner, float[] X, Random Random)> Cases(HashSet<string> only, bool deepBench = false)
    {
        IEnumerable<(string Cell, Configuration Config)> cases = deepBench ? DeepBench
            : Configurations.SelectMany(config => Cells.Select(cell => (cell.Name, config)));
        foreach ((string name, Configuration config) in cases)
        {
            Func<int, int, RecurrentCell<float>> create = Cells.Single(c => c.Name == name).Create;
            string key = $"{name}/{config.Name}";
            if (only.Count > 0 && !only.Contains(key)) continue;
            var random = new Random(1);
            RecurrentCell<float> cell = create(config.Hidden, config.Hidden);
            Initializers.Initialize(cell, random);
            int inputs = config.Steps * config.Batch * config.Hidden;
            float[] x = Enumerable.Range(0, inputs).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            yield return (key, cell.CreateRunner(config.Steps, config.Batch), x, random);
        }
    }

    /// <summary>The cases named in <paramref name="only"/>, from the configurations and from DeepBench's shapes.</summary>
    private static IEnumerable<(string Key, SequenceRunner<float> Runner, float[] X, Random Random)> Named(HashSet<string> only) =>
        Cases(only).Concat(Cases(only, deepBench: true));

    public static int Run(string[] args)
    {
        string? json = null;
        bool ort = true, deepBench = false;
        var only = new HashSet<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--json" && i + 1 < args.Length) json = args[++i];
            else if (args[i] == "--only" && i + 1 < args.Length) only.UnionWith(args[++i].Split(','));
            else if (args[i] == "--no-ort") ort = false;
            else if (args[i] == "--deepbench") deepBench = true;
            else { Console.Error.WriteLine("Usage: compare [--json PATH] [--only lstm/b1-h128,...] [--no-ort] [--deepbench]"); return 2; }
        }
        var results = new Dictionary<string, Dictionary<string, double>>();
        // The cores' FMA peak in this process, for the report's share of it (the whole-pass target of issue 30).
        double peak = Peak.GigaflopsPerSecond(Threads.Count);
        results["peak"] = new Dictionary<string, double> { ["gflops"] = Math.Round(peak, 1) };
        Console.WriteLine($"FMA peak of {Threads.Count} threads, measured: {peak:F1} GFLOP/s");
        foreach ((string key, SequenceRunner<float> runner, float[] x, Random random) in Cases(only, deepBench))
        {
            int inputs = x.Length;
            var outputs = new float[inputs];
            float[] dy = Enumerable.Range(0, inputs).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
            var dx = new float[inputs];
            double forward = Median(() => runner.Forward(x, runner.MaxBatchSize, default, outputs, default));
            double train = Median(() =>
            {
                runner.ForwardTraining(x, runner.MaxBatchSize, default, outputs, default);
                runner.Backward(dy, default, dx, default);
            });
            results[key] = new Dictionary<string, double> { ["forward_ms"] = Math.Round(forward, 3), ["train_ms"] = Math.Round(train, 3) };
            string peer = "";
            if (ort)
            {
                // ONNX Runtime on the same cell and inputs: the model our export writes, 2 intra-op threads, its own
                // outputs checked against ours once; then the two timed in alternation, three rounds, medians.
                using var onnx = new OrtPeer(runner.Cell, x, runner.MaxBatchSize);
                runner.Forward(x, runner.MaxBatchSize, default, outputs, default);
                double difference = onnx.LargestDifference(outputs);
                var ortTimes = new List<double>();
                var ourTimes = new List<double>();
                for (int round = 0; round < 3; round++)
                {
                    ourTimes.Add(Median(() => runner.Forward(x, runner.MaxBatchSize, default, outputs, default)));
                    ortTimes.Add(Median(onnx.Run));
                }
                forward = ourTimes.Order().ElementAt(1);
                double ortForward = ortTimes.Order().ElementAt(1);
                results[key]["forward_ms"] = Math.Round(forward, 3);
                results[key]["ort_forward_ms"] = Math.Round(ortForward, 3);
                results[key]["ort_largest_difference"] = difference;
                peer = $"   ONNX Runtime forward {ortForward,9:F2} ms ({ortForward / forward:F2}x ours; outputs within {difference:G2})";
            }
            Console.WriteLine($"{key,-20} forward {forward,10:F2} ms   train {train,10:F2} ms{peer}");
        }
        if (json is not null)
        {
            File.WriteAllText(json, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"Wrote {Path.GetFullPath(json)}");
        }
        return 0;
    }

    /// <summary>
    /// profile CELL/CONFIG [forward|train|ort] [SECONDS]: runs one case for a while (default forward, 10 s) and nothing
    /// else, for a profiler to sample (docs/performance.md, "Profiling"), after a warm-up of a second; prints the time
    /// per run and how many cores the process kept busy meanwhile (its processor time over the wall time), so that a
    /// profile's shares can be read against the time the cores sat idle (bench/profile.sh). <c>ort</c> runs ONNX
    /// Runtime's forward of the same cell and sizes instead, for its profile beside ours.
    /// </summary>
    public static int Profile(string[] args)
    {
        if (args.Length < 1 || args.Length > 3 || (args.Length > 1 && args[1] is not ("forward" or "train" or "ort")))
        {
            Console.Error.WriteLine("Usage: profile CELL/CONFIG [forward|train|ort] [SECONDS]");
            return 2;
        }
        bool train = args.Length > 1 && args[1] == "train", ort = args.Length > 1 && args[1] == "ort";
        double seconds = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 10;
        foreach ((string key, SequenceRunner<float> runner, float[] x, Random random) in Named([args[0]]))
        {
            var outputs = new float[x.Length];
            float[] dy = Enumerable.Range(0, x.Length).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
            var dx = new float[x.Length];
            // ONNX Runtime's forward of the same cell (its session's two threads), for a profile beside ours.
            using OrtPeer? peer = ort ? new OrtPeer(runner.Cell, x, runner.MaxBatchSize) : null;
            void Run()
            {
                if (peer is not null) peer.Run();
                else if (train)
                {
                    runner.ForwardTraining(x, runner.MaxBatchSize, default, outputs, default);
                    runner.Backward(dy, default, dx, default);
                }
                else runner.Forward(x, runner.MaxBatchSize, default, outputs, default);
            }
            var warm = Stopwatch.StartNew();
            while (warm.Elapsed.TotalSeconds < 1) Run(); // tiered compilation settles
            TimeSpan processor = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            int runs = 0;
            for (; clock.Elapsed.TotalSeconds < seconds; runs++) Run();
            double wall = clock.Elapsed.TotalMilliseconds, busy = (Process.GetCurrentProcess().TotalProcessorTime - processor).TotalMilliseconds / wall;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{key} {(train ? "train" : ort ? "ONNX Runtime forward" : "forward")}: {runs} runs, {wall / runs:F3} ms each, cores busy {busy:F2} of {CellGen.Threads.Count}"));
            return 0;
        }
        Console.Error.WriteLine($"No case {args[0]}: cells {string.Join(", ", Cells.Select(c => c.Name))}, configurations {string.Join(", ", Configurations.Select(c => c.Name))}, or one of --deepbench's ({string.Join(", ", DeepBench.Select(d => $"{d.Cell}/{d.Config.Name}"))})");
        return 2;
    }

    /// <summary>
    /// fuse [lstm/b32-h256,...]: forward with each step's product and sweep fused (Gemm.ForwardThenSweep) against the
    /// same product, then sweep, in one process: 20 alternating rounds of 3 runs, medians and fastest runs. Default:
    /// every cell and configuration.
    /// </summary>
    public static int FusedAgainstApart(string[] args)
    {
        var only = new HashSet<string>(args.SelectMany(a => a.Split(',')));
        foreach ((string key, SequenceRunner<float> runner, float[] x, Random random) in only.Count > 0 ? Named(only) : Cases(only))
        {
            int inputs = x.Length;
            var outputs = new float[inputs];
            var times = new[] { new List<double>(), new List<double>() };
            try
            {
                for (int i = 0; i < 20; i++) runner.Forward(x, runner.MaxBatchSize, default, outputs, default); // tiered compilation settles
                for (int round = 0; round < 20; round++)
                    for (int mode = 0; mode < 2; mode++)
                    {
                        Gemm.FuseSweeps = mode == 0;
                        runner.Forward(x, runner.MaxBatchSize, default, outputs, default);
                        for (int i = 0; i < 3; i++)
                        {
                            var clock = Stopwatch.StartNew();
                            runner.Forward(x, runner.MaxBatchSize, default, outputs, default);
                            times[mode].Add(clock.Elapsed.TotalMilliseconds);
                        }
                    }
            }
            finally { Gemm.FuseSweeps = true; }
            foreach (List<double> t in times) t.Sort();
            double fusedMedian = times[0][times[0].Count / 2], apartMedian = times[1][times[1].Count / 2];
            Console.WriteLine($"{key,-20} forward fused {fusedMedian,9:F3} ms (best {times[0][0]:F3})   apart {apartMedian,9:F3} ms (best {times[1][0]:F3})   fused/apart {fusedMedian / apartMedian:F3} (best {times[0][0] / times[1][0]:F3})");
        }
        return 0;
    }

    /// <summary>
    /// report OURS.json TORCH.json: the ratio table (PyTorch time / our time; above 1 means we are faster). Either side
    /// may be several files, comma-separated, one per round of alternating runs (bench/compare.sh): each time is then
    /// the median over the rounds, and each speed-up is followed by the range of the rounds' own speed-ups.
    /// </summary>
    public static int Report(string[] args)
    {
        if (args.Length != 2) { Console.Error.WriteLine("Usage: report OURS.json[,OURS2.json...] PYTORCH.json[,PYTORCH2.json...]"); return 2; }
        List<Dictionary<string, Dictionary<string, double>>> ours = Rounds(args[0]), torch = Rounds(args[1]);
        if (ours.Count != torch.Count) { Console.Error.WriteLine($"{ours.Count} rounds of ours against {torch.Count} of PyTorch's"); return 2; }
        static double MedianOf(IEnumerable<double> values)
        {
            double[] sorted = values.Order().ToArray();
            return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        }
        string SpeedUp(string key, string measure)
        {
            double ratio = MedianOf(torch.Select(r => r[key][measure])) / MedianOf(ours.Select(r => r[key][measure]));
            if (ours.Count == 1) return string.Create(CultureInfo.InvariantCulture, $"{ratio:F2}x");
            double[] rounds = ours.Zip(torch, (o, t) => t[key][measure] / o[key][measure]).ToArray();
            return string.Create(CultureInfo.InvariantCulture, $"{ratio:F2}x ({rounds.Min():F2}-{rounds.Max():F2})");
        }
        Console.WriteLine(ours.Count == 1 ? "One round." : $"Medians of {ours.Count} alternating rounds; in brackets, the lowest and highest speed-up of a single round.");
        Console.WriteLine();
        bool withOrt = ours.All(r => r.Where(entry => entry.Key != "peak").All(entry => entry.Value.ContainsKey("ort_forward_ms")));
        Console.WriteLine("| cell/config | ours fwd ms | torch fwd ms | fwd speed-up | ours train ms | torch train ms | train speed-up |" + (withOrt ? " ORT fwd ms | vs ORT |" : ""));
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |" + (withOrt ? " ---: | ---: |" : ""));
        foreach (string key in ours[0].Keys)
        {
            if (!torch.All(r => r.ContainsKey(key)) || !ours.All(r => r.ContainsKey(key))) continue;
            string ortColumns = "";
            if (withOrt)
            {
                // ORT's time over ours, each round's from the same process, alternated.
                double[] rounds = ours.Select(r => r[key]["ort_forward_ms"] / r[key]["forward_ms"]).ToArray();
                ortColumns = string.Create(CultureInfo.InvariantCulture, $" {MedianOf(ours.Select(r => r[key]["ort_forward_ms"])):F2} | {MedianOf(rounds):F2}x{(rounds.Length > 1 ? $" ({rounds.Min():F2}-{rounds.Max():F2})" : "")} |");
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {key} | {MedianOf(ours.Select(r => r[key]["forward_ms"])):F2} | {MedianOf(torch.Select(r => r[key]["forward_ms"])):F2} | {SpeedUp(key, "forward_ms")} | {MedianOf(ours.Select(r => r[key]["train_ms"])):F2} | {MedianOf(torch.Select(r => r[key]["train_ms"])):F2} | {SpeedUp(key, "train_ms")} |{ortColumns}"));
        }
        // The lstm's forward rate in GFLOP/s: both products, 2 T B (X + H) 4H FLOP (X = H), over the median time.
        double LstmRate(Configuration config) =>
            2.0 * config.Steps * config.Batch * (2 * config.Hidden) * 4 * config.Hidden / MedianOf(ours.Select(r => r["lstm/" + config.Name]["forward_ms"])) / 1e6;
        if (ours.All(r => r.ContainsKey("peak")))
        {
            // Against the peak each round measured.
            double peak = MedianOf(ours.Select(r => r["peak"]["gflops"]));
            Console.WriteLine();
            Console.Write(string.Create(CultureInfo.InvariantCulture, $"FMA peak of the cores, measured in each round: {peak:F1} GFLOP/s (median). lstm forward:"));
            foreach (Configuration config in Configurations.Where(c => ours.All(r => r.ContainsKey("lstm/" + c.Name))))
            {
                double rate = LstmRate(config);
                Console.Write(string.Create(CultureInfo.InvariantCulture, $" {config.Name} {rate:F1} GFLOP/s, {100 * rate / peak:F0}% of it;"));
            }
            Console.WriteLine();
        }
        if (torch.All(r => r.ContainsKey("gemm")) && ours.All(r => r.ContainsKey("lstm/b64-h512")))
        {
            double blas = MedianOf(torch.Select(r => r["gemm"]["gflops"]));
            double mine = LstmRate(Configurations.Single(c => c.Name == "b64-h512"));
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"OpenBLAS SGEMM at the hoisted input product of b64-h512 ([6400, 512] x [512, 2048]): {blas:F1} GFLOP/s; our lstm/b64-h512 forward: {mine:F1} GFLOP/s, {100 * mine / blas:F0}% of it."));
        }
        return 0;
    }

    /// <summary>Each comma-separated file: times by cell/config and measure (PyTorch's also holds "gemm": shape, ms, gflops).</summary>
    private static List<Dictionary<string, Dictionary<string, double>>> Rounds(string paths) =>
        paths.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(path =>
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllText(path));
            return document.RootElement.EnumerateObject().ToDictionary(entry => entry.Name,
                entry => entry.Value.EnumerateObject().Where(measure => measure.Value.ValueKind == JsonValueKind.Number)
                    .ToDictionary(measure => measure.Name, measure => measure.Value.GetDouble()));
        }).ToList();
}
