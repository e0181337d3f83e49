namespace CellGen.Cells;

/// <summary>
/// A highway layer (Srivastava et al. 2015): a transform gate t = σ(W_t x + b_t) mixes a new value relu(W_h x + b_h) with
/// the input carried through, y = t · h + (1 − t) · x; the width stays X.
/// </summary>
[Layer]
[Equation("t = sigmoid(W_t @ x + b_t)")]
[Equation("h = relu(W_h @ x + b_h)")]
[Equation("y = t * h + (1 - t) * x")]
public partial class Highway;
