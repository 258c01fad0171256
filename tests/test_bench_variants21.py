"""A detector's variants in one grid: ``NAME@LABEL`` runs the registered NAME with settings of its own, in rows,
summary lines, figures and grid.json entries named ``NAME@LABEL``.

Was: a grid held one set of settings per detector (``--set NAME.key=value``, ``[detectors.NAME]``), so comparing
two settings of one detector (an ablation, a sweep) took two grids, two folders and a table stitched by hand, as
the LREN rounds' ``--set lren.raw_weight=0`` grid beside the default's did."""

from __future__ import annotations

import csv
import json

import pytest
from had_sdk.testing import run_cli

from had.errors import ConfigError
from had.grid import registered_detector

TABLE = ("--datasets", "synthetic-table", "--seeds", "0-1", "--no-plots")


def _rows(out):
    with open(out / "results.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _by_cell(rows):
    return {(r["detector"], r["dataset"], r["seed"]): r for r in rows}


def test_a_variant_runs_its_detector_with_its_own_settings_beside_the_default(capsys, tmp_path):
    out = tmp_path / "grid"
    code, stdout, err = run_cli(capsys, "bench", "--detectors", "pyod-iforest,pyod-iforest@few", "--set",
                                "pyod-iforest@few.n_estimators=5", *TABLE, "--metrics", "auroc", "--out", out)
    assert code == 0, err
    cells = _by_cell(_rows(out))
    assert sorted({d for d, _, _ in cells}) == ["pyod-iforest", "pyod-iforest@few"]
    # the variant's rows are what pyod-iforest at n_estimators=5 gives alone, the plain rows what it gives by default
    alone, default = tmp_path / "alone", tmp_path / "default"
    assert run_cli(capsys, "bench", "--detectors", "pyod-iforest", "--set", "pyod-iforest.n_estimators=5", *TABLE,
                   "--metrics", "auroc", "--out", alone)[0] == 0
    assert run_cli(capsys, "bench", "--detectors", "pyod-iforest", *TABLE, "--metrics", "auroc", "--out",
                   default)[0] == 0
    for seed in ("0", "1"):
        few = cells["pyod-iforest@few", "synthetic-table", seed]["auroc"]
        assert few == _by_cell(_rows(alone))["pyod-iforest", "synthetic-table", seed]["auroc"]
        assert cells["pyod-iforest", "synthetic-table", seed]["auroc"] == \
            _by_cell(_rows(default))["pyod-iforest", "synthetic-table", seed]["auroc"]
        assert few != cells["pyod-iforest", "synthetic-table", seed]["auroc"]  # the settings reached the variant
    record = json.loads((out / "grid.json").read_text())
    assert record["detectors"]["pyod-iforest@few"]["n_estimators"] == 5
    assert record["detectors"]["pyod-iforest"]["n_estimators"] == 100
    assert record["distributions"]["pyod-iforest@few"]["distribution"] == "had-plugin-pyod"
    assert "| synthetic-table | pyod-iforest@few | 2 |" in (out / "results.md").read_text()


def test_a_grid_file_names_variants_and_resume_keeps_their_settings_apart(capsys, tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text('seeds = "0-1"\nmetrics = ["auroc"]\n\n[detectors.pyod-iforest]\n'
                    '[detectors."pyod-iforest@few"]\nn_estimators = 5\n\n[datasets.synthetic-table]\n')
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "bench", "--config", grid, "--no-plots", "--out", out)
    assert code == 0, err
    first = _rows(out)
    assert len(first) == 4 and {r["detector"] for r in first} == {"pyod-iforest", "pyod-iforest@few"}
    # the same grid resumed: nothing rerun; the variant's settings changed: refused, naming the variant
    assert run_cli(capsys, "bench", "--config", grid, "--no-plots", "--out", out, "--resume")[0] == 0
    assert _rows(out) == first
    grid.write_text(grid.read_text().replace("n_estimators = 5", "n_estimators = 7"))
    code, _, err = run_cli(capsys, "bench", "--config", grid, "--no-plots", "--out", out, "--resume")
    assert code == 2 and "pyod-iforest@few's settings differ" in err and "n_estimators 5 then, 7 now" in err


def test_variants_run_alike_in_worker_processes(capsys, tmp_path):
    serial, processes = tmp_path / "serial", tmp_path / "processes"
    args = ("bench", "--detectors", "pyod-iforest@few,pyod-iforest@many", "--set", "pyod-iforest@few.n_estimators=5",
            "--set", "pyod-iforest@many.n_estimators=20", *TABLE, "--metrics", "auroc")
    assert run_cli(capsys, *args, "--out", serial)[0] == 0
    code, _, err = run_cli(capsys, *args, "--out", processes, "--executor", "processes", "--workers", "2")
    assert code == 0, err
    auroc = {k: r["auroc"] for k, r in _by_cell(_rows(serial)).items()}
    assert auroc == {k: r["auroc"] for k, r in _by_cell(_rows(processes)).items()} and len(auroc) == 4
    assert len(set(auroc.values())) == 4


@pytest.mark.parametrize("label, said", [
    ("rx@", "a variant is NAME@LABEL"),
    ("@x", "a variant is NAME@LABEL"),
    ("rx @x", "without spaces around the @"),
    ("nope@x", "detector nope@x, a variant of nope: unknown detector 'nope'"),
])
def test_a_malformed_or_unknown_variant_is_one_line(capsys, tmp_path, label, said):
    code, stdout, err = run_cli(capsys, "bench", "--detectors", label, *TABLE, "--out", tmp_path / "o")
    assert code == 2 and said in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_a_variants_settings_are_checked_as_its_detectors(capsys, tmp_path):
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx@x", "--set", "rx@x.foo=1", *TABLE)
    assert code == 2 and "detector rx@x, a variant of rx: invalid config for detector rx: foo" in err
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx,rx@x", "--set", "rx@y.contamination=0.2", *TABLE)
    assert code == 2 and "'rx@y' is not one of this grid's detectors (rx, rx@x)" in err


def test_the_registered_name_of_a_label():
    assert registered_detector("rx") == "rx" and registered_detector("lren@raw0") == "lren"
    assert registered_detector("lren@a@b") == "lren"  # the label is everything after the first @
    with pytest.raises(ConfigError, match="NAME@LABEL"):
        registered_detector("lren@ ")


def test_a_variant_label_given_to_had_fit_says_what_to_use(capsys, tmp_path):
    code, _, err = run_cli(capsys, "fit", "rx@x", "synthetic-table", "-o", tmp_path / "m")
    assert code == 2 and "NAME@LABEL names a variant of rx in a grid (had bench); elsewhere use rx" in err
    assert not (tmp_path / "m").exists()


# a metric's parameters: --metric-set METRIC.key=value, a grid file's [metrics.NAME] tables, variants NAME@LABEL
# (was: a grid computed each metric at its config's defaults; precision among the top 10 could not be asked for)

SCENE = ("--datasets", "synthetic-scene", "--data", "synthetic-scene.height=24", "--data", "synthetic-scene.width=24",
         "--seeds", "0-0", "--no-plots")


def test_metric_variants_are_columns_of_their_own_with_their_parameters(capsys, tmp_path):
    import numpy as np

    import had

    out = tmp_path / "o"
    code, stdout, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--metrics",
                                "precision_at_n,precision_at_n@top5,precision_at_n@top40", "--metric-set",
                                "precision_at_n@top5.n=5", "--metric-set", "precision_at_n@top40.n=40", "--out", out)
    assert code == 0, err
    (row,) = _rows(out)
    data = had.load_dataset("synthetic-scene", height=24, width=24)
    scores = had.get_detector("rx").fit(data.X).decision_scores_.ravel()
    y = np.ravel(data.y)
    top = np.argsort(-scores, kind="stable")
    for column, n in (("precision_at_n@top5", 5), ("precision_at_n@top40", 40), ("precision_at_n", int(y.sum()))):
        assert float(row[column]) == pytest.approx(y[top[:n]].mean(), abs=1e-6), column
    assert float(row["precision_at_n@top5"]) != float(row["precision_at_n@top40"])
    assert "metric precision_at_n@top5 is precision_at_n with n=5" in (out / "results.md").read_text()
    record = json.loads((out / "grid.json").read_text())
    assert record["metric_config"] == {"precision_at_n@top5": {"n": 5}, "precision_at_n@top40": {"n": 40}}
    # resumed with other parameters: refused, naming the metric
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--metrics",
                           "precision_at_n,precision_at_n@top5,precision_at_n@top40", "--metric-set",
                           "precision_at_n@top5.n=6", "--metric-set", "precision_at_n@top40.n=40", "--out", out,
                           "--resume")
    assert code == 2 and "metric precision_at_n@top5's parameters differ" in err and "n 5 then, 6 now" in err


def test_a_grid_files_metric_tables_give_parameters_and_the_workers_get_them(capsys, tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text('[detectors.rx]\n[datasets.synthetic-table]\n[metrics.auroc]\n[metrics.precision_at_n]\nn = 3\n'
                    '[metrics."auc_pf_tau@coarse"]\nn_thresholds = 10\n')
    serial, processes = tmp_path / "serial", tmp_path / "processes"
    assert run_cli(capsys, "bench", "--config", grid, "--seeds", "0-1", "--no-plots", "--out", serial)[0] == 0
    code, _, err = run_cli(capsys, "bench", "--config", grid, "--seeds", "0-1", "--no-plots", "--out", processes,
                           "--executor", "processes", "--workers", "2")
    assert code == 0, err
    rows = _rows(serial)
    assert list(rows[0])[3:6] == ["auroc", "precision_at_n", "auc_pf_tau@coarse"]
    assert [{k: r[k] for k in list(r)[:6]} for r in rows] == [{k: r[k] for k in list(r)[:6]} for r in _rows(processes)]
    import had
    from had.protocols import apply

    data = had.load_dataset("synthetic-table")
    split = apply("adbench", data, seed=0)
    scores = had.get_detector("rx", seed=0).fit(split.train.X).decision_function(split.test.X)
    coarse = had.get_metric("auc_pf_tau", n_thresholds=10)(split.test.y, scores)
    assert coarse != had.get_metric("auc_pf_tau")(split.test.y, scores)
    assert float(rows[0]["auc_pf_tau@coarse"]) == pytest.approx(coarse, rel=1e-5)
    assert float(rows[0]["precision_at_n"]) == pytest.approx(had.get_metric("precision_at_n", n=3)(split.test.y,
                                                                                                  scores), abs=1e-6)


@pytest.mark.parametrize("args, said", [
    (("--metrics", "auroc", "--metric-set", "auprc.n=1"), "'auprc' is not one of this grid's metrics (auroc)"),
    (("--metrics", "auroc,auroc@x", "--metric-set", "auroc@x.k=1"),
     "metric auroc@x, a variant of auroc: invalid config for metric auroc: k"),
    (("--metrics", "auroc,nope@x"), "metric nope@x, a variant of nope: unknown metric 'nope'"),
    (("--metric-set", "precision_at_n.n=0"), "invalid config for metric precision_at_n: n"),
])
def test_a_bad_metric_parameter_is_one_line_before_any_cell(capsys, tmp_path, args, said):
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *TABLE, *args, "--out", tmp_path / "o")
    assert code == 2 and said in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
