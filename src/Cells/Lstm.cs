namespace CellGen.Cells;

/// <summary>LSTM with a forget gate (Hochreiter and Schmidhuber 1997; Gers et al. 2000; torch.nn.LSTM).</summary>
[RecurrentCell]
[Equation("i    = sigmoid(W_i @ [h[t-1], x[t]] + b_i)")]
[Equation("f    = sigmoid(W_f @ [h[t-1], x[t]] + b_f)")]
[Equation("g    = tanh(W_g @ [h[t-1], x[t]] + b_g)")]
[Equation("o    = sigmoid(W_o @ [h[t-1], x[t]] + b_o)")]
[Equation("c[t] = f * c[t-1] + i * g")]
[Equation("h[t] = o * tanh(c[t])")]
public partial class Lstm;
