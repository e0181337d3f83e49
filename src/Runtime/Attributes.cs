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
