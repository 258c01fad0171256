"""Settings typed on the command line that torch cannot take: one ConfigError naming the key (was a traceback)."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.errors import ConfigError

BIG = 10**19  # past torch's int64 sizes


def test_a_weight_decay_beyond_float32_is_refused_naming_it():
    """``--set weight_decay=1e308`` was torch's "value cannot be converted to type float without overflow"."""
    with pytest.raises(ConfigError, match=r"autoencoder: weight_decay: .*beyond float32's range"):
        had.get_detector("autoencoder", weight_decay=1e308)


@pytest.mark.parametrize("settings, named", [({"latent": 10**30}, f"latent={10**30}"),
                                             ({"hidden": [BIG]}, rf"hidden=\[{BIG}\]")])
def test_sizes_past_int64_are_a_config_error_naming_them(settings, named):
    """``latent=10**30`` was "TypeError: empty(): ... Overflow when unpacking long long" from the build."""
    X = np.random.default_rng(0).normal(size=(40, 4))
    with pytest.raises(ConfigError, match=rf"autoencoder: the network's sizes \({named}\) .*lower it \(--set\)"):
        had.get_detector("autoencoder", epochs=1, device="cpu", **settings).fit(X)
