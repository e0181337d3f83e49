namespace CellGen.Cells;

/// <summary>
/// A gated linear unit (Dauphin et al. 2017): y = (W x + b) · σ(V x + c), X → outputs. Construct it as <c>new Glu(inputSize, outputs)</c>.
/// </summary>
[Layer]
[Equation("y = (W @ x + b) * sigmoid(V @ x + c)")]
[Size("y", "outputs")]
public partial class Glu;
