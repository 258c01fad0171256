"""`had serve` against clients that stall: one that sends part of its body and goes silent, or trickles it, gives
its request slot up after the body's idle time (``body_idle_s``) or once it falls below the minimum rate
(``body_min_rate``), not after the whole body's ``body_s``, while a body sent slowly but steadily is still
scored; a GET or HEAD whose Content-Length's body never comes is answered at once; a request waits for a slot
until ``wait`` seconds after its first byte, so the longest request that keeps to its deadlines fits a stop's
grace, and the stop timeout the docs give the service manager fits both. Each server here has one slot and short
limits (idle 0.5 s), so no test waits more than about 3 s."""

from __future__ import annotations

import io
import re
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from had import serve  # noqa: E402
from had.runtime import OnnxScorer  # noqa: E402
from had.serve import ScoringServer  # noqa: E402
from serve_support import hold_scoring, parse_reply, scored_event, until, until_closed  # noqa: E402
from serve_support import rows_model  # noqa: E402,F401 - a fixture

DOCS = Path(__file__).resolve().parents[1] / "docs" / "deployment.md"


def _server(path, wait: float = 8.0, **limits) -> ScoringServer:
    """One slot, ``body_s`` half of `wait` (4 s by default), the body's idle time 0.5 s and `limits` set."""
    srv = ScoringServer(OnnxScorer(path), "127.0.0.1", 0, max_inflight=1, wait=wait)
    srv.body_idle_s = 0.5
    for name, value in limits.items():
        setattr(srv, name, value)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def _stop(srv: ScoringServer) -> None:
    srv.shutdown()
    srv.server_close()


def _npy(rows: int) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.random.default_rng(1).normal(size=(rows, 5)))
    return buffer.getvalue()


def _head(length: int, close: bool = False) -> bytes:
    return (b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-npy\r\n"
            + (b"Connection: close\r\n" if close else b"") + b"Content-Length: %d\r\n\r\n" % length)


def _holding_the_slot(srv: ScoringServer, data: bytes) -> socket.socket:
    """A client that sends `data` (a head and the first bytes of its body), once its request holds the slot."""
    sock = socket.create_connection(("127.0.0.1", srv.server_port), timeout=20)
    sock.sendall(data)
    until(lambda: srv.slots._value == 0, timeout=10)
    return sock


def _scored_at_once(srv: ScoringServer, body: bytes) -> float:
    """Seconds a real request took to be scored (200) while the slot was held."""
    start = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", srv.server_port), timeout=20)
    sock.sendall(_head(len(body), close=True) + body)
    status, _, out = parse_reply(until_closed(sock))
    sock.close()
    assert status == 200 and len(out["scores"]) == 40, (status, out)
    return time.monotonic() - start


def _one_reply(sock: socket.socket) -> bytes:
    """One reply read whole off a kept-alive connection (its head, then its Content-Length's bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *([0-9]+)", head)[1])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _error(data: bytes, status: int) -> str:
    got, headers, out = parse_reply(data)
    assert got == status and headers["connection"] == "close", (got, out)
    return out["error"]


def test_a_client_stalled_with_a_slot_gives_it_up_after_the_idle_time(rows_model):
    """A client that sent its head and 64 KiB of a larger body (enough to take a slot) and went silent held the
    slot for the whole body's ``body_s`` (4 s here; 30 s by default, 29.6 s for a real request measured behind
    four such clients): now for the idle time (0.5 s), and its 408 says so."""
    path, _, X, body = rows_model
    srv = _server(path)
    try:
        stalled = _holding_the_slot(srv, _head(1_000_000) + b"\0" * 65536)
        took = _scored_at_once(srv, body)
        said = _error(until_closed(stalled), 408)
        stalled.close()
    finally:
        _stop(srv)
    assert took < 2.5, took  # was about 4 s: the body's whole deadline
    assert said == ("the body stalled: none of it arrived for 0.5 s (65,536 of 1,000,000 bytes); send it without "
                    "pauses"), said


def test_a_body_trickled_below_the_minimum_rate_gives_its_slot_up(rows_model):
    """Bytes that keep coming, a few every 0.2 s (within the idle time), held the slot for the whole ``body_s``;
    below the minimum rate (50,000 bytes/s here) the slot is given up once the idle time's allowance is spent."""
    path, _, X, body = rows_model
    srv = _server(path, body_min_rate=50_000)
    stop = threading.Event()
    try:
        trickled = _holding_the_slot(srv, _head(1_000_000) + b"\0" * 65536)

        def trickle():
            while not stop.wait(0.2):
                try:
                    trickled.sendall(b"\0" * 1000)  # 5,000 bytes/s
                except OSError:
                    return

        threading.Thread(target=trickle, daemon=True).start()
        took = _scored_at_once(srv, body)
        said = _error(until_closed(trickled), 408)
        trickled.close()
    finally:
        stop.set()
        _stop(srv)
    assert took < 2.5, took
    assert re.fullmatch(r"the body arrived at [0-9,]+ bytes/s \([0-9,]+ of 1,000,000 bytes\), below the server's "
                        r"minimum of 50,000 after its first 0.5 s; send it faster", said), said


def test_a_body_sent_slowly_but_steadily_is_still_scored(rows_model):
    """The idle time and the minimum rate cut no body that keeps coming: 20,000 rows (800 KB) in 8 pieces 0.2 s
    apart (about 500 KB/s, pauses shorter than the idle time) are scored whole."""
    path, det, _, _ = rows_model
    srv = _server(path, body_min_rate=50_000)
    body = _npy(20_000)
    try:
        sock = socket.create_connection(("127.0.0.1", srv.server_port), timeout=20)
        sock.sendall(_head(len(body), close=True))
        piece = len(body) // 8 + 1
        for start in range(0, len(body), piece):
            time.sleep(0.2)
            sock.sendall(body[start:start + piece])
        status, _, out = parse_reply(until_closed(sock))
        sock.close()
    finally:
        _stop(srv)
    assert status == 200, out
    rows = np.load(io.BytesIO(body))
    np.testing.assert_allclose(out["scores"], det.decision_function(rows), rtol=1e-4)


def test_a_client_that_stops_taking_its_reply_gives_its_slot_up_after_the_idle_time(rows_model):
    """The same stall at the other end: a client that sends 400,000 rows and never reads their reply (about 9 MB)
    held its slot for the reply's whole ``body_s`` (4 s here, 30 s by default); now until it has taken nothing
    for the idle time."""
    path = rows_model[0]
    srv = _server(path)
    replying = scored_event(srv)
    body = _npy(400_000)
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        stalled.connect(("127.0.0.1", srv.server_port))
        stalled.sendall(_head(len(body)) + body)  # and never reads
        assert replying.wait(30)
        took = _scored_at_once(srv, rows_model[3])
    finally:
        stalled.close()
        _stop(srv)
    assert took < 2.5, took  # was about 4 s


@pytest.mark.parametrize("method", [b"GET", b"HEAD"])
def test_a_get_whose_body_never_comes_is_answered_at_once(rows_model, method):
    """A GET /health (or HEAD) with ``Content-Length: 100`` and no body got its reply only after the body's whole
    deadline (30 s by default, measured 30.1 s): it is answered at once now, and its connection closes once the
    body has not come for the idle time."""
    srv = _server(rows_model[0], wait=60.0)  # body_s: 30 s
    try:
        sock = socket.create_connection(("127.0.0.1", srv.server_port), timeout=2.0)  # was: timed out
        start = time.monotonic()
        sock.sendall(method + b" /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        first = sock.recv(65536)
        took = time.monotonic() - start
        data = first + until_closed(sock)  # closed after the idle time (0.5 s), not the 30 s
        sock.close()
    finally:
        _stop(srv)
    assert took < 1.5, took
    assert data.startswith(b"HTTP/1.1 200 "), data[:300]
    if method == b"GET":
        assert parse_reply(data)[2]["status"] == "ok"


def test_a_get_s_body_sent_after_its_reply_is_dropped_and_the_connection_kept(rows_model):
    """The reply no longer waits for the body, which is still read and dropped when it comes: the request after
    it on the connection is served, not the body."""
    srv = _server(rows_model[0])
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    try:
        sock = socket.create_connection(("127.0.0.1", srv.server_port), timeout=10)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(smuggled))
        first = _one_reply(sock)
        assert first.startswith(b"HTTP/1.1 200 ") and b"connection: close" not in first.lower(), first[:300]
        sock.sendall(smuggled + b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        second = until_closed(sock)
        sock.close()
    finally:
        _stop(srv)
    status, _, out = parse_reply(second)
    assert status == 200 and out["status"] == "ok", second[:300]


def test_a_slot_is_waited_for_until_wait_seconds_after_the_request_s_first_byte(rows_model):
    """With the slot held, a request whose head took 1.5 s to come waited ``wait`` (2 s) more for the slot, 3.5 s in
    all, which is how a request could outlast a stop's grace (``wait + body_s``); now it gets its 503 at 2 s from
    its first byte."""
    path, _, _, body = rows_model
    srv = _server(path, wait=2.0)
    scoring, go = hold_scoring(srv)
    held = socket.create_connection(("127.0.0.1", srv.server_port), timeout=20)
    try:
        held.sendall(_head(len(body), close=True) + body)
        assert scoring.wait(10)
        late = socket.create_connection(("127.0.0.1", srv.server_port), timeout=20)
        start = time.monotonic()
        late.sendall(b"POST /score HTTP/1.1\r\n")
        time.sleep(1.5)
        late.sendall(_head(len(body)).split(b"\r\n", 1)[1] + body)
        said = _error(until_closed(late), 503)
        took = time.monotonic() - start
        late.close()
        go.set()
        assert parse_reply(until_closed(held))[0] == 200
    finally:
        go.set()
        held.close()
        _stop(srv)
    assert 1.9 <= took < 2.9, took  # was about 3.5 s
    assert said == ("the server is busy (every one of its request slots still taken 2 s after the request began); "
                    "retry later"), said


def test_the_longest_request_fits_the_stop_s_grace_and_the_stop_timeout_the_docs_give():
    """The rule that ties the deadlines: a stop's grace (``wait + body_s``, 90 s) is at least the longest a request
    that keeps to its deadlines takes to be scored (its head's 20 s and its body's first bytes' 30 s within the slot's
    60 s from its first byte, then the rest of its body's 30 s; was 140 s, the slot's wait counted after the first
    bytes), and the stop timeout the docs give systemd and docker is at least the grace and a reply's ``body_s``,
    with time for the request being scored (its --score-timeout). Raising one constant without the others fails here."""
    assert serve.HEADERS_S + serve.BODY_S <= serve.WAIT_S  # the head and the first bytes come before the slot's wait
    assert serve.BODY_S <= serve.WAIT_S / 2  # as ScoringServer takes it
    grace = serve.WAIT_S + serve.BODY_S
    assert serve.longest_request() == grace == 90
    assert serve.longest_request(serve.HEADERS_S, serve.BODY_S, serve.WAIT_S) <= grace
    assert serve.longest_request(40, 30, 60) > 90  # a longer head would outlast the grace: the rule above refuses it
    assert grace + serve.BODY_S + serve.SCORE_S <= serve.STOP_TIMEOUT_S  # the request being scored: its limit
    assert serve.BODY_IDLE_S < serve.BODY_S  # the idle time cuts a stalled body before its whole deadline
    text = DOCS.read_text()
    assert f"TimeoutStopSec={serve.STOP_TIMEOUT_S}" in text and f"--stop-timeout {serve.STOP_TIMEOUT_S}" in text
    assert f"at most {grace:g} s" in text
