"""``had serve MODEL``: an exported model behind a small HTTP endpoint, scored by onnxruntime alone (no torch).

The server is the standard library's ``ThreadingHTTPServer`` around one :class:`had.runtime.OnnxScorer` (its
providers: TensorRT, CUDA, then CPU, those installed). Requests are scored one at a time (a lock around the
session: onnxruntime spreads one batch over its own threads, and a bound device session is not shared).

* ``GET /health``: ``{"status": "ok", "detector", "kind", "n_features", "threshold", "nodata", "providers",
  "band_selection"}``; ``band_selection`` is ``{"bands": "1-50", "of": 188}`` for a model fitted on some bands of its
  input (``had fit --data bands=1-50``: send only those bands), null for one fitted on every band.
* ``POST /score``: the body is JSON, ``{"data": [[...], ...]}`` (or the bare nested list), or a ``.npy`` file
  (``Content-Type: application/x-npy``, loaded without pickle); rows ``(N, D)``, a cube ``(H, W, B)`` or images
  ``(N, C, H, W)`` as the model was fitted. The reply: ``{"scores": [...], "labels": [...], "threshold": t,
  "shape": [...]}``, scores and labels shaped as the input's samples (``(N,)``, or ``(H, W)`` for a cube);
  a label is 1 where the score is above the threshold; a pixel of the model's fill value scores ``null`` with a
  ``null`` label (no data, never "normal").
* Errors are one JSON line, ``{"error": "..."}``, under an HTTP/1.1 status line, and close the connection
  (``Connection: close``): 400 for data the model cannot score (the same messages as ``had score``: wrong band
  count, NaN, wrong kind), for a body that is not such data (a ``.npy`` header that claims more values than follow
  it, checked before anything is allocated; JSON nested too deeply; a number beyond float64; strings; true/false),
  for a Content-Length that is not a number and for a body that ends before it, for a body whose length is
  ambiguous (two Content-Lengths, or Transfer-Encoding beside one: RFC 9112 section 6.3, request smuggling), for a
  malformed header line (``Content-Length : 24``, a folded line, a CR or NUL in a value), for a request line that
  is not ``METHOD /path HTTP/1.x`` (HTTP/0.9's two words) and for a TLS handshake (https:// to this plain server);
  404 for another path, 405 with the path's methods in ``Allow`` (:data:`ROUTES`) for another method HTTP defines
  (PUT, DELETE, PATCH, OPTIONS, TRACE, CONNECT; ``HEAD /health`` is served, ``GET`` and ``HEAD /score`` say
  ``Allow: POST``), 501 with ``Allow`` for
  a method it does not (``FOO``, or ``post``: methods are case-sensitive), 505 for HTTP/2 and other versions,
  408 for a body that does not arrive within ``body_s`` seconds (:data:`BODY_S`, at most half of ``wait``), that
  goes ``body_idle_s`` seconds without a byte (:data:`BODY_IDLE_S`, 5) or that arrives slower than
  ``body_min_rate`` bytes a second after those (:data:`BODY_MIN_RATE`, 1 KiB/s), and for
  a request line and headers that do not within ``headers_s`` seconds of their first byte (:data:`HEADERS_S`),
  411 without a length (Transfer-Encoding, chunked or other, is not read), 413 above ``max_body`` bytes (the body
  is read and dropped, up to 4x the limit, within ``body_s``) or above ``max_body // 32`` samples
  (:data:`REPLY_BYTES`: the JSON reply stays within the body limit), 415 for another content type and for a
  Content-Encoding other than identity (``Accept-Encoding: identity``), 503 (with ``Retry-After``) when the server
  stays busy, 503 for a request whose scoring takes longer than ``score_s`` seconds (:data:`SCORE_S`, ``had serve
  --score-timeout``; stopped inside onnxruntime, the next request scored; no ``Retry-After``: the same request
  would be stopped again), 500 for anything else (logged).
  http.server's own errors are JSON lines too; a client gone mid-reply, or one that does not take its reply
  within ``body_s`` seconds (or takes none of it for ``body_idle_s``), is one log line, its connection closed.
  A GET's or HEAD's body (a Content-Length) is read and dropped after its reply, never read as the next request
  (the reply comes at once, whether the body does or not; the connection closes if it is not read whole).
* Memory is bounded: at most ``max_inflight`` requests (default 4) have their bodies read and decoded at once;
  a request takes a slot once its body's first :data:`BEFORE_SLOT_BYTES` (64 KiB, or all of a smaller body) have
  been read (within ``body_s`` seconds of its head, else 408), so a client that sends its head, or a few bytes, and
  stalls holds its connection, not a slot (was: four such clients held every POST for the body's 30 s), and one
  that stalls once it has a slot gives it up after ``body_idle_s`` (5 s; was the body's 30 s); the next
  ones wait, the rest of their bodies unread, until ``wait`` seconds (default 60) after their first byte for a
  slot, then get 503. So a
  burst of clients holds at most ``max_inflight x max_body`` bytes of ``.npy`` bodies (256 MiB by default), not
  one body per connection, and as much again of replies: a request holds at most ``max_body // 32`` samples and
  its reply is encoded from numpy a chunk at a time (it was built as Python lists, about 70 bytes a sample: one
  61 MB single-band body made a 320 MB reply and a 1.8 GB peak). A JSON body costs about 15x its size while
  decoded (Python lists of floats). A slot is held until the reply is taken, at most ``body_s`` seconds.
* Connections are bounded: at most ``max_connections`` (default 64) are open at once, each with its thread (a
  client silent or trickling its head holds one up to the socket's 120 s or the head's 20 s). One more is not
  given a thread: the accept loop writes it a 503 (``Retry-After: 1``, ``Connection: close``) at once, without
  waiting for its request (:meth:`ScoringServer.refuse`), and hands it to one shared reader thread that reads and
  drops what the client sends until it closes, at most 2 s and ``max_body`` bytes, 32 such at once (one more is
  closed at once), so a client still sending a body reads its 503 rather than a reset. Was: a thread per
  connection, unbounded (10,000 idle connections were 10,000 threads). The server full, a new connection waits
  up to ``CLOSING_WAIT_S`` (0.1 s) for one whose last reply has begun (``Connection: close``, an error) to close,
  so a client that reads that reply and connects again at once is not refused; such a connection still counts
  (a client that never reads its last reply holds its place). A refused connection is never in flight, so a stop neither waits for it
  nor counts it. Refusals are one log line a minute at most, with the count since the last one (and the rest when
  the server closes). :func:`serve` raises the process's soft open-file limit to fit; where the hard limit is
  too low it serves fewer connections, said in one line.
* SIGTERM stops the server as Ctrl-C does: it closes idle kept-alive connections at once, takes the connections
  waiting to be accepted (served as any other, unless ``max_connections`` connections are in requests: 503), stops
  accepting, and waits for the requests in flight (sent but not yet read, headers or a body arriving, waiting for a
  slot, being scored) to finish and reply, for at most ``wait + body_s`` seconds (90 by default: the longest a
  request keeping to its deadlines takes to be scored, :func:`longest_request`; give the service manager
  :data:`STOP_TIMEOUT_S`, 150 s, to stop it, systemd's default of 90 is too short); then it closes
  those still arriving, waits for one being scored to reply, says ``stopped`` and returns (``had serve`` exits 0).
  A reply sent once the stop has begun says ``Connection: close``, and its connection closes after it (unless the
  client's next request has already arrived: it is served, and its reply says so). A second Ctrl-C or SIGTERM
  closes every connection and stops at once (:func:`_stop`).
* The request log escapes the control characters a client sends (a ``\\r`` or a terminal escape in its request
  line cannot forge or hide a log line).

It listens on 127.0.0.1 by default; to serve other machines, put it behind a proxy that adds TLS and
authentication (``--host 0.0.0.0`` only on a trusted network).
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import io
import json
import math
import os
import re
import select
import selectors
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from . import signals
from .errors import ArtifactError, HadError, ascii_digits, cut, flat_text, one_line, shown
from .jsonvalues import jsonable
from .runtime import OnnxScorer, ScoringTimeout, limit_seconds
from .validation import band_selection, is_real

#: the largest request body read, in bytes (``--max-body-mb``)
MAX_BODY = 64 * 2**20
#: requests whose bodies are read and decoded at once (``--max-inflight``); seconds the next one waits for a slot
MAX_INFLIGHT = 4
#: connections open at once, each with its handler thread (``--max-connections``); one more gets a 503 at once
MAX_CONNECTIONS = 64
#: the body's first bytes read before a request takes a scoring slot (all of a smaller body): a client that sends
#: its head, or a few bytes, and stalls holds its connection, not a slot; at most this much a connection in memory
BEFORE_SLOT_BYTES = 65536
# ``had serve`` bounds its options (a value above is refused, exit 2): --max-body-mb at 65,536 (64 GiB): a body is
# held whole in memory (a JSON one about 15x over while decoded), so that is past any machine's use for one request,
# and a fixed bound is the same on every machine (a setting valid on one host is not refused on another);
# --max-inflight and --max-connections at 1,024: slots and connections are threads, a connection a file descriptor
# (1,024 is the usual soft limit, raised to fit by :func:`serve`), and scoring is one request at a time anyway
#: bytes of a refused connection's request head allowed beside its body (``max_body``) while it is read and
#: dropped (:class:`_Refusals`); also what is read of one at once when the reader holds :data:`REFUSED_HELD` already
REFUSED_READ = 65536
#: refused connections read and dropped at once, and the seconds each is given: a close with unread bytes resets
#: the connection, and a client still sending its body then lost the 503 (a broken pipe)
REFUSED_HELD = 32
REFUSED_S = 2.0
#: open files kept for the process's own use (the model, the listening socket, libraries) beside its connections
OWN_FILES = 64
#: seconds between the log lines that count refused connections
REFUSED_LOG_S = 60.0
WAIT_S = 60.0
#: seconds one request's scoring may take, then it is stopped inside onnxruntime and answered 503: requests are
#: scored one at a time, and a graph whose ``Loop`` runs as long as its trip count says held that one slot for good
#: (an artifact probe, 7 December 2026); 0 or None: no limit. A 64 MiB body of RX or the autoencoder scores in
#: seconds on one CPU core; a kNN or KDE graph with many reference rows may need more (raise it, and the service
#: manager's stop timeout with it). It is the scoring time :data:`STOP_TIMEOUT_S` leaves after the grace and a
#: reply: a stop waits for the request being scored
SCORE_S = 30.0
NPY_TYPES = ("application/x-npy", "application/octet-stream")
#: seconds a request's body may take to arrive (at most half of ``wait``), then 408
BODY_S = 30.0
#: seconds a body may go without a byte arriving (each read's wait), then 408: a client that sends part of its body
#: and stalls gives its slot up after these (was: it held the slot for the whole body's ``body_s``, 30 s: four such
#: clients, each 64 KiB in and silent, made a real request wait 29.6 s for a slot). nginx's client_body_timeout
BODY_IDLE_S = 5.0
#: bytes a second a body must arrive at on average once its first :data:`BODY_IDLE_S` seconds are past (each byte
#: received buys ``1 / BODY_MIN_RATE`` s more, up to ``body_s``; Apache's mod_reqtimeout MinRate, 500 by default),
#: then 408: a client trickling a byte every few seconds held its slot for the whole ``body_s``; a body sent
#: steadily at this rate or faster is never cut before ``body_s`` (at which a 64 MiB body needs about 2.2 MB/s
#: anyway). 1 KiB/s: a review found the first 16 KiB/s cut a 60 KB body sent at 5 KB/s, which would have arrived
#: in 12 s
BODY_MIN_RATE = 1024
#: seconds the service manager should give a stop (systemd's ``TimeoutStopSec``, docker's ``--stop-timeout``): the
#: grace (``wait + body_s``, 90 s), a reply's ``body_s`` (30 s) and 30 s for the batch being scored, checked by a
#: test against the deadlines (docs/deployment.md says it): systemd's default of 90 s kills a stop that waits
STOP_TIMEOUT_S = 150
#: seconds a request's line and headers may take to arrive from their first byte, then 408 (was: only the
#: connection's 120 s timeout, which bounds one read: a client trickling its headers a byte at a time held a handler
#: thread as long as it went on, and a stop for its whole grace)
HEADERS_S = 20.0
#: the methods served (a 405 says so)
ALLOWED = "GET, HEAD, POST"
#: the methods each path serves (the ``Allow`` of a 405 there)
ROUTES = {"/": "GET, HEAD", "/health": "GET, HEAD", "/score": "POST"}
#: a request's header line: a field name (a token), ':' at once (no space before it, RFC 9112 section 5.1), a value
#: without CR or NUL (RFC 9110 section 5.5); a line folded onto the one before (obs-fold) is refused too (400)
HEADER_LINE = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n\0]*\r?\n")
#: a request line's HTTP version (ASCII digits only: ``str.isdigit`` takes other scripts' digits)
VERSION = re.compile(r"HTTP/([0-9]{1,9})\.([0-9]{1,9})")
#: the largest Content-Length read as a number (18 digits); a longer one is refused with 413
MAX_LENGTH = 10**18 - 1
#: seconds between looks at a noted Ctrl-C or SIGTERM while serving (the accept loop's timeout)
STOP_LOOK_S = 0.1
#: seconds a new connection waits, the server full, for a connection whose last reply has begun to close
CLOSING_WAIT_S = 0.1
#: how many empty lines before a request line are skipped (more: the connection closes, as at a bare empty line)
EMPTY_LINES = 4
#: the stage of a request being scored: a stop past its grace still waits for its reply (:meth:`ScoringServer.cut`)
SCORING = "being scored"
#: the stage of a request whose whole body has arrived and is being parsed (JSON or .npy) before it is scored;
#: spared by a stop as one being scored is (its thread goes on to score it), said apart in the stop's breakdown
#: (was: counted as "being scored", so a stop during a 48 MB JSON parse said a batch was being scored)
DECODING = "decoding its body"
#: the stages a stop past its grace waits on (:meth:`ScoringServer.cut`)
SPARED = (DECODING, SCORING)
#: the first stage of a request: its first bytes have arrived
HEADERS = "reading its headers"
#: the stage of a request whose body is being read (before its slot, then under it)
RECEIVING = "receiving its body"
#: bytes of JSON reply one sample may take (a float64's shortest repr, its label, separators): a request holds at
#: most ``max_body // REPLY_BYTES`` samples, so its reply is no larger than the body limit
REPLY_BYTES = 32
#: samples turned into JSON at a time (the reply is built from numpy a chunk at a time, not as one Python list)
CHUNK = 65536


class ScoringServer(ThreadingHTTPServer):
    """The HTTP server: `scorer` scores, `max_body` bounds a request, `log` gets one line per request."""

    #: connections the kernel holds until they are accepted (socketserver's 5 made a burst of 16 new connections
    #: wait 1-3 s for the kernel's retries: a review)
    request_queue_size = 128
    daemon_threads = True

    def __init__(self, scorer: OnnxScorer, host: str = "127.0.0.1", port: int = 8000, *,
                 max_body: int = MAX_BODY, max_inflight: int = MAX_INFLIGHT, wait: float = WAIT_S, log=None,
                 max_connections: int = MAX_CONNECTIONS, score_s: float | None = SCORE_S):
        self.scorer, self.max_body, self.log = scorer, int(max_body), log
        #: seconds one request's scoring may take (None: no limit), then 503 (:data:`SCORE_S`)
        self.score_s = limit_seconds(score_s)
        self.max_connections = max(1, int(max_connections))
        #: connections refused with a 503 (:meth:`refuse`), when a refusal was last logged and how many had been
        #: by then; the reader of refused connections' requests
        self.refused = 0
        self.refused_said: float | None = None
        self.refused_logged = 0
        self.refusals = _Refusals()
        #: whether an accept that failed for want of file descriptors has been logged (:meth:`get_request`)
        self.files_said = False
        self.body_s = min(BODY_S, float(wait) / 2)  # a slot is never held longer than the next request waits
        self.headers_s = HEADERS_S
        #: a body's silence (each read's wait) and its minimum rate in bytes a second (0: none), then 408
        #: (:class:`_BodyClock`)
        self.body_idle_s = BODY_IDLE_S
        self.body_min_rate = BODY_MIN_RATE
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(max(1, int(max_inflight)))
        self.wait = float(wait)
        #: the open connections' handlers (:meth:`stop` closes the idle ones), and whether the server is stopping
        self.handlers: set = set()
        self.handlers_lock = threading.Lock()
        self.stopping = False
        #: the sockets a stop closed while in use (:meth:`cut`): a reply that fails on one of them is the stop's
        #: doing, not a client that left (per connection: a stop past its grace spares those being scored)
        self.cut_sockets: set = set()
        #: connections accepted and not yet closed, and the condition notified as one closes: what stopping waits
        #: for (the handler threads are daemons, which socketserver neither tracks nor joins)
        self.connections = 0
        self.closed = threading.Condition(self.handlers_lock)
        #: the sockets of open connections that serve no more requests (their last reply begun, or idle and shut
        #: by a stop), counted in :attr:`connections` until closed: while the server is full and one of these is
        #: open, a new connection waits up to :data:`CLOSING_WAIT_S` for it to close before a 503, so a client that
        #: reads its ``Connection: close`` reply and connects again at once is not refused (was: 64 spurious 503s
        #: in 300 such requests at one connection). Counted, not discounted: a review's first version discounted
        #: them, and clients that never read a large last reply held threads past the limit
        self.closing: set = set()
        #: the sockets of connections accepted whose handler has not yet started, each with whether its thread has
        #: taken it (:meth:`process_request`); the stop looks at them as at the handlers
        self.accepted: dict = {}
        #: a Ctrl-C or SIGTERM noted while a connection's thread started, raised by :meth:`service_actions`
        self.interrupted = False
        #: seconds a stop waits for requests in flight before closing those not being scored: the longest a
        #: request takes from its first byte to being scored (:func:`longest_request`: its slot within ``wait`` of
        #: its first byte, then the rest of its body), so a stop cuts no request that keeps to its deadlines (was:
        #: the slot's wait counted from the end of the body's first 64 KiB, and a request could take 140 s, the
        #: head's 20, the first bytes' 30, the slot's 60 and the body's 30, past this 90 s)
        self.grace = self.wait + self.body_s
        try:
            super().__init__((host, port), _Handler)
        except OSError as exc:
            raise HadError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port or "
                           "--host") from None

    def take_backlog(self) -> int:
        """Accept the connections waiting in the listen backlog (as many as it holds) and start their handlers,
        which serve a request whose bytes have arrived and close the others (the server is stopping); returns
        how many. Was: closed with the listening socket, a request sent in full got a connection reset (an
        audit: 13 runs in 52). A connection whose thread cannot start is logged and closed, as socketserver does,
        and the stop goes on (a review)."""
        if self.socket.fileno() == -1:  # closed already
            return 0
        taken, before = 0, self.socket.gettimeout()
        self.socket.setblocking(False)
        try:
            while taken <= self.request_queue_size:
                try:
                    request, address = self.get_request()
                except OSError:  # none left (BlockingIOError), or the socket closed
                    break
                taken += 1
                if not self.verify_request(request, address):
                    self.shutdown_request(request)
                    continue
                try:
                    self.process_request(request, address)
                except Exception:
                    self.handle_error(request, address)
                    self.shutdown_request(request)
        finally:
            self.socket.settimeout(before)
        return taken

    def stop(self) -> list[str]:
        """Begin stopping: a connection waiting for its next request is closed now (``server_close`` would wait up
        to the handler's 120 s timeout for it), one in a request finishes its reply and then closes. A connection
        whose request's bytes have arrived is in a request, read or not: its handler serves it. Returns the
        stages of the requests in flight, one each (:attr:`_Handler.stage`); :meth:`drain` waits for them. Was: a
        request not yet read (its handler's thread not yet run, or not yet back from waiting for it) was taken for
        an idle connection: closed, or its handler saw the stop and closed it, a request sent in full before the
        stop without a reply. Decided under the lock the handler takes to begin a request
        (:meth:`_Handler.handle_one_request`): one is either in flight or closed. The stages are those of that
        moment, so the stop's count and its breakdown agree (was: a count here and a second look for the
        breakdown, and a request that ended in between made "2 request(s) ... (1 being scored)")."""
        self.stopping = True
        with self.handlers_lock:
            waiting = len(self._waiting_with_bytes())
            stages = self._shut_idle()
        return stages + [HEADERS] * waiting

    def shut_idle(self) -> None:
        """Begin stopping, as :meth:`stop` does, closing the connections waiting for a next request: they no
        closing (:attr:`closing`), so :meth:`take_backlog` after this waits for them and serves a request waiting to
        be accepted rather than refusing it while idle kept-alive connections fill the server."""
        self.stopping = True
        with self.handlers_lock:
            self._shut_idle()

    def _shut_idle(self) -> list[str]:
        """Close the idle connections (under ``handlers_lock``); returns the stages of the others' requests."""
        stages = []
        for handler in self.handlers:
            if handler.request in self.closing and not handler.busy:  # shut already (a shut socket reads as
                continue  # readable: a stop's second look counted it as a request reading its headers)
            if handler.in_request():
                stages.append(handler.stage)
            else:
                self.closing.add(handler.request)
                with contextlib.suppress(OSError):
                    handler.connection.shutdown(socket.SHUT_RDWR)
        return stages

    def _waiting_with_bytes(self) -> list:
        """The connections accepted, their handlers not started, whose request's bytes have arrived (under
        ``handlers_lock``)."""
        return [request for request in self.accepted if _readable(request)]

    def drain(self, timeout: float | None, interrupted: Callable[[], bool] = lambda: False) -> int:
        """Wait until every connection has closed, at most `timeout` seconds (None: as long as it takes) or until
        `interrupted()` says a second Ctrl-C or SIGTERM came; returns the connections still open. Was: nothing
        waited, so the process exited under handler threads that were reading a body or inside onnxruntime (no
        reply; onnxruntime's abort, exit 134)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.closed:
            while self.connections and not interrupted():
                left = 0.1 if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    break
                self.closed.wait(min(left, 0.1))  # in slices: a noted interrupt is seen within 0.1 s
            return self.connections

    def cut(self, *, scoring: bool = True) -> int:
        """Close the open connections now, but for ``scoring=False`` those whose request is being decoded or scored
        (it replies when done, and its thread must leave onnxruntime before the process exits); returns how many."""
        with self.handlers_lock:
            handlers = [h for h in self.handlers if scoring or not (h.busy and h.stage in SPARED)]
            sockets = [h.connection for h in handlers] + list(self.accepted)
            self.cut_sockets.update(sockets)
        for connection in sockets:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        return len(sockets)

    def process_request(self, request, client_address) -> None:
        """Start the connection's thread, a Ctrl-C or SIGTERM meanwhile noted and raised by
        :meth:`service_actions` once it has started. Was: raised inside ``Thread.start``'s wait for the new
        thread, it left here as if no thread had started: the connection counted closed twice (the stop saw none
        and did not wait), socketserver closed the socket the live thread was serving, or "RuntimeError: release
        unlocked lock" ended ``had serve``. With ``max_connections`` open already, no thread: :meth:`refuse`."""
        with signals.NotedInterrupts() as again:
            with self.closed:  # only this (the accept loop's) thread adds: the count cannot pass the limit
                if self.connections >= self.max_connections and self.closing:  # one is about to close
                    self.closed.wait_for(lambda: self.connections < self.max_connections, CLOSING_WAIT_S)
                full = self.connections >= self.max_connections
                if not full:
                    self.connections += 1
                    self.accepted[request] = False
            if full:
                self.refuse(request, client_address)
                if again():
                    self.interrupted = True
                return
            try:
                super().process_request(request, client_address)  # Thread.start waits, in a lock, for the thread
            except BaseException as exc:
                with self.closed:  # the thread has taken the connection, or never will (process_request_thread)
                    taken = self.accepted.get(request, True)
                    if not taken:
                        del self.accepted[request]
                if not taken:  # socketserver closes the connection
                    self._closed(request)
                    raise
                if isinstance(exc, Exception):  # logged, the connection left to its thread
                    self.handle_error(request, client_address)
                else:  # a Ctrl-C from a handler NotedInterrupts left in place
                    self.interrupted = True
        if again():
            self.interrupted = True

    def refuse(self, request, client_address) -> None:
        """A connection beyond ``max_connections``: a 503 written at once, without waiting for its request (the
        socket non-blocking: a new connection's send buffer takes the whole reply, and a client that takes none
        cannot hold the accept loop), then handed to :attr:`refusals`, which reads and drops its request until the
        client closes (at most :data:`REFUSED_S` seconds and ``max_body`` bytes) and closes it. Was: closed once
        what had arrived was read, so a client still sending a body hit a reset and never read the 503 (1 MB
        bodies: 1 in 20 got it; 8 MB: none). Not counted as a connection or as a request in flight. Logged at most
        once a minute, with the refusals since the last such line (:meth:`server_close` says those left)."""
        self.refused += 1
        now = time.monotonic()
        if self.log is not None and (self.refused_said is None or now - self.refused_said >= REFUSED_LOG_S):
            self.refused_said = now
            self.log(f"{client_address[0]} refused: {n_connections(self.max_connections)} open (--max-connections); "
                     f"503 ({self._refused_count()})")
        body = json.dumps({"error": f"the server has {n_connections(self.max_connections)} open, its limit "
                                    "(--max-connections); retry later"}, separators=(",", ":")).encode()
        head = (f"HTTP/1.1 503 Service Unavailable\r\nServer: {_Handler.server_version}\r\n"
                f"Date: {email.utils.formatdate(usegmt=True)}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n").encode()
        held = False
        try:
            request.setblocking(False)
            request.send(head + body)
            request.shutdown(socket.SHUT_WR)
            held = self.refusals.take(request, self.max_body + REFUSED_READ)
            if not held:  # the reader is full (or closed): what has arrived is read, and the socket closed now
                left = REFUSED_READ
                while left > 0 and (chunk := request.recv(min(left, 16384))):
                    left -= len(chunk)
        except OSError:  # gone, reset, or nothing (more) to read now
            pass
        finally:
            if not held:
                self.close_request(request)

    def _refused_count(self) -> str:
        """The refusals since the last line that counted them, and in all (now said)."""
        since, self.refused_logged = self.refused - self.refused_logged, self.refused
        if since == self.refused:
            return f"{since} refused so far"
        return f"{since} refused since the last such line, {self.refused} in all"

    def server_close(self) -> None:
        """Close the listening socket; refused connections still held are given the rest of their
        :data:`REFUSED_S` seconds, then closed, and no more are held. Refusals not yet counted in a log line are,
        in one (was: a line at most once a minute that gave the total then, so a burst after it went unsaid)."""
        super().server_close()
        self.refusals.close()
        if self.log is not None and self.refused > self.refused_logged:
            self.log(f"connections refused at the limit (--max-connections): {self._refused_count()}")

    def get_request(self):
        """Accept a connection. One that fails for want of file descriptors (EMFILE, ENFILE: the connection stays
        in the backlog, and the listening socket stays readable) is logged once and waits :data:`STOP_LOOK_S`
        seconds before the loop tries again: was a busy loop (a review: 1.84 s of CPU in 3 s)."""
        try:
            return super().get_request()
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):
                if self.log is not None and not self.files_said:
                    self.files_said = True
                    self.log(f"cannot accept a connection: {exc.strerror or exc} (the process's open-file limit); "
                             "it waits, and is tried again every 0.1 s")
                time.sleep(STOP_LOOK_S)
            raise

    def service_actions(self) -> None:
        """Each turn of ``serve_forever``: a Ctrl-C or SIGTERM noted while a connection's thread started is raised
        here, where socketserver holds no connection (``had serve`` then stops)."""
        super().service_actions()
        if self.interrupted:
            self.interrupted = False
            raise KeyboardInterrupt

    def process_request_thread(self, request, client_address) -> None:
        with self.closed:
            if request not in self.accepted:  # given up by process_request: socketserver closed it, uncounted
                return
            self.accepted[request] = True
        try:  # socketserver's, the count falling before the socket closes: a client that sees the close and
            self.finish_request(request, client_address)  # connects again at once is not counted twice
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self._closed(request)
            self.shutdown_request(request)

    def _closed(self, request) -> None:
        with self.closed:
            self.accepted.pop(request, None)
            self.closing.discard(request)
            self.connections -= 1
            self.closed.notify_all()

    def handle_error(self, request, client_address) -> None:
        """A client that left mid-reply is one log line (was: a traceback chain per dropped client), and a reply the
        stop cut off says so (was: "left", as if the client had gone); other errors are socketserver's (a traceback
        on stderr)."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            if self.log is not None:
                self.log(f"{client_address[0]}: reply not delivered, the stop closed the connection "
                         f"({type(exc).__name__})" if request in self.cut_sockets
                         else f"{client_address[0]} left: {type(exc).__name__}")
            return
        super().handle_error(request, client_address)

    def info(self) -> dict[str, Any]:
        scorer = self.scorer
        return {"status": "ok", "detector": scorer.metadata.get("detector"), "kind": scorer.layout,
                "n_features": scorer.n_features, "threshold": scorer.threshold, "nodata": scorer.fill_value,
                "providers": scorer.providers,
                # the bands of its input the model was fitted on (--data bands=...): a client selects them before
                # sending; null for a model of every band (was: only n_features, the selection unsaid)
                "band_selection": band_selection(scorer.input_spec)}

    @property
    def max_samples(self) -> int:
        """The most samples one request may hold: its JSON reply stays within the body limit."""
        return max(1, self.max_body // REPLY_BYTES)

    def score(self, X: np.ndarray) -> bytes:
        """The JSON reply to data `X`: ``{"scores", "labels", "threshold", "shape"}`` (see the module docstring),
        encoded a chunk of samples at a time (a reply built as Python lists took about 70 bytes a sample: a 61 MB
        single-band body made a 1.8 GB peak)."""
        samples = _samples(X)
        if samples > self.max_samples:
            raise _TooMany(f"the request holds {samples:,} samples, above the {self.max_samples:,} this server "
                           f"scores at once (its reply stays within the {self.max_body:,}-byte body limit, "
                           f"{REPLY_BYTES} bytes a sample); send fewer samples per request, or raise --max-body-mb")
        with self.lock:
            scores = np.asarray(self.scorer.score(X, time_limit=self.score_s))
        threshold = self.scorer.threshold
        labels = None
        if threshold is not None:  # 0/1, and None (no data) where the score is NaN: a fill pixel
            labels = np.where(np.isnan(scores), np.nan, (scores > threshold).astype(np.float64))
        return b"".join([b'{"scores":', *_json_pieces(scores), b',"labels":',
                         *(_json_pieces(labels, whole=True) if labels is not None else [b"null"]),
                         b',"threshold":', json.dumps(jsonable(threshold), allow_nan=False).encode(),
                         b',"shape":', json.dumps(list(scores.shape)).encode(), b"}"])


class _Handler(BaseHTTPRequestHandler):
    #: TCP_NODELAY: a reply's headers and body are two writes, and Nagle's algorithm held the body until the
    #: client's delayed acknowledgement, about 40 ms a request on a kept-alive connection (an audit: 22 requests
    #: per second for one client, 700-860 with it)
    disable_nagle_algorithm = True
    server: ScoringServer
    server_version = "had-serve"
    protocol_version = "HTTP/1.1"
    timeout = 120  # seconds a connection may stay silent (mid-request or idle between requests) before it is closed
    busy = False  # from a request's first bytes to its reply: the server's stop waits for it
    stage = HEADERS  # what a busy request is doing, for the stop's log line
    reply_status = 0  # the status of the reply (or 100 Continue) whose headers are being sent
    #: the request's Content-Length as a number (None: it has none), set once its framing is checked
    body_length: int | None = None
    #: the request's header lines as received (:meth:`parse_request`), and whether its framing has been checked
    #: (None) and found sound (True) or refused (False)
    head_lines: list[bytes] = []
    framed: bool | None = None
    #: when the request's first byte arrived (:meth:`handle_one_request`), and whether a GET's or HEAD's body is
    #: still to be read and dropped after its reply (:meth:`_drop_body`)
    began = 0.0
    body_unread = False

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the socket's own reader, replaced by one whose reads a request head's deadline bounds
        self.reads = _Reads(self.connection, self.timeout)
        self.rfile = io.BufferedReader(self.reads)
        with self.server.handlers_lock:
            self.server.accepted.pop(self.request, None)
            self.server.handlers.add(self)

    def send_response_only(self, code: int, message: str | None = None) -> None:
        self.reply_status = code  # for end_headers: a 100 Continue is not the request's reply
        super().send_response_only(code, message)

    def end_headers(self) -> None:
        """A reply's headers sent; a final one after which the connection closes (the client's ``Connection:
        close``, an error, a stop) makes it :attr:`ScoringServer.closing` first: before the client can have read
        the reply. Not a ``100 Continue``: its request's body is still to come."""
        if self.close_connection and self.reply_status >= 200:
            with self.server.handlers_lock:
                self.server.closing.add(self.request)
        super().end_headers()

    def finish(self) -> None:
        with self.server.handlers_lock:
            self.server.handlers.discard(self)
        super().finish()

    def in_request(self) -> bool:
        """Whether this connection is in a request a stop waits for: busy, or its next request's bytes arrived
        (its handler not yet back to look)."""
        return self.busy or _readable(self.connection)

    def handle_one_request(self) -> None:
        """The connection's next request, once its first bytes have arrived; none once the server stops, unless
        they had (a request sent before the stop is served). Was: busy from its parsed request line on, so a
        request whose bytes had arrived but whose handler had not read them yet got no reply from a stop. Its
        line and headers have :attr:`ScoringServer.headers_s` seconds from then, or 408 (:class:`_Reads`)."""
        if not self._next_request():
            self.close_connection = True
            return
        # http.server sets these as it reads the request line: a 408 before then replies and logs as its 414 does
        self.requestline = self.request_version = self.command = ""
        self.body_length, self.head_lines, self.framed, self.body_unread = None, [], None, False
        self.began = time.monotonic()  # its first byte: a slot is waited for until ``wait`` seconds after
        self.reads.deadline = self.began + self.server.headers_s
        try:
            if self._tls_hello():
                return
            super().handle_one_request()
        except _LateHead:
            self._head_read()
            self._error(408, f"the request's line and headers did not arrive within {self.server.headers_s:g} s "
                             "of its first byte; send them at once")
        finally:
            self._head_read()

    def parse_request(self) -> bool:
        """http.server's reading of the headers, the head's deadline ended after it (the body has its own); the
        request line checked first (:func:`_request_line_fault`), the framing after (:meth:`_framed`), and a
        method http.server has no ``do_`` for is 501 here (:meth:`_unknown_method`), a JSON line as every error.
        Was: a request line of two words (HTTP/0.9), another HTTP version or bytes that are no request line
        (a TLS handshake) got a bare JSON body without a status line or headers (http.server's HTTP/0.9
        replies), a two-word line only after the head's 20 s."""
        try:
            for _ in range(EMPTY_LINES):  # RFC 9112 section 2.2: empty lines before a request line are ignored (a
                if self.raw_requestline not in (b"\r\n", b"\n"):  # client's CRLF after a POST body; was: closed)
                    break
                self.raw_requestline = self.rfile.readline(65537)
                if not self.raw_requestline:
                    self.close_connection = True
                    return False
            if len(self.raw_requestline) > 65536:  # as http.server says a first line this long
                self.send_error(414)
                return False
            line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
            fault = _request_line_fault(line)
            if fault is not None:
                self.requestline = line
                self._error(*fault)
                return False
            head = _HeadLines(self.rfile)  # the header lines as sent: http.server's parser skips malformed ones
            self.rfile, self.head_lines = head, head.lines
            try:
                if not super().parse_request():
                    return False
            finally:
                self.rfile = head.rfile
            if not self._framed():
                return False
            if not hasattr(self, "do_" + self.command):
                self._unknown_method()
                return False
            return True
        finally:
            self._head_read()

    def handle_expect_100(self) -> bool:
        """``100 Continue`` only to a request its head does not refuse (its framing, its method, and for a POST
        :meth:`_head_refusal`): a refused one gets its error at once, its body never asked for nor read (was: 100,
        then the error, the body sent for nothing, or waited for up to the body's deadline)."""
        if not self._framed():
            return False
        if not hasattr(self, "do_" + self.command):
            self._unknown_method()
            return False
        if self.command == "POST" and (refusal := self._head_refusal()) is not None:
            status, message, headers = refusal
            self._error(status, message, headers=headers)
            return False
        return super().handle_expect_100()

    def _route(self) -> str:
        """The request's path without its query, a target in absolute form (:func:`_origin_form`) as its path."""
        return _origin_form(self.path).split("?")[0]

    def _head_refusal(self) -> tuple[int, str, dict[str, str]] | None:
        """What a ``POST``'s head alone refuses it for, before any of its body is read: (status, message, extra
        headers), or None. No length (411), a path other than /score (404), a content coding (415; was: read as if
        plain, a gzip body "not JSON ('utf-8' codec can't decode byte 0x8b)"), a content type other than JSON and
        ``.npy`` (415; was: refused only once its whole body had been read, after a ``100 Continue``), a body above
        ``--max-body-mb`` (413)."""
        length = self.body_length  # a number, checked with the head (:meth:`_framed`)
        if length is None:
            return 411, "send the body with a Content-Length", {}
        if self._route() != "/score":
            return 404, f"no such path {self._route()}; POST /score", {}
        encodings = _encodings(self.headers.get_all("Content-Encoding") or [])
        if encodings:
            return (415, f"Content-Encoding {_cut(', '.join(encodings))} is not accepted; send the body "
                    "uncompressed", {"Accept-Encoding": "identity"})
        if (why := _kind_refusal(_body_kind(self.headers))) is not None:
            return 415, why, {}
        if length > self.server.max_body:
            return (413, f"the body is {length:,} bytes, above the server's limit of {self.server.max_body:,}; "
                    "send fewer samples per request", {})
        return None

    def _framed(self) -> bool:
        """Whether the request's head says its body's length soundly (RFC 9112 section 6.3); if not, the error is
        sent (the connection closes after it: its body's bytes are never read as a next request). Checked once a
        request. Sets :attr:`body_length`."""
        if self.framed is None:
            fault = self._framing_fault()
            self.framed = fault is None
            if fault is not None:
                self._error(*fault)
        return self.framed

    def _framing_fault(self) -> tuple[int, str] | None:
        """What is wrong with the request's framing: a malformed header line (http.server's parser drops it and
        every line after it: ``Content-Length : 24`` was a 411), two Content-Lengths, Transfer-Encoding (with a
        Content-Length: which one frames the body is ambiguous, the request smuggling of RFC 9112 section 6.1;
        alone: not read), a Content-Length that is not a number. Was: the first Content-Length framed the body and
        the bytes past it were served as a second request. None: sound, :attr:`body_length` set."""
        for raw in self.head_lines:
            if raw not in (b"\r\n", b"\n", b"") and not HEADER_LINE.fullmatch(raw):
                text = raw.rstrip(b"\r\n").decode("latin-1")
                return 400, (f"the header line {_cut(text)!r} is malformed; send "
                             "each header as 'Name: value' (no space before the colon, no line folded onto the one "
                             "before, no CR or NUL in a value)")
        lengths = self.headers.get_all("Content-Length") or []
        codings = self.headers.get_all("Transfer-Encoding") or []
        if codings:
            coding = _cut(", ".join(c.strip() for c in codings))
            if lengths:
                return 400, (f"the request has both Transfer-Encoding ({coding}) and Content-Length: its body's "
                             "length is ambiguous; send the body with a Content-Length alone")
            return 411, f"Transfer-Encoding {coding} is not accepted; send the body with a Content-Length"
        if len(lengths) > 1:
            return 400, (f"the request has {len(lengths)} Content-Length headers ({_cut(', '.join(lengths))}): its "
                         "body's length is ambiguous; send one")
        if not lengths:
            return None
        text = lengths[0]
        length = _byte_count(text)
        if length is None:
            return 400, (f"Content-Length {_cut(text)!r} is not a number of bytes; send the body's length in ASCII "
                         "digits")
        if length > MAX_LENGTH:
            return 413, (f"the body's Content-Length has {len(text.strip()):,} digits, far above the server's limit "
                         f"of {self.server.max_body:,} bytes; send fewer samples per request")
        self.body_length = length
        return None

    def _tls_hello(self) -> bool:
        """A TLS handshake's first byte where a request line begins (a client speaking https:// to this plain
        HTTP server): a 400 at once, the connection closed (was: its bytes waited the head's 20 s for a line's
        end, then a bare JSON body without a status line); False for any other byte, read as a request."""
        try:
            first = self.rfile.peek(1)[:1]
        except (OSError, ValueError):
            return False
        if first != b"\x16":
            return False
        self.requestline = "(a TLS handshake)"
        self._error(400, "the request is a TLS handshake: this server speaks plain HTTP (http://, not https://); "
                         "put a proxy that adds TLS in front for https")
        return True

    def _head_read(self) -> None:
        """The request's head is read (or given up): its deadline ends, the connection's timeout is back."""
        self.reads.deadline = None
        with contextlib.suppress(OSError):
            self.connection.settimeout(self.timeout)

    def _next_request(self) -> bool:
        """Wait for the next request's first bytes, without reading them; busy once they have arrived, decided
        under the lock :meth:`ScoringServer.stop` looks under. False: close the connection (the server stops and
        nothing has arrived, or it stayed silent for :attr:`timeout` seconds)."""
        with self.server.handlers_lock:
            self.busy, self.stage = self._arrived(), HEADERS
            if self.busy or self.server.stopping:
                return self.busy
        try:
            self.connection.recv(1, socket.MSG_PEEK)  # the socket's timeout (120 s) bounds the wait
        except TimeoutError as exc:  # as http.server says a silent connection
            self.log_error("Request timed out: %r", exc)
            return False
        except OSError:  # reset: the client is gone
            return False
        with self.server.handlers_lock:
            self.busy = self._arrived()
            return self.busy or not self.server.stopping  # not busy: its end, or a reset, read as such

    def _arrived(self) -> bool:
        """Whether bytes of a request have arrived, read ahead or in the socket, looked at without waiting."""
        try:
            self.connection.settimeout(0)
            return bool(self.rfile.peek(1))
        except (OSError, ValueError):  # reset, or closed
            return False
        finally:
            with contextlib.suppress(OSError):
                self.connection.settimeout(self.timeout)

    def _reply(self, status: int, body: dict[str, Any] | bytes, headers: dict[str, str] | None = None) -> None:
        """`body` (a dict, or JSON bytes already encoded) sent within :attr:`ScoringServer.body_s` seconds, the
        client taking some of it at least every :attr:`ScoringServer.body_idle_s` (nginx's send_timeout): a
        client that does not read its reply held its slot for the socket's 120 s (four of them: every other
        request got 503), then for the whole ``body_s`` (30 s), and is now cut off once it has taken nothing for
        the idle time (one log line)."""
        data = body if isinstance(body, bytes) else json.dumps(jsonable(body), allow_nan=False,
                                                               separators=(",", ":")).encode()
        self._start_reply(status, {"Content-Type": "application/json", "Content-Length": str(len(data)),
                                   **(headers or {})})
        deadline = time.monotonic() + self.server.body_s
        idle = self.server.body_idle_s
        try:
            self.connection.settimeout(min(self.server.body_s, idle))
            self.end_headers()
            view, sent = memoryview(data), 0
            while sent < len(view):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"the client did not read its reply within {self.server.body_s:g} s")
                self.connection.settimeout(min(left, idle))  # each send waits for room at most this long
                sent += self.connection.send(view[sent:sent + (1 << 20)])
        except TimeoutError:
            self.close_connection = True
            raise
        finally:
            with contextlib.suppress(OSError):
                self.connection.settimeout(self.timeout)

    def _start_reply(self, status: int, headers: dict[str, str]) -> None:
        """A reply's status line and `headers`, for ``end_headers`` to send; once the server stops, with
        ``Connection: close``, which also closes the connection after the reply (``send_header``), unless the
        client's next request has already arrived (pipelined): that one is served, as a request sent before the
        stop is, and its reply says it. Was: a reply sent during a stop told a keep-alive client it could reuse a
        connection the server was about to close."""
        stopping = self.server.stopping and headers.get("Connection") != "close"
        if stopping and (self.body_unread or not self._arrived()):  # a GET's body is no next request
            headers = {**headers, "Connection": "close"}
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)

    def _error(self, status: int, message: str, retry_after: int | None = None,
               headers: dict[str, str] | None = None) -> None:
        # a body left unread must not be taken for the next request: the connection closes, and the reply says
        # so (a keep-alive client that was not told sent its next request into a closed socket)
        self.close_connection = True
        extra = {"Connection": "close", **(headers or {})}
        if retry_after:
            extra["Retry-After"] = str(retry_after)
        self._reply(status, {"error": message}, extra)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (a malformed request line, an unknown method) as the JSON line every other
        error is, not its HTML page."""
        self._error(code, message or self.responses.get(code, ("error",))[0])

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        close = self._body_after_reply()
        if self._route() in ("/", "/health"):
            self._reply(200, self.server.info(), close)
        elif self._route() == "/score":  # was 404 "no such path /score"
            self._error(405, "GET is not served on /score; POST the data to /score (GET /health describes the "
                             "model)", headers={"Allow": ROUTES["/score"]})
        else:
            self._error(404, f"no such path {self._route()}; GET /health or POST /score")
        self._drop_body()

    def do_HEAD(self) -> None:  # noqa: N802: /health's headers (a load balancer's probe), no body
        close = self._body_after_reply()
        path = self._route()
        if path == "/score":  # as GET /score: 405 with Allow (was 404), the error's headers without its body
            self.close_connection = True
            data = json.dumps({"error": "HEAD is not served on /score; POST the data to /score (GET /health "
                                        "describes the model)"}, separators=(",", ":")).encode()
            self._start_reply(405, {"Content-Type": "application/json", "Content-Length": str(len(data)),
                                    "Allow": ROUTES["/score"], "Connection": "close"})
        elif path not in ("/", "/health"):
            self._start_reply(404, {"Content-Length": "0", **close})
        else:
            data = json.dumps(jsonable(self.server.info()), allow_nan=False, separators=(",", ":")).encode()
            self._start_reply(200, {"Content-Type": "application/json", "Content-Length": str(len(data)), **close})
        self.end_headers()
        self._drop_body()

    def _body_after_reply(self) -> dict[str, str]:
        """A GET's or HEAD's body (a Content-Length: it has no meaning for them, RFC 9110 section 9.3.1) is read
        and dropped after the reply (:meth:`_drop_body`), so the reply comes at once (was: after the body, and a
        Content-Length sent without its body held the reply for the body's whole ``body_s``, 30 s); the reply's
        extra headers: ``Connection: close`` for a body that will not be read (above 4x ``max_body``, as a refused
        POST's), none for one that will (the server goes on reading it: RFC 9110 section 10.1.1)."""
        length = self.body_length or 0
        self.body_unread = length > 0
        return {"Connection": "close"} if length > 4 * self.server.max_body else {}

    def _drop_body(self) -> bool:
        """Read and drop a GET's or HEAD's body (its Content-Length's bytes) once its reply is sent, so that they
        are never read as the next request (was: a GET /health with a body had the body served as a second
        request); False where it was not read whole (by :meth:`_drain`'s rule, a refused POST's: above 4x
        ``max_body``, ended, silent for ``body_idle_s`` or late): the connection then closes. (Was a second rule: a
        body above ``max_body`` left unread.)"""
        length, self.body_unread = self.body_length or 0, False
        if not length:
            return True
        self.stage = RECEIVING
        kept = self._drain(length)
        if not kept:
            self.close_connection = True
        return kept

    def _not_allowed(self) -> None:
        """A method HTTP defines that is not served: 405 with ``Allow`` (another method is 501:
        :meth:`_unknown_method`)."""
        allowed = ROUTES.get(self._route(), ALLOWED)  # the path's own methods (was: all three on every path)
        self._error(405, f"{self.command} is not served; GET /health or POST /score", headers={"Allow": allowed})

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed  # noqa: N815

    def _unknown_method(self) -> None:
        """A method HTTP does not define, or one of another case (methods are case-sensitive): 501 with ``Allow``,
        a JSON line (was http.server's "Unsupported method ('FOO')", without ``Allow``)."""
        upper = self.command.upper()
        hint = f" (methods are case-sensitive: send {upper})" if upper in ALLOWED.split(", ") else ""
        self._error(501, f"the method {_cut(self.command)!r} is not known{hint}; GET /health or POST /score",
                    headers={"Allow": ALLOWED})

    def do_POST(self) -> None:  # noqa: N802
        length = self.body_length
        if (refusal := self._head_refusal()) is not None:
            status, message, headers = refusal
            if length is not None:  # its body is read and dropped, so the client reads the reply (not a reset)
                self._drain(length)
            return self._error(status, message, headers=headers)
        self.stage = RECEIVING
        begun = self._read_body(length, upto=BEFORE_SLOT_BYTES)  # before a slot: a stalled client holds none
        if begun is None:
            return
        self.stage = "waiting for a slot"
        # until ``wait`` seconds after the request's first byte (was: ``wait`` from here, after the head's 20 s and
        # the first bytes' 30, so a request could take longer than a stop's grace: :func:`longest_request`)
        left = max(0.0, self.began + self.server.wait - time.monotonic())
        if not self.server.slots.acquire(timeout=left):  # the rest of the body stays unread meanwhile
            self._drain(length - len(begun))
            return self._error(503, f"the server is busy (every one of its request slots still taken "
                                    f"{self.server.wait:g} s after the request began); retry later", retry_after=1)
        try:
            self._score(length, begun)
        finally:
            self.server.slots.release()

    def _score(self, length: int, begun: bytes) -> None:
        self.stage = RECEIVING
        body = self._read_body(length, begun)
        if body is None:
            return
        self.stage = DECODING
        try:
            X = _decode(body, _body_kind(self.headers))
            del body
            self.stage = SCORING
            self._reply(200, self.server.score(X))
        except _Unsupported as exc:
            self._error(415, str(exc))
        except _TooMany as exc:
            self._error(413, str(exc))
        except ScoringTimeout as exc:  # stopped inside onnxruntime: the slot is free for the next request
            # no Retry-After (unlike the busy 503): the same request meets the same limit again, so the text says
            # not to resend it as it is
            self._error(503, f"{exc}; the same request would be stopped again, so do not retry it as it is: send "
                             f"fewer samples per request, or start the server with a larger --score-timeout (now "
                             f"{self.server.score_s:g} s; 0: no limit)")
        except ArtifactError as exc:  # the model failed on valid input: the server's fault, said in one line
            self._error(500, flat_text(exc))
        except (HadError, ValueError, TypeError) as exc:
            self._error(400, flat_text(exc))
        except (ConnectionError, TimeoutError):  # the client left mid-reply: one log line (handle_error), was a
            raise                                # traceback and a 500 written to the closed connection
        except Exception as exc:  # a bug, not the caller's data: logged with its traceback, one line to the caller
            traceback.print_exc(file=sys.stderr)
            self._error(500, f"internal error ({type(exc).__name__}); see the server's log")

    def _read_body(self, length: int, begun: bytes = b"", upto: int | None = None) -> bytes | None:
        """The body of `length` bytes after the `begun` ones already read, up to `upto` bytes of it (None: all),
        read within :data:`BODY_S` seconds (a client trickling a byte at a time held its slot, and with four of
        them every other request waited, then got 503), without a silence of :attr:`ScoringServer.body_idle_s`
        and at :attr:`ScoringServer.body_min_rate` bytes a second (:class:`_BodyClock`; was: a client that sent
        64 KiB and stalled held its slot for the whole 30 s); None after replying 408, or 400 for a body that ended
        short (it was scored as if whole)."""
        want = length if upto is None else min(length, upto)
        clock = _BodyClock(self.server, len(begun))
        parts, got = [begun], len(begun)
        try:
            while got < want:
                wait, why = clock.wait(got)
                if wait <= 0:
                    raise _LateBody(why)
                self.connection.settimeout(wait)
                try:
                    chunk = self.rfile.read1(min(want - got, 1 << 20))
                except TimeoutError:
                    raise _LateBody(why) from None
                if not chunk:
                    self._error(400, f"the body ended after {got:,} of the {length:,} bytes its Content-Length "
                                     "says; send the whole body")
                    return None
                parts.append(chunk)
                got += len(chunk)
        except _LateBody as late:
            self._error(408, clock.said(late.why, got, length))
            return None
        finally:
            self.connection.settimeout(self.timeout)
        return b"".join(parts)

    def _drain(self, length: int) -> bool:
        """Read and drop a refused body (up to 4x the limit, a chunk at a time, within ``body_s`` seconds and
        without a silence of ``body_idle_s``: it holds no slot, so no minimum rate): closing a socket with unread
        data resets it, and the client would lose the reply that says why. Whether it was read whole (a body above
        4x the limit is not read; a trickled one no longer held the thread; one that does not come, a GET's
        Content-Length without its body, no longer held it for the whole ``body_s``)."""
        if length > 4 * self.server.max_body:
            return False
        clock, left = _BodyClock(self.server, rate=0), length
        try:
            while left > 0:
                wait, _ = clock.wait(length - left)
                if wait <= 0:
                    return False
                self.connection.settimeout(wait)
                chunk = self.rfile.read1(min(left, 1 << 20))
                if not chunk:
                    return False
                left -= len(chunk)
        except TimeoutError:
            return False
        finally:
            with contextlib.suppress(OSError):
                self.connection.settimeout(self.timeout)
        return True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
        """One log line, its control characters escaped: the request line is the client's (was: written as sent,
        so a ``\\r`` or a terminal escape in it rewrote or hid the line; this override skipped the escaping
        http.server's own log_message does)."""
        if self.server.log is not None:
            self.server.log(one_line(f"{self.address_string()} {format % args}"))


class _Unsupported(Exception):
    pass


class _LateBody(Exception):
    """A body's read passed one of its limits (:attr:`why`: ``"whole"``, ``"idle"`` or ``"rate"``; 408)."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


class _BodyClock:
    """The limits of one read of a body, begun now with `got` bytes of it already read: the whole within
    ``server.body_s`` seconds, each wait for more bytes at most ``server.body_idle_s``, and once that long has
    passed, the bytes read since at least `rate` (``server.body_min_rate`` by default; 0: none) a second (each byte
    buys ``1 / rate`` s: Apache's mod_reqtimeout). Was the first limit alone: a client that sent part of its body
    and stalled, or trickled a byte every few seconds, held its slot for the whole ``body_s``."""

    def __init__(self, server: ScoringServer, got: int = 0, rate: float | None = None):
        self.start, self.first = time.monotonic(), got
        self.body_s, self.idle = server.body_s, server.body_idle_s
        self.rate = server.body_min_rate if rate is None else rate
        self.deadline = self.start + self.body_s

    def wait(self, got: int) -> tuple[float, str]:
        """Seconds to wait now for more bytes, `got` read so far, and the limit that sets them (the whole body's
        first where two are equal)."""
        now = time.monotonic()
        limits = [(self.deadline - now, "whole"), (self.idle, "idle")]
        if self.rate > 0 and got > self.first:  # none yet: the idle time's (a stall, said as such)
            limits.append((self.start + self.idle + (got - self.first) / self.rate - now, "rate"))
        return min(limits, key=lambda limit: limit[0])

    def said(self, why: str, got: int, length: int) -> str:
        """The 408's message for the limit `why` passed with `got` of `length` bytes read."""
        if why == "idle":
            return (f"the body stalled: none of it arrived for {self.idle:g} s ({got:,} of {length:,} bytes); send "
                    "it without pauses")
        if why == "rate":
            took = max(time.monotonic() - self.start, 1e-9)
            return (f"the body arrived at {(got - self.first) / took:,.0f} bytes/s ({got:,} of {length:,} bytes), "
                    f"below the server's minimum of {self.rate:,.0f} after its first {self.idle:g} s; send it faster")
        return f"the body did not arrive within {self.body_s:g} s ({got:,} of {length:,} bytes); send it at once"


class _HeadLines:
    """A request's reader while http.server reads its header lines, keeping each line as it was sent
    (:attr:`lines`): its parser skips a malformed line, and every line after it, without a word."""

    def __init__(self, rfile):
        self.rfile, self.lines = rfile, []

    def readline(self, limit: int = -1) -> bytes:
        line = self.rfile.readline(limit)
        self.lines.append(line)
        return line


def _request_line_fault(line: str) -> tuple[int, str] | None:
    """What is wrong with a request line (its CRLF stripped), as a status and a message; None when it is
    ``METHOD TARGET HTTP/1.x`` (or empty: http.server closes the connection)."""
    words = line.split()
    if not words:
        return None
    if len(words) != 3:
        return 400, (f"the request line {_cut(line)!r} is not 'METHOD /path HTTP/1.1'; send HTTP/1.1 requests "
                     "(GET /health, POST /score)")
    version = VERSION.fullmatch(words[2])
    if version is None:
        return 400, f"the request line ends in {_cut(words[2])!r}, not an HTTP version; send HTTP/1.1 requests"
    if int(version[1]) != 1:
        return 505, (f"HTTP/{int(version[1])}.{int(version[2])} is not served; send HTTP/1.1 (or HTTP/1.0) "
                     "requests")
    return None


def _origin_form(target: str) -> str:
    """A request target in absolute form (``http://host:8000/health?x``, RFC 9112 section 3.2.2: a server must take
    it) as its path and query (was: 404 "no such path http://..."); any other target as it is."""
    scheme, sep, rest = target.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or "/" in scheme:
        return target
    slash = rest.find("/")
    query = rest.find("?")
    if slash < 0 or (0 <= query < slash):
        return "/" + rest[query:] if query >= 0 else "/"
    return rest[slash:]


def _encodings(values: list[str]) -> list[str]:
    """The content codings Content-Encoding headers name, but ``identity`` (no coding)."""
    codings = [coding.strip() for value in values for coding in value.split(",")]
    return [coding for coding in codings if coding and coding.lower() != "identity"]


class _LateHead(Exception):
    """A request's line and headers did not arrive within their deadline (408)."""


class _Reads(io.RawIOBase):
    """A connection's reads, under its handler's buffered ``rfile``: while :attr:`deadline` is set (a request's
    head), each read waits only until then, so the head as a whole has a deadline (:class:`_LateHead`); the
    socket's timeout bounds one read, which a client trickling its headers a byte at a time never met."""

    def __init__(self, connection: socket.socket, idle: float):
        super().__init__()
        self.connection, self.idle = connection, idle
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int | None:
        if self.deadline is None:
            return self._recv(buffer)
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise _LateHead
        self.connection.settimeout(min(left, self.idle))
        try:
            return self._recv(buffer)
        except TimeoutError:
            if left <= self.idle:  # the deadline's wait, not the connection's silence
                raise _LateHead from None
            raise

    def _recv(self, buffer) -> int | None:
        try:
            return self.connection.recv_into(buffer)
        except BlockingIOError:  # a look without waiting (timeout 0, :meth:`_Handler._arrived`): nothing yet
            return None


class _Refusals:
    """Refused connections (their 503 written, their end shut for writing) whose requests are read and dropped
    until the client closes, for at most `seconds` each and their `cap` of bytes, then closed: a close with unread
    bytes resets the connection, and a client still sending its body got a broken pipe and never read the 503.
    One daemon thread reads them all (``selectors``), started with the first; at most `held` at once (:meth:`take`
    says False beyond, and the caller closes the connection at once). Nothing here waits on a client: the accept
    loop hands a connection over and goes on."""

    def __init__(self, held: int = REFUSED_HELD, seconds: float = REFUSED_S):
        self.held, self.seconds = held, seconds
        self.lock = threading.Lock()
        self.count = 0  # connections taken and not yet closed
        self.new: list = []  # taken, not yet seen by the thread
        self.closing = False
        self.thread: threading.Thread | None = None
        self.wake: tuple[socket.socket, socket.socket] | None = None  # a socket pair that wakes the thread

    def take(self, connection: socket.socket, cap: int) -> bool:
        """Read and drop `connection`'s bytes (non-blocking, at most `cap`), then close it; False (not taken) when
        `held` are held already, after :meth:`close`, or when the thread cannot start."""
        with self.lock:
            if self.closing or self.count >= self.held:
                return False
            if self.thread is None:
                try:
                    self.wake = socket.socketpair()
                    for end in self.wake:
                        end.setblocking(False)
                    thread = threading.Thread(target=self._run, name="had-serve-refused", daemon=True)
                    thread.start()
                except (OSError, RuntimeError):  # no descriptors, or no thread ("can't start new thread")
                    for end in self.wake or ():
                        end.close()
                    self.wake = None
                    return False
                self.thread = thread
            self.new.append((connection, time.monotonic() + self.seconds, cap))
            self.count += 1
            self._poke()
        return True

    def close(self) -> None:
        """Take no more; those held keep the rest of their time, then the thread closes them and ends."""
        with self.lock:
            self.closing = True
            self._poke()

    def _poke(self) -> None:
        """Wake the thread (under ``lock``)."""
        if self.wake is not None:
            with contextlib.suppress(OSError):  # its buffer full: it is awake already
                self.wake[1].send(b"\0")

    def _run(self) -> None:
        assert self.wake is not None
        reader = self.wake[0]
        selector = selectors.DefaultSelector()
        selector.register(reader, selectors.EVENT_READ)
        buffer = bytearray(65536)
        held: dict = {}  # connection: [deadline, bytes it may still send]

        def drop(connection: socket.socket) -> None:
            with contextlib.suppress(KeyError, ValueError, OSError):
                selector.unregister(connection)
            connection.close()
            held.pop(connection, None)
            with self.lock:
                self.count -= 1

        try:
            while True:
                with self.lock:
                    new, self.new, closing = self.new, [], self.closing
                for connection, deadline, cap in new:
                    try:
                        selector.register(connection, selectors.EVENT_READ)
                        held[connection] = [deadline, cap]
                    except (OSError, ValueError):  # closed meanwhile
                        held[connection] = [0.0, 0]
                        drop(connection)
                if closing and not held:
                    break
                now = time.monotonic()
                for connection in [c for c, (deadline, _) in held.items() if deadline <= now]:
                    drop(connection)
                timeout = min((deadline for deadline, _ in held.values()), default=now + 60) - now
                for key, _ in selector.select(max(0.0, timeout)):
                    if key.fileobj is reader:
                        with contextlib.suppress(OSError):
                            while reader.recv(4096):
                                pass
                        continue
                    connection, entry = key.fileobj, held[key.fileobj]
                    try:
                        while entry[1] > 0:
                            got = connection.recv_into(buffer, min(len(buffer), entry[1]))
                            if not got:
                                break
                            entry[1] -= got
                    except BlockingIOError:  # all read for now
                        continue
                    except OSError:  # reset: gone
                        pass
                    drop(connection)  # its end, an error, or its cap reached
        finally:
            with self.lock:
                self.closing = True
                rest = list(held) + [connection for connection, _, _ in self.new]
                self.new = []
                for end in self.wake:
                    end.close()
                self.wake = None
            for connection in rest:
                with contextlib.suppress(OSError):
                    connection.close()
            with self.lock:
                self.count = 0
            selector.close()


class _TooMany(ValueError):
    """More samples than one reply may hold (413)."""


def longest_request(headers_s: float = HEADERS_S, body_s: float = BODY_S, wait: float = WAIT_S) -> float:
    """Seconds a request that keeps to its deadlines may take from its first byte until it is being scored: its
    head (`headers_s`) and its body's first :data:`BEFORE_SLOT_BYTES` (`body_s`), its slot taken within `wait` of
    its first byte (a free one at once, however late), then the rest of its body (`body_s` from the slot). No more
    than a stop's grace (``wait + body_s``) while ``headers_s + body_s <= wait``, as by default (20 + 30 <= 60: 90 s
    for both)."""
    return max(float(wait), headers_s + body_s) + body_s


def n_connections(n: int) -> str:
    """``"1 connection"``, ``"64 connections"`` (was "1 connections" at ``--max-connections 1``)."""
    return f"{n} connection" + ("" if n == 1 else "s")


def _readable(connection: socket.socket) -> bool:
    """Whether `connection` has bytes to read (or its end), looked at without waiting and without reading. Not
    ``recv(MSG_PEEK | MSG_DONTWAIT)``: on a socket with a timeout Python waits for it first."""
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(connection, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([connection], [], [], 0)[0])
    except (OSError, ValueError):  # closed meanwhile
        return False


def _stages(stages: list[str]) -> str:
    """What requests in flight are doing, for the stop's log: ``"1 receiving its body, 1 being scored"``."""
    return ", ".join(f"{stages.count(stage)} {stage}" for stage in dict.fromkeys(stages))


def _samples(X: np.ndarray) -> int:
    """The samples data `X` holds: images ``(N, C, H, W)`` N, rows ``(N, D)`` N, a cube ``(H, W, B)`` H x W."""
    X = np.asarray(X)
    if X.ndim == 4:
        return int(X.shape[0])
    return int(X.size // X.shape[-1]) if X.ndim >= 2 and X.shape[-1] else int(X.size)


def _json_pieces(values: np.ndarray, *, whole: bool = False) -> list[bytes]:
    """`values` (scores, or labels with NaN for none) as a JSON nested list, encoded :data:`CHUNK` samples at a
    time; NaN and infinities are null; `whole`: finite values written as integers (labels)."""
    values = np.asarray(values)
    if values.ndim == 0:
        values = values.reshape(1)
    per = max(1, CHUNK // max(1, int(np.prod(values.shape[1:], dtype=np.int64))))
    pieces = [b"["]
    for start in range(0, values.shape[0], per):
        part = values[start:start + per]
        missing = ~np.isfinite(part)
        cells = (part.astype(np.int64) if whole and not missing.any() else part).astype(object)
        if whole and missing.any():
            cells[~missing] = part[~missing].astype(np.int64).astype(object)
        cells[missing] = None
        text = json.dumps(cells.tolist(), allow_nan=False, separators=(",", ":"))
        pieces.append((b"," if start else b"") + text[1:-1].encode())
    pieces.append(b"]")
    return pieces


def _byte_count(text: str) -> int | None:
    """A Content-Length as a number of bytes: ASCII digits only, else None (was: ``str.isdigit``, true for
    ``'²'`` and other Unicode digits, which ``int`` then refused: a traceback and no reply); a count of more
    than 18 digits is :data:`MAX_LENGTH` + 1 (``int`` refuses over 4,300 digits, and no body is that long)."""
    digits = text.strip()
    if not ascii_digits(digits):
        return None
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 18 else MAX_LENGTH + 1


def _cut(text: str) -> str:
    """`text` cut for an error message (a header may be 64 KiB)."""
    return cut(text, 43)


def _body_kind(headers) -> str:
    """The request's content type without its parameters, lower case (JSON where none is given)."""
    return (headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()


def _kind_refusal(kind: str) -> str | None:
    """Why a body of content type `kind` is not scored (a 415), or None for JSON and ``.npy``."""
    if kind in NPY_TYPES or kind == "application/json":
        return None
    return (f"content type {_cut(repr(kind))}: send application/json ({{\"data\": [[...], ...]}}) or "
            "application/x-npy (numpy.save)")


def _decode(body: bytes, kind: str) -> np.ndarray:
    """The request's array: JSON (``{"data": ...}`` or a nested list) or a ``.npy`` file (never a pickle)."""
    if (why := _kind_refusal(kind)) is not None:
        raise _Unsupported(why)
    if kind in NPY_TYPES:
        return _decode_npy(body)
    try:
        value = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"the body is not JSON ({exc})") from None
    except RecursionError:  # [[[[...]]]] nested beyond Python's stack: the caller's body, not a server fault
        raise ValueError("the body's JSON is nested too deeply; send rows (N, D), a cube (H, W, B) or images "
                         "(N, C, H, W)") from None
    except ValueError:  # not a JSONDecodeError: an integer past Python's 4,300-digit limit (was its own advice)
        raise ValueError("the body holds a number too long (thousands of digits); send numbers within a 64-bit "
                         "float's range") from None
    quotes = 0
    if isinstance(value, dict):
        if "data" not in value:
            raise ValueError("the JSON object has no \"data\"; send {\"data\": [[...], ...]}")
        value, quotes = value["data"], 2
    # true/false anywhere, as a .npy of bools is refused (was: only an all-bool array; [[true, 1]] was scored)
    if (b"true" in body or b"false" in body) and _holds(value, bool):
        raise ValueError("\"data\" holds true/false values; send real numbers")
    if body.count(b'"') > quotes and _holds(value, str):  # numpy would read "1" as 1.0 (was: scored)
        raise ValueError("\"data\" holds strings; send real numbers, unquoted")
    try:
        X = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise ValueError("\"data\" is not a rectangular array of numbers (rows of equal length)") from None
    except OverflowError:  # an integer beyond float64 (10**400): JSON allows it
        raise ValueError("\"data\" holds a number too large for a 64-bit float") from None
    except RecursionError:
        raise ValueError("\"data\" is nested too deeply; send rows (N, D), a cube (H, W, B) or images "
                         "(N, C, H, W)") from None
    if X.ndim == 1 and X.size:
        raise ValueError(f"\"data\" is one list of {X.size} numbers; send rows as a list of lists, one sample "
                         "per row: [[...]]")
    return X


def _holds(value: Any, kind: type) -> bool:
    """Whether the nested lists `value` hold an item of `kind` anywhere (bool: numpy reads true and false as 1 and
    0; str: numpy reads "1" as 1.0)."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, kind):
            return True
        if isinstance(item, list):
            todo += item
    return False


def _decode_npy(body: bytes) -> np.ndarray:
    """A ``.npy`` body whose header's shape and dtype match its length, read without pickle. The header is
    checked first: a header claiming a billion values before a few bytes had ``numpy.load`` allocate them all
    (a MemoryError, or gigabytes per request) before it found the data short. A header had does not read (too
    long, a shape that is not sizes, a subarray dtype) is said as such (was: numpy's hint to pass
    ``allow_pickle=True``, cut at 200 characters)."""
    from .matfile import NpyHeaderError, npy_header

    stream = io.BytesIO(body)
    try:
        shape, fortran, dtype = npy_header(stream)
    except NpyHeaderError as exc:
        raise ValueError(f"the request body is not a .npy array had reads: {exc}; save the array again with "
                         "numpy.save") from None
    except (ValueError, TypeError, EOFError) as exc:
        raise ValueError(f"the request body is not a .npy array ({flat_text(exc)[:200]})") from None
    if dtype.hasobject:
        raise ValueError("the request body is a .npy array of Python objects, which had never unpickles; save a "
                         "numeric array with numpy.save")
    if not is_real(dtype):  # timedelta64 too (numpy's integer); a zero-width dtype would fail frombuffer
        raise ValueError(f"data has dtype {dtype}; pass real numbers")
    count = math.prod(int(d) for d in shape)
    needed, held = count * dtype.itemsize, len(body) - stream.tell()
    if held != needed:
        raise ValueError(f"the .npy body's header says {'x'.join(map(str, shape)) or 'a scalar'} values of {dtype} "
                         f"({needed:,} bytes) but {held:,} bytes follow it; send the whole file numpy.save wrote")
    X = np.frombuffer(body, dtype=dtype, count=count, offset=stream.tell())
    return X.reshape(shape[::-1]).T if fortran else X.reshape(shape)


def serve(model: str, host: str = "127.0.0.1", port: int = 8000, max_body: int = MAX_BODY,
          max_inflight: int = MAX_INFLIGHT, log=print, max_connections: int = MAX_CONNECTIONS,
          score_s: float | None = SCORE_S) -> None:
    """Serve `model` (an artifact folder with ``model.onnx``, or a ``.onnx`` file) until interrupted.

    It raises the process's soft limit of open files (``RLIMIT_NOFILE``), where the hard limit allows, to hold
    `max_connections` and the files it needs beside them (:func:`_files_for`); the raised limit stays after it
    returns. Where the hard limit is too low it serves fewer connections at once, said in one line."""
    from .runtime import import_onnxruntime

    try:
        import_onnxruntime()
    except HadError:  # its advice names `--engine eager`, an option of had score that had serve has not
        raise HadError('had serve scores with onnxruntime, which is not installed; pip install "had[onnx]" (CPU) or '
                       '"had[onnx-gpu]" (CUDA/TensorRT), not both') from None
    server = ScoringServer(OnnxScorer(model), host, port, max_body=max_body, max_inflight=max_inflight, log=log,
                           max_connections=max_connections, score_s=score_s)
    _files_for(server, log)
    if host not in ("127.0.0.1", "localhost", "::1"):
        log(f"note: listening on {host}, beyond this machine, with no TLS and no authentication: put a proxy "
            "that adds both in front, or keep the default 127.0.0.1")
    previous = signals.interrupt_on_sigterm()  # before the line saying it serves: a SIGTERM after it stops it
    try:  # the line inside: a SIGTERM that arrives as it is written is caught here too
        # Ctrl-C and SIGTERM (systemd's, docker's, kill's) are noted, never raised, while serving and stopping,
        # and counted (a second stops at once). Was: raised in the accept loop, where socketserver then closed
        # the socket a live handler was serving, and two signals noted while a connection's thread started
        # were taken as one (a graceful stop of 30 s where the second asked for an immediate one; an audit)
        with signals.NotedInterrupts() as stops:
            info = server.info()
            chosen = info["band_selection"]  # a band subset: which bands of its input the model takes, said at start
            # the model's strings escaped, as the detector's name is (was: a newline in data_view.bands split the
            # line, a model forging log lines)
            bands = (f" (bands {shown(chosen['bands'])} of {shown(chosen.get('of', 'its input'))}: send those alone)"
                     if chosen and chosen.get("bands") else "")
            log(f"serving {model} ({shown(info['detector'])}, {info['kind']}, {info['n_features']} features{bands}, "
                f"threshold {info['threshold']}, {', '.join(info['providers'])}) on http://{host}:{server.server_port}: "
                "POST /score, GET /health; Ctrl-C stops")
            server.timeout = STOP_LOOK_S
            while not stops():
                server.handle_request()  # one connection, or none within STOP_LOOK_S
            _stop(server, log)
            log("stopped")
    finally:
        server.server_close()
        signals.restore(previous)


def _files_for(server: ScoringServer, log=None) -> int:
    """Raise the process's soft limit of open files, where the hard one allows, to hold ``server.max_connections``
    connections, the refused ones being read (:data:`REFUSED_HELD`) and :data:`OWN_FILES` more (the model, the
    listening socket, libraries): at the usual soft limit of 1,024, ``--max-connections 1024`` would have the
    accept fail (EMFILE) before the limit. Where the limit stays too low, ``server.max_connections`` is lowered to
    what it holds (at least 1), said in one line: was silent, and connections past it got neither a thread nor a
    503 while the accept loop spun (a review: a hard limit of 80). Returns the connections served at once."""
    connections = server.max_connections
    try:
        import resource
    except ImportError:  # not on Windows
        return connections
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return connections
    wanted = connections + server.refusals.held + OWN_FILES
    unlimited = resource.RLIM_INFINITY
    if soft == unlimited or soft >= wanted:
        return connections
    raised = wanted if hard == unlimited or hard >= wanted else hard
    if raised > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (OSError, ValueError):  # macOS caps the soft limit below an unlimited hard one (OPEN_MAX)
            with contextlib.suppress(OSError, ValueError):
                soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == unlimited or soft >= wanted:
        return connections
    server.max_connections = max(1, soft - OWN_FILES - server.refusals.held)
    if log is not None:
        log(f"note: the open-file limit is {soft} (hard limit {'unlimited' if hard == unlimited else hard}), "
            f"too low for {connections} connections, the {server.refusals.held} refused ones being read and "
            f"{OWN_FILES} files of its own: serving at most {n_connections(server.max_connections)} at once; raise "
            "the hard limit (ulimit -Hn, systemd's LimitNOFILE, docker's --ulimit nofile) for more")
    return server.max_connections


def _stop(server: ScoringServer, log) -> None:
    """Stop `server` after Ctrl-C or SIGTERM: no new connection or request, idle connections closed, then wait
    for the requests in flight to reply (at most ``server.grace`` seconds, then those not being scored are
    closed, and one being scored still replies: its thread must leave onnxruntime before the process exits).
    A second Ctrl-C or SIGTERM closes every connection and raises KeyboardInterrupt (``had serve``: stopped at
    once), or, with a batch still inside onnxruntime a second later, ends the process (:func:`_exit_now`).
    Was: the requests in flight were counted, not waited for: the client got no reply, and the process could
    abort in onnxruntime as the interpreter shut down under it (exit 134). The second interrupt is noted, not
    raised (:class:`signals.NotedInterrupts`): raised, it could land inside the lock's wait and end ``had
    serve`` with "RuntimeError: release unlocked lock" and exit 1."""
    with signals.NotedInterrupts() as noted:
        first = min(noted.count(), 1)  # the interrupt that began the stop, noted by serve's loop (or raised)

        def again() -> bool:
            return noted.count() > first

        # idle kept-alive connections shut first: a connection taken from the backlog waits for them to close
        # (ScoringServer.closing), so a request sent in full before the stop is served (was: taken first, it got
        # 503 while idle connections filled the server); then the stages of the requests in flight, those
        # taken from the backlog among them
        server.shut_idle()
        server.take_backlog()
        busy = server.stop()
        server.server_close()  # stop accepting: a client connecting now is refused, not left in the backlog
        if busy:
            log(f"stopping: waiting up to {server.grace:g} s for {len(busy)} request(s) in flight to finish and "
                f"reply ({_stages(busy)}); Ctrl-C or SIGTERM again stops at once")
        if server.drain(server.grace, again) and not again():
            closed = server.cut(scoring=False)
            log(f"stopping: {server.grace:g} s passed; {closed} connection(s) not being decoded or scored closed, "
                "waiting for those being decoded or scored to reply")
            server.drain(None, again)
        if not again():
            return
        log(f"stopping at once: {server.cut()} connection(s) closed")
        if server.drain(1.0):  # a batch still being scored
            _exit_now(log)
    raise KeyboardInterrupt


def _exit_now(log) -> None:
    """End the process now, as a stopped ``had`` command does (``stopped (SIGTERM)``, exit 143; Ctrl-C:
    ``aborted``, 130), without the interpreter's shutdown: onnxruntime torn down under a thread still scoring
    aborts the process (was: "terminate called without an active exception", exit 134)."""
    terminated = signals.terminated()
    log("stopped (SIGTERM)" if terminated else "aborted")
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(143 if terminated else 130)
