"""A saved model whose manifest's network settings were edited is refused before the network is built: was built
first, so ``hidden=[10**7]`` allocated 3.6 GB over 97 s (an artifact probe, 7 December 2026) before torch's "size
mismatch", which was then blamed on the plugin ("report it to its authors")."""

from __future__ import annotations

import resource
import sys

import numpy as np
import pytest

import had
from had.errors import ArtifactError
from had_sdk.testing import edited_config


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    X = np.random.default_rng(0).normal(size=(200, 9))
    path = tmp_path_factory.mktemp("ae") / "m"
    had.save(had.get_detector("autoencoder", epochs=1, progress=False, hidden=[16], latent=4).fit(X), path)
    return path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KiB is Linux's")
def test_an_edited_network_size_is_refused_before_it_is_built(saved, tmp_path):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ArtifactError, match=r"the saved array network.0.weight is 16x9 where the network its config "
                                            r"builds has 100000000x9 .*hidden.*: the manifest's config and the weights "
                                            r"do not agree"):
        had.load(edited_config(saved, tmp_path, hidden=[10**8]))  # 3.6 GB of float32 weights, were it built
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KiB: nothing of that size


def test_a_smaller_edit_is_the_same_line_not_the_plugins_fault(saved, tmp_path):
    with pytest.raises(ArtifactError, match="16x9 where the network its config builds has 5x9") as info:
        had.load(edited_config(saved, tmp_path, hidden=[5]))
    assert "report it" not in str(info.value)
    assert had.load(saved).decision_function(np.zeros((2, 9))).shape == (2,)  # the untouched model loads
