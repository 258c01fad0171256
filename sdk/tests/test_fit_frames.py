"""A torch fit leaves none of its frames, and so none of its locals, alive once it returns.

Was: every torch fit imports ``torch._dynamo`` lazily (the optimiser's step, a build under the meta device), and
that import runs ``torch.fx.wrap``, which keeps ``inspect.currentframe()`` in a local: a reference cycle holding
every frame of the stack. Imported inside a fit, it kept the fit's frames with their locals (LREN's 200,000-pixel
sample and its copies, about 400 MB on a 1 GiB line) until Python's cyclic collector ran. The SDK now imports it
on a thread of its own first (:func:`had_sdk.torch_runtime.import_dynamo_aside`). Run in a fresh process: the
import happens once per process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("had_lren")

PROBE = textwrap.dedent("""
    import gc, sys, types
    import numpy as np
    import had
    assert "torch._dynamo" not in sys.modules  # the first torch fit of this process imports it
    gc.disable()  # the collector running by chance would hide a cycle
    X = np.random.default_rng(0).normal(size=(20, 20, 8))
    detector = had.get_detector("lren", restarts=1, epochs=1, device="cpu", progress=False).fit(X)
    assert "torch._dynamo" in sys.modules
    alive = sorted({f"{o.f_code.co_filename.rsplit('/', 1)[-1]}:{o.f_code.co_name}" for o in gc.get_objects()
                    if isinstance(o, types.FrameType) and "had" in o.f_code.co_filename and "fit" in o.f_code.co_name})
    print("ALIVE", alive)
""")


def test_a_torch_fit_leaves_no_frame_of_its_own_alive():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("ALIVE"))
    assert line == "ALIVE []", line  # was: detector.py:fit, torch_detector.py:_check_network_fits, _fit
