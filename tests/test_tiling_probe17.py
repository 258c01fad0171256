"""Tiles of a memory-mapped ENVI file (had.tiling): a file truncated while had reads it, and BSQ's file pages.

1. A data file truncated or rewritten in place (``cp new.img line.img``) after it was opened killed the process
   with SIGBUS (exit 135, no message) at the next tile: now DataFileError, and ``had score``/``had fit`` exit 2
   with its one line. Run in a subprocess, so that a regression kills the child, not pytest.
2. A BSQ tile (one stretch of the file per band) was copied whole and its pages released only after the caller's
   tile: the kernel maps the page cache's folios whole around each band's bytes, so a pass over a BSQ file held
   several times a tile of file pages. Now each band's pages are released once copied.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

envi = pytest.importorskip("had_hsi.envi")

from had import tiling  # noqa: E402

# opens line.hdr, truncates line.img, then reads it through had's tile reader `how`; prints what it raised
DIRECT = textwrap.dedent("""
    import os, sys
    import numpy as np
    from had.errors import DataFileError
    from had.tiling import row_tiles, tiles
    from had_hsi.envi import open_envi
    X, meta = open_envi("line.hdr")
    os.truncate("line.img", 1000)
    total = 0.0
    try:
        if sys.argv[1] == "tiles":
            for _, _, block in tiles(X, 8 * 50 * 20 * 16):
                total += float(np.asarray(block, dtype=np.float64).sum())
        else:
            for start, stop in row_tiles(X, 8 * 50 * 20 * 16):
                total += float(np.asarray(X[start:stop], dtype=np.float64).sum())
    except DataFileError as exc:
        print("DataFileError:", exc)
        sys.exit(0)
    print("read", total)
""")


def _line(folder, interleave: str) -> None:
    cube = np.random.default_rng(0).random((200, 50, 20), dtype=np.float32)
    envi.save_envi(folder / "line.hdr", cube, interleave)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGBUS on a truncated mapping: Linux")
@pytest.mark.parametrize("interleave", ["bil", "bsq", "bip"])
@pytest.mark.parametrize("how", ["tiles", "row_tiles"])
def test_a_file_truncated_after_open_is_a_data_file_error_not_sigbus(tmp_path, interleave, how):
    _line(tmp_path, interleave)
    done = subprocess.run([sys.executable, "-c", DIRECT, how], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"returncode {done.returncode} (-7: SIGBUS); stderr: {done.stderr[-2000:]}"
    assert "DataFileError:" in done.stdout and "line.img is shorter than when it was opened" in done.stdout
    assert "(1,000 bytes, 800,000 needed)" in done.stdout and "run the command again" in done.stdout


# `had fit`/`had score` through the console script's entry, the ENVI file truncated just after had opened it
CLI = textwrap.dedent("""
    import os, sys
    import had_hsi.envi as envi
    opened = envi.open_envi
    def truncating(path, *args, **kwargs):
        cube, meta = opened(path, *args, **kwargs)
        os.truncate("line.img", 1000)
        return cube, meta
    envi.open_envi = truncating
    sys.argv = ["had", *sys.argv[1:]]
    from had_entry import main
    main()
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGBUS on a truncated mapping: Linux")
@pytest.mark.parametrize("command", ["score", "fit"])
def test_had_exits_2_with_one_line_when_the_file_is_truncated_while_it_reads(tmp_path, command):
    _line(tmp_path, "bsq")
    had = [sys.executable, "-c", "import sys; from had_entry import main; sys.argv[0] = 'had'; main()"]
    fitted = subprocess.run([*had, "fit", "rx", "line.hdr", "-o", "model"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert fitted.returncode == 0, fitted.stderr[-2000:]
    args = ["score", "model", "line.hdr", "-o", "map.tif"] if command == "score" else ["fit", "rx", "line.hdr",
                                                                                        "-o", "model2"]
    done = subprocess.run([sys.executable, "-c", CLI, *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, f"returncode {done.returncode} (135/-7: SIGBUS); stderr: {done.stderr[-2000:]}"
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in done.stderr
    assert "line.img is shorter than when it was opened (1,000 bytes, 800,000 needed)" in lines[0]


def test_a_whole_file_passes_the_check(tmp_path):
    _line(tmp_path, "bil")
    X, _ = envi.open_envi(tmp_path / "line.hdr")
    tiling.check_file(X)
    tiling.check_file(np.zeros((3, 4, 5)))  # not a memory map: nothing to check
    assert sum(b.shape[0] for _, _, b in tiling.tiles(X, 8 * 50 * 20 * 16)) == 200


def _mapping_rss(address: int) -> int:
    """Bytes resident of the mapping holding `address` (/proc/self/smaps)."""
    inside = False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                low, high = (int(v, 16) for v in head.split("-"))
                inside = low <= address < high
            elif inside and head == "Rss:":
                return int(line.split()[1]) * 1024
    raise AssertionError("mapping not found")


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="/proc/self/smaps: Linux")
def test_a_bsq_pass_keeps_few_file_pages_mapped(tmp_path):
    """Each tile of a 32 MB BSQ file is 8 MB of the file; once a tile was read, the map held that tile's pages and
    more (the kernel maps its page cache's folios whole, up to 2 MiB around each band's 128 KB: the whole 32 MB at
    the first tile), until the caller asked for the next: now a few bands' pages are released as soon as they are
    copied, so the map holds none once a tile is read, and at most a few bands' while the reader copies one."""
    H, W, B = 512, 512, 64
    cube = np.random.default_rng(1).integers(-3000, 3000, size=(H, W, B), dtype=np.int16)
    envi.save_envi(tmp_path / "bsq.hdr", cube, "bsq")
    X, _ = envi.open_envi(tmp_path / "bsq.hdr")
    address = np.frombuffer(tiling._mapped(X), dtype=np.uint8, count=1).ctypes.data
    in_file = 128 * W * B * 2  # 8 MiB of the file per tile of 128 rows
    after_read = []
    for start in range(0, H, 128):  # the reader's work, one tile at a time: what the map holds once it is read
        block = tiling._read_rows(X, start, start + 128)
        after_read.append(_mapping_rss(address))
        np.testing.assert_array_equal(block, cube[start:start + 128])
        assert block.strides[-1] > block.strides[0]  # the file's layout, band-major, as np.copy(order="K") gave
        tiling.release_pages(X, start, start + 128)
    assert max(after_read) < 2**20, f"{[h // 2**20 for h in after_read]} MiB of the file mapped after each tile"
    held = []  # a pass, the reader copying the next tile while the caller has one
    for start, stop, block in tiling.tiles(X, tiling.bytes_for_rows(X.shape, 128)):
        held.append(_mapping_rss(address))
        np.testing.assert_array_equal(block, cube[start:stop])
    assert len(held) == 4
    assert max(held) < in_file, f"{[h // 2**20 for h in held]} MiB of the file mapped at each tile"


def test_tiles_copied_piece_by_piece_hold_the_data(tmp_path):
    """The BSQ copy band by band gives the data of the tiles as before: a whole file, a window of it, a view of
    some bands (CubeView), a file in the other byte order, and a narrow table (more rows than MAX_PIECES: one copy)."""
    from had.cubeview import CubeView

    cube = np.random.default_rng(2).integers(-3000, 3000, size=(40, 30, 7), dtype=np.int16)
    envi.save_envi(tmp_path / "le.hdr", cube, "bsq")
    envi.save_envi(tmp_path / "be.hdr", cube, "bsq", byte_order="big")
    for name in ("le.hdr", "be.hdr"):
        X, _ = envi.open_envi(tmp_path / name)
        for view, expected in ((X, cube), (X[5:35, 3:20], cube[5:35, 3:20]),
                               (CubeView(X, np.array([6, 0, 3])), cube[..., [6, 0, 3]])):
            got = np.concatenate([np.asarray(b) for _, _, b in tiling.tiles(view, tiling.bytes_for_rows(X.shape, 3))])
            np.testing.assert_array_equal(got, expected)
    table = np.random.default_rng(3).random((20000, 6))
    np.save(tmp_path / "t.npy", table)
    T = np.load(tmp_path / "t.npy", mmap_mode="r")[:, 1:3]  # rows not one stretch: copied
    got = np.concatenate([b for _, _, b in tiling.tiles(T, tiling.bytes_for_rows(T.shape, 9000))])
    np.testing.assert_array_equal(got, table[:, 1:3])
