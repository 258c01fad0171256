"""What the wire costs `had serve`: one scene scored over HTTP with a ``.npy`` body and with a JSON body, against
``OnnxScorer.score`` in the process, side by side in one run (medians of `--repeats` requests each); then the
JSON body's decoding in the process split into ``json.loads`` (the standard library's parser) and the server's
checks and conversion (``had.serve._decode`` minus ``json.loads``), so that a change in the JSON figure can be
told apart from a change in the parser's speed on the machine. Last, small requests (2 x 2 pixels, JSON) one
after another on one kept-alive connection, requests per second as served (TCP_NODELAY) and with Nagle's
algorithm left on, side by side: what a client scoring a few pixels at a time sees.

RX fitted and exported on the scene; the server (``had.serve.ScoringServer``) runs in this process on a free
port. Usage::

    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_serve.py [--dataset abu-beach-3] [--repeats 5] [--small 200]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

import had
from had.onnx_export import export
from had.runtime import OnnxScorer
from had.serve import ScoringServer, _decode, _Handler


class _WithNagle(_Handler):
    disable_nagle_algorithm = False  # as the server was before 6 December 2026


def kept_alive_rate(port: int, body: bytes, requests: int) -> float:
    """Requests per second of `requests` POSTs of `body` on one kept-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start = time.perf_counter()
    for _ in range(requests):
        connection.request("POST", "/score", body, {"Content-Type": "application/json"})
        reply = connection.getresponse()
        reply.read()
        assert reply.status == 200, reply.status
    seconds = time.perf_counter() - start
    connection.close()
    return requests / seconds


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="abu-beach-3")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--small", type=int, default=200, help="small requests on one kept-alive connection")
    args = parser.parse_args()
    X = np.asarray(had.load_dataset(args.dataset).X, dtype=np.float32)
    with tempfile.TemporaryDirectory() as folder:
        model = had.save(had.get_detector("rx").fit(X), Path(folder) / "m")
        export(model, X)
        scorer = OnnxScorer(model)
        server = ScoringServer(OnnxScorer(model), "127.0.0.1", 0, max_body=2**31)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}/score"
        buffer = io.BytesIO()
        np.save(buffer, X)
        bodies = {"npy": (buffer.getvalue(), "application/x-npy"),
                  "json": (json.dumps({"data": X.tolist()}).encode(), "application/json")}

        def post(body: bytes, kind: str):
            request = urllib.request.Request(url, data=body, headers={"Content-Type": kind})
            with urllib.request.urlopen(request, timeout=600) as reply:
                return json.loads(reply.read())

        got = np.array(post(*bodies["npy"])["scores"], dtype=np.float64)
        assert np.allclose(got, scorer.score(X), rtol=1e-6)
        local = median_seconds(lambda: scorer.score(X), args.repeats)
        print(f"{args.dataset}: {X.shape[0]} x {X.shape[1]} x {X.shape[2]} float32, RX, providers "
              f"{scorer.providers}, {args.repeats} requests each, load average {os.getloadavg()[0]:.1f}")
        print("| how | body MB | median s per request | x in process |")
        print("|---|---:|---:|---:|")
        print(f"| OnnxScorer.score in the process | | {local:.4f} | 1.0 |")
        for name, (body, kind) in bodies.items():
            seconds = median_seconds(lambda: post(body, kind), args.repeats)
            print(f"| POST /score, {name} | {len(body) / 1e6:.1f} | {seconds:.4f} | {seconds / local:.1f} |")
        body = bodies["json"][0]
        parse = median_seconds(lambda: json.loads(body), args.repeats)
        decode = median_seconds(lambda: _decode(body, "application/json"), args.repeats)
        print(f"JSON body decoded in the process: {decode:.4f} s, of which json.loads {parse:.4f} s "
              f"({parse / decode:.0%}); had's checks and the float64 conversion {max(decode - parse, 0.0):.4f} s")
        small = json.dumps({"data": X[:2, :2].tolist()}).encode()
        nagle = ScoringServer(OnnxScorer(model), "127.0.0.1", 0)
        nagle.RequestHandlerClass = _WithNagle
        threading.Thread(target=nagle.serve_forever, daemon=True).start()
        served = kept_alive_rate(server.server_port, small, args.small)
        with_nagle = kept_alive_rate(nagle.server_port, small, args.small)
        print(f"{args.small} requests of 2 x 2 pixels on one kept-alive connection: {served:.0f} requests/s as "
              f"served (TCP_NODELAY), {with_nagle:.0f} with Nagle's algorithm on: {served / with_nagle:.1f}x")
        for each in (server, nagle):
            each.shutdown()
            each.server_close()


if __name__ == "__main__":
    main()
