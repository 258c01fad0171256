"""The core's own plugin: built-in metrics and classic detectors, registered through the same hooks."""

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
