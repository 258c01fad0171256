"""Why RX keeps float64 products: the co-moment from float32 block products (each block centred in float64 first,
the best case), merged into float64, against the float64 one, on a bench_large-like 64-band scene of 200000
pixels. Prints the covariance's condition number and the largest relative error of the RX scores.

    nice -n 10 .venv/bin/python benchmarks/rx_float32_products.py
"""

import numpy as np

rng = np.random.default_rng(0)
B = 64
mixing = rng.normal(size=(B, B)) / np.sqrt(B) * np.linspace(1.0, 0.05, B)
X = (rng.standard_normal((200000, B)) @ mixing + np.linspace(800, 200, B)).astype(np.float32)
def rx(cov, mean, P):
    l, V = np.linalg.eigh(cov); W = V / np.sqrt(l); z = (P - mean) @ W; return np.einsum("ij,ij->i", z, z)
P = X.astype(np.float64); mean = P.mean(0)
C64 = np.zeros((B, B)); C32 = np.zeros((B, B))
for s in range(0, len(P), 16384):
    c = P[s:s + 16384] - mean           # centred in float64 (best case for float32 products)
    C64 += c.T @ c
    c32 = c.astype(np.float32); C32 += (c32.T @ c32).astype(np.float64)
n = len(P) - 1
a, b = rx(C64 / n, mean, P), rx(C32 / n, mean, P)
print("cond %.1e" % np.linalg.cond(C64), "max rel score error float32 products: %.1e" % np.max(np.abs(a - b) / a))
