namespace CellGen.Cells;

/// <summary>
/// A feed-forward block, as nn.Sequential(nn.Linear(X, Hidden), nn.ReLU(), nn.Linear(Hidden, X)): y = W_2 relu(W_1 x + b_1) + b_2,
/// X → hidden → X, whose parameters PyTorch import and export name as that nn.Sequential does (0.weight, 0.bias, 2.weight, 2.bias). Construct it as <c>new FeedForward(inputSize, hidden)</c>.
/// </summary>
[Layer]
[Equation("u = relu(W_1 @ x + b_1)")]
[Equation("y = W_2 @ u + b_2")]
[Size("u", "hidden")]
[PyTorchName("W_1", "0.weight"), PyTorchName("b_1", "0.bias"), PyTorchName("W_2", "2.weight"), PyTorchName("b_2", "2.bias")]
public partial class FeedForward;
