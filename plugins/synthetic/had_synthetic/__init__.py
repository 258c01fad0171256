"""`had` data plugin: seeded synthetic data, no files needed.

Usage::

    import had

    scene = had.load_dataset("synthetic-scene", seed=3, abundance=0.2)   # cube (64, 64, 50), y (64, 64)
    table = had.load_dataset("synthetic-table", n_features=20)           # X (1000, 20), y (1000,)

    from had_synthetic import make_scene
    parts = make_scene(seed=3)        # also the endmembers, abundances, target spectrum and fractions

The generators are imported on first use, so that listing plugins stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["SyntheticHSIScene", "SyntheticTabular", "make_scene", "make_table"]

_LAZY = {"SyntheticHSIScene": "scene", "make_scene": "scene", "SyntheticTabular": "table", "make_table": "table"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
