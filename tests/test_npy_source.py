"""A bare ``.npy`` array is claimed by the core's own plugin (``npy-file``), like any file a plugin claims: one path
works the same in ``had.load_dataset``, ``had fit``, ``had bench`` and ``had score``."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import had
from had import plugins
from had.cli import main
from had.hookspecs import hookimpl
from had.scenefiles import source_for_path


@pytest.fixture
def rows(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 4))
    X[:6] += 5.0  # six planted anomalies
    y = np.zeros(120, dtype=np.int64)
    y[:6] = 1
    np.save(tmp_path / "rows.npy", X)
    np.save(tmp_path / "truth.npy", y)
    return tmp_path / "rows.npy", tmp_path / "truth.npy", X, y


def test_npy_is_claimed_by_the_core_and_loads_with_optional_labels(rows):
    path, truth, X, y = rows
    assert source_for_path(path) == "npy-file" and source_for_path(path.with_suffix(".NPY")) == "npy-file"
    assert source_for_path(path.with_suffix(".xls")) is None
    data = had.load_dataset(str(path))
    assert data.name == "rows" and data.y is None and data.meta == {"path": str(path)}
    np.testing.assert_array_equal(data.X, X)
    labelled = had.load_dataset(str(path), labels=str(truth))
    np.testing.assert_array_equal(labelled.y, y)
    assert had.load_dataset(str(path), labels="None").y is None  # as the docs spell "no labels"


def test_labels_of_another_length_are_one_typed_error(rows, tmp_path):
    path, _, _, _ = rows
    np.save(tmp_path / "short.npy", np.zeros(7, dtype=np.int64))
    with pytest.raises(had.HadError) as exc:
        had.load_dataset(str(path), labels=str(tmp_path / "short.npy"))
    assert len(str(exc.value).splitlines()) == 1


def test_one_npy_path_in_fit_bench_and_score(rows, tmp_path, capsys):
    path, truth, X, y = rows
    expected = had.get_detector("rx").fit(X).decision_function(X)
    main(["fit", "rx", str(path), "-o", str(tmp_path / "m")])
    main(["score", str(tmp_path / "m"), str(path), "--engine", "eager", "-o", str(tmp_path / "s.npy")])
    np.testing.assert_allclose(np.load(tmp_path / "s.npy"), expected)
    # bench's settings are DATASET.key=value, and a file's name has a dot of its own
    main(["bench", "--detectors", "rx", "--datasets", str(path), "--data", f"{path}.labels={truth}",
          "--protocol", "transductive", "--out", str(tmp_path / "bench")])  # the rows fitted are those measured
    with open(tmp_path / "bench" / "results.csv", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert float(row["auroc"]) == pytest.approx(had.get_metric("auroc")(y, expected), abs=1e-4)
    assert float(row["auroc"]) > 0.99  # the six shifted rows rank first
    capsys.readouterr()


class _ClaimsNpy:
    """A data plugin that reads ``.npy`` files its own way."""

    @hookimpl
    def source_for_path(self, path):
        return "table-file" if path.endswith(".npy") else None


def test_a_plugin_that_claims_npy_is_asked_before_the_core(rows):
    path = rows[0]
    pm = plugins.plugin_manager()
    plugin = _ClaimsNpy()
    pm.register(plugin, name="claims-npy")
    try:
        assert source_for_path(path) == "table-file"
    finally:
        pm.unregister(plugin)
    assert source_for_path(path) == "npy-file"


def test_rows_in_a_npy_file_are_benchmarked_on_the_table_protocol(tmp_path):
    """The same rows as a .csv got the adbench split and as a .npy the transductive protocol (fitted and measured
    on the same rows): a .npy's default protocol now follows its shape, read from the header alone."""
    import had
    from had import bench

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = np.zeros(300, dtype=np.int64)
    y[:15] = 1
    X[:15] += 4.0
    np.save(tmp_path / "rows.npy", X)
    np.save(tmp_path / "truth.npy", y)
    np.save(tmp_path / "cube.npy", rng.normal(size=(6, 5, 3)))
    assert had.get_datasource(str(tmp_path / "cube.npy")).default_protocol == "transductive"
    spec = str(tmp_path / "rows.npy")
    result = bench.run(["rx"], [spec], [0], dataset_config={spec: {"labels": str(tmp_path / "truth.npy")}},
                       plots=False, echo=lambda line: None)
    assert result.datasets["rows"]["protocol"] == "adbench" and not result.rows[0].get("error")


def test_a_band_never_measured_is_left_out_as_the_note_says_and_scoring_repeats_it(tmp_path, capsys):
    """had's note for a band holding the no-data value in every pixel says "leave it out (--data bands= the
    others)"; a .npy cube was refused that setting ("bands applies to scene files")."""
    cube = np.random.default_rng(0).normal(size=(20, 20, 6))
    cube[..., 2] = -9999.0
    cube[:2, :2, :] = -9999.0
    np.save(tmp_path / "dead.npy", cube)
    model, out = tmp_path / "m", tmp_path / "map.npy"
    main(["fit", "rx", str(tmp_path / "dead.npy"), "-o", str(model), "--set", "nodata=-9999",
          "--data", "bands=1-2,4-6"])
    assert "using 5 bands (bands 1-2, 4-6 of the file)" in capsys.readouterr().out
    assert had.load(str(model)).input_spec_["data_view"] == {"bands": "1-2,4-6", "of": 6}
    main(["score", str(model), str(tmp_path / "dead.npy"), "-o", str(out)])  # the model's bands, unasked
    kept = cube[..., [0, 1, 3, 4, 5]]
    expected = had.get_detector("rx", nodata=-9999.0).fit(kept).decision_function(kept)
    np.testing.assert_allclose(np.load(out), expected, rtol=1e-9, equal_nan=True)


def test_bands_of_rows_are_refused_with_the_fix(rows):
    path, _, _, _ = rows
    with pytest.raises(had.ConfigError, match=r"rows.npy holds a 2-D array \(120, 4\), and bands selects the bands "
                                              "of a cube"):
        had.load_dataset(str(path), bands="1-2")
