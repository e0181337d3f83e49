# The Translate sample in PyTorch, for comparison: reverse strings of digits with a GRU encoder-decoder that attends to
# the encoder's outputs (Luong's global attention, the additive or dot score; none for the plain encoder-decoder).
# Run with Debian's python3-torch: /usr/bin/python3 samples/Translate/pytorch.py [steps] [shortest] [longest] [attention]
import random, sys, time
import torch
from torch import nn

GO, END, VOCABULARY = 10, 11, 12
steps, SHORTEST, LONGEST = (int(a) for a in (sys.argv[1:4] + ["6000", "3", "12"][len(sys.argv[1:4]):]))
kind, batch_size = sys.argv[4] if len(sys.argv) > 4 else "additive", 64
rng = random.Random(1)

def batch(size):
    strings = [[rng.randrange(10) for _ in range(rng.randrange(SHORTEST, LONGEST + 1))] for _ in range(size)]
    source = nn.utils.rnn.pad_sequence([torch.tensor(s) for s in strings])
    inputs = nn.utils.rnn.pad_sequence([torch.tensor([GO] + s[::-1]) for s in strings])
    target = nn.utils.rnn.pad_sequence([torch.tensor(s[::-1] + [END]) for s in strings], padding_value=-100)
    return source, torch.tensor([len(s) for s in strings]), inputs, target

torch.set_num_threads(2)
start = time.time()

# model and training: begin
class Attention(nn.Module):  # what CellGen's Attention computes: scores, softmax over valid steps, tanh(W_c [c, q] + b_c)
    def __init__(self, kind, size=128):
        super().__init__()
        self.kind, self.combine = kind, nn.Linear(2 * size, size)
        if kind == "additive":
            self.query, self.key = nn.Linear(size, size, bias=False), nn.Linear(size, size, bias=False)
            self.v = nn.Parameter(torch.empty(size).uniform_(-size ** -0.5, size ** -0.5))
    def forward(self, queries, memory, lengths):
        if self.kind == "dot":
            scores = torch.einsum("tbh,jbh->tbj", queries, memory)
        else:
            scores = torch.tanh(self.query(queries)[:, :, None] + self.key(memory).transpose(0, 1)[None]) @ self.v
        mask = torch.arange(memory.shape[0])[None, :] >= lengths[:, None]
        weights = torch.softmax(scores.masked_fill(mask[None], float("-inf")), dim=-1)
        return torch.tanh(self.combine(torch.cat([torch.einsum("tbj,jbh->tbh", weights, memory), queries], -1)))
torch.manual_seed(1)
encoder_embedding, encoder = nn.Embedding(10, 32), nn.GRU(32, 128)
decoder_embedding, decoder, head = nn.Embedding(VOCABULARY, 32), nn.GRU(32, 128), nn.Linear(128, VOCABULARY)
attention = Attention(kind) if kind != "none" else None
modules = nn.ModuleList([encoder_embedding, encoder, decoder_embedding, decoder, head] + ([attention] if attention else []))
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.AdamW(modules.parameters(), lr=3e-3)
def encode(source, lengths):
    packed, h = encoder(nn.utils.rnn.pack_padded_sequence(encoder_embedding(source), lengths, enforce_sorted=False))
    return nn.utils.rnn.pad_packed_sequence(packed)[0], h
def decode_steps(inputs, h, memory, lengths):
    outputs, h = decoder(decoder_embedding(inputs), h)
    return head(attention(outputs, memory, lengths) if attention else outputs), h
for step in range(steps):
    source, lengths, inputs, target = batch(batch_size)
    memory, h = encode(source, lengths)
    logits, _ = decode_steps(inputs, h, memory, lengths)
    loss = loss_fn(logits.flatten(0, 1), target.flatten())
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(modules.parameters(), 1.0)
    optimizer.step()
def decode(source, lengths):
    with torch.no_grad():
        (memory, h), token, written = encode(source, lengths), torch.full((1, source.shape[1]), GO), []
        for _ in range(LONGEST + 1):
            logits, h = decode_steps(token, h, memory, lengths)
            token = logits.argmax(2)
            written.append(token[0])
        return torch.stack(written)
# model and training: end

exact = total = 0
for _ in range(16):
    source, lengths, _, target = batch(batch_size)
    written = decode(source, lengths)
    for b in range(batch_size):
        n = lengths[b].item()
        exact += int(written[:n + 1, b].tolist() == target[:n + 1, b].tolist())
        total += 1
print(f"Exact matches: {exact / total:.1%} of {total} new strings ({time.time() - start:.0f} s of training).")
