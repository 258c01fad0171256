"""Settings typed on the command line (``had fit DET DATA --set KEY=VALUE``) that crashed, ran away or were
silently replaced in the PyOD adapters (an audit of those settings): each is now one typed line naming the key, at
config validation where the value alone decides it, else at the fit before any work.

1. ``n_estimators`` (pyod-iforest, hybrid-iforest) had no upper bound: 10**9 trees on an 80-row table grew to
   8.5 GB in 90 s, 2**63 was scikit-learn's OverflowError traceback. Now at most 100,000 trees, and the forest's
   memory is checked before the fit (a hybrid's before its autoencoder trains).
2. ``max_samples`` as a float above 1 (2.0, 1.5, 1e308) was scikit-learn's InvalidParameterError traceback, 1e-320
   (or 0.001 on 80 rows) its "Sample weights must contain at least one non-zero number".
3. pyod-deepsvdd ``hidden=[8]`` was PyOD's IndexError traceback (``hidden=[]``, PyOD's default, is read as None);
   ``use_ae=true`` with the default hidden on 10 features was PyOD's ValueError traceback.
4. ``bandwidth=1e-320`` (pyod-kde, hybrid-kde) ended in "80 of 80 training scores are infinite ... (lower lr)".
5. Scanned beside them: pyod-deepsvdd ``l2=1e308`` (torch's overflow traceback), ``lr=1e308`` (NaN scores blamed
   on the detector, not lr), ``batch_size=10**21`` (islice's ValueError traceback); ssad's ``max_train`` (its dense
   n x n QP, unchecked).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import had
import had.memory
from had.errors import ConfigError, InvalidInputError

torch.set_num_threads(1)
TINY_AE = {"ae_epochs": 1, "ae_batch_size": 32, "device": "cpu"}


def _rows(n=80, d=10, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


def _refused(name, config, *words):
    """The ConfigError of `config`: one line, naming each of `words` (the key first)."""
    with pytest.raises(ConfigError) as info:
        had.get_detector(name, config)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message
    return message


@pytest.fixture
def little_memory(monkeypatch):
    """10 MiB available, as had.memory reads it."""
    monkeypatch.setattr(had.memory, "available_memory", lambda: 10 * 2**20)


def _no_autoencoder(monkeypatch):
    """A hybrid's pretraining fails the test if reached: its checks come first."""
    from had_pyod.hybrid import Hybrid

    def trained(self):
        raise AssertionError("the autoencoder was built before the inner model's check")

    monkeypatch.setattr(Hybrid, "_autoencoder", trained)


# ---- 1. n_estimators ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["pyod-iforest", "hybrid-iforest"])
@pytest.mark.parametrize("trees", [10**9, 2**63, 10**19, 100_001])
def test_n_estimators_has_an_upper_bound(name, trees):
    # was: accepted, then 8.5 GB and growing (10**9), or an OverflowError traceback (2**63 and up)
    _refused(name, {"n_estimators": trees}, "n_estimators", "100000")


@pytest.mark.parametrize("trees", [1, 100, 5000, 100_000])
def test_n_estimators_takes_what_users_give(trees):
    assert had.get_detector("pyod-iforest", n_estimators=trees).config.n_estimators == trees
    assert "100,000" in had.get_detector("pyod-iforest").Config.model_fields["n_estimators"].description


def test_the_forests_memory_is_checked_before_the_fit(little_memory):
    X = _rows(200, 4)
    det = had.get_detector("pyod-iforest", n_estimators=2000)
    with pytest.raises(MemoryError) as info:  # was: fitted, whatever the memory
        det.fit(X)
    assert "2,000 trees" in str(info.value) and "lower n_estimators (now 2,000)" in str(info.value)
    assert getattr(det, "model_", None) is None  # refused before scikit-learn built a tree
    assert had.get_detector("pyod-iforest", n_estimators=100).fit(X).model_ is not None  # 100 trees fit in 10 MiB


def test_a_hybrid_checks_the_forest_before_its_autoencoder_trains(little_memory, monkeypatch):
    _no_autoencoder(monkeypatch)
    with pytest.raises(MemoryError) as info:  # was: the autoencoder trained first, then the forest was built
        had.get_detector("hybrid-iforest", {**TINY_AE, "n_estimators": 2000}).fit(_rows(200, 4))
    assert str(info.value).startswith("hybrid-iforest: ") and "lower n_estimators" in str(info.value)


# ---- 2. max_samples ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["pyod-iforest", "hybrid-iforest"])
@pytest.mark.parametrize("share", [2.0, 1.5, 1e308, 1.0000000000000002])
def test_a_float_max_samples_above_one_is_refused(name, share):
    # was: scikit-learn's InvalidParameterError traceback at the fit (an int 2 is a count and works)
    message = _refused(name, {"max_samples": share}, "max_samples", "share", "at most 1.0", "as an int")
    assert "max_samples=2)" in message if share == 2.0 else "max_samples=256)" in message


@pytest.mark.parametrize("name", ["pyod-iforest", "hybrid-iforest"])
def test_a_share_that_selects_no_row_of_any_table_is_refused(name):
    # was: "ValueError: Sample weights must contain at least one non-zero number", a traceback at the fit
    _refused(name, {"max_samples": 1e-320}, "max_samples", "selects no row")
    _refused(name, {"max_samples": 2.0 ** -64}, "max_samples", "selects no row")


@pytest.mark.parametrize("value", [1, 2, 256, 10**30, 1.0, 0.5, 2.0 ** -63])
def test_counts_and_shares_are_taken(value):
    assert had.get_detector("pyod-iforest", max_samples=value).config.max_samples == value


def test_a_share_too_small_for_the_rows_is_refused_at_the_fit():
    det = had.get_detector("pyod-iforest", max_samples=0.001, n_estimators=5)
    with pytest.raises(InvalidInputError) as info:  # was: scikit-learn's ValueError traceback
        det.fit(_rows())
    message = str(info.value)
    assert message.startswith("pyod-iforest: max_samples=0.001 is a share of the 80 training rows")
    assert "at least 1/80 (0.0125)" in message and "\n" not in message
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # trees of one row each: every score alike
        fitted = had.get_detector("pyod-iforest", max_samples=0.0125, n_estimators=5).fit(_rows())
    assert fitted.model_.detector_.max_samples_ == 1  # 1/80 draws one row, as scikit-learn does


def test_a_hybrids_share_is_refused_before_its_autoencoder_trains(monkeypatch):
    _no_autoencoder(monkeypatch)
    with pytest.raises(InvalidInputError) as info:
        had.get_detector("hybrid-iforest", {**TINY_AE, "max_samples": 0.001}).fit(_rows())
    assert str(info.value).startswith("hybrid-iforest: pyod-iforest: max_samples=0.001 is a share")


# ---- 3. pyod-deepsvdd's hidden -----------------------------------------------------------------------------
def test_deepsvdd_needs_two_layer_sizes():
    # was: PyOD's IndexError traceback
    _refused("pyod-deepsvdd", {"hidden": [8]}, "hidden", "two or more", "[64, 32]")


@pytest.mark.parametrize("hidden", [None, [8, 4], [16, 8, 4]])
def test_deepsvdd_takes_two_or_more_sizes_or_none(hidden):
    assert had.get_detector("pyod-deepsvdd", hidden=hidden).config.hidden == hidden


def test_an_empty_deepsvdd_hidden_is_pyods_default_as_it_trained(tmp_path):
    """``hidden=[]`` trained PyOD's default [64, 32] (``hidden_neurons or [64, 32]``); it is read as None, which
    says so, and a model saved with it still loads (a review: refusing [] made such artifacts unloadable)."""
    det = had.get_detector("pyod-deepsvdd", epochs=1, hidden=[])
    assert det.config.hidden is None
    path = had.save(det.fit(_rows()), tmp_path / "m")
    import json

    manifest = path / "manifest.json" if (path / "manifest.json").is_file() else tmp_path / "m" / "manifest.json"
    assert json.loads(manifest.read_text())["config"]["hidden"] is None


def test_deepsvdd_use_ae_needs_a_layer_no_wider_than_the_features():
    det = had.get_detector("pyod-deepsvdd", epochs=1, use_ae=True)  # the default [64, 32] on 10 features
    with pytest.raises(InvalidInputError) as info:  # was: PyOD's ValueError traceback
        det.fit(_rows())
    message = str(info.value)
    assert "use_ae=True" in message and "hidden=[64, 32]" in message and "10 features" in message
    assert "[20, 5]" in message and "\n" not in message
    ok = had.get_detector("pyod-deepsvdd", epochs=1, use_ae=True, hidden=[20, 5]).fit(_rows())
    assert np.isfinite(ok.decision_scores_).all()


# ---- 4. the KDE bandwidth ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["pyod-kde", "hybrid-kde"])
@pytest.mark.parametrize("config,key", [({"bandwidth": 1e-320}, "bandwidth"), ({"bandwidth": 1e-200}, "bandwidth"),
                                        ({"bandwidth_grid": [1e-320, 1.0]}, "bandwidth_grid")])
def test_a_bandwidth_whose_square_underflows_is_refused(name, config, key):
    # was: "80 of 80 training scores are infinite ... (lower lr)", blaming the data and lr
    _refused(name, config, key, "2**-511", "bandwidth squared")


def test_the_smallest_bandwidth_taken_scores_finitely():
    from had_pyod.models import MIN_BANDWIDTH

    assert "2**-511" in had.get_detector("pyod-kde").Config.model_fields["bandwidth"].description
    X = _rows(40, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # every row its own kernel: the scores are flat
        det = had.get_detector("pyod-kde", bandwidth=MIN_BANDWIDTH).fit(X)
    assert np.isfinite(det.decision_scores_).all()


# ---- 5. the rest of the fields ------------------------------------------------------------------------------
def test_deepsvdd_l2_fits_float32():
    # was: torch's "value cannot be converted to type float without overflow" traceback at the first step
    _refused("pyod-deepsvdd", {"l2": 1e308}, "l2", "float32")
    _refused("pyod-deepsvdd", {"l2": 3.5e38}, "l2", "float32")
    assert had.get_detector("pyod-deepsvdd", l2=3.4e38).config.l2 == 3.4e38


def test_a_diverged_deepsvdd_names_lr():
    det = had.get_detector("pyod-deepsvdd", epochs=1, hidden=[8, 4], lr=1e308)
    with pytest.raises(InvalidInputError) as info:  # was: "80 of 80 scores are NaN ... pyod-deepsvdd failed on them"
        det.fit(_rows())
    assert "training diverged" in str(info.value) and "lower lr (now 1e+308)" in str(info.value)


def test_deepsvdd_batch_size_above_the_rows_is_one_batch():
    X = _rows(40, 4)
    scores = {}
    for batch in (40, 1000, 10**21):  # 10**21 was islice's ValueError traceback inside torch's DataLoader
        det = had.get_detector("pyod-deepsvdd", epochs=2, hidden=[8, 4], batch_size=batch).fit(X)
        assert det.config.batch_size == batch and det.fit_notes_ == []
        scores[batch] = det.decision_scores_
    np.testing.assert_array_equal(scores[1000], scores[40])  # the same training: one batch of every row
    np.testing.assert_array_equal(scores[10**21], scores[40])


def test_ssad_checks_its_qp_memory(monkeypatch):
    monkeypatch.setattr(had.memory, "available_memory", lambda: 2**20)  # 1 MiB
    X = _rows(200, 4)
    with pytest.raises(MemoryError) as info:  # was: the n x n matrices allocated whatever the memory
        had.get_detector("ssad").fit(X)
    assert "200 rows" in str(info.value) and "lower max_train (now 2,000)" in str(info.value)
    assert had.get_detector("ssad", max_train=50).fit(X).n_support_ >= 1  # 50 rows: 0.1 MiB


def test_a_numpy_integer_max_samples_is_a_count():
    """A review: ``np.int64(300)`` was read as the share 300.0 and refused ("give an int"), ``np.int64(1)`` as 1.0."""
    assert had.get_detector("pyod-iforest", max_samples=np.int64(300)).config.max_samples == 300
    one = had.get_detector("pyod-iforest", max_samples=np.int64(1)).config.max_samples
    assert one == 1 and isinstance(one, int)


def test_a_hybrids_autoencoder_floats_are_refused_under_their_own_names():
    """A review: ``ae_weight_decay=1e308`` was refused only at the fit, as ``deepsad-ae``'s ``weight_decay``."""
    for key in ("ae_weight_decay", "ae_lr"):
        with pytest.raises(ConfigError, match=rf"invalid config for detector hybrid-iforest: {key}: "):
            had.get_detector("hybrid-iforest", **{key: 1e308})


@pytest.mark.parametrize("name, field", [("pyod-autoencoder", "lr"), ("pyod-deepsvdd", "lr"), ("hybrid-kde", "ae_lr"),
                                         ("hybrid-iforest", "ae_lr"), ("hybrid-ocsvm", "ae_lr")])
def test_a_torch_setting_that_float32_rounds_to_zero_is_refused_by_its_name(name, field):
    """``lr=1e-50`` passed ``gt=0``, then torch's Adam step was 0 in float32 and nothing trained, without a word;
    a hybrid's ``ae_lr=1e-50`` was refused only at the fit, as deepsad-ae's ``lr`` (review)."""
    if name.startswith("hybrid"):
        pytest.importorskip("had_deepsad")
    with pytest.raises(ConfigError, match=rf"invalid config for detector {name}: {field}: .*rounds to 0 in float32"):
        had.get_detector(name, **{field: 1e-50})
    assert getattr(had.get_detector(name, **{field: 1e-45}).config, field) == 1e-45  # float32 holds it
    decay = {"pyod-deepsvdd": "l2", "pyod-autoencoder": None}.get(name, "ae_weight_decay")
    if decay:  # may be 0: rounded to 0 it trains as 0 does, and a model saved with one loads (review)
        assert getattr(had.get_detector(name, **{decay: 1e-50}).config, decay) == 1e-50


def test_a_pca_fit_is_checked_against_the_memory_available(little_memory, monkeypatch):
    """Was: ~5 float64 copies of the training rows, unchecked (a flight-line probe, 7 December 2026)."""
    from pyod.models import pca

    def fitted(*args, **kwargs):
        raise AssertionError("PyOD's PCA was fitted before the check")

    original = pca.PCA.fit
    monkeypatch.setattr(pca.PCA, "fit", fitted)
    X = np.random.default_rng(0).normal(size=(5_000, 100))  # 3.8 MiB of rows, ~19 MiB to fit
    with pytest.raises(MemoryError, match=r"pyod-pca: a fit on 5,000 rows of 100 features needs 19\.1 MiB and 10\.0 "
                                          r"MiB are available; lower --set max_fit_pixels=N \(a scene\), or fit "
                                          r"fewer rows"):
        had.get_detector("pyod-pca").fit(X)
    monkeypatch.setattr(pca.PCA, "fit", original)  # the 10 MiB stay: 1,000 rows (0.8 MiB, ~4 MiB to fit) fit in them
    assert np.ptp(had.get_detector("pyod-pca").fit(X[:1000]).decision_scores_) > 0
