"""The torch process settings a detector's fit and scoring run under: the device, the intra-op threads, CPU
determinism. Each is a function or a context manager that restores the caller's settings
(:mod:`had_sdk.torch_detector` uses them). And :func:`float32_tensor`, how a chunk of the caller's data reaches
the device."""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading

import numpy as np
import torch
import torch.utils.deterministic

from had.errors import HadError
from had.validation import float32_or_refuse


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda if available else cpu; anything else as given (a clear error if unavailable)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise HadError(f"device {name!r} requested but CUDA is not available; use device='auto' or 'cpu'")
        index, count = torch.device(name).index, torch.cuda.device_count()
        if index is not None and index >= count:
            raise HadError(f"device {name!r} requested but this machine has {count} CUDA device(s), "
                           f"cuda:0 to cuda:{count - 1}; use one of those or device='auto'")
    if name == "mps" and not (torch.backends.mps.is_built() and torch.backends.mps.is_available()):
        raise HadError("device 'mps' requested but Apple's Metal (MPS) backend is not available in this torch "
                       "or on this machine; use device='auto' or 'cpu'")
    return torch.device(name)


def import_dynamo_aside() -> None:
    """Import ``torch._dynamo`` (once per process) on a thread of its own, before a fit needs it.

    Every torch fit imports it lazily (the optimiser's step, a build under ``torch.device("meta")``), and that
    import runs ``torch.fx.wrap``, which keeps ``inspect.currentframe()`` in a local: a reference cycle holding
    every frame of the stack it was called from. Imported deep inside a fit, the cycle kept the fit's locals
    (LREN's 200,000-pixel sample, its copies, the scene's scores: about 400 MB on a 1 GiB line) alive after the
    fit returned, until Python's cyclic collector happened to run (with six restarts the first member's, through
    the other five). On a thread of its own the stack it captures is that thread's few frames."""
    if "torch._dynamo" in sys.modules:
        return
    def load() -> None:
        with contextlib.suppress(Exception):  # a torch without it: the fit imports what it needs as before
            importlib.import_module("torch._dynamo")

    thread = threading.Thread(target=load, name="had-import-torch-dynamo", daemon=True)
    thread.start()
    thread.join()


@contextlib.contextmanager
def torch_threads(n: int):
    """torch's intra-op threads set to `n`, restoring the caller's count afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def deterministic(device: torch.device):
    """Deterministic algorithms on CPU (warn-only), restoring the caller's settings afterwards.

    Without torch's filling of every new tensor's memory (``torch.utils.deterministic.fill_uninitialized_memory``,
    on by default in that mode): it only changes results of kernels that read memory they never wrote, and it was
    7% of a `lren` training step (one fill per intermediate tensor); the scores are the same bits either way."""
    if device.type != "cpu":
        yield
        return
    previous = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    fill = torch.utils.deterministic.fill_uninitialized_memory
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.utils.deterministic.fill_uninitialized_memory = False
    try:
        yield
    finally:
        torch.utils.deterministic.fill_uninitialized_memory = fill
        torch.use_deterministic_algorithms(previous, warn_only=warn_only)


def float32_of(array) -> np.ndarray:
    """`array` as float32 for a network, refusing what float32 cannot hold with one typed line
    (:func:`had.validation.float32_or_refuse`, the ONNX runtime's refusal too); NaN (no-data fill) passes."""
    return float32_or_refuse(array, "the network")


def as_tensor(array, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """`array` as a contiguous tensor of `dtype` (float32 or float64) on `device`. A read-only array (a tile
    viewed in a memory map, :func:`had.tiling.tiles`) is copied first: ``torch.from_numpy`` would share its memory
    and print a ``UserWarning`` about non-writable arrays to the user. Float32 refuses values it cannot hold
    (:func:`float32_of`)."""
    chunk = np.ascontiguousarray(array, dtype=np.float64) if dtype == torch.float64 else float32_of(array)
    return torch.from_numpy(chunk if chunk.flags.writeable else chunk.copy()).to(device)


def float32_tensor(array, device: torch.device | str = "cpu") -> torch.Tensor:
    """`array` as a contiguous float32 tensor on `device` (:func:`as_tensor`)."""
    return as_tensor(array, device)
