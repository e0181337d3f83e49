using System;
using System.Linq;

namespace CellGen.Samples.Translate;

/// <summary>
/// The task, generated in code: strings of <see cref="Shortest"/> to <see cref="Longest"/> digits (3 to 12 by default)
/// to write reversed. The decoder reads &lt;go&gt; and then the answer so far (teacher forcing) and writes the answer and
/// then &lt;end&gt;. pytorch.py draws the same.
/// </summary>
public sealed class Digits(int seed, int shortest = 3, int longest = 12)
{
    public const int Go = 10, End = 11, Vocabulary = 12;

    private readonly Random _random = new(seed);

    public int Shortest { get; } = shortest;

    public int Longest { get; } = longest;

    /// <summary>
    /// A batch, time-major: sources [T, B] and their lengths; decoder inputs (&lt;go&gt;, reversed digits) and targets
    /// (reversed digits, &lt;end&gt;) [T + 1, B] and their lengths.
    /// </summary>
    public (int[] Source, int[] SourceLengths, int[] Input, int[] Target, int[] TargetLengths) Batch(int size)
    {
        var strings = Enumerable.Range(0, size).Select(_ => Enumerable.Range(0, _random.Next(Shortest, Longest + 1)).Select(_ => _random.Next(10)).ToArray()).ToArray();
        int steps = strings.Max(s => s.Length);
        var source = new int[steps * size];
        var input = new int[(steps + 1) * size];
        var target = new int[(steps + 1) * size];
        for (int b = 0; b < size; b++)
        {
            int[] s = strings[b];
            for (int t = 0; t < s.Length; t++) source[t * size + b] = s[t];
            input[b] = Go;
            for (int t = 0; t < s.Length; t++)
            {
                target[t * size + b] = s[s.Length - 1 - t];
                input[(t + 1) * size + b] = s[s.Length - 1 - t];
            }
            target[s.Length * size + b] = End;
        }
        int[] lengths = strings.Select(s => s.Length).ToArray();
        return (source, lengths, input, target, lengths.Select(l => l + 1).ToArray());
    }
}
