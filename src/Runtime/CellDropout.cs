using System;
using System.Globalization;

namespace CellGen;

/// <summary>What a <see cref="CellDropout"/> does.</summary>
public enum CellDropoutKind
{
    /// <summary>[Zoneout]: each unit of a state keeps its previous value with probability p, per step.</summary>
    Zoneout,

    /// <summary>[VariationalDropout]: a state is dropped where matrices read it, one mask per sequence for all steps.</summary>
    Variational,
}

/// <summary>
/// Regularisation inside a cell, declared with <see cref="ZoneoutAttribute"/> or <see cref="VariationalDropoutAttribute"/>:
/// active while training (<see cref="SequenceRunner{T}.ForwardTraining(ReadOnlySpan{T}, int, ReadOnlySpan{T}, Span{T}, Span{T})"/>),
/// its masks drawn from a generator of its own that checkpoints save, and kept for the backward pass.
/// </summary>
public sealed class CellDropout
{
    private double _probability;
    internal MaskGenerator Generator;

    internal CellDropout(CellDropoutKind kind, string state, double probability)
    {
        Kind = kind;
        State = state;
        Probability = probability;
        Generator = new MaskGenerator(Initializers.NextSeed());
    }

    /// <summary>Zoneout or variational dropout.</summary>
    public CellDropoutKind Kind { get; }

    /// <summary>The state it acts on.</summary>
    public string State { get; }

    /// <summary>p: for zoneout the probability that a unit keeps its previous value, for dropout that it is dropped. 0 turns it off.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not in [0, 1).</exception>
    public double Probability
    {
        get => _probability;
        set
        {
            if (!(value >= 0 && value < 1))
                throw new ArgumentOutOfRangeException(nameof(value), value, $"The {Name} of '{State}' takes a probability in [0, 1).");
            _probability = value;
        }
    }

    /// <summary>Restarts the generator of the masks from <paramref name="seed"/>: the same seed draws the same masks.</summary>
    public void Reseed(int seed) => Generator = new MaskGenerator(seed);

    /// <summary>"zoneout" or "dropout": how checkpoints and messages name it.</summary>
    internal string Name => Kind == CellDropoutKind.Zoneout ? "zoneout" : "dropout";

    /// <inheritdoc/>
    public override string ToString() => $"{Name} on {State}, p = {_probability.ToString(CultureInfo.InvariantCulture)}";
}
