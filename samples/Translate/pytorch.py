# The Translate sample in PyTorch, for comparison: reverse strings of digits with a GRU encoder-decoder.
# Run with Debian's python3-torch: /usr/bin/python3 samples/Translate/pytorch.py [steps]
import random, sys, time
import torch
from torch import nn

GO, END, VOCABULARY, LONGEST = 10, 11, 12, 12
rng = random.Random(1)

def batch(size):
    strings = [[rng.randrange(10) for _ in range(rng.randrange(3, LONGEST + 1))] for _ in range(size)]
    source = nn.utils.rnn.pad_sequence([torch.tensor(s) for s in strings])
    inputs = nn.utils.rnn.pad_sequence([torch.tensor([GO] + s[::-1]) for s in strings])
    target = nn.utils.rnn.pad_sequence([torch.tensor(s[::-1] + [END]) for s in strings], padding_value=-100)
    return source, torch.tensor([len(s) for s in strings]), inputs, target

steps, batch_size = int(sys.argv[1]) if len(sys.argv) > 1 else 6000, 64
torch.set_num_threads(2)
start = time.time()

# model and training: begin
torch.manual_seed(1)
encoder_embedding, encoder = nn.Embedding(10, 32), nn.GRU(32, 128)
decoder_embedding, decoder, head = nn.Embedding(VOCABULARY, 32), nn.GRU(32, 128), nn.Linear(128, VOCABULARY)
modules = nn.ModuleList([encoder_embedding, encoder, decoder_embedding, decoder, head])
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.AdamW(modules.parameters(), lr=3e-3)
def encode(source, lengths):
    _, h = encoder(nn.utils.rnn.pack_padded_sequence(encoder_embedding(source), lengths, enforce_sorted=False))
    return h
for step in range(steps):
    source, lengths, inputs, target = batch(batch_size)
    outputs, _ = decoder(decoder_embedding(inputs), encode(source, lengths))
    loss = loss_fn(head(outputs).flatten(0, 1), target.flatten())
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(modules.parameters(), 1.0)
    optimizer.step()
def decode(source, lengths):
    with torch.no_grad():
        h, token, written = encode(source, lengths), torch.full((1, source.shape[1]), GO), []
        for _ in range(LONGEST + 1):
            output, h = decoder(decoder_embedding(token), h)
            token = head(output).argmax(2)
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
