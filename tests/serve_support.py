"""What the `had serve` tests share: an exported RX model of rows, a server whose scoring is held, a stop while a
request is being scored, a wait for a condition, an HTTP reply parsed, and a request sent and its JSON reply read."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

import had
from had import serve
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


def scored_event(srv) -> threading.Event:
    """An event set once `srv` has scored a request (its reply is then being sent)."""
    scored, done = srv.score, threading.Event()

    def score(X):
        try:
            return scored(X)
        finally:
            done.set()

    srv.score = score
    return done


def stop_while_scored(srv, sock, go: threading.Event, until_replied: bool = False) -> tuple[list[str], int, dict]:
    """Stop `srv` as `had serve` does while `go` holds `sock`'s request in scoring: its lines, reply status, body."""
    stop = srv.stop

    def stop_then_score():
        busy = stop()
        go.set()  # let go once the stop has taken what it waits for
        if until_replied:
            until(lambda: not srv.connections)  # the request replied, its connection closed
        return busy

    srv.stop = stop_then_score
    lines: list[str] = []
    serve._stop(srv, lines.append)
    status, _, out = parse_reply(until_closed(sock))
    return lines, status, out


def until_closed(sock) -> bytes:
    """What the server sent before closing the connection (a reset ends it as a close does); a socket timeout
    fails the test."""
    data = b""
    with contextlib.suppress(ConnectionError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def until(condition, timeout: float = 30.0, said=None) -> None:
    """Wait, looking every 10 ms, until `condition()` is true; not within `timeout` seconds fails the test (its
    message with what `said()` gives, where given)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:g} s" + (f": {said()!r}" if said else "")
        time.sleep(0.01)


def parse_reply(data: bytes) -> tuple[int, dict[str, str], dict]:
    """One HTTP/1.1 reply's status, headers (their names in lower case) and JSON body (all of `data` after the
    head); `data` that is not an HTTP/1.1 reply fails the test."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 "), data[:300]
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body)


def call(srv, path: str, body: bytes | None = None, kind: str = "application/json") -> tuple[int, dict]:
    """(status, JSON reply) of a request to the server `srv` (a ``ScoringServer``): a POST of `body` as `kind`,
    or a GET without one; an error status's reply read as well."""
    url = f"http://127.0.0.1:{srv.server_port}{path}"
    request = urllib.request.Request(url, data=body, headers={"Content-Type": kind} if body is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
