"""Settings typed on the command line that torch cannot take: one ConfigError naming the key (was a traceback)."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.errors import ConfigError

BIG = 10**19  # past torch's int64 sizes


@pytest.mark.parametrize("detector, field", [("deepsvdd", "ae_weight_decay"), ("deepsad", "ae_weight_decay"),
                                             ("deepsad", "weight_decay"), ("deepsad-ae", "weight_decay"),
                                             ("semidgm", "vae_weight_decay")])
def test_a_decay_beyond_float32_is_refused_naming_it(detector, field):
    """``--set ae_weight_decay=1e308`` was torch's "value cannot be converted to type float without overflow"."""
    with pytest.raises(ConfigError, match=rf"{detector}: {field}: .*beyond float32's range"):
        had.get_detector(detector, **{field: 1e308})


@pytest.mark.parametrize("detector, settings, named", [
    ("deepsvdd", {"rep_dim": BIG}, f"rep_dim={BIG}"),
    ("deepsvdd", {"rep_dim": 2**62}, f"rep_dim={2**62}"),  # builds no tensor either: its bytes overflow
    ("deepsad", {"hidden": [BIG]}, rf"hidden=\[{BIG}\]"),
    ("deepsad-ae", {"rep_dim": BIG}, f"rep_dim={BIG}"),
    ("semidgm", {"z_dim": BIG}, f"z_dim={BIG}"),
])
def test_sizes_past_int64_are_a_config_error_naming_them(detector, settings, named):
    """``rep_dim=10**19`` was 75 lines of C++ frames from the network's build, where 1e9 got the memory check."""
    X = np.random.default_rng(0).uniform(size=(40, 4))
    fast = {"epochs": 1, "device": "cpu", "batch_size": 16}
    fast.update({"ae_epochs": 1} if detector in ("deepsvdd", "deepsad") else {})
    with pytest.raises(ConfigError, match=rf"{detector}: the network's sizes \({named}\) .*lower it \(--set\)"):
        had.get_detector(detector, **fast, **settings).fit(X)
