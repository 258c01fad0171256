"""`had demo` is the hsi plugin's command (the core knows no scene): it runs RX and checks published AUROCs."""

from __future__ import annotations

import csv

import had.plugins
import pytest
from had.cli import main


def test_demo_is_registered_by_the_hsi_plugin():
    import click

    had.plugins.reset()
    group = click.Group("had")
    had.plugins.add_commands(group)
    assert "demo" in group.commands
    info = {p.name: p for p in had.plugins.plugins()}["hsi"]
    assert info.registers.get("command") == ["demo"]


def test_demo_without_real_scenes_runs_rx_on_the_synthetic_scene(tmp_path, monkeypatch, capsys):
    pytest.importorskip("had_synthetic")
    monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path / "empty"))
    main(["demo", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert "real scenes are not in HAD_DATA_DIR" in out
    with open(tmp_path / "out" / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["detector"], r["dataset"]) for r in rows] == [("rx", "synthetic-scene")]
    assert float(rows[0]["auroc"]) > 0.9  # RX finds the planted sub-pixel targets


def test_demo_runs_again_in_its_folder_but_keeps_another_grids_results(tmp_path, monkeypatch, capsys):
    """`make demo` twice writes demo-out again; a folder holding another grid's cells is refused (exit 2) and
    left byte for byte, as `had bench` without --resume or --overwrite refuses it."""
    pytest.importorskip("had_synthetic")
    monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path / "empty"))
    for _ in range(2):
        main(["demo", "--out", str(tmp_path / "out")])
    with open(tmp_path / "out" / "results.csv") as fh:
        assert [(r["detector"], r["dataset"]) for r in csv.DictReader(fh)] == [("rx", "synthetic-scene")]
    earlier_with_the_scenes = "detector,dataset,seed,auroc,error\nrx,synthetic-scene,0,0.99,\nrx,hydice,0,0.97,\n"
    (tmp_path / "out" / "results.csv").write_text(earlier_with_the_scenes)
    main(["demo", "--out", str(tmp_path / "out")])  # a demo's folder from a run that had the real scenes
    grid = tmp_path / "grid"
    grid.mkdir()
    table = "detector,dataset,seed,auroc,error\nlren,hydice,0,0.99,\n"
    (grid / "results.csv").write_text(table)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--out", str(grid)])
    assert exit_.value.code == 2
    assert "holds another grid's results" in capsys.readouterr().err
    assert [p.name for p in grid.iterdir()] == ["results.csv"] and (grid / "results.csv").read_text() == table


def test_demo_keeps_a_study_of_its_own_cells_with_other_settings(tmp_path, monkeypatch, capsys):
    """`had bench --detectors rx --datasets synthetic-scene --set rx.contamination=0.05 --out study` then
    `had demo -o study` replaced the study's results, settings and figures without a word (the same cells)."""
    pytest.importorskip("had_synthetic")
    monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path / "empty"))
    study = tmp_path / "study"
    main(["bench", "--detectors", "rx", "--datasets", "synthetic-scene", "--set", "rx.contamination=0.05",
          "--data", "synthetic-scene.noise=0.05", "--no-plots", "--out", str(study)])
    before = {p.name: p.read_bytes() for p in study.iterdir()}
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "-o", str(study)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "holds another grid's results" in err and "another folder (-o DIR)" in err and "--overwrite" not in err
    assert {p.name: p.read_bytes() for p in study.iterdir()} == before


def test_demo_with_a_damaged_scene_says_so_and_checks_the_others(tmp_path, monkeypatch, capsys):
    """A real scene in HAD_DATA_DIR with one byte changed failed its cell, then the demo died on KeyError 'auroc'
    with a traceback."""
    import shutil

    from had.datadir import data_dir

    from had_hsi.scenes import SCENES

    source = data_dir() / SCENES["hydice"].file.relpath
    if not source.is_file():
        pytest.skip(f"{source} is not available")
    data = tmp_path / "data"
    (data / source.parent.name).mkdir(parents=True)
    damaged = data / SCENES["hydice"].file.relpath
    shutil.copyfile(source, damaged)
    raw = bytearray(damaged.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    damaged.write_bytes(bytes(raw))
    monkeypatch.setenv("HAD_DATA_DIR", str(data))
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--out", str(tmp_path / "out")])
    assert exit_.value.code == 1
    out = capsys.readouterr().out
    assert "RX on hydice: not measured (" in out and "sha256" in out


def test_demo_with_data_dir_naming_a_file_says_so(tmp_path, monkeypatch, capsys):
    pytest.importorskip("had_synthetic")
    (tmp_path / "afile").write_text("not a folder")
    monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path / "afile"))
    main(["demo", "--out", str(tmp_path / "out")])
    assert "(HAD_DATA_DIR) is not a folder" in capsys.readouterr().out
