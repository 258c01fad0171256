"""`had serve`'s reading of a request's framing and form, sent over raw sockets (http.client sends none of these):
two Content-Lengths or Transfer-Encoding beside one (request smuggling), a malformed header line, a GET's body,
true/false in JSON, a compressed body, methods it does not serve or know, request lines of another HTTP version
or none at all (a TLS handshake), and a client that sends its head and stalls before its body (it holds no
request slot). Every error is one JSON line under an HTTP/1.1 status line, and the server goes on."""

from __future__ import annotations

import gzip
import socket
import threading
import time

import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from had.runtime import OnnxScorer  # noqa: E402
from had.serve import RECEIVING, ScoringServer  # noqa: E402
from serve_support import parse_reply, until, until_closed  # noqa: E402
from serve_support import rows_model  # noqa: E402,F401 - a fixture

#: five numbers a row, as the rows model takes, and its length as a Content-Length
ROW = b'{"data":[[1,2,3,4,5]]}'
N = b"%d" % len(ROW)
#: ROW as a chunked body
CHUNKED = b"%x\r\n" % len(ROW) + ROW + b"\r\n0\r\n\r\n"
#: a request a smuggled body would hold: served, it would be a 404 naming /smuggled
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
HEALTH = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


@pytest.fixture
def served(rows_model):
    """A server of the rows model with a 5 s head deadline (a request line left unended is a 408 by then)."""
    srv = ScoringServer(OnnxScorer(rows_model[0]), "127.0.0.1", 0)
    srv.headers_s = 5.0
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _send(srv, data: bytes, timeout: float = 20.0) -> bytes:
    """Send `data` on a new connection; what the server sent before it closed the connection (a socket timeout,
    the connection left open, fails the test)."""
    sock = socket.create_connection(("127.0.0.1", srv.server_port), timeout=timeout)
    try:
        sock.sendall(data)
        return until_closed(sock)
    finally:
        sock.close()


def _replies(data: bytes) -> list[tuple[int, dict[str, str], dict]]:
    """The HTTP/1.1 replies one after another in `data`, each framed by its Content-Length."""
    replies = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(parse_reply(head + b"\r\n\r\nnull")[1]["content-length"])
        replies.append(parse_reply(head + b"\r\n\r\n" + rest[:length]))
        data = rest[length:]
    return replies


def _head(data: bytes) -> tuple[int, dict[str, str], bytes]:
    """A reply's status, headers and the bytes after its head (a HEAD's reply has none)."""
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 "), data[:300]
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, rest


def _one_error(data: bytes, status: int, *said: str) -> dict[str, str]:
    """`data` is one error reply of `status` that says `said` and closes the connection; its headers."""
    replies = _replies(data)
    assert len(replies) == 1, replies
    got, headers, out = replies[0]
    assert got == status and all(text in out["error"] for text in said), (got, out)
    assert headers["connection"] == "close" and headers["content-type"] == "application/json"
    return headers


def _still_serving(srv) -> None:
    assert parse_reply(_send(srv, HEALTH))[0] == 200


def _post(headers: bytes, body: bytes = ROW) -> bytes:
    return b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + headers + b"\r\n" + body


@pytest.mark.parametrize("headers,body,said", [
    (b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(ROW), len(ROW) + len(SMUGGLED)), ROW + SMUGGLED,
     f"2 Content-Length headers ({len(ROW)}, {len(ROW) + len(SMUGGLED)})"),
    (b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(ROW) + len(SMUGGLED), len(ROW)), ROW + SMUGGLED,
     f"2 Content-Length headers ({len(ROW) + len(SMUGGLED)}, {len(ROW)})"),
    (b"Content-Length: " + N + b"\r\nTransfer-Encoding: chunked\r\n", ROW + SMUGGLED,
     "both Transfer-Encoding (chunked) and Content-Length"),
    (b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", CHUNKED + SMUGGLED,
     "both Transfer-Encoding (chunked) and Content-Length"),
    (b"Transfer-Encoding: gzip\r\nContent-Length: " + N + b"\r\n", ROW + SMUGGLED,
     "both Transfer-Encoding (gzip) and Content-Length"),
])
def test_an_ambiguous_body_length_is_400_and_closes(served, headers, body, said):
    """Two Content-Lengths, or Transfer-Encoding beside one (RFC 9112 section 6.3): the first length framed the
    body, a 200, and the bytes past it were served as a second request (the 404 for /smuggled). Now one 400
    saying why, the connection closed, nothing after it read as a request."""
    _one_error(_send(served, _post(headers, body)), 400, said, "length is ambiguous")
    _still_serving(served)


def test_transfer_encoding_without_a_length_is_411_naming_it(served):
    """As for chunked alone (411), any Transfer-Encoding alone: the body is not read, and the reply says why."""
    for coding in (b"chunked", b"gzip"):
        data = _send(served, _post(b"Transfer-Encoding: " + coding + b"\r\n", CHUNKED))
        _one_error(data, 411, f"Transfer-Encoding {coding.decode()} is not accepted", "with a Content-Length")
    _still_serving(served)


@pytest.mark.parametrize("line", [
    b"Content-Length : " + N,  # a space before the colon: was 411 "send the body with a Content-Length"
    b"Content-Length\t: " + N,
    b"NoColonHeader",  # http.server's parser dropped it and every header after it
    b"X-Folded: a\r\n b",  # obs-fold
    b"X-Nul: a\x00b",
])
def test_a_malformed_header_line_is_400_naming_it(served, line):
    """http.server's parser dropped a malformed line and every header after it (``Content-Length : 22`` then
    ``Content-Length: 22`` was a 411), and took a folded line or a NUL in a value as they came (scored)."""
    data = _send(served, _post(line + b"\r\nContent-Length: " + N + b"\r\n"))
    shown = repr(line.split(b"\r\n")[-1].decode("latin-1"))  # the line the error names, as Python writes it
    _one_error(data, 400, f"the header line {shown} is malformed", "'Name: value'")
    _still_serving(served)


def test_a_get_s_body_is_read_and_dropped_not_served_as_a_request(served):
    """A GET /health whose body is a request: the body was left unread and served as the next request (a 404 for
    /smuggled on a kept-alive connection). Its Content-Length's bytes are dropped now, and the next request
    on the connection is the one the client sent after it."""
    get = b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED
    replies = _replies(_send(served, get + HEALTH))
    assert [status for status, _, _ in replies] == [200, 200], replies
    assert all(out["status"] == "ok" for _, _, out in replies)


def test_a_get_s_body_above_the_limit_is_dropped_as_a_refused_post_s_is(served):
    """One rule for a body the server does not take: a GET's above ``max_body`` was left unread and its
    connection closed (a refused POST's is read and dropped up to 4x the limit); now both are dropped by the same
    rule, and the request after it on the connection is served."""
    served.max_body = 1000
    body = b" " * 2500
    get = b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    replies = _replies(_send(served, get + HEALTH))
    assert [status for status, _, _ in replies] == [200, 200], replies
    get = b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 4001\r\n\r\n"  # above 4x: not waited for
    replies = _replies(_send(served, get))  # (its body is not sent: unread bytes at the close would reset)
    assert [status for status, _, _ in replies] == [200], replies
    assert replies[0][1].get("connection") == "close"


def test_empty_lines_before_a_request_line_are_ignored(served):
    """RFC 9112 section 2.2: a server should ignore an empty line before a request line (a client's CRLF after a
    POST body). Was: the connection closed at it, the request after it unanswered."""
    post = _post(b"Content-Length: " + N + b"\r\n")
    replies = _replies(_send(served, post + b"\r\n" + post + b"\r\n\n" + HEALTH))
    assert [status for status, _, _ in replies] == [200, 200, 200], replies
    assert len(replies[0][2]["scores"]) == 1 and replies[2][2]["status"] == "ok"
    replies = _replies(_send(served, post + b"\r\n" * 5))  # more than a few: closed, as before
    assert [status for status, _, _ in replies] == [200], replies


def test_a_target_in_absolute_form_is_served_as_its_path(served):
    """RFC 9112 section 3.2.2: a server must accept ``GET http://host/health`` (was: 404 "no such path http://...")."""
    port = served.server_port
    for target in (b"http://127.0.0.1:%d/health" % port, b"HTTP://x/health?verbose=1", b"http://x"):
        status, _, out = parse_reply(_send(served, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close"
                                                                         b"\r\n\r\n"))
        assert status == 200 and out["status"] == "ok", (target, out)
    data = _send(served, b"POST http://x/score HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "
                 + N + b"\r\n\r\n" + ROW)
    status, _, out = parse_reply(data)
    assert status == 200 and len(out["scores"]) == 1, out
    sock = socket.create_connection(("127.0.0.1", served.server_port), timeout=20)
    try:  # with Expect: 100-continue, its head is judged by the same path
        sock.sendall(b"POST http://x/score HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n"
                     b"Content-Length: " + N + b"\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 100")
        sock.sendall(ROW)
        assert b"HTTP/1.1 200" in until_closed(sock)
    finally:
        sock.close()
    status, _, out = parse_reply(_send(served, b"GET http://x/nope HTTP/1.1\r\nHost: x\r\nConnection: close"
                                                b"\r\n\r\n"))
    assert status == 404 and "no such path /nope" in out["error"], out


def test_an_expect_100_with_an_ambiguous_length_gets_its_error_not_100_continue(served):
    data = _send(served, _post(b"Expect: 100-continue\r\nContent-Length: " + N + b"\r\nContent-Length: 5\r\n"))
    assert data.startswith(b"HTTP/1.1 400 "), data[:200]
    _one_error(data, 400, "2 Content-Length headers")


def test_json_true_or_false_anywhere_in_data_is_400(served, rows_model):
    """``[[true, 2, 3, 4, 5]]`` was scored as 1, 2, ... (only an all-bool array was refused), while a .npy of
    bools is refused; true elsewhere in the object is not data, and is scored."""
    for body in (b'{"data":[[true,2,3,4,5]]}', b'{"data":[[1,2,3,4,5],[1,2,3,4,false]]}', b"[[1,2,3,4,true]]"):
        data = _send(served, _post(b"Content-Length: %d\r\nConnection: close\r\n" % len(body), body))
        _one_error(data, 400, '"data" holds true/false values; send real numbers')
    body = b'{"data":[[1,2,3,4,5]],"verbose":true}'
    status, _, out = parse_reply(_send(served, _post(b"Content-Length: %d\r\nConnection: close\r\n" % len(body),
                                                     body)))
    assert status == 200 and len(out["scores"]) == 1


def test_a_content_encoding_other_than_identity_is_415(served):
    """A gzip body was "not JSON ('utf-8' codec can't decode byte 0x8b)", and ``Content-Encoding: gzip`` over a
    plain body was scored as plain."""
    packed = gzip.compress(ROW)
    for coding, body in ((b"gzip", packed), (b"gzip", ROW), (b"br, identity", ROW)):
        data = _send(served, _post(b"Content-Encoding: " + coding + b"\r\nContent-Length: %d\r\n" % len(body), body))
        headers = _one_error(data, 415, f"Content-Encoding {coding.split(b',')[0].decode()} is not accepted",
                             "send the body uncompressed")
        assert headers["accept-encoding"] == "identity"
    data = _send(served, _post(b"Content-Encoding: identity\r\nContent-Length: " + N + b"\r\nConnection: close\r\n"))
    assert parse_reply(data)[0] == 200


def test_head_score_is_405_with_allow_post_and_no_body(served):
    """As ``GET /score`` (was a 404)."""
    status, headers, rest = _head(_send(served, b"HEAD /score HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert status == 405 and headers["allow"] == "POST" and headers["connection"] == "close" and rest == b""
    assert int(headers["content-length"]) > 0  # what a GET's error would hold
    _still_serving(served)


@pytest.mark.parametrize("method,status,said", [
    (b"TRACE", 405, "TRACE is not served"),
    (b"CONNECT", 405, "CONNECT is not served"),
    (b"FOO", 501, "the method 'FOO' is not known; GET /health or POST /score"),
    (b"post", 501, "the method 'post' is not known (methods are case-sensitive: send POST)"),
])
def test_other_methods_are_json_errors_with_allow(served, method, status, said):
    """TRACE, CONNECT, an unknown method and a lowercase one got http.server's "Unsupported method" 501 without
    ``Allow``: now 405 (a method HTTP defines) or 501 (one it does not), both with ``Allow``."""
    data = _send(served, method + b" /score HTTP/1.1\r\nHost: x\r\nContent-Length: " + N + b"\r\n\r\n" + ROW)
    headers = _one_error(data, status, said)
    assert headers["allow"] == ("POST" if status == 405 else "GET, HEAD, POST")  # /score's own; 501: the server's
    _still_serving(served)


@pytest.mark.parametrize("target,allow", [(b"/health", "GET, HEAD"), (b"/", "GET, HEAD"), (b"/score", "POST"),
                                          (b"/nope", "GET, HEAD, POST")])
def test_a_405_s_allow_names_the_methods_of_its_path(served, target, allow):
    """Was ``Allow: GET, HEAD, POST`` on every path: a client told POST was allowed on /health."""
    data = _send(served, b"PUT " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Length: " + N + b"\r\n\r\n" + ROW)
    assert _one_error(data, 405, "PUT is not served")["allow"] == allow


@pytest.mark.parametrize("request_line,status,said", [
    (b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP/2.0 is not served; send HTTP/1.1"),
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "HTTP/2.0 is not served"),
    (b"GET /health HTTP/x\r\nHost: x\r\n\r\n", 400, "ends in 'HTTP/x', not an HTTP version"),
    (b"GET /health\r\n", 400, "the request line 'GET /health' is not 'METHOD /path HTTP/1.1'"),  # HTTP/0.9
    (b"GET / x HTTP/1.1\r\n\r\n", 400, "is not 'METHOD /path HTTP/1.1'"),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(500), 400, "the request is a TLS handshake"),
])
def test_another_version_or_no_request_line_gets_a_status_line_at_once(served, request_line, status, said):
    """These got a bare JSON body without a status line (http.server's HTTP/0.9 replies), and an HTTP/0.9 line
    or a TLS handshake (no line's end) only once the head's deadline had passed."""
    start = time.monotonic()
    _one_error(_send(served, request_line), status, said)
    assert time.monotonic() - start < served.headers_s - 1
    _still_serving(served)


@pytest.mark.parametrize("sent", [0, 1, 100])
def test_a_client_stalled_before_its_body_holds_no_request_slot(rows_model, sent):
    """A slot was taken before the body's first byte: with one slot, a client that sent its head and stalled
    held every other POST until its body's deadline; then (the review) one that sent a byte of its body. Now it
    holds its connection only, gets its 408 at the deadline, and a request sent meanwhile is scored at once."""
    path, det, X, body = rows_model
    srv = ScoringServer(OnnxScorer(path), "127.0.0.1", 0, max_inflight=1, wait=8.0)  # body_s: 4 s
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    stalled = socket.create_connection(("127.0.0.1", srv.server_port), timeout=20)
    try:
        stalled.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-npy\r\n"
                        b"Content-Length: %d\r\n\r\n" % len(body) + body[:sent])
        until(lambda: any(h.stage == RECEIVING for h in list(srv.handlers)), timeout=10)
        start = time.monotonic()
        head = (b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-npy\r\nConnection: close\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body))
        status, _, out = parse_reply(_send(srv, head + body))
        assert status == 200 and time.monotonic() - start < 2.5
        assert len(out["scores"]) == len(X)
        _one_error(until_closed(stalled), 408, f"the body did not arrive within 4 s ({sent} of {len(body):,} bytes)")
        assert srv.slots.acquire(timeout=5)  # the slot is free
        srv.slots.release()
    finally:
        stalled.close()
        srv.shutdown()
        srv.server_close()


@pytest.mark.parametrize("head, status, said", [
    (b"FOO /score HTTP/1.1", 501, "FOO"),
    (b"POST /nope HTTP/1.1", 404, "no such path /nope"),
    (b"POST /score HTTP/1.1\r\nContent-Encoding: gzip", 415, "Content-Encoding gzip is not accepted"),
    # was: 100 Continue, the whole body read, then the 415 (a probe of 7 December 2026)
    (b"POST /score HTTP/1.1\r\nContent-Type: text/csv", 415, "content type 'text/csv': send application/json"),
    (b"POST /score HTTP/1.1\r\nContent-Type: Image/PNG; q=1", 415, "content type 'image/png'"),
    (b"POST /score HTTP/1.1\r\nContent-Type: application/json", 413, "above the server's limit"),
])
def test_a_request_its_head_refuses_gets_its_error_instead_of_100_continue(served, head, status, said):
    """`Expect: 100-continue` and a head had refuses anyway: the error at once, no `100 Continue`, the body never
    sent nor waited for (was: 100, then the error once the body had come, or after the body's deadline)."""
    served.max_body = 1000
    length = b"5000" if status == 413 else N
    started = time.monotonic()
    data = _send(served, head + b"\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " + length + b"\r\n\r\n")
    assert b"100 Continue" not in data, data[:300]
    _one_error(data, status, said)
    assert time.monotonic() - started < 5, "waited for a body it had refused"


def test_a_sound_request_still_gets_100_continue(served):
    sock = socket.create_connection(("127.0.0.1", served.server_port), timeout=20)
    try:
        sock.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " + N + b"\r\n\r\n")
        first = sock.recv(100)
        assert first.startswith(b"HTTP/1.1 100"), first
        sock.sendall(ROW)
        sock.shutdown(socket.SHUT_WR)
        rest = until_closed(sock)
    finally:
        sock.close()
    assert b"HTTP/1.1 200" in first + rest, (first + rest)[:300]
