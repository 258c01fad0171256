"""A network too large for the machine is refused before it is allocated: ``--set hidden=1000000000`` (a typo of
1000) was an allocation of 24 GB that the kernel granted on this 23 GB machine, then the process was ended by the
out-of-memory killer without a word (found by fitting every detector with each number field at 0, -1 and 1e9)."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had import memory


@pytest.mark.parametrize("name,setting", [("lren-reference", {"hidden": 10**9}), ("deepsvdd", {"hidden": [10**9]}),
                                          ("autoencoder", {"hidden": [10**9]}), ("bs3lnet", {"channels": 10**5}),
                                          ("pyod-autoencoder", {"hidden": [10**9]}),
                                          ("pyod-deepsvdd", {"hidden": [10**9, 64]})])
def test_a_network_larger_than_the_memory_is_refused_before_it_is_built(name, setting, monkeypatch):
    pytest.importorskip("torch")
    try:
        det = had.get_detector(name, **setting)
    except had.errors.UnknownNameError:
        pytest.skip(f"{name} is not installed")
    monkeypatch.setattr(memory, "available_memory", lambda: 8 * 2**30)  # the same answer on any machine
    X = np.random.default_rng(0).random((12, 10, 6)).astype(np.float32)
    with pytest.raises(MemoryError, match=rf"{name}: the network has [\d,]+ parameters, [\d,.]+ GiB to train \(4 "
                                          r"copies: weights, gradients, optimiser moments\), more than the 8.0 GiB"):
        det.fit(X)


def test_the_bound_is_not_in_the_way_of_a_network_that_fits(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 8 * 2**30)
    memory.check_training_fits("x", 500_000_000)  # 500 M float32 parameters x 4 copies = 7.45 GiB
    with pytest.raises(MemoryError):
        memory.check_training_fits("x", 600_000_000)
    monkeypatch.setattr(memory, "available_memory", lambda: None)  # not told (not Linux): not checked
    memory.check_training_fits("x", 10**15)
