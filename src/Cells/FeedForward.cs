namespace CellGen.Cells;

/// <summary>
/// A feed-forward block, as nn.Sequential(nn.Linear(X, Hidden), nn.ReLU(), nn.Linear(Hidden, X)): y = W_2 relu(W_1 x + b_1) + b_2,
/// X → Hidden → X. Construct it as <c>new FeedForward(inputSize, hidden)</c>.
/// </summary>
[Layer]
[Equation("u = relu(W_1 @ x + b_1)")]
[Equation("y = W_2 @ u + b_2")]
[Size("u", "hidden")]
public partial class FeedForward;
