"""Layer widths and learning-rate milestones are positive: ``--set hidden=[-3]`` was torch's RuntimeError
("Trying to create tensor with negative dimension"), ``hidden=[0]`` a network with a layer of no units that
trained and saved without a word, ``lr_milestones=[-1]`` a schedule that never fired."""

from __future__ import annotations

import pytest

import had
from had.errors import ConfigError, UnknownNameError

CASES = [("autoencoder", "hidden"), ("deepsvdd", "hidden"), ("deepsad", "hidden"), ("semidgm", "hidden"),
         ("deepsvdd", "lr_milestones"), ("deepsvdd", "ae_lr_milestones"), ("geohgan", "hidden_widths"),
         ("pyod-autoencoder", "hidden"), ("pyod-deepsvdd", "hidden"), ("hybrid-ocsvm", "hidden"),
         ("hybrid-ocsvm", "ae_lr_milestones")]


@pytest.mark.parametrize("name,field", CASES)
@pytest.mark.parametrize("value", [[0], [-3], [16, 0]])
def test_widths_and_milestones_must_be_positive(name, field, value):
    try:
        fields = had.plugins.entry("detector", name).load().Config.model_fields
    except UnknownNameError:
        pytest.skip(f"{name} is not installed")
    assert field in fields
    with pytest.raises(ConfigError, match=rf"{field}\.\d: Input should be greater than 0"):
        had.get_detector(name, **{field: value})
