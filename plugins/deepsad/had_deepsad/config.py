"""Validated configs of the plugin's detectors; defaults are the reference's command-line defaults.

The reference (lukasruff/Deep-SAD-PyTorch, ``src/main.py``) defaults to ``lr 1e-3, 50 epochs, no lr milestone,
batch 128, weight decay 1e-6`` and pretrains the autoencoder with ``lr 1e-3, 100 epochs, batch 128, weight decay
1e-6``; ``eta = 1``. These are what its ODDS runs use (the README's only example command is the MNIST one:
``lr 1e-4, 150 epochs, milestone 50, weight decay 0.5e-6; AE lr 1e-4, 150 epochs, weight decay 0.5e-3``), which
is one config away through the fields below.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

from had.pixel_sample import PixelSampleConfig
from had_sdk.restarts import RestartsConfig, restarts_field
from had_sdk.torch_detector import TorchConfig

NetName = Literal["auto", "mlp", "mnist_lenet", "cifar10_lenet"]


class _NetworkFields(TorchConfig, PixelSampleConfig):
    """Network choice and batch size (Adam only and no early stopping, as the reference: the SDK's optimizer,
    validation_fraction and patience fields are not among the fields)."""

    net: NetName = Field(
        "auto",
        description="network: 'auto' picks mnist_lenet for 1x28x28 images, cifar10_lenet for 3x32x32, and an MLP "
                    "for rows/cube pixels (reference sizes for the ODDS dims 274/21/36/9/6; otherwise [128,64]-32 "
                    "when d > 100, [32,16]-4 when d <= 8, [32,16]-8 between); 'mlp', 'mnist_lenet', 'cifar10_lenet'",
    )
    hidden: list[PositiveInt] | None = Field(None, min_length=1,
                                             description="MLP hidden sizes (None: by the auto rule)")
    rep_dim: int | None = Field(None, ge=1, description="MLP representation size (None: by the auto rule)")
    batch_size: int = Field(128, ge=1, description="mini-batch size (the last incomplete batch is dropped)")


class AutoencoderConfig(_NetworkFields):
    """The autoencoder alone (detector ``deepsad-ae``; also the pretraining of Deep SVDD/SAD and the hybrids)."""

    epochs: int = Field(100, ge=1, description="autoencoder epochs")
    lr: float = Field(1e-3, gt=0.0, description="Adam learning rate")
    weight_decay: float = Field(1e-6, ge=0.0, description="Adam weight decay (L2)")
    lr_milestones: list[PositiveInt] = Field(default_factory=list,
                                             description="epochs after which lr is multiplied by 0.1")


class _TwoPhaseConfig(_NetworkFields):
    """Autoencoder pretraining, then the objective around the centre (Deep SVDD and Deep SAD)."""

    epochs: int = Field(50, ge=1, description="Deep SVDD/SAD training epochs")
    lr: float = Field(1e-3, gt=0.0, description="Adam learning rate")
    weight_decay: float = Field(1e-6, ge=0.0, description="Adam weight decay (L2)")
    lr_milestones: list[PositiveInt] = Field(default_factory=list,
                                             description="epochs after which lr is multiplied by 0.1 (modern order)")
    pretrain: bool = Field(True, description="pretrain the encoder as an autoencoder (the centre comes after it)")
    pretrain_transfer: Literal["encoder", "none"] = Field(
        "encoder", description="encoder: the network starts from the pretrained encoder (the papers); none: the "
                               "reference as coded (its weight copy matches no key, Deep-SAD-PyTorch issue 9): "
                               "pretraining runs, but training starts from a random network and c comes from it")
    ae_epochs: int = Field(100, ge=1, description="autoencoder pretraining epochs")
    ae_lr: float = Field(1e-3, gt=0.0, description="autoencoder Adam learning rate")
    ae_weight_decay: float = Field(1e-6, ge=0.0, description="autoencoder Adam weight decay")
    ae_batch_size: int = Field(128, ge=1, description="autoencoder mini-batch size")
    ae_lr_milestones: list[PositiveInt] = Field(default_factory=list, description="autoencoder lr milestones")


class DeepSVDDConfig(_TwoPhaseConfig, RestartsConfig):
    """Deep SVDD: the one-class objective (mean squared distance to c) or the soft-boundary one (radius R, nu).
    ``epochs``, ``ae_epochs``, ``restarts`` and ``scaling`` left at None are set by ``recipe`` from the input's
    shape (:mod:`had_deepsad.recipe`); a fit writes the recipe's ``restarts`` and ``scaling`` into its config."""

    recipe: Literal["auto", "reference"] = Field(
        "auto", description="auto: on rows (2-D input) with the one-class objective the tabular setting chosen on "
                            "16 seen tables (input whitened with shrinkage 1 and a 0.5-99.5 % range, 100 "
                            "pretraining epochs, then 50 epochs with the encoder after epoch 1 kept beside the final "
                            "one, 8 restarts; deepsvdd_tabular_choice.md), otherwise the reference's; "
                            "reference: the reference's command-line defaults (100 + 50 epochs, one fit, no scaling)")
    epochs: int | None = Field(None, ge=1, description="Deep SVDD training epochs (None: by recipe: 50)")
    ae_epochs: int | None = Field(None, ge=1, description="autoencoder pretraining epochs (None: by recipe: 100)")

    objective: Literal["one-class", "soft-boundary"] = Field(
        "one-class", description="one-class: mean ||phi(x) - c||^2; soft-boundary: R^2 + mean max(0, dist - R^2)/nu "
                                 "with R the (1-nu)-quantile of the distances (Ruff et al. 2018)")
    nu: float = Field(0.1, gt=0.0, le=1.0, description="soft-boundary: share of training data allowed outside R")
    warm_up_epochs: int = Field(10, ge=0, description="soft-boundary: epochs before R is first updated (then after "
                                "every batch, as the reference)")
    restarts: int | None = restarts_field(None, "not in the papers; None: by recipe (8 on rows with the one-class "
                                         "objective, otherwise 1)")
    snapshot_epochs: list[int] | None = Field(
        None, description="score also with the network as it was after each of these epochs (each below `epochs`): "
                          "every network's distances divided by the IQR of its training distances, then averaged "
                          "(not in the papers: a hedge over the training length, one-class objective only); []: the "
                          "final network alone. None: by recipe ([1] on rows with the one-class objective, "
                          "otherwise [])")
    scaling: Literal["none", "quantile", "whiten"] | None = Field(
        None, description="input scaling inside the model, fitted on the training rows (not in the papers): none; "
                          "quantile: each feature's empirical CDF (scikit-learn's QuantileTransformer, uniform), for "
                          "heavy-tailed tables; whiten: the rows' principal components divided by their (shrunk) "
                          "standard deviations, then mapped onto [0, 1] (had_deepsad.whitening); rows and cube "
                          "pixels only. None: by recipe ('whiten' on rows with the one-class objective, otherwise "
                          "'none')")
    shrinkage: float = Field(1.0, ge=0.0, description="scaling=whiten: the multiple of the mean variance added to "
                             "every principal direction's variance before dividing (0: full whitening)")
    whiten_tail: float = Field(0.005, ge=0.0, lt=0.5, description="scaling=whiten: the share of the training "
                               "rows' whitened values mapped below 0, and as many above 1 (0: their minimum and "
                               "maximum map to 0 and 1, the fifth round's map)")


class DeepSADConfig(_TwoPhaseConfig):
    """Deep SAD: Deep SVDD plus known normals (pulled in) and known anomalies (pushed out)."""

    eta: float = Field(1.0, gt=0.0, description="weight of the labelled samples' loss terms")


class SemiDGMConfig(TorchConfig, PixelSampleConfig):
    """SemiDGM (Kingma et al. 2014): M2, or M1+M2 with a pretrained VAE; defaults = the Deep SAD reference's."""

    model: Literal["m2", "m1+m2"] = Field("m2", description="m2: the generative semi-supervised model on the "
                                          "input; m1+m2: M2 on the codes of a VAE (M1) trained first")
    hidden: list[PositiveInt] | None = Field(None, min_length=1, description="hidden sizes (None: the reference's, "
                                             "as deepsad's MLP rule; [128, 64] for 1x28x28 images, [512, 256] for "
                                             "3x32x32)")
    z_dim: int | None = Field(None, ge=1, description="latent size (None: the reference's; 32 for 1x28x28 images, "
                              "128 for 3x32x32; the same for M1's code)")
    alpha: float = Field(0.1, ge=0.0, description="weight of the labelled rows' classification loss")
    scaling: Literal["none", "minmax"] = Field(
        "none", description="input scaling inside the model, fitted on the training samples (not in the papers, "
        "whose protocol scales the data before): none; minmax: each feature to [0, 1] by its training range. The "
        "Bernoulli likelihood needs inputs in [0, 1]: with none, training data outside it is refused")
    epochs: int = Field(50, ge=1, description="M2 training epochs")
    batch_size: int = Field(128, ge=1, description="mini-batch size (the last incomplete batch is dropped)")
    lr: float = Field(1e-3, gt=0.0, description="Adam learning rate")
    weight_decay: float = Field(1e-6, ge=0.0, description="Adam weight decay (L2)")
    lr_milestones: list[PositiveInt] = Field(default_factory=list,
                                             description="epochs after which lr is multiplied by 0.1")
    vae_epochs: int = Field(100, ge=1, description="m1+m2: VAE (M1) pretraining epochs")
    vae_lr: float = Field(1e-3, gt=0.0, description="m1+m2: VAE Adam learning rate")
    vae_weight_decay: float = Field(1e-6, ge=0.0, description="m1+m2: VAE Adam weight decay")
    vae_batch_size: int = Field(128, ge=1, description="m1+m2: VAE mini-batch size")
    vae_lr_milestones: list[PositiveInt] = Field(default_factory=list, description="m1+m2: VAE lr milestones")
