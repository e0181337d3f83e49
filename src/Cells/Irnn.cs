namespace CellGen.Cells;

/// <summary>ReLU RNN, identity-initialised in use (Le, Jaitly and Hinton 2015; torch.nn.RNN with nonlinearity 'relu').</summary>
[RecurrentCell]
[Equation("h[t] = relu(W @ [h[t-1], x[t]] + b)")]
public partial class Irnn;
