"""A request's scoring has a time limit (``had serve --score-timeout``): requests are scored one at a time, and a
graph whose ``Loop`` ran as long as its trip count said held that one slot for good (an artifact probe of 7
December 2026: nothing stopped it but killing the server). Now the run is stopped inside onnxruntime
(``RunOptions.terminate``), the request answered 503 in one JSON line that says not to resend it as it is (no
``Retry-After``: it would be stopped again), and the next request scored."""

from __future__ import annotations

import http.client
import json
import threading
import time

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import had  # noqa: E402
from had.onnx_export import export  # noqa: E402
from had.runtime import OnnxScorer, ScoringTimeout  # noqa: E402
from had.rx import RX  # noqa: E402
from had.serve import ScoringServer  # noqa: E402
from serve_support import call  # noqa: E402


def _looping(tmp_path) -> str:
    """RX's exported graph with a ``Loop`` beside it that runs as many times as the input's largest value (its
    count times 0 added to the scores): a few iterations for the fitted data, ~16 s for a sample holding 1e7 (so
    that a limit that does not stop it fails the test, not hangs it)."""
    from onnx import TensorProto, helper

    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4))
    path = had.save(RX().fit(X), tmp_path / "m")
    export(path, X)
    model = onnx.load(str(path / "model.onnx"))
    graph = model.graph
    for node in graph.node:
        node.output[:] = ["had_raw_score" if name == "score" else name for name in node.output]
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Add", ["count_in", "loop_one"], ["count_out"])], "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("count_in", TensorProto.FLOAT, [])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("count_out", TensorProto.FLOAT, [])],
        [helper.make_tensor("loop_one", TensorProto.FLOAT, [], [1.0])])
    graph.initializer.extend([helper.make_tensor("t_true", TensorProto.BOOL, [], [True]),
                              helper.make_tensor("t_zero", TensorProto.FLOAT, [], [0.0])])
    graph.node.extend([
        helper.make_node("ReduceMax", ["x"], ["t_max"], keepdims=0),
        helper.make_node("Cast", ["t_max"], ["t_trips"], to=TensorProto.INT64),
        helper.make_node("Loop", ["t_trips", "t_true", "t_zero"], ["t_count"], body=body),
        helper.make_node("Mul", ["t_count", "t_zero"], ["t_nothing"]),
        helper.make_node("Add", ["had_raw_score", "t_nothing"], ["score"])])
    target = tmp_path / "looping.onnx"
    onnx.save(model, str(target))
    return str(target)


def test_a_scoring_call_past_its_time_limit_is_stopped(tmp_path):
    scorer = OnnxScorer(_looping(tmp_path))
    rows = np.random.default_rng(2).normal(size=(5, 4))
    expected = scorer.score(rows)  # a few iterations: scored
    assert np.ptp(expected) > 0
    hostile = rows.copy()
    hostile[0, 0] = 1e7
    started = time.monotonic()
    with pytest.raises(ScoringTimeout, match=r"^scoring took longer than its limit of 0\.5 s and was stopped$"):
        scorer.score(hostile, time_limit=0.5)
    assert time.monotonic() - started < 10
    np.testing.assert_array_equal(scorer.score(rows, time_limit=60), expected)  # the session still scores
    np.testing.assert_array_equal(scorer.score(rows, time_limit=float("inf")), expected)  # inf: no limit
    for wrong in (float("nan"), -1.0):  # NaN never passed (the watch thread spun); refused
        with pytest.raises(ValueError, match="a time limit is a number of seconds"):
            scorer.score(rows, time_limit=wrong)


def test_the_server_answers_503_and_scores_the_next_request(tmp_path):
    server = ScoringServer(OnnxScorer(_looping(tmp_path)), "127.0.0.1", 0, score_s=2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        rows = np.random.default_rng(3).normal(size=(4, 4))
        hostile = rows.copy()
        hostile[1, 2] = 1e7
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
        try:
            connection.request("POST", "/score", json.dumps(hostile.tolist()).encode(),
                               {"Content-Type": "application/json"})
            answer = connection.getresponse()
            status, headers, reply = answer.status, answer.headers, json.loads(answer.read())
        finally:
            connection.close()
        assert status == 503
        # the same request would be stopped again: the reply says not to resend it as it is, and gives no
        # Retry-After (the busy 503 gives ``Retry-After: 1``)
        assert reply == {"error": "scoring took longer than its limit of 2 s and was stopped; the same request "
                                  "would be stopped again, so do not retry it as it is: send fewer samples per "
                                  "request, or start the server with a larger --score-timeout (now 2 s; 0: no "
                                  "limit)"}
        assert headers.get("Retry-After") is None
        assert headers.get("Connection") == "close"
        assert int(headers["Content-Length"]) == len(json.dumps(reply, separators=(",", ":")).encode())
        status, reply = call(server, "/score", json.dumps(rows.tolist()).encode())
        assert status == 200
        np.testing.assert_allclose(reply["scores"], OnnxScorer(_looping(tmp_path)).score(rows), rtol=1e-12)
    finally:
        server.shutdown()
        server.server_close()


def test_the_cli_takes_the_limit_and_refuses_a_negative_one(capsys):
    from had.cli import main

    with pytest.raises(SystemExit) as info:
        main(["serve", ".", "--score-timeout", "-1"])
    assert info.value.code == 2
    assert "--score-timeout" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["serve", ".", "--score-timeout", "nan"])
    assert info.value.code == 2
    assert "nan is not a number of seconds" in capsys.readouterr().err
