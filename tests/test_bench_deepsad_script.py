"""benchmarks/bench_deepsad.py writes where ``--out`` says and never replaces a result file unasked.

Was: no ``--out``; it wrote benchmarks/results/deepsad/odds<tag>.csv and, without ``--resume``, opened it with
"w": the documented command, shortened, truncated the committed results."""

from __future__ import annotations

import csv
import importlib.util
import os
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("had_pyod")
SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_deepsad.py"
ODDS = Path(os.environ.get("HAD_DATA_DIR", "")) / "odds"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("bench_deepsad_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_existing_result_file_is_kept_without_resume_or_overwrite(script, tmp_path, capsys):
    (tmp_path / "odds.csv").write_text("dataset,seed\nkept,0\n")
    committed = script.OUT / "odds.csv"
    before = committed.stat().st_mtime_ns if committed.exists() else None
    code = script.main(["--out", str(tmp_path), "--datasets", "arrhythmia", "--methods", "pyod-iforest",
                        "--seeds", "1"])
    err = capsys.readouterr().err
    assert code == 2 and (tmp_path / "odds.csv").read_text() == "dataset,seed\nkept,0\n"
    assert f"error: {tmp_path / 'odds.csv'} exist(s) and this run would replace them: add --resume" in err
    assert "--overwrite to replace, or give another --out" in err and len(err.strip().splitlines()) == 1
    assert (committed.stat().st_mtime_ns if committed.exists() else None) == before
    code = script.main(["--out", str(tmp_path), "--resume", "--overwrite"])
    assert code == 2 and "--resume keeps the rows in the result files and --overwrite replaces them: give one" in \
        capsys.readouterr().err


@pytest.mark.skipif(not (ODDS / "arrhythmia.mat").exists() and not any(ODDS.glob("arrhythmia*")),
                    reason="ODDS arrhythmia not in HAD_DATA_DIR")
def test_out_gets_the_results_and_overwrite_replaces_them(script, tmp_path):
    args = ["--out", str(tmp_path / "mine"), "--datasets", "arrhythmia", "--methods", "pyod-iforest", "--seeds", "1"]
    assert script.main(args) == 0
    with open(tmp_path / "mine" / "odds.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["dataset"], r["method"]) for r in rows] == [("arrhythmia", "pyod-iforest")]
    assert (tmp_path / "mine" / "odds.md").is_file()
    assert script.main(args) == 2  # the second run would replace the first's
    assert script.main([*args, "--overwrite"]) == 0
    with open(tmp_path / "mine" / "odds.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 1


def test_the_docstring_names_the_current_deepsvdd_default(script):
    doc = script.__doc__
    assert "sixth round" in doc and "8 restarts" in doc and "whitened input" in doc
    assert "--out" in doc
