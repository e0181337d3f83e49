// Sequence to sequence: a GRU encoder reads strings of digits, a GRU decoder starts from the encoder's final state
// and writes them reversed, trained with teacher forcing and decoded greedily a step at a time. The encoder's state
// passes to the decoder by name (SetInitialState / FinalState) and its gradient back the same way.
using System;
using System.Linq;
using CellGen;
using CellGen.Cells;
using CellGen.Samples;
using CellGen.Samples.Translate;

var options = new Options(args, "dotnet run -c Release --project samples/Translate -- [--steps 6000] [--batch 64] [--seed 1] [--json PATH] [--plot translate-loss.svg]",
    "steps", "batch", "seed", "json", "plot");
int steps = options.Int("steps", 6000), batch = options.Int("batch", 64), seed = options.Int("seed", 1);
var data = new Digits(seed);
var training = new Training("Translate");

// model and training: begin
Initializers.ManualSeed(seed);
var encoderGru = new Recurrent((x, h) => new TorchGru(x, h), 32, 128);
var decoderGru = new Recurrent((x, h) => new TorchGru(x, h), 32, 128) { Stateful = true }; // decodes a step at a time
var encoder = new Sequential(new Embedding(10, 32), encoderGru);
var decoder = new Sequential(new Embedding(Digits.Vocabulary, 32), decoderGru, new Dense(128, Digits.Vocabulary));
var loss = new CrossEntropyLoss();
var optimizer = Adam.W([encoder, decoder], learningRate: 3e-3);
training.Run(steps, step =>
{
    var (source, sourceLengths, input, target, targetLengths) = data.Batch(batch);
    encoder.Forward(source, sourceLengths, training: true);
    decoderGru.SetInitialState("h", encoderGru.FinalState("h"));
    float value = loss.Compute(decoder.Forward(input, targetLengths, training: true), target);
    optimizer.ZeroGradients();
    decoder.Backward();
    decoderGru.InitialStateGradient("h").CopyTo(encoderGru.FinalStateGradient("h"));
    encoder.Backward();
    optimizer.ClipGradientsByNorm(1.0);
    optimizer.Step();
    return value;
});
int[][] Decode(int[] source, int[] sourceLengths) // the tokens written at each step, [T][B]
{
    encoder.Forward(source, sourceLengths, training: false);
    decoderGru.SetInitialState("h", encoderGru.FinalState("h"));
    var written = new int[Digits.Longest + 1][];
    int[] token = Enumerable.Repeat(Digits.Go, sourceLengths.Length).ToArray();
    for (int t = 0; t <= Digits.Longest; t++)
        Sampling.Greedy(decoder.Forward(token, token.Length, training: false), written[t] = token = new int[token.Length]);
    return written;
}
// model and training: end

int exact = 0, total = 0;
for (int i = 0; i < 16; i++)
{
    var (source, lengths, _, target, _) = data.Batch(batch);
    int[][] written = Decode(source, lengths);
    for (int b = 0; b < batch; b++, total++)
    {
        // Right when every digit and then <end> are right (what follows <end> does not matter).
        bool right = Enumerable.Range(0, lengths[b] + 1).All(t => written[t][b] == target[t * batch + b]);
        exact += right ? 1 : 0;
        if (i == 0 && b < 3)
            Console.WriteLine($"{string.Concat(Enumerable.Range(0, lengths[b]).Select(t => source[t * batch + b]))} -> {string.Concat(written.Select(w => w[b]).TakeWhile(d => d != Digits.End))}");
    }
}
Console.WriteLine($"Exact matches: {(double)exact / total:P1} of {total} new strings ({training.Elapsed.TotalSeconds:F0} s of training).");
training.Figures["exact_match"] = Math.Round((double)exact / total, 4);
training.WriteSvg(options.Text("plot", "translate-loss.svg")!);
if (options.Text("json") is { } json) training.WriteJson(json);
return 0;
