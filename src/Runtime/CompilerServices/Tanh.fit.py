# Writes the coefficients of FloatActivations' tanh (FloatLanes.cs): tanh(x) ≈ x P(x²) / Q(x²) on [-9, 9], P and Q of
# degree 4 with P(0) = Q(0) = 1 (so tanh(x) = x for tiny x, and -0 stays -0), fitted to the least maximum absolute
# error by Lawson's iteration of weighted least squares on the linearised error x P - tanh(x) Q, in s = x² / 81.
# From x = 8 the target rises above tanh by PIN ((x - 8)² PIN, where tanh is within 3e-7 of 1): the float32 quotient at
# 9, where the lanes clamp x, then lies above 1 whatever its rounding, and the clamp of the result makes tanh(±∞)
# exactly ±1, as in double; where the quotient passes 1, the clamp's error is 1 - tanh(x).
# Prints the coefficients (float32, of x²) and the worst error of their float32 evaluation as the lanes compute it,
# with fused multiply-adds and without (a multiply, then an add: machines without the instruction).
# Run: /usr/bin/python3 src/Runtime/CompilerServices/Tanh.fit.py
import numpy as np

C, DEGREE, PIN = 9.0, 4, 6e-7
x = np.unique(np.concatenate([np.linspace(0, C, 40001), C * (1 - np.logspace(-7, 0, 4001))]))
y, s = np.tanh(x) + PIN * np.maximum(x - 8, 0) ** 2, (x / C) ** 2
weights = np.full(x.size, 1.0 / x.size)
for _ in range(200):
    # x (1 + Σ p_i s^i) - y (1 + Σ q_j s^j) = 0  ->  Σ p_i x s^i - Σ q_j y s^j = y - x
    A = np.column_stack([x * s ** i for i in range(1, DEGREE + 1)] + [-y * s ** j for j in range(1, DEGREE + 1)])
    root = np.sqrt(weights)
    c, *_ = np.linalg.lstsq(A * root[:, None], (y - x) * root, rcond=None)
    p, q = np.concatenate([[1.0], c[:DEGREE]]), np.concatenate([[1.0], c[DEGREE:]])
    error = x * np.polyval(p[::-1], s) / np.polyval(q[::-1], s) - y
    weights *= np.abs(error) + 1e-300
    weights /= weights.sum()
# Coefficients of x² rather than of s, rounded to float32 as the lanes hold them.
p32 = np.array([p[i] / C ** (2 * i) for i in range(DEGREE + 1)], dtype=np.float32)
q32 = np.array([q[i] / C ** (2 * i) for i in range(DEGREE + 1)], dtype=np.float32)

def lanes(v, fused=True):
    """The lanes' float32 evaluation: clamp, z = x², Horner by multiply-adds, x P / Q, clamp to [-1, 1]."""
    v = np.clip(v.astype(np.float32), -C, C)
    f = lambda a: a.astype(np.float32)
    z = f(v.astype(np.float64) ** 2)
    P, Q = np.full_like(v, p32[-1]), np.full_like(v, q32[-1])
    for i in range(DEGREE - 1, -1, -1):
        if fused: P, Q = f(P.astype(np.float64) * z + p32[i]), f(Q.astype(np.float64) * z + q32[i])
        else: P, Q = f(f(P.astype(np.float64) * z).astype(np.float64) + p32[i]), f(f(Q.astype(np.float64) * z).astype(np.float64) + q32[i])
    return np.clip(f(f(v.astype(np.float64) * P).astype(np.float64) / Q), -1, 1)

test = np.concatenate([np.linspace(-12, 12, 2_400_001), np.linspace(-1e-3, 1e-3, 200_001)]).astype(np.float32)
worst = max(np.max(np.abs(lanes(test, fused) - np.tanh(test.astype(np.float64)))) for fused in (True, False))
ends = [lanes(np.array([e], dtype=np.float32), fused)[0] for e in (-np.inf, np.inf) for fused in (True, False)]
tiny = test[(test != 0) & (np.abs(test) < 1e-3)]
print("P:", ", ".join(f"{v!r}f" for v in p32.tolist()))
print("Q:", ", ".join(f"{v!r}f" for v in q32.tolist()))
print(f"fitted max |error| (against the raised target) {np.max(np.abs(error)):.2e}; float32 lanes max |error| {worst:.2e}; "
      f"largest relative error below 1e-3 {np.max(np.abs(lanes(tiny) / np.tanh(tiny.astype(np.float64)) - 1)):.2e}; "
      f"at -inf and +inf (fused, not): {ends}")
