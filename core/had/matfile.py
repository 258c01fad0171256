"""Reading arrays from `.mat` (MATLAB 5, through scipy) and `.npz` files with clear errors."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import scipy.io

from .errors import DataFileError


def read_arrays(path: str | Path, keys: list[str]) -> dict[str, np.ndarray]:
    """The arrays `keys` from a `.mat` or `.npz` file; DataFileError for a missing file, key or a corrupt file."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"no such file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".mat":
            content = scipy.io.loadmat(path)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                content = {k: npz[k] for k in npz.files if k in keys}
                available = list(npz.files)
        else:
            raise DataFileError(f"{path}: unsupported file type {suffix!r}; use .mat (MATLAB 5) or .npz")
    except DataFileError:
        raise
    except NotImplementedError as exc:  # MATLAB 7.3 (HDF5) files
        raise DataFileError(f"{path}: {exc}; save it as MATLAB 5 (-v7) or convert it to .npz") from None
    except (ValueError, OSError, zipfile.BadZipFile, TypeError) as exc:
        raise DataFileError(f"{path} is corrupt or not a {suffix} file: {exc}") from None
    if suffix == ".mat":
        available = [k for k in content if not k.startswith("__")]
    missing = [k for k in keys if k not in content]
    if missing:
        raise DataFileError(
            f"{path} has no key {missing[0]!r}; its keys are {sorted(available)}: pass the right key name"
        )
    return {k: np.asarray(content[k]) for k in keys}


def list_keys(path: str | Path) -> list[str]:
    path = Path(path)
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                return list(npz.files)
        return [name for name, _, _ in scipy.io.whosmat(path)]
    except Exception as exc:
        raise DataFileError(f"{path} is corrupt or unreadable: {exc}") from None
