using System;
using System.Globalization;

namespace CellGen.Samples.Adding;

/// <summary>Command-line options; every one has a default that finishes within about ten minutes here.</summary>
public sealed record Options
{
    public int Length { get; init; } = 100;
    public int Hidden { get; init; } = 64;
    public int Batch { get; init; } = 32;
    public int Steps { get; init; } = 3000;
    public float LearningRate { get; init; } = 2e-3f;
    public double ClipNorm { get; init; } = 1.0;
    public int EvaluateEvery { get; init; } = 100;
    public int TestSize { get; init; } = 512;
    public int Seed { get; init; } = 1;
    public string[] Cells { get; init; } = { "Rnn", "Irnn", "Lstm", "PeepholeLstm", "CoupledLstm", "Gru", "TorchGru" };
    public string? Json { get; init; }
    public string Plot { get; init; } = "adding-loss.svg";

    public const string Usage = """
        Usage: dotnet run -c Release --project samples/Adding -- [options]
          --length T        sequence length (default 100)
          --hidden H        hidden size (default 64)
          --batch B         sequences per step (default 32)
          --steps N         training steps per cell (default 3000)
          --lr RATE         Adam learning rate (default 0.002; Irnn uses a tenth)
          --clip NORM       gradient clipping by global norm (default 1)
          --cells A,B,...   which built-in cells (default all seven)
          --seed S          random seed (default 1)
          --json PATH       also write the table as JSON
          --plot PATH       the loss curves as SVG (default adding-loss.svg)
        """;

    public static Options Parse(string[] args)
    {
        var options = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.\n{Usage}");
            int Int() => int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : throw new ArgumentException($"{args[i - 1]} needs a positive integer.");
            options = args[i] switch
            {
                "--length" => options with { Length = Int() },
                "--hidden" => options with { Hidden = Int() },
                "--batch" => options with { Batch = Int() },
                "--steps" => options with { Steps = Int() },
                "--lr" => options with { LearningRate = float.Parse(Value(), CultureInfo.InvariantCulture) },
                "--clip" => options with { ClipNorm = double.Parse(Value(), CultureInfo.InvariantCulture) },
                "--cells" => options with { Cells = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) },
                "--seed" => options with { Seed = Int() },
                "--json" => options with { Json = Value() },
                "--plot" => options with { Plot = Value() },
                "--help" or "-h" => throw new ArgumentException(Usage),
                _ => throw new ArgumentException($"Unknown option {args[i]}.\n{Usage}"),
            };
        }
        if (options.Length < 2) throw new ArgumentException("--length must be at least 2.");
        return options;
    }
}
