"""`had data fetch` against a local HTTP server on 127.0.0.1: verify, resume (HTTP Range), never overwrite."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from had import fetch
from had.cli import main
from had.datadir import KnownFile
from had.errors import ChecksumError, DataFileError, UnknownNameError
from local_http import LocalServer, QuietHandler, serving
from realdata import data_dir as shared_data_dir

SHARED = shared_data_dir()  # read before the tests point HAD_DATA_DIR at a temporary folder


class _Server(LocalServer):
    def __init__(self, root: Path):
        super().__init__(_Handler)
        self.root, self.log, self.break_once = root, [], set()


class _Handler(QuietHandler):
    """Serves files under root; honours ``Range: bytes=N-``; paths in ``break_once`` send half and hang up once."""

    def do_GET(self):
        server: _Server = self.server
        rel = self.path.lstrip("/")
        server.log.append((rel, self.headers.get("Range")))
        path = server.root / rel
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = int(self.headers["Range"].split("=")[1].rstrip("-")) if self.headers.get("Range") else 0
        if start >= len(data) and start:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.end_headers()
            return
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        if rel in server.break_once:
            server.break_once.discard(rel)
            self.wfile.write(data[start:start + (len(data) - start) // 2])
            self.close_connection = True
            return
        self.wfile.write(data[start:])


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    with serving(_Server(root)) as srv:
        yield srv


@pytest.fixture
def datadir(tmp_path, monkeypatch):
    path = tmp_path / "data"
    monkeypatch.setenv("HAD_DATA_DIR", str(path))
    monkeypatch.delenv(fetch.MIRROR_ENV, raising=False)
    return path


def _serve(server: _Server, relpath: str, data: bytes, sha256: str | None = None) -> KnownFile:
    target = server.root / relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    digest = sha256 or hashlib.sha256(data).hexdigest()
    return KnownFile(relpath, digest, f"{server.url}/{relpath}")


PAYLOAD = bytes(range(256)) * 1000  # 256 kB: several read blocks


def test_downloads_verifies_and_leaves_no_part(server, datadir):
    known = _serve(server, "t/a.bin", PAYLOAD)
    result = fetch.fetch_file(known)
    assert (result.status, result.received) == ("downloaded", len(PAYLOAD))
    assert (datadir / "t/a.bin").read_bytes() == PAYLOAD
    assert not (datadir / "t/a.bin.part").exists()


def test_a_missing_file_names_the_command_that_fetches_it(server, datadir):
    from had.datadir import locate

    known = _serve(server, "t/a.bin", PAYLOAD)
    with pytest.raises(DataFileError, match=r"fetch it with `had data fetch t/a.bin`, or download it from http") as info:
        locate(known)
    assert "\n" not in str(info.value)
    fetch.fetch_file(known)  # what the message says to run makes the file present and verified
    assert locate(known) == datadir / "t/a.bin"


def test_a_data_directory_that_is_a_file_is_one_clear_error(server, datadir):
    """HAD_DATA_DIR naming a file: reading and fetching say so (not "missing", nor a bare "Not a directory")."""
    from had.datadir import locate

    datadir.parent.mkdir(parents=True, exist_ok=True)
    datadir.write_text("not a folder")
    known = _serve(server, "t/a.bin", PAYLOAD)
    for attempt in (lambda: locate(known), lambda: fetch.fetch_file(known)):
        with pytest.raises(DataFileError, match=r"data directory .*data \(HAD_DATA_DIR\) is not a folder; set "
                           r"HAD_DATA_DIR to the folder that holds the data"):
            attempt()
    assert datadir.read_text() == "not a folder"  # left as it was
    assert not server.log  # nothing was requested


def test_a_good_file_is_never_rewritten_nor_requested(server, datadir):
    known = _serve(server, "t/a.bin", PAYLOAD)
    fetch.fetch_file(known)
    path = datadir / "t/a.bin"
    before = (path.stat().st_ino, path.stat().st_mtime_ns)
    server.log.clear()
    result = fetch.fetch_file(known)
    assert result.status == "present" and result.received == 0 and server.log == []
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == before


def test_a_broken_connection_is_resumed_with_range(server, datadir):
    known = _serve(server, "t/a.bin", PAYLOAD)
    server.break_once.add("t/a.bin")
    result = fetch.fetch_file(known)
    half = len(PAYLOAD) // 2
    assert server.log == [("t/a.bin", None), ("t/a.bin", f"bytes={half}-")]
    assert result.received == len(PAYLOAD) and (datadir / "t/a.bin").read_bytes() == PAYLOAD


def test_a_part_left_by_an_earlier_run_is_resumed(server, datadir):
    known = _serve(server, "t/a.bin", PAYLOAD)
    part = datadir / "t/a.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(PAYLOAD[:1000])
    result = fetch.fetch_file(known)
    assert server.log == [("t/a.bin", "bytes=1000-")]
    assert (result.status, result.received) == ("resumed", len(PAYLOAD) - 1000)
    assert (datadir / "t/a.bin").read_bytes() == PAYLOAD and not part.exists()


def test_a_local_file_with_other_bytes_is_left_alone(server, datadir):
    """A file at the target that is not the known one (truncated, corrupted, another version) was not written by
    fetch: a ChecksumError names it, and it stays byte for byte; nothing is requested, no .part is made."""
    known = _serve(server, "t/a.bin", PAYLOAD)
    path = datadir / "t/a.bin"
    path.parent.mkdir(parents=True)
    for mine in (PAYLOAD[:5000], b"x" * 100 + PAYLOAD[100:], b"my own version"):
        path.write_bytes(mine)
        server.log.clear()
        with pytest.raises(ChecksumError, match=r"t/a.bin is already there with sha256 .* had leaves as it is; move"):
            fetch.fetch_file(known)
        assert path.read_bytes() == mine and server.log == [] and not (datadir / "t/a.bin.part").exists()
    path.unlink()
    assert fetch.fetch_file(known).received == len(PAYLOAD) and path.read_bytes() == PAYLOAD


def test_a_source_serving_other_bytes_raises_and_leaves_nothing(server, datadir):
    corrupted = bytearray(PAYLOAD)
    corrupted[777] ^= 0xFF
    known = _serve(server, "t/bad.bin", bytes(corrupted), sha256=hashlib.sha256(PAYLOAD).hexdigest())
    with pytest.raises(ChecksumError, match="t/bad.bin"):
        fetch.fetch_file(known)
    assert not (datadir / "t/bad.bin").exists() and not (datadir / "t/bad.bin.part").exists()


def test_a_truncated_source_raises(server, datadir):
    known = _serve(server, "t/short.bin", PAYLOAD[:-10], sha256=hashlib.sha256(PAYLOAD).hexdigest())
    with pytest.raises(ChecksumError, match="expected"):
        fetch.fetch_file(known)
    assert not (datadir / "t/short.bin").exists()


def test_missing_remote_file_and_unreachable_host_are_data_file_errors(server, datadir):
    with pytest.raises(DataFileError, match="HTTP 404"):
        fetch.fetch_file(KnownFile("t/none.bin", "0" * 64, f"{server.url}/t/none.bin"))
    with pytest.raises(DataFileError, match="could not download"):
        fetch.fetch_file(KnownFile("t/x.bin", "0" * 64, "http://127.0.0.1:9/t/x.bin"), timeout=2)


def test_mirror_replaces_each_files_address(server):
    known = KnownFile("odds/cardio.mat", "0" * 64, "https://example.org/cardio.mat")
    assert fetch.url_of(known, server.url + "/") == f"{server.url}/odds/cardio.mat"
    assert fetch.url_of(known, None) == "https://example.org/cardio.mat"


def test_unknown_name_lists_what_can_be_fetched(datadir):
    with pytest.raises(UnknownNameError) as info:
        fetch.files_for("no-such-data")
    assert "all" in info.value.known and "hsi" in info.value.known and "sandiego_plane" in info.value.known


def test_names_resolve_to_the_plugins_known_files():
    import had_hsi
    import had_odds

    assert fetch.files_for("sandiego_plane") == [had_hsi.SCENES["sandiego_plane"].file]
    assert fetch.files_for("cardio") == [had_odds.TABLES["cardio"].file]
    assert fetch.files_for("odds") == had_odds.known_files()
    every = {known.relpath for known in fetch.files_for("all")}
    assert {known.relpath for known in had_hsi.known_files()} <= every and "odds/cardio.mat" in every
    assert fetch.files_for("odds/thyroid.npz") == [had_odds.TABLES["thyroid"].file]


def test_cli_fetches_real_files_from_a_local_copy_of_the_data(server, datadir, capsys):
    """A copy of a few files of HAD_DATA_DIR served on 127.0.0.1, with a corrupted and a truncated one."""
    if SHARED is None or not (SHARED / "odds/cardio.mat").is_file():
        pytest.skip("needs odds/*.mat and thyroid.npz from HAD_DATA_DIR (CI: HAD_DATA_DIR=../shared/data)")
    source = SHARED
    for rel in ("odds/cardio.mat", "odds/thyroid.npz", "odds/arrhythmia.mat", "odds/satellite.mat"):
        (server.root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, server.root / rel)
    damaged = bytearray((server.root / "odds/arrhythmia.mat").read_bytes())
    damaged[len(damaged) // 2] ^= 0x01
    (server.root / "odds/arrhythmia.mat").write_bytes(bytes(damaged))
    full = (server.root / "odds/satellite.mat").read_bytes()
    (server.root / "odds/satellite.mat").write_bytes(full[: len(full) // 3])
    os.environ[fetch.MIRROR_ENV] = server.url
    try:
        main(["data", "fetch", "cardio", "thyroid"])
        assert "downloaded" in capsys.readouterr().out
        main(["data", "fetch", "cardio"])
        assert capsys.readouterr().out.startswith("present")
        for name, relpath in (("arrhythmia", "odds/arrhythmia.mat"), ("satellite", "odds/satellite.mat")):
            with pytest.raises(SystemExit) as exit_info:
                main(["data", "fetch", name])
            assert exit_info.value.code == 1  # a file that could not be fetched: 1, for one file as for several
            err = capsys.readouterr().err
            assert err.startswith("error:") and relpath in err and "Traceback" not in err
            assert err.count("\n") == 1 and "the mirror holds another version" in err + "the mirror holds another version" * (name == "satellite")
            assert not (datadir / relpath).exists()
    finally:
        del os.environ[fetch.MIRROR_ENV]
    for rel in ("odds/cardio.mat", "odds/thyroid.npz"):
        assert (datadir / rel).read_bytes() == (source / rel).read_bytes()
    assert fetch.presence("cardio") == "present" and fetch.presence("musk") == "missing"
    assert fetch.presence("hsi-file") == ""


def test_a_failed_fetch_leaves_no_folders_it_made(server, datadir):
    """An offline fetch into a mistyped HAD_DATA_DIR left `missing/hsi/` behind."""
    with pytest.raises(DataFileError, match="HTTP 404"):
        fetch.fetch_file(KnownFile("deep/er/none.bin", "0" * 64, f"{server.url}/deep/er/none.bin"))
    assert not datadir.exists()
    datadir.mkdir()
    with pytest.raises(DataFileError):
        fetch.fetch_file(KnownFile("deep/none.bin", "0" * 64, f"{server.url}/deep/none.bin"))
    assert datadir.is_dir() and list(datadir.iterdir()) == []  # the folder that was there stays


@pytest.mark.parametrize("name, said", [("synthetic-scene", "synthetic-scene has no files to fetch"),
                                        ("synthetic", "the plugin synthetic lists no files to fetch")])
def test_a_dataset_or_plugin_without_files_says_so(datadir, name, said):
    """Was: "it comes with had-plugin-..., which is installed but not loaded", though `had plugins` said ok."""
    pytest.importorskip("had_synthetic")
    with pytest.raises(DataFileError, match=said):
        fetch.files_for(name)


def test_listing_goes_on_past_an_unreadable_folder_and_says_why_all_are_missing(datadir, monkeypatch, capsys):
    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "is_file", denied)
    assert fetch.presence("sandiego_plane") == "unreadable"
    monkeypatch.undo()
    datadir.parent.mkdir(exist_ok=True)
    datadir.write_text("a file, not a folder")
    monkeypatch.setenv("HAD_DATA_DIR", str(datadir))
    main(["list", "datasets"])
    assert "(HAD_DATA_DIR) is not a folder" in capsys.readouterr().out
