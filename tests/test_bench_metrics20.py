"""``had bench --metrics`` (and a grid file's ``metrics``): the metrics each cell computes, all shown in the summary.

Was: the grid computed had.bench's default metrics and no others: ``eer`` and any metric plugin's metric
(``had list metrics`` listed them) could not be asked for from the command line or a grid file, and the summary
(results.md, report.html, the terminal) showed a fixed four even when the Python API named others."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from had_sdk.testing import run_cli

import had
from had import plugins
from had.metrics import Metric

SCENE = ("--datasets", "synthetic-scene", "--data", "synthetic-scene.height=24", "--data", "synthetic-scene.width=24")


def _rows(out):
    with open(out / "results.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_metrics_named_are_computed_and_all_shown(capsys, tmp_path):
    out = tmp_path / "o"
    code, stdout, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--seeds", "0-1", "--metrics",
                                "auroc,eer", "--no-plots", "--out", out)
    assert code == 0, err
    rows = _rows(out)
    assert list(rows[0]) == ["detector", "dataset", "seed", "auroc", "eer", "fit_s", "score_s", "error"]
    # the same cells' AUROC as the default grid's, and their EER computed from the same scores
    default = tmp_path / "default"
    assert run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--seeds", "0-1", "--no-plots", "--out",
                   default)[0] == 0
    assert [r["auroc"] for r in rows] == [r["auroc"] for r in _rows(default)]
    data = had.load_dataset("synthetic-scene", height=24, width=24)
    det = had.get_detector("rx").fit(data.X)
    expected = had.get_metric("eer")(np.ravel(data.y), np.ravel(det.decision_scores_))
    assert 0 < expected < 0.5 and float(rows[0]["eer"]) == pytest.approx(expected, rel=1e-5)
    header = "| dataset | detector | seeds | auroc | eer | fit_s | score_s |"
    assert header in stdout and header in (out / "results.md").read_text()
    report = (out / "report.html").read_text()
    summary = report[report.index('<table id="summary"'):report.index('<table id="cells"')]
    assert "<th>eer</th>" in summary and "<th>auprc</th>" not in summary  # the metrics named, those alone


class CountsScored:
    """A metric plugin: how many samples a cell scored."""

    @had.hookimpl
    def register_metrics(self, register):
        register(Metric("n-scored", lambda y, scores: float(np.size(scores)), True, description="samples scored"))


def test_a_metric_plugins_metric_is_computed_in_each_cell(capsys, tmp_path):
    plugins.register_plugin(CountsScored(), name="counts-scored-plugin")
    try:
        out = tmp_path / "o"
        code, stdout, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--metrics", "auroc,n-scored",
                                    "--no-plots", "--out", out)
        assert code == 0, err
        assert float(_rows(out)[0]["n-scored"]) == 24 * 24  # every pixel of the 24x24 scene (transductive)
        assert "| n-scored |" in stdout
        # workers load the installed distributions only: refused before any cell, not an empty column per cell
        code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--metrics", "n-scored", "--no-plots",
                               "--executor", "processes", "--out", tmp_path / "p")
        assert code == 2 and "metric 'n-scored' comes from plugin 'counts-scored-plugin'" in err
    finally:
        plugins.unregister_plugin("counts-scored-plugin")


def test_a_grid_files_metrics_and_the_option_over_them(capsys, tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text('detectors = ["rx"]\nmetrics = ["auroc", "eer"]\n'
                    '[datasets.synthetic-scene]\nheight = 24\nwidth = 24\n')
    code, _, err = run_cli(capsys, "bench", "--config", grid, "--no-plots", "--out", tmp_path / "a")
    assert code == 0, err
    assert list(_rows(tmp_path / "a")[0])[3:5] == ["auroc", "eer"]
    code, _, err = run_cli(capsys, "bench", "--config", grid, "--metrics", "auprc", "--no-plots", "--out",
                           tmp_path / "b")
    assert code == 0, err
    assert list(_rows(tmp_path / "b")[0])[3] == "auprc" and "eer" not in _rows(tmp_path / "b")[0]


@pytest.mark.parametrize(("given", "said"), [
    (("--metrics", "auroc,nope"), "unknown metric 'nope'"),
    (("--metrics", "auroc,auroc"), "metric(s) auroc given more than once; list each metric once"),
])
def test_a_wrong_metric_is_one_line_before_any_cell(capsys, tmp_path, given, said):
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, *given, "--no-plots", "--out",
                           tmp_path / "o")
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_a_grid_files_metrics_of_the_wrong_kind_are_one_line(capsys, tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text('detectors = ["rx"]\ndatasets = ["synthetic-scene"]\nmetrics = 3\n')
    code, _, err = run_cli(capsys, "bench", "--config", grid, "--no-plots")
    assert code == 2 and "metrics must be a list of metric names (had list metrics) or a table of NAME = " \
        "{parameters}, not 3" in err


def test_metrics_given_empty_are_refused(capsys, tmp_path):
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--metrics", " , ", "--no-plots")
    assert code == 2 and "--metrics" in err and "is empty" in err


def test_the_help_names_the_default_metrics_as_bench_has_them(capsys):
    from had.bench import DEFAULT_METRICS, SUMMARY_METRICS

    code, out, _ = run_cli(capsys, "bench", "--help")
    said = " ".join(out.split())
    assert code == 0
    assert f"[default: {', '.join(DEFAULT_METRICS)}; the summary shows {', '.join(SUMMARY_METRICS)}]" in said
