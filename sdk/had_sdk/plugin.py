"""had-sdk's own had plugin: adds ``had plugin new NAME [--dest DIR]`` through the ``register_commands`` hook."""

from __future__ import annotations

import click

from had import hookimpl

PLUGIN_API = 1  # the had plugin API this plugin is written for (had.plugin_api)


class BadInput(click.ClickException):
    """Bad input from the user: one line ``error: ...``, exit 2, as had's own commands (a bare click group shows it
    too)."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


@click.command("new")
@click.argument("name")
@click.option("--dest", default=".", show_default=True, type=click.Path(file_okay=False),
              help="folder in which had-plugin-NAME/ is created")
def new_command(name: str, dest: str) -> None:
    """Write a new plugin, had-plugin-NAME, from the template (a torch detector and its kit tests)."""
    from had.errors import HadError

    from .scaffold import new_plugin

    try:
        root = new_plugin(name, dest)
    except HadError as exc:
        raise BadInput(str(exc)) from None
    click.echo(f"wrote {root}")
    click.echo(f"next: pip install -e '{root}[test]' && python -m pytest {root / 'tests'}")


@hookimpl
def register_commands(cli):
    """Attach `new` to the `plugin` group, creating the group when the CLI has none."""
    group = cli.commands.get("plugin") if isinstance(cli, click.Group) else None
    if not isinstance(group, click.Group):
        group = click.Group("plugin", help="Plugin authoring: `had plugin new NAME`.")
        cli.add_command(group)
    group.add_command(new_command)
