"""`had bench`'s report.html rendered by a real headless Chromium, offline: the screenshot shows the page and its
figures (skipped with a reason when no chromium is on PATH; Debian: apt-get install chromium)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from had import bench

BROWSER = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(name)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no chromium on PATH (Debian: apt-get install chromium)")


def screenshot(page, png, tmp_path, width: int = 1200, height: int = 1800) -> np.ndarray:
    """The page as Chromium draws it, as an (H, W, 3) array of 0..255 (no network, no profile, no GPU)."""
    PIL = pytest.importorskip("PIL.Image")
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={width},{height}",
               f"--screenshot={png}", page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert png.exists(), f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-1500:]}"
    with PIL.open(png) as image:
        return np.asarray(image.convert("RGB"), dtype=int)


def test_the_report_renders_with_its_figures(tmp_path):
    out = tmp_path / "bench"
    bench.run(["rx"], ["synthetic-scene"], [0], out=out, echo=lambda line: None)
    pixels = screenshot(out / "report.html", tmp_path / "report.png", tmp_path)
    assert pixels.shape == (1800, 1200, 3)
    ink = (pixels.sum(axis=2) < 600).mean()  # anything not near-white: text, tables, figures
    assert 0.02 < ink < 0.9, f"the page looks blank or black ({ink:.3f} inked)"
    # near-black areas (the ground truth's background, the maps' darkest scores) appear only if the embedded PNGs
    # were decoded and drawn: the page's own text is #222 and its tables are grey
    dark = (pixels.sum(axis=2) < 60).mean()
    assert dark > 0.01, f"no figure was drawn ({dark:.4f} of the pixels near black)"


def test_without_figures_the_page_is_grey_text(tmp_path):
    """The same check tells a page without figures apart, so the test above does measure the figures."""
    out = tmp_path / "bench"
    bench.run(["rx"], ["synthetic-scene"], [0], out=out, echo=lambda line: None, plots=False)
    pixels = screenshot(out / "report.html", tmp_path / "report.png", tmp_path)
    assert (pixels.sum(axis=2) < 600).mean() > 0.01
    assert (pixels.sum(axis=2) < 60).mean() < 0.001
