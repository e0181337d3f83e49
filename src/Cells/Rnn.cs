namespace CellGen.Cells;

/// <summary>Elman RNN with tanh (torch.nn.RNN).</summary>
[RecurrentCell]
[Equation("h[t] = tanh(W @ [h[t-1], x[t]] + b)")]
public partial class Rnn;
