namespace CellGen.Cells;

/// <summary>The logistic sigmoid, as nn.Sigmoid, row by row.</summary>
[Layer]
[Equation("y = sigmoid(x)")]
public partial class Sigmoid;
