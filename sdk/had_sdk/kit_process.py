"""Other Python processes for the kit: its determinism check across processes, and its save/load check.

A detector must give the same scores in every process for the same config and seed. Two fits in one process
cannot show a seed derived from something salted per process: ``hash(("vae", seed))`` of a string, the iteration
order of a set of strings (``PYTHONHASHSEED``), an object's ``id``. :func:`fit_elsewhere` fits and scores in a
worker started with another ``PYTHONHASHSEED``; the worker is started once per test session (the interpreter and
torch imported once: about 2.5 s) and then costs one fit per detector suite.

A model saved by ``had.save`` must score the same once loaded in a new process: :func:`load_elsewhere` loads it
in a second worker, one that never fits, so fitted state kept outside the artifact (a module-level dict, a class
attribute) is not there (was: loaded in the process that fitted it, where that state still was, such a detector
passed the save/load check, and its saved model failed in the next process).

The detector travels as its class's import path and its config, so its class must be importable by that path
(defined at a module's top level, not inside a test function); the data travels as ``.npy`` files. The worker
has this process's ``sys.path`` and environment (``HAD_PLUGINS``, a plugin's own switches).
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from had import hookimpl

#: seconds a fit in the worker may take before it is stopped (and the check fails)
TIMEOUT_S = 600.0


class Unavailable(Exception):
    """The detector cannot be rebuilt in another process (the message says why)."""


def import_path(cls: type) -> str:
    """``"module:Qualname"`` of `cls`, or :class:`Unavailable` when another process cannot import it by that path."""
    module, qualname = cls.__module__, cls.__qualname__
    if module == "__main__" or "<locals>" in qualname:
        raise Unavailable(f"its class {qualname} is defined {'in __main__' if module == '__main__' else 'inside a function'}"
                          ", so another process cannot import it; define it at the top level of a module")
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except Exception as exc:  # noqa: BLE001 - any failure: not importable by its path
        raise Unavailable(f"its class cannot be imported as {module}:{qualname} ({type(exc).__name__}: {exc})") from None
    if found is not cls:
        raise Unavailable(f"{module}:{qualname} imports another class than the one checked (redefined or patched)")
    return f"{module}:{qualname}"


def _other_hashseed(step: int = 1) -> str:
    """A ``PYTHONHASHSEED`` other than this process's (a random one when unset: any fixed value differs); each
    `step` gives another one."""
    mine = os.environ.get("PYTHONHASHSEED", "")
    return str((int(mine) + step) % 4294967296) if mine.isdigit() else str(step)


class _Worker:
    def __init__(self, hashseed: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="had-kit-worker-"))
        self.log = open(self.folder / "stderr.log", "w+b")  # noqa: SIM115 - open for the worker's lifetime
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        self.proc = subprocess.Popen([sys.executable, "-m", "had_sdk.kit_process"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, env=env, cwd=os.getcwd())

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr_tail(self) -> str:
        self.log.flush()
        self.log.seek(0)
        text = self.log.read().decode(errors="replace").strip()
        return text[-2000:]

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        path = self.folder / "request.json"
        try:  # JSON, never a pickle (NaN and infinities as Python writes them: read back by Python alone)
            path.write_text(json.dumps(request))
        except (TypeError, ValueError) as exc:
            raise Unavailable(f"its config cannot be sent to another process as JSON ({exc})") from None
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{path}\n".encode())
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT_S)
        if not ready:
            self.close()
            raise TimeoutError(f"another process did not answer in {TIMEOUT_S:.0f} s")
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise RuntimeError(f"the worker process ended (exit code {code}): {self.stderr_tail()}")
        return json.loads(line)

    def close(self) -> None:
        if self.alive():
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except Exception:  # noqa: BLE001 - it is going away either way
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


#: the workers by role: "fit" (fits and scores: the determinism check), "load" (loads and scores, never fits) and
#: "load-again" (the same with a third PYTHONHASHSEED, started only to tell why a load scored otherwise; then
#: "load-again-2" and "load-again-3", a fourth and a fifth)
_workers: dict[str, _Worker] = {}
_HASHSEED_STEP = {"fit": 1, "load": 1, "load-again": 2, "load-again-2": 3, "load-again-3": 4}
#: the roles that load a saved model with yet another PYTHONHASHSEED, in turn, until one scores otherwise than the
#: "load" worker: two salts may give one order (a set of two strings comes out in one order half the time)
AGAIN_ROLES = ("load-again", "load-again-2", "load-again-3")
_lock = threading.Lock()


def _close() -> None:
    for worker in _workers.values():
        worker.close()


atexit.register(_close)


def _torch_threads() -> int | None:
    """This process's torch thread count (None without torch): the worker fits on as many, since float sums
    over another number of threads round otherwise (pyod-autoencoder: 1e-5 relative with 2 threads against 1)."""
    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else None


def _worker_for(role: str) -> _Worker:
    """The running worker for `role`, started (again) when there is none or it ended. Call with `_lock` held."""
    if sys.platform == "win32":  # select() on the worker's pipe is POSIX only
        raise Unavailable("the worker process is not supported on Windows (select on a pipe)")
    worker = _workers.get(role)
    if worker is None or not worker.alive():
        if worker is not None:
            worker.close()
        worker = _workers[role] = _Worker(_other_hashseed(_HASHSEED_STEP[role]))
    return worker


def _scores_from(worker: _Worker, request: dict[str, Any], X: np.ndarray) -> np.ndarray:
    np.save(worker.folder / "score.npy", np.asarray(X), allow_pickle=False)
    reply = worker.ask({**request, "score": str(worker.folder / "score.npy"), "out": str(worker.folder / "scores.npy"),
                        "sys_path": list(sys.path), "torch_threads": _torch_threads()})
    if "unavailable" in reply:
        raise Unavailable(reply["unavailable"])
    if "error" in reply:
        raise RuntimeError(reply["error"])
    return np.load(worker.folder / "scores.npy", allow_pickle=False)


def fit_elsewhere(det: Any, X_train: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``decision_function(X)`` of a detector of `det`'s class, name and config fitted on `X_train` in the worker
    process (another ``PYTHONHASHSEED``). :class:`Unavailable` when its class cannot be imported there; any error
    of the fit there is raised as a RuntimeError carrying its message."""
    target = import_path(type(det))
    with _lock:
        worker = _worker_for("fit")
        np.save(worker.folder / "train.npy", np.asarray(X_train), allow_pickle=False)
        return _scores_from(worker, {"target": target, "name": det.name, "config": det.config.model_dump(),
                                     "train": str(worker.folder / "train.npy")}, X)


def load_elsewhere(det: Any, path: str | Path, X: np.ndarray, role: str = "load") -> np.ndarray:
    """``had.load(path).decision_function(X)`` in the load worker, a process that never fits: `det` is the detector
    saved at `path`. A detector registered in this process only (:func:`had.plugins.register_plugin`, a test's
    plugin) is registered there too, from its class's import path (:class:`Unavailable` when it cannot be
    imported there); any error of the load or the scoring there is raised as a RuntimeError carrying its message.
    `role` one of :data:`AGAIN_ROLES`: in another such process with yet another ``PYTHONHASHSEED``."""
    from had import plugins

    register = None
    if det.name and plugins.in_this_process_only("detector", det.name):
        register = {"name": det.name, "target": import_path(type(det))}
    with _lock:
        return _scores_from(_worker_for(role), {"load": str(Path(path).resolve()), "register": register}, X)


class _Registers:
    """An in-process plugin registering one detector class (the load worker's stand-in for a test's plugin)."""

    def __init__(self, name: str, cls: type) -> None:
        self.name, self.cls = name, cls

    @hookimpl
    def register_detectors(self, register) -> None:
        register(self.name, self.cls)


def _import(target: str) -> Any:
    module, _, qualname = target.partition(":")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def _unavailable(target: str, exc: Exception) -> dict[str, Any]:
    return {"unavailable": f"another process cannot import {target} ({type(exc).__name__}: {exc})"}


def _fit(request: dict[str, Any]) -> dict[str, Any]:
    try:
        cls = _import(request["target"])
    except Exception as exc:  # noqa: BLE001 - not importable there: not checked, said why
        return _unavailable(request["target"], exc)
    det = cls.__new__(cls)
    det.name = request["name"]
    det.__init__(request["config"])
    scores = det.fit(np.load(request["train"])).decision_function(np.load(request["score"]))
    np.save(request["out"], np.asarray(scores, dtype=np.float64), allow_pickle=False)
    return {"ok": True}


def _load(request: dict[str, Any]) -> dict[str, Any]:
    import had
    from had import plugins

    register = request.get("register")
    if register:
        try:
            cls = _import(register["target"])
        except Exception as exc:  # noqa: BLE001 - not importable there: not checked, said why
            return _unavailable(register["target"], exc)
        plugin = f"kit-load-{register['name']}"
        plugins.unregister_plugin(plugin)  # a class of that name loaded before may have been another
        plugins.register_plugin(_Registers(register["name"], cls), name=plugin)
        entry = plugins.registry()["detector"].get(register["name"])
        if entry is None or entry.load() is not cls:
            return {"unavailable": f"another process registers {register['name']!r} to another class"}
    scores = had.load(request["load"]).decision_function(np.load(request["score"]))
    np.save(request["out"], np.asarray(scores, dtype=np.float64), allow_pickle=False)
    return {"ok": True}


def _serve() -> None:
    """The worker: one request per line on stdin (a JSON file's path), one JSON reply per line on its stdout;
    anything the detector prints goes to stderr."""
    import traceback

    reply_to = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr
    for line in sys.stdin:
        try:
            request = json.loads(Path(line.strip()).read_text())
            sys.path[:] = [*request["sys_path"], *(p for p in sys.path if p not in request["sys_path"])]
            if request.get("torch_threads"):
                import torch

                torch.set_num_threads(request["torch_threads"])
            reply: dict[str, Any] = _load(request) if "load" in request else _fit(request)
        except BaseException as exc:  # noqa: BLE001 - reported to the kit, the worker goes on
            if isinstance(exc, KeyboardInterrupt):
                raise
            traceback.print_exc()
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        reply_to.write(json.dumps(reply) + "\n")
        reply_to.flush()


if __name__ == "__main__":
    _serve()
