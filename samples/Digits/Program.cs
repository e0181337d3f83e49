// The Digits sample: sklearn's handwritten digits, each 8x8 image read as 8 steps of 8 pixels by an LSTM.
// Reads the data file Debian's python3-sklearn installs (or the path given); pytorch.py beside it is the same in PyTorch.
using System.Globalization;
using System.IO.Compression;
using CellGen;
using CellGen.Cells;

string path = args.Length > 0 ? args[0] : "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
float[][] rows = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress)).ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries)
    .Select(line => line.Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
float[][] images = rows.Select(r => r[..64].Select(v => v / 16).ToArray()).ToArray(); // [T=8, X=8] each
int[] labels = rows.Select(r => (int)r[64]).ToArray();

Initializers.ManualSeed(1);
var model = new Sequential(new Recurrent((x, h) => new Lstm(x, h), 8, 64), new LastStep(), new Dense(64, 10));
var optimizer = new Adam([model], learningRate: 1e-2);
var loss = new CrossEntropyLoss();
var train = new SequenceBatches<float, int>(images[..1500], labels[..1500], batchSize: 32, width: 8, seed: 1);
var test = new SequenceBatches<float, int>(images[1500..], labels[1500..], batchSize: 1000, width: 8, shuffle: false);
for (int epoch = 0; epoch < 10; epoch++)
{
    float value = 0;
    foreach (var batch in train)
    {
        value = loss.Compute(model.Forward(batch.Values, batch.Lengths, training: true), batch.Labels);
        optimizer.ZeroGradients();
        model.Backward();
        optimizer.Step();
    }
    foreach (var batch in test)
        Console.WriteLine($"epoch {epoch + 1}: loss {value:F4}, test accuracy {Metrics.Accuracy(model.Forward(batch.Values, batch.Lengths, training: false), batch.Labels):F3}");
}
