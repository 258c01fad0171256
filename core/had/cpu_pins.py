"""The CPU pins: environment variables under which torch's and numpy's CPU libraries pick their AVX2 kernels on
every x86-64 CPU with AVX2, so that a torch detector's scores repeat from one such machine to another where
those kernels compute alike (``had bench --pin-cpu``; docs/user-guide.md, "The same figures on another machine").

Without them each library picks its kernels by the CPU it runs on (AVX-512 where there is AVX-512), the kernels
round differently and training carries the difference into the scores: Geo-Hgan's seed 0 gave ``z_distance``
0.231 on an AVX-512 machine and 0.176 on an AVX2 one (docs/results.md, Geo-Hgan). The pins fix ATen's own
kernels, oneDNN, OpenBLAS and numpy's loops at the AVX2 level, oneMKL at the one code branch documented to agree
across Intel and AMD CPUs (``MKL_CBWR=COMPATIBLE``), and every library at one thread (oneMKL's branch agrees for a
fixed thread count only). `benchmarks/torch_cpu_pins.py` measured them: the same scores bit for bit on an AVX-512
CPU and on an AVX2 one simulated by the same caps, at 1.1-1.2x the CPU time; no second real CPU was tried, and
oneDNN promises bitwise results only on a given CPU. Nothing pins figures across versions of torch, numpy or their
libraries, or on a GPU.

They act only when set before numpy and torch are loaded: ``had bench --pin-cpu`` sets them in the environment its
worker processes (or Ray workers) start with (:func:`environment`), never in a process that has loaded them.
"""

from __future__ import annotations

import contextlib
import os
import platform
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .errors import ConfigError

__all__ = ["PINS", "check_machine", "environment", "shown"]

def _numpy_avx512_targets(version: str) -> str:
    """numpy's AVX-512 dispatch targets, as numpy `version` names them for ``NPY_DISABLE_CPU_FEATURES``."""
    major, minor = (int(part) for part in version.split(".")[:2])
    if (major, minor) >= (2, 4):
        return "X86_V4,AVX512_ICL,AVX512_SPR"
    return "AVX512F,AVX512CD,AVX512_KNL,AVX512_KNM,AVX512_SKX,AVX512_CLX,AVX512_CNL,AVX512_ICL,AVX512_SPR"


#: the variables and their values (each read by its library when it loads)
PINS: dict[str, str] = {
    # one thread in every library: oneMKL's reproducible branch holds for a fixed thread count only
    "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_DYNAMIC": "FALSE",
    "OMP_DYNAMIC": "FALSE",
    # oneMKL (sgemm behind nn.Linear): the branch documented to give the same results on Intel and AMD CPUs
    "MKL_CBWR": "COMPATIBLE",
    # ATen's own vectorised kernels (elementwise, reductions, batch norm) and oneDNN (the convolutions) at AVX2
    "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
    # numpy: OpenBLAS's kernels as on an AVX2 CPU, and its own loops without their AVX-512 dispatch targets, as
    # this numpy names them (2.4 in groups; a name it does not dispatch on is an ImportWarning, hidden by default,
    # and nothing disabled: numpy 2.3's names under 2.4 pinned nothing); NPY_ENABLE_CPU_FEATURES empty, as numpy
    # refuses to import with both set
    "OPENBLAS_CORETYPE": "Haswell", "NPY_DISABLE_CPU_FEATURES": _numpy_avx512_targets(np.__version__),
    "NPY_ENABLE_CPU_FEATURES": "",
}


def check_machine(cpuinfo: str = "/proc/cpuinfo") -> None:
    """A :class:`ConfigError` where the pins cannot hold on this machine's CPU: not x86-64 (its libraries have no
    AVX2 kernels to pin), or, where `cpuinfo` tells, an x86-64 CPU without AVX2 (OpenBLAS forced to its Haswell
    kernels there dies of an illegal instruction). Of this machine only: a Ray cluster's are not looked at."""
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64"):
        raise ConfigError(f"the CPU pins (--pin-cpu) fix x86-64 CPUs' kernels at AVX2, and this machine is "
                          f"{platform.machine() or 'of an unknown kind'}: compare figures between machines of one CPU "
                          "kind, or run the grid on x86-64 machines")
    try:
        flags = next((line.split(":", 1)[1].split() for line in Path(cpuinfo).read_text().splitlines()
                      if line.startswith("flags")), None)
    except (OSError, UnicodeDecodeError):
        flags = None
    if flags is not None and "avx2" not in flags:
        raise ConfigError("the CPU pins (--pin-cpu) fix the kernels at AVX2, which this machine's CPU does not have "
                          "(no avx2 in /proc/cpuinfo's flags): run the grid without --pin-cpu, or on a CPU with AVX2")


def shown() -> str:
    """The pins as a shell would set them (for notes and results.md)."""
    return " ".join(f"{name}={value}" for name, value in PINS.items())


#: one block at a time sets and restores the environment (two grids run from threads of one process)
_LOCK = threading.RLock()


@contextlib.contextmanager
def environment(on: bool = True) -> Iterator[None]:
    """This process's environment with the pins set while the block runs (what a process started in it inherits:
    a ``spawn`` worker, a subprocess), then restored as it was; nothing when `on` is false. The process itself is
    not pinned by it: its libraries read the variables when they loaded. Blocks of two threads run one after the
    other (was: the second's worker could start with the first's restored environment)."""
    if not on:
        yield
        return
    with _LOCK:
        before = {name: os.environ.get(name) for name in PINS}
        os.environ.update(PINS)
        try:
            yield
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
