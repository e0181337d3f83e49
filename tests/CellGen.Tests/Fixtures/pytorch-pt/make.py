# Makes the .pt fixtures of the PyTorch import tests with PyTorch 1.13 (Debian's python3-torch):
#   cd tests/CellGen.Tests/Fixtures/pytorch-pt && /usr/bin/python3 make.py
# Each model's state_dict is saved with torch.save as PyTorch users save theirs, beside a JSON file with its inputs
# and the outputs PyTorch computes from them in float64 (the weights are float32 values).
import json, os, pickle, zipfile
import torch
from torch import nn

torch.manual_seed(1)

def save(name, module, inputs, outputs, extra=None):
    torch.save(module.state_dict(), f"{name}.pt")
    data = {"inputs": inputs, "outputs": outputs}
    data.update(extra or {})
    with open(f"{name}.json", "w") as f:
        json.dump(data, f)

class Tagger(nn.Module):
    """embedding -> 2-layer bidirectional LSTM over variable lengths -> linear head at every step."""
    def __init__(self, cell, proj=0):
        super().__init__()
        self.embedding = nn.Embedding(9, 4)
        extra = {"proj_size": proj} if proj else {}
        self.rnn = cell(4, 5, num_layers=2, bidirectional=True, **extra)
        self.head = nn.Linear(2 * (proj or 5), 3)
    def forward(self, tokens, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(tokens), lengths, enforce_sorted=False)
        outputs, _ = self.rnn(packed)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, total_length=tokens.shape[0])
        return self.head(outputs)

tokens = torch.tensor([[1, 2, 3], [4, 5, 6], [7, 8, 0], [1, 3, 0], [2, 0, 0]])  # [T=5, B=3]
lengths = torch.tensor([5, 4, 2])
for name, cell, proj in [("lstm", nn.LSTM, 0), ("gru", nn.GRU, 0), ("rnn", nn.RNN, 0), ("lstmp", nn.LSTM, 3)]:
    model = Tagger(cell, proj)
    with torch.no_grad():
        outputs = model.double()(tokens, lengths)
    model.float()
    save(name, model, {"tokens": tokens.flatten().tolist(), "lengths": lengths.tolist()}, outputs.flatten().tolist(),
         {"shape": list(outputs.shape)})

# Other dtypes and a strided view: a linear layer's state_dict in float64, float16 and bfloat16, and one whose weight
# is the transpose of a contiguous tensor (a non-contiguous view saved as it is).
linear = nn.Linear(3, 2)
for dtype in ["float64", "float16", "bfloat16"]:
    converted = nn.Linear(3, 2).to(getattr(torch, dtype))
    converted.load_state_dict({k: v.to(getattr(torch, dtype)) for k, v in linear.state_dict().items()})
    torch.save(converted.state_dict(), f"linear-{dtype}.pt")
    with open(f"linear-{dtype}.json", "w") as f:
        json.dump({k: v.double().flatten().tolist() for k, v in converted.state_dict().items()}, f)
# Saved with pickle protocol 4 (STACK_GLOBAL and memoised strings instead of GLOBAL), as some scripts do.
torch.save(linear.state_dict(), "linear-protocol4.pt", pickle_protocol=4)
with open("linear-protocol4.json", "w") as f:
    json.dump({k: v.double().flatten().tolist() for k, v in linear.state_dict().items()}, f)
strided = {"weight": torch.arange(6, dtype=torch.float32).reshape(3, 2).t(), "bias": torch.tensor([0.5, -0.5])[::1]}
assert not strided["weight"].is_contiguous()
torch.save(strided, "linear-strided.pt")
with open("linear-strided.json", "w") as f:
    json.dump({k: v.contiguous().flatten().tolist() for k, v in strided.items()}, f)

# A pickle that calls os.system when unpickled by Python: the reader must refuse its global, never run it.
class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/cellgen-pwned",))
with zipfile.ZipFile("evil.pt", "w") as z:
    z.writestr("evil/data.pkl", pickle.dumps({"weight": Evil()}, protocol=2))
    z.writestr("evil/version", "3\n")

# A training checkpoint as many scripts save one: the state dict nested under "model" beside the optimiser's state
# and plain numbers, with an integer tensor (a counter, as batch norm's num_batches_tracked).
model = nn.Linear(3, 2)
optimizer = torch.optim.Adam(model.parameters())
model(torch.ones(1, 3)).sum().backward()
optimizer.step()
state = model.state_dict()
state["steps"] = torch.tensor(7, dtype=torch.int64)
torch.save({"model": state, "optimizer": optimizer.state_dict(), "epoch": 3}, "nested.pt")
with open("nested.json", "w") as f:
    json.dump({k: v.double().flatten().tolist() for k, v in state.items()}, f)
