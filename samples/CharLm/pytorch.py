# The CharLm sample in PyTorch, for comparison: a 2-layer LSTM character model trained with truncated BPTT.
# Run with Debian's python3-torch from the repository: /usr/bin/python3 samples/CharLm/pytorch.py [steps]
import glob, math, sys, time
import torch
from torch import nn

text = "\n\n".join(open(f).read() for f in ["README.md"] + sorted(glob.glob("docs/*.md")))
alphabet = sorted(set(text))
encoded = torch.tensor([alphabet.index(c) for c in text])
split, vocabulary = len(encoded) * 9 // 10, len(alphabet)
steps, hidden, length, batch = int(sys.argv[1]) if len(sys.argv) > 1 else 1000, 128, 64, 32
torch.set_num_threads(2)
start = time.time()

# model and training: begin
torch.manual_seed(1)
class CharLm(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, 32)
        self.lstm = nn.LSTM(32, hidden, num_layers=2, dropout=0.2)
        self.dropout, self.head = nn.Dropout(0.2), nn.Linear(hidden, vocabulary)
    def forward(self, tokens, state=None):
        outputs, state = self.lstm(self.embedding(tokens), state)
        return self.head(self.dropout(outputs)), state
model = CharLm()
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
streams = encoded[:split // batch * batch].view(batch, -1).t()  # [stream length, B]
position, state = 0, None
for step in range(steps):
    if position + length + 1 > streams.shape[0]:
        position, state = 0, None
    chunk = streams[position:position + length + 1]
    logits, state = model(chunk[:-1], state)
    state = tuple(s.detach() for s in state)
    loss = loss_fn(logits.flatten(0, 1), chunk[1:].flatten())
    position += length
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "position": position}, "/tmp/charlm.pt")
def bits_per_character():
    model.eval()
    with torch.no_grad():
        state, nats, chunks = None, 0.0, 0
        for start in range(split, len(encoded) - length - 1, length):
            if chunks == 64: break
            chunk = encoded[start:start + length + 1].unsqueeze(1)
            logits, state = model(chunk[:-1], state)
            nats, chunks = nats + loss_fn(logits.flatten(0, 1), chunk[1:].flatten()).item(), chunks + 1
    model.train()
    return nats / chunks / math.log(2)
# model and training: end

print(f"Held-out: {bits_per_character():.3f} bits per character after {steps} steps, {time.time() - start:.0f} s.")
