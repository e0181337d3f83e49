using System;
using System.Linq;

namespace CellGen.Samples.Sentiment;

/// <summary>
/// Reviews generated in code (no download): sentences of 6 to 40 words mixing neutral words with positive and
/// negative ones, "not" turning the next sentiment word around. A review is positive (1) when its sentiment words,
/// negations applied, add up above zero; reviews that add up to zero are drawn again. pytorch.py draws the same.
/// </summary>
public sealed class Reviews
{
    public static readonly string[] Positive = { "good", "great", "excellent", "lovely", "superb", "fun", "moving", "clever", "brilliant", "charming" };
    public static readonly string[] Negative = { "bad", "awful", "poor", "boring", "dull", "weak", "silly", "terrible", "messy", "tedious" };
    public static readonly string[] Neutral = { "the", "a", "film", "movie", "plot", "cast", "was", "is", "and", "but", "this", "very", "quite", "ending", "story", "music" };
    public static readonly string[] Words = new[] { "<pad>", "not" }.Concat(Positive).Concat(Negative).Concat(Neutral).ToArray();

    private readonly Random _random;

    public Reviews(int seed) => _random = new Random(seed);

    /// <summary>One review as word ids, and its label.</summary>
    public (int[] Words, int Label) Next()
    {
        while (true)
        {
            int length = _random.Next(6, 41), score = 0;
            var words = new int[length];
            bool negated = false;
            for (int i = 0; i < length; i++)
            {
                double u = _random.NextDouble();
                string word = u < 0.08 ? "not" : u < 0.2 ? Positive[_random.Next(Positive.Length)] : u < 0.32 ? Negative[_random.Next(Negative.Length)] : Neutral[_random.Next(Neutral.Length)];
                words[i] = Array.IndexOf(Words, word);
                int sign = Positive.Contains(word) ? 1 : Negative.Contains(word) ? -1 : 0;
                if (sign != 0) score += negated ? -sign : sign;
                negated = word == "not" || (negated && sign == 0 && word != "and" && word != "but");
            }
            if (score != 0) return (words, score > 0 ? 1 : 0);
        }
    }

    /// <summary>A batch, time-major: tokens [T, B] padded to the longest review, the lengths, the labels.</summary>
    public (int[] Tokens, int[] Lengths, int[] Labels) Batch(int size)
    {
        var reviews = Enumerable.Range(0, size).Select(_ => Next()).ToArray();
        int steps = reviews.Max(r => r.Words.Length);
        var tokens = new int[steps * size];
        for (int b = 0; b < size; b++)
            for (int t = 0; t < reviews[b].Words.Length; t++) tokens[t * size + b] = reviews[b].Words[t];
        return (tokens, reviews.Select(r => r.Words.Length).ToArray(), reviews.Select(r => r.Label).ToArray());
    }
}
