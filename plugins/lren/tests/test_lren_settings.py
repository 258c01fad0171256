"""Settings typed on the command line: bounds that name the key, where a value was a torch traceback or an error
blaming lr ("the network's training diverged; lower lr")."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.errors import ConfigError

from lren_testdata import TINY

BIG = 10**19  # past torch's int64 sizes


@pytest.mark.parametrize("detector", ["lren", "lren-reference"])
@pytest.mark.parametrize("settings, said", [
    ({"lrr_lambda": 1e308}, r"lrr_lambda: Input should be less than or equal to"),  # was torch's overflow
    ({"lrr_lambda": 1e13}, r"lrr_lambda: Input should be less than or equal to"),
    ({"lrr_mu": 1e-320}, r"lrr_mu: Input should be greater than or equal to"),  # was "... diverged; lower lr"
    ({"lrr_mu": 1e308}, r"lrr_mu: Input should be less than or equal to"),
    ({"lrr_mu_max": 1e-320}, r"lrr_mu_max: Input should be greater than or equal to"),
    ({"lrr_mu_max": 1e21}, r"lrr_mu_max: Input should be less than or equal to"),
    ({"lrr_mu": 1e11}, r"lrr_mu=1e\+11 is above lrr_mu_max=1e\+10: .*lower lrr_mu or raise lrr_mu_max"),
])
def test_lrr_settings_out_of_range_are_refused_naming_them(detector, settings, said):
    with pytest.raises(ConfigError, match=rf"invalid config for detector {detector}: .*{said}"):
        had.get_detector(detector, **settings)


def test_lrr_settings_in_range_are_kept():
    kept = {"lrr_lambda": 1e12, "lrr_mu": 1e-12, "lrr_mu_max": 1e20}
    config = had.get_detector("lren", **kept).config
    assert (config.lrr_lambda, config.lrr_mu, config.lrr_mu_max) == (1e12, 1e-12, 1e20)
    config = had.get_detector("lren-reference", lrr_mu=1e12, lrr_mu_max=1e12).config
    assert (config.lrr_mu, config.lrr_mu_max) == (1e12, 1e12)


@pytest.mark.parametrize("field", ["hidden", "latent", "est_hidden", "clusters"])
def test_sizes_past_int64_are_a_config_error_naming_them(field):
    """``--set hidden=10**19`` was "TypeError: empty(): ... Overflow when unpacking long long" from the build."""
    X = np.random.default_rng(0).uniform(size=(6, 6, 5))
    with pytest.raises(ConfigError, match=rf"lren: the network's sizes \({field}={BIG}\) .*lower it \(--set\)"):
        had.get_detector("lren", {**TINY, "epochs": 1, field: BIG}).fit(X)
