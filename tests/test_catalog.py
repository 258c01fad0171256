"""The table of names -> distributions that ships with the core, and the "unknown name" message built from it."""

from __future__ import annotations

import importlib.metadata as md

import pytest

import had.plugins
from had import catalog


def test_the_table_matches_what_each_installed_distribution_registers():
    """Every name a had plugin registers is in the table under its distribution, and no listed name is stale."""
    import click

    had.plugins.add_commands(click.Group())  # what `had` does at start (on a fresh group: every plugin's command
    # is one it adds, whatever an earlier test added to had's own): the plugins' commands recorded too
    checked = 0
    for info in had.plugins.plugins():
        if not (info.distribution or "").startswith(("had-plugin-", "had-sdk")) or info.error:
            continue
        listed = catalog.PROVIDED_BY.get(info.distribution, {})
        for kind in ("detector", "datasource", "command"):
            registered = set(info.registers.get(kind, []))
            missing = registered - set(listed.get(kind, ()))
            assert not missing, f"add {sorted(missing)} under {info.distribution!r} in core/had/catalog.py"
            assert set(listed.get(kind, ())) == registered, f"{info.distribution}: stale {kind}s in the table"
            checked += len(registered)
    if checked == 0:
        pytest.skip("no had-plugin-* distribution installed")


def test_provider():
    assert catalog.provider("datasource", "sandiego_plane") == "had-plugin-hsi"
    assert catalog.provider("dataset", "hsi-file") == "had-plugin-hsi"
    assert catalog.provider("detector", "lren") == "had-plugin-lren"
    assert catalog.provider("detector", "sandiego_plane") is None and catalog.provider("detector", "x") is None


def test_a_name_of_a_distribution_not_installed_says_what_to_install(monkeypatch):
    monkeypatch.setattr(catalog, "_installed", lambda dist: False)
    message = catalog.unknown_name_message("datasource", "sandiego_plane", ["synthetic-scene"])
    assert message == ("unknown datasource 'sandiego_plane': it comes with had-plugin-hsi, which is not installed "
                       "here; pip install had-plugin-hsi (see `had list datasets`)")


def test_a_name_of_an_installed_but_unloaded_distribution_points_at_had_plugins():
    try:
        md.distribution("had-plugin-hsi")
    except md.PackageNotFoundError:
        pytest.skip("had-plugin-hsi is not installed")
    message = catalog.unknown_name_message("datasource", "hydice", [])
    assert "installed but not loaded" in message and "`had plugins`" in message


def test_a_misspelling_gets_the_nearest_registered_names():
    message = catalog.unknown_name_message("detector", "lrne", ["lren", "rx", "autoencoder"])
    assert message.startswith("unknown detector 'lrne'; did you mean 'lren'? known detectors: autoencoder, lren, rx")
    assert message.endswith("(see `had list detectors`)")
    assert catalog.nearest("abu-beach4", ["abu-beach-4", "abu-beach-1", "hydice"]) == ["abu-beach-4", "abu-beach-1"]


def test_a_misspelling_of_a_name_not_installed_gets_the_distribution_too():
    message = catalog.unknown_name_message("datasource", "sandiego-plane", ["synthetic-scene"])
    assert "did you mean 'sandiego_plane' (pip install had-plugin-hsi)?" in message


def test_an_unrelated_name_lists_the_known_names():
    message = catalog.unknown_name_message("metric", "zzz", ["auroc", "auprc"])
    assert message == "unknown metric 'zzz'; known metrics: auprc, auroc (see `had list metrics`)"
    assert "none are registered" in catalog.unknown_name_message("detector", "zzz", [])


def test_a_plugin_command_whose_plugin_is_not_loaded_names_the_distribution(monkeypatch, capsys):
    """`had demo` without had-plugin-hsi was click's bare "No such command 'demo'"."""
    import click

    from had.cli import _Commands

    group = _Commands("had")
    monkeypatch.setattr(catalog, "_installed", lambda dist: False)
    with pytest.raises(click.UsageError, match=r"^`had demo` comes with had-plugin-hsi, which is not installed here; "
                                               r"pip install had-plugin-hsi$"):
        group.main(["demo"], standalone_mode=False)
    monkeypatch.setattr(catalog, "_installed", lambda dist: True)
    with pytest.raises(click.UsageError, match=r"^`had plugin` comes with had-sdk, which is installed but not loaded; "
                                               r"`had plugins` shows its error"):
        group.main(["plugin", "new", "x"], standalone_mode=False)
    with pytest.raises(click.UsageError, match="No such command 'demoo'"):  # other names: click's own message
        group.main(["demoo"], standalone_mode=False)
    assert catalog.missing_command_message("fit") is None


@pytest.mark.parametrize("given, expected", [("RX", "rx"), ("knn", "pyod-knn"), ("AUROC", "auroc"),
                                             ("rxx", "rx")])
def test_a_name_in_other_case_or_without_its_prefix_gets_a_suggestion(given, expected, capsys):
    """``RX``, ``AUROC`` and ``knn`` got no "did you mean" (difflib alone, case-sensitive), and `had describe`
    gave none for any name (a probe of 7 December 2026)."""
    from had.catalog import nearest
    from had_sdk.testing import run_cli

    assert nearest(given, [*had.plugins.names("detector"), *had.plugins.names("metric")])[0] == expected
    code, _, err = run_cli(capsys, "describe", given)
    assert code == 2 and f"is named {given!r}; did you mean {expected!r}" in err.splitlines()[0]
