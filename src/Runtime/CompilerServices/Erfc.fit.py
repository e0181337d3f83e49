# Writes the coefficients of Erfc.cs (beside it): erfc(z) = t·exp(-z² + P(t)) for z ≥ 0, t = 2/(2 + z),
# P a Chebyshev series in u = 2t - 1, interpolated at 30 Chebyshev nodes from erfc computed at 50 digits (mpmath, in
# Debian's python3). Run: /usr/bin/python3 src/Runtime/CompilerServices/Erfc.fit.py
import mpmath as mp

mp.mp.dps = 50
N = 30

def P(u):
    t = (u + 1) / 2
    z = 2 / t - 2
    return mp.log(mp.erfc(z) / t) + z * z

nodes = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / N) for k in range(N)]
values = [P(u) for u in nodes]
c = [2 * sum(values[k] * mp.cos(mp.pi * j * (k + mp.mpf(1) / 2) / N) for k in range(N)) / N for j in range(N)]
c[0] /= 2
print(",\n".join(", ".join(repr(float(v)) for v in c[i:i + 4]) for i in range(0, N, 4)))
