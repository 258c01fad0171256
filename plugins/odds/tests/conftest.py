"""Shared helpers: real-data tests read HAD_DATA_DIR and skip, with the reason, when a file is absent."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest



@pytest.fixture
def corrupt_copy(tmp_path, monkeypatch):
    """``corrupt_copy(source, relpath)``: copy a file into a fresh data dir with one byte flipped.

    HAD_DATA_DIR points at that dir for the rest of the test.
    """

    def make(source: Path, relpath: str) -> Path:
        target = tmp_path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        with open(target, "r+b") as fh:
            fh.seek(os.path.getsize(target) // 2)
            byte = fh.read(1)
            fh.seek(-1, os.SEEK_CUR)
            fh.write(bytes([byte[0] ^ 0xFF]))
        monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path))
        return target

    return make
