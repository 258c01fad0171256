"""A local HTTP server on 127.0.0.1 for the fetch tests: the server with its address, a quiet handler, and the
fixture's start and stop; each test module writes its own handler's ``do_GET``."""

from __future__ import annotations

import contextlib
import http.server
import threading
from typing import Iterator


class LocalServer(http.server.ThreadingHTTPServer):
    """A threading server on a free port of 127.0.0.1; `handler` answers its requests."""

    daemon_threads = True

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]):
        super().__init__(("127.0.0.1", 0), handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A handler that logs nothing to stderr."""

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving(server: LocalServer) -> Iterator[LocalServer]:
    """`server` answering in a thread for the block, then shut down."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
