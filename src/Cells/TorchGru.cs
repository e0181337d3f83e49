namespace CellGen.Cells;

/// <summary>GRU as cuDNN and PyTorch compute it: the reset gate applies after the matrix product (torch.nn.GRU).</summary>
[RecurrentCell]
[Equation("r    = sigmoid(W_r @ [h[t-1], x[t]] + b_r)")]
[Equation("z    = sigmoid(W_z @ [h[t-1], x[t]] + b_z)")]
[Equation("n    = tanh(Wx_n @ x[t] + bx_n + r * (Wh_n @ h[t-1] + bh_n))")]
[Equation("h[t] = (1 - z) * n + z * h[t-1]")]
public partial class TorchGru;
