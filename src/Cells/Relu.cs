namespace CellGen.Cells;

/// <summary>ReLU, as nn.ReLU: y = max(x, 0), row by row. Construct it with the width of its rows: <c>new Relu(size)</c>.</summary>
[Layer]
[Equation("y = relu(x)")]
public partial class Relu;
