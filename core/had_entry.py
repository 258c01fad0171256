"""The ``had`` console script's entry point (``[project.scripts] had = "had_entry:main"``), outside the ``had``
package so that it runs before anything of had is imported.

Importing ``had.cli`` (with numpy, scipy, pydantic, click) takes about a second; a Ctrl-C in that second printed
a KeyboardInterrupt traceback from deep in an import, because the console script imports its target before
calling it. Here the import happens inside :func:`main`, where Ctrl-C is the CLI's "aborted" and exit 130, as it
is once the command runs (``had.cli.main``).
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from had.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("aborted\n")
        sys.exit(130)
    run()
