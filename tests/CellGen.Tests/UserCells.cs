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

/// <summary>F.logsigmoid as a layer of the tests.</summary>
[Layer]
[Equation("y = logsigmoid(x)")]
public partial class LogSigmoidLayer;

/// <summary>nn.SiLU as a layer of the tests.</summary>
[Layer]
[Equation("y = silu(x)")]
public partial class SiluLayer;

/// <summary>nn.Hardsigmoid as a layer of the tests.</summary>
[Layer]
[Equation("y = hardsigmoid(x)")]
public partial class HardSigmoidLayer;

/// <summary>nn.Hardtanh as a layer of the tests.</summary>
[Layer]
[Equation("y = hardtanh(x)")]
public partial class HardTanhLayer;

/// <summary>Whole powers as a layer of the tests: x³ - 1 / (1 + x²).</summary>
[Layer]
[Equation("y = x^3 - (1 + x^2)^-1")]
public partial class PowerLayer;

/// <summary>An RNN with the new functions, exported as a Scan of its step (the composite ONNX lowerings).</summary>
[RecurrentCell]
[Equation("a = W @ [h[t-1], x[t]] + b")]
[Equation("h[t] = hardtanh(silu(a) + logsigmoid(a)) * hardsigmoid(a) + 0.1 * a^2 + gelu(a)")]
public partial class NewFunctionsRnn;

/// <summary>nn.GELU (exact, with erf) as a layer of the tests.</summary>
[Layer]
[Equation("y = gelu(x)")]
public partial class ExactGeluLayer;

/// <summary>A leaky RNN with one learnable mixing scalar (issue 29: scalars broadcast), exported as a Scan of its step.</summary>
[RecurrentCell]
[Equation("h[t] = a * tanh(W @ [h[t-1], x[t]] + b) + (1 - a) * h[t-1]")]
[Size("a", "1")]
public partial class LeakyRnn;

/// <summary>A GRU with 3 heads (issue 29): its recurrent matrices block-diagonal, checked against PyTorch in Fixtures/pytorch-v3.</summary>
[RecurrentCell]
[BlockDiagonal("R_r", 3), BlockDiagonal("R_z", 3), BlockDiagonal("R_n", 3)]
[Equation("r    = sigmoid(W_r @ x[t] + R_r @ h[t-1] + b_r)")]
[Equation("z    = sigmoid(W_z @ x[t] + R_z @ h[t-1] + b_z)")]
[Equation("n    = tanh(W_n @ x[t] + r * (R_n @ h[t-1] + c_n))")]
[Equation("h[t] = (1 - z) * n + z * h[t-1]")]
public partial class HeadsGru;

/// <summary>
/// DeltaNet's delta rule with 2 heads (Schlag et al. 2021; Yang et al. 2024): the memory read with the key before it is
/// written, a write strength per head, a recurrent query; for the ONNX scan of heads, dot products and matrix memory.
/// </summary>
[RecurrentCell]
[Heads(2), Size("S", "matrix"), Size("beta", "heads")]
[Equation("k    = tanh(W_k @ x[t])")]
[Equation("beta = sigmoid(W_b @ x[t] + b_b)")]
[Equation("S[t] = S[t-1] - beta * outer(S[t-1] @ k - W_v @ x[t], k)")]
[Equation("h[t] = tanh(S[t] @ (W_q @ [h[t-1], x[t]])) * (1 + tanh(dot(k, h[t-1])))")]
public partial class DeltaNet;

/// <summary>The LSTM with zoneout on both states (Krueger et al. 2016's LSTM: p 0.5 on c, 0.05 on h in their character model).</summary>
[RecurrentCell]
[Zoneout("c", 0.5)]
[Zoneout("h", 0.05)]
[Equation("i    = sigmoid(W_i @ [h[t-1], x[t]] + b_i)")]
[Equation("f    = sigmoid(W_f @ [h[t-1], x[t]] + b_f)")]
[Equation("g    = tanh(W_g @ [h[t-1], x[t]] + b_g)")]
[Equation("o    = sigmoid(W_o @ [h[t-1], x[t]] + b_o)")]
[Equation("c[t] = f * c[t-1] + i * g")]
[Equation("h[t] = o * tanh(c[t])")]
public partial class ZoneoutLstm;

/// <summary>
/// A GRU with variational dropout on h where its matrices read it (Gal and Ghahramani 2016; the interpolation reads
/// h[t-1] undropped) and DropConnect on the weights that multiply it (AWD-LSTM's weight drop).
/// </summary>
[RecurrentCell]
[VariationalDropout("h", 0.25), DropConnect("h", 0.5)]
[Equation("r    = sigmoid(W_r @ [h[t-1], x[t]] + b_r)")]
[Equation("z    = sigmoid(W_z @ [h[t-1], x[t]] + b_z)")]
[Equation("n    = tanh(W_n @ [r * h[t-1], x[t]] + b_n)")]
[Equation("h[t] = (1 - z) * n + z * h[t-1]")]
public partial class VariationalGru;

/// <summary>nn.LSTM's equations with all three regularisers, as AWD-LSTM combines them: checked against PyTorch given the same masks.</summary>
[RecurrentCell]
[Zoneout("c", 0.5), Zoneout("h", 0.25), VariationalDropout("h", 0.25), DropConnect("h", 0.5)]
[Equation("i    = sigmoid(W_i @ [h[t-1], x[t]] + b_i)")]
[Equation("f    = sigmoid(W_f @ [h[t-1], x[t]] + b_f)")]
[Equation("g    = tanh(W_g @ [h[t-1], x[t]] + b_g)")]
[Equation("o    = sigmoid(W_o @ [h[t-1], x[t]] + b_o)")]
[Equation("c[t] = f * c[t-1] + i * g")]
[Equation("h[t] = o * tanh(c[t])")]
public partial class AwdLstm;
