"""TorchDetector: seeding, early stopping, progress bar, state format, device choice, export paths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import had
from had.capabilities import Capabilities
from had.errors import ConfigError, ExportNotSupported, HadError
from had.onnx_export import verify_export
from had_sdk.torch_runtime import deterministic

from sdk_toys import TinyAE


@pytest.fixture
def rows():
    X = np.random.default_rng(0).normal(size=(200, 5))
    X[:5] += 5
    return X


def _meta(model_bytes: bytes) -> dict[str, str]:
    import onnx

    return {p.key: p.value for p in onnx.load_from_string(model_bytes).metadata_props}


def test_seed_decides_the_scores(rows):
    a = TinyAE(seed=1, device="cpu").fit(rows).decision_function(rows)
    b = TinyAE(seed=1, device="cpu").fit(rows).decision_function(rows)
    c = TinyAE(seed=2, device="cpu").fit(rows).decision_function(rows)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_deterministic_mode_is_restored():
    before = torch.are_deterministic_algorithms_enabled()
    fill = torch.utils.deterministic.fill_uninitialized_memory
    with deterministic(torch.device("cpu")):
        assert torch.are_deterministic_algorithms_enabled()
        assert not torch.utils.deterministic.fill_uninitialized_memory  # no NaN fill of every new tensor
    assert torch.are_deterministic_algorithms_enabled() == before
    assert torch.utils.deterministic.fill_uninitialized_memory == fill


def test_early_stopping_on_a_validation_split(rows):
    # lr so small that the validation loss cannot improve after the first epoch: stops at 1 + patience
    det = TinyAE(epochs=50, lr=1e-12, validation_fraction=0.2, patience=2, device="cpu").fit(rows)
    h = det.history_
    assert h["stopped_early"] and h["best_epoch"] == 1 and len(h["val_loss"]) == 3
    assert len(h["train_loss"]) == 3
    full = TinyAE(epochs=4, device="cpu").fit(rows).history_
    assert len(full["train_loss"]) == 4 and full["val_loss"] == [] and not full["stopped_early"]


def test_training_reduces_the_loss(rows):
    h = TinyAE(epochs=20, lr=1e-2, device="cpu").fit(rows).history_
    assert h["train_loss"][-1] < 0.8 * h["train_loss"][0]


def test_progress_bar_only_when_asked_or_on_a_terminal(rows, capsys):
    TinyAE(device="cpu").fit(rows)  # pytest's capture is not a TTY: no bar
    assert capsys.readouterr().err == ""
    TinyAE(device="cpu", progress=True).fit(rows)
    assert "tiny-ae fit" in capsys.readouterr().err


def test_config_rejects_bad_training_fields():
    for bad in ({"device": "gpu"}, {"lr": 0}, {"lr": float("inf")}, {"weight_decay": float("nan")},
                {"validation_fraction": 0.7}, {"optimizer": "lbfgs"}):
        with pytest.raises(ConfigError):
            TinyAE(**bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message when CUDA is absent")
def test_cuda_requested_without_cuda(rows):
    with pytest.raises(HadError, match="CUDA is not available"):
        TinyAE(device="cuda").fit(rows)


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="checks the message when MPS is absent")
def test_mps_requested_without_mps_is_a_had_error_not_torchs(rows):
    with pytest.raises(HadError, match="MPS.* is not available"):
        TinyAE(device="mps").fit(rows)


def test_a_cuda_index_past_the_machines_devices_is_named(rows, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(HadError, match=r"has 1 CUDA device\(s\), cuda:0 to cuda:0"):
        TinyAE(device="cuda:7").fit(rows)


def test_optimizers_and_weight_decay(rows):
    def weights(optimizer, weight_decay):
        det = TinyAE(optimizer=optimizer, weight_decay=weight_decay, lr=1e-2, device="cpu").fit(rows)
        return torch.cat([p.detach().flatten() for p in det.network_.parameters()])

    plain = {opt: weights(opt, 0.0) for opt in ("adam", "adamw", "sgd")}
    decayed = {opt: weights(opt, 1.0) for opt in ("adam", "adamw", "sgd")}
    torch.testing.assert_close(plain["adam"], plain["adamw"])  # AdamW without decay is Adam
    assert not torch.allclose(plain["adam"], plain["sgd"], atol=1e-4)  # the optimizer is used
    assert not torch.allclose(decayed["adam"], decayed["adamw"], atol=1e-4)  # L2 in the gradient vs decoupled
    for opt in plain:  # the decay is used: same seed and data, smaller weights
        assert decayed[opt].norm() < 0.95 * plain[opt].norm(), opt


def test_nonfinite_loss_is_a_clear_error(rows):
    class Exploding(TinyAE):
        def loss(self, batch):
            return super().loss(batch) * float("nan")

    with pytest.raises(HadError, match="training loss became nan"):
        Exploding(device="cpu").fit(rows)


def test_state_is_safetensors_of_the_module(tmp_path, rows):
    from safetensors.numpy import load_file

    det = had.get_detector("tiny-ae", device="cpu").fit(rows)
    path = had.save(det, tmp_path / "m")
    state = load_file(str(path / "weights.safetensors"))
    assert {"preprocessing.mean", "preprocessing.std", "network.0.weight"} <= set(state)
    np.testing.assert_allclose(state["preprocessing.mean"], rows.mean(0), rtol=1e-6)
    assert sorted(p.name for p in path.iterdir()) == ["manifest.json", "weights.safetensors"]
    back = had.load(path)
    np.testing.assert_array_equal(back.decision_function(rows), det.decision_function(rows))


def test_cube_is_trained_per_pixel(rows):
    cube = rows.reshape(20, 10, 5)
    a = TinyAE(device="cpu").fit(cube)
    b = TinyAE(device="cpu").fit(rows)
    assert a.decision_function(cube).shape == (20, 10)
    np.testing.assert_allclose(a.decision_function(cube).reshape(-1), b.decision_function(rows), rtol=1e-6)


def test_bounded_scoring_batches(rows):
    det = TinyAE(device="cpu", score_batch_size=7).fit(rows)
    full = TinyAE(device="cpu").fit(rows)
    np.testing.assert_allclose(det.decision_function(rows), full.decision_function(rows), rtol=1e-6)


def test_rows_are_scored_at_most_cpu_rows_per_pass_on_the_cpu(rows, monkeypatch):
    """On the CPU, rows go through the network CPU_ROWS_PER_PASS (4096) at a time whatever score_batch_size says
    above it (larger passes page-fault their intermediates in afresh each time); below it, score_batch_size
    holds. The scores do not depend on the pass size."""
    from had_sdk.torch_detector import CPU_ROWS_PER_PASS

    det = TinyAE(device="cpu").fit(rows)
    X = np.random.default_rng(1).normal(size=(2 * CPU_ROWS_PER_PASS + 300, 5))
    passes: list[int] = []
    forward = det._forward
    monkeypatch.setattr(det, "_forward", lambda chunk: (passes.append(len(chunk)), forward(chunk))[1])
    scores = det.decision_function(X)
    assert det.config.score_batch_size == 65536 and det.rows_per_pass() == CPU_ROWS_PER_PASS == 4096
    assert passes == [4096, 4096, 300]
    passes.clear()
    det.config = det.config.model_copy(update={"score_batch_size": 1000})
    np.testing.assert_allclose(det.decision_function(X), scores, rtol=1e-6)
    assert passes == [1000] * 8 + [492]


def test_dynamo_export_and_metadata(rows):
    det = had.get_detector("tiny-ae", device="cpu").fit(rows)
    model = det.export_onnx()
    meta = _meta(model)
    assert meta["exporter"] == "torch.onnx(dynamo)" and meta["plugin"] == "sdk-toys"
    assert verify_export(model, det, rows[:50])["passed"]


def test_torchscript_exporter_when_asked(rows):
    class Legacy(TinyAE):
        capabilities = Capabilities(onnx_dynamo=False)

    det = Legacy(device="cpu").fit(rows)
    model = det.export_onnx()
    assert _meta(model)["exporter"] == "torch.onnx(torchscript)"
    assert verify_export(model, det, rows[:50])["passed"]


def test_falls_back_to_torchscript_when_dynamo_fails(rows, dynamo_fails):
    det = TinyAE(device="cpu").fit(rows)
    model = det.export_onnx()
    assert "dynamo failed: RuntimeError: no translation for aten::made_up" in _meta(model)["exporter"]
    assert verify_export(model, det, rows[:50])["passed"]


def test_declared_unsupported_export(rows):
    class Eager(TinyAE):
        onnx_unsupported = "the score needs a per-sample SVD"

    with pytest.raises(ExportNotSupported, match="per-sample SVD"):
        Eager(device="cpu").fit(rows).export_onnx()


def test_export_leaves_the_detector_usable(rows):
    det = TinyAE(device="cpu").fit(rows)
    before = det.decision_function(rows)
    det.export_onnx()
    assert det.model_.training is False and next(det.model_.parameters()).device.type == "cpu"
    np.testing.assert_array_equal(det.decision_function(rows), before)


def test_scores_in_float64_run_a_float64_twin_and_leave_the_detector_alone(rows):
    """``scores_in_float64`` is the fitted module evaluated in float64 (the same bits as a float64 copy run by
    hand), close to the float32 scores, and the detector keeps its float32 parameters and scores."""
    import copy

    det = TinyAE(device="cpu").fit(rows + 1000.0)
    before = det.decision_function(rows + 1000.0)
    exact = det.scores_in_float64(rows + 1000.0)
    with torch.no_grad():
        by_hand = copy.deepcopy(det.model_).double()(torch.from_numpy(rows + 1000.0)).numpy()
    np.testing.assert_array_equal(exact, by_hand)
    np.testing.assert_allclose(exact, before, rtol=1e-3)
    assert not np.array_equal(exact, before)  # float32 rounding shows against float64
    assert all(p.dtype == torch.float32 for p in det.model_.parameters())
    np.testing.assert_array_equal(det.decision_function(rows + 1000.0), before)


def test_scores_in_float64_is_none_when_the_model_cannot_run_in_float64(rows):
    det = TinyAE(device="cpu").fit(rows)

    def float32_only(module, args):
        if args[0].dtype != torch.float32:
            raise RuntimeError("expected float32")

    det.model_.network.register_forward_pre_hook(float32_only)
    assert det.scores_in_float64(rows) is None
    assert det.decision_function(rows).shape == (200,)


def test_patience_without_validation_is_said():
    """``--set patience=3`` with validation_fraction=0 trained every epoch without a word (deepsvdd refuses
    settings that do nothing; here a note, since scikit-learn's clone passes every field)."""
    import numpy as np

    import had

    rows = np.random.default_rng(0).normal(size=(200, 4))
    for restarts in (1, 3):  # each member's note, once for the ensemble (was: none with restarts > 1)
        det = had.get_detector("autoencoder", epochs=1, validation_fraction=0.0, patience=3, restarts=restarts)
        notes = det.fit(rows).fit_notes_
        assert sum("patience=3 has no effect with validation_fraction=0" in n for n in notes) == 1, notes
    assert not getattr(had.get_detector("autoencoder", epochs=1, validation_fraction=0.0).fit(rows), "fit_notes_", None)
    # `had fit` on a file whose header declares a fill value sets nodata with set_params: that marked every field
    # as given, so the note above came with a patience nobody set (a walkthrough of the user guide on an ENVI line)
    told = had.get_detector("autoencoder", epochs=1, validation_fraction=0.0)
    told.set_params(nodata=-9999.0)
    assert told.config.model_fields_set == {"epochs", "validation_fraction", "nodata"}
    assert not getattr(told.fit(rows), "fit_notes_", None)
