"""`had serve`'s deadline for a request's line and headers: a client trickling its head (a slowloris) gets a 408
and its connection closed within the deadline, also during a stop, while a large body sent slowly but steadily
after its head is still served (the body has its own time, ``body_s``). Each server here has a deadline of 1 s."""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from had import serve  # noqa: E402
from had.runtime import OnnxScorer  # noqa: E402
from had.serve import ScoringServer  # noqa: E402
from serve_support import parse_reply, until  # noqa: E402
from serve_support import rows_model  # noqa: E402,F401 - a fixture

#: a request head of 421 bytes: trickled a byte every 0.1 s it takes about 42 s, far past the tests' 1 s deadline
#: and longer than the stop's grace (30 s) in the test that stops
HEAD = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: " + b"a" * 360 + b"\r\n\r\n"


def _server(path, wait: float) -> ScoringServer:
    srv = ScoringServer(OnnxScorer(path), "127.0.0.1", 0, wait=wait)
    srv.headers_s = 1.0
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


class _Trickle(threading.Thread):
    """Sends `data` on `sock` a byte every `every` seconds until it is sent, :attr:`done` is set or the server
    closes; :attr:`sent` counts the bytes sent."""

    def __init__(self, sock: socket.socket, data: bytes, every: float = 0.1):
        super().__init__(daemon=True)
        self.sock, self.data, self.every = sock, data, every
        self.sent, self.done = 0, threading.Event()
        self.start()

    def run(self) -> None:
        for i in range(len(self.data)):
            if self.done.is_set():
                return
            try:
                self.sock.sendall(self.data[i:i + 1])
            except OSError:  # closed by the server
                return
            self.sent = i + 1
            time.sleep(self.every)


def _until_closed(sock: socket.socket, trickle: _Trickle | None = None) -> tuple[bytes, int]:
    """What the server sent before closing, and how many bytes the trickle had sent when its first bytes came (the
    trickle then ends)."""
    data, sent = b"", None
    with contextlib.suppress(ConnectionError):  # a reset (a byte the server did not read) ends it as a close does
        while chunk := sock.recv(65536):
            if sent is None and trickle is not None:
                sent = trickle.sent
                trickle.done.set()
            data += chunk
    return data, sent


def test_a_head_trickled_past_its_deadline_is_408_and_closed(rows_model):
    """A head trickled a byte every 0.1 s was read as it came (only 120 s of silence between bytes was refused), so a
    slowloris held a handler thread as long as it went on; it is a 408 once its first byte is 1 s old."""
    path, *_ = rows_model
    srv = _server(path, wait=20.0)
    try:
        sock = socket.create_connection(("127.0.0.1", srv.server_port), timeout=60)
        trickle = _Trickle(sock, HEAD)
        data, sent = _until_closed(sock, trickle)
        sock.close()
        status, headers, out = parse_reply(data)
        assert status == 408, data[:300]  # was: 200, once the whole head had come
        assert sent < len(HEAD)  # before the head was whole
        assert headers.get("connection") == "close", headers
        assert out["error"] == ("the request's line and headers did not arrive within 1 s of its first byte; send "
                                "them at once")
        client = socket.create_connection(("127.0.0.1", srv.server_port), timeout=60)
        client.sendall(HEAD)  # at once: served
        assert _until_closed(client)[0].startswith(b"HTTP/1.1 200 ")
        client.close()
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_head_trickled_during_a_stop_holds_it_no_longer_than_its_deadline(rows_model):
    """A trickled head counted as a request in flight, so a stop waited its whole grace (``wait + body_s``, 30 s
    here) for it and then closed it without a word; now it gets its 408 at its deadline and the stop ends then."""
    path, *_ = rows_model
    srv = _server(path, wait=20.0)
    sock = socket.create_connection(("127.0.0.1", srv.server_port), timeout=60)
    trickle = _Trickle(sock, HEAD)
    until(lambda: sum(h.busy for h in list(srv.handlers)) == 1)
    srv.shutdown()
    lines: list[str] = []
    start = time.monotonic()
    try:
        serve._stop(srv, lines.append)
        took = time.monotonic() - start
        data, _ = _until_closed(sock, trickle)
    finally:
        trickle.done.set()
        sock.close()
        srv.server_close()
    assert took < 15, (took, lines)  # the deadline (1 s) and a loaded machine's margin, not the 30 s grace
    assert data.startswith(b"HTTP/1.1 408 "), data[:300]
    assert lines == ["stopping: waiting up to 30 s for 1 request(s) in flight to finish and reply (1 reading its "
                     "headers); Ctrl-C or SIGTERM again stops at once"], lines
    assert srv.connections == 0


def test_a_large_body_sent_slowly_but_steadily_is_served(rows_model):
    """The head's deadline ends with the head: a 2 MB ``.npy`` body sent in 20 pieces over about 3 s (three times
    the head's deadline, within the body's 20 s here) is scored as a whole."""
    path, det, *_ = rows_model
    srv = _server(path, wait=40.0)
    rows = np.random.default_rng(0).normal(size=(100_000, 5)).astype(np.float32)
    buffer = io.BytesIO()
    np.save(buffer, rows)
    body = buffer.getvalue()
    try:
        sock = socket.create_connection(("127.0.0.1", srv.server_port), timeout=60)
        sock.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-npy\r\nConnection: close\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode())
        piece = len(body) // 20 + 1
        for start in range(0, len(body), piece):
            time.sleep(0.15)
            sock.sendall(body[start:start + piece])
        data, _ = _until_closed(sock)
        sock.close()
    finally:
        srv.shutdown()
        srv.server_close()
    status, _, out = parse_reply(data)
    assert status == 200, data[:300]
    np.testing.assert_allclose(out["scores"], det.decision_function(rows.astype(np.float64)), rtol=1e-4)
