"""A probe of 7 December 2026 ran `had` under address-space limits (``prlimit --as``): an ENVI flight line that
could not be memory-mapped was called a broken file ("spectral cannot open it (ValueError: axes don't match
array)": spectral turns its map's ``OSError(12)`` into a map of None), and numba's llvmlite failing to load its
library ("failed to map segment from shared object") was "OSError; check the path and the disk", its text dropped.
Each now says what ran short and how to fix it."""

from __future__ import annotations

import errno
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from had.errors import DataFileError, os_error_message

pytest.importorskip("spectral")
from had_hsi import envi  # noqa: E402


def _scene(tmp_path, shape=(20, 30, 8)):
    cube = np.random.default_rng(0).normal(1000, 50, size=shape).astype(np.int16)
    header = tmp_path / "line.hdr"
    envi.save_envi(header, cube)
    return header, cube


def test_a_scene_that_cannot_be_mapped_says_memory_not_a_bad_file(tmp_path, monkeypatch):
    """spectral's map failing for want of address space (it returns None, then "axes don't match array"): said
    as the memory it is, with the room needed, not as a file spectral cannot open."""
    header, _ = _scene(tmp_path)

    def no_room(*args, **kwargs):
        raise OSError(errno.ENOMEM, "Cannot allocate memory")

    monkeypatch.setattr(np, "memmap", no_room)  # spectral's map and had's probe alike
    with pytest.raises(DataFileError) as caught:
        envi.open_envi(header)
    said = str(caught.value)
    assert "cannot map" in said and "line.img" in said and "address space or memory is exhausted" in said
    assert "Cannot allocate memory" in said and "prlimit --as" in said and "not at fault" in said
    assert "spectral cannot open it" not in said and "\n" not in said


def test_a_memory_error_from_spectral_is_said_as_memory(tmp_path, monkeypatch):
    header, _ = _scene(tmp_path)
    from spectral.io import spyfile

    def short(self, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(spyfile.MemmapFile, "open_memmap", short)
    with pytest.raises(DataFileError, match=r"cannot map .*line\.img \(9,600 bytes\) into memory: .*exhausted \(MemoryError\)"):
        envi.open_envi(header)


def test_a_file_spectral_cannot_read_is_still_a_file_error(tmp_path, monkeypatch):
    """Where the map itself works, spectral's failure is the file's, as before."""
    header, cube = _scene(tmp_path)
    from spectral.io import spyfile

    def broken(self, **kwargs):
        raise ValueError("axes don't match array")

    monkeypatch.setattr(spyfile.MemmapFile, "open_memmap", broken)
    with pytest.raises(DataFileError, match=r"spectral cannot open it \(ValueError: axes don't match array\)"):
        envi.open_envi(header)
    monkeypatch.undo()
    np.testing.assert_array_equal(envi.open_envi(header)[0], cube)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc/self/status are Linux's")
def test_under_a_real_address_space_limit(tmp_path):
    """A 256 MiB scene (sparse: nothing written) opened with 64 MiB of address space left: the map fails."""
    header = tmp_path / "big.hdr"
    lines, samples, bands = 1024, 1024, 128
    envi.write_header(header, (lines, samples, bands), np.int16, "bil")
    with open(tmp_path / "big.img", "wb") as fh:
        fh.truncate(lines * samples * bands * 2)
    script = textwrap.dedent(f"""
        import resource, sys
        from had_hsi import envi
        from had.errors import DataFileError
        with open("/proc/self/status") as fh:
            size = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (size + 64 * 2**20, resource.getrlimit(resource.RLIMIT_AS)[1]))
        try:
            envi.open_envi({str(header)!r})
        except DataFileError as exc:
            print(exc)
        else:
            print("opened")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    said = done.stdout.strip()
    if said == "opened":  # a kernel that maps past RLIMIT_AS (none known): nothing to tell
        pytest.skip("the map fit under the limit")
    assert done.returncode == 0, done.stderr
    assert said.startswith("cannot map ") and "big.img (256 MiB)" in said, said
    assert "Cannot allocate memory" in said and "address space left" in said, said


def test_an_oserror_without_errno_keeps_its_text():
    said = os_error_message(OSError("the widget\nbroke"))
    assert said == "OSError: the widget broke; check the path and the disk"
    assert os_error_message(OSError()) == "OSError; check the path and the disk"
    assert len(os_error_message(OSError("x" * 5000))) < 400  # cut, as the module cuts a value


def _llvmlite_failure() -> OSError:
    """What numba's import raised under ``prlimit --as=1000000000``: llvmlite's own OSError (no errno) raised
    while handling the loader's."""
    try:
        try:
            raise OSError("/venv/llvmlite/binding/libllvmlite.so: failed to map segment from shared object")
        except OSError:
            raise OSError("Could not find/load shared object file 'libllvmlite.so' from resource location: "
                          "'llvmlite.binding'. This could mean that the library literally cannot be found, but may "
                          "also mean that the permissions are incorrect or that a dependency of/a symbol in the "
                          "library could not be resolved.")
    except OSError as exc:
        return exc


def test_a_shared_library_that_cannot_be_mapped_is_said_as_such(monkeypatch):
    import resource

    monkeypatch.setattr(resource, "getrlimit", lambda which: (1_000_000_000, resource.RLIM_INFINITY))
    said = os_error_message(_llvmlite_failure())
    assert said.startswith("OSError: Could not find/load shared object file 'libllvmlite.so'")
    assert "(/venv/llvmlite/binding/libllvmlite.so: failed to map segment from shared object)" in said
    assert "a shared library could not be mapped into memory" in said
    assert "address space is limited to 954 MiB (ulimit -v, prlimit --as): raise that limit" in said
    assert "check the path and the disk" not in said and "\n" not in said


def test_a_library_that_fails_to_load_and_memory_refused():
    said = os_error_message(OSError("libfoo.so: cannot open shared object file: No such file or directory"))
    assert "a shared library failed to load: reinstall the package that provides it" in said
    said = os_error_message(OSError("mmap: Cannot allocate memory"))
    assert "memory or address space could not be allocated" in said and "check the path" not in said


def test_enomem_is_said_as_memory():
    said = os_error_message(OSError(errno.ENOMEM, "Cannot allocate memory"))
    assert said.startswith("Cannot allocate memory; memory or address space is exhausted")
    assert "prlimit --as" in said and "check the path and the disk" not in said


def test_the_cli_says_the_library_failure_on_one_line(monkeypatch, capsys):
    from had import cli

    def fails(*args, **kwargs):
        raise _llvmlite_failure()

    monkeypatch.setattr(cli.cli, "main", fails)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["list", "detectors"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: OSError: Could not find/load shared object file") and "\n" not in err
    assert "failed to map segment" in err and "check the path and the disk" not in err
