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

/// <summary>
/// nn.LSTM as a user writes it from a paper: other names, the forget gate first, the operand order [input, state],
/// the products written after the biases. It computes what the built-in Lstm computes, so PyTorch and ONNX take it.
/// </summary>
[RecurrentCell(Input = "u", Output = "y")]
[Equation("forget = sigmoid(bf + Wf @ [u[t], y[t-1]])")]
[Equation("input  = sigmoid(Wi @ [u[t], y[t-1]] + bi)")]
[Equation("cand   = tanh(Wc @ [u[t], y[t-1]] + bc)")]
[Equation("out    = sigmoid(Wo @ [u[t], y[t-1]] + bo)")]
[Equation("memory[t] = input * cand + forget * memory[t-1]")]
[Equation("y[t]   = out * tanh(memory[t])")]
public partial class PaperLstm;

/// <summary>An LSTM whose output gate reads the new cell state: close to nn.LSTM's equations, but not them.</summary>
[RecurrentCell]
[Equation("i    = sigmoid(W_i @ [h[t-1], x[t]] + b_i)")]
[Equation("f    = sigmoid(W_f @ [h[t-1], x[t]] + b_f)")]
[Equation("g    = tanh(W_g @ [h[t-1], x[t]] + b_g)")]
[Equation("c[t] = f * c[t-1] + i * g")]
[Equation("o    = sigmoid(W_o @ [h[t-1], x[t]] + b_o + c[t])")]
[Equation("h[t] = o * tanh(c[t])")]
public partial class AlmostLstm;

/// <summary>The identity as a layer: rows out as they came in, for tests that need a module's output to hold given values.</summary>
[Layer]
[Equation("y = x")]
public partial class Identity;

/// <summary>nn.GRU's equations with a state of a declared size P other than H: the form, not the module.</summary>
[RecurrentCell]
[Equation("r    = sigmoid(W_r @ [h[t-1], x[t]] + b_r)")]
[Equation("z    = sigmoid(W_z @ [h[t-1], x[t]] + b_z)")]
[Equation("n    = tanh(Wx_n @ x[t] + bx_n + r * (Wh_n @ h[t-1] + bh_n))")]
[Equation("h[t] = (1 - z) * n + z * h[t-1]")]
[Size("h", "P")]
[Size("r", "P")]
[Size("z", "P")]
[Size("n", "P")]
public partial class SizedGru;

/// <summary>nn.Softsign as a layer of the tests (softsign is a function of the language, not a built-in layer).</summary>
[Layer]
[Equation("y = softsign(x)")]
public partial class SoftsignLayer;

/// <summary>An RNN with softsign for tanh: a cell ONNX has no operator for, exported as a Scan of its step.</summary>
[RecurrentCell]
[Equation("h[t] = softsign(W @ [h[t-1], x[t]] + b)")]
public partial class SoftsignRnn;

/// <summary>nn.ELU as a layer of the tests (elu is a function of the language, added as issue 28 asks a function to be added).</summary>
[Layer]
[Equation("y = elu(x)")]
public partial class EluLayer;

/// <summary>An RNN with elu for tanh, exported as a Scan of its step (ONNX's Elu).</summary>
[RecurrentCell]
[Equation("h[t] = elu(W @ [h[t-1], x[t]] + b)")]
public partial class EluRnn;
