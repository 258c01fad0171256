"""The SDK's training loop (had_sdk.training) and TorchDetector's hooks, checked on hand-countable toys."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

import had
from had.errors import InvalidInputError, UnknownNameError
from had_sdk.torch_detector import OptimizerConfig, TorchConfig, TorchDetector, TorchDetectorConfig
from had_sdk.training import Batches, Phase, TrainingDivergedError, run_phases

from sdk_toys import TinyAE


def _owner(callback=None):
    return SimpleNamespace(name="toy", config=SimpleNamespace(progress=False), training_callback=callback)


def _flat(batches) -> list[int]:
    return sorted(int(i) for b in batches for i in (range(b.start, b.stop) if isinstance(b, slice) else b))


@pytest.mark.parametrize("n, size", [(10, 4), (8, 4), (3, 128), (9, 2), (1, 5)])
def test_batch_plans_cover_the_rows_as_documented(n, size):
    gen = torch.Generator().manual_seed(0)
    plain = Batches(n, size, gen)
    first = plain.epoch()
    assert len(first) == len(plain) == -(-n // size) and _flat(first) == list(range(n))
    assert [len(b) for b in first] == [min(size, n - i) for i in range(0, n, size)]
    dropped = Batches(n, size, gen, drop_last=True).epoch()  # a set smaller than one batch is one batch
    assert [len(b) for b in dropped] == ([size] * (n // size) if n >= size else [n])
    paired = Batches(n, size, gen, min_size=2)
    assert len(paired.epoch()) == len(paired)
    assert all(len(b) >= 2 for b in paired.epoch()) or n < 2


def test_batch_plan_orders():
    gen = torch.Generator().manual_seed(0)
    fresh = Batches(9, 4, gen)
    assert not all(torch.equal(a, b) for a, b in zip(fresh.epoch(), fresh.epoch()))  # a new shuffle per epoch
    once = Batches(9, 4, gen, once=True)
    first = once.epoch()
    assert all(torch.equal(a, b) for a, b in zip(first, once.epoch()))  # LREN's loader: one fixed shuffle
    assert Batches(5, 2).epoch() == [slice(0, 2), slice(2, 4), slice(4, 5)]  # natural order: views
    np_order = Batches(6, 4, np.random.default_rng(3)).epoch()
    np.testing.assert_array_equal(np.concatenate(np_order), np.random.default_rng(3).permutation(6))


def test_fractional_epochs_steps_callbacks_and_history():
    w = nn.Parameter(torch.ones(()))
    events = []
    phase = Phase("fit", lambda b: (w * b.x).sum() * 0.0 + w ** 2, Batches(8, 2), 1.5,
                  torch.optim.SGD([w], lr=0.1), data=torch.ones(8), modules=())
    assert phase.total_steps == 6
    history = run_phases(_owner(lambda det, p: events.append((p.event, p.epoch, p.step, p.epochs_done))),
                         [phase], {})
    steps = [e for e in events if e[0] == "step"]
    assert [e[2] for e in steps] == [1, 2, 3, 4, 5, 6] and steps[-1][3] == pytest.approx(1.5)
    assert [e for e in events if e[0] == "epoch"] == [("epoch", 1, 4, 1.0), ("epoch", 2, 6, 1.5)]
    # w <- 0.8 w per SGD step on w^2 (lr 0.1): the epoch means of the logged losses are exact
    expected = [0.8 ** (2 * k) for k in range(6)]
    np.testing.assert_allclose(history["train_loss"], [np.mean(expected[:4]), np.mean(expected[4:])], rtol=1e-6)
    assert float(w.detach()) == pytest.approx(0.8 ** 6, rel=1e-6)


def test_a_step_may_own_several_optimizers_and_read_labels():
    a, b = nn.Parameter(torch.tensor(2.0)), nn.Parameter(torch.tensor(3.0))
    opt_a, opt_b = torch.optim.SGD([a], lr=0.5), torch.optim.SGD([b], lr=0.25)
    labels_seen = []

    def step(batch):
        labels_seen.append(batch.y.tolist())
        batch.update(a ** 2, opt_a)          # a <- a - 0.5 * 2a = 0
        if batch.position == 1:
            batch.update(b ** 2, opt_b)      # b <- b - 0.25 * 2b = b / 2, once per epoch
        return {"a": a.detach(), "b": b.detach()}

    labels = torch.tensor([10, 11, 12, 13])
    history = run_phases(_owner(), [Phase("gan", step, Batches(4, 2), 2, (opt_a, opt_b), data=torch.zeros(4, 1),
                                          labels=labels, modules=())], {})
    assert float(a.detach()) == 0.0 and float(b.detach()) == pytest.approx(3.0 / 4)
    assert labels_seen == [[10, 11], [12, 13]] * 2
    np.testing.assert_allclose(history["b"], [(3.0 + 1.5) / 2, (1.5 + 0.75) / 2])


def test_schedulers_and_epoch_hooks_run_in_order():
    w = nn.Parameter(torch.ones(()))
    opt = torch.optim.SGD([w], lr=1.0)
    calls = []
    phase = Phase("p", lambda b: (w * 0.0).sum() + 0.0 * w, Batches(2, 2), 3, opt, data=torch.zeros(2),
                  modules=(), schedulers=[torch.optim.lr_scheduler.MultiStepLR(opt, [1], gamma=0.1)],
                  on_start=lambda: calls.append("start"), on_end=lambda: calls.append("end"),
                  on_epoch_start=lambda e: calls.append(("lr", e, opt.param_groups[0]["lr"])),
                  on_epoch_end=lambda e: calls.append(("end", e)))
    run_phases(_owner(), [phase], {})
    assert calls == ["start", ("lr", 0, 1.0), ("end", 0), ("lr", 1, pytest.approx(0.1)), ("end", 1),
                     ("lr", 2, pytest.approx(0.1)), ("end", 2), "end"]


def test_phases_run_lazily_in_order_and_group_their_logs():
    w = nn.Parameter(torch.ones(()))
    order = []

    def phases():
        order.append("build 1")
        yield Phase("one", lambda b: w ** 2, Batches(2, 1), 1, torch.optim.SGD([w], lr=0.1), data=torch.zeros(2),
                    modules=(), group="first")
        order.append(("build 2 after", round(float(w.detach()), 6)))
        yield Phase("two", lambda b: w ** 2, Batches(2, 2), 2, torch.optim.SGD([w], lr=0.1), data=torch.zeros(2),
                    modules=(), loss_key="second")

    history = run_phases(_owner(), phases(), {})
    assert order == ["build 1", ("build 2 after", 0.64)]
    assert len(history["first"]["train_loss"]) == 1 and len(history["second"]) == 2


def test_divergence_is_a_typed_error_with_the_phase_and_step():
    w = nn.Parameter(torch.ones(()))
    phase = Phase("pretraining", lambda b: w * float("inf"), Batches(4, 2), 1, torch.optim.SGD([w], lr=0.1),
                  data=torch.zeros(4), modules=())
    with pytest.raises(TrainingDivergedError, match="toy: training loss became inf at step 1 of pretraining"):
        run_phases(_owner(), [phase], {})
    assert issubclass(TrainingDivergedError, InvalidInputError)
    late = Phase("fit", lambda b: w * float("nan"), Batches(4, 2), 1, torch.optim.SGD([w], lr=0.1),
                 data=torch.zeros(4), modules=(), finite_check="epoch")
    with pytest.raises(TrainingDivergedError, match="became nan at epoch 1 of fit"):
        run_phases(_owner(), [late], {})


def test_threads_apply_during_fit_and_are_restored():
    rows = np.random.default_rng(0).normal(size=(64, 4))
    inside = []
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        det = TinyAE(device="cpu", epochs=1, threads=1)
        det.training_callback = lambda d, p: inside.append(torch.get_num_threads())
        det.fit(rows)
        assert set(inside) == {1} and torch.get_num_threads() == 2
        det.config.threads = 3
        det.training_callback = None
        det.decision_function(rows)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_default_loop_callback_sees_every_step_and_epoch():
    rows = np.random.default_rng(0).normal(size=(70, 4))
    events = []
    det = TinyAE(device="cpu", epochs=2, batch_size=32)
    det.training_callback = lambda d, p: events.append((p.phase, p.event, p.step))
    det.fit(rows)
    assert events == [("fit", "step", 1), ("fit", "step", 2), ("fit", "step", 3), ("fit", "epoch", 3),
                      ("fit", "step", 4), ("fit", "step", 5), ("fit", "step", 6), ("fit", "epoch", 6)]


def test_config_layers_hold_only_their_loop_fields():
    assert {"optimizer", "weight_decay", "validation_fraction", "patience"}.isdisjoint(TorchConfig.model_fields)
    assert {"optimizer", "weight_decay"} <= set(OptimizerConfig.model_fields)
    assert not {"validation_fraction", "patience"} & set(OptimizerConfig.model_fields)
    assert {"validation_fraction", "patience", "threads"} <= set(TorchDetectorConfig.model_fields)


#: fields each custom-loop detector of this repository must not show (it would ignore them)
UNUSED = {
    "gan-gp": {"optimizer", "weight_decay", "validation_fraction", "patience"},
    "geohgan": {"optimizer", "weight_decay", "validation_fraction", "patience"},
    "bs3lnet": {"optimizer", "validation_fraction", "patience"},
    "rlad": {"validation_fraction", "patience"},
    "deepsvdd": {"optimizer", "validation_fraction", "patience"},
    "deepsad": {"optimizer", "validation_fraction", "patience"},
    "deepsad-ae": {"optimizer", "validation_fraction", "patience"},
    "semidgm": {"optimizer", "validation_fraction", "patience"},
    "lren": {"validation_fraction", "patience"},
    "lren-reference": {"validation_fraction", "patience"},
}
#: custom-loop detectors whose phases end in the default one (``yield from super().training_phases(data)``)
EXTENDS_DEFAULT_LOOP = {"cxr-deepsvdd"}


def test_every_custom_loop_detector_is_checked_for_fields_it_ignores():
    """A registered torch detector that writes its own ``training_phases`` is in UNUSED (or ends in the default
    loop), so a new one cannot show ``patience`` or ``optimizer`` unchecked."""
    installed, custom = set(had.plugins.names("detector")), set()
    for name in installed:
        cls = had.plugins.entry("detector", name).load()
        if issubclass(cls, TorchDetector) and cls.training_phases is not TorchDetector.training_phases:
            custom.add(name)
    assert custom >= {"gan-gp", "rlad", "deepsvdd", "lren"} & installed  # the test sees custom loops at all
    assert custom <= set(UNUSED) | EXTENDS_DEFAULT_LOOP, custom - set(UNUSED) - EXTENDS_DEFAULT_LOOP


@pytest.mark.parametrize("name", sorted(UNUSED))
def test_describe_shows_no_loop_field_a_detector_ignores(name):
    try:
        config = had.get_detector(name).config
    except UnknownNameError:
        pytest.skip(f"{name} is not installed")
    shown = set(type(config).model_fields)
    assert not UNUSED[name] & shown and "threads" in shown
