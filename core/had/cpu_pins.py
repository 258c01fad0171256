"""The CPU pins: environment variables under which torch's and numpy's CPU libraries pick the same kernels on
every x86 CPU of the last ten years, so that a torch detector's scores repeat bit for bit from one machine to
another (``had bench --pin-cpu``; docs/user-guide.md, "The same figures on another machine").

Without them each library picks its kernels by the CPU it runs on (AVX-512 where there is AVX-512), the kernels
round differently and training carries the difference into the scores: Geo-Hgan's seed 0 gave ``z_distance``
0.231 on an AVX-512 machine and 0.176 on an AVX2 one (docs/results.md, Geo-Hgan). The pins fix ATen's own
kernels, oneDNN, OpenBLAS and numpy's loops at the AVX2 level, oneMKL at the one code branch documented to agree
across Intel and AMD CPUs (``MKL_CBWR=COMPATIBLE``), and every library at one thread (oneMKL's branch agrees for a
fixed thread count only). `benchmarks/torch_cpu_pins.py` measured them: the same scores bit for bit on an AVX-512
CPU and on an AVX2 one simulated by the same caps, at 1.1-1.2x the CPU time. Nothing pins figures across versions
of torch, numpy or their libraries, or on a GPU.

They act only when set before numpy and torch are loaded: ``had bench --pin-cpu`` sets them in the environment its
worker processes (or Ray workers) start with (:func:`environment`), never in a process that has loaded them.
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator
from pathlib import Path

from .errors import ConfigError

__all__ = ["PINS", "check_machine", "environment", "shown"]

#: the variables and their values (each read by its library when it loads)
PINS: dict[str, str] = {
    # one thread in every library: oneMKL's reproducible branch holds for a fixed thread count only
    "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_DYNAMIC": "FALSE",
    "OMP_DYNAMIC": "FALSE",
    # oneMKL (sgemm behind nn.Linear): the branch documented to give the same results on Intel and AMD CPUs
    "MKL_CBWR": "COMPATIBLE",
    # ATen's own vectorised kernels (elementwise, reductions, batch norm) and oneDNN (the convolutions) at AVX2
    "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
    # numpy: OpenBLAS's kernels as on an AVX2 CPU, and its own loops without their AVX-512 dispatch (numpy 2.4's
    # group names; an older numpy warns of a name it does not know, at import, and goes on)
    "OPENBLAS_CORETYPE": "Haswell", "NPY_DISABLE_CPU_FEATURES": "X86_V4,AVX512_ICL",
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


@contextlib.contextmanager
def environment(on: bool = True) -> Iterator[None]:
    """This process's environment with the pins set while the block runs (what a process started in it inherits:
    a ``spawn`` worker, a subprocess), then restored as it was; nothing when `on` is false. The process itself is
    not pinned by it: its libraries read the variables when they loaded."""
    if not on:
        yield
        return
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
