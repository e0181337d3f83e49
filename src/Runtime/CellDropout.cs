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

    /// <summary>[DropConnect]: the weights that multiply a state are dropped, one mask per Forward.</summary>
    DropConnect,
}

/// <summary>
/// Regularisation inside a cell, declared with <see cref="ZoneoutAttribute"/>, <see cref="VariationalDropoutAttribute"/> or
/// <see cref="DropConnectAttribute"/>:
/// active while training (<see cref="SequenceRunner{T}.ForwardTraining(ReadOnlySpan{T}, int, ReadOnlySpan{T}, Span{T}, Span{T})"/>),
/// its masks drawn from a generator of its own that checkpoints save, and kept for the backward pass.
/// </summary>
public sealed class CellDropout
{
    private double _probability;
    private MaskGenerator _generator;
    private bool _seeded;

    internal CellDropout(CellDropoutKind kind, string state, double probability)
    {
        Kind = kind;
        State = state;
        Probability = probability;
    }

    /// <summary>
    /// The generator of the masks, seeded from the shared generator (<see cref="Initializers.ManualSeed"/>) when it is
    /// first needed, not when the cell is made: a cell and every cell made after it draw the same parameters with and
    /// without regularisation, so that the two can be compared from the same start.
    /// </summary>
    internal ref MaskGenerator Generator
    {
        get
        {
            if (!_seeded) Reseed(Initializers.NextSeed());
            return ref _generator;
        }
    }

    /// <summary>The generator's state, as checkpoints save and restore it.</summary>
    internal ulong GeneratorState
    {
        get => Generator.State;
        set
        {
            _generator.State = value;
            _seeded = true;
        }
    }

    /// <summary>Zoneout, variational dropout or DropConnect.</summary>
    public CellDropoutKind Kind { get; }

    /// <summary>The state it acts on.</summary>
    public string State { get; }

    /// <summary>p: for zoneout the probability that a unit keeps its previous value, for dropout that a unit or a weight is dropped. 0 turns it off.</summary>
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
    public void Reseed(int seed)
    {
        _generator = new MaskGenerator(seed);
        _seeded = true;
    }

    /// <summary>"zoneout", "dropout" or "dropconnect": how checkpoints and messages name it.</summary>
    internal string Name => Kind switch { CellDropoutKind.Zoneout => "zoneout", CellDropoutKind.Variational => "dropout", _ => "dropconnect" };

    /// <inheritdoc/>
    public override string ToString() => $"{Name} on {State}, p = {_probability.ToString(CultureInfo.InvariantCulture)}";
}
