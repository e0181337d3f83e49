// A character-level language model: embedding, two stacked LSTM layers with dropout, a dense softmax head.
// Trains on --text (the project's own docs when none is given), reports bits per character on held-out text,
// and samples text with a temperature.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using CellGen;
using CellGen.Cells;

string? textPath = null;
int steps = 800, hidden = 128, length = 64, batch = 32, seed = 1, sampleLength = 400;
float temperature = 0.7f;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--text": textPath = Next(); break;
        case "--steps": steps = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--hidden": hidden = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--length": length = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--temperature": temperature = float.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--sample": sampleLength = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        default:
            Console.Error.WriteLine("Usage: dotnet run -c Release --project samples/CharLm -- [--text FILE] [--steps N] [--hidden H] [--length T] [--temperature 0.7] [--sample N] [--seed S]");
            return 2;
    }
}

string text = textPath is not null ? File.ReadAllText(textPath) : ProjectDocs();
if (text.Length < 4 * (length + 1)) { Console.Error.WriteLine($"The text has {text.Length} characters; at least {4 * (length + 1)} are needed."); return 2; }
char[] alphabet = text.Distinct().OrderBy(c => c).ToArray();
var index = alphabet.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
int[] encoded = text.Select(c => index[c]).ToArray();
int split = encoded.Length * 9 / 10;
int vocabulary = alphabet.Length, embeddingSize = 32;
Console.WriteLine($"{text.Length} characters, {vocabulary} distinct; training on {split}, holding out {encoded.Length - split}.");

var random = new Random(seed);
var embedding = new Embedding(vocabulary, embeddingSize, random);
var stack = new RecurrentStack((x, h) => new Lstm(x, h), embeddingSize, hidden, layers: 2, length, batch, dropout: 0.2f, seed: seed);
foreach (RecurrentLayer layer in stack.Layers)
{
    Initializers.Initialize(layer.Forward, random);
    Initializers.Fill(layer.Forward.Parameter("b_f"), 1f);
}
var head = new Dense(hidden, vocabulary);
Initializers.Initialize(head, random);
var owners = new IHasParameters[] { embedding, stack, head };
var optimizer = new Adam(owners, learningRate: 3e-3f);

int rows = length * batch;
var tokens = new int[rows];
var targets = new int[rows];
var embedded = new float[rows * embeddingSize];
var hiddenStates = new float[rows * hidden];
var logits = new float[rows * vocabulary];
var dLogits = new float[rows * vocabulary];
var dHidden = new float[rows * hidden];
var dEmbedded = new float[rows * embeddingSize];

// Windows of text, time-major: row (t, b) holds character start_b + t; the target is the next character.
void Fill(int start, int b)
{
    for (int t = 0; t < length; t++)
    {
        tokens[t * batch + b] = encoded[start + t];
        targets[t * batch + b] = encoded[start + t + 1];
    }
}

float Forward(bool training)
{
    embedding.Forward(tokens, embedded);
    stack.Run(embedded, batch, hiddenStates, training);
    head.Forward(hiddenStates, logits, rows);
    return Losses.SoftmaxCrossEntropy(logits, targets, vocabulary, dLogits);
}

double BitsPerCharacter()
{
    double nats = 0;
    int windows = 0;
    for (int start = split; start + batch * length + 1 <= encoded.Length || windows == 0; start += batch * length)
    {
        if (start + batch * length + 1 > encoded.Length) start = encoded.Length - batch * length - 1;
        if (start < 0) start = 0;
        for (int b = 0; b < batch; b++) Fill(Math.Min(start + b * length, encoded.Length - length - 1), b);
        nats += Forward(training: false);
        windows++;
        if (windows >= 8) break;
    }
    return nats / windows / Math.Log(2);
}

Console.WriteLine($"Model: embedding {embeddingSize}, 2 x Lstm({hidden}) with dropout 0.2, dense {hidden} -> {vocabulary}; batch {batch} x {length} characters, Adam.");
Console.WriteLine($"Before training: {BitsPerCharacter():F3} bits per character on held-out text (uniform: {Math.Log2(vocabulary):F3}).");
var clock = Stopwatch.StartNew();
double smoothed = double.NaN;
for (int step = 1; step <= steps; step++)
{
    for (int b = 0; b < batch; b++) Fill(random.Next(0, split - length - 1), b);
    float loss = Forward(training: true);
    Array.Clear(dHidden);
    head.Backward(hiddenStates, dLogits, dHidden, rows);
    stack.Backward(dHidden, dEmbedded);
    embedding.Backward(tokens, dEmbedded);
    ClipResult clip = optimizer.ClipGradientsByNorm(1.0, NormType.Two, NonFiniteNorm.Report);
    if (clip.IsFinite) optimizer.Step();
    optimizer.ZeroGradients();
    smoothed = double.IsNaN(smoothed) ? loss : 0.95 * smoothed + 0.05 * loss;
    if (step % 100 == 0 || step == steps)
        Console.WriteLine($"step {step,5}/{steps}  train {smoothed / Math.Log(2):F3} bits/char  held-out {BitsPerCharacter():F3} bits/char  {clock.Elapsed.TotalMilliseconds / step:F1} ms/step");
}

// Sampling, one character at a time: each layer's cell runs one step from the states it had.
var runners = stack.Layers.Select(l => l.Forward.CreateRunner(1, 1)).ToArray();
var states = stack.Layers.Select(l => new float[l.Forward.StateNames.Count * hidden]).ToArray();
var next = stack.Layers.Select(l => new float[l.Forward.StateNames.Count * hidden]).ToArray();
var input = new float[embeddingSize];
var output = new float[hidden];
var scores = new float[vocabulary];
var sample = new StringBuilder();
int current = index.TryGetValue('T', out int t0) ? t0 : encoded[0];
sample.Append(alphabet[current]);
for (int n = 0; n < sampleLength; n++)
{
    embedding.Forward(new[] { current }, input);
    ReadOnlySpan<float> below = input;
    for (int l = 0; l < runners.Length; l++)
    {
        runners[l].Forward(below, 1, states[l], output, next[l]);
        (states[l], next[l]) = (next[l], states[l]);
        below = output;
    }
    head.Forward(output, scores, 1);
    double max = scores.Max(), total = 0;
    var weights = scores.Select(s => Math.Exp((s - max) / temperature)).ToArray();
    total = weights.Sum();
    double pick = random.NextDouble() * total;
    current = 0;
    for (double sum = weights[0]; sum < pick && current < vocabulary - 1; sum += weights[++current]) { }
    sample.Append(alphabet[current]);
}
Console.WriteLine($"\nSample at temperature {temperature}:\n{sample}\n");
return 0;

static string ProjectDocs()
{
    for (string? dir = Directory.GetCurrentDirectory(); dir is not null; dir = Path.GetDirectoryName(dir))
        if (File.Exists(Path.Combine(dir, "CellGen.sln")))
            return string.Join("\n\n", new[] { Path.Combine(dir, "README.md") }.Concat(Directory.GetFiles(Path.Combine(dir, "docs"), "*.md").OrderBy(f => f)).Select(File.ReadAllText));
    throw new FileNotFoundException("No --text given and the project's docs were not found (run from inside the repository).");
}
