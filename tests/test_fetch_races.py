"""`had data fetch` and other processes: two fetches of one file never share its ``.part``, and a target that is
a folder is said before anything is downloaded.

Found by a file-safety audit (a slow local mirror, ``HAD_DATA_MIRROR``): two fetches of one file at once appended
to the same ``.part`` (``open(part, "ab")``) and the first then failed with "No such file or directory: ...part;
check the path"; a target that was a folder was found only after the whole download."""

from __future__ import annotations

import fcntl
import hashlib
import threading
from pathlib import Path

import pytest

from had import fetch
from had.datadir import KnownFile
from had.errors import DataFileError
from local_http import LocalServer, QuietHandler, serving
from test_fetch import datadir  # noqa: F401 - the fixture: HAD_DATA_DIR a new folder, no mirror

PAYLOAD = bytes(range(256)) * 1000


class _Server(LocalServer):
    """Serves PAYLOAD at any path; sends half, then waits for `gate` before the rest."""

    def __init__(self):
        super().__init__(_Handler)
        self.log, self.gate, self.halfway = [], threading.Event(), threading.Event()


class _Handler(QuietHandler):
    def do_GET(self):
        server: _Server = self.server
        server.log.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        half = len(PAYLOAD) // 2
        self.wfile.write(PAYLOAD[:half])
        self.wfile.flush()
        server.halfway.set()
        server.gate.wait(30)
        self.wfile.write(PAYLOAD[half:])


@pytest.fixture
def server():
    srv = _Server()
    with serving(srv):
        yield srv
        srv.gate.set()


def _known(server: _Server, relpath: str = "t/a.bin") -> KnownFile:
    return KnownFile(relpath, hashlib.sha256(PAYLOAD).hexdigest(), f"{server.url}/{relpath}")


def test_a_second_fetch_of_a_file_being_fetched_says_so_and_the_first_completes(server, datadir):
    known = _known(server)
    results, errors = [], []

    def first():
        try:
            results.append(fetch.fetch_file(known, timeout=30))
        except Exception as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    assert server.halfway.wait(30)
    with pytest.raises(DataFileError, match=r"t/a.bin is being fetched by another process \(into .*a.bin.part\)") \
            as info:
        fetch.fetch_file(known, timeout=30)
    assert "\n" not in str(info.value) and server.log == ["/t/a.bin"]  # the second requested nothing
    server.gate.set()
    thread.join(30)
    assert not errors, errors
    assert results[0].status == "downloaded" and (datadir / "t/a.bin").read_bytes() == PAYLOAD
    assert sorted(p.name for p in (datadir / "t").iterdir()) == ["a.bin"]


def test_a_part_held_by_another_process_is_left_alone(server, datadir):
    """Another process's fetch (its lock on the .part) is respected: no request, its bytes untouched."""
    part = datadir / "t/a.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(PAYLOAD[:1000])
    with open(part, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(DataFileError, match="being fetched by another process"):
            fetch.fetch_file(_known(server))
    assert server.log == [] and part.read_bytes() == PAYLOAD[:1000]
    assert not (datadir / "t/a.bin").exists()


def test_a_target_that_is_a_folder_is_said_before_downloading(server, datadir):
    target = datadir / "t/a.bin"
    target.mkdir(parents=True)
    (target / "mine").write_text("keep")
    with pytest.raises(DataFileError, match=r"t/a.bin is a folder .*move it away and fetch again \(nothing was "
                       r"downloaded\)"):
        fetch.fetch_file(_known(server))
    assert server.log == [] and (target / "mine").read_text() == "keep"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.bin"]


def test_a_file_put_at_the_target_during_the_download_is_kept(server, datadir):
    """The verified download never replaces a file that appeared at the target meanwhile (a copy of the user's);
    it stays as the .part, which the next fetch (once the file is moved away) takes without downloading."""
    known = _known(server)
    errors = []

    def first():
        try:
            fetch.fetch_file(known, timeout=30)
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    assert server.halfway.wait(30)
    target = datadir / "t/a.bin"
    target.write_bytes(b"my own copy")
    server.gate.set()
    thread.join(30)
    assert len(errors) == 1 and "nothing was written over" in str(errors[0])
    assert target.read_bytes() == b"my own copy" and Path(str(target) + ".part").read_bytes() == PAYLOAD


def test_a_download_that_never_starts_leaves_no_part(datadir):
    """The .part is made (and locked) before the request now: one that received nothing is not left behind."""
    with pytest.raises(DataFileError, match="could not download"):
        fetch.fetch_file(KnownFile("t/x.bin", "0" * 64, "http://127.0.0.1:9/t/x.bin"), timeout=2)
    assert not (datadir / "t").exists()  # nor the folder the fetch made for it
