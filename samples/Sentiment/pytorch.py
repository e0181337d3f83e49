# The Sentiment sample in PyTorch, for comparison: the same generated reviews, the same model and training.
# Run with Debian's python3-torch: /usr/bin/python3 samples/Sentiment/pytorch.py [steps]
import random, sys, time
import torch
from torch import nn

POSITIVE = "good great excellent lovely superb fun moving clever brilliant charming".split()
NEGATIVE = "bad awful poor boring dull weak silly terrible messy tedious".split()
NEUTRAL = "the a film movie plot cast was is and but this very quite ending story music".split()
WORDS = ["<pad>", "not"] + POSITIVE + NEGATIVE + NEUTRAL
rng = random.Random(1)

def review():
    while True:
        length, score, negated, words = rng.randrange(6, 41), 0, False, []
        for _ in range(length):
            u = rng.random()
            word = "not" if u < 0.08 else rng.choice(POSITIVE) if u < 0.2 else rng.choice(NEGATIVE) if u < 0.32 else rng.choice(NEUTRAL)
            words.append(WORDS.index(word))
            sign = 1 if word in POSITIVE else -1 if word in NEGATIVE else 0
            score += -sign if negated else sign
            negated = word == "not" or (negated and sign == 0 and word not in ("and", "but"))
        if score != 0:
            return words, int(score > 0)

def batch(size):
    reviews = [review() for _ in range(size)]
    tokens = nn.utils.rnn.pad_sequence([torch.tensor(w) for w, _ in reviews])  # [T, B]
    return tokens, torch.tensor([len(w) for w, _ in reviews]), torch.tensor([label for _, label in reviews])

steps, batch_size = int(sys.argv[1]) if len(sys.argv) > 1 else 2000, 32
torch.set_num_threads(2)
start = time.time()

# model and training: begin
torch.manual_seed(1)
class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(len(WORDS), 32)
        self.lstm = nn.LSTM(32, 64, bidirectional=True)
        self.head = nn.Linear(128, 2)
    def forward(self, tokens, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(tokens), lengths, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        return self.head(torch.cat([h[0], h[1]], dim=1))
model = Classifier()
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
for step in range(steps):
    tokens, lengths, labels = batch(batch_size)
    loss = loss_fn(model(tokens, lengths), labels)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
def accuracy(batches):
    right = 0
    with torch.no_grad():
        for _ in range(batches):
            tokens, lengths, labels = batch(batch_size)
            right += (model(tokens, lengths).argmax(1) == labels).sum().item()
    return right / (batches * batch_size)
# model and training: end

print(f"Held-out accuracy: {accuracy(32):.1%} of {32 * batch_size} new reviews ({time.time() - start:.0f} s of training).")
