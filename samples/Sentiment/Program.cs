// Many-to-one classification over variable-length sequences: a bidirectional LSTM reads generated reviews
// (Reviews.cs) and says whether each is positive. No packing: each review's length is given, the forward
// direction is read at its last word and the backward direction at its first (LastStep).
using System;
using CellGen;
using CellGen.Cells;
using CellGen.Samples;
using CellGen.Samples.Sentiment;

var options = new Options(args, "dotnet run -c Release --project samples/Sentiment -- [--steps 2000] [--batch 32] [--seed 1] [--json PATH] [--plot sentiment-loss.svg]",
    "steps", "batch", "seed", "json", "plot");
int steps = options.Int("steps", 2000), batch = options.Int("batch", 32), seed = options.Int("seed", 1);
var data = new Reviews(seed);
var training = new Training("Sentiment");

// model and training: begin
Initializers.ManualSeed(seed);
var model = new Sequential(
    new Embedding(Reviews.Words.Length, 32),
    new Recurrent((x, h) => new Lstm(x, h), 32, 64, bidirectional: true),
    new LastStep(),
    new Dense(128, 2));
var loss = new CrossEntropyLoss();
var optimizer = Adam.W([model], learningRate: 3e-3);
training.Run(steps, step =>
{
    (int[] tokens, int[] lengths, int[] labels) = data.Batch(batch);
    float value = loss.Compute(model.Forward(tokens, lengths, training: true), labels);
    optimizer.ZeroGradients();
    model.Backward();
    optimizer.ClipGradientsByNorm(1.0);
    optimizer.Step();
    return value;
});
double Accuracy(int batches)
{
    int right = 0;
    for (int i = 0; i < batches; i++)
    {
        (int[] tokens, int[] lengths, int[] labels) = data.Batch(batch);
        Activations logits = model.Forward(tokens, lengths, training: false);
        for (int b = 0; b < batch; b++) right += Sampling.Greedy(logits.Values.Slice(2 * b, 2)) == labels[b] ? 1 : 0;
    }
    return (double)right / (batches * batch);
}
// model and training: end

double accuracy = Accuracy(32);
Console.WriteLine($"Held-out accuracy: {accuracy:P1} of {32 * batch} new reviews ({training.Elapsed.TotalSeconds:F0} s of training).");
training.Figures["accuracy"] = Math.Round(accuracy, 4);
training.WriteSvg(options.Text("plot", "sentiment-loss.svg")!);
if (options.Text("json") is { } json) training.WriteJson(json);
return 0;
