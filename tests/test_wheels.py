"""The analyst's journey from wheels: `pip install had-plugin-lren` from `dist/` into a fresh venv resolves had,
had-sdk and had-plugin-hsi from that folder, and the README's data can be read.

Runs only with ``HAD_WHEEL_TEST=1`` (``make wheel-test``: builds ``dist/`` with ``make wheels`` first). Offline:
the fresh venv sees this interpreter's third-party packages (torch, numpy, ...) through a ``.pth`` file of
symlinks, without any had distribution, and pip resolves every had distribution from ``dist/`` alone
(``--no-index``), so a missing dependency between had's own distributions fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from had_sdk.testing import third_party_only

ROOT = Path(__file__).resolve().parents[1]
DIST = Path(os.environ.get("HAD_WHEEL_DIR", ROOT / "dist"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("HAD_WHEEL_TEST") != "1",
                       reason="installs wheels into a fresh venv (~1 min); run `make wheel-test` (HAD_WHEEL_TEST=1)"),
]


def _run(venv: Path, *args: str, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAD_PLUGINS", "HAD_DISABLE", "PYTHONPATH"))}
    return subprocess.run([str(venv / "bin" / "python"), *args], check=check, capture_output=True, text=True,
                          timeout=600, env=env, cwd=cwd)


def test_every_distribution_has_a_wheel_with_licence_and_metadata():
    wheels = sorted(DIST.glob("*.whl"))
    if not wheels:
        pytest.fail(f"no wheels in {DIST}: run `make wheels` first")
    names = {w.name.split("-")[0] for w in wheels}
    expected = {"had", "had_sdk"} | {"had_plugin_" + p.name for p in (ROOT / "plugins").iterdir()
                                     if (p / "pyproject.toml").is_file()}
    assert expected <= names, expected - names
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            files = zf.namelist()
            metadata = zf.read(next(n for n in files if n.endswith(".dist-info/METADATA"))).decode()
            licence = [n for n in files if "/licenses/LICENSE" in n]
            assert licence and b"MIT License" in zf.read(licence[0]), wheel.name
        assert "License-Expression: MIT" in metadata and "Project-URL: Homepage" in metadata, wheel.name
        assert "Classifier: " in metadata and "Keywords: " in metadata and "Author: " in metadata, wheel.name


def test_lren_from_wheels_in_a_fresh_venv_reads_its_readme_data(tmp_path):
    (lren,) = DIST.glob("had_plugin_lren-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "third_party.pth").write_text(f"{third_party_only(tmp_path / 'deps')}\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", str(venv / "bin" / "python"),
         "install", "--no-index", "--find-links", str(DIST), "had-plugin-lren"],
        capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    for dist in ("had-0.1.0", "had-sdk-0.1.0", "had-plugin-hsi-0.1.0", "had-plugin-lren-0.1.0"):
        assert dist in install.stdout.replace("_", "-"), install.stdout
    assert "had-plugin-odds" not in install.stdout.replace("_", "-")

    script = subprocess.run([str(venv / "bin" / "had"), "--version"], capture_output=True, text=True, timeout=120)
    assert script.returncode == 0 and "had, version" in script.stdout, script.stderr  # its entry: core/had_entry.py
    listing = _run(venv, "-c", "from had.cli import main; main()", "plugins").stdout
    assert "had-plugin-lren" in listing and "had-plugin-hsi" in listing and "had-plugin-odds" not in listing
    datasets = _run(venv, "-c", "from had.cli import main; main()", "list", "datasets").stdout
    assert "sandiego_plane" in datasets and "hsi-file" in datasets

    # a name another distribution provides: the error says which one, and exits 2 without a traceback
    missing = _run(venv, "-c", "from had.cli import main; main()", "fit", "rx", "cardio", "-o", str(tmp_path / "m"),
                   check=False)
    assert missing.returncode == 2 and "'cardio'" in missing.stderr and "Traceback" not in missing.stderr
    hint = _run(venv, "-c", "import had.catalog as c, had.plugins; print(c.unknown_name_message('datasource', 'cardio', "
                "had.plugins.names('datasource')))").stdout
    assert "it comes with had-plugin-odds, which is not installed here; pip install had-plugin-odds" in hint

    # the README's scene, when the data is here; and LREN fits from the installed wheel either way
    code = ("import os, numpy as np, had, had_lren; assert 'site-packages' in had_lren.__file__\n"
            "if os.path.isfile(os.path.join(os.environ.get('HAD_DATA_DIR', '/nonexistent'), 'hsi/sandiego_plane.mat')):\n"
            "    print(had.load_dataset('sandiego_plane').describe())\n"
            "X = np.random.default_rng(0).normal(size=(200, 6))\n"
            "d = had.get_detector('lren', epochs=2, hidden=8, latent=3, est_hidden=4, clusters=2, device='cpu',"
            " progress=False).fit(X)\nprint(d.decision_function(X).shape)")
    out = _run(venv, "-c", code, cwd=tmp_path).stdout.strip().splitlines()
    assert out[-1] == "(200,)"
    if os.environ.get("HAD_DATA_DIR") and (Path(os.environ["HAD_DATA_DIR"]) / "hsi/sandiego_plane.mat").is_file():
        assert out[0] == "sandiego_plane: cube 100x100x189, 134 anomalies"
