namespace CellGen.Cells;

/// <summary>
/// Layer-normalised LSTM (Ba et al. 2016): each gate's pre-activation and the cell state are normalised over the
/// hidden units, then scaled by a gain (a_) and shifted by a bias (b_).
/// </summary>
[RecurrentCell]
[Equation("i    = sigmoid(a_i * layernorm(W_i @ [h[t-1], x[t]]) + b_i)")]
[Equation("f    = sigmoid(a_f * layernorm(W_f @ [h[t-1], x[t]]) + b_f)")]
[Equation("g    = tanh(a_g * layernorm(W_g @ [h[t-1], x[t]]) + b_g)")]
[Equation("o    = sigmoid(a_o * layernorm(W_o @ [h[t-1], x[t]]) + b_o)")]
[Equation("c[t] = f * c[t-1] + i * g")]
[Equation("h[t] = o * tanh(a_c * layernorm(c[t]) + b_c)")]
public partial class LayerNormLstm;
