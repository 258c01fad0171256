"""The core's own plugin, registered through the same hooks: built-in metrics, RX, and `npy-file` (a bare `.npy`
array, the one data file the core reads: :mod:`had.npy_source` says why)."""

from __future__ import annotations

from .hookspecs import hookimpl
from .metrics import BUILTIN_METRICS


@hookimpl
def register_metrics(register):
    for metric in BUILTIN_METRICS:
        register(metric)


@hookimpl
def register_detectors(register):
    register("rx", "had.rx:RX",
             summary="global Reed-Xiaoli (Mahalanobis) detector, whitening form, float64 statistics, out of core")


@hookimpl
def register_datasources(register):
    register("npy-file", "had.npy_source:NpyFile",
             summary="a bare array you saved with numpy.save (.npy), optional labels in a second .npy")


@hookimpl
def source_for_path(path):
    from .npy_source import claims

    return "npy-file" if claims(path) else None
