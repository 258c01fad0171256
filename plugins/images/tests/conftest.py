"""Shared helpers: real-data tests read HAD_DATA_DIR and skip, with the reason, when a file is absent."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


@pytest.fixture
def real_file():
    """``real_file(relpath)``: the path of a file in HAD_DATA_DIR, or skip saying why it is absent."""

    def find(relpath: str) -> Path:
        env = os.environ.get("HAD_DATA_DIR")
        if not env:
            pytest.skip(f"real data: HAD_DATA_DIR is not set (CI sets HAD_DATA_DIR=../shared/data); needs {relpath}")
        path = Path(env).expanduser() / relpath
        if not path.is_file():
            pytest.skip(f"real data: {relpath} is not in HAD_DATA_DIR={env}")
        return path

    return find


@pytest.fixture
def corrupt_copy(tmp_path, monkeypatch):
    """``corrupt_copy(source, relpath)``: copy a file to a fresh data dir with one byte flipped; HAD_DATA_DIR points there."""

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
