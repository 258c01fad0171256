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
    # raised by click without its context: named from the command line (was "had:")
    (["bench", "--seeds"], ["error: had bench: option '--seeds' requires an argument (see had bench --help)"]),
    (["scoer"], ["error: had: no such command 'scoer' (Did you mean one of: 'score', 'serve'?)"]),
])
def test_a_usage_error_is_one_line(capsys, args, fragments):
    code, _, err = run_cli(capsys, *args)
    assert_one_line(code, err, *fragments)
    assert "Usage:" not in err and "Try '" not in err


def test_the_bare_command_still_shows_its_help(capsys):
    code, out, err = run_cli(capsys, "data")
    assert "Usage: had data" in out + err and "fetch" in out + err


@pytest.mark.parametrize("kind", ["datasets", "detectors", "metrics"])
def test_a_list_asked_as_a_command_is_pointed_at_had_list(capsys, kind):
    """`had datasets` was "No such command 'datasets'. Did you mean 'data'?": `had data` holds the data files, and
    has no list; the registered datasets are `had list datasets`."""
    code, _, err = run_cli(capsys, kind)
    assert_one_line(code, err, f"no such command '{kind}'", f"`had list {kind}`")
    assert "Did you mean" not in err
