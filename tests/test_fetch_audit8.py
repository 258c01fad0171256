"""`had data fetch` and the data file readers against an audit's (8) defects: a mistyped mirror or a malformed
``Content-Length``, a full disk, a data plugin whose ``known_files()`` is broken, an ``.npz`` read with a sha256,
and a plugin's file path outside the data directory."""

from __future__ import annotations

import hashlib
import os
import time
import signal
import subprocess
import sys
import types
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
from test_fetch import datadir  # noqa: F401 - the fixture: HAD_DATA_DIR a new folder, no mirror
from test_reliability_cli import assert_one_line, run_cli

import had
from had import DataSource, Dataset, fetch, plugins
from had.datadir import KnownFile, locate
from had.errors import ChecksumError, DataFileError, PluginError
from had.matfile import list_keys, read_arrays
from local_http import LocalServer, QuietHandler, serving

PAYLOAD = bytes(range(256)) * 1000  # 256 kB
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Server(LocalServer):
    def __init__(self):
        super().__init__(_Handler)
        self.files: dict[str, bytes] = {}


class _Handler(QuietHandler):
    """``/good/REL`` serves a file; ``/badclen/REL`` serves it whole with ``Content-Length: N bytes`` (malformed);
    ``/endless/REL`` sends bytes without a length until the client stops."""

    def do_GET(self):
        mode, _, rel = self.path.lstrip("/").partition("/")
        if mode == "nolength" and rel in self.server.files:  # the file, with no Content-Length
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            self.wfile.write(self.server.files[rel])
            return
        if mode == "endless":  # bytes without end and no Content-Length (64 MiB at most, for the test's sake)
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for _ in range(1024):
                try:
                    self.wfile.write(PAYLOAD[:65536])
                except OSError:  # the client stopped reading
                    return
            return
        data = self.server.files.get(rel)
        if data is None or mode not in ("good", "badclen"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)) + (" bytes" if mode == "badclen" else ""))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True


@pytest.fixture
def server():
    with serving(_Server()) as srv:
        srv.files["t/a.bin"] = PAYLOAD
        yield srv


def _known(server, rel: str = "t/a.bin", mode: str = "good") -> KnownFile:
    return KnownFile(rel, hashlib.sha256(server.files[rel]).hexdigest(), f"{server.url}/{mode}/{rel}")


# ---- 1. a mistyped mirror, a malformed Content-Length -----------------------------------------------------------
@pytest.mark.parametrize("mirror, said", [
    ("http://127.0.0.1:8781/good ", "holds a space"),  # a trailing space (was http.client.InvalidURL)
    ("http://127.0.0.1:abc/good", "abc"),  # a port that is not a number (was InvalidURL: nonnumeric port)
    ("http://[::1", "Invalid IPv6 URL"),  # (was ValueError)
    ("127.0.0.1:8781/good", "does not start with http:// or https://"),  # (was "check the connection")
])
@pytest.mark.parametrize("how", ["option", "env"])
def test_a_mistyped_mirror_is_one_line_naming_it(datadir, capsys, monkeypatch, mirror, said, how):
    args = ["data", "fetch", "cardio"]
    if how == "env":
        monkeypatch.setenv(fetch.MIRROR_ENV, mirror)
    else:
        args += ["--mirror", mirror]
    code, _, err = run_cli(capsys, *args)
    assert_one_line(code, err, repr(mirror.rstrip("/") + "/odds/cardio.mat"), "is not a valid address", said,
                    f"check the mirror's address {mirror!r}", fetch.MIRROR_ENV if how == "env" else "--mirror")
    assert "check the connection" not in err
    assert not datadir.exists()  # nothing made


def test_a_mistyped_mirror_is_one_line_for_several_files_too(datadir, capsys):
    """Several files: the mirror is the one mistake, said once, exit 2 as for one file, before any download (was:
    the first file's traceback; then a line per file and exit 1)."""
    code, out, err = run_cli(capsys, "data", "fetch", "cardio", "thyroid", "--mirror", "http://127.0.0.1:abc/good")
    assert code == 2 and "Traceback" not in err and not out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "'http://127.0.0.1:abc/good/odds/cardio.mat' is not a valid address" in lines[0]
    assert "check the mirror's address 'http://127.0.0.1:abc/good' (given with --mirror)" in lines[0]
    assert not datadir.exists()  # nothing made


def test_a_plugins_malformed_address_is_said_before_any_request(datadir):
    known = KnownFile("t/x.bin", SHA, "http://exa mple.org/t/x.bin")
    with pytest.raises(DataFileError, match=r"'http://exa mple.org/t/x.bin' is not a valid address .*report it to "
                                            r"its authors, or set HAD_DATA_MIRROR"):
        fetch.fetch_file(known)
    assert not datadir.exists()


def test_a_malformed_content_length_is_ignored_and_the_file_verified(server, datadir):
    """``Content-Length: 68318 bytes``: was a ValueError traceback, the whole download left as an unchecked .part."""
    result = fetch.fetch_file(_known(server, mode="badclen"))
    assert result.status == "downloaded" and result.received == len(PAYLOAD)
    assert (datadir / "t/a.bin").read_bytes() == PAYLOAD and not (datadir / "t/a.bin.part").exists()
    server.files["t/b.bin"] = PAYLOAD[:-1] + b"x"  # and verified: other bytes are refused, as without the header
    wrong = KnownFile("t/b.bin", SHA, f"{server.url}/badclen/t/b.bin")
    with pytest.raises(ChecksumError, match="served a file with sha256"):
        fetch.fetch_file(wrong)
    assert not (datadir / "t/b.bin").exists() and not (datadir / "t/b.bin.part").exists()


# ---- 2. a full disk ----------------------------------------------------------------------------------------------
_CHILD = """
import sys
from had import fetch
from had.datadir import KnownFile
try:
    fetch.fetch_file(KnownFile("t/a.bin", sys.argv[1], sys.argv[2]))
except Exception as exc:
    print(type(exc).__name__ + ": " + str(exc))
"""


def _small_files(limit: int):
    def apply():  # the child may write files of `limit` bytes at most: a longer write fails (EFBIG), not killed
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    return apply


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE (POSIX)")
def test_running_out_of_room_names_the_path_and_removes_the_part(server, datadir):
    """A write that fails for want of room (here a file size limit, EFBIG; a full disk is ENOSPC): was "No space
    left on device; the disk is full..." naming no path, and the .part that filled the disk left behind."""
    env = {**os.environ, "HAD_DATA_DIR": str(datadir), "OMP_NUM_THREADS": "1"}
    env.pop(fetch.MIRROR_ENV, None)
    done = subprocess.run([sys.executable, "-c", _CHILD, SHA, f"{server.url}/good/t/a.bin"], env=env,
                          capture_output=True, text=True, timeout=120, preexec_fn=_small_files(100_000))
    said = done.stdout.strip()
    part = datadir / "t/a.bin.part"
    assert said.startswith("DataFileError: ") and str(part) in said and "partial download was removed" in said, \
        said + done.stderr
    assert not part.exists() and not (datadir / "t/a.bin").exists()


def test_a_length_the_disk_has_no_room_for_is_said_before_downloading(server, datadir, monkeypatch):
    """A server announcing a Content-Length larger than the free space: said at once (was: written until full)."""
    import shutil

    real = shutil.disk_usage
    usage = namedtuple("usage", "total used free")

    def little_room(path):
        return usage(1 << 30, (1 << 30) - 1000, 1000) if str(path).startswith(str(datadir)) else real(path)

    monkeypatch.setattr(shutil, "disk_usage", little_room)
    with pytest.raises(DataFileError, match=r"cannot download .*t/a.bin into .*a.bin.part: No space left on device: "
                                            r"the file needs 250.0 KiB and 1000 bytes (is|are) free; free space"):
        fetch.fetch_file(_known(server))
    assert not (datadir / "t").exists()  # nothing written, no folder left


def test_a_download_of_no_announced_length_stops_before_the_disk_is_full(server, datadir, monkeypatch):
    """A server sending bytes without end and no Content-Length: was written until the disk was full (a KnownFile
    has no size to stop at). It stops with 1 GiB free on that disk (half what was free, on a disk with less), as
    a full disk does: the .part removed."""
    import shutil

    real = shutil.disk_usage
    usage = namedtuple("usage", "total used free")
    part = datadir / "t/a.bin.part"

    def filling(path):  # `free` before the download, less by what the .part holds
        if not str(path).startswith(str(datadir)):
            return real(path)
        left = free - (part.stat().st_size if part.exists() else 0)
        return usage(1 << 40, (1 << 40) - left, left)

    monkeypatch.setattr(shutil, "disk_usage", filling)
    monkeypatch.setattr(fetch, "_RESERVE_EVERY", 1 << 20)
    free = 8 << 20  # half of it is kept free: the download stops after 4 MiB
    known = KnownFile("t/a.bin", SHA, f"{server.url}/endless/t/a.bin")
    with pytest.raises(DataFileError, match=r"ran out of room after \d\.\d MiB \(No space left on device: a download "
                                            r"of unannounced length \(it stops when less is free\) needs 4\.0 MiB"):
        fetch.fetch_file(known)
    assert not part.exists() and not (datadir / "t/a.bin").exists()
    free = 900 << 20  # a review: a small file of no announced length on a disk with under 1 GiB free is fetched
    fetched = fetch.fetch_file(KnownFile("t/a.bin", SHA, f"{server.url}/nolength/t/a.bin"))
    assert fetched.status == "downloaded" and (datadir / "t/a.bin").read_bytes() == PAYLOAD


# ---- 3. a data plugin whose known_files() is broken --------------------------------------------------------------
class _Rows(DataSource):
    kind = "tabular"
    default_protocol = "adbench"
    FILE: KnownFile

    def known_files(self):
        return [self.FILE]

    def load(self):
        path = locate(self.FILE)
        return Dataset("rows", np.frombuffer(path.read_bytes()[:800], float).reshape(-1, 4), meta={})


def _module_plugin(name: str, source: type, files) -> types.ModuleType:
    """A data plugin as a package: its module's ``known_files()`` returns (or raises) `files`."""
    module = types.ModuleType(name)

    def known_files():
        if isinstance(files, Exception):
            raise files
        return files

    @had.hookimpl
    def register_datasources(register):
        register(name.replace("_", "-"), source)

    module.known_files, module.register_datasources = known_files, register_datasources
    return module


@pytest.fixture
def plugin_of(monkeypatch):
    made = []

    def make(name: str, source: type, files) -> None:
        module = _module_plugin(name, source, files)
        monkeypatch.setitem(sys.modules, name, module)
        plugins.register_plugin(module, name=name)
        made.append(name)

    yield make
    for name in made:
        plugins.unregister_plugin(name)


@pytest.mark.parametrize("files, said", [
    (ValueError("the plugin's own bug"), "raised ValueError: the plugin's own bug"),
    (["broken/file.mat"], "gave 'broken/file.mat' (str), not a had.datadir.KnownFile"),
    ([KnownFile("../escape/rows.npz", SHA, "https://example.org/rows.npz")], "'../escape/rows.npz', a path outside"),
])
def test_a_plugins_broken_list_is_its_own_error_not_every_fetchs(server, datadir, plugin_of, capsys, files, said):
    """Was: a traceback for every `had data fetch`, of any plugin's files."""
    good = type("GoodRows", (_Rows,), {"FILE": _known(server)})
    plugin_of("audit8_good", good, [good.FILE])
    plugin_of("audit8_broken", type("BrokenRows", (_Rows,), {"FILE": _known(server)}), files)
    import had_odds

    assert fetch.files_for("cardio") == [had_odds.TABLES["cardio"].file]  # other plugins' files resolve
    code, out, err = run_cli(capsys, "data", "fetch", "audit8-good")
    assert code == 0 and out.startswith("downloaded") and not err
    code, out, err = run_cli(capsys, "data", "fetch", "audit8_broken")  # the plugin itself: its line, exit 1
    lines = err.strip().splitlines()
    assert code == 1 and "Traceback" not in err and len(lines) == 2, err
    assert lines[0].startswith("error: ") and "data plugin 'audit8_broken'" in lines[0] and said in lines[0]
    assert "report it to" in lines[0] and "1 of 2 file(s)" in lines[1]
    assert out.startswith("present")  # the file its source lists is fetched all the same
    (datadir / "t/a.bin").unlink()
    with pytest.raises(fetch.FetchFailed) as failed:  # both named: the good one fetched, the broken one said
        fetch.fetch_names(["audit8_good", "audit8_broken"], echo=lambda line: None)
    assert [rel for rel, _ in failed.value.failures] == ["the files of plugin audit8_broken"]
    assert said in failed.value.failures[0][1] and (datadir / "t/a.bin").read_bytes() == PAYLOAD
    assert not (datadir.parent / "escape").exists()


def test_a_plugin_with_only_a_broken_list_is_one_line(datadir, plugin_of, capsys):
    class NoFiles(_Rows):
        known_files = None

    plugin_of("audit8_lonely", NoFiles, ValueError("the plugin's own bug"))
    code, _, err = run_cli(capsys, "data", "fetch", "audit8_lonely")
    assert_one_line(code, err, "the known_files() of the data plugin 'audit8_lonely' raised ValueError: the "
                               "plugin's own bug", "report it to its authors")
    with pytest.raises(PluginError, match="audit8_lonely"):
        fetch.files_for("audit8_lonely")
    code, _, err = run_cli(capsys, "data", "fetch", "no-such-data")  # an unknown name says which list failed
    assert_one_line(code, err, "unknown dataset 'no-such-data'", "'audit8_lonely' could not list their files")


def test_a_sources_broken_list_is_a_plugin_error_naming_the_source(datadir, plugin_of, capsys):
    class Broken(_Rows):
        def known_files(self):
            return [{"relpath": "x.npz"}]

    plugin_of("audit8_srclist", Broken, [])
    code, _, err = run_cli(capsys, "data", "fetch", "audit8-srclist")
    assert_one_line(code, err, "data source 'audit8-srclist' of plugin 'audit8_srclist'", "(dict), not a had.datadir")


# ---- 4. an .npz read with a sha256 -------------------------------------------------------------------------------
def test_an_npz_read_with_a_sha256_is_checked(tmp_path):
    """Was: the digest ignored for .npz (checked for .mat), so any file was read as the known one."""
    path = tmp_path / "rows.npz"
    np.savez(path, X=np.ones((3, 2)), y=np.zeros(3, int))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert read_arrays(path, ["X", "y"], sha256=digest)["X"].shape == (3, 2)
    assert list_keys(path, sha256=digest) == ["X", "y"]
    for attempt in (lambda: read_arrays(path, ["X"], sha256="0" * 64), lambda: list_keys(path, sha256="0" * 64)):
        with pytest.raises(ChecksumError, match=r"rows.npz has sha256 .*expected 0000000000000000"):
            attempt()
    with pytest.raises(PluginError, match="not 64 hex digits"):
        read_arrays(path, ["X"], sha256="abc")
    assert read_arrays(path, ["X"])["X"].shape == (3, 2)  # no digest given: read as before


# ---- 5. a file path outside the data directory -------------------------------------------------------------------
@pytest.mark.parametrize("relpath", ["../escape/rows.npz", "t/../../escape/rows.npz", "ABSOLUTE", "", "."])
def test_a_path_outside_the_data_directory_is_refused(server, datadir, tmp_path, relpath):
    """Was: fetched to, and read from, outside HAD_DATA_DIR."""
    relpath = str(tmp_path / "abs" / "rows.npz") if relpath == "ABSOLUTE" else relpath
    known = KnownFile(relpath, SHA, f"{server.url}/good/t/a.bin")
    for attempt in (lambda: fetch.fetch_file(known), lambda: locate(known), lambda: fetch.fetch_file(known,
                                                                                                    mirror=server.url)):
        with pytest.raises(PluginError, match=f"lists the data file {relpath!r}, a path outside the data directory"):
            attempt()
    assert not (tmp_path / "escape").exists() and not (tmp_path / "abs").exists() and not datadir.exists()


def test_a_sources_path_outside_is_one_line_naming_the_plugin(server, datadir, tmp_path, plugin_of, capsys):
    escape = KnownFile("../escape/rows.bin", SHA, f"{server.url}/good/t/a.bin")
    plugin_of("audit8_escape", type("Escape", (_Rows,), {"FILE": escape}), [])
    for args in (("data", "fetch", "audit8-escape"), ("fit", "rx", "audit8-escape", "-o", tmp_path / "m")):
        code, _, err = run_cli(capsys, *args)
        assert_one_line(code, err, "data source 'audit8-escape' of plugin 'audit8_escape'",
                        "'../escape/rows.bin', a path outside the data directory")
    assert not (tmp_path / "escape").exists() and not (tmp_path / "m").exists()


def test_a_file_rewritten_with_its_time_set_back_is_verified_again(tmp_path):
    """An audit: the sha256 check of a load was cached by (path, mtime, size): a file rewritten with other bytes
    of the same size and its modification time put back loaded without a check in a long-running process."""
    import hashlib

    from had.datadir import verify
    from had.errors import ChecksumError

    path = tmp_path / "x.bin"
    path.write_bytes(b"a" * 64)
    good = hashlib.sha256(b"a" * 64).hexdigest()
    verify(path, good)
    before = path.stat()
    time.sleep(0.05)  # kernels before 6.13 stamp change times from a clock of 1-10 ms steps
    path.write_bytes(b"b" * 64)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(ChecksumError):
        verify(path, good)


def test_a_file_mirror_whose_path_holds_a_space_still_fetches(tmp_path, monkeypatch):
    """A review: the address check refused file:///tmp/x/my mirror, which was fetched before it."""
    import hashlib

    from had.datadir import KnownFile
    from had.fetch import fetch_file

    data = b"hello" * 100
    (tmp_path / "my mirror" / "x").mkdir(parents=True)
    (tmp_path / "my mirror" / "x" / "a.bin").write_bytes(data)
    (tmp_path / "dd").mkdir()
    monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path / "dd"))
    known = KnownFile("x/a.bin", hashlib.sha256(data).hexdigest(), "https://example.invalid/x/a.bin")
    assert fetch_file(known, mirror=f"file://{tmp_path / 'my mirror'}").status == "downloaded"


def test_fetch_all_with_every_plugins_list_broken_names_each(monkeypatch, capsys, datadir):
    """Was: exit 2 naming only the first broken plugin (two named plugins gave exit 1 and both names)."""
    broken = {name: fetch._ListingError(f"the known_files() of the data plugin {name!r} raised ValueError: bug", name)
              for name in ("audit9_one", "audit9_two")}
    monkeypatch.setattr(fetch, "_plugin_listing", lambda: ({}, broken))
    code, out, err = run_cli(capsys, "data", "fetch", "all")
    lines = err.strip().splitlines()
    assert code == 1 and not out and "Traceback" not in err and len(lines) == 3, err
    assert "'audit9_one'" in lines[0] and "'audit9_two'" in lines[1]
    assert lines[2].startswith("error: 2 of 2 file(s) could not be fetched (the files of plugin audit9_one, the files "
                               "of plugin audit9_two)"), lines[2]
