import csv

import numpy as np
import pytest
import scipy.io
from sklearn.metrics import average_precision_score, roc_auc_score

import had
from had import metrics
from had.errors import InvalidInputError, LabelError

from realdata import real_file


@pytest.mark.parametrize("tied", [False, True])
def test_auroc_equals_sklearn(rng, tied):
    for n in (10, 200, 5000):
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        s = rng.integers(0, 7, n).astype(float) if tied else rng.normal(size=n)
        assert abs(metrics.auroc(y, s) - roc_auc_score(y, s)) < 1e-9
        assert abs(metrics.auprc(y, s) - average_precision_score(y, s)) < 1e-9


def test_auroc_perfect_and_reversed():
    y = np.array([0, 0, 1, 1])
    assert metrics.auroc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert metrics.auroc(y, [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert metrics.auroc(y, [1, 1, 1, 1]) == 0.5


def _reference_auc_pf_tau(y, s, n=30000):
    """LREN's loop, literally: a threshold at a time (slow; small inputs only)."""
    s = (s - s.min()) / (s.max() - s.min())
    taus = np.linspace(0, s.max(), n)
    pf = np.array([np.sum((s >= t) & (y == 0)) / np.sum(y == 0) for t in taus])
    pd = np.array([np.sum((s >= t) & (y == 1)) / np.sum(y == 1) for t in taus])
    return np.trapezoid(pf, taus), np.trapezoid(pd, taus)


def test_auc_tau_matches_the_loop(rng):
    y = rng.integers(0, 2, 300)
    s = rng.gamma(2.0, size=300) + y
    s[:5] = s[5]  # ties
    pf, pd = _reference_auc_pf_tau(y, s, n=3000)
    assert metrics.auc_pf_tau(y, s, n_thresholds=3000) == pytest.approx(pf, abs=1e-12)
    assert metrics.auc_pd_tau(y, s, n_thresholds=3000) == pytest.approx(pd, abs=1e-12)


@pytest.mark.realdata
@pytest.mark.parametrize("scene,auc,pf", [
    ("HYDICE_data", 0.999756, 0.008677),
    ("abu-beach-4", 0.992857, 0.043182),
    ("sandiego_plane", 0.990021, 0.009059),
])
def test_lren_published_maps(scene, auc, pf):
    score = scipy.io.loadmat(real_file(f"hsi/lren-results/{scene}.lren-map.mat"))["array"]
    truth = scipy.io.loadmat(real_file(f"hsi/{scene}.mat"))["map"] > 0
    assert metrics.auroc(truth, score) == pytest.approx(auc, abs=1e-5)
    assert metrics.auc_pf_tau(truth, score) == pytest.approx(pf, abs=1e-5)


@pytest.mark.realdata
@pytest.mark.parametrize("area,auc", [("dim10chang", 0.8502), ("dim10zheng", 0.6600), ("dim39zheng", 0.7216)])
def test_geohgan_published_scores(area, auc):
    with open(real_file(f"geohgan-roc/{area}/our.csv")) as fh:
        rows = list(csv.DictReader(fh))
    y = np.array([float(r["labels"]) for r in rows])
    s = np.array([float(r["scores"]) for r in rows])
    assert metrics.auroc(y, s) == pytest.approx(auc, abs=5e-5)


def test_threshold_metrics():
    y = np.array([0, 0, 0, 1, 1])
    s = np.array([0.1, 0.2, 0.7, 0.8, 0.3])
    # flagged: 0.7, 0.8 -> tp 1, fp 1, fn 1
    assert metrics.precision_at_threshold(y, s, 0.5) == 0.5
    assert metrics.recall_at_threshold(y, s, 0.5) == 0.5
    assert metrics.f1_at_threshold(y, s, 0.5) == 0.5
    assert metrics.precision_at_n(y, s) == 0.5  # top 2: 0.8 (1), 0.7 (0)
    assert metrics.precision_at_n(y, s, n=1) == 1.0
    with pytest.raises(InvalidInputError, match="needs a finite threshold"):  # no threshold given: not a silent NaN
        had.get_metric("f1")(y, s)


def test_eer_symmetric_case():
    y = np.array([0] * 50 + [1] * 50)
    s = np.r_[np.linspace(0, 1, 50), np.linspace(0.5, 1.5, 50)]
    value = metrics.eer(y, s)
    # by hand: normals at i/49, anomalies at (24.5 + j)/49. Lowering the threshold passes the 25 anomalies
    # above 1 first, then normals and anomalies alternate (49/49, 48.5/49, 48/49, ...). At the 13th normal of
    # that run (37/49), 13 normals are flagged (FPR 13/50) and 12 more anomalies caught, 13 missed (FNR 13/50):
    # the rates meet exactly there
    assert value == pytest.approx(13 / 50, abs=1e-12)
    fpr, tpr, _ = metrics.roc_curve(y, s)
    assert np.min(np.abs(fpr - (1 - tpr))) == 0.0


def test_metric_config_is_validated():
    m = had.get_metric("auc_pf_tau", n_thresholds=100)
    assert dict(m.params) == {"n_thresholds": 100}
    with pytest.raises(had.ConfigError):
        had.get_metric("auc_pf_tau", n_thresholds=1)
    with pytest.raises(had.ConfigError):
        had.get_metric("auroc", bogus=1)


def test_metric_input_errors():
    with pytest.raises(LabelError):
        metrics.auroc([0, 1, 1], [0.1, 0.2])
    with pytest.raises(LabelError):
        metrics.auroc([0, 2, 1], [0.1, 0.2, 0.3])
    with pytest.raises(LabelError):
        metrics.auroc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(had.InvalidInputError):
        metrics.auroc([0, 1], [0.1, np.nan])
    with pytest.raises(had.UnknownNameError, match="auroc"):
        had.get_metric("aucroc")


def test_average_ranks_are_scipys_rankdata_with_ties():
    """AUROC's ranks are numpy's now (importing scipy.stats for rankdata cost 1.2 s of every command that measured
    one); the same ranks as scipy's on ties, floats, integers and one value."""
    from scipy.stats import rankdata

    from had.metrics import average_ranks

    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(1, 60))
        values = (rng.integers(0, int(rng.integers(1, 10)), size=n) if trial % 2 else rng.normal(size=n))
        values = values.astype(np.float32) if trial % 5 == 0 else values
        np.testing.assert_array_equal(average_ranks(values), rankdata(values))
    np.testing.assert_array_equal(average_ranks(np.array([0.0, -0.0, 1.0])), [1.5, 1.5, 3.0])
