"""The plugin stands alone: its wheel installs into an environment holding only the core and the SDK (plus
their third-party dependencies) and adds `lren` to `had plugins`.

Slow (three wheel builds and a fresh venv: ~20-40 s on a shared 2-core machine), so it runs only with
``HAD_LREN_INSTALL_TEST=1``; the same steps by hand are in the README ("Installing alone").
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from had_sdk.testing import third_party_only

ROOT = Path(__file__).resolve().parents[3]
PLUGIN = ROOT / "plugins" / "lren"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("HAD_LREN_INSTALL_TEST") != "1",
                       reason="builds wheels and a venv (~30 s); set HAD_LREN_INSTALL_TEST=1 to run"),
]


def _pip(*args: str, cwd: Path | None = None) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True,
                   cwd=cwd, timeout=300)


def _site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python*/site-packages"))


def _had(venv: Path, *args: str) -> str:
    code = "import sys; from had.cli import main; main(sys.argv[1:])"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAD_PLUGINS", "HAD_DISABLE", "PYTHONPATH"))}
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code, *args], check=True, capture_output=True,
                         text=True, timeout=300, env=env)
    return out.stdout


def test_wheel_installs_alone_and_registers_lren(tmp_path):
    wheels = tmp_path / "wheels"
    # --no-build-isolation: offline; `pip wheel --no-deps plugins/lren` does the same with network access
    _pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(PLUGIN))
    (wheel,) = wheels.glob("had_plugin_lren-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        entry_points = zf.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
        metadata = zf.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "[had]" in entry_points and "lren = had_lren.plugin" in entry_points
    assert {"had_lren/plugin.py", "had_lren/detector.py", "had_lren/lrr.py"} <= set(names)
    assert not any(n.startswith("tests") for n in names)
    for requirement in ("Requires-Dist: had<0.2,>=0.1", "Requires-Dist: had-sdk<0.2,>=0.1",
                        "Requires-Dist: had-plugin-hsi<0.2,>=0.1", "Requires-Dist: torch>=2.3"):
        assert requirement in metadata, metadata

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = _site_packages(venv)
    deps = third_party_only(tmp_path / "deps")
    (site / "third_party.pth").write_text(f"{deps}\n")
    # the core and the SDK, as wheels (no other plugin)
    _pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT), str(ROOT / "sdk"))
    core_and_sdk = [str(w) for w in wheels.glob("*.whl") if not w.name.startswith("had_plugin_lren")]
    _pip("install", "--no-deps", "--target", str(site), *core_and_sdk)

    before = _had(venv, "plugins")
    assert "lren" not in before and "| had |" in before

    _pip("install", "--no-deps", "--target", str(site), str(wheel))
    after = _had(venv, "plugins")
    row = next(line for line in after.splitlines() if line.startswith("| lren |"))
    assert "had-plugin-lren" in row and "detectors: lren" in row and row.rstrip().endswith("| ok |")
    assert "lren" in _had(venv, "list", "detectors")
    # and it fits from the installed wheel, not from the source tree
    code = ("import numpy as np, had, had_lren; assert 'site-packages' in had_lren.__file__, had_lren.__file__; "
            "X = np.random.default_rng(0).normal(size=(200, 6)); "
            "d = had.get_detector('lren', epochs=2, hidden=8, latent=3, est_hidden=4, clusters=2, device='cpu', "
            "progress=False).fit(X); print(d.decision_function(X).shape)")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], check=True, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert out.stdout.strip() == "(200,)"
