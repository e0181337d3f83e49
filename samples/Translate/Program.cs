// Sequence to sequence: a GRU encoder reads strings of digits, a GRU decoder starts from the encoder's final state
// and writes them reversed, attending to every step of the encoder's outputs (--attention additive or dot; none is the
// plain encoder-decoder, whose one vector is the bottleneck on long strings), trained with teacher forcing and decoded
// a step at a time, greedily or by beam search (--beam W). The encoder's state passes to the decoder by name
// (SetInitialState / FinalState) and its gradient back the same way; the attention writes the gradients of its outputs.
using System;
using System.Linq;
using CellGen;
using CellGen.Cells;
using CellGen.Samples;
using CellGen.Samples.Translate;

var options = new Options(args, "dotnet run -c Release --project samples/Translate -- [--steps 6000] [--batch 64] [--seed 1] [--shortest 3] [--longest 12] [--attention additive|dot|none] [--beam 1] [--json PATH] [--plot translate-loss.svg]",
    "steps", "batch", "seed", "shortest", "longest", "attention", "beam", "json", "plot");
int steps = options.Int("steps", 6000), batch = options.Int("batch", 64), seed = options.Int("seed", 1), beam = options.Int("beam", 1);
string kind = options.Text("attention", "additive")!;
var data = new Digits(seed, options.Int("shortest", 3), options.Int("longest", 12));
var training = new Training($"Translate ({kind} attention)");

// model and training: begin
Initializers.ManualSeed(seed);
var encoderGru = new Recurrent((x, h) => new TorchGru(x, h), 32, 128);
var encoder = new Sequential(new Embedding(10, 32), encoderGru);
Module[] attention = kind == "none" ? [] : [new Attention(128, 128, kind == "dot" ? AttentionScore.Dot : AttentionScore.Additive)];
var decoder = new Decoder(new Sequential([new Embedding(Digits.Vocabulary, 32), new Recurrent((x, h) => new TorchGru(x, h), 32, 128), .. attention, new Dense(128, Digits.Vocabulary)]));
var loss = new CrossEntropyLoss();
var optimizer = Adam.W([encoder, decoder.Model], learningRate: 3e-3);
Activations? Memory(int[] source, int[] lengths, bool training)
{
    Activations outputs = encoder.Forward(source, lengths, training);
    decoder.Recurrent.SetInitialState("h", encoderGru.FinalState("h"));
    return kind == "none" ? null : outputs;
}
training.Run(steps, step =>
{
    var (source, sourceLengths, input, target, targetLengths) = data.Batch(batch);
    Activations? memory = Memory(source, sourceLengths, training: true);
    float value = loss.Compute(decoder.Forward(input, targetLengths, memory, training: true), target);
    optimizer.ZeroGradients();
    decoder.Backward();
    decoder.Recurrent.InitialStateGradient("h").CopyTo(encoderGru.FinalStateGradient("h"));
    encoder.Backward();
    optimizer.ClipGradientsByNorm(1.0);
    optimizer.Step();
    return value;
});
int[] Decode(int[] source, int[] sourceLengths) // the tokens written at each step, [T, B]
{
    var written = new int[(data.Longest + 1) * sourceLengths.Length];
    decoder.BeamSearch(Memory(source, sourceLengths, training: false), sourceLengths.Length, Digits.Go, Digits.End, beam, written);
    return written;
}
// model and training: end

int exact = 0, total = 0;
for (int i = 0; i < 16; i++)
{
    var (source, lengths, _, target, _) = data.Batch(batch);
    int[] written = Decode(source, lengths);
    for (int b = 0; b < batch; b++, total++)
    {
        // Right when every digit and then <end> are right (what follows <end> does not matter).
        bool right = Enumerable.Range(0, lengths[b] + 1).All(t => written[t * batch + b] == target[t * batch + b]);
        exact += right ? 1 : 0;
        if (i == 0 && b < 3)
            Console.WriteLine($"{string.Concat(Enumerable.Range(0, lengths[b]).Select(t => source[t * batch + b]))} -> {string.Concat(Enumerable.Range(0, data.Longest + 1).Select(t => written[t * batch + b]).TakeWhile(d => d != Digits.End))}");
    }
}
Console.WriteLine($"Exact matches: {(double)exact / total:P1} of {total} new strings ({training.Elapsed.TotalSeconds:F0} s of training).");
training.Figures["exact_match"] = Math.Round((double)exact / total, 4);
training.Figures["attention"] = kind;
training.WriteSvg(options.Text("plot", "translate-loss.svg")!);
if (options.Text("json") is { } json) training.WriteJson(json);
return 0;
