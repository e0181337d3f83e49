namespace CellGen.Cells;

/// <summary>
/// GELU in its tanh form, as nn.GELU(approximate='tanh'): y = x/2 · (1 + tanh(√(2/π) (x + 0.044715 x³))). It differs from
/// the exact GELU (erf) by less than 4e-4.
/// </summary>
[Layer]
[Equation("y = 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))")]
public partial class Gelu;
