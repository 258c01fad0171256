"""RLAD (CXR benchmark): the MemDAE autoencoder plus instance discrimination with anchor neighbourhoods.

Non-parametric classifier (Wu et al., 2018): a memory ``M`` (one unit row per training image, initialised
U(-s, s), s = 1/sqrt(rep_dim/3)); logits ``code . M^T / T``; softmax over all training images. Loss per batch
(Huang et al., 2019, anchor neighbourhoods): ``-log p_ii`` for an instance sample, ``-log(p_ii + sum_{j in N(i)}
p_ij)`` for an anchor, mean over the batch; total ``w_contrast * that + w_rec * L1(x_hat, x)``. After each step
the batch's rows are updated, ``m_i <- normalise(momentum * m_i + (1 - momentum) * code_i)`` (M is not learned).

Rounds r = 0 .. n_rounds of ``epochs`` each. At round r >= 1, the entropy of ``softmax(m_i . M^T / T)`` ranks the
rows; the ``int(N * ans_select_rate * r)`` lowest-entropy rows become anchors, each with its ``ans_size``
nearest rows by dot product (itself excluded) as neighbourhood.

Score: as MemDAE, the mean angle to the K nearest rows of the memory ``M`` (not recomputed features; all
training images are normal under the one-class protocol). Row i of ``M`` is training image i's (its
momentum-averaged code), so training scores (and the threshold) are leave-one-out: each training image against
``M`` without its own row (:meth:`~had_cxr.common.BankMixin.held_out_scores`; was: with it, so its nearest
angle was ~0 and the threshold too low). Model selection: none inside fit (the final round;
the reference kept the epoch with the best *test* AUC); a benchmark may choose K on validation data
(:meth:`set_k`).
"""

from __future__ import annotations

import math
import torch
import torch.nn.functional as F
from pydantic import Field

from had.capabilities import Capabilities
from had_sdk.torch_detector import TorchDetector
from had_sdk.training import Batches, Phase

from .common import ONNX_DYNAMO, BankMixin, CXROptimizerConfig, UnitRangeImages


class RLADConfig(CXROptimizerConfig):
    epochs: int = Field(50, ge=1, description="epochs per round (reference: 50)")
    k: int = Field(100, ge=1, description="nearest memory rows averaged in the score (reference: 100)")
    temperature: float = Field(0.1, gt=0.0, description="NPC temperature T (reference CLI: 0.1)")
    momentum: float = Field(0.5, ge=0.0, lt=1.0, description="memory update momentum (reference: 0.5)")
    ans_select_rate: float = Field(0.1, gt=0.0, le=1.0, description="share of anchors added per round")
    ans_size: int = Field(10, ge=1, description="neighbours per anchor")
    n_rounds: int | None = Field(None, ge=0, description="rounds after round 0; None: round(1/ans_select_rate)")
    w_contrast: float = Field(1.0, ge=0.0, description="instance discrimination weight (README models: 0.25)")
    w_rec: float = Field(1.0, ge=0.0, description="L1 reconstruction weight (README models: 1 or 0)")


def neighbourhoods(memory: torch.Tensor, temperature: float, n_anchors: int, size: int):
    """(anchor indices, their `size` nearest rows) by lowest softmax entropy of ``memory @ memory.T / T``."""
    sims = memory @ memory.t()
    p = torch.softmax(sims / temperature, dim=1)
    entropy = -(p * torch.log(p.clamp_min(1e-30))).sum(dim=1)
    anchors = torch.argsort(entropy)[:n_anchors]
    sims_a = sims[anchors].clone()
    sims_a[torch.arange(anchors.numel()), anchors] = -math.inf
    size = min(size, memory.shape[0] - 1)
    return anchors, torch.topk(sims_a, size, dim=1).indices


class RLAD(UnitRangeImages, BankMixin, TorchDetector):
    name = "rlad"
    Config = RLADConfig
    #: fields of models saved before 1 December 2026 (9646ca8), which only shaped training
    removed_fields = frozenset({"validation_fraction", "patience"})
    kinds = ("image",)
    onnx_unsupported = None
    capabilities = Capabilities(onnx_dynamo=ONNX_DYNAMO, held_out_training_scores=True)  # leave-one-out

    def _batch_loss(self, x, idx, anchor_of, neigh):
        cfg = self.config
        memory = self.network_.bank.bank
        code, rec = self.network_.ae(x)
        p = torch.softmax(code @ memory.t() / cfg.temperature, dim=1)
        rows = torch.arange(x.shape[0])
        target = p[rows, idx]
        slot = anchor_of[idx]
        is_anchor = slot >= 0
        if bool(is_anchor.any()):
            hood = p.gather(1, neigh[slot.clamp_min(0)]).sum(dim=1)
            target = target + torch.where(is_anchor, hood, torch.zeros_like(hood))
        contrast = -torch.log(target.clamp_min(1e-30)).mean()
        return cfg.w_contrast * contrast + cfg.w_rec * F.l1_loss(rec, x), code

    def training_phases(self, data):
        """Rounds r = 0 .. n_rounds, one phase each, sharing one optimiser and one shuffle generator."""
        cfg = self.config
        train = data.x
        n, dim = train.shape[0], cfg.rep_dim
        generator = torch.Generator().manual_seed(cfg.seed)
        s = 1.0 / math.sqrt(dim / 3.0)
        self.network_.bank.set((torch.rand(n, dim, generator=generator) * 2 * s - s).to(train.device))
        optimizer = self.configure_optimizers()
        batches = Batches(n, cfg.batch_size, generator)
        rounds = cfg.n_rounds if cfg.n_rounds is not None else int(round(1.0 / cfg.ans_select_rate))
        if rounds >= 1 and cfg.ans_size > n - 1:  # neighbourhoods() takes the other rows at most: was unsaid
            self.add_fit_note(f"ans_size={cfg.ans_size} is above the {n - 1} other training images: each anchor's "
                              f"neighbourhood is all {n - 1} (ans_size={n - 1} in effect)")
        self.history_.update(n_anchors=[], best_epoch=None)
        self._anchor_of = torch.full((n,), -1, dtype=torch.long, device=train.device)
        self._neigh = torch.zeros((0, 1), dtype=torch.long, device=train.device)
        for r in range(rounds + 1):
            if r >= 1:
                n_anchors = min(n, int(n * cfg.ans_select_rate * r))
                with torch.no_grad():
                    anchors, self._neigh = neighbourhoods(self.network_.bank.bank, cfg.temperature, n_anchors,
                                                          cfg.ans_size)
                self._anchor_of = torch.full((n,), -1, dtype=torch.long, device=train.device)
                self._anchor_of[anchors] = torch.arange(anchors.numel(), device=train.device)
            self.history_["n_anchors"].append(int((self._anchor_of >= 0).sum()))
            yield Phase(f"round {r}", self.training_step, batches, cfg.epochs, optimizer, data=train)
        del self._anchor_of, self._neigh

    def training_step(self, batch):
        """The loss, one update, then the batch's memory rows move towards their new codes."""
        momentum = self.config.momentum
        idx = batch.idx.to(batch.x.device)
        loss, code = self._batch_loss(batch.x, idx, self._anchor_of, self._neigh)
        batch.update(loss)
        with torch.no_grad():
            memory = self.network_.bank.bank
            memory[idx] = F.normalize(momentum * memory[idx] + (1 - momentum) * code.detach(), dim=1)
        return {"train_loss": loss}
