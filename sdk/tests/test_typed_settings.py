"""Settings typed on the command line (``had fit DET DATA --set KEY=VALUE``) that torch cannot take: one ConfigError
naming the key, not a torch traceback or an error blaming lr."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest
from pydantic import Field
from torch import nn

from had.config import build_config
from had.errors import ConfigError
from had_sdk.torch_detector import FLOAT32_MAX, TorchDetectorConfig
from had_sdk.training import total_steps

from sdk_toys import TinyAE, TinyConfig


@pytest.fixture
def rows():
    return np.random.default_rng(0).normal(size=(40, 5))


class _Floats(TorchDetectorConfig):
    gain: float = Field(1.0, ge=0.0)
    rate: float = Field(1.0, gt=0.0)
    step: float | None = Field(None, gt=0.0)
    gains: list[float] = Field(default_factory=list)
    maybe: float | None = None
    fill: float | Literal["nan"] | None = None  # a fill value, not the network's: left alone
    rule: float | str | None = None


@pytest.mark.parametrize("field, value", [("weight_decay", 1e308), ("lr", 1e308), ("gain", 3.5e38),
                                          ("gains", [1.0, 1e300]), ("maybe", -1e39)])
def test_a_float_beyond_float32_is_refused_naming_its_key(field, value):
    """``weight_decay=1e308`` was torch's "value cannot be converted to type float without overflow" traceback at
    the first step (every torch detector); now the config refuses it, naming the key."""
    with pytest.raises(ConfigError, match=rf"invalid config for detector toy: {field}: .*beyond float32's range"):
        build_config(_Floats, "detector toy", {field: value})
    with pytest.raises(ConfigError, match=rf"invalid config for detector tiny-ae: weight_decay: .*float32"):
        TinyAE(weight_decay=1e308)


@pytest.mark.parametrize("field, value", [("lr", 1e-50), ("rate", 7e-46), ("step", 2.0 ** -150)])
def test_a_float_that_must_be_above_zero_and_float32_rounds_to_zero_is_refused_naming_its_key(field, value):
    """``lr=1e-50`` passed ``gt=0`` and trained nothing (Adam's step is 0 in float32), without a word."""
    with pytest.raises(ConfigError, match=rf"invalid config for detector toy: {field}: .*rounds to 0 in float32"):
        build_config(_Floats, "detector toy", {field: value})
    with pytest.raises(ConfigError, match=r"invalid config for detector tiny-ae: lr: .*rounds to 0 in float32"):
        TinyAE(lr=1e-50)


def test_a_float_that_may_be_zero_is_taken_when_float32_rounds_it_to_zero():
    """A weight decay of 1e-50 trains as 0 does, which the field allows: taken, so that a model saved with one
    (before the rule above) still loads (review)."""
    config = build_config(_Floats, "detector toy", {"weight_decay": 1e-50, "gain": 1e-300, "gains": [-1e-46],
                                                    "maybe": 2.0 ** -150})
    assert config.weight_decay == 1e-50 and config.gain == 1e-300 and config.gains == [-1e-46]
    assert TinyAE(weight_decay=1e-50).config.weight_decay == 1e-50


def test_floats_within_float32_and_non_network_numbers_are_kept():
    config = _Floats(gain=FLOAT32_MAX, gains=[-FLOAT32_MAX, 0.0], maybe=None, fill=-1.7e308, rule=1e300)
    assert config.gain == FLOAT32_MAX and config.fill == -1.7e308 and config.rule == 1e300
    tiny = _Floats(gain=0.0, gains=[2.0 ** -149, -1e-45], maybe=-0.0, fill=1e-300, rule=1e-300)  # float32 holds them
    assert tiny.gains == [2.0 ** -149, -1e-45] and tiny.fill == 1e-300 and tiny.rule == 1e-300
    assert TinyAE(lr=1e-45).config.lr == 1e-45
    assert TinyAE(weight_decay=3e38).config.weight_decay == 3e38  # Adam divides its L2 gradient by its own scale


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_a_decay_of_a_whole_weight_per_step_is_refused_with_adamw_and_sgd(optimizer):
    """``weight_decay=1e10 optimizer=adamw`` ended in "training loss became nan ...; lower `lr`"."""
    with pytest.raises(ConfigError, match=r"weight_decay=1e\+10 with lr=0.001 .* below 1/lr = 1e\+03"):
        TinyAE(optimizer=optimizer, weight_decay=1e10)
    assert TinyAE(optimizer=optimizer, weight_decay=999.0).config.weight_decay == 999.0
    assert TinyAE(optimizer="adam", weight_decay=1e10).config.weight_decay == 1e10


class _WideConfig(TinyConfig):
    width: int = Field(3, ge=1)
    widths: list[int] = Field(default_factory=lambda: [4])


class _Wide(TinyAE):
    name = "tiny-wide"
    Config = _WideConfig

    def build_network(self, spec):
        d, cfg = spec["n_features"], self.config
        sizes = [d, *cfg.widths, cfg.width]
        layers = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
        return nn.Sequential(*layers, nn.Linear(cfg.width, d))


@pytest.mark.parametrize("settings, named", [({"width": 10**19}, "width=10000000000000000000"),
                                             ({"width": 10**30}, "width=10**30"),
                                             ({"widths": [8, 2**62]}, r"widths=\[8, 4611686018427387904\]"),
                                             ({"width": 2**62, "epochs": 2**40}, "width=4611686018427387904")])
def test_network_sizes_past_torchs_int64_are_a_config_error_naming_them(rows, settings, named):
    """``rep_dim=10**19`` was 75 lines of C++ frames from the network's build (the memory check skipped a network
    that could not be built on the meta device), where 1e9 got the memory check's one line."""
    named = named.replace("10**30", str(10**30))
    with pytest.raises(ConfigError, match=rf"invalid config for detector tiny-wide: the network's sizes \({named}\) "
                                          r"make a tensor of more than 2\*\*63 - 1 .*; lower it \(--set\)$"):
        _Wide(device="cpu", **settings).fit(rows)


def test_a_wide_network_that_torch_can_size_still_gets_the_memory_check(rows):
    with pytest.raises(MemoryError, match="tiny-wide: the network has"):
        _Wide(device="cpu", width=2**40).fit(rows)


def test_total_steps_past_float64_name_epochs():
    """bs3lnet's float ``epochs=1e308`` was an OverflowError from ``round`` (now also refused by its config)."""
    with pytest.raises(ConfigError, match=r"epochs=1e\+308 of 3 step\(s\) each .*; give fewer epochs"):
        total_steps(1e308, 3)
    assert total_steps(0.01, 3) == 1 and total_steps(2.5, 4) == 10
    assert total_steps(10**310, 3) == 3 * 10**310  # whole epochs: exact (a review: math.isfinite overflowed)
