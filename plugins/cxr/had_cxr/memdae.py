"""MemDAE (CXR benchmark, formerly EDFAD): an autoencoder with an L2-normalised code; the score is the mean
angle to the K nearest codes of the normal training images.

Training: L1 reconstruction only (the reference's ``w_rec = 1``), Adam. After training, the bank is
**recomputed** in eval mode over every training image (as the reference's test does), stored in the state and
exported as a constant. Training scores (and the threshold) are leave-one-out: each training image against the
bank without its own code (which it would find at angle ~0). Model selection: the epoch with the lowest
reconstruction loss on a held-out share of the *normal training* images (``validation_fraction``), never on
test data (the reference used the test loss).
"""

from __future__ import annotations

import torch.nn.functional as F
from pydantic import Field

from had.capabilities import Capabilities
from had_sdk import TorchDetector

from .common import ONNX_DYNAMO, BankMixin, CXRLoopConfig, UnitRangeImages


class MemDAEConfig(CXRLoopConfig):
    k: int = Field(10, ge=1, description="nearest bank codes averaged (reference default 100; released models k=10)")
    validation_fraction: float = Field(0.1, ge=0.0, lt=0.5, description="share of the normal training images held "
                                       "out; the epoch with the lowest held-out L1 is kept (0: last epoch)")
    patience: int = Field(1000, ge=1, description="epochs without held-out improvement before stopping")


class MemDAE(UnitRangeImages, BankMixin, TorchDetector):
    name = "memdae"
    Config = MemDAEConfig
    kinds = ("image",)
    onnx_unsupported = None
    capabilities = Capabilities(onnx_dynamo=ONNX_DYNAMO, held_out_training_scores=True)  # leave-one-out
    onnx_rtol = 2e-4  # a training image's nearest angle is ~0 (itself): float32 rounding is relatively larger

    def loss(self, batch):
        _, rec = self.network_.ae(batch)
        return F.l1_loss(rec, batch)

    def on_fit_end(self, X):
        """Fill the bank with the eval codes of every training image; the training scores are leave-one-out
        (:meth:`~had_cxr.common.BankMixin.held_out_scores`; was: None, the base scored each image against the
        whole bank, itself included, and the threshold came out far too low)."""
        bank = self.network_.bank
        codes = self.codes(X)
        bank.set(codes)
        self.note_k_cap()  # was capped without a word: every score the mean angle over the whole bank
        return self.held_out_scores(X, codes)
