namespace CellGen.Cells;

/// <summary>LSTM whose input gate is 1 - f: coupled input and forget gates (Greff et al. 2017).</summary>
[RecurrentCell]
[Equation("f    = sigmoid(W_f @ [h[t-1], x[t]] + b_f)")]
[Equation("g    = tanh(W_g @ [h[t-1], x[t]] + b_g)")]
[Equation("o    = sigmoid(W_o @ [h[t-1], x[t]] + b_o)")]
[Equation("c[t] = f * c[t-1] + (1 - f) * g")]
[Equation("h[t] = o * tanh(c[t])")]
public partial class CoupledLstm;
