"""Settings a user types that were taken without a word or ended in a traceback (an audit of `--set`, `--data`,
the options of score, bench and serve, and grid files; 6 December 2026): each is now one line, exit 2, and
nothing is written."""

from __future__ import annotations

import pytest
from had.cli import main


def _refused(args: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_a_key_given_twice_with_two_values_is_refused(tmp_path, capsys):
    """Was: the last value kept (`--set contamination=0.1 --set contamination=0.3` fitted 0.3)."""
    err = _refused(["fit", "rx", "synthetic-scene", "-o", str(tmp_path / "m"), "--set", "contamination=0.1",
                    "--set", "contamination=0.3"], capsys)
    assert "contamination is given twice (0.1, then 0.3); give it once" in err
    assert not (tmp_path / "m").exists()
    main(["fit", "rx", "synthetic-scene", "-o", str(tmp_path / "m"), "--set", "contamination=0.1",
          "--set", "contamination=0.1"])  # the same value twice says one thing: taken
    assert (tmp_path / "m").is_dir()
    from had.cli_args import parse_settings

    assert str(parse_settings(("a=NaN", "a=NaN"))["a"]) == "nan"  # NaN twice is one value given twice
    with pytest.raises(Exception, match=r"a is given twice \(1, then true\)"):  # 1 == True in Python, not here
        parse_settings(("a=1", "a=true"))
    assert parse_settings(("t=1" + "0" * 5000,))["t"] == "1" + "0" * 5000  # past the digit limit: the text


def test_a_bench_setting_without_a_field_is_said_as_such(capsys):
    """Was: "(config): Extra inputs are not permitted" for `--set rx.=1`."""
    err = _refused(["bench", "--detectors", "rx", "--datasets", "synthetic-table", "--set", "rx.=1"], capsys)
    assert "rx.: use --set DETECTOR.key=value (a name, a dot, a field)" in err


@pytest.mark.parametrize("option", ["-o", "--png", "--out"])
def test_an_empty_output_path_is_refused(tmp_path, option, capsys, monkeypatch):
    """Was: ``-o ""`` taken for no -o: scored, wrote nothing, exit 0."""
    main(["fit", "rx", "synthetic-scene", "-o", str(tmp_path / "m")])
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    err = _refused(["score", str(tmp_path / "m"), "synthetic-scene", option, ""], capsys)
    assert f"'{option}" in err and "is empty: name a file or folder, or leave the option out" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_an_empty_bench_out_is_refused_on_the_command_line_and_in_a_grid_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    err = _refused(["bench", "--detectors", "rx", "--datasets", "synthetic-table", "--out", ""], capsys)
    assert "'--out': is empty" in err
    grid = tmp_path / "grid.toml"
    grid.write_text('detectors = ["rx"]\ndatasets = ["synthetic-table"]\nout = ""\n')
    err = _refused(["bench", "--config", str(grid)], capsys)
    assert "out is empty; give it, or leave the key out" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.toml"]


def test_a_yaml_grid_with_a_key_twice_is_refused_and_a_merge_key_still_overrides(tmp_path, capsys):
    """Was: ``{contamination: 0.1, contamination: 0.3}`` ran 0.3 (PyYAML keeps the last; TOML refuses)."""
    pytest.importorskip("yaml")
    twice = tmp_path / "twice.yaml"
    twice.write_text("detectors:\n  rx: {contamination: 0.1, contamination: 0.3}\ndatasets: [synthetic-table]\n")
    err = _refused(["bench", "--config", str(twice)], capsys)
    assert "the key 'contamination' is given twice; give it once" in err
    from had.grid import grid_from_options

    merged = tmp_path / "merged.yaml"
    merged.write_text("detectors:\n  rx: &base {contamination: 0.1, seed: 3}\n  pyod-knn:\n    <<: *base\n"
                      "    contamination: 0.2\ndatasets: [synthetic-table]\n")
    grid = grid_from_options(merged)
    assert grid.detector_config["pyod-knn"] == {"contamination": 0.2, "seed": 3}


def test_map_format_with_o_is_refused_as_the_other_out_options_are(tmp_path, capsys):
    """Was: ``-o x.csv --map-format npy`` wrote the CSV and ignored --map-format."""
    main(["fit", "rx", "synthetic-scene", "-o", str(tmp_path / "m")])
    capsys.readouterr()
    err = _refused(["score", str(tmp_path / "m"), "synthetic-scene", "-o", str(tmp_path / "x.csv"),
                    "--map-format", "npy"], capsys)
    assert "--map-format" in err and "need --out FOLDER" in err
    assert not (tmp_path / "x.csv").exists()


def test_a_ray_address_without_the_ray_executor_is_said(capsys):
    """Was: ignored without a word (the grid ran here, one cell at a time, when a cluster was meant)."""
    main(["bench", "--detectors", "rx", "--datasets", "synthetic-table", "--ray-address", "ray://head:10001"])
    err = capsys.readouterr().err
    assert ("[bench] note: --ray-address ray://head:10001 applies to --executor ray; serial runs on this machine "
            "(add --executor ray)") in err


def test_serve_refuses_an_empty_host(tmp_path, capsys):
    """Was: every interface, said as ``http://:PORT``."""
    main(["fit", "rx", "synthetic-scene", "-o", str(tmp_path / "m")])
    capsys.readouterr()
    err = _refused(["serve", str(tmp_path / "m"), "--host", ""], capsys)
    assert "'--host': is empty: give an address" in err


def test_a_named_dataset_s_own_scene_or_table_is_not_swapped_by_a_setting():
    """Was: ``had fit rx abu-airport-1 --data scene=hydice`` fitted HYDICE (and ``thyroid --data table=cardio``
    cardio), exit 0; the positional DATASET overridden without a word. The same value is taken."""
    import had
    from had import plugins

    names = plugins.registry()["datasource"]
    if "abu-airport-1" not in names or "thyroid" not in names:
        pytest.skip("had-plugin-hsi or had-plugin-odds is not installed")
    with pytest.raises(had.ConfigError, match=r"dataset abu-airport-1 is scene='abu-airport-1'; scene='hydice' names "
                                              r"another: give that one as the dataset"):
        had.get_datasource("abu-airport-1", scene="hydice")
    with pytest.raises(had.ConfigError, match=r"dataset thyroid is table='thyroid'; table='cardio' names another"):
        had.get_datasource("thyroid", {"table": "cardio"})
    assert had.get_datasource("abu-airport-1", scene="abu-airport-1").config.scene == "abu-airport-1"


def test_a_preset_that_does_not_name_the_data_is_still_a_default_the_user_overrides(tmp_path):
    """Only a source's ``named_by`` presets are fixed (a review of the fix above: every preset was, so a plugin's
    ``register("my-cube", ..., bands="1-5")`` could no longer be read with ``bands="1-8"``, against the hook's
    documented "config values applied before the user's")."""
    import numpy as np

    import had
    from had import plugins

    np.save(tmp_path / "cube.npy", np.random.default_rng(0).random((8, 8, 10)))

    class Preset:
        @had.hookimpl
        def register_datasources(self, register):
            register("preset-cube", "had.npy_source:NpyFile", path=str(tmp_path / "cube.npy"), bands="1-5")

    plugins.register_plugin(Preset(), name="preset-cube-plugin")
    try:
        assert had.load_dataset("preset-cube").X.shape == (8, 8, 5)
        assert had.load_dataset("preset-cube", {"bands": "1-8"}).X.shape == (8, 8, 8)
    finally:
        plugins.unregister_plugin("preset-cube-plugin")


@pytest.mark.parametrize("args, option, optional", [
    (["fit", "rx", "synthetic-table", "-o", ""], "-o", False),
    (["fit", "rx", "synthetic-table", "-o", "m", "--known", ""], "--known", True),
    (["bench", "--config", ""], "--config", True),
    (["demo", "-o", ""], "-o", True),
])
def test_an_empty_path_is_refused_by_every_command(tmp_path, args, option, optional, capsys, monkeypatch):
    """Was (a docs probe of 7 December 2026): ``had fit -o ""`` told "the current folder or holds it", ``had
    demo -o ""`` wrote demo-out, ``had bench --config ""`` said "no detectors". A required option is not told
    it may be left out."""
    monkeypatch.chdir(tmp_path)
    err = _refused(args, capsys)
    assert f"'{option}" in err and "is empty: name a file or folder" in err
    assert ("or leave the option out" in err) == optional
    assert list(tmp_path.iterdir()) == []
