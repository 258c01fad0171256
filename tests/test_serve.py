"""`had serve`: an exported model over HTTP (onnxruntime alone): scores equal the runtime's, labels at the stored
threshold, fill pixels null, and every bad request one JSON error line with its status."""

from __future__ import annotations

import io
import json
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import had  # noqa: E402
from had.errors import HadError  # noqa: E402
from had.onnx_export import export  # noqa: E402
from had.runtime import OnnxScorer  # noqa: E402
from had.rx import RX  # noqa: E402
from had.serve import ScoringServer  # noqa: E402
from serve_support import call, scored_event, until  # noqa: E402


@pytest.fixture
def cube():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20, 15, 5)) * np.arange(1, 6)
    X[4, 7] += 40.0
    X[0, :3] = -9999.0  # fill, every band
    return X


@pytest.fixture
def server(tmp_path, cube):
    det = RX({"nodata": -9999.0}).fit(cube)
    path = had.save(det, tmp_path / "m")
    export(path, cube)
    srv = ScoringServer(OnnxScorer(path), "127.0.0.1", 0, max_body=200_000)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv, det
    srv.shutdown()
    srv.server_close()


def test_health_scores_labels_and_fill(server, cube):
    srv, det = server
    status, info = call(srv, "/health")
    assert status == 200 and info["kind"] == "cube" and info["n_features"] == 5 and info["nodata"] == -9999.0
    assert info["threshold"] == pytest.approx(det.threshold_)
    status, out = call(srv, "/score", json.dumps({"data": cube.tolist()}).encode())
    assert status == 200 and out["shape"] == [20, 15]
    scores = np.array([[np.nan if v is None else v for v in row] for row in out["scores"]])
    expected = det.decision_function(cube)
    assert np.isnan(scores[0, :3]).all() and out["labels"][0][:3] == [None, None, None]
    np.testing.assert_allclose(scores[1:], expected[1:], rtol=1e-4)
    labels = np.array(out["labels"][1:], dtype=float)
    np.testing.assert_array_equal(labels, (expected[1:] > det.threshold_).astype(float))
    assert out["labels"][4][7] == 1 and np.nanargmax(scores) == 4 * 15 + 7
    buffer = io.BytesIO()  # rows as a .npy body: the same scores, one per row
    np.save(buffer, cube[1:].reshape(-1, 5).astype(np.float32))
    status, rows = call(srv, "/score", buffer.getvalue(), "application/x-npy")
    assert status == 200 and rows["shape"] == [19 * 15]
    np.testing.assert_allclose(rows["scores"], scores[1:].reshape(-1), rtol=1e-5)
    status, bare = call(srv, "/score", json.dumps(cube[1:3].tolist()).encode())  # a bare nested list
    assert status == 200 and bare["shape"] == [2, 15]


@pytest.mark.parametrize("body,kind,status,message", [
    (b'{"data": [[1, 2, 3]]}', "application/json", 400, "fitted on 5 bands, got 3"),
    (b'{"data": [[1, 2, 3, 4, NaN]]}', "application/json", 400, "NaN or infinite"),
    (b'{"data": [[1, 2], [3]]}', "application/json", 400, "not a rectangular array of numbers"),
    (b'{"rows": [[1, 2, 3, 4, 5]]}', "application/json", 400, 'has no "data"'),
    (b"{not json", "application/json", 400, "not JSON"),
    (b"\x93NUMPY garbage", "application/x-npy", 400, "not a .npy array"),
    (b"[" * 5000 + b"]" * 5000, "application/json", 400, "nested too deeply"),  # was 500 (RecursionError)
    (b'{"data": [[1, 2, 3, 4, 1' + b"0" * 400 + b']]}', "application/json", 400, "too large for a 64-bit float"),
    (b"a=1", "text/plain", 415, "send application/json"),
    (b"x" * 200_001, "application/json", 413, "above the server's limit of 200,000"),
])
def test_bad_requests_are_one_json_error(server, body, kind, status, message):
    srv, _ = server
    got, reply = call(srv, "/score", body, kind)
    assert got == status and message in reply["error"] and "\n" not in reply["error"]
    assert call(srv, "/health")[0] == 200  # the server goes on


def test_a_pickled_npy_is_refused(server):
    srv, _ = server
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    status, reply = call(srv, "/score", buffer.getvalue(), "application/x-npy")
    assert status == 400 and "a .npy array of Python objects, which had never unpickles" in reply["error"]


def test_a_npy_header_is_checked_against_the_body_before_anything_is_allocated(server, cube):
    """A 100-byte body whose header claims 8e12 values had numpy.load allocate them: a 500 (MemoryError), and
    one claiming a few GB held them per request. Refused from the header now; a Fortran-ordered array and a
    float32 one score as the same values in C order."""
    srv, det = server
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((4, 5, 5)))
    claimed = buffer.getvalue().replace(b"(4, 5, 5)", b"(99999, 99999, 5)")
    status, reply = call(srv, "/score", claimed, "application/x-npy")
    assert status == 400 and "header says 99999x99999x5 values of float64 (399,992,000,040 bytes) but " in \
        reply["error"] and "bytes follow it; send the whole file numpy.save wrote" in reply["error"]
    status, reply = call(srv, "/score", buffer.getvalue() + b"\0" * 8, "application/x-npy")
    assert status == 400 and "but 808 bytes follow it" in reply["error"]
    expected = det.decision_function(cube[1:])
    for array in (np.asfortranarray(cube[1:]), cube[1:].astype(np.float32)):
        buffer = io.BytesIO()
        np.save(buffer, array)
        status, out = call(srv, "/score", buffer.getvalue(), "application/x-npy")
        assert status == 200 and out["shape"] == [19, 15]
        np.testing.assert_allclose(out["scores"], expected, rtol=1e-4)


def test_unknown_paths_and_a_busy_port(server):
    srv, _ = server
    assert call(srv, "/nope")[0] == 404 and call(srv, "/nope", b"{}")[0] == 404
    with pytest.raises(HadError, match=rf"cannot listen on 127.0.0.1:{srv.server_port} .*choose another --port"):
        ScoringServer(srv.scorer, "127.0.0.1", srv.server_port)


def test_the_cli_refuses_a_model_without_onnx_and_a_busy_port(tmp_path, capsys, server):
    """`had serve`: a model saved without --export, and a port already taken, are one line each (exit 2)."""
    from test_reliability_cli import assert_one_line, run_cli

    rng = np.random.default_rng(0)
    path = had.save(RX().fit(rng.normal(size=(10, 8, 3))), tmp_path / "plain")
    code, _, err = run_cli(capsys, "serve", str(path))
    assert_one_line(code, err, "has no model.onnx; export it first with `had export")
    srv, _ = server
    exported = tmp_path / "again"
    had.save(RX().fit(rng.normal(size=(10, 8, 3))), exported)
    export(exported, rng.normal(size=(10, 8, 3)))
    code, _, err = run_cli(capsys, "serve", str(exported), "--port", str(srv.server_port))
    assert_one_line(code, err, f"cannot listen on 127.0.0.1:{srv.server_port}")


def test_requests_beyond_the_inflight_slots_wait_unread_then_get_503(tmp_path, cube):
    """With one slot, a request held in scoring keeps the next one waiting with its body unread; past the wait it
    gets 503 with Retry-After, and the held request still completes with its scores."""
    det = RX({"nodata": -9999.0}).fit(cube)
    path = had.save(det, tmp_path / "m")
    export(path, cube)
    srv = ScoringServer(OnnxScorer(path), "127.0.0.1", 0, max_inflight=1, wait=2.0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        body = json.dumps({"data": cube[1:].tolist()}).encode()
        first: list = []
        with srv.lock:  # scoring blocked: the first request holds the only slot
            worker = threading.Thread(target=lambda: first.append(call(srv, "/score", body)))
            worker.start()
            for _ in range(200):  # until the first request has taken the slot
                if srv.slots._value == 0:
                    break
                threading.Event().wait(0.01)
            url = f"http://127.0.0.1:{srv.server_port}/score"
            request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=30)
            assert refused.value.code == 503 and refused.value.headers["Retry-After"] == "1"
            assert "the server is busy" in json.loads(refused.value.read())["error"]
        worker.join(30)
        status, out = first[0]
        assert status == 200
        np.testing.assert_allclose(np.array(out["scores"], dtype=float), det.decision_function(cube[1:]), rtol=1e-4)
        assert call(srv, "/score", body)[0] == 200  # the slot is free again
    finally:
        srv.shutdown()
        srv.server_close()


def test_errors_close_the_connection_and_say_so(server, cube):
    """A 400 closed the connection without ``Connection: close``: a keep-alive client (http.client,
    requests.Session) sent its next request into the closed socket (BrokenPipeError)."""
    import http.client

    srv, _ = server
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_port, timeout=30)
    good = json.dumps({"data": cube[1:3].tolist()})
    for body, status in ((good, 200), ("[[1]]", 400)):
        conn.request("POST", "/score", body, {"Content-Type": "application/json"})
        reply = conn.getresponse()
        reply.read()
        assert reply.status == status
    assert reply.getheader("Connection") == "close"
    conn.close()


def test_other_methods_head_and_malformed_lengths_get_json_lines(server):
    """PUT/DELETE/OPTIONS got http.server's HTML 501 page and HEAD /health a 501: now a 405 JSON line with Allow,
    and HEAD the health's headers; a Content-Length that is not a number is a 400 saying so (was 411)."""
    import http.client

    srv, _ = server
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
        conn = http.client.HTTPConnection("127.0.0.1", srv.server_port, timeout=30)
        conn.request(method, "/score", "{}", {"Content-Type": "application/json"})
        reply = conn.getresponse()
        assert reply.status == 405 and reply.getheader("Allow") == "POST"  # /score's own
        assert json.loads(reply.read())["error"].startswith(f"{method} is not served")
        conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_port, timeout=30)
    conn.request("HEAD", "/health")
    reply = conn.getresponse()
    assert reply.status == 200 and int(reply.getheader("Content-Length")) > 0 and reply.read() == b""
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_port, timeout=30)
    conn.putrequest("POST", "/score")
    conn.putheader("Content-Length", "abc")
    conn.endheaders()
    reply = conn.getresponse()
    assert reply.status == 400 and "'abc' is not a number of bytes" in json.loads(reply.read())["error"]
    conn.close()


def _until_closed(sock) -> str:
    """What the server sent before closing the connection (headers and body may come in separate segments)."""
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data.decode()


def test_a_stalled_or_cut_body_releases_its_slot(tmp_path, cube):
    """Four clients sending a few bytes of a declared 1000 and going silent held every slot for the socket's
    120 s, and the next request got 503 after 60 s; a client that left mid-body had the bytes it sent scored
    as the whole body. Now the body has at most half the wait to arrive (408), and a cut one is a 400."""
    import socket
    import time

    det = RX().fit(cube[1:])
    path = had.save(det, tmp_path / "m")
    export(path, cube[1:])
    srv = ScoringServer(OnnxScorer(path), "127.0.0.1", 0, max_inflight=1, wait=2.0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        stalled = socket.create_connection(("127.0.0.1", srv.server_port))
        stalled.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 1000\r\n\r\n[[1,2,")
        time.sleep(0.2)
        start = time.monotonic()
        status, out = call(srv, "/score", json.dumps({"data": cube[1:3].tolist()}).encode())
        assert status == 200 and time.monotonic() - start < 10  # the stalled body gave its slot up after 1 s
        reply = _until_closed(stalled)
        assert reply.startswith("HTTP/1.1 408") and "did not arrive within 1 s" in reply
        stalled.close()
        cut = socket.create_connection(("127.0.0.1", srv.server_port))
        cut.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 1000\r\n\r\n[[1,2,3,4,5]]")
        cut.shutdown(socket.SHUT_WR)
        reply = _until_closed(cut)
        assert reply.startswith("HTTP/1.1 400") and "the body ended after 13 of the 1,000 bytes" in reply
        cut.close()
    finally:
        srv.shutdown()
        srv.server_close()


def test_sigterm_stops_the_server_as_ctrl_c_does(tmp_path, cube):
    """``kill -TERM`` (what systemd and docker send) killed ``had serve`` at once: exit 143, no word."""
    import signal
    import subprocess
    import sys

    det = RX().fit(cube[1:])
    path = had.save(det, tmp_path / "m")
    export(path, cube[1:])
    proc = subprocess.Popen([sys.executable, "-m", "had.cli", "serve", str(path), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()  # the server's log goes to stderr
        assert "serving" in line, line
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "stopped" in err and "Traceback" not in err, (out, err)


def test_json_booleans_and_a_flat_list_are_said(server):
    """JSON true/false were scored as 1/0 while a .npy of bools was refused; one flat list of numbers got "got
    shape (5,)" without saying to wrap it as [[...]]."""
    srv, _ = server
    status, out = call(srv, "/score", json.dumps({"data": [[True, False, True, False, True]]}).encode())
    assert status == 400 and "true/false values" in out["error"]
    status, out = call(srv, "/score", json.dumps({"data": [1.0, 2.0, 3.0, 4.0, 5.0]}).encode())
    assert status == 400 and "one list of 5 numbers" in out["error"] and "[[...]]" in out["error"]


def test_stopping_finishes_requests_in_flight_and_closes_idle_connections(tmp_path, cube):
    """On stop, a request being scored was cut (SIGTERM killed the process), and once stopping joined the
    handler threads, a kept-alive idle connection held the stop for its 120 s timeout. Now the idle connection is
    closed at once and the request in flight gets its reply."""
    import http.client
    import time

    det = RX().fit(cube[1:])
    path = had.save(det, tmp_path / "m")
    export(path, cube[1:])
    srv = ScoringServer(OnnxScorer(path), "127.0.0.1", 0)
    scored, started = srv.score, threading.Event()

    def slow(X):
        started.set()
        time.sleep(1.0)
        return scored(X)

    srv.score = slow
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    idle = http.client.HTTPConnection("127.0.0.1", srv.server_port, timeout=30)
    idle.request("GET", "/health")
    assert idle.getresponse().read()  # kept alive, now waiting for its next request
    results = {}

    def in_flight():
        status, out = call(srv, "/score", json.dumps({"data": cube[1:3].tolist()}).encode())
        results["status"], results["shape"] = status, out.get("shape")

    client = threading.Thread(target=in_flight)
    client.start()
    assert started.wait(10)  # the request is being scored
    # and the idle connection's handler is back to waiting for its next request
    until(lambda: sum(h.busy for h in list(srv.handlers)) == 1, timeout=10)
    start = time.monotonic()
    srv.shutdown()
    assert srv.stop() == ["being scored"]  # the stages of the requests in flight
    srv.server_close()  # waits for the request in flight, not for the idle connection's timeout
    client.join(timeout=30)
    assert time.monotonic() - start < 10
    assert results == {"status": 200, "shape": [2, 15]}
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        idle.request("GET", "/health")
        idle.getresponse()


def test_more_samples_than_a_reply_may_hold_is_413_before_scoring(server, cube):
    """A 61 MB single-band body under the 64 MB limit made a 320 MB JSON reply and a 1.8 GB peak: a request now
    holds at most max_body // REPLY_BYTES samples (200,000 // 32 = 6,250 here)."""
    from had.serve import REPLY_BYTES

    srv, _ = server
    assert srv.max_samples == 200_000 // REPLY_BYTES == 6250
    buffer = io.BytesIO()
    np.save(buffer, np.ones((6251, 5), np.float32))  # 125 KB, under the body limit
    status, reply = call(srv, "/score", buffer.getvalue(), "application/x-npy")
    assert status == 413 and reply["error"] == (
        "the request holds 6,251 samples, above the 6,250 this server scores at once (its reply stays within the "
        "200,000-byte body limit, 32 bytes a sample); send fewer samples per request, or raise --max-body-mb")
    buffer = io.BytesIO()
    rows = np.random.default_rng(0).normal(size=(6250, 5)).astype(np.float32)
    np.save(buffer, rows)
    status, out = call(srv, "/score", buffer.getvalue(), "application/x-npy")
    assert status == 200 and out["shape"] == [6250]
    body = json.dumps(out, separators=(",", ":")).encode()
    assert len(body) <= 200_000  # the reply within the body limit


def test_the_reply_is_the_runtimes_scores_chunk_by_chunk(tmp_path, monkeypatch):
    """The reply is encoded a chunk at a time: the same JSON as one json.dumps of the lists, nulls at fill."""
    import had.serve as serve

    monkeypatch.setattr(serve, "CHUNK", 7)
    scores = np.array([[0.5, np.nan, 3.25], [1e-300, -2.0, np.inf]] * 5)
    text = b"".join(serve._json_pieces(scores))
    expected = [[None if not np.isfinite(v) else float(v) for v in row] for row in scores]
    assert json.loads(text) == expected
    labels = np.where(np.isnan(scores), np.nan, (scores > 0.4).astype(float))
    assert b"".join(serve._json_pieces(labels, whole=True)).startswith(b"[[1,null,1],[0,0,1]")
    assert json.loads(b"".join(serve._json_pieces(np.arange(20.0)))) == list(range(20))


def test_a_client_that_does_not_read_its_reply_gives_its_slot_up(tmp_path):
    """Four clients that never read their replies held every slot until the socket's 120 s timeout, and every
    other request got 503 after the 60 s wait; the reply now has body_s (half the wait) to be taken. The clock
    starts once the stalled request's scores are ready, its reply's deadline then begun (was: half a second after
    it was sent, which decoding and scoring 400,000 rows outran on a loaded machine: 503)."""
    import socket
    import time

    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 5))
    det = RX().fit(X)
    path = had.save(det, tmp_path / "m")
    export(path, X)
    wait = 8.0
    srv = ScoringServer(OnnxScorer(path), "127.0.0.1", 0, max_body=64 * 2**20, max_inflight=1, wait=wait)
    replying = scored_event(srv)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        buffer = io.BytesIO()
        np.save(buffer, rng.normal(size=(400_000, 5)).astype(np.float32))  # a reply of about 9 MB
        body = buffer.getvalue()
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", srv.server_port))
        stalled.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-npy\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)  # and never reads
        assert replying.wait(120)  # its reply of about 9 MB is being sent, body_s (4 s) to be taken
        start = time.monotonic()
        status, out = call(srv, "/score", json.dumps({"data": X[:3].tolist()}).encode())
        assert status == 200 and out["shape"] == [3]  # was 503 after the wait
        assert time.monotonic() - start < wait
        stalled.close()
    finally:
        srv.shutdown()
        srv.server_close()


def test_get_on_score_is_405_with_allow_post(server):
    srv, _ = server
    request = urllib.request.Request(f"http://127.0.0.1:{srv.server_port}/score")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 405 and caught.value.headers["Allow"] == "POST"
    assert "POST the data to /score" in json.loads(caught.value.read())["error"]
