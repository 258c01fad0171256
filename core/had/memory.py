"""Whether a piece of work fits in the memory available now, told before it is allocated: a process the kernel's
out-of-memory killer ends says nothing to its user (and may take others with it)."""

from __future__ import annotations

import functools
import os
import sys

from .atomic import size_text  # bytes in the largest binary unit they reach: "30.0 MiB", not "0.0 GiB"
from .mat_reader import available_memory  # the one reader of MemAvailable (mat_reader imports nothing from had)

__all__ = ["TRAINING_COPIES", "available_memory", "check_fits", "check_training_fits", "size_text", "tune_malloc"]

#: glibc's mallopt parameters (malloc.h) and the values :func:`tune_malloc` sets
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 * 2**20  # glibc's largest: blocks up to this come from the heap and are reused
TRIM_THRESHOLD = 256 * 2**20  # free memory at the heap's top kept for the next pass instead of given back
#: environment variables by which a user sets glibc's malloc: when any is set, :func:`tune_malloc` leaves it be
MALLOC_ENV = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_",
              "GLIBC_TUNABLES")

#: copies of the parameters that training holds: the weights, their gradients and Adam's two moments
TRAINING_COPIES = 4


def check_training_fits(who: str, count: int, itemsize: int = 4) -> None:
    """A MemoryError when training `count` parameters (:data:`TRAINING_COPIES` copies of `itemsize` bytes each)
    needs more than the memory available now: a width typed with extra zeros (``--set hidden=1000000000``) was an
    allocation the kernel granted, then a process killed by the out-of-memory killer."""
    need = TRAINING_COPIES * itemsize * int(count)
    available = available_memory()
    if available is not None and need > available:
        raise MemoryError(f"{who}: the network has {count:,} parameters, {size_text(need)} to train "
                          f"({TRAINING_COPIES} copies: weights, gradients, optimiser moments), more than the "
                          f"{size_text(available)} available; lower its sizes (--set)")


def check_fits(who: str, nbytes: int, fix: str) -> None:
    """A MemoryError when `who` needs `nbytes` and the memory available now is smaller, saying `fix`. The sizes
    are in the largest unit they reach (:func:`size_text`): in GiB alone, 30 MB against 10 MB read "needs 0.0 GiB
    and 0.0 GiB are available"."""
    available = available_memory()
    if available is not None and nbytes > available:
        raise MemoryError(f"{who} needs {size_text(nbytes)} and {size_text(available)} "
                          f"{'is' if available < 1024 else 'are'} available; {fix}")


@functools.lru_cache(maxsize=None)
def tune_malloc() -> bool:
    """Keep glibc's malloc from handing each pass's memory back to the kernel (once per process; True when set).

    By default glibc maps a block above a threshold that starts at 128 KiB afresh from the kernel and gives it
    back when freed, and returns free memory at the top of its heap above 128 KiB (both adjusted as blocks are
    freed). A detector that scores a flight line tile by tile allocates the same few-MB intermediates on every
    pass, so each pass page-faulted them in again (LREN scoring a 1 GiB line with 4096-row passes: 17.1 of its
    62.2 s in the kernel; with blocks up to 32 MiB taken from the heap and up to 256 MiB of free heap kept, 0.7
    of 43.5 s, peak memory the same: docs/scale.md). Set by ``had``'s command line and in the worker
    processes of its executors; left alone where the user set glibc's malloc through its environment variables,
    and off glibc (where it returns False)."""
    if not sys.platform.startswith("linux") or any(name in os.environ for name in MALLOC_ENV):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # glibc only: musl's mallopt does nothing
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
