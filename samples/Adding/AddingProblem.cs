using System;

namespace CellGen.Samples.Adding;

/// <summary>
/// The adding problem (Hochreiter and Schmidhuber 1997; Le, Jaitly and Hinton 2015): each step carries a random
/// value in [0, 1] and a marker; exactly two steps are marked, one in each half; the target is the sum of the two
/// marked values. Always answering 1 scores an MSE of 1/6 ≈ 0.167.
/// </summary>
public sealed class AddingProblem(int length, int seed)
{
    private readonly Random _random = new(seed);

    public int Length { get; } = length;

    /// <summary>Fills inputs [T, B, 2] (time-major) and targets [B].</summary>
    public void Batch(Span<float> inputs, Span<float> targets, int batch)
    {
        inputs.Clear();
        for (int b = 0; b < batch; b++)
        {
            int first = _random.Next(0, Length / 2), second = _random.Next(Length / 2, Length);
            float sum = 0;
            for (int t = 0; t < Length; t++)
            {
                float value = (float)_random.NextDouble();
                inputs[(t * batch + b) * 2] = value;
                if (t == first || t == second)
                {
                    inputs[(t * batch + b) * 2 + 1] = 1;
                    sum += value;
                }
            }
            targets[b] = sum;
        }
    }
}
