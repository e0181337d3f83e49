using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace CellGen.Samples;

/// <summary>
/// A sample's training run as the user watches it: a progress bar with the loss and the time left (plain lines when
/// the output is not a terminal), the loss curve kept for an SVG, and the figures for --json.
/// </summary>
public sealed class Training
{
    private readonly List<(int Step, double Loss)> _curve = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public Training(string title, bool quiet = false)
    {
        Title = title;
        Quiet = quiet;
    }

    /// <summary>Prints nothing (the processes other than rank 0 of a data-parallel run).</summary>
    public bool Quiet { get; }

    public string Title { get; }

    /// <summary>The figures the sample reports, by name, for --json.</summary>
    public Dictionary<string, object> Figures { get; } = new();

    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Runs <paramref name="steps"/> steps of <paramref name="step"/> (which returns the step's loss) under a progress bar.</summary>
    public void Run(int steps, Func<int, double> step, int every = 10)
    {
        if (Quiet)
        {
            double quiet = double.NaN;
            for (int s = 1; s <= steps; s++) quiet = Record(s, step(s), quiet, every);
            return;
        }
        if (!AnsiConsole.Profile.Capabilities.Interactive || Console.IsOutputRedirected)
        {
            double smoothed = double.NaN;
            for (int s = 1; s <= steps; s++)
            {
                smoothed = Record(s, step(s), smoothed, every);
                if (s % Math.Max(1, steps / 10) == 0 || s == steps)
                    Console.WriteLine($"step {s,6}/{steps}  loss {smoothed:F4}  {Elapsed.TotalSeconds:F0} s, {Left(s, steps).TotalSeconds:F0} s left");
            }
            return;
        }
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                ProgressTask task = context.AddTask(Title, maxValue: steps);
                double smoothed = double.NaN;
                for (int s = 1; s <= steps; s++)
                {
                    smoothed = Record(s, step(s), smoothed, every);
                    task.Description = $"{Title}: loss {smoothed:F4}";
                    task.Increment(1);
                }
            });
    }

    private double Record(int step, double loss, double smoothed, int every)
    {
        smoothed = double.IsNaN(smoothed) ? loss : 0.95 * smoothed + 0.05 * loss;
        if (step % every == 0 || step == 1) _curve.Add((step, smoothed));
        return smoothed;
    }

    private TimeSpan Left(int step, int steps) => TimeSpan.FromTicks(Elapsed.Ticks / step * (steps - step));

    /// <summary>Writes the smoothed loss by step as an SVG line chart.</summary>
    public void WriteSvg(string path, string lossName = "loss")
    {
        const int width = 640, height = 360, left = 60, right = 20, top = 30, bottom = 45;
        if (_curve.Count == 0) return;
        double maxStep = _curve[^1].Step, high = _curve.Max(p => p.Loss), low = Math.Min(0, _curve.Min(p => p.Loss));
        string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);
        double X(double step) => left + step / maxStep * (width - left - right);
        double Y(double loss) => top + (high - loss) / (high - low) * (height - top - bottom);
        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append($"<text x=\"{left}\" y=\"18\" font-size=\"14\">{Title}: training {lossName} by step</text>\n");
        for (int i = 0; i <= 4; i++)
        {
            double value = low + (high - low) * i / 4;
            svg.Append($"<line x1=\"{left}\" x2=\"{width - right}\" y1=\"{F(Y(value))}\" y2=\"{F(Y(value))}\" stroke=\"#ddd\"/><text x=\"{left - 6}\" y=\"{F(Y(value) + 4)}\" text-anchor=\"end\">{value.ToString("G3", CultureInfo.InvariantCulture)}</text>\n");
            svg.Append($"<text x=\"{F(X(maxStep * i / 4))}\" y=\"{height - bottom + 18}\" text-anchor=\"middle\">{maxStep * i / 4:F0}</text>\n");
        }
        svg.Append($"<text x=\"{(left + width - right) / 2}\" y=\"{height - 8}\" text-anchor=\"middle\">step</text>\n");
        string points = string.Join(" ", _curve.Select(p => $"{F(X(p.Step))},{F(Y(p.Loss))}"));
        svg.Append($"<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"{points}\"/>\n</svg>\n");
        File.WriteAllText(path, svg.ToString());
        Console.WriteLine($"Loss curve: {Path.GetFullPath(path)}");
    }

    /// <summary>Writes <see cref="Figures"/>, the curve and the time taken as JSON.</summary>
    public void WriteJson(string path)
    {
        var document = new Dictionary<string, object>(Figures)
        {
            ["seconds"] = Math.Round(Elapsed.TotalSeconds, 1),
            ["curve"] = _curve.Select(p => new[] { p.Step, Math.Round(p.Loss, 5) }).ToArray(),
        };
        File.WriteAllText(path, JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
    }
}

/// <summary>Command-line options as --name value pairs, with defaults and a usage line.</summary>
public sealed class Options
{
    private readonly Dictionary<string, string> _values = new();

    public Options(string[] args, string usage, params string[] names)
    {
        Usage = usage;
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i].StartsWith("--") ? args[i][2..] : "";
            if (!names.Contains(name) || i + 1 >= args.Length) throw new ArgumentException($"Usage: {usage}");
            _values[name] = args[++i];
        }
    }

    public string Usage { get; }

    public int Int(string name, int value) => _values.TryGetValue(name, out string? text) ? int.Parse(text, CultureInfo.InvariantCulture) : value;

    public float Float(string name, float value) => _values.TryGetValue(name, out string? text) ? float.Parse(text, CultureInfo.InvariantCulture) : value;

    public string? Text(string name, string? value = null) => _values.TryGetValue(name, out string? text) ? text : value;
}
