"""Two plugins registering one name: which is kept must not depend on install (entry point discovery) order.

Was (audit): a third-party ``had-plugin-bad`` registering ``autoencoder``, discovered first, took the name from
had-plugin-autoencoder (`had fit autoencoder` fitted the impostor, `had describe` said "plugin bad"), and a model
saved by had-plugin-autoencoder then loaded into the impostor's class, or failed with an unrelated config error.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import had
from had import catalog

HAD = [sys.executable, "-m", "had.cli"]

IMPOSTOR = '''
import had
from had.rx import RX


class Impostor(RX):
    """RX under a name another distribution provides."""


@had.hookimpl
def register_detectors(register):
    register({name!r}, Impostor, summary="the impostor")
'''


def _fake_dist(site: Path, dist: str, entry_point: str, detector: str) -> None:
    """An installed distribution in `site` (module, dist-info with its `had` entry point) registering `detector`:
    written by hand, as pip would lay it out, so the test needs no pip run."""
    module = dist.replace("-", "_")
    site.mkdir(exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(IMPOSTOR.format(name=detector)))
    info = site / f"{module}-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text(f"[had]\n{entry_point} = {module}\n")


def _run(code_or_args, *sites: Path) -> subprocess.CompletedProcess:
    """`had ARGS` (a list) or ``python -c CODE`` (a str) with `sites` first on the path, in that order."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, sites), os.environ.get("PYTHONPATH", "")])}
    env.pop("HAD_PLUGINS", None)
    env.pop("HAD_DISABLE_PLUGINS", None)
    cmd = HAD + code_or_args if isinstance(code_or_args, list) else [sys.executable, "-c", code_or_args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def _listed(*sites: Path) -> dict[str, dict]:
    out = _run(["plugins", "--json"], *sites)
    assert out.returncode == 0, out.stderr
    return {p["name"]: p for p in json.loads(out.stdout)}


def test_a_catalog_name_stays_with_its_distribution_whatever_the_discovery_order(tmp_path):
    """had-plugin-bad registers "autoencoder" and is discovered before had-plugin-autoencoder: had's is kept, the
    impostor's registration is refused and its `had plugins` row names the distribution the name belongs to."""
    owner = catalog.provider("detector", "autoencoder")
    try:
        md.distribution(owner)
    except md.PackageNotFoundError:
        pytest.skip(f"{owner} is not installed")
    site = tmp_path / "site"
    _fake_dist(site, "had-plugin-bad", "bad", "autoencoder")
    order = _run("import importlib.metadata as md; print([ep.name for ep in md.entry_points(group='had')])", site)
    discovered = eval(order.stdout)  # noqa: S307 - our own subprocess's list of names
    assert discovered.index("bad") < discovered.index("autoencoder"), discovered  # the audit's install order

    listed = _listed(site)
    bad, kept = listed["bad"], listed["autoencoder"]
    assert kept["error"] is None and kept["registers"]["detector"] == ["autoencoder"]
    assert "detector" not in bad["registers"]
    assert "'autoencoder'" in bad["error"] and owner in bad["error"] and "refused" in bad["error"]
    described = _run(["describe", "autoencoder"], site)
    assert described.returncode == 0, described.stderr
    assert "plugin autoencoder)" in described.stdout and "plugin bad" not in described.stdout


def test_a_name_outside_the_catalog_goes_to_the_first_distribution_by_name_in_any_order(tmp_path):
    """Two third-party distributions register "clash-shared": the one first by distribution name is kept, whichever
    is discovered first, and the other's error says which rule kept the name."""
    zeta, alpha = tmp_path / "zeta", tmp_path / "alpha"
    _fake_dist(zeta, "had-plugin-clash-zeta", "clash-zeta", "clash-shared")
    _fake_dist(alpha, "had-plugin-clash-alpha", "clash-alpha", "clash-shared")
    for sites in ((zeta, alpha), (alpha, zeta)):
        listed = _listed(*sites)
        assert listed["clash-alpha"]["registers"].get("detector") == ["clash-shared"], sites
        assert listed["clash-alpha"]["error"] is None
        error = listed["clash-zeta"]["error"]
        assert "detector 'clash-shared' is already registered by plugin 'clash-alpha'" in error, error
        assert "first by distribution name" in error, error


@pytest.fixture
def saved_rx(tmp_path):
    X = np.random.default_rng(0).normal(size=(16, 12, 5))
    return had.save(had.get_detector("rx").fit(X), tmp_path / "model")


def _edit_manifest(path: Path, **changes) -> None:
    manifest_path = path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest.update(changes)
    manifest_path.write_text(json.dumps(manifest))


def test_a_model_of_another_distribution_is_refused_in_one_line_naming_both(saved_rx):
    _edit_manifest(saved_rx, distribution="had-plugin-elsewhere")
    with pytest.raises(had.ArtifactError) as info:
        had.load(saved_rx)
    assert str(info.value) == (
        f"{saved_rx} was saved by had-plugin-elsewhere's 'rx'; that name is now provided by had (plugin 'had'): "
        "install or enable had-plugin-elsewhere (`had plugins`)")


def test_a_model_of_the_providing_distribution_or_of_none_loads(saved_rx):
    assert json.loads((saved_rx / "manifest.json").read_text())["distribution"] == "had"  # the core records "had"
    assert had.load(saved_rx).name == "rx"
    _edit_manifest(saved_rx, distribution=None)  # older models
    assert had.load(saved_rx).name == "rx"
    manifest = json.loads((saved_rx / "manifest.json").read_text())
    del manifest["distribution"]
    (saved_rx / "manifest.json").write_text(json.dumps(manifest))
    assert had.load(saved_rx).name == "rx"


def test_a_catalog_name_whose_distribution_is_not_installed_is_free(monkeypatch):
    """A notebook's own `autoencoder`, where had-plugin-autoencoder is not installed, is not refused."""
    from had import catalog, plugins

    monkeypatch.setattr(catalog, "_installed", lambda dist: False)
    assert plugins._reserved_for("detector", "autoencoder", None) is None
    monkeypatch.setattr(catalog, "_installed", lambda dist: True)
    assert plugins._reserved_for("detector", "autoencoder", None) == "had-plugin-autoencoder"
    assert plugins._reserved_for("detector", "autoencoder", "had_plugin_autoencoder") is None
