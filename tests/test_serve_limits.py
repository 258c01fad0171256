"""`had serve`'s bounds: at most ``--max-connections`` connections are open at once (each holds a thread; was one
thread per connection, unbounded: 10,000 silent clients were 10,000 threads); one more gets a 503 with
``Retry-After`` and ``Connection: close`` at once, without a thread and before its request is read, and is closed,
while the open ones are still served; the count falls as clients close; a refused connection is not a request in
flight for a stop. ``--max-body-mb``, ``--max-inflight`` and ``--max-connections`` have upper bounds, a value
above refused in one line (exit 2)."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import threading
import time

import numpy as np
import pytest
from had_sdk.testing import run_cli

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import had  # noqa: E402
from had import serve  # noqa: E402
from had.onnx_export import export  # noqa: E402
from had.runtime import OnnxScorer  # noqa: E402
from had.rx import RX  # noqa: E402
from had.serve import ScoringServer  # noqa: E402

HEALTH = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture
def rows_model(tmp_path):
    """An exported RX model of 5 features, the detector, the rows and the rows as a .npy body."""
    X = np.random.default_rng(5).normal(size=(40, 5)) * np.arange(1, 6)
    det = RX().fit(X)
    path = had.save(det, tmp_path / "m")
    export(path, X)
    buffer = io.BytesIO()
    np.save(buffer, X)
    return path, det, X, buffer.getvalue()


def _serving(path, connections: int, **options) -> ScoringServer:
    srv = ScoringServer(OnnxScorer(path), "127.0.0.1", 0, **options)
    srv.max_connections = connections  # as max_connections=connections does
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def _connect(srv: ScoringServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", srv.server_port), timeout=15)


def _until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within 30 s"
        time.sleep(0.01)


def _until_closed(sock: socket.socket) -> bytes:
    """What the server sent before closing (a reset ends it as a close does); a socket timeout fails the test."""
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def _reply(data: bytes) -> tuple[int, dict[str, str], dict]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 "), data[:300]
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body)


def _health(sock: socket.socket) -> int:
    """GET /health on a kept-alive connection: its status (the reply read whole)."""
    sock.sendall(HEALTH)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split()[1])


def _refused(data: bytes) -> None:
    status, headers, out = _reply(data)
    assert status == 503, data[:300]
    assert headers["retry-after"] == "1" and headers["connection"] == "close"
    assert out == {"error": "the server has 2 connections open, its limit (--max-connections); retry later"}


def test_connections_beyond_the_limit_get_503_at_once_and_the_open_ones_are_still_served(rows_model):
    """Two silent connections hold the server's two; a third gets its 503 without sending anything (its request is
    not waited for: before, it got a thread and waited up to 120 s for it), and so does one that sends its request;
    the two open ones are then served. The refusals start no thread and are logged once."""
    path = rows_model[0]
    lines: list[str] = []
    srv = _serving(path, 2, log=lines.append)
    held = []
    try:
        held = [_connect(srv), _connect(srv)]
        _until(lambda: srv.connections == 2 and len(srv.handlers) == 2)
        threads = threading.active_count()
        silent = _connect(srv)
        _refused(_until_closed(silent))  # nothing sent: the 503 comes at once (the socket's 15 s otherwise)
        silent.close()
        asking = _connect(srv)
        asking.sendall(HEALTH)
        _refused(_until_closed(asking))
        asking.close()
        assert srv.refused == 2 and srv.connections == 2 and threading.active_count() == threads
        assert len([line for line in lines if "refused" in line]) == 1, lines
        assert "2 connections open (--max-connections); 503" in lines[-1], lines
        assert [_health(sock) for sock in held] == [200, 200]
        assert [_health(sock) for sock in held] == [200, 200]  # still kept alive
    finally:
        for sock in held:
            sock.close()
        srv.shutdown()
        srv.server_close()


def test_the_count_falls_as_clients_close_and_a_new_connection_is_served(rows_model):
    """With one connection allowed: a second is refused while the first is open; once the first closes (idle, or
    after a reply that says ``Connection: close``) the count is 0 and the next connection is served."""
    path = rows_model[0]
    srv = _serving(path, 1)
    try:
        first = _connect(srv)
        assert _health(first) == 200
        _until(lambda: srv.connections == 1)
        second = _connect(srv)
        status, headers, _ = _reply(_until_closed(second))
        second.close()
        assert status == 503 and headers["connection"] == "close"
        first.close()  # idle on a kept-alive connection: its handler sees the end and closes
        _until(lambda: srv.connections == 0)
        third = _connect(srv)
        third.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, _, out = _reply(_until_closed(third))
        third.close()
        assert status == 200 and out["status"] == "ok"
        _until(lambda: srv.connections == 0 and not srv.handlers and not srv.accepted)
        for _ in range(3):  # and again: the count does not drift
            sock = _connect(srv)
            assert _health(sock) == 200
            sock.close()
            _until(lambda: srv.connections == 0)
        assert srv.refused == 1
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_refused_connection_is_not_a_request_in_flight_for_the_stop(rows_model):
    """A request being scored holds the only connection; one more is refused (503) and is neither waited for nor
    counted by the stop: its line says one request, being scored, which then replies."""
    path, det, X, body = rows_model
    srv = ScoringServer(OnnxScorer(path), "127.0.0.1", 0, wait=4.0, max_connections=1)
    scored, scoring, go = srv.score, threading.Event(), threading.Event()

    def held(X):
        scoring.set()
        assert go.wait(30)
        return scored(X)

    srv.score = held
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    sock = _connect(srv)
    sock.sendall(f"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-npy\r\nContent-Length: "
                 f"{len(body)}\r\n\r\n".encode() + body)
    try:
        assert scoring.wait(30)
        other = _connect(srv)
        other.sendall(HEALTH)
        status, headers, out = _reply(_until_closed(other))
        other.close()
        assert status == 503 and "(--max-connections)" in out["error"]
        srv.shutdown()
        stop = srv.stop

        def stop_then_score():
            busy = stop()
            go.set()
            return busy

        srv.stop = stop_then_score
        lines: list[str] = []
        serve._stop(srv, lines.append)
        status, _, out = _reply(_until_closed(sock))
    finally:
        go.set()
        sock.close()
        srv.server_close()
    assert status == 200 and np.allclose(out["scores"], det.decision_function(X), rtol=1e-4)
    assert lines == ["stopping: waiting up to 6 s for 1 request(s) in flight to finish and reply (1 being scored); "
                     "Ctrl-C or SIGTERM again stops at once"], lines
    assert srv.connections == 0 and srv.refused == 1


@pytest.mark.parametrize("option, value, bounds", [
    ("--max-body-mb", "65537", "1<=x<=65536"),
    ("--max-body-mb", "1000000000000", "1<=x<=65536"),
    ("--max-inflight", "1025", "1<=x<=1024"),
    ("--max-inflight", str(10**9), "1<=x<=1024"),
    ("--max-connections", "1025", "1<=x<=1024"),
    ("--max-connections", "0", "1<=x<=1024"),
])
def test_values_above_the_bounds_are_one_line_exit_2(tmp_path, capsys, monkeypatch, option, value, bounds):
    """Was: any value from 1 up (``--max-body-mb 1000000000000``, ``--max-inflight 1000000000``) served."""
    started = []
    monkeypatch.setattr(serve, "serve", lambda *args, **kwargs: started.append(kwargs))
    code, _, err = run_cli(capsys, "serve", tmp_path, option, value)
    assert code == 2 and not started, (code, err, started)
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith("error: had serve: ") and f"'{option}'" in line and bounds in line, line


def test_the_bounds_and_the_default_are_served(tmp_path, capsys, monkeypatch):
    """The largest values are accepted, and ``--max-connections`` reaches the server (default 64)."""
    started = []
    monkeypatch.setattr(serve, "serve", lambda *args, **kwargs: started.append(kwargs))
    code, _, err = run_cli(capsys, "serve", tmp_path, "--max-body-mb", "65536", "--max-inflight", "1024",
                           "--max-connections", "1024")
    assert code == 0, err
    code, _, err = run_cli(capsys, "serve", tmp_path)
    assert code == 0, err
    assert [(kw["max_body"], kw["max_inflight"], kw["max_connections"]) for kw in started] == [
        (65536 * 2**20, 1024, 1024), (64 * 2**20, 4, 64)]
