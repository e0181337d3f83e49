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
