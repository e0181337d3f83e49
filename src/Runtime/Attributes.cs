using System;

namespace CellGen;

/// <summary>
/// Marks a partial class as a recurrent cell whose <see cref="EquationAttribute"/>s the CellGen generator compiles
/// into specialised forward and backward passes.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class RecurrentCellAttribute : Attribute
{
    /// <summary>The name of the input in the equations, read as <c>x[t]</c>. Default "x".</summary>
    public string Input { get; set; } = "x";

    /// <summary>The state whose value at each step is the output of the cell. Default "h".</summary>
    public string Output { get; set; } = "h";
}

/// <summary>
/// Marks a partial class as a layer: equations that read no earlier step (no <c>[t-1]</c>, no time index at all),
/// written as <c>y = W @ x + b</c>. The generator compiles them as it compiles a cell and the class becomes a
/// <see cref="Layer"/> module that maps every row of its input at once (all T × B rows of a batch of sequences, or B
/// vectors), forward and backward, fused. Every name without a <see cref="SizeAttribute"/> has the input's size.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class LayerAttribute : Attribute
{
    /// <summary>The name of the input in the equations. Default "x".</summary>
    public string Input { get; set; } = "x";

    /// <summary>The name whose value is the output of the layer. Default "y".</summary>
    public string Output { get; set; } = "y";
}

/// <summary>One equation of a recurrent cell, in the CellGen equation language, e.g. <c>"h[t] = tanh(W @ [h[t-1], x[t]] + b)"</c>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class EquationAttribute : Attribute
{
    /// <summary>Declares one equation.</summary>
    /// <param name="equation">The equation text.</param>
    public EquationAttribute(string equation) => Equation = equation;

    /// <summary>The equation text.</summary>
    public string Equation { get; }
}

/// <summary>
/// Gives a state, an intermediate or a parameter vector of a cell a size other than the hidden size H:
/// <c>[Size("r", "P")]</c> makes r of size P, a new size of the cell. The generated constructor takes each declared size
/// after the input and hidden sizes, as an <c>int</c> parameter named as written here, in the order of the attributes.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class SizeAttribute : Attribute
{
    /// <summary>Declares the size of one name.</summary>
    /// <param name="name">A state, an intermediate or a parameter vector of the equations.</param>
    /// <param name="size">The name of the size, a C# identifier: the constructor's parameter.</param>
    public SizeAttribute(string name, string size)
    {
        Name = name;
        Size = size;
    }

    /// <summary>The name whose size is declared.</summary>
    public string Name { get; }

    /// <summary>The name of its size.</summary>
    public string Size { get; }
}

/// <summary>
/// Makes a weight matrix of a cell block-diagonal, as the recurrent matrices of xLSTM's sLSTM and other multi-head
/// cells are: <c>[BlockDiagonal("R", 4)]</c> gives R four blocks along its diagonal (heads), each of (rows / 4) x
/// (columns / 4), and every other weight zero. Only the blocks are stored, trained and multiplied: a product costs a
/// quarter of the full matrix's. <c>Parameter("R")</c> has the shape [4, rows / 4, columns / 4], block by block, as
/// <c>torch.block_diag(*R)</c> reads them. The matrix's sizes must be multiples of the number of blocks; the constructor
/// checks.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class BlockDiagonalAttribute : Attribute
{
    /// <summary>Declares one matrix block-diagonal.</summary>
    /// <param name="matrix">A weight matrix of the equations (the left operand of an <c>@</c>).</param>
    /// <param name="blocks">The number of blocks along its diagonal (heads), at least 1.</param>
    public BlockDiagonalAttribute(string matrix, int blocks)
    {
        Matrix = matrix;
        Blocks = blocks;
    }

    /// <summary>The matrix.</summary>
    public string Matrix { get; }

    /// <summary>The number of blocks along its diagonal.</summary>
    public int Blocks { get; }
}

/// <summary>
/// Splits a cell's hidden size H into heads of P = H / heads units, for per-head values and matrix memory (xLSTM's
/// mLSTM): <c>[Heads(4)]</c> lets <c>[Size("m", "heads")]</c> give m one value per head (broadcast over its head's
/// units where it meets H), and <c>[Size("C", "matrix")]</c> give C one P x P matrix per head, with <c>outer(v, k)</c>,
/// <c>C[t] @ q</c> and <c>dot(n, q)</c> (one value per head). H must be a multiple of the number of heads; the
/// constructor checks.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class HeadsAttribute : Attribute
{
    /// <summary>Declares the number of heads.</summary>
    /// <param name="heads">The number of heads, from 1 to 4096.</param>
    public HeadsAttribute(int heads) => Heads = heads;

    /// <summary>The number of heads.</summary>
    public int Heads { get; }
}

/// <summary>
/// The name PyTorch gives a parameter of a <see cref="LayerAttribute"/> layer, for <see cref="PyTorch.Import(string, ValueTuple{string, Module}[])"/>
/// and <see cref="PyTorch.Save"/>: <c>[PyTorchName("W_1", "0.weight")]</c> when the layer is PyTorch's
/// nn.Sequential(nn.Linear, ...). Parameters without one keep their names in the equations.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class PyTorchNameAttribute : Attribute
{
    /// <summary>Names one parameter.</summary>
    /// <param name="parameter">The parameter's name in the equations.</param>
    /// <param name="name">Its name in PyTorch's state dict, under the module's prefix.</param>
    public PyTorchNameAttribute(string parameter, string name)
    {
        Parameter = parameter;
        Name = name;
    }

    /// <summary>The parameter's name in the equations.</summary>
    public string Parameter { get; }

    /// <summary>Its name in PyTorch's state dict.</summary>
    public string Name { get; }
}

/// <summary>
/// Zoneout on a state (Krueger et al. 2016): while training, each unit of the state keeps its previous value with
/// probability p at each step, <c>h[t] = m * h[t-1] + (1 - m) * h_new</c> with m drawn per step, sequence and unit;
/// at inference the expectation, <c>h[t] = p * h[t-1] + (1 - p) * h_new</c>. <c>[Zoneout("h", 0.1)]</c>; the cell's
/// <see cref="RecurrentCell{T}.Dropouts"/> lets a run change p.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ZoneoutAttribute : Attribute
{
    /// <summary>Declares zoneout on one state.</summary>
    /// <param name="state">A state of the equations (the target of an <c>s[t] = ...</c> equation).</param>
    /// <param name="probability">p, the probability that a unit keeps its previous value, in [0, 1).</param>
    public ZoneoutAttribute(string state, double probability)
    {
        State = state;
        Probability = probability;
    }

    /// <summary>The state.</summary>
    public string State { get; }

    /// <summary>p, in [0, 1).</summary>
    public double Probability { get; }
}

/// <summary>
/// Variational dropout on a recurrent input (Gal and Ghahramani 2016): while training, the state s[t-1] where a weight
/// matrix reads it (in <c>W @ [h[t-1], x[t]]</c>) is multiplied by one mask per sequence, held across all the steps of a
/// Forward, each unit zero with probability p and the others scaled by 1 / (1 - p); elementwise reads of s[t-1] keep
/// its value. At inference, the identity. <c>[VariationalDropout("h", 0.25)]</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class VariationalDropoutAttribute : Attribute
{
    /// <summary>Declares variational dropout on one state, where matrices read it.</summary>
    /// <param name="state">A state of the equations, read at t-1 by a weight matrix.</param>
    /// <param name="probability">p, the probability that a unit is dropped, in [0, 1).</param>
    public VariationalDropoutAttribute(string state, double probability)
    {
        State = state;
        Probability = probability;
    }

    /// <summary>The state.</summary>
    public string State { get; }

    /// <summary>p, in [0, 1).</summary>
    public double Probability { get; }
}

/// <summary>
/// DropConnect on the recurrent weights of a state (Wan et al. 2013; AWD-LSTM's weight drop): while training, every
/// weight that multiplies s[t-1] (PyTorch's weight_hh) is zero with probability p and the others are scaled by
/// 1 / (1 - p), one mask per Forward for all its steps and sequences; biases and the input's weights are untouched.
/// At inference, the weights as they are. <c>[DropConnect("h", 0.5)]</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class DropConnectAttribute : Attribute
{
    /// <summary>Declares DropConnect on the weights that multiply one state.</summary>
    /// <param name="state">A state of the equations, read at t-1 by a weight matrix.</param>
    /// <param name="probability">p, the probability that a weight is dropped, in [0, 1).</param>
    public DropConnectAttribute(string state, double probability)
    {
        State = state;
        Probability = probability;
    }

    /// <summary>The state.</summary>
    public string State { get; }

    /// <summary>p, in [0, 1).</summary>
    public double Probability { get; }
}
