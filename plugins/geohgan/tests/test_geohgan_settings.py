"""Sizes typed on the command line past torch's int64 sizes: one ConfigError naming the key (was a traceback)."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.errors import ConfigError

BIG = 10**19
TINY = {"epochs": 1, "encoder_epochs": 1, "first_width": 32, "hidden_widths": [16], "latent_dim": 8,
        "batch_size": 16, "n_critic": 1, "device": "cpu", "progress": False}


@pytest.mark.parametrize("settings, named", [({"latent_dim": BIG}, f"latent_dim={BIG}"),
                                             ({"first_width": BIG}, f"first_width={BIG}"),
                                             ({"hidden_widths": [BIG]}, rf"hidden_widths=\[{BIG}\]")])
def test_sizes_past_int64_are_a_config_error_naming_them(settings, named):
    """``--set latent_dim=10**19`` was "TypeError: empty(): ... Overflow when unpacking long long"."""
    X = np.random.default_rng(0).uniform(1, 2, size=(16, 3, 8, 8)).astype(np.float32)
    with pytest.raises(ConfigError, match=rf"geohgan: the network's sizes \({named}\) .*lower it \(--set\)"):
        had.get_detector("geohgan", {**TINY, **settings}).fit(X)
