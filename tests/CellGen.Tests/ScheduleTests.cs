using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using CellGen.Cells;
using Xunit;

namespace CellGen.Tests;

/// <summary>
/// Learning-rate schedules against torch.optim.lr_scheduler (Fixtures/pytorch-schedules, made by make.py there with
/// PyTorch 1.13): the same rates to 1e-7 at every step; saved in checkpoints, a resumed run goes on bit for bit.
/// </summary>
public sealed class ScheduleTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "cellgen-schedules-" + Guid.NewGuid().ToString("N"));

    public ScheduleTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static IEnumerable<object[]> Cases()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pytorch-schedules", "schedules.json");
        var cases = JsonDocument.Parse(File.ReadAllText(path)).RootElement.GetProperty("cases");
        return Enumerable.Range(0, cases.GetArrayLength()).Select(i => new object[] { i, cases[i].GetProperty("kind").GetString()! });
    }

    private static JsonElement Case(int index) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pytorch-schedules", "schedules.json"))).RootElement.GetProperty("cases")[index];

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryRateIsPyTorchs(int index, string kind)
    {
        JsonElement c = Case(index);
        double Number(string name) => c.GetProperty(name).GetDouble();
        int Whole(string name) => c.GetProperty(name).GetInt32();
        var optimizer = new Sgd([new Dense(1, 1)], learningRate: Number("lr"));
        LearningRateSchedule schedule = kind switch
        {
            "step" => new StepDecay(optimizer, Whole("step_size"), Number("gamma")),
            "exponential" => new ExponentialDecay(optimizer, Number("gamma")),
            "cosine" => new CosineDecay(optimizer, Whole("total"), Whole("warmup"), Number("start_factor"), Number("eta_min")),
            _ => new ReduceOnPlateau(optimizer, c.GetProperty("mode").GetString() == "min" ? PlateauMode.Min : PlateauMode.Max, Number("factor"), Whole("patience"),
                Number("threshold"), c.GetProperty("threshold_mode").GetString() == "rel", Whole("cooldown"), Number("min_lr")),
        };
        double[] expected = c.GetProperty("rates").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        double[] metrics = kind == "plateau" ? c.GetProperty("metrics").EnumerateArray().Select(e => e.GetDouble()).ToArray() : [];
        for (int step = 0; step < expected.Length; step++)
        {
            if (step > 0)
            {
                if (schedule is ReduceOnPlateau plateau) plateau.Step(metrics[step - 1]);
                else ((StepSchedule)schedule).Step();
            }
            double actual = optimizer.LearningRate;
            Assert.True(Math.Abs(actual - expected[step]) <= 1e-7 * Math.Abs(expected[step]) + 1e-15, $"{kind} #{index}, step {step}: {actual} against PyTorch's {expected[step]}");
        }
        Assert.Equal(expected.Length - 1, schedule.Steps);
    }

    private static Sequential Model() => new(new Embedding(7, 4, new Random(1)), new Recurrent((x, h) => new Lstm(x, h), 4, 5, random: new Random(2)), new LastStep(), new Dense(5, 3, new Random(3)));

    private static float TrainStep(Sequential model, Optimizer optimizer, int step)
    {
        var random = new Random(100 + step);
        int[] tokens = Enumerable.Range(0, 6 * 4).Select(_ => random.Next(7)).ToArray();
        int[] labels = Enumerable.Range(0, 4).Select(_ => random.Next(3)).ToArray();
        float loss = new CrossEntropyLoss().Compute(model.Forward(tokens, 4, training: true), labels);
        optimizer.ZeroGradients();
        model.Backward();
        optimizer.Step();
        return loss;
    }

    [Theory]
    [InlineData("cosine")]
    [InlineData("plateau")]
    public void AResumedRunGoesOnWithTheSameRatesBitForBit(string kind)
    {
        (Sequential Model, Adam Optimizer, LearningRateSchedule Schedule) Make()
        {
            Sequential model = Model();
            var optimizer = Adam.W([model], learningRate: 3e-2);
            LearningRateSchedule schedule = kind == "cosine" ? new CosineDecay(optimizer, total: 12, warmup: 3) : new ReduceOnPlateau(optimizer, patience: 0, factor: 0.5, threshold: 0.5);
            return (model, optimizer, schedule);
        }
        void Advance(Sequential model, Adam optimizer, LearningRateSchedule schedule, int step)
        {
            float loss = TrainStep(model, optimizer, step);
            if (schedule is ReduceOnPlateau plateau) plateau.Step(loss);
            else ((StepSchedule)schedule).Step();
        }
        var straight = Make();
        for (int step = 0; step < 10; step++) Advance(straight.Model, straight.Optimizer, straight.Schedule, step);

        var first = Make();
        for (int step = 0; step < 5; step++) Advance(first.Model, first.Optimizer, first.Schedule, step);
        string path = Path.Combine(_folder, "run.safetensors");
        Checkpoint.Save(path, first.Model, first.Optimizer, schedule: first.Schedule);
        var resumed = Make();
        Checkpoint.Load(path, resumed.Model, resumed.Optimizer, resumed.Schedule);
        Assert.Equal(first.Optimizer.LearningRate, resumed.Optimizer.LearningRate);
        for (int step = 5; step < 10; step++) Advance(resumed.Model, resumed.Optimizer, resumed.Schedule, step);

        Assert.Equal(straight.Optimizer.LearningRate, resumed.Optimizer.LearningRate);
        Assert.Equal(straight.Schedule.Steps, resumed.Schedule.Steps);
        Assert.Equal(straight.Model.NamedParameters().Select(p => p.Value.ToArray()), resumed.Model.NamedParameters().Select(p => p.Value.ToArray()));
        if (kind == "plateau") Assert.NotEqual(3e-2, straight.Optimizer.LearningRate); // the plateau did reduce the rate
    }

    [Fact]
    public void AScheduleOfAnotherKindOrABrokenStateChangesNothing()
    {
        Sequential model = Model();
        var optimizer = Adam.W([model], learningRate: 1e-2);
        var schedule = new StepDecay(optimizer, 2);
        string path = Path.Combine(_folder, "step.safetensors");
        schedule.Step();
        schedule.Step();
        Checkpoint.Save(path, model, optimizer, schedule: schedule);

        Sequential other = Model();
        var otherOptimizer = Adam.W([other], learningRate: 5e-2);
        var wrongKind = new ExponentialDecay(otherOptimizer, 0.5);
        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, other, otherOptimizer, wrongKind));
        Assert.Contains("StepDecay, not a ExponentialDecay", error.Message);
        Assert.Equal(5e-2, otherOptimizer.LearningRate);
        Assert.Equal(0, wrongKind.Steps);

        var noSchedule = Path.Combine(_folder, "plain.safetensors");
        Checkpoint.Save(noSchedule, model, optimizer);
        Assert.Contains("no learning-rate schedule", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(noSchedule, other, otherOptimizer, new StepDecay(otherOptimizer, 2))).Message);
        Assert.Throws<ArgumentException>(() => Checkpoint.Save(path, model, otherOptimizer, schedule: schedule));
        Assert.Equal(5e-2, otherOptimizer.LearningRate);
    }
}
