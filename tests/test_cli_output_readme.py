"""The README's CLI quickstart, run as written: every `had ...` line of it, in order, in a fresh folder."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from realdata import real_file
from test_reliability_cli import run_cli

README = Path(__file__).resolve().parents[1] / "README.md"
#: the files under HAD_DATA_DIR the quickstart's commands read
NEEDED = ["hsi/HYDICE_data.mat", "hsi/HYDICE-II.mat", "hsi/sandiego_plane.mat"]


def quickstart_commands() -> list[list[str]]:
    """The argument lists of the `had` lines in the code block under "## CLI quickstart" (comments dropped)."""
    text = README.read_text()
    block = re.search(r"## CLI quickstart\s+```sh\n(.*?)```", text, re.S)
    assert block, "README.md has no ```sh block under '## CLI quickstart'"
    lines = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("had ")]


def write_envi_line(folder: Path, shape=(60, 40, 8), seed=0) -> None:
    """line.hdr + line.img: a small BSQ float32 ENVI flight line, as a sensor's processing chain writes one."""
    lines, samples, bands = shape
    cube = np.random.default_rng(seed).normal(size=(bands, lines, samples)).astype("<f4")
    cube[:, 30:32, 20:22] += 6.0  # a small bright object
    cube.tofile(folder / "line.img")
    targets = np.zeros((lines, samples), dtype=np.uint8)
    targets[30:32, 20:22] = 1
    np.save(folder / "targets.npy", targets)  # the object's mask, as a user draws it
    (folder / "line.hdr").write_text(
        "ENVI\n"
        f"samples = {samples}\nlines = {lines}\nbands = {bands}\nheader offset = 0\n"
        "file type = ENVI Standard\ndata type = 4\ninterleave = bsq\nbyte order = 0\n")


def test_the_quickstart_has_the_commands_it_documents():
    commands = quickstart_commands()
    assert {c[0] for c in commands} == {"plugins", "list", "describe", "fit", "score", "bench", "demo"}
    assert any(c[0] == "score" and "-o" in c for c in commands)


def test_every_quickstart_command_runs_in_order(tmp_path, monkeypatch, capsys):
    for relpath in NEEDED:
        real_file(relpath)  # skips with the reason when HAD_DATA_DIR or a file is absent
    pytest.importorskip("had_hsi")
    monkeypatch.setenv("HAD_DATA_DIR", os.path.abspath(os.environ["HAD_DATA_DIR"]))  # CI gives ../shared/data
    monkeypatch.chdir(tmp_path)
    write_envi_line(tmp_path)
    for args in quickstart_commands():
        code, out, err = run_cli(capsys, *args)
        assert code == 0, f"`had {shlex.join(args)}` exited {code}:\n{out}\n{err}"
        if any(a.startswith("map_path=") for a in args):
            assert "auroc 1.0000" in out + err  # the bright object is the map's top
    assert (tmp_path / "scores.csv").read_text().startswith("row,col,score,label\n")
    assert (tmp_path / "map.tif").stat().st_size > 0 and (tmp_path / "map.png").stat().st_size > 1000
