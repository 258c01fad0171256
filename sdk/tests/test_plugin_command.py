"""`had plugin new` through had-sdk's register_commands hook, on a bare CLI group and beside an existing one."""

from __future__ import annotations

import click
from click.testing import CliRunner

from had_sdk.plugin import register_commands


def test_adds_plugin_new_to_a_bare_cli(tmp_path):
    cli = click.Group("had")
    register_commands(cli)
    result = CliRunner().invoke(cli, ["plugin", "new", "my-det", "--dest", str(tmp_path)])
    assert result.exit_code == 0, result.output
    root = tmp_path / "had-plugin-my-det"
    assert (root / "had_my_det" / "detector.py").is_file() and (root / "tests" / "test_had_my_det.py").is_file()
    assert "class MyDetDetector(TorchDetector)" in (root / "had_my_det" / "detector.py").read_text()


def test_joins_an_existing_plugin_group():
    cli = click.Group("had")
    existing = click.Group("plugin")
    existing.add_command(click.Command("list"))
    cli.add_command(existing)
    register_commands(cli)
    assert set(cli.commands["plugin"].commands) == {"list", "new"}


def test_invalid_name_and_existing_folder_are_one_line_errors_exit_2(tmp_path):
    cli = click.Group("had")
    register_commands(cli)
    runner = CliRunner()
    bad = runner.invoke(cli, ["plugin", "new", "My Plugin", "--dest", str(tmp_path)])
    assert bad.exit_code == 2 and "invalid plugin name" in bad.output
    assert runner.invoke(cli, ["plugin", "new", "dup", "--dest", str(tmp_path)]).exit_code == 0
    again = runner.invoke(cli, ["plugin", "new", "dup", "--dest", str(tmp_path)])
    assert again.exit_code == 2 and again.output.startswith("error: ") and "already exists" in again.output


def test_a_taken_name_is_refused(tmp_path):
    """``had plugin new sdk`` wrote a plugin whose entry point hid had-sdk's once installed (``had plugin`` gone);
    ``had plugin new rx`` one whose detector lost its registration to the core's RX, and whose kit then tested
    the core's: both names are refused, nothing written."""
    cli = click.Group("had")
    register_commands(cli)
    runner = CliRunner()
    for name, why in (("sdk", "it is the entry point of had-sdk"), ("had", "it is the entry point of had itself"),
                      ("rx", "a detector named 'rx' is already registered")):
        result = runner.invoke(cli, ["plugin", "new", name, "--dest", str(tmp_path)])
        assert result.exit_code == 2 and why in result.output, result.output
    assert list(tmp_path.iterdir()) == []
