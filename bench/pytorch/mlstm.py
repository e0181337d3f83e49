#!/usr/bin/env python3
"""xLSTM's mLSTM (the built-in Mlstm's equations, 4 heads) written step by step in plain PyTorch, float32, 2 threads, as a
user would without CellGen: forward (no_grad) and forward + backward, at the configurations of `CellGen.Bench zoo`
(b1-h128 and b32-h256, X = H, T = 50), timed as baseline.py times (the median after a warm-up). Prints a Markdown
table. Usage: /usr/bin/python3 bench/pytorch/mlstm.py (Debian's python3 with python3-torch)."""
import torch
import torch.nn.functional as F
from baseline import median_ms

torch.set_num_threads(2)
HEADS, STEPS = 4, 50


def parameters(h):
    torch.manual_seed(1)
    p = {}
    for g in "qkvo":
        p["W_" + g] = torch.nn.Parameter(torch.randn(h, h) / h ** 0.5)
        p["b_" + g] = torch.nn.Parameter(torch.zeros(h))
    for g in "if":
        p["W_" + g] = torch.nn.Parameter(torch.randn(HEADS, h) / h ** 0.5)
        p["b_" + g] = torch.nn.Parameter(torch.zeros(HEADS))
    return p


def mlstm(p, xs):
    T, B, H = xs.shape
    N, P = HEADS, H // HEADS
    C = xs.new_zeros(B, N, P, P)
    n = xs.new_zeros(B, N, P)
    m = xs.new_zeros(B, N)
    outputs = []
    for x in xs:
        q = (x @ p["W_q"].T + p["b_q"]).reshape(B, N, P)
        k = (x @ p["W_k"].T + p["b_k"]).reshape(B, N, P)
        v = (x @ p["W_v"].T + p["b_v"]).reshape(B, N, P)
        ir = x @ p["W_i"].T + p["b_i"]
        lf = F.logsigmoid(x @ p["W_f"].T + p["b_f"])
        o = torch.sigmoid(x @ p["W_o"].T + p["b_o"])
        m_new = torch.maximum(lf + m, ir)
        i = torch.exp(ir - m_new)
        f = torch.exp(lf + m - m_new)
        C = f[..., None, None] * C + i[..., None, None] * (v[..., :, None] * k[..., None, :])
        n = f[..., None] * n + i[..., None] * k
        read = (C @ q[..., None]).squeeze(-1)
        bound = torch.maximum(torch.abs((n * q).sum(-1)), torch.exp(-m_new))
        outputs.append(o * (read / bound[..., None]).reshape(B, H))
        m = m_new
    return torch.stack(outputs)


print("| mLSTM, PyTorch | fwd ms | train ms |")
print("| --- | ---: | ---: |")
for name, b, h in [("b1-h128", 1, 128), ("b32-h256", 32, 256)]:
    p = parameters(h)
    xs = torch.rand(STEPS, b, h) - 0.5
    dy = torch.rand(STEPS, b, h) - 0.5

    def forward():
        with torch.no_grad():
            mlstm(p, xs)

    def train():
        mlstm(p, xs).backward(dy)

    print(f"| {name} | {median_ms(forward):.2f} | {median_ms(train):.2f} |")
