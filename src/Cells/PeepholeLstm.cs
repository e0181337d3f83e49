namespace CellGen.Cells;

/// <summary>LSTM with diagonal peephole weights p_i, p_f on c[t-1] and p_o on c[t] (Gers and Schmidhuber 2000).</summary>
[RecurrentCell]
[Equation("i    = sigmoid(W_i @ [h[t-1], x[t]] + p_i * c[t-1] + b_i)")]
[Equation("f    = sigmoid(W_f @ [h[t-1], x[t]] + p_f * c[t-1] + b_f)")]
[Equation("g    = tanh(W_g @ [h[t-1], x[t]] + b_g)")]
[Equation("c[t] = f * c[t-1] + i * g")]
[Equation("o    = sigmoid(W_o @ [h[t-1], x[t]] + p_o * c[t] + b_o)")]
[Equation("h[t] = o * tanh(c[t])")]
public partial class PeepholeLstm;
