"""Fits and the process's global random generators (found by a Python API audit, 5 December 2026): a fit gives
them back as it found them (was: left reseeded), and a seed gives the same scores whatever fits run beside it in
other threads (was: torch fits in threads drew from one stream; and one could leave torch's deterministic mode
switched on for the whole process)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import had
from had import global_rng

torch = pytest.importorskip("torch", reason="the torch detectors need torch")
pytest.importorskip("had_autoencoder", reason="had-plugin-autoencoder is the torch detector fitted here")


@pytest.fixture(scope="module")
def rows():
    return np.random.default_rng(0).normal(size=(300, 6)).astype(np.float32)


def _fit(rows, seed, epochs=2):
    return had.get_detector("autoencoder", seed=seed, epochs=epochs, progress=False).fit(rows).decision_scores_


def test_seeded_gives_the_generators_back():
    np.random.seed(123)
    torch.manual_seed(123)
    expected = (np.random.rand(), float(torch.rand(1)))
    np.random.seed(123)
    torch.manual_seed(123)
    with global_rng.seeded(7):
        inside = (np.random.rand(), float(torch.rand(1)))
    assert (np.random.rand(), float(torch.rand(1))) == expected and inside != expected


def test_a_fit_leaves_the_callers_generators_as_they_were(rows):
    np.random.seed(123)
    torch.manual_seed(123)
    expected = (np.random.rand(), float(torch.rand(1)))
    np.random.seed(123)
    torch.manual_seed(123)
    _fit(rows, seed=7, epochs=1)
    assert (np.random.rand(), float(torch.rand(1))) == expected


def test_a_seed_gives_the_same_scores_beside_fits_in_other_threads(rows):
    alone = _fit(rows, seed=1)
    results: dict[int, np.ndarray] = {}
    before = torch.are_deterministic_algorithms_enabled()

    def fit(seed, epochs):
        results[(seed, epochs)] = _fit(rows, seed=seed, epochs=epochs)

    threads = [threading.Thread(target=fit, args=(1, 2)), threading.Thread(target=fit, args=(2, 3)),
               threading.Thread(target=fit, args=(3, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    np.testing.assert_array_equal(results[(1, 2)], alone)
    assert torch.are_deterministic_algorithms_enabled() == before


def _queued_cuda_seed():
    """The seed torch queued for CUDA's start (this CPU machine's CUDA never starts): the user's, or a fit's."""
    calls = [call for call in torch.cuda._lazy_seed_tracker.get_calls() if call]
    if not calls:
        pytest.skip("this torch keeps no queue of CUDA seeds")
    cells = calls[0][0].__closure__ or ()
    return [cell.cell_contents for cell in cells if isinstance(cell.cell_contents, int)]


def test_a_cpu_fit_leaves_cudas_generators_alone():
    """Was: torch.manual_seed inside a CPU fit replaced the user's CUDA seed (queued until CUDA starts, or at once
    on a GPU machine), and only the CPU generator was given back."""
    if torch.cuda.is_available():
        pytest.skip("the queue of CUDA seeds exists only before CUDA starts")
    torch.cuda.manual_seed_all(123)
    before = _queued_cuda_seed()
    with global_rng.seeded(7):
        pass
    assert _queued_cuda_seed() == before == [123]


def test_pythons_random_and_the_hash_seed_are_given_back():
    """PyOD's deep models seed Python's random and set PYTHONHASHSEED; a fit left both changed."""
    import os
    import random

    random.seed(123)
    expected = random.random()
    random.seed(123)
    before = os.environ.get("PYTHONHASHSEED")
    with global_rng.seeded(7):
        random.seed(7)
        os.environ["PYTHONHASHSEED"] = "0"
    assert random.random() == expected and os.environ.get("PYTHONHASHSEED") == before
