"""Arrays from a `.mat`/`.npz` file for a data source: a known file or the user's own.

What the hsi scenes and odds tables (and their ``*-file`` sources) share: the file is located and verified (a
known file under ``HAD_DATA_DIR``, sha256-checked) or taken from the user's path, the named arrays are read, and
the provenance for ``Dataset.meta`` is built. The source then checks the arrays' shapes its own way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .datadir import KnownFile, expand_home, locate, sha256_of
from .matfile import read_arrays


def read_known(known: KnownFile, keys: list[str], description: str) -> tuple[dict[str, np.ndarray], str, dict[str, Any]]:
    """(arrays, the path as text for messages, meta) of a known file, sha256-verified."""
    path = locate(known)
    arrays = read_arrays(path, keys, sha256=known.sha256)
    return arrays, str(path), {**known.provenance(), "description": description}


def read_user(path: str | Path, keys: list[str | None]) -> tuple[dict[str, np.ndarray], Path, dict[str, Any]]:
    """(arrays, path, meta) of the user's file; `keys` that are None (an optional array not asked for) are skipped."""
    path = expand_home(path)
    arrays = read_arrays(path, [key for key in keys if key])
    return arrays, path, {"citation": "", "url": None, "path": str(path), "sha256": sha256_of(path)}
