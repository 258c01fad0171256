"""`deepsvdd`'s training recipe: which values the fields left at ``None`` take, by the input's shape.

* ``recipe="reference"``, and under ``"auto"`` images and cube pixels: :data:`REFERENCE`, the reference's
  command-line defaults (lukasruff/Deep-SAD-PyTorch ``src/main.py``).
* ``recipe="auto"`` on rows (2-D input, kind ``"tabular"``) with the one-class objective: :data:`TABULAR`, the
  setting chosen in six rounds, each by a rule fixed before its runs (unsupervised fits, 5 seeds; the last on the
  16 tables whose labels the project has seen: seven ODDS, three from scikit-learn's bundled data, six from MNIST and
  PneumoniaMNIST images) and reported on tables the project had never run:
  ``benchmarks/results/deepsad/deepsvdd_tabular_choice.md``.

A field set explicitly in the config always wins over the recipe (the recipe's snapshot epochs keep only those
below the epochs trained: ``epochs=1`` on rows trains one epoch, without a snapshot). Soft-boundary Deep SVDD
keeps the reference's values (its radius waits ``warm_up_epochs`` = 10 epochs; the choice covered the one-class
objective only). ``deepsad`` has no recipe: with known labels the reference's setting is what the benchmarks
support.
"""

from __future__ import annotations

import copy
from typing import Any

#: the reference's command-line defaults for the fields a recipe fills (one fit, no input scaling: the papers')
REFERENCE: dict[str, Any] = {"epochs": 50, "ae_epochs": 100, "restarts": 1, "scaling": "none", "snapshot_epochs": []}
#: the tabular setting chosen in deepsvdd_tabular_choice.md's third round: the reference's 100-epoch autoencoder
#: pretraining, the centre from the pretrained encoder, 50 epochs of Deep SVDD training (lr 1e-3) with the encoder
#: after epoch 1 kept beside the final one (their distances, each divided by its training IQR, averaged: a hedge
#: over the training length), and 8 such fits (derived seeds) averaged (3 in the third round; 8 since the fourth,
#: chosen for a smaller seed spread); since the fifth round the input is whitened inside the model, each principal
#: direction divided by the square root of its variance plus the mean variance (``scaling="whiten"`` with the
#: config's ``shrinkage`` 1, had_deepsad.whitening), chosen on 15 seen tables; since the sixth round (16 tables,
#: shuttle included) the range comes from the 0.5 % and 99.5 % quantiles (the config's ``whiten_tail`` 0.005)
TABULAR: dict[str, Any] = {"epochs": 50, "ae_epochs": 100, "restarts": 8, "scaling": "whiten", "snapshot_epochs": [1]}
FIELDS = tuple(REFERENCE)


def recipe_fields(kind: str, recipe: str = "auto", objective: str = "one-class") -> dict[str, Any]:
    """The recipe's values for an input of `kind` ("tabular", "cube" or "image") and a Deep SVDD objective."""
    tabular = recipe == "auto" and kind == "tabular" and objective == "one-class"
    return copy.deepcopy(TABULAR if tabular else REFERENCE)


def resolved(config: Any, kind: str) -> dict[str, Any]:
    """The values training uses for the :data:`FIELDS` that `config` has: the config's where set, else the
    recipe's (a config without ``recipe``, e.g. ``deepsad``'s, always sets them)."""
    recipe = recipe_fields(kind, getattr(config, "recipe", "reference"), getattr(config, "objective", "one-class"))
    names = [name for name in FIELDS if name in type(config).model_fields]
    fields = {name: (getattr(config, name) if getattr(config, name) is not None else recipe[name]) for name in names}
    if "snapshot_epochs" in names and config.snapshot_epochs is None:  # the recipe's snapshots within the epochs run
        fields["snapshot_epochs"] = [e for e in fields["snapshot_epochs"] if e < fields["epochs"]]
    return fields
