"""Settings typed on the command line: bounds that name the key, where a value was a traceback or an error that
blamed the scene."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.errors import ConfigError

BIG = 10**19  # past torch's int64 sizes


@pytest.mark.parametrize("settings, said", [
    ({"epochs": 1e308}, r"epochs: .*beyond float32's range"),  # was OverflowError from total_steps
    ({"weight_decay": 1e308}, r"weight_decay: .*beyond float32's range"),  # was torch's overflow traceback
    ({"init_gain": 1e308}, r"init_gain: Input should be less than or equal to 1"),  # was "... check the scene"
    ({"init_gain": 1e9}, r"init_gain: Input should be less than or equal to 1"),
    ({"patch": 183}, r"patch: Input should be less than or equal to 181"),  # was torch's "index -32309 ..."
    ({"n_blocks": 2**63}, r"n_blocks: Input should be less than or equal to 1000"),  # was a build that never ended
    ({"patch": int("5" * 40)}, r"patch: Input should be less than or equal to 181"),  # was numpy's pad_width error
])
def test_settings_out_of_range_are_refused_naming_them(settings, said):
    with pytest.raises(ConfigError, match=rf"invalid config for detector bs3lnet: {said}"):
        had.get_detector("bs3lnet", **settings)


def test_settings_in_range_are_kept():
    config = had.get_detector("bs3lnet", init_gain=1.0, patch=181, epochs=3e38).config
    assert (config.init_gain, config.patch, config.epochs) == (1.0, 181, 3e38)


def test_channels_past_int64_are_a_config_error_naming_them():
    """``--set channels=10**19`` was "TypeError: empty(): ... Overflow when unpacking long long" from the build."""
    X = np.random.default_rng(0).uniform(size=(8, 8, 4)).astype(np.float32)
    with pytest.raises(ConfigError, match=rf"bs3lnet: the network's sizes \(channels={BIG}\) .*lower it \(--set\)"):
        had.get_detector("bs3lnet", epochs=1, patch=5, window=3, device="cpu", channels=BIG).fit(X)
