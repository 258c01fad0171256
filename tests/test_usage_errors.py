"""Click's usage errors (a wrong option, a missing argument, an unknown command) as had's one line, exit 2.

Was click's four lines ("Usage: had bench [OPTIONS]", "Try 'had bench --help' for help.", a blank line,
"Error: Invalid value ..."), where every other bad input is one "error: ..." line (an audit of `had bench`,
5 December 2026)."""

from __future__ import annotations

import pytest
from had_sdk.testing import run_cli
from test_reliability_cli import assert_one_line


@pytest.mark.parametrize("args, fragments", [
    (["bench", "--detectors", "rx", "--datasets", "cardio", "--workers", "0"],
     ["error: had bench: invalid value for '--workers': 0 is not in the range x>=1", "(see had bench --help)"]),
    (["fit"], ["error: had fit: missing argument 'DETECTOR' (see had fit --help)"]),
    (["fitt"], ["error: had: no such command 'fitt'", "Did you mean 'fit'?", "(see had --help)"]),
    (["score", "m", "x", "--set", "a=1"], ["error: had score: no such option '--set'"]),
])
def test_a_usage_error_is_one_line(capsys, args, fragments):
    code, _, err = run_cli(capsys, *args)
    assert_one_line(code, err, *fragments)
    assert "Usage:" not in err and "Try '" not in err


def test_the_bare_command_still_shows_its_help(capsys):
    code, out, err = run_cli(capsys, "data")
    assert "Usage: had data" in out + err and "fetch" in out + err
