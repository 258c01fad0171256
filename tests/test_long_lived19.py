"""What accumulates in long-lived processes (a leak probe of 7 December 2026): RX with ``threads`` > 1 kept a
pool of idle threads per thread count its blocks used (250 threads for ``threads=32``); ``had.cli.main`` called in
process left a wrapper on ``sys.stdout``/``sys.stderr`` per call."""

from __future__ import annotations

import contextlib
import io
import sys
import threading

import numpy as np

from had import tile_chunks
from had.cli import main


def test_in_parts_keeps_one_pool_of_the_threads_asked_for():
    tile_chunks._pool.cache_clear()
    before = threading.active_count()
    rows = [tile_chunks.SCORE_CHUNK * 2 * n for n in range(2, 9)]  # blocks that split into 2..8 parts
    for n in rows:
        block = np.zeros((n, 1, 1))
        parts = tile_chunks.in_parts(lambda part, first: part.shape[0], block, 8)
        assert sum(parts) == n
    assert tile_chunks._pool.cache_info().currsize == 1  # was 7: a pool for each of 2..8
    assert threading.active_count() - before <= 8


def test_main_in_process_gives_the_streams_back(capsys):
    outer = sys.stdout, sys.stderr
    for _ in range(3):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
            main(["list", "detectors"])
        assert "rx" in buffer.getvalue()
    assert (sys.stdout, sys.stderr) == outer
