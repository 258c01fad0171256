"""Safe artifacts: a fitted detector as a folder of JSON and safetensors (and ONNX), never a pickle.

Layout::

    model/
      manifest.json        format, detector, plugin distribution and version, config, input spec,
                           threshold, training data sha256, metrics, sha256 of every other file
      weights.safetensors  the detector's fitted arrays (weights, statistics, preprocessing) and training scores
      model.onnx           when exported (verified before it is written; see had.onnx_export)

Loading checks the format version, every file's sha256, and that the plugin providing the detector is
installed; each failure is an :class:`ArtifactError` naming the fix. Writes are atomic (:mod:`had.atomic`).
"""

from __future__ import annotations

import datetime as _dt
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from . import plugins
from .atomic import directory
from .datadir import sha256_of
from .detector import Detector
from .errors import ArtifactError, HadError, plugin_selection_note

FORMAT = "had-artifact"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"
ONNX = "model.onnx"
_SCORES_KEY = "__decision_scores__"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def build_manifest(detector: Detector, metrics: dict[str, float] | None = None) -> dict[str, Any]:
    """The manifest of a fitted detector (files' sha256 are added by :func:`save`)."""
    detector._require_fitted()
    entry = plugins.entry("detector", detector.name)
    distribution, version = plugins.plugin_version(entry.plugin)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "detector": detector.name,
        "class": f"{type(detector).__module__}:{type(detector).__qualname__}",
        "plugin": entry.plugin,
        "distribution": distribution,
        "version": version,
        "config": _jsonable(detector.config.model_dump()),
        "input_spec": detector.input_spec_,
        "threshold": detector.threshold_,
        "contamination": detector.contamination,
        "training_data_sha256": getattr(detector, "training_sha256_", None),
        "state_meta": _jsonable(detector._get_meta()),
        "metrics": _jsonable(metrics or {}),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "files": {},
    }


def save(detector: Detector, path: str | Path, *, onnx_model: bytes | None = None,
         metrics: dict[str, float] | None = None) -> Path:
    """Write the artifact folder atomically; returns its path."""
    from safetensors.numpy import save_file

    path = Path(path)
    manifest = build_manifest(detector, metrics)
    state = {k: np.ascontiguousarray(v) for k, v in detector._get_state().items()}
    if _SCORES_KEY in state:
        raise ArtifactError(f"state key {_SCORES_KEY!r} is reserved")
    state[_SCORES_KEY] = np.ascontiguousarray(detector.decision_scores_)
    with directory(path) as tmp:
        save_file(state, str(tmp / WEIGHTS), metadata={"format": FORMAT, "detector": detector.name})
        if onnx_model is not None:
            (tmp / ONNX).write_bytes(onnx_model)
        manifest["files"] = {f.name: sha256_of(f) for f in sorted(tmp.iterdir())}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=False))
    return path


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The verified manifest: format, version, and sha256 of every file."""
    path = Path(path)
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise ArtifactError(f"{path} is not a had artifact (no {MANIFEST}); save one with `had fit ... -o DIR`")
    try:
        manifest = json.loads(mpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{mpath} is corrupt: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{mpath} is not a had artifact manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path} has artifact format version {manifest.get('format_version')}, this had reads "
            f"version {FORMAT_VERSION}; load it with the had version that wrote it and re-save"
        )
    for name, digest in manifest.get("files", {}).items():
        fpath = path / name
        if not fpath.is_file():
            raise ArtifactError(f"{path} is missing {name}; the artifact is incomplete")
        if sha256_of(fpath) != digest:
            raise ArtifactError(f"{fpath} does not match its sha256 in the manifest: tampered or truncated")
    if WEIGHTS not in manifest.get("files", {}):
        raise ArtifactError(f"{path} has no {WEIGHTS} listed in its manifest")
    return manifest


def load(path: str | Path) -> Detector:
    """Rebuild a fitted detector from an artifact folder (safetensors only: nothing is unpickled)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(path)
    manifest = read_manifest(path)
    name = manifest["detector"]
    try:
        entry = plugins.entry("detector", name)
        cls = entry.load()
    except HadError:
        dist = manifest.get("distribution") or "the plugin that provides it"
        note = plugin_selection_note(manifest.get("distribution"), name).strip(" ()")
        fix = note or f"install {dist} {manifest.get('version') or ''}".rstrip()
        raise ArtifactError(f"{path} holds a {name!r} detector, which no loaded plugin provides; {fix}") from None
    _, installed = plugins.plugin_version(entry.plugin)
    if manifest.get("version") and installed and installed != manifest["version"]:
        warnings.warn(
            f"{path} was saved with {manifest.get('distribution')} {manifest['version']}, "
            f"{installed} is installed; scores may differ",
            stacklevel=2,
        )
    try:
        state = load_file(str(path / WEIGHTS))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ArtifactError(f"{path / WEIGHTS} is corrupt: {exc}") from None
    detector = cls(manifest["config"])
    detector.name = name  # the registered name it was saved under
    detector.input_spec_ = manifest["input_spec"]
    detector.training_sha256_ = manifest.get("training_data_sha256")
    scores = state.pop(_SCORES_KEY, None)
    if scores is None:
        raise ArtifactError(f"{path / WEIGHTS} lacks the training scores")
    detector._set_meta(manifest.get("state_meta") or {})
    try:
        detector._set_state(state)
    except KeyError as exc:
        raise ArtifactError(f"{path / WEIGHTS} lacks the array {exc}; incompatible artifact") from None
    detector.decision_scores_ = scores
    detector.threshold_ = float(manifest["threshold"])
    detector.labels_ = (scores > detector.threshold_).astype(np.int8)
    detector.artifact_path_ = path
    return detector
