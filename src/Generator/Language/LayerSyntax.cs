using System.Collections.Generic;
using System.Linq;
using CellGen.Generator.Model;

namespace CellGen.Generator.Language;

/// <summary>
/// A layer's equations as a cell's: a layer has no steps, so its input <c>x</c> is the cell's <c>x[t]</c> and its
/// output <c>y = ...</c> the cell's only state <c>y[t] = ...</c>, never read before the step. A time index written in a
/// layer is CG0021 at its characters; everything else is checked by the binder as for any cell.
/// </summary>
internal static class LayerSyntax
{
    public static (IReadOnlyList<EquationSyntax> Equations, IReadOnlyList<EquationProblem> Problems) AsCell(IReadOnlyList<EquationSyntax> equations, string input, string output)
    {
        var problems = new List<EquationProblem>();
        var result = new List<EquationSyntax>();
        foreach (EquationSyntax equation in equations)
        {
            if (equation.TargetIsState)
                problems.Add(EquationProblem.Create(Diagnostics.TimeIndexMisuse, equation.Index, equation.TargetRange,
                    $"'{equation.Target}[t] = ...': a layer has no steps; write '{equation.Target} = ...'") with { Replacement = equation.Target });
            result.Add(equation with { TargetIsState = equation.Target == output, Value = Rewrite(equation.Value, equation.Index) });
        }
        return (result, problems);

        ExprSyntax Rewrite(ExprSyntax expr, int index)
        {
            switch (expr)
            {
                case NameSyntax n when n.Name == input || n.Name == output:
                    return new TimedNameSyntax(n.Name, 0, n.Range, n.Range);
                case TimedNameSyntax n:
                    problems.Add(EquationProblem.Create(Diagnostics.TimeIndexMisuse, index, n.Range,
                        $"'{n.Name}[{(n.Offset == 0 ? "t" : "t" + n.Offset)}]': a layer has no steps and reads no earlier one; write '{n.Name}'"
                        + (n.Offset != 0 ? " (a value that depends on earlier steps makes a recurrent cell: [RecurrentCell])" : ""))
                        with { Replacement = n.Offset == 0 ? n.Name : null }); // an earlier step has no certain replacement
                    return n;
                case CallSyntax c:
                    return c with { Arguments = c.Arguments.Select(a => Rewrite(a, index)).ToEquatableArray() };
                case BinarySyntax b:
                    return b with { Left = Rewrite(b.Left, index), Right = Rewrite(b.Right, index) };
                case NegateSyntax n:
                    return n with { Operand = Rewrite(n.Operand, index) };
                case MatVecSyntax m:
                    return m with { Operand = Rewrite(m.Operand, index) };
                case ConcatSyntax c:
                    return c with { Parts = c.Parts.Select(p => Rewrite(p, index)).ToEquatableArray() };
                default:
                    return expr; // numbers and other names
            }
        }
    }
}
