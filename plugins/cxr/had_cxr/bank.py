"""Memory-bank scoring of MemDAE and RLAD: the mean of the K smallest angles to a bank of normal codes.

``d_ij = arccos(clamp(code_i . bank_j, -1, 1)) / pi`` in [0, 1] for L2-normalised codes; the score of sample i
is the mean of its K smallest ``d_ij``. The clamp fixes the reference's NaN at dot products that round past
+-1.

Numerics. In float32, ``arccos`` of a dot product near 1 turns the dot's rounding (6e-8) into an angle error of
``sqrt(2 * 6e-8) ~ 3e-4`` rad, the size of the nearest-neighbour angles themselves, so eager and ONNX scores
(or two BLAS libraries) disagree by percents. The same value is computed here stably: codes and bank are
re-normalised and multiplied in float64, ``u = 1 - dot`` is taken in float64 and clamped to [0, 2] (the clamp
of the dot to [-1, 1]), and ``arccos(1 - u) = 2 * arcsin(sqrt(u / 2))`` is evaluated in float32, where arcsin of
a small argument keeps its relative precision. In ONNX: Cast -> normalise -> MatMul (double) -> Sub -> Cast ->
Clip -> Sqrt -> Asin -> TopK(largest=0) -> ReduceMean, with the bank as a constant. (onnxruntime has no
double Acos/Asin kernel, hence the float32 tail.)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def angle_scores(codes: torch.Tensor, bank: torch.Tensor, k: int) -> torch.Tensor:
    """Mean of the `k` smallest normalised angles between each code ``(n, d)`` and the bank ``(m, d)``."""
    a = F.normalize(codes.double(), dim=1)
    b = F.normalize(bank.double(), dim=1)
    u = torch.clamp((1.0 - a @ b.t()).to(codes.dtype), 0.0, 2.0)  # 1 - clamp(dot, -1, 1)
    angles = (2.0 / math.pi) * torch.asin(torch.sqrt(0.5 * u))
    nearest = torch.topk(angles, k, dim=1, largest=False).values
    return nearest.mean(dim=1)


class AngleBank(nn.Module):
    """A bank of normal codes held as a buffer (saved in the state, a constant in the exported graph)."""

    def __init__(self, rows: int, dim: int, k: int):
        super().__init__()
        self.k = int(k)
        self.register_buffer("bank", torch.zeros(rows, dim))

    def set(self, codes: torch.Tensor) -> None:
        """Replace the bank by `codes` (rows are used as given; callers normalise)."""
        self.bank = codes.detach().clone().to(self.bank.device)

    @property
    def effective_k(self) -> int:
        return max(1, min(self.k, int(self.bank.shape[0])))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        return angle_scores(codes, self.bank, self.effective_k)


class MemoryNet(nn.Module):
    """An autoencoder and a bank of normal codes (MemDAE, RLAD)."""

    def __init__(self, ae: nn.Module, bank: AngleBank):
        super().__init__()
        self.ae = ae
        self.bank = bank
