"""pretrain_transfer: "encoder" starts training from the pretrained encoder (the papers); "none" reproduces the
reference as coded (Deep-SAD-PyTorch issue 9): pretraining runs, its weights are not copied, and training starts
from a random network whose centre is computed from it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import had

CFG = {"epochs": 2, "ae_epochs": 3, "batch_size": 32, "ae_batch_size": 32, "device": "cpu", "progress": False}


def _rows(seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0.4, 0.1, size=(200, 6)), 0, 1)


@pytest.mark.parametrize("name", ["deepsvdd", "deepsad"])
def test_none_starts_from_the_random_network(name):
    X = _rows()
    fits = {}
    for key, extra in {"encoder": {}, "none": {"pretrain_transfer": "none"}, "off": {"pretrain": False}}.items():
        one_fit = {"restarts": 1, "scaling": "none"} if name == "deepsvdd" else {}  # deepsad has neither
        fits[key] = had.get_detector(name, {**CFG, **one_fit, **extra}).fit(X)
    # pretraining ran in both modes (the reference as coded pays for it too)
    assert len(fits["none"].history_["ae_loss"]) == 3 and len(fits["encoder"].history_["ae_loss"]) == 3
    # "none": the centre is the random network's, exactly what no pretraining gives with the same seed
    np.testing.assert_array_equal(fits["none"].center_, fits["off"].center_)
    # "encoder": the centre comes from the pretrained encoder, so it differs
    assert not np.allclose(fits["encoder"].center_, fits["none"].center_)
    assert not np.allclose(fits["encoder"].decision_function(X), fits["none"].decision_function(X))


def test_none_does_not_use_the_pretrained_weights():
    X = _rows(1)
    det = had.get_detector("deepsvdd", {**CFG, "pretrain_transfer": "none", "epochs": 1, "restarts": 1,
                                        "scaling": "none"})
    states = {}
    original = det.training_phases

    def spy(data):  # record the pretraining autoencoder's encoder and the network's encoder after pretraining
        phases = original(data)
        yield next(phases)
        states["pretrained"] = {k: v.clone() for k, v in det._pretraining_ae.encoder.state_dict().items()}
        states["network"] = {k: v.clone() for k, v in det.network_.encoder.state_dict().items()}
        yield from phases

    det.training_phases = spy
    det.fit(X)
    weights = [k for k in states["network"] if k.endswith("weight")]
    assert weights and all(not torch.equal(states["pretrained"][k], states["network"][k]) for k in weights)


def test_bad_transfer_is_a_config_error():
    with pytest.raises(had.ConfigError, match="pretrain_transfer"):
        had.get_detector("deepsad", pretrain_transfer="decoder")
