using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using CellGen;
using CellGen.Cells;
using CellGen.Samples.Adding;

Options options;
try { options = Options.Parse(args); }
catch (ArgumentException e) { Console.Error.WriteLine(e.Message); return 2; }

var factories = new Dictionary<string, Func<int, int, RecurrentCell<float>>>
{
    ["Rnn"] = (x, h) => new Rnn(x, h),
    ["Irnn"] = (x, h) => new Irnn(x, h),
    ["Lstm"] = (x, h) => new Lstm(x, h),
    ["PeepholeLstm"] = (x, h) => new PeepholeLstm(x, h),
    ["CoupledLstm"] = (x, h) => new CoupledLstm(x, h),
    ["Gru"] = (x, h) => new Gru(x, h),
    ["TorchGru"] = (x, h) => new TorchGru(x, h),
};
foreach (string name in options.Cells)
    if (!factories.ContainsKey(name))
    {
        Console.Error.WriteLine($"Unknown cell '{name}'. Cells: {string.Join(", ", factories.Keys)}");
        return 2;
    }

const double BaselineMse = 1.0 / 6;
Console.WriteLine($"The adding problem: T = {options.Length}, H = {options.Hidden}, batch {options.Batch}, {options.Steps} steps per cell, Adam, clipping at {options.ClipNorm}.");
Console.WriteLine($"Always answering 1 scores MSE {BaselineMse:F3}; solved means a test MSE below {Trainer.SolvedMse}.");
bool interactive = !Console.IsOutputRedirected;
var trainer = new Trainer(options);
var results = new List<TrainingResult>();
foreach (string name in options.Cells)
{
    TrainingResult result = trainer.Train(name, factories[name], line =>
    {
        if (interactive) Console.Write("\r" + line.PadRight(Math.Max(0, Console.WindowWidth - 1)));
        else Console.WriteLine(line);
    });
    if (interactive) Console.WriteLine();
    results.Add(result);
}

Console.WriteLine();
Console.WriteLine("| cell          | final test MSE | steps to MSE 0.01 | ms per step |");
Console.WriteLine("| ------------- | -------------- | ----------------- | ----------- |");
foreach (TrainingResult r in results)
    Console.WriteLine($"| {r.Cell,-13} | {(r.Diverged ? "diverged" : r.FinalMse.ToString("F4", CultureInfo.InvariantCulture)),14} | {(r.StepsToSolve?.ToString(CultureInfo.InvariantCulture) ?? "not solved"),17} | {r.MsPerStep,11:F2} |");
Console.WriteLine($"| baseline (1)  | {BaselineMse,14:F4} |                   |             |");

File.WriteAllText(options.Plot, Plot.Svg(results, BaselineMse, options));
Console.WriteLine($"Loss curves: {Path.GetFullPath(options.Plot)}");
if (options.Json is { } json)
{
    var document = new Dictionary<string, object>
    {
        ["baselineMse"] = BaselineMse,
        ["cells"] = results.ToDictionary(r => r.Cell, r => (object)new Dictionary<string, object?>
        {
            ["finalMse"] = r.Diverged ? null : r.FinalMse,
            ["stepsToSolve"] = r.StepsToSolve,
            ["msPerStep"] = Math.Round(r.MsPerStep, 3),
        }),
    };
    File.WriteAllText(json, JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
    Console.WriteLine($"Table as JSON: {Path.GetFullPath(json)}");
}
return 0;
