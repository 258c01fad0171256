"""`had plugin new NAME` refuses a name whose plugin would break had or replace an installed plugin, and a name
with a trailing newline (was: all written without a word)."""

from __future__ import annotations

import importlib

import click
import pytest
from click.testing import CliRunner

from had.errors import HadError
from had_sdk.plugin import register_commands
from had_sdk.scaffold import names_for, new_plugin


def _new(name: str, dest) -> str:
    cli = click.Group("had")
    register_commands(cli)
    result = CliRunner().invoke(cli, ["plugin", "new", name, "--dest", str(dest)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    assert list(dest.iterdir()) == [], "nothing is written for a refused name"
    return result.output


def _installed(site, dist: str, entry_points: str = "") -> None:
    """A distribution `dist` installed into `site` (its dist-info), with a ``[had]`` entry point section where
    given."""
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    if entry_points:
        (info / "entry_points.txt").write_text(f"[had]\n{entry_points}\n")


def test_a_package_that_would_shadow_hads_entry_point_module_is_refused(tmp_path):
    """``had plugin new entry`` wrote package ``had_entry``: had's own console entry point module, which the
    installed plugin shadowed (every ``had`` command: ImportError: cannot import name 'main')."""
    said = _new("entry", tmp_path)
    assert "had_entry" in said and "choose another name" in said


def test_the_same_distribution_under_pep503_normalisation_is_refused(tmp_path, monkeypatch):
    """With ``had-plugin-foo-bar`` installed, ``had plugin new foo_bar`` wrote ``had-plugin-foo_bar``: the same
    distribution, whose install replaced the other plugin."""
    site = tmp_path / "site"
    _installed(site, "had-plugin-foo-bar")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    dest = tmp_path / "dest"
    dest.mkdir()
    said = _new("foo_bar", dest)
    assert "had-plugin-foo-bar is installed" in said and "choose another name" in said
    with pytest.raises(HadError, match="had-plugin-foo-bar is installed"):
        new_plugin("foo-bar", dest)


def test_an_entry_point_taken_in_normalised_form_is_refused(tmp_path, monkeypatch):
    site = tmp_path / "site"
    _installed(site, "someone-elses-plugin", entry_points="foo-baz = nowhere_at_all.plugin")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    dest = tmp_path / "dest"
    dest.mkdir()
    said = _new("foo_baz", dest)
    assert "entry point of someone-elses-plugin ('foo-baz'" in said and "choose another name" in said


def test_an_importable_package_of_the_same_name_is_refused(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "had_qux_quux").mkdir()
    (site / "had_qux_quux" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    dest = tmp_path / "dest"
    dest.mkdir()
    said = _new("qux-quux", dest)
    assert "had_qux_quux is importable already" in said and "choose another name" in said


def test_a_free_name_still_goes_through(tmp_path):
    assert (new_plugin("free-name-xyz", tmp_path) / "had_free_name_xyz" / "detector.py").is_file()


@pytest.mark.parametrize("name", ["eta\n", "eta\r\n", "\neta"])
def test_a_name_with_a_newline_is_invalid(tmp_path, name):
    """``had plugin new $'eta\\n'`` exited 0 and wrote ``had-plugin-eta\\n/`` with a pyproject TOML refused: the
    pattern's ``$`` matched before the trailing newline."""
    with pytest.raises(HadError, match="invalid plugin name"):
        names_for(name)
    assert "invalid plugin name" in _new(name, tmp_path)
