# Makes attention.json: global attention (Luong et al. 2015) with a dot-product and an additive (Bahdanau) score,
# written with PyTorch's own ops in float64 (PyTorch 1.13, Debian's python3-torch), which AttentionTests compares
# CellGen's Attention with:
#   cd tests/CellGen.Tests/Fixtures/pytorch-attention && /usr/bin/python3 make.py
# Queries [Tq, B, Q] and memory [Tm, B, M] time-major, the memory's steps past each sequence's length masked; the
# output tanh(W_c [c, q] + b_c); for the loss sum(output * probe), the gradients of queries, memory and parameters.
import json
import torch

torch.manual_seed(2026)
torch.set_default_dtype(torch.float64)

def case(score, tq, tm, b, q, m, o, a, lengths):
    query = torch.randn(tq, b, q, requires_grad=True)
    memory = torch.randn(tm, b, m, requires_grad=True)
    params = {"W_c": torch.randn(o, m + q) * 0.5, "b_c": torch.randn(o) * 0.5}
    if score == "additive":
        params.update({"W_q": torch.randn(a, q) * 0.5, "W_k": torch.randn(a, m) * 0.5, "v": torch.randn(a)})
    for p in params.values():
        p.requires_grad_(True)
    if score == "dot":
        scores = torch.einsum("tbq,jbq->tbj", query, memory)
    else:
        keys = memory @ params["W_k"].T                   # [Tm, B, A]
        queries = query @ params["W_q"].T                 # [Tq, B, A]
        scores = torch.tanh(queries[:, :, None, :] + keys.permute(1, 0, 2)[None, :, :, :]) @ params["v"]  # [Tq, B, Tm]
    mask = torch.arange(tm)[None, :] >= torch.tensor(lengths)[:, None]  # [B, Tm]
    scores = scores.masked_fill(mask[None, :, :], float("-inf"))
    alpha = torch.softmax(scores, dim=-1)
    context = torch.einsum("tbj,jbm->tbm", alpha, memory)
    output = torch.tanh(torch.cat([context, query], dim=-1) @ params["W_c"].T + params["b_c"])
    probe = torch.randn(output.shape)
    (output * probe).sum().backward()
    t = lambda x: {"shape": list(x.shape), "data": x.detach().flatten().tolist()}
    return {"score": score, "queryWidth": q, "memoryWidth": m, "outputWidth": o, "attentionSize": a, "lengths": lengths,
            "query": t(query), "memory": t(memory), "parameters": {k: t(v) for k, v in params.items()},
            "output": t(output), "weights": t(alpha), "probe": t(probe), "queryGradient": t(query.grad), "memoryGradient": t(memory.grad),
            "gradients": {k: t(v.grad) for k, v in params.items()}}

cases = [
    case("dot", 3, 4, 2, 5, 5, 4, 0, [4, 2]),
    case("dot", 5, 6, 3, 8, 8, 6, 0, [6, 1, 3]),
    case("additive", 3, 4, 2, 5, 6, 4, 7, [4, 2]),
    case("additive", 5, 6, 3, 9, 7, 6, 19, [6, 1, 3]),
]
with open("attention.json", "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
print(len(cases), "cases")
