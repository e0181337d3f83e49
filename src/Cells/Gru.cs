namespace CellGen.Cells;

/// <summary>GRU as Cho et al. (2014) wrote it: the reset gate applies before the matrix product.</summary>
[RecurrentCell]
[Equation("z    = sigmoid(W_z @ [h[t-1], x[t]] + b_z)")]
[Equation("r    = sigmoid(W_r @ [h[t-1], x[t]] + b_r)")]
[Equation("n    = tanh(W_n @ [r * h[t-1], x[t]] + b_n)")]
[Equation("h[t] = (1 - z) * h[t-1] + z * n")]
public partial class Gru;
