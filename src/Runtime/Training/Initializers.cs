using System.Linq;
using System.Numerics;
using System;
using CellGen.CompilerServices;

namespace CellGen;

/// <summary>How the recurrent blocks of a cell's matrices (the columns that multiply values of size H) start.</summary>
public enum RecurrentInit
{
    /// <summary>Random orthogonal blocks (Saxe et al. 2014).</summary>
    Orthogonal,

    /// <summary>The identity (IRNN, Le et al. 2015).</summary>
    Identity,

    /// <summary>Glorot/Xavier uniform, as the input blocks.</summary>
    XavierUniform,
}

/// <summary>Parameter initialisers; each writes through the logical view of a parameter.</summary>
public static class Initializers
{
    private static readonly object s_lock = new();
    private static Random s_shared = new(0);

    /// <summary>
    /// Seeds the generator that modules and cells draw their initial parameters from when they are given no
    /// <see cref="Random"/> (as <c>torch.manual_seed</c>): the same seed and the same order of construction give the
    /// same parameters. The generator starts seeded with 0.
    /// </summary>
    public static void ManualSeed(int seed)
    {
        lock (s_lock) s_shared = new Random(seed);
    }

    /// <summary>Fills <paramref name="values"/> from U(-bound, bound), drawn from <paramref name="random"/> or the shared generator.</summary>
    internal static void Uniform<T>(Span<T> values, double bound, Random? random) where T : INumberBase<T>
    {
        if (random is not null)
        {
            for (int i = 0; i < values.Length; i++) values[i] = T.CreateChecked((random.NextDouble() * 2 - 1) * bound);
            return;
        }
        lock (s_lock)
            for (int i = 0; i < values.Length; i++) values[i] = T.CreateChecked((s_shared.NextDouble() * 2 - 1) * bound);
    }

    /// <summary>Draws from N(0, 1), from <paramref name="random"/> or the shared generator.</summary>
    internal static void Normal(Span<float> values, Random? random)
    {
        if (random is not null)
        {
            for (int i = 0; i < values.Length; i++) values[i] = (float)Gaussian(random);
            return;
        }
        lock (s_lock)
            for (int i = 0; i < values.Length; i++) values[i] = (float)Gaussian(s_shared);
    }

    /// <summary>The shared generator's next seed, for a module that needs a generator of its own (dropout).</summary>
    internal static int NextSeed()
    {
        lock (s_lock) return s_shared.Next();
    }
    /// <summary>Glorot/Xavier uniform: U(-a, a) with a = gain √(6 / (fanIn + fanOut)).</summary>
    public static void XavierUniform(Span<float> values, int fanIn, int fanOut, Random random, float gain = 1)
    {
        ArgumentNullException.ThrowIfNull(random);
        double a = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
        for (int i = 0; i < values.Length; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * a);
    }

    /// <summary>A random orthogonal [rows, columns] matrix (rows of an orthonormal basis, or columns when wider), row-major.</summary>
    public static void Orthogonal(Span<float> values, int rows, int columns, Random random, float gain = 1)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (values.Length != rows * columns) throw new ArgumentException($"values has {values.Length}; expected [{rows}, {columns}].", nameof(values));
        bool transpose = rows < columns;
        int n = transpose ? columns : rows, m = transpose ? rows : columns; // n vectors of length... Gram-Schmidt on m vectors of length n
        var basis = new double[m][];
        for (int k = 0; k < m; k++)
        {
            double[] v = Enumerable.Range(0, n).Select(_ => Gaussian(random)).ToArray();
            for (int pass = 0; pass < 2; pass++)
                for (int q = 0; q < k; q++)
                {
                    double dot = 0;
                    for (int i = 0; i < n; i++) dot += v[i] * basis[q][i];
                    for (int i = 0; i < n; i++) v[i] -= dot * basis[q][i];
                }
            double norm = Math.Sqrt(v.Sum(x => x * x));
            for (int i = 0; i < n; i++) v[i] /= norm;
            basis[k] = v;
        }
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                values[r * columns + c] = (float)(gain * (transpose ? basis[r][c] : basis[c][r]));
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>
    /// Initialises a cell as training usually starts: every matrix Glorot-uniform over its whole row, then each block
    /// of H columns (the recurrent blocks) by <paramref name="recurrent"/>; a block-diagonal matrix block by block, the
    /// same way (a square block of a recurrent one by <paramref name="recurrent"/>); biases zero; a vector that multiplies
    /// something elementwise (a peephole, an IndRNN's recurrent weight u, a gain: its block says what it multiplies)
    /// from U(-1/√H, 1/√H), as PyTorch's recurrent modules start, so that it does not start dead. <see cref="Fill"/>
    /// then sets what should start elsewhere (a forget gate's bias at 1).
    /// </summary>
    public static void Initialize(RecurrentCell<float> cell, Random random, RecurrentInit recurrent = RecurrentInit.Orthogonal)
    {
        ArgumentNullException.ThrowIfNull(cell);
        ArgumentNullException.ThrowIfNull(random);
        double bound = 1 / Math.Sqrt(cell.HiddenSize);
        foreach (Parameter<float> parameter in cell.Parameters)
        {
            float[] values = new float[parameter.Length];
            if (parameter.Shape.Count == 2)
            {
                int rows = parameter.Shape[0], columns = parameter.Shape[1];
                XavierUniform(values, columns, rows, random);
                if (recurrent != RecurrentInit.XavierUniform)
                    foreach (ParameterBlock<float> block in parameter.Blocks.Where(b => !b.MultipliesInput && b.Columns == rows))
                    {
                        var square = new float[rows * rows];
                        if (recurrent == RecurrentInit.Identity)
                            for (int i = 0; i < rows; i++) square[i * rows + i] = 1;
                        else Orthogonal(square, rows, rows, random);
                        for (int r = 0; r < rows; r++)
                            for (int c = 0; c < rows; c++) values[r * columns + block.Column + c] = square[r * rows + c];
                    }
            }
            else if (parameter.Shape.Count == 3)
            {
                // Block-diagonal (heads): each block as a matrix of its own, its square recurrent blocks by the recurrent rule.
                int blocks = parameter.Shape[0], rows = parameter.Shape[1], columns = parameter.Shape[2];
                bool square = rows == columns && recurrent != RecurrentInit.XavierUniform && !parameter.Blocks[0].MultipliesInput;
                for (int b = 0; b < blocks; b++)
                {
                    Span<float> block = values.AsSpan(b * rows * columns, rows * columns);
                    if (!square) XavierUniform(block, columns, rows, random);
                    else if (recurrent == RecurrentInit.Identity)
                        for (int i = 0; i < rows; i++) block[i * rows + i] = 1;
                    else Orthogonal(block, rows, rows, random);
                }
            }
            else if (parameter.Blocks.Any(b => b.Multiplies.Length > 0)) Uniform<float>(values, bound, random);
            parameter.CopyFrom(values);
        }
    }

    /// <summary>Initialises every cell of a recurrent module (each layer and direction) as <see cref="Initialize(RecurrentCell{float}, Random, RecurrentInit)"/> does.</summary>
    public static void Initialize(Recurrent recurrent, Random random, RecurrentInit recurrentInit = RecurrentInit.Orthogonal)
    {
        ArgumentNullException.ThrowIfNull(recurrent);
        ArgumentNullException.ThrowIfNull(random);
        for (int layer = 0; layer < recurrent.Layers; layer++)
            for (int d = 0; d < recurrent.Directions; d++) Initialize(recurrent.Cell(layer, reverse: d == 1), random, recurrentInit);
    }

    /// <summary>Sets every value of a vector parameter, e.g. the forget-gate bias to 1 (Jozefowicz et al. 2015).</summary>
    public static void Fill(Parameter<float> parameter, float value)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        var values = new float[parameter.Length];
        Array.Fill(values, value);
        parameter.CopyFrom(values);
    }

    /// <summary>Glorot-uniform weights and zero bias for a dense layer.</summary>
    public static void Initialize(Dense layer, Random random)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(random);
        var values = new float[layer.Weights.Length];
        XavierUniform(values, layer.Inputs, layer.Outputs, random);
        layer.Weights.CopyFrom(values);
        layer.Bias.CopyFrom(new float[layer.Outputs]);
    }
}
