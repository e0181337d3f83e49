namespace CellGen.Cells;

/// <summary>
/// mLSTM of xLSTM (Beck et al. 2024) with 4 heads: a matrix memory C (one P x P matrix per head, P = H / 4) written
/// with the outer product of value and key, a normaliser n, exponential input and sigmoid forget gates of one value per
/// head in log space with the stabiliser m, and the read-out C q divided by max(|n · q|, exp(-m)), as the paper's
/// stabilised cell and its reference implementation compute it; no recurrent matrices (no memory mixing). The key's
/// 1/√P is folded into W_k and b_k. H must be a multiple of 4. For another number of heads, copy these equations into
/// a cell of your own and change [Heads].
/// </summary>
[RecurrentCell]
[Heads(4)]
[Size("ir", "heads"), Size("lf", "heads"), Size("m", "heads"), Size("i", "heads"), Size("f", "heads"), Size("C", "matrix")]
[Equation("q    = W_q @ x[t] + b_q")]
[Equation("k    = W_k @ x[t] + b_k")]
[Equation("v    = W_v @ x[t] + b_v")]
[Equation("ir   = W_i @ x[t] + b_i")]
[Equation("lf   = logsigmoid(W_f @ x[t] + b_f)")]
[Equation("o    = sigmoid(W_o @ x[t] + b_o)")]
[Equation("m[t] = max(lf + m[t-1], ir)")]
[Equation("i    = exp(ir - m[t])")]
[Equation("f    = exp(lf + m[t-1] - m[t])")]
[Equation("C[t] = f * C[t-1] + i * outer(v, k)")]
[Equation("n[t] = f * n[t-1] + i * k")]
[Equation("h[t] = o * (C[t] @ q) / max(abs(dot(n[t], q)), exp(-m[t]))")]
public partial class Mlstm;
