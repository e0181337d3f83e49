namespace CellGen.Tests;

/// <summary>Peepholes as full matrices over [c, h, x] (the lecture notation): a cell a user defines, not a built-in.</summary>
[RecurrentCell]
[Equation("f    = sigmoid(W_f @ [c[t-1], h[t-1], x[t]] + b_f)")]
[Equation("i    = sigmoid(W_i @ [c[t-1], h[t-1], x[t]] + b_i)")]
[Equation("g    = tanh(W_g @ [h[t-1], x[t]] + b_g)")]
[Equation("c[t] = f * c[t-1] + i * g")]
[Equation("o    = sigmoid(W_o @ [c[t], h[t-1], x[t]] + b_o)")]
[Equation("h[t] = o * tanh(c[t])")]
public partial class FullPeepholeLstm;
