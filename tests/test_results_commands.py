"""docs/results.md's commands run as written, and the benchmarks it cites can reproduce into a folder of one's own.

* The page's shell blocks must not keep a command in a variable whose value starts with an environment
  assignment (``B="HAD_DATA_DIR=... python ..."`` then ``$B args``): bash does not treat an assignment that comes
  from an expanded variable as one, and runs a program named ``HAD_DATA_DIR=...`` (exit 127).
* ``bench_autoencoder.py`` and ``bench_geohgan.py`` take ``--out DIR``; without it they write the committed
  folder the page cites, with it they leave that folder alone.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "results.md"
BENCH = ROOT / "benchmarks"
PYTHON = sys.executable

# NAME="VALUE" / NAME='VALUE' / NAME=VALUE at the start of a line or after `;`, `&&`, `||`, `export`
ASSIGNMENT = re.compile(r"""(?:^|;|&&|\|\||\bexport\s+)\s*([A-Za-z_][A-Za-z0-9_]*)=(["']?)([^\s"']*)""")
ENV_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def shell_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, body) of every ```sh / ```bash / ```shell / ```console block of a Markdown page."""
    blocks, body, start, fence = [], [], 0, None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if fence is None:
            match = re.match(r"^(`{3,})\s*(sh|bash|shell|console)\s*$", stripped)
            if match:
                fence, body, start = match.group(1), [], number + 1
        elif stripped.startswith(fence) and stripped.strip("`") == "":
            blocks.append((start, "\n".join(body) + "\n"))
            fence = None
        else:
            body.append(line)
    return blocks


def env_in_variables(block: str) -> list[str]:
    """Lines assigning a variable whose value starts with an environment assignment (``B="X=1 cmd"``)."""
    bad = []
    for line in block.splitlines():
        code = line.split("#", 1)[0] if not line.lstrip().startswith("#") else ""
        for match in ASSIGNMENT.finditer(code):
            if ENV_PREFIX.match(match.group(3)):
                bad.append(line.strip())
    return bad


def test_env_in_variables_detects_the_broken_form():
    assert env_in_variables('B="HAD_DATA_DIR=../shared/data nice -n 10 .venv/bin/python x.py"\n$B --seeds 0\n')
    assert env_in_variables("M='HAD_DATA_DIR=/data .venv/bin/python -W ignore benchmarks'\n")
    assert env_in_variables('R="OMP_NUM_THREADS=1 $C --out x"\n')
    assert not env_in_variables('export HAD_DATA_DIR=../shared/data\nB=".venv/bin/python x.py"\n$B --seeds 0\n')
    assert not env_in_variables('HAD_DATA_DIR=../shared/data .venv/bin/python x.py --out /tmp/a\n')
    assert not env_in_variables('S="--seeds 5 --settings default"\nR="$C --out a.csv"\n')


def test_page_has_shell_blocks():
    blocks = shell_blocks(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) > 20
    assert any("bench_geohgan.py" in body for _, body in blocks)


def test_no_command_variable_starts_with_an_environment_assignment():
    bad = [f"docs/results.md:{start}: {line}" for start, body in shell_blocks(PAGE.read_text(encoding="utf-8"))
           for line in env_in_variables(body)]
    assert not bad, "export the variable on its own line instead:\n" + "\n".join(bad)


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_every_shell_block_parses_under_bash():
    failures = []
    for start, body in shell_blocks(PAGE.read_text(encoding="utf-8")):
        done = subprocess.run(["bash", "-n"], input=body, capture_output=True, text=True)
        if done.returncode:
            failures.append(f"docs/results.md:{start}: {done.stderr.strip()}")
    assert not failures, "\n".join(failures)


def _variable_form(script: str) -> str:
    """The page's form: the data path exported on its own line, the program (with nice) in a variable."""
    return (f"export HAD_DATA_DIR={os.environ.get('HAD_DATA_DIR', '../shared/data')} OMP_NUM_THREADS=1\n"
            f'B="nice -n 10 {PYTHON} -W ignore {script}"\n$B --help\n')


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("nice") is None, reason="no bash or nice")
@pytest.mark.parametrize("script", ["benchmarks/bench_geohgan.py", "benchmarks/bench_autoencoder.py"])
def test_the_pages_variable_form_runs(script):
    done = subprocess.run(["bash", "-c", _variable_form(script)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--out" in done.stdout
    # and the broken form fails the way the audit found (so the check above is not vacuous)
    broken = subprocess.run(["bash", "-c", f'B="HAD_DATA_DIR=x {PYTHON} {script}"\n$B --help\n'], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert broken.returncode == 127


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_results_commands_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("script", ["bench_autoencoder.py", "bench_geohgan.py"])
def test_help_shows_out(script):
    done = subprocess.run([PYTHON, str(BENCH / script), "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--out DIR" in done.stdout


def test_geohgan_out_writes_there_and_leaves_the_committed_folder(tmp_path):
    """A tiny run (RX only, a seed the committed runs.csv does not hold) into --out: seconds."""
    committed = BENCH / "results" / "geohgan"
    before = _digests(committed)
    out = tmp_path / "geohgan"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = [PYTHON, "-W", "ignore", str(BENCH / "bench_geohgan.py"), "--datasets", "synthetic-geochem",
            "--seeds", "7", "--baselines-only", "--no-autoencoder", "--out", str(out)]
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _digests(committed) == before  # runs.csv, results.md, summary.csv byte-identical
    assert {"runs.csv", "results.md", "summary.csv"} <= set(_digests(out))
    rows = (out / "runs.csv").read_text().splitlines()
    assert rows[0].startswith("dataset,protocol,seed,detector")
    assert [r.split(",")[:4] for r in rows[1:]] == [["synthetic-geochem", "transductive", "7", "rx-tilemean"],
                                                   ["synthetic-geochem", "transductive", "7", "rx-pixelmax"]]
    # a second run into the same folder skips rows whose key is there already
    again = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert (out / "runs.csv").read_text().splitlines() == rows
    assert _digests(committed) == before


def test_geohgan_out_defaults_to_the_committed_folder(tmp_path, monkeypatch):
    bench = _load("bench_geohgan")
    assert bench.OUT == BENCH / "results" / "geohgan"
    seen = {}
    monkeypatch.setattr(bench, "report", lambda out=bench.OUT: seen.setdefault("out", out) and "")
    bench.main(["--report-only"])
    assert seen["out"] == bench.OUT
    seen.clear()
    bench.main(["--report-only", "--out", str(tmp_path)])
    assert seen["out"] == tmp_path


def test_autoencoder_out_writes_there_and_leaves_the_committed_report(tmp_path, monkeypatch):
    """main with --skip-compare and the throughput part stubbed: the report goes to --out only."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("pyod")
    pytest.importorskip("torch")
    bench = _load("bench_autoencoder")
    committed = BENCH / "results" / "autoencoder" / "results.md"
    assert bench.OUT == committed.parent
    before = committed.read_bytes() if committed.exists() else None
    monkeypatch.setattr(bench, "throughput", lambda threads: print("throughput stub"))
    out = tmp_path / "ae"
    bench.main(["--skip-compare", "--out", str(out)])
    text = (out / "results.md").read_text()
    assert text.startswith("# bench_autoencoder") and "throughput stub" in text
    assert (committed.read_bytes() if committed.exists() else None) == before
