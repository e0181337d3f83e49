namespace CellGen.Cells;

/// <summary>
/// LSTM with a projection (Sak et al. 2014; torch.nn.LSTM(proj_size=P)): the recurrent state and the output is
/// r = W_r (o * tanh(c)), of size P, while the cell state c keeps the hidden size H. Construct it as
/// <c>new Lstmp(inputSize, hiddenSize, P)</c>.
/// </summary>
[RecurrentCell(Output = "r")]
[Equation("i    = sigmoid(W_i @ [r[t-1], x[t]] + b_i)")]
[Equation("f    = sigmoid(W_f @ [r[t-1], x[t]] + b_f)")]
[Equation("g    = tanh(W_g @ [r[t-1], x[t]] + b_g)")]
[Equation("o    = sigmoid(W_o @ [r[t-1], x[t]] + b_o)")]
[Equation("c[t] = f * c[t-1] + i * g")]
[Equation("r[t] = W_r @ (o * tanh(c[t]))")]
[Size("r", "P")]
public partial class Lstmp;
