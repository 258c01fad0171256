"""``had score --metrics`` (and ``had fit --metrics``): the metrics measured against the data's labels, a metric
plugin's included, in memory, tile by tile and for many files (was: AUROC and AUC(Pf, tau) only, AUROC, AUPRC and
AUC(Pf, tau) at fit, whatever `had list metrics` listed). Plugins registered here are gone after each test
(tests/conftest.py resets the registry)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from had_sdk.testing import run_cli

import had
from had import plugins
from had.metrics import Metric
from test_tiled_score_notes import geotiffs  # noqa: F401 - the fixture: two GeoTIFF scenes and their masks


def _flagged_share(y, s, threshold):
    """A threshold metric of a plugin: the share of samples above the threshold."""
    return float(np.mean(s > threshold))


class Share:
    @had.hookimpl
    def register_metrics(self, register):
        register(Metric("flagged-share", _flagged_share, needs_threshold=True))


@pytest.fixture
def share():
    plugins.register_plugin(Share(), name="flagged-share-metrics")


def test_in_memory_the_metrics_named_and_a_plugins_with_the_threshold(share, capsys, tmp_path):
    model = tmp_path / "m"
    data = ("synthetic-scene", "--data", "height=24", "--data", "width=24")
    assert run_cli(capsys, "fit", "rx", *data, "-o", model)[0] == 0
    code, out, err = run_cli(capsys, "score", model, *data, "--metrics", "auroc,eer,flagged-share", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert list(record["metrics"]) == ["auroc", "eer", "flagged-share"]
    scene = had.load_dataset("synthetic-scene", height=24, width=24)
    det = had.load(model)
    scores = np.ravel(det.decision_function(scene.X))
    assert record["metrics"]["flagged-share"] == pytest.approx(np.mean(scores > det.threshold_))
    assert record["metrics"]["eer"] == pytest.approx(had.get_metric("eer")(np.ravel(scene.y), scores))
    code, out, err = run_cli(capsys, "score", model, *data, "--json")  # the default: as before
    assert code == 0 and list(json.loads(out)["metrics"]) == ["auroc", "auc_pf_tau"]


def test_tile_by_tile_and_many_files_the_metrics_named(geotiffs, capsys, tmp_path):  # noqa: F811
    (scene, mask), (other, other_mask) = geotiffs["fit"], geotiffs["other"]
    model = str(tmp_path / "rx")
    assert run_cli(capsys, "fit", "rx", scene, "--data", f"map_path={mask}", "-o", model)[0] == 0
    code, out, err = run_cli(capsys, "score", model, other, "--data", f"map_path={other_mask}", "-o",
                             tmp_path / "map.tif", "--metrics", "auroc,auprc,precision", "--json")
    assert code == 0, err
    tiled = json.loads(out)["metrics"]
    assert list(tiled) == ["auroc", "auprc", "precision"] and 0.5 < tiled["auroc"] <= 1
    import rasterio  # the map written, against its mask, at the model's threshold

    with rasterio.open(tmp_path / "map.tif") as src, rasterio.open(other_mask) as truth:
        scores, y = src.read(1).ravel(), truth.read(1).ravel()
    above = scores > had.load(model).threshold_
    assert tiled["precision"] == pytest.approx(np.sum(above & (y == 1)) / np.sum(above))
    code, out, err = run_cli(capsys, "score", model, other, "--data", f"map_path={other_mask}", "--out",
                             tmp_path / "maps", "--metrics", "auroc,auprc,precision", "--json")
    assert code == 0, err
    [record] = json.loads(out)
    assert record["metrics"] == tiled


@pytest.mark.parametrize(("given", "said"), [("auroc,nope", "unknown metric 'nope'"), (" , ", "is empty")])
def test_a_wrong_metric_is_one_line_before_any_scoring(capsys, tmp_path, given, said):
    model = tmp_path / "m"
    assert run_cli(capsys, "fit", "rx", "synthetic-table", "-o", model)[0] == 0
    code, _, err = run_cli(capsys, "score", model, "synthetic-table", "--metrics", given, "-o", tmp_path / "s.csv")
    assert code == 2 and said in err and not (tmp_path / "s.csv").exists()


def test_had_fit_measures_the_metrics_named_on_its_data(share, capsys, tmp_path):
    data = ("synthetic-scene", "--data", "height=24", "--data", "width=24")
    code, out, err = run_cli(capsys, "fit", "rx", *data, "-o", tmp_path / "m", "--metrics", "eer,flagged-share",
                             "--json")
    assert code == 0, err
    metrics = json.loads(out)["metrics"]
    assert list(metrics) == ["eer_on_fit_data", "flagged-share_on_fit_data"]
    det = had.load(tmp_path / "m")
    assert metrics["flagged-share_on_fit_data"] == pytest.approx(np.mean(det.decision_scores_ > det.threshold_))
    code, _, err = run_cli(capsys, "fit", "rx", *data, "-o", tmp_path / "n", "--metrics", "nope")
    assert code == 2 and "unknown metric 'nope'" in err and not (tmp_path / "n").exists()


def test_an_in_process_metric_is_refused_for_worker_executors(share, capsys, tmp_path):
    model = tmp_path / "m"
    assert run_cli(capsys, "fit", "rx", "synthetic-table", "-o", model)[0] == 0
    code, _, err = run_cli(capsys, "score", model, "synthetic-table", "--out", tmp_path / "maps", "--executor",
                           "processes", "--metrics", "auroc,flagged-share")
    assert code == 2 and "metric 'flagged-share' comes from plugin 'flagged-share-metrics'" in err  # was: skipped
    assert not (tmp_path / "maps").exists()  # in every file, exit 0


def test_metrics_named_for_data_without_labels_are_said(capsys, tmp_path):
    model = tmp_path / "m"
    X = np.random.default_rng(0).normal(size=(50, 3))
    np.save(tmp_path / "rows.npy", X)
    code, out, err = run_cli(capsys, "fit", "rx", tmp_path / "rows.npy", "-o", model, "--metrics", "eer")
    assert code == 0 and "eer not measured: rows has no labels" in out + err
    code, out, err = run_cli(capsys, "score", model, tmp_path / "rows.npy", "--metrics", "auroc,eer", "--json")
    record = json.loads(out)
    assert code == 0 and record["metrics"] == {} and "auroc, eer not measured" in record["metrics_skipped"]
    assert "has no labels" in err


def test_a_metric_with_a_parameter_to_give_is_refused_by_had_score(capsys, tmp_path):
    from test_metric_plugins20 import NeedsK

    model = tmp_path / "m"
    assert run_cli(capsys, "fit", "rx", "synthetic-table", "-o", model)[0] == 0
    plugins.register_plugin(NeedsK(), name="needs-k-metrics")
    code, _, err = run_cli(capsys, "score", model, "synthetic-table", "--metrics", "needs-k")
    assert code == 2 and "metric needs-k has parameter(s) of no default (k): --metrics cannot give them" in err
    assert "had.get_metric('needs-k', k=...)" in err


def test_a_metric_named_twice_is_refused_as_had_bench_does(capsys, tmp_path):
    model = tmp_path / "m"
    assert run_cli(capsys, "fit", "rx", "synthetic-table", "-o", model)[0] == 0
    code, _, err = run_cli(capsys, "score", model, "synthetic-table", "--metrics", "auroc,eer,auroc")
    assert code == 2 and "metric(s) auroc given more than once; list each metric once" in err
