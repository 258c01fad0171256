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
    ("rx @x", "write a variant NAME@LABEL with no space"),
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
    assert registered_detector("lren@w0.25+k-3_x") == "lren"
    with pytest.raises(ConfigError, match="NAME@LABEL"):
        registered_detector("lren@ ")
    # was: any text, a newline breaking results.md's rows, a comma making it unnameable on the command line
    for label in ("lren@a@b", "lren@a b", "lren@x\ny", "lren@a,b", "lren@\u00fc", "lren@" + "x" * 65):
        with pytest.raises(ConfigError, match="a variant's label is 1 to 64 letters, digits or _ . \\+ -"):
            registered_detector(label)


def test_results_md_says_what_each_variant_is(capsys, tmp_path):
    out = tmp_path / "o"
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx,rx@c2,rx@same", "--set", "rx@c2.contamination=0.2",
                           *TABLE, "--metrics", "auroc,precision_at_n,precision_at_n@top5,precision_at_n@d",
                           "--metric-set", "precision_at_n.n=3", "--metric-set", "precision_at_n@top5.n=5",
                           "--out", out)
    assert code == 0, err
    notes = (out / "results.md").read_text().split("## Notes")[1]
    for said in ("detector rx@c2 is rx with contamination=0.2", "detector rx@same is rx at its defaults",
                 "metric precision_at_n with n=3", "metric precision_at_n@top5 is precision_at_n with n=5",
                 "metric precision_at_n@d is precision_at_n at its defaults"):
        assert f"- {said}\n" in notes, said
    assert "detector rx " not in notes and "metric auroc" not in notes
    report = (out / "report.html").read_text()
    assert "&quot;variant_of&quot;: &quot;rx&quot;" in report  # in the cells' configs of rx@c2 and rx@same


def test_settings_for_a_name_outside_the_grid_are_refused_in_python_too(tmp_path):
    from had import bench

    with pytest.raises(ConfigError, match="settings given for detector.s. 'rx@c', which the grid does not name "
                                          "\\(rx@b\\)"):
        bench.run(["rx@b"], ["synthetic-table"], [0], detector_config={"rx@c": {"contamination": 0.3}},
                  out=tmp_path / "o", plots=False)
    with pytest.raises(ConfigError, match="settings given for dataset.s. 'synthetic-scene'"):
        bench.run(["rx"], ["synthetic-table"], [0], dataset_config={"synthetic-scene": {"height": 8}}, plots=False)
    assert not (tmp_path / "o").exists()


def test_a_plugin_cannot_register_a_name_holding_the_variant_mark():
    import had
    from had import plugins
    from had.metrics import Metric
    from had.rx import RX

    class Marked:
        @had.hookimpl
        def register_detectors(self, register):
            register("rx@fast", RX)

        @had.hookimpl
        def register_metrics(self, register):
            register(Metric("auroc@half", lambda y, s: 0.5))

    plugins.register_plugin(Marked(), name="marked-names")
    assert "rx@fast" not in plugins.names("detector") and "auroc@half" not in plugins.names("metric")
    said = plugins.load_errors()["marked-names"]
    assert said.count("its name holds '@', which names a variant (NAME@LABEL) in a grid") == 2


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


@pytest.mark.parametrize("command", ["fit", "score"])
def test_had_fit_and_score_refuse_a_metric_variant(capsys, tmp_path, command):
    """Was: computed at the metric's defaults and said (and saved in the manifest) under the variant's name."""
    model = tmp_path / "m"
    if command == "score":
        assert run_cli(capsys, "fit", "rx", "synthetic-table", "-o", model)[0] == 0
        args = ("score", model, "synthetic-table")
    else:
        args = ("fit", "rx", "synthetic-table", "-o", model)
    code, _, err = run_cli(capsys, *args, "--metrics", "auroc,precision_at_n@top10")
    assert code == 2 and "metric precision_at_n@top10: NAME@LABEL names a variant of a metric in a grid" in err
    assert "name it precision_at_n" in err
    assert (command == "score") == model.exists()


def test_metric_parameters_are_recorded_as_validated(capsys, tmp_path):
    """Was: as typed: a YAML "10" then 10 on the command line refused as a change, ``n=null`` (the default) then
    nothing refused with an empty difference, numpy's int64 from Python a TypeError writing grid.json."""
    import numpy as np

    from had import bench

    grid = tmp_path / "grid.yaml"
    grid.write_text("detectors: [rx]\ndatasets: [synthetic-table]\nmetrics:\n  auroc:\n  precision_at_n@top10: "
                    "{n: '10'}\n  precision_at_n:\n    n: null\n")
    out = tmp_path / "o"
    assert run_cli(capsys, "bench", "--config", grid, "--no-plots", "--out", out)[0] == 0
    assert json.loads((out / "grid.json").read_text())["metric_config"] == {"precision_at_n@top10": {"n": 10}}
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--metrics",
                           "auroc,precision_at_n@top10,precision_at_n", "--metric-set", "precision_at_n@top10.n=10",
                           "--no-plots", "--out", out, "--resume")
    assert code == 0, err
    result = bench.run(["rx"], ["synthetic-table"], [0], metrics=["precision_at_n@t"],
                       metric_config={"precision_at_n@t": {"n": np.int64(4)}}, out=tmp_path / "p", plots=False)
    assert json.loads((tmp_path / "p" / "grid.json").read_text())["metric_config"] == {"precision_at_n@t": {"n": 4}}
    assert result.rows[0]["precision_at_n@t"] in (0.0, 0.25, 0.5, 0.75, 1.0)


def test_a_grid_files_settings_of_names_the_command_line_leaves_out_are_dropped(capsys, tmp_path):
    """Was (for a moment): "settings given for detector(s) 'pyod-iforest', which the grid does not name", exit 2,
    where 6d6bcd3 ran the narrowed grid."""
    grid = tmp_path / "g.toml"
    grid.write_text('baseline = "pyod-iforest"\n[detectors.rx]\n[detectors.pyod-iforest]\nn_estimators = 20\n'
                    '[datasets.synthetic-table]\nn_samples = 300\n[datasets.synthetic-scene]\nheight = 24\n'
                    'width = 24\n')
    out = tmp_path / "o"
    code, stdout, err = run_cli(capsys, "bench", "--config", grid, "--detectors", "rx", "--datasets",
                                "synthetic-scene", "--no-plots", "--out", out)
    assert code == 0, err
    assert "the grid file's baseline pyod-iforest is not among --detectors: no baseline comparison" in err
    assert {(r["detector"], r["dataset"]) for r in _rows(out)} == {("rx", "synthetic-scene")}
    assert "Against the baseline" not in stdout
    code, stdout, err = run_cli(capsys, "bench", "--config", grid, "--detectors", "rx,pyod-iforest@a",
                                "--baseline", "rx", "--datasets", "synthetic-table", "--no-plots")
    assert code == 0, err
    assert "Against the baseline rx" in stdout and "no baseline comparison" not in err


def test_a_folder_of_the_had_before_metric_parameters_resumes(capsys, tmp_path):
    """Its grid.json has no metric_config: no parameters given, as today's runs without --metric-set."""
    out = tmp_path / "o"
    assert run_cli(capsys, "bench", "--detectors", "rx", *TABLE, "--metrics", "auroc,auc_pf_tau", "--out",
                   out)[0] == 0
    record = json.loads((out / "grid.json").read_text())
    assert "metric_config" not in record
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx,pyod-iforest", *TABLE, "--metrics",
                           "auroc,auc_pf_tau", "--out", out, "--resume")
    assert code == 0, err
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *TABLE, "--metrics", "auroc,auc_pf_tau",
                           "--metric-set", "auc_pf_tau.n_thresholds=10", "--out", out, "--resume")
    assert code == 2 and "metric auc_pf_tau's parameters differ" in err  # was said "null then": the default
    assert "(n_thresholds at its default then, 10 now)" in err


def test_had_describe_says_where_a_metrics_parameters_are_given(capsys):
    code, stdout, _ = run_cli(capsys, "describe", "auc_pf_tau")
    assert code == 0 and "in a grid: had bench --metrics auc_pf_tau --metric-set auc_pf_tau.n_thresholds=VALUE" \
        in stdout
    code, stdout, _ = run_cli(capsys, "describe", "auroc")  # no parameters: nothing to say
    assert code == 0 and "in a grid" not in stdout
