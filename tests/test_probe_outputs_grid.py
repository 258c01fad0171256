"""A probe's findings on where commands write and on grid files: `had bench --out` and `had plugin new --dest`
into a saved model, `had fit --overwrite` onto a file or a folder of the user's, a grid file nested hundreds of
levels deep, and two messages (a negative seed count, `had export` of a link). Each is one typed line, exit 2,
with nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import had
from had.errors import ConfigError
from had.grid import load_grid, parse_seeds
from had_sdk.testing import run_cli


def listing(root: Path) -> dict[str, bytes | None]:
    """Every file and folder under `root` (links as where they point): what a refusal must leave as it was."""
    found: dict[str, bytes | None] = {}
    for here, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(here, name)
            found[str(path.relative_to(root))] = (f"-> {os.readlink(path)}".encode() if path.is_symlink()
                                                  else None if path.is_dir() else path.read_bytes())
    return found


@pytest.fixture
def cube(tmp_path, monkeypatch) -> Path:
    """A 20 x 30 x 6 cube in an empty working folder (the probe's `cube.npy`)."""
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "cube.npy", np.random.default_rng(0).random((20, 30, 6)))
    return tmp_path / "cube.npy"


@pytest.fixture
def model(cube) -> Path:
    """`had fit rx cube.npy -o model`."""
    return had.save(had.get_detector("rx").fit(np.load(cube)), cube.parent / "model")


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("out", ["model", "model/sub"])
def test_bench_out_in_a_saved_model_is_refused_before_anything_is_written(model, capsys, out):
    """Was: the grid's results.csv, results.md, report.html and grid.json written into the model (exit 0), which
    `had export model` and `had fit --overwrite` then refused ("holds grid.json, ... which had did not write")."""
    before = listing(model.parent)
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-scene", "--out", out,
                           "--no-plots")
    line = one_error_line(err)
    where = "is the saved model" if out == "model" else "is inside the saved model"
    assert code == 2 and f"the output folder {out} {where} {model}" in line, line
    assert "give a folder outside it for the results" in line, line
    assert listing(model.parent) == before


@pytest.mark.parametrize("dest", ["model", "model/sub"])
def test_plugin_new_dest_in_a_saved_model_is_refused_before_anything_is_written(model, capsys, dest):
    """Was: had-plugin-zz/ written into the model (exit 0), which could then no longer be exported or replaced."""
    before = listing(model.parent)
    code, _, err = run_cli(capsys, "plugin", "new", "zz", "--dest", dest)
    line = one_error_line(err)
    assert code == 2 and f"--dest {dest}" in line and f"the saved model {model}" in line, line
    assert "give a folder outside it for the plugin" in line, line
    assert listing(model.parent) == before


def test_new_plugin_from_python_refuses_a_saved_model_as_dest(model):
    """The check lives in ``had_sdk.scaffold.new_plugin``, so a Python caller gets it as the command does."""
    from had_sdk.scaffold import new_plugin

    before = listing(model.parent)
    with pytest.raises(ConfigError, match="is the saved model"):
        new_plugin("zz", model)
    assert listing(model.parent) == before


def test_the_models_own_save_and_outputs_beside_it_still_go_through(model, capsys, tmp_path):
    """The refusals above are for a model's folder only: a folder beside it takes the grid, the plugin and a model."""
    assert run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-scene", "--out", "results",
                   "--no-plots")[0] == 0
    assert run_cli(capsys, "plugin", "new", "zz", "--dest", "plugins")[0] == 0
    code, _, err = run_cli(capsys, "fit", "rx", "cube.npy", "-o", "model", "--overwrite")
    assert code == 0, err
    assert (tmp_path / "results" / "results.csv").is_file() and (tmp_path / "plugins" / "had-plugin-zz").is_dir()


@pytest.mark.parametrize("target, said", [("cube.npy", "is a file, not an artifact folder"),
                                          ("results", "holds other files (notes.txt) and is not a had artifact")])
def test_fit_overwrite_checks_the_target_before_fitting(cube, capsys, target, said):
    """Was: with --overwrite the target was not looked at before the fit: `-o cube.npy --overwrite` fitted, then
    refused at the save. --overwrite replaces a had artifact only; the target is checked first either way."""
    (cube.parent / "results").mkdir()
    (cube.parent / "results" / "notes.txt").write_text("mine\n")
    before = listing(cube.parent)
    code, out, err = run_cli(capsys, "fit", "rx", "cube.npy", "-o", target, "--overwrite")
    line = one_error_line(err)
    assert code == 2 and said in line and "(nothing was written)" in line, line
    assert "fitted" not in out + err, out + err  # refused before the fit, not after it
    assert listing(cube.parent) == before


@pytest.mark.parametrize("suffix, form", [("toml", "detectors = {open}{close}\ndatasets = [\"synthetic-scene\"]\n"),
                                          ("yaml", "detectors: {open}{close}\ndatasets: [synthetic-scene]\n")])
def test_a_grid_file_nested_hundreds_deep_is_one_config_error(tmp_path, monkeypatch, capsys, suffix, form):
    """Was: a RecursionError traceback from tomllib or PyYAML, exit 1."""
    if suffix == "yaml":
        pytest.importorskip("yaml")
    monkeypatch.chdir(tmp_path)
    (tmp_path / f"deep.{suffix}").write_text(form.format(open="[" * 600, close="]" * 600))
    before = listing(tmp_path)
    code, _, err = run_cli(capsys, "bench", "--config", f"deep.{suffix}")
    line = one_error_line(err)
    assert code == 2 and f"grid file deep.{suffix} nests lists or tables too deeply" in line, line
    assert listing(tmp_path) == before
    with pytest.raises(ConfigError, match="too deeply"):
        load_grid(tmp_path / f"deep.{suffix}")


def test_a_negative_seed_count_is_said_as_seeds_being_non_negative(tmp_path, monkeypatch, capsys):
    """Was: "seeds -3: a count must be at least 1 (...; seed -3 alone: -3--3)", offering a form itself refused."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "grid.toml").write_text('detectors = ["rx"]\ndatasets = ["synthetic-scene"]\nseeds = -3\n')
    code, _, err = run_cli(capsys, "bench", "--config", "grid.toml")
    line = one_error_line(err)
    assert code == 2 and "seeds -3: seeds are non-negative integers" in line and "-3--3" not in line, line
    assert "seed 0 alone: 0-0" in str(pytest.raises(ConfigError, parse_seeds, 0).value)


def test_export_of_a_link_to_a_model_says_to_give_the_folder_it_points_to(model, capsys):
    """Was: "mlink is a symbolic link; choose a new folder for the artifact, or the folder it points to", the
    advice of `had fit -o`: an export rewrites the model it is given, so only the model's own folder will do."""
    (model.parent / "mlink").symlink_to("model")
    before = listing(model.parent)
    code, _, err = run_cli(capsys, "export", "mlink")
    line = one_error_line(err)
    assert code == 2 and f"give the folder it points to ({model}) instead" in line, line
    assert "choose a new folder" not in line, line
    assert listing(model.parent) == before


def test_fit_to_a_link_to_a_folder_of_other_files_says_choose_a_new_folder(cube, capsys):
    """A link to a folder of someone's files: following "give the folder it points to" would be refused again
    ("holds other files"), so the line says to choose a new folder (the review of the export wording)."""
    (cube.parent / "data").mkdir()
    (cube.parent / "data" / "notes.txt").write_text("mine\n")
    (cube.parent / "dlink").symlink_to("data")
    before = listing(cube.parent)
    code, _, err = run_cli(capsys, "fit", "rx", "cube.npy", "-o", "dlink")
    line = one_error_line(err)
    assert code == 2 and "is a symbolic link" in line and "choose a new folder for the artifact" in line, line
    assert "give the folder it points to" not in line, line
    assert listing(cube.parent) == before


def test_a_link_to_a_models_subfolder_is_inside_the_model(model, capsys):
    """The outputs check follows links (was: abspath, so a link to model/sub passed as a folder of its own)."""
    (model / "sub").mkdir()
    (model.parent / "slink").symlink_to(model / "sub")
    before = listing(model.parent)
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-scene", "--out", "slink",
                           "--no-plots")
    line = one_error_line(err)
    assert code == 2 and f"is inside the saved model {model}" in line, line
    assert listing(model.parent) == before
