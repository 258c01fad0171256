"""Synthetic data asked for beyond what fits is refused at once: ``n_targets=1e9`` tried 200 placements per target
(a hang), a scene or table larger than the memory was an allocation the kernel could grant and then end with the
out-of-memory killer."""

from __future__ import annotations

import pytest

import had
from had import memory
from had.errors import ConfigError


def test_more_targets_than_fit_is_a_config_error():
    with pytest.raises(ConfigError, match=r"n_targets \(1000000000\) separate targets do not fit in a 64x64 scene "
                                          r"\(at most 841\)"):
        had.load_dataset("synthetic-scene", n_targets=10**9)
    assert had.load_dataset("synthetic-scene", n_targets=40).y.sum() >= 40  # a crowded scene still places them


@pytest.mark.parametrize("name,setting", [("synthetic-scene", {"height": 4000, "width": 4000}),
                                          ("synthetic-table", {"n_features": 3000})])
def test_data_larger_than_the_memory_is_refused_before_it_is_made(name, setting, monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 2 * 2**30)
    with pytest.raises(MemoryError, match=r"needs [\d,.]+ GiB and 2.0 GiB are available; ask for "):
        had.load_dataset(name, **setting)
    had.load_dataset(name)  # the defaults fit
