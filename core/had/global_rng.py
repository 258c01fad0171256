"""The process's global random generators, as a fit uses them: one fit at a time, seeded, then given back.

numpy's global generator (``np.random.seed``) and torch's (a network's initialisation, dropout) are the process's,
not a detector's. A fit that seeds them for its own reproducibility must hold them alone while it draws (two
torch fits in threads drew from one stream, so a seed gave other scores beside another fit: a threaded
GridSearchCV scored differently from a serial one) and give them back as it found them (a fit left them
reseeded, so a user's own seeded experiment depended on which detectors were fitted before it). torch is
handled only where it is already imported; the core does not import it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import random
import sys
import threading
from typing import Iterator

import numpy as np

#: held by a fit while it draws from the global generators (re-entrant: an ensemble's members fit inside it)
LOCK = threading.RLock()


@contextlib.contextmanager
def seeded(seed: int, device_type: str = "cpu", modules: tuple[str, ...] = ()) -> Iterator[None]:
    """Within the block this thread alone uses the global generators (:data:`LOCK`), numpy's and (when imported)
    torch's CPU generator seeded with `seed`, and for a fit on ``cuda`` every CUDA device's too (``mps``: Apple's,
    seeded, not given back); on leaving, they hold the caller's state again, Python's ``random`` and the
    ``PYTHONHASHSEED`` variable too (PyOD's deep models seed and set both). A CPU fit leaves CUDA's generators
    alone (``torch.manual_seed`` would reseed them, or queue the seed for when CUDA starts). `modules` (``"torch"``)
    are imported first where installed, so that a model importing them inside the block has their state kept."""
    for module in modules:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    torch = sys.modules.get("torch")
    with LOCK, _python_state_kept():
        devices = list(range(torch.cuda.device_count())) if torch is not None and device_type == "cuda" else []
        forked = torch.random.fork_rng(devices=devices) if torch is not None else contextlib.nullcontext()
        with forked:
            state = np.random.get_state()
            np.random.seed(seed % 2**32)
            if torch is not None:
                torch.default_generator.manual_seed(seed)
                if devices:
                    torch.cuda.manual_seed_all(seed)
                if device_type == "mps":
                    torch.mps.manual_seed(seed)
            try:
                yield
            finally:
                np.random.set_state(state)


@contextlib.contextmanager
def _python_state_kept() -> Iterator[None]:
    """Python's ``random`` state and ``PYTHONHASHSEED`` as they were, on leaving."""
    state, hashseed = random.getstate(), os.environ.get("PYTHONHASHSEED")
    try:
        yield
    finally:
        random.setstate(state)
        if hashseed is None:
            os.environ.pop("PYTHONHASHSEED", None)
        else:
            os.environ["PYTHONHASHSEED"] = hashseed
