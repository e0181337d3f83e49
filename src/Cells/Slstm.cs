namespace CellGen.Cells;

/// <summary>
/// sLSTM of xLSTM (Beck et al. 2024) with 4 heads: exponential input gate, sigmoid forget gate in log space, normaliser
/// state n and stabiliser state m, and recurrent matrices block-diagonal, one block per head, as the paper and its
/// reference implementation (the vanilla backend's pointwise step) have them. H must be a multiple of 4. For another
/// number of heads, copy these equations into a cell of your own and change the [BlockDiagonal] count.
/// </summary>
[RecurrentCell]
[BlockDiagonal("R_i", 4), BlockDiagonal("R_f", 4), BlockDiagonal("R_z", 4), BlockDiagonal("R_o", 4)]
[Equation("ir   = W_i @ x[t] + R_i @ h[t-1] + b_i")]
[Equation("lf   = logsigmoid(W_f @ x[t] + R_f @ h[t-1] + b_f)")]
[Equation("z    = tanh(W_z @ x[t] + R_z @ h[t-1] + b_z)")]
[Equation("o    = sigmoid(W_o @ x[t] + R_o @ h[t-1] + b_o)")]
[Equation("m[t] = max(lf + m[t-1], ir)")]
[Equation("i    = exp(ir - m[t])")]
[Equation("f    = exp(lf + m[t-1] - m[t])")]
[Equation("c[t] = f * c[t-1] + i * z")]
[Equation("n[t] = f * n[t-1] + i")]
[Equation("h[t] = o * c[t] / n[t]")]
public partial class Slstm;
