"""The fifth round of audits (docs/reliability.md): a `.part` that is a link, a FIFO or a device; a grid file of
nested YAML aliases; HAD_MAT_TIMEOUT past what the OS can wait; a HAD_DATA_DIR under an unknown home folder;
`had serve` bodies of timedelta, zero-width dtypes, strings or a 5,000-digit number; control characters in
HAD_PLUGINS; the ONNX external-data message."""

from __future__ import annotations

import io
import json
import os
import re

import numpy as np
import pytest
import scipy.io

import had
from had import fetch, matfile
from had.datadir import data_dir, regular_file
from had.errors import ArtifactError, ConfigError, DataFileError
from had.grid import load_grid
from had_sdk.testing import run_cli
from test_fetch import PAYLOAD, _serve, datadir, server  # noqa: F401 - the fixtures: a local server, HAD_DATA_DIR

# 1. had data fetch never writes through NAME.part


def test_a_part_that_is_a_link_is_refused_and_the_file_it_names_kept(server, datadir, tmp_path):
    """Was: the link followed, the victim taken for a partial download, truncated and rewritten, and the fetched
    file left a link to it."""
    known = _serve(server, "t/a.bin", PAYLOAD)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious, not a download\n")
    part = datadir / "t/a.bin.part"
    part.parent.mkdir(parents=True)
    part.symlink_to(victim)
    with pytest.raises(DataFileError, match=rf"^{part} is not a regular file .*; remove it and fetch again"):
        fetch.fetch_file(known)
    assert victim.read_bytes() == b"precious, not a download\n"
    assert part.is_symlink() and not (datadir / "t/a.bin").exists()
    assert not server.log  # nothing requested


def test_a_part_that_is_a_hard_link_is_refused_and_the_other_name_kept(server, datadir, tmp_path):
    """Was: O_NOFOLLOW stops a symbolic link only; a hard link to the victim was truncated and rewritten."""
    known = _serve(server, "t/a.bin", PAYLOAD)
    part = datadir / "t/a.bin.part"
    part.parent.mkdir(parents=True)
    victim = datadir / "victim.txt"  # a hard link stays within one file system
    victim.write_bytes(b"precious, not a download\n")
    os.link(victim, part)
    with pytest.raises(DataFileError, match=rf"^{part} is not a regular file of its own .*; remove it and fetch"):
        fetch.fetch_file(known)
    assert victim.read_bytes() == b"precious, not a download\n" and not server.log


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_a_part_that_is_a_fifo_a_device_or_a_folder_is_named(server, datadir, kind):
    """Was: "UnsupportedOperation; check the path and the disk" (FIFO), "Invalid argument" (/dev/zero): no path."""
    known = _serve(server, "t/a.bin", PAYLOAD)
    part = datadir / "t/a.bin.part"
    part.parent.mkdir(parents=True)
    {"fifo": lambda: os.mkfifo(part), "device": lambda: part.symlink_to("/dev/zero"), "folder": part.mkdir}[kind]()
    with pytest.raises(DataFileError, match=rf"^{part} is not a regular file .*; remove it and fetch again"):
        fetch.fetch_file(known)
    assert not (datadir / "t/a.bin").exists()


# 2. a grid file of nested YAML aliases


def _alias_bomb(path, levels: int):
    lines = ["a0: &a0 [lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    path.write_text("\n".join(lines + [f"out: *a{levels}"]) + "\n")
    return path


def test_a_grid_file_of_nested_yaml_aliases_is_refused_by_its_size(tmp_path, capsys):
    """Eight levels (43 million values) hung `had bench --config`, using GBs; six (half a million) are refused
    alike, before any value is printed."""
    bomb = _alias_bomb(tmp_path / "bomb.yaml", 6)
    code, out, err = run_cli(capsys, "bench", "--config", bomb)
    assert code == 2 and err.count("\n") == 1 and out == ""
    assert err.startswith(f"error: grid file {bomb} expands to more than 100,000 values (YAML aliases?)")


def test_a_grid_error_shows_a_long_value_cut_short(tmp_path):
    """Was: the whole value in the message (`out: [5,000 numbers]` a 30 kB line)."""
    grid = tmp_path / "grid.yaml"
    grid.write_text("detectors: [rx]\ndatasets: [cardio]\nout: [" + ", ".join(["123456"] * 5000) + "]\n")
    with pytest.raises(ConfigError, match="out must be a string, not ") as info:
        load_grid(grid)
    assert len(str(info.value)) < len(str(grid)) + 200
    grid.write_text("detectors: [rx]\ndatasets: [cardio]\nworkers: " + "x" * 10_000 + "\n")
    with pytest.raises(ConfigError, match=r"workers 'x+\.\.\.x+' must be a positive integer") as info:
        load_grid(grid)
    assert len(str(info.value)) < len(str(grid)) + 200


# 3. HAD_MAT_TIMEOUT past what the OS can wait for


@pytest.mark.parametrize("value", ["1e10", "9e18", "1e8", "1e300"])
def test_a_mat_timeout_past_the_largest_is_no_limit(monkeypatch, value):
    """Was: an OverflowError traceback from subprocess (anything past 2,147,483 s, the OS's poll)."""
    monkeypatch.setenv("HAD_MAT_TIMEOUT", value)
    assert matfile._timeout() is None
    monkeypatch.setenv("HAD_MAT_TIMEOUT", "1e6")
    assert matfile._timeout() == 1e6


def test_a_huge_mat_timeout_reads_the_file(capsys, tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    scipy.io.savemat(tmp_path / "t.mat", {"X": rng.normal(size=(60, 3)), "y": (np.arange(60) < 3).astype(float)})
    monkeypatch.setenv("HAD_MAT_TIMEOUT", "1e10")
    code, out, err = run_cli(capsys, "fit", "rx", tmp_path / "t.mat", "-o", tmp_path / "m")
    assert code == 0, err
    assert (tmp_path / "m" / "manifest.json").is_file()


# 4. a home folder that cannot be found

NO_HOME = "~had-no-such-user-r5"


def test_a_data_dir_under_an_unknown_home_folder_is_named(capsys, tmp_path, monkeypatch):
    """Was: "the load of data source 'cardio' of plugin 'odds' failed: RuntimeError: Could not determine home
    directory.; that is the plugin's fault"."""
    monkeypatch.setenv("HAD_DATA_DIR", f"{NO_HOME}/x")
    with pytest.raises(DataFileError, match=rf"^HAD_DATA_DIR={NO_HOME}/x starts with a home folder that cannot "):
        data_dir()
    code, out, err = run_cli(capsys, "fit", "rx", "cardio", "-o", tmp_path / "m")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: HAD_DATA_DIR={NO_HOME}/x starts with a home folder that cannot be found")
    assert not (tmp_path / "m").exists()


def test_a_data_file_under_an_unknown_home_folder_is_named(capsys, tmp_path):
    """Was: a RuntimeError traceback (`had fit rx '~nosuchuser/x.npy'`)."""
    with pytest.raises(DataFileError, match=rf"^data file {NO_HOME}/x.npy starts with a home folder"):
        regular_file(f"{NO_HOME}/x.npy")
    code, out, err = run_cli(capsys, "fit", "rx", f"{NO_HOME}/x.npy", "-o", tmp_path / "m")
    assert code == 2 and err.startswith(f"error: data file {NO_HOME}/x.npy starts with") and "Traceback" not in err


# 5. had serve: bodies that are not real numbers


def _npy(array: np.ndarray, descr: bytes | None = None) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    body = buffer.getvalue()
    if descr is None:
        return body
    header = body[:len(body) - array.nbytes]  # the header only: a zero-width dtype has no bytes of data
    return header.replace(repr(array.dtype.str).encode(), repr(descr.decode()).encode())


@pytest.mark.parametrize("body,dtype", [
    (_npy(np.ones((3, 5), "<m8[s]")), "timedelta64[s]"),  # was scored (200): numpy calls it an integer
    (_npy(np.zeros((3, 5), "S1"), b"|S0"), "|S0"),  # these three: "itemsize cannot be zero in type"
    (_npy(np.zeros((3, 5), "V1"), b"|V0"), "|V0"),
    (_npy(np.zeros((3, 5), "U1"), b"<U0"), "<U0"),
    (_npy(np.ones((3, 5), "<M8[s]")), "datetime64[s]"),  # refused before, in the same words
])
def test_a_npy_body_of_a_dtype_that_is_not_real_numbers_is_refused(body, dtype):
    from had.serve import _decode

    with pytest.raises(ValueError, match=rf"^data has dtype {re.escape(dtype)}; pass real numbers$"):
        _decode(body, "application/x-npy")


@pytest.mark.parametrize("body", [b'{"data": [[["1", "2", "3", "4", "5"]]]}', b'[["1", "2"]]',
                                  b'{"data": [[1, "2"]]}', b'{"data": [[null, "2"]]}'])
def test_json_strings_are_refused_not_read_as_numbers(body):
    """Was: "1" read as 1.0 and scored (200)."""
    from had.serve import _decode

    with pytest.raises(ValueError, match=r'^"data" holds strings; send real numbers, unquoted$'):
        _decode(body, "application/json")
    assert _decode(b'{"data": [[1, 2]], "id": "a-string-beside-the-data"}', "application/json").shape == (1, 2)


def test_a_json_number_of_thousands_of_digits_is_one_plain_line():
    """Was: Python's "Exceeds the limit (4300 digits) ... sys.set_int_max_str_digits()"."""
    from had.serve import _decode

    with pytest.raises(ValueError, match=r"^the body holds a number too long .*64-bit float's range$") as info:
        _decode(b'{"data": [[1' + b"0" * 5000 + b"]]}", "application/json")
    assert "set_int_max_str_digits" not in str(info.value)


# 6. HAD_PLUGINS names echoed in the warning


def test_plugin_names_with_control_characters_are_quoted_in_the_warning(capsys, monkeypatch):
    """Was: a newline split the one-line warning, an escape sequence reached the terminal."""
    monkeypatch.setattr(had.plugins, "_warned", set(), raising=False)
    monkeypatch.setenv("HAD_PLUGINS", "bad\x1b[2Jname,two\nlines")
    monkeypatch.delenv("HAD_DISABLE_PLUGINS", raising=False)
    had.plugins.reset()
    had.plugins.names("detector")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err
    assert err.startswith("warning: HAD_PLUGINS: 'bad\\x1b[2Jname', 'two\\nlines' match no installed plugin")


# 7. the ONNX external-data message names the model


def test_external_data_is_said_of_the_model_that_points_to_it(tmp_path):
    """Was: "../secret.bin stores its tensor ..." for model.onnx pointing there."""
    pytest.importorskip("onnxruntime")
    from had.runtime import OnnxScorer
    from test_runtime_untrusted import _leaking_model

    path = tmp_path / "m" / "model.onnx"
    path.parent.mkdir()
    path.write_bytes(_leaking_model("../secret.bin").SerializeToString())
    with pytest.raises(ArtifactError) as info:
        OnnxScorer(path)
    assert str(info.value).startswith(f"{path} stores its tensor 'leak' outside the file (external data at "
                                      "'../secret.bin'); had reads only models")
    assert json.dumps(str(info.value)).count("secret.bin") == 1


@pytest.mark.parametrize("dtype", ["m8[s]", "m8[ns]"])
def test_timedelta_data_is_refused_by_the_api_and_the_onnx_engine_too(dtype, tmp_path):
    """Was: numpy counts timedelta64 among its integers, so ``fit``, ``decision_function`` and the ONNX engine took
    a timedelta array as numbers (only ``had serve`` refused it)."""
    import numpy as np

    import had
    from had.errors import InvalidInputError
    from had.validation import real_numbers

    X = np.arange(40, dtype=np.int64).reshape(8, 5).astype(dtype)
    with pytest.raises(InvalidInputError, match=f"has dtype timedelta64.*pass real numbers"):
        had.get_detector("rx").fit(X)
    with pytest.raises(InvalidInputError, match="pass real numbers"):
        real_numbers(X)
    rng = np.random.default_rng(0)
    model = had.get_detector("rx").fit(rng.normal(size=(50, 5)))
    had.save(model, tmp_path / "m", onnx_model=model.export_onnx())
    from had.runtime import OnnxScorer

    with pytest.raises(InvalidInputError, match="pass real numbers"):
        OnnxScorer(tmp_path / "m").score(X)


@pytest.mark.parametrize("source, name", [("npy-file", "x.npy"), ("envi-file", "x.hdr"), ("table-file", "x.csv"),
                                          ("geotiff-scene", "x.tif"), ("raster-file", "x.tif"),
                                          ("image-folder", "xr")])
def test_a_source_path_under_an_unknown_home_folder_is_said_not_blamed_on_the_plugin(source, name, capsys):
    """Was: ``--data path=~nosuchuser/...`` raised pathlib's RuntimeError inside the source's load, reported as
    "the load of data source ... failed ...; that is the plugin's fault"."""
    from had_sdk.testing import run_cli

    if source not in had.plugins.registry()["datasource"]:
        pytest.skip(f"{source}'s plugin is not installed")
    code, _, err = run_cli(capsys, "fit", "rx", source, "--data", f"path=~nosuchuser/{name}", "-o", "unused")
    assert code == 2
    assert f"~nosuchuser/{name} starts with a home folder that cannot be found" in err and "plugin" not in err
