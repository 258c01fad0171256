"""Memory-bank scoring of MemDAE and RLAD: the mean of the K smallest angles to a bank of normal codes.

``d_ij = arccos(clamp(code_i . bank_j, -1, 1)) / pi`` in [0, 1] for L2-normalised codes; the score of sample i
is the mean of its K smallest ``d_ij``. The bank holds one row per training image, so a training image's own
score leaves its row out (:func:`held_out_angle_scores`): the training scores, and the threshold taken from them,
are leave-one-out (was: each found itself at angle ~0, and the threshold flagged 2-5x the contamination of
unseen normal images). The clamp fixes the reference's NaN at dot products that round past
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


def angles(codes: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
    """Normalised angles ``(n, m)`` in [0, 1] between each code ``(n, d)`` and each bank row ``(m, d)``."""
    a = F.normalize(codes.double(), dim=1)
    b = F.normalize(bank.double(), dim=1)
    u = torch.clamp((1.0 - a @ b.t()).to(codes.dtype), 0.0, 2.0)  # 1 - clamp(dot, -1, 1)
    return (2.0 / math.pi) * torch.asin(torch.sqrt(0.5 * u))


def angle_scores(codes: torch.Tensor, bank: torch.Tensor, k: int) -> torch.Tensor:
    """Mean of the `k` smallest normalised angles between each code ``(n, d)`` and the bank ``(m, d)``."""
    nearest = torch.topk(angles(codes, bank), k, dim=1, largest=False).values
    return nearest.mean(dim=1)


def held_out_angle_scores(codes: torch.Tensor, bank: torch.Tensor, k: int, rows: int = 1024) -> torch.Tensor:
    """:func:`angle_scores` of the training codes ``(m, d)`` whose own entries are the bank's rows ``(m, d)``
    (code i is row i), each scored against the bank without its own row: the mean of its `k` smallest angles
    to the m - 1 others (k capped at m - 1; a bank of one row keeps its own). These are the training scores the
    threshold is taken from: scored against the whole bank every training image finds itself at angle ~0 (k=1:
    every training score ~1e-8, every unseen normal image above the threshold), so the contamination
    threshold came out far too low (MemDAE, contamination 0.1: 48% of the test normals flagged). Computed
    `rows` codes at a time; new images are still scored against the whole bank (:func:`angle_scores`)."""
    m = int(bank.shape[0])
    if m < 2:
        return angle_scores(codes, bank, 1)
    k = max(1, min(int(k), m - 1))
    out = []
    for start in range(0, int(codes.shape[0]), rows):
        block = angles(codes[start:start + rows], bank)
        own = torch.arange(start, start + block.shape[0], device=block.device)
        block[torch.arange(block.shape[0], device=block.device), own] = math.inf  # its own entry left out
        out.append(torch.topk(block, k, dim=1, largest=False).values.mean(dim=1))
    return torch.cat(out)


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
