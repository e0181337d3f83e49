# Makes layers.json, the layers of src/Cells written with PyTorch's own modules in float64 (PyTorch 1.13, Debian's
# python3-torch), which LayerTests compares CellGen's layers with:
#   cd tests/CellGen.Tests/Fixtures/pytorch-layers && /usr/bin/python3 make.py
# Each case: the layer and its sizes, the parameters under CellGen's names (PyTorch's [out, in] layout), an input
# [rows, X], the output, and for the loss sum(output * probe) the gradients of the input and of every parameter.
import json
import zlib
import torch

torch.set_default_dtype(torch.float64)
nn = torch.nn

def fresh(name, x):
    # Each case draws from a seed of its own (its layer and size), so that adding a case leaves the others' numbers as they were.
    torch.manual_seed(zlib.crc32(f"{name}:{x}".encode()))

def linear(x, out):
    return nn.Linear(x, out)

def case(name, x, rows, params, forward, sizes=None):
    inputs = torch.randn(rows, x, requires_grad=True)
    output = forward(inputs)
    probe = torch.randn(output.shape)
    (output * probe).sum().backward()
    tensors = lambda t: {"shape": list(t.shape), "data": t.detach().flatten().tolist()}
    return {"layer": name, "inputSize": x, "sizes": sizes or [], "rows": rows,
            "parameters": {k: tensors(v) for k, v in params.items()},
            "gradients": {k: tensors(v.grad) for k, v in params.items()},
            "input": tensors(inputs), "output": tensors(output), "probe": tensors(probe), "inputGradient": tensors(inputs.grad)}

cases = []
for x, rows in [(5, 7), (16, 3)]:
    for name, module in [("Relu", nn.ReLU()), ("Tanh", nn.Tanh()), ("Sigmoid", nn.Sigmoid()), ("Gelu", nn.GELU(approximate="tanh")), ("SoftsignLayer", nn.Softsign()), ("EluLayer", nn.ELU()),
                         ("LogSigmoidLayer", nn.LogSigmoid()), ("SiluLayer", nn.SiLU()), ("HardSigmoidLayer", nn.Hardsigmoid()),
                         ("HardTanhLayer", nn.Hardtanh()), ("PowerLayer", lambda v: v ** 3 - 1 / (1 + v ** 2)),
                         ("ExactGeluLayer", nn.GELU())]:
        fresh(name, x)
        cases.append(case(name, x, rows, {}, module))
    hidden = 2 * x + 1
    fresh("FeedForward", x)
    first, second = linear(x, hidden), linear(hidden, x)
    ff = nn.Sequential(first, nn.ReLU(), second)
    cases.append(case("FeedForward", x, rows, {"W_1": first.weight, "b_1": first.bias, "W_2": second.weight, "b_2": second.bias}, ff, [hidden]))
    fresh("LayerNorm", x)
    norm = nn.LayerNorm(x)
    with torch.no_grad():  # not the initial ones and zeros, so that the affine part is checked
        norm.weight.copy_(torch.randn(x))
        norm.bias.copy_(torch.randn(x))
    cases.append(case("LayerNorm", x, rows, {"weight": norm.weight, "bias": norm.bias}, norm))
    fresh("Highway", x)
    gate, transform = linear(x, x), linear(x, x)
    def highway(v, gate=gate, transform=transform):
        t = torch.sigmoid(gate(v))
        return t * torch.relu(transform(v)) + (1 - t) * v
    cases.append(case("Highway", x, rows, {"W_t": gate.weight, "b_t": gate.bias, "W_h": transform.weight, "b_h": transform.bias}, highway))
    outputs = x + 2
    fresh("Glu", x)
    value, gated = linear(x, outputs), linear(x, outputs)
    cases.append(case("Glu", x, rows, {"W": value.weight, "b": value.bias, "V": gated.weight, "c": gated.bias},
                      lambda v, value=value, gated=gated: value(v) * torch.sigmoid(gated(v)), [outputs]))
with open("layers.json", "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
print(len(cases), "cases")
