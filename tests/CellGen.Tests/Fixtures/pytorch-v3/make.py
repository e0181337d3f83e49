# Makes the fixtures of the cells of the language's version 3 (issue 29): with heads (block-diagonal recurrent
# matrices), xLSTM's sLSTM as the built-in Slstm declares it and a GRU with heads of the tests (HeadsGru in
# UserCells.cs); with a learnable scalar, the tests' LeakyRnn. Each is written with PyTorch's own ops as the paper
# writes the cell, the block-diagonal matrices made by torch.block_diag from their blocks, in float64 (PyTorch 1.13,
# Debian's python3-torch):
#   cd tests/CellGen.Tests/Fixtures/pytorch-v3 && /usr/bin/python3 make.py
# A state the cell never reads back (mLSTM's h) has a zero initial-state gradient.
# Format cellgen-fixture/1, as ../pytorch (FixtureTests reads both). Parameters are under CellGen's names: a matrix
# [out, in], a block-diagonal one [heads, out / heads, in / heads], a scalar [1].
import json
import zlib
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

def tensors(t):
    return {"shape": list(t.shape), "data": t.detach().flatten().tolist()}

def slstm(p, x, s):
    h, c, n, m = s["h"], s["c"], s["n"], s["m"]
    R = lambda name: torch.block_diag(*p[name])
    outputs = []
    for t in range(x.shape[0]):
        ir = x[t] @ p["W_i"].T + h @ R("R_i").T + p["b_i"]
        lf = F.logsigmoid(x[t] @ p["W_f"].T + h @ R("R_f").T + p["b_f"])
        z = torch.tanh(x[t] @ p["W_z"].T + h @ R("R_z").T + p["b_z"])
        o = torch.sigmoid(x[t] @ p["W_o"].T + h @ R("R_o").T + p["b_o"])
        m_new = torch.maximum(lf + m, ir)
        i = torch.exp(ir - m_new)
        f = torch.exp(lf + m - m_new)
        c = f * c + i * z
        n = f * n + i
        h = o * c / n
        m = m_new
        outputs.append(h)
    return torch.stack(outputs), {"h": h, "c": c, "n": n, "m": m}

def heads_gru(p, x, s):
    h = s["h"]
    R = lambda name: torch.block_diag(*p[name])
    outputs = []
    for t in range(x.shape[0]):
        r = torch.sigmoid(x[t] @ p["W_r"].T + h @ R("R_r").T + p["b_r"])
        z = torch.sigmoid(x[t] @ p["W_z"].T + h @ R("R_z").T + p["b_z"])
        n = torch.tanh(x[t] @ p["W_n"].T + r * (h @ R("R_n").T + p["c_n"]))
        h = (1 - z) * n + z * h
        outputs.append(h)
    return torch.stack(outputs), {"h": h}

def leaky_rnn(p, x, s):
    h = s["h"]
    outputs = []
    for t in range(x.shape[0]):
        h = p["a"] * torch.tanh(torch.cat([h, x[t]], dim=1) @ p["W"].T + p["b"]) + (1 - p["a"]) * h
        outputs.append(h)
    return torch.stack(outputs), {"h": h}

def mlstm(p, x, s):
    # Per head: q, k, v of P units, the gates one value per head; C[b, head] a P x P matrix, CellGen's layout
    # (head, r, c) flattened, C[r, c] = v[r] k[c] for the outer product.
    B, H = s["h"].shape
    N = 4
    P = H // N
    C, n, m = s["C"].reshape(B, N, P, P), s["n"].reshape(B, N, P), s["m"]
    outputs = []
    for t in range(x.shape[0]):
        q = (x[t] @ p["W_q"].T + p["b_q"]).reshape(B, N, P)
        k = (x[t] @ p["W_k"].T + p["b_k"]).reshape(B, N, P)
        v = (x[t] @ p["W_v"].T + p["b_v"]).reshape(B, N, P)
        ir = x[t] @ p["W_i"].T + p["b_i"]
        lf = F.logsigmoid(x[t] @ p["W_f"].T + p["b_f"])
        o = torch.sigmoid(x[t] @ p["W_o"].T + p["b_o"])
        m_new = torch.maximum(lf + m, ir)
        i = torch.exp(ir - m_new)
        f = torch.exp(lf + m - m_new)
        C = f[..., None, None] * C + i[..., None, None] * (v[..., :, None] * k[..., None, :])
        n = f[..., None] * n + i[..., None] * k
        read = (C @ q[..., None]).squeeze(-1)
        bound = torch.maximum(torch.abs((n * q).sum(-1)), torch.exp(-m_new))
        h = o * (read / bound[..., None]).reshape(B, H)
        m = m_new
        outputs.append(h)
    return torch.stack(outputs), {"C": C.reshape(B, N * P * P), "n": n.reshape(B, H), "m": m, "h": h}

CELLS = {
    "Slstm": (4, slstm, ["h", "c", "n", "m"], [
        "ir   = W_i @ x[t] + R_i @ h[t-1] + b_i",
        "lf   = logsigmoid(W_f @ x[t] + R_f @ h[t-1] + b_f)",
        "z    = tanh(W_z @ x[t] + R_z @ h[t-1] + b_z)",
        "o    = sigmoid(W_o @ x[t] + R_o @ h[t-1] + b_o)",
        "m[t] = max(lf + m[t-1], ir)",
        "i    = exp(ir - m[t])",
        "f    = exp(lf + m[t-1] - m[t])",
        "c[t] = f * c[t-1] + i * z",
        "n[t] = f * n[t-1] + i",
        "h[t] = o * c[t] / n[t]"], "ifzo"),
    "HeadsGru": (3, heads_gru, ["h"], [
        "r    = sigmoid(W_r @ x[t] + R_r @ h[t-1] + b_r)",
        "z    = sigmoid(W_z @ x[t] + R_z @ h[t-1] + b_z)",
        "n    = tanh(W_n @ x[t] + r * (R_n @ h[t-1] + c_n))",
        "h[t] = (1 - z) * n + z * h[t-1]"], "rzn"),
    # A learnable scalar (issue 29, item 2): a, an nn.Parameter of shape [1], broadcast as PyTorch broadcasts it.
    "LeakyRnn": (1, leaky_rnn, ["h"], ["h[t] = a * tanh(W @ [h[t-1], x[t]] + b) + (1 - a) * h[t-1]"], ""),
    # xLSTM's mLSTM with 4 heads (issue 29, item 4), as the built-in Mlstm declares it: matrix memory C, per-head gates.
    "Mlstm": (4, mlstm, ["m", "C", "n", "h"], [
        "q    = W_q @ x[t] + b_q",
        "k    = W_k @ x[t] + b_k",
        "v    = W_v @ x[t] + b_v",
        "ir   = W_i @ x[t] + b_i",
        "lf   = logsigmoid(W_f @ x[t] + b_f)",
        "o    = sigmoid(W_o @ x[t] + b_o)",
        "m[t] = max(lf + m[t-1], ir)",
        "i    = exp(ir - m[t])",
        "f    = exp(lf + m[t-1] - m[t])",
        "C[t] = f * C[t-1] + i * outer(v, k)",
        "n[t] = f * n[t-1] + i * k",
        "h[t] = o * (C[t] @ q) / max(abs(dot(n[t], q)), exp(-m[t]))"], ""),
}

def make(cell, x_size, h, b, steps):
    heads, step, states, equations, gates = CELLS[cell]
    torch.manual_seed(zlib.crc32(f"{cell}:{x_size}:{h}".encode()))
    p = {}
    if cell == "LeakyRnn":
        p["W"] = torch.randn(h, h + x_size) / (h + x_size) ** 0.5
        p["b"] = torch.randn(h) * 0.5
        p["a"] = torch.rand(1) * 0.8 + 0.1
    for g in gates:
        p["W_" + g] = torch.randn(h, x_size) / x_size ** 0.5
        p["R_" + g] = torch.randn(heads, h // heads, h // heads) / (h // heads) ** 0.5
        p["b_" + g] = torch.randn(h) * 0.5
    if cell == "Mlstm":
        for g in "qkvo":
            p["W_" + g] = torch.randn(h, x_size) / x_size ** 0.5
            p["b_" + g] = torch.randn(h) * 0.5
        for g in "if":  # one gate per head
            p["W_" + g] = torch.randn(heads, x_size) / x_size ** 0.5
            p["b_" + g] = torch.randn(heads) * 0.5
    if cell == "HeadsGru":
        p["c_n"] = torch.randn(h) * 0.5
        del p["b_n"]
    for v in p.values():
        v.requires_grad_(True)
    x = torch.randn(steps, b, x_size, requires_grad=True)
    sizes = {"m": heads, "C": h * (h // heads)} if cell == "Mlstm" else {}
    initial = {name: torch.randn(b, sizes.get(name, h)) for name in states}
    if "n" in initial:  # a normaliser is a sum of exponentials: positive
        initial["n"] = torch.rand(b, h) + 0.5
    for v in initial.values():
        v.requires_grad_(True)
    outputs, final = step(p, x, initial)
    output_grad = torch.randn(outputs.shape)
    final_grad = {name: torch.randn(b, sizes.get(name, h)) for name in states}
    loss = (outputs * output_grad).sum() + sum((final[name] * final_grad[name]).sum() for name in states)
    loss.backward()
    return {
        "format": "cellgen-fixture/1", "cell": cell,
        "source": f"PyTorch ops as the paper writes the cell, torch.block_diag for the heads, torch {torch.__version__}, float64",
        "equations": equations, "output": "h", "inputSize": x_size, "hiddenSize": h, "batch": b, "steps": steps,
        "params": {k: tensors(v) for k, v in p.items()}, "x": tensors(x),
        "initialState": {k: tensors(v) for k, v in initial.items()}, "outputGrad": tensors(output_grad),
        "finalStateGrad": {k: tensors(v) for k, v in final_grad.items()},
        "expected": {"outputs": tensors(outputs), "finalState": {k: tensors(v) for k, v in final.items()}, "loss": loss.item(),
                     "paramGrads": {k: tensors(v.grad) for k, v in p.items()}, "inputGrad": tensors(x.grad),
                     "initialStateGrad": {k: tensors(v.grad if v.grad is not None else torch.zeros_like(v)) for k, v in initial.items()}},
        "tolerance": {"float32": {"abs": 1e-4, "rel": 1e-3}},
    }

for cell, x_size, h, b, steps in [("Slstm", 3, 8, 2, 5), ("Slstm", 6, 16, 3, 7), ("Slstm", 8, 128, 9, 4),
                                   ("HeadsGru", 3, 6, 2, 5), ("HeadsGru", 5, 12, 3, 4), ("HeadsGru", 7, 96, 9, 4),
                                   ("LeakyRnn", 3, 5, 2, 5), ("LeakyRnn", 6, 37, 3, 4),
                                   ("Mlstm", 3, 8, 2, 5), ("Mlstm", 6, 16, 3, 7), ("Mlstm", 8, 64, 9, 4)]:
    with open(f"{cell}-x{x_size}-h{h}-b{b}-t{steps}.json", "w") as f:
        json.dump(make(cell, x_size, h, b, steps), f)
print("written")
