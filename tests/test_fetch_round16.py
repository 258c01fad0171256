"""`had data fetch` and `had list datasets` against the sixteenth round's items: a 0-byte file listed as present, a
mirror's failure advising to set a mirror, and one failed file exiting otherwise than several."""

from __future__ import annotations

import hashlib

import pytest
from test_fetch import datadir  # noqa: F401 - the fixture: HAD_DATA_DIR a new folder, no mirror
from test_fetch_audit8 import PAYLOAD, _known, server  # noqa: F401 - the local server fixture
from test_reliability_cli import run_cli

from had import fetch
from had.errors import DataFileError


def test_an_empty_file_is_listed_as_empty_not_present(datadir, capsys):
    """A 0-byte file where cardio's should be (an interrupted copy) was "present" (was: only is_file looked at)."""
    (datadir / "odds").mkdir(parents=True)
    (datadir / "odds/cardio.mat").write_bytes(b"")
    assert fetch.presence("cardio") == "empty"
    assert fetch.presence("thyroid") == "missing"
    code, out, _ = run_cli(capsys, "list", "datasets")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("| cardio |"))
    assert "| empty |" in row and "present" not in row


def test_a_mirror_missing_the_file_says_to_check_the_mirror(datadir, server):
    """With a mirror set, a 404 from it advised "set HAD_DATA_MIRROR to a copy" (was: the same advice with or
    without one); now it names the mirror and the file it lacks."""
    known = _known(server)
    with pytest.raises(DataFileError) as info:
        fetch.fetch_file(known, mirror=f"{server.url}/good/missing")
    message = str(info.value)
    assert "HTTP 404" in message and f"check that the mirror '{server.url}/good/missing' (given with --mirror) holds " \
        "t/a.bin" in message
    assert f"set {fetch.MIRROR_ENV} to a copy" not in message
    with pytest.raises(DataFileError) as info:  # without a mirror the advice is to set one, as before
        fetch.fetch_file(known.__class__(known.relpath, known.sha256, f"{server.url}/nosuch/t/a.bin"))
    assert f"set {fetch.MIRROR_ENV} to a copy" in str(info.value)


def test_one_file_that_cannot_be_fetched_exits_1_as_several_do(datadir, capsys, server, monkeypatch):
    """One dataset whose file the mirror lacks ended with exit 2, two such with exit 1 (was: the count decided);
    now 1 for both (2 stays for what is wrong before any download: an unknown name, a mistyped mirror)."""
    monkeypatch.setenv(fetch.MIRROR_ENV, f"{server.url}/good")  # the server holds no odds/ files: 404 for each
    code, out, err = run_cli(capsys, "data", "fetch", "cardio")
    assert code == 1 and not out and err.count("\n") == 1 and "odds/cardio.mat" in err and "HTTP 404" in err
    code, out, err = run_cli(capsys, "data", "fetch", "cardio", "thyroid")
    assert code == 1 and err.count("\n") == 3 and "2 of 2 file(s) could not be fetched" in err
    code, _, err = run_cli(capsys, "data", "fetch", "no-such-data")
    assert code == 2
