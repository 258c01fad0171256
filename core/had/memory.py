"""Whether a piece of work fits in the memory available now, told before it is allocated: a process the kernel's
out-of-memory killer ends says nothing to its user (and may take others with it)."""

from __future__ import annotations

from .mat_reader import available_memory  # the one reader of MemAvailable (mat_reader imports nothing from had)

__all__ = ["TRAINING_COPIES", "available_memory", "check_fits", "check_training_fits"]

#: copies of the parameters that training holds: the weights, their gradients and Adam's two moments
TRAINING_COPIES = 4


def check_training_fits(who: str, count: int, itemsize: int = 4) -> None:
    """A MemoryError when training `count` parameters (:data:`TRAINING_COPIES` copies of `itemsize` bytes each)
    needs more than the memory available now: a width typed with extra zeros (``--set hidden=1000000000``) was an
    allocation the kernel granted, then a process killed by the out-of-memory killer."""
    need = TRAINING_COPIES * itemsize * int(count)
    available = available_memory()
    if available is not None and need > available:
        raise MemoryError(f"{who}: the network has {count:,} parameters, {need / 2**30:,.1f} GiB to train "
                          f"({TRAINING_COPIES} copies: weights, gradients, optimiser moments), more than the "
                          f"{available / 2**30:,.1f} GiB available; lower its sizes (--set)")


def check_fits(who: str, nbytes: int, fix: str) -> None:
    """A MemoryError when `who` needs `nbytes` and the memory available now is smaller, saying `fix`."""
    available = available_memory()
    if available is not None and nbytes > available:
        raise MemoryError(f"{who} needs {nbytes / 2**30:,.1f} GiB and {available / 2**30:,.1f} GiB are available; "
                          f"{fix}")
