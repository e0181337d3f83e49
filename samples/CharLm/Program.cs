// A character-level language model: embedding, two stacked LSTM layers with dropout, a dense softmax head, trained
// with truncated backpropagation through time (the states carry from chunk to chunk; the gradient stops at each
// chunk's start). Trains on --text (the project's own docs when none is given), reports bits per character on
// held-out text, samples text with a temperature, and saves and resumes training with --save and --resume.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using CellGen;
using CellGen.Cells;
using CellGen.Distributed;
using CellGen.Samples;

var options = new Options(args, "dotnet run -c Release --project samples/CharLm -- [--text FILE] [--steps 1000] [--hidden 128] [--length 64] [--batch 32] "
    + "[--temperature 0.7] [--sample 400] [--seed 1] [--save PATH] [--resume PATH] [--json PATH] [--plot charlm-loss.svg] [--cell lstm|slstm|regularised] "
    + "[--zoneout-c 0] [--zoneout-h 0] [--recurrent-dropout 0.25] [--weight-drop 0]",
    "text", "steps", "hidden", "length", "batch", "temperature", "sample", "seed", "save", "resume", "json", "plot", "cell", "zoneout-c", "zoneout-h", "recurrent-dropout", "weight-drop");
int steps = options.Int("steps", 1000), hidden = options.Int("hidden", 128), length = options.Int("length", 64), batch = options.Int("batch", 32);
int seed = options.Int("seed", 1), sampleLength = options.Int("sample", 400), embeddingSize = 32;
string? resume = options.Text("resume");
// The recurrent cell: nn.LSTM's, xLSTM's sLSTM with 4 heads (the built-in Slstm; --hidden a multiple of 4), or the
// LSTM regularised inside the cell (RegularisedLstm, below: zoneout, variational dropout and DropConnect, their p set
// here; each off at 0).
Func<int, int, RecurrentCell<float>>? makeCell = options.Text("cell") switch
{
    null or "lstm" => (x, h) => new Lstm(x, h),
    "slstm" => (x, h) => new Slstm(x, h),
    "regularised" => (x, h) => Regularised(new RegularisedLstm(x, h)),
    _ => null,
};
if (makeCell is null) { Console.Error.WriteLine($"--cell is lstm, slstm or regularised, not '{options.Text("cell")}'."); return 2; }
RecurrentCell<float> Regularised(RecurrentCell<float> cell)
{
    foreach (CellDropout dropout in cell.Dropouts)
        dropout.Probability = dropout.Kind switch
        {
            CellDropoutKind.Zoneout => options.Float("zoneout-" + dropout.State, 0),
            CellDropoutKind.Variational => options.Float("recurrent-dropout", 0.25f),
            _ => options.Float("weight-drop", 0),
        };
    return cell;
}
if (options.Text("cell") == "slstm" && hidden % 4 != 0) { Console.Error.WriteLine($"--cell slstm has 4 heads: --hidden must be a multiple of 4, not {hidden}."); return 2; }
string text = options.Text("text") is { } path ? File.ReadAllText(path) : ProjectDocs();
if (text.Length * 9 / 10 < batch * (length + 1) || text.Length / 10 < length + 1)
{
    Console.Error.WriteLine($"The text has {text.Length} characters; {batch} streams of {length + 1} and as many held out need at least {(batch + 1) * (length + 1) * 10 / 9 + 1}.");
    return 2;
}
// A resumed run keeps the alphabet it was trained with (from the checkpoint's metadata).
string alphabet = resume is not null ? Checkpoint.ReadMetadata(resume)["alphabet"] : new string(text.Distinct().Order().ToArray());
int[] encoded = text.Select(c => alphabet.IndexOf(c)).ToArray();
if (encoded.Contains(-1)) { Console.Error.WriteLine("The text has characters the checkpoint's alphabet lacks."); return 2; }
int split = encoded.Length * 9 / 10, vocabulary = alphabet.Length;
// Under mpirun each process trains on its share of the streams and the gradients are averaged (docs/distributed.md).
using DataParallel group = DataParallel.Start();
if (group.IsRoot) Console.WriteLine($"{text.Length} characters, {vocabulary} distinct; training on {split}, holding out {encoded.Length - split}; {group.Size} process(es).");
var training = new Training("CharLm", quiet: !group.IsRoot);

// model and training: begin
Initializers.ManualSeed(seed);
var lstm = new Recurrent(makeCell, embeddingSize, hidden, layers: 2, dropout: 0.2) { Stateful = true };
var model = new Sequential(new Embedding(vocabulary, embeddingSize), lstm, new Dropout(0.2f), new Dense(hidden, vocabulary));
var loss = new CrossEntropyLoss();
var optimizer = new Adam([model], learningRate: 3e-3);
// The training text as `batch` streams read side by side, `length` characters at a time.
int streamLength = split / batch, position = 0;
if (resume is not null) position = int.Parse(Checkpoint.Load(resume, model, optimizer)["position"], CultureInfo.InvariantCulture);
group.Broadcast(model);
(int first, int streams) = group.Shard(batch);
int[] Chunk(int start, int stride, int streams, int shift) =>
    Enumerable.Range(0, length * streams).Select(i => encoded[start + i % streams * stride + i / streams + shift]).ToArray();
training.Run(steps, step =>
{
    if (position + length + 1 > streamLength) { position = 0; lstm.ResetStates(); }
    int start = position + first * streamLength;
    float value = loss.Compute(model.Forward(Chunk(start, streamLength, streams, 0), streams, training: true), Chunk(start, streamLength, streams, 1));
    position += length;
    optimizer.ZeroGradients();
    model.Backward();
    group.AverageGradients(model);
    optimizer.ClipGradientsByNorm(1.0);
    optimizer.Step();
    return value / Math.Log(2);
});
if (options.Text("save") is { } save && group.IsRoot)
    Checkpoint.Save(save, model, optimizer, new Dictionary<string, string> { ["alphabet"] = alphabet, ["position"] = position.ToString(CultureInfo.InvariantCulture) });
// Held-out text read as one stream, in chunks, from zero states.
double BitsPerCharacter()
{
    lstm.ResetStates();
    double nats = 0;
    int chunks = 0;
    for (int start = split; start + length + 1 <= encoded.Length && chunks < 64; start += length, chunks++)
        nats += loss.Compute(model.Forward(Chunk(start, 0, 1, 0), 1, training: false), Chunk(start, 0, 1, 1));
    return nats / chunks / Math.Log(2);
}
// model and training: end

double bits = BitsPerCharacter();
if (!group.IsRoot) return 0;
Console.WriteLine($"Held-out: {bits:F3} bits per character (uniform: {Math.Log2(vocabulary):F3}) after {optimizer.Steps} steps, {training.Elapsed.TotalSeconds:F0} s.");
training.Figures["bits_per_character"] = Math.Round(bits, 4);
training.Figures["steps"] = optimizer.Steps;

// Sampling, one character at a time: the stateful model carries its states from each step to the next.
var random = new Random(seed);
var sample = new StringBuilder("T");
int current = Math.Max(0, alphabet.IndexOf('T'));
lstm.ResetStates();
for (int n = 0; n < sampleLength; n++)
{
    current = Sampling.Sample(model.Forward([current], 1, training: false).Values, options.Float("temperature", 0.7f), random);
    sample.Append(alphabet[current]);
}
Console.WriteLine($"\nSample:\n{sample}\n");
training.WriteSvg(options.Text("plot", "charlm-loss.svg")!, "bits per character");
if (options.Text("json") is { } json) training.WriteJson(json);
return 0;

static string ProjectDocs()
{
    for (string? dir = Directory.GetCurrentDirectory(); dir is not null; dir = Path.GetDirectoryName(dir))
        if (File.Exists(Path.Combine(dir, "CellGen.sln")))
            return string.Join("\n\n", new[] { Path.Combine(dir, "README.md") }.Concat(Directory.GetFiles(Path.Combine(dir, "docs"), "*.md").OrderBy(f => f)).Select(File.ReadAllText));
    throw new FileNotFoundException("No --text given and the project's docs were not found (run from inside the repository).");
}

/// <summary>
/// nn.LSTM's equations regularised inside the cell while it trains: zoneout on both states (Krueger et al. 2016's
/// character-level model: p 0.5 on c, 0.05 on h), variational dropout on h where the gates' matrices read it (Gal and
/// Ghahramani 2016), and DropConnect on the weights that multiply h[t-1] (AWD-LSTM's weight drop). The sample sets each
/// p from its options.
/// </summary>
[RecurrentCell]
[Zoneout("c", 0.5), Zoneout("h", 0.05), VariationalDropout("h", 0.25), DropConnect("h", 0.5)]
[Equation("i    = sigmoid(W_i @ [h[t-1], x[t]] + b_i)")]
[Equation("f    = sigmoid(W_f @ [h[t-1], x[t]] + b_f)")]
[Equation("g    = tanh(W_g @ [h[t-1], x[t]] + b_g)")]
[Equation("o    = sigmoid(W_o @ [h[t-1], x[t]] + b_o)")]
[Equation("c[t] = f * c[t-1] + i * g")]
[Equation("h[t] = o * tanh(c[t])")]
public partial class RegularisedLstm;
