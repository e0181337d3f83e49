namespace CellGen.Cells;

/// <summary>tanh, as nn.Tanh, row by row.</summary>
[Layer]
[Equation("y = tanh(x)")]
public partial class Tanh;
