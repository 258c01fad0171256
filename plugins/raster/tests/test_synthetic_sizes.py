"""``synthetic-geochem`` asked for more anomalies than fit (each is a pass over the raster: 1e9 was a hang) or a
raster larger than the memory: refused at once."""

from __future__ import annotations

import pytest

import had
from had import memory
from had.errors import ConfigError


def test_more_anomalies_than_fit_is_a_config_error():
    with pytest.raises(ConfigError, match=r"n_anomalies=1000000000 separate anomalies of radius 4 do not fit in a "
                                          r"512x512 raster \(at most 2607, half of its area\)"):
        had.load_dataset("synthetic-geochem", n_anomalies=10**9)


def test_a_raster_larger_than_the_memory_is_refused_before_it_is_made(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 2**30)
    with pytest.raises(MemoryError, match=r"a 4000x4000x10 synthetic raster needs [\d,.]+ GiB and 1.0 GiB"):
        had.load_dataset("synthetic-geochem", height=4000, width=4000)
