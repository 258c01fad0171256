"""What the `had serve` tests share: an exported RX model of rows, and a server whose scoring is held."""

from __future__ import annotations

import contextlib
import io
import threading

import numpy as np
import pytest

import had
from had.onnx_export import export
from had.rx import RX


@pytest.fixture
def rows_model(tmp_path):
    """An exported RX model of 5 features, the detector, its 40 rows and the rows as a .npy body."""
    X = np.random.default_rng(5).normal(size=(40, 5)) * np.arange(1, 6)
    det = RX().fit(X)
    path = had.save(det, tmp_path / "m")
    export(path, X)
    buffer = io.BytesIO()
    np.save(buffer, X)
    return path, det, X, buffer.getvalue()


def hold_scoring(srv) -> tuple[threading.Event, threading.Event]:
    """Hold each request `srv` scores until the second event (`go`) is set; the first (`scoring`) is set once one
    is being scored."""
    scored, scoring, go = srv.score, threading.Event(), threading.Event()

    def held(X):
        scoring.set()
        assert go.wait(30)
        return scored(X)

    srv.score = held
    return scoring, go


def until_closed(sock) -> bytes:
    """What the server sent before closing the connection (a reset ends it as a close does); a socket timeout
    fails the test."""
    data = b""
    with contextlib.suppress(ConnectionError):
        while chunk := sock.recv(65536):
            data += chunk
    return data
