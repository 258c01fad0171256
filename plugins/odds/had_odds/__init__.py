"""`had` data plugin: ODDS outlier detection tables (and ADBench's thyroid) and user tables.

Usage::

    import had, had_odds

    sorted(had_odds.TABLES)                     # the known table names
    data = had.load_dataset("cardio")           # reads odds/cardio.mat from $HAD_DATA_DIR, sha256-verified
    data.X.shape, data.y.shape                  # (1831, 21), (1831,)
    mine = had.load_dataset("table-file", path="rows.npz", x_key="features", y_key=None)

The table list (:data:`TABLES`) is imported eagerly (it is pure data); the loaders are imported on first use.
"""

from __future__ import annotations

from typing import Any

from .tables import TABLES, Table, known_files

__version__ = "0.1.0"

__all__ = ["ODDSTable", "TABLES", "Table", "TableFile", "known_files"]

_LAZY = {"ODDSTable": "sources", "TableFile": "sources"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
