# The Digits sample in PyTorch: sklearn's handwritten digits, each 8x8 image read as 8 steps of 8 pixels by an LSTM.
# Run with Debian's python3-torch and python3-sklearn: /usr/bin/python3 samples/Digits/pytorch.py
import torch
from torch import nn
from sklearn.datasets import load_digits

digits = load_digits()
x = torch.tensor(digits.data, dtype=torch.float32).view(-1, 8, 8) / 16  # [N, T=8, X=8], batch first
y = torch.tensor(digits.target)
train_x, train_y, test_x, test_y = x[:1500], y[:1500], x[1500:], y[1500:]

torch.manual_seed(1)
class Reader(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 64, batch_first=True)
        self.head = nn.Linear(64, 10)
    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.head(h[-1])
model = Reader()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
loss_fn = nn.CrossEntropyLoss()
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(train_x, train_y), batch_size=32, shuffle=True)
for epoch in range(10):
    for batch_x, batch_y in loader:
        loss = loss_fn(model(batch_x), batch_y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (model(test_x).argmax(1) == test_y).float().mean().item()
    print(f"epoch {epoch + 1}: loss {loss.item():.4f}, test accuracy {accuracy:.3f}")
