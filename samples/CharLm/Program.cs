// A character-level language model: embedding, two stacked LSTM layers with dropout, a dense softmax head, trained
// with truncated backpropagation through time. Trains on --text (the project's own docs when none is given), reports
// bits per character on held-out text, and samples text with a temperature.
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
if (text.Length * 9 / 10 < batch * (length + 1) || text.Length / 10 < length + 1)
{
    Console.Error.WriteLine($"The text has {text.Length} characters; {batch} streams of {length + 1} and as many held out need at least {(batch + 1) * (length + 1) * 10 / 9 + 1}.");
    return 2;
}
char[] alphabet = text.Distinct().OrderBy(c => c).ToArray();
var index = alphabet.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
int[] encoded = text.Select(c => index[c]).ToArray();
int split = encoded.Length * 9 / 10;
int vocabulary = alphabet.Length, embeddingSize = 32;
Console.WriteLine($"{text.Length} characters, {vocabulary} distinct; training on {split}, holding out {encoded.Length - split}.");

// The model: as torch.nn.Sequential(Embedding, LSTM(num_layers=2, dropout=0.2), Dropout, Linear).
Initializers.ManualSeed(seed);
var lstm = new Recurrent((x, h) => new Lstm(x, h), embeddingSize, hidden, layers: 2, dropout: 0.2f) { Stateful = true };
var model = new Sequential(new Embedding(vocabulary, embeddingSize), lstm, new Dropout(0.2f), new Dense(hidden, vocabulary));
var loss = new CrossEntropyLoss();
var optimizer = new Adam([model], learningRate: 3e-3f);

// Truncated backpropagation through time: the training text as `batch` streams read side by side, `length`
// characters at a time; the states carry from one chunk to the next (Stateful) and the gradient stops at its start.
int streamLength = split / batch, position = 0;
var tokens = new int[length * batch];
var targets = new int[length * batch];
void Chunk(int[] source, int start, int stride, int streams)
{
    for (int t = 0; t < length; t++)
        for (int b = 0; b < streams; b++)
        {
            tokens[t * streams + b] = source[start + b * stride + t];
            targets[t * streams + b] = source[start + b * stride + t + 1];
        }
}

// Held-out text read as one stream from zero states, in chunks; training resumes from zero states after it.
double BitsPerCharacter()
{
    lstm.ResetStates();
    double nats = 0;
    int chunks = 0;
    for (int start = split; start + length + 1 <= encoded.Length && chunks < 64; start += length, chunks++)
    {
        Chunk(encoded, start, 0, 1);
        nats += loss.Compute(model.Forward(tokens.AsSpan(0, length), 1, training: false), targets.AsSpan(0, length));
    }
    lstm.ResetStates();
    return nats / chunks / Math.Log(2);
}

Console.WriteLine($"Model: embedding {embeddingSize}, 2 x Lstm({hidden}) with dropout 0.2, dense {hidden} -> {vocabulary}; {batch} streams x {length} characters, Adam.");
Console.WriteLine($"Before training: {BitsPerCharacter():F3} bits per character on held-out text (uniform: {Math.Log2(vocabulary):F3}).");
var clock = Stopwatch.StartNew();
double smoothed = double.NaN;
for (int step = 1; step <= steps; step++)
{
    if (position + length + 1 > streamLength) { position = 0; lstm.ResetStates(); }
    Chunk(encoded, position, streamLength, batch);
    position += length;
    float value = loss.Compute(model.Forward(tokens, batch, training: true), targets);
    optimizer.ZeroGradients();
    model.Backward();
    ClipResult clip = optimizer.ClipGradientsByNorm(1.0, NormType.Two, NonFiniteNorm.Report);
    if (clip.IsFinite) optimizer.Step();
    smoothed = double.IsNaN(smoothed) ? value : 0.95 * smoothed + 0.05 * value;
    if (step % 100 == 0 || step == steps)
        Console.WriteLine($"step {step,5}/{steps}  train {smoothed / Math.Log(2):F3} bits/char  held-out {BitsPerCharacter():F3} bits/char  {clock.Elapsed.TotalMilliseconds / step:F1} ms/step");
}

// Sampling, one character at a time: the stateful model carries its states from each step to the next.
var random = new Random(seed);
var sample = new StringBuilder();
int current = index.TryGetValue('T', out int t0) ? t0 : encoded[0];
sample.Append(alphabet[current]);
lstm.ResetStates();
for (int n = 0; n < sampleLength; n++)
{
    current = Sampling.Sample(model.Forward([current], 1, training: false).Values, temperature, random);
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
