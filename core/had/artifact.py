"""Safe artifacts: a fitted detector as a folder of JSON and safetensors (and ONNX), never a pickle.

Layout::

    model/
      manifest.json        format, detector, plugin distribution and version, config, input spec,
                           threshold, training data sha256, metrics, sha256 of every other file
      weights.safetensors  the detector's fitted arrays (weights, statistics, preprocessing) and training scores
      model.onnx           when exported (verified before it is written; see had.onnx_export)

Loading checks the format version, every file's sha256, and that the plugin providing the detector is
installed; each failure is an :class:`ArtifactError` naming the fix (the manifest's schema and checks:
:mod:`had.manifest`). A save writes only where nothing is, into an empty folder, or over a had artifact
(:func:`check_target`); the swap is atomic and crash-safe (:mod:`had.atomic`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import stat
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from . import fingerprint
from . import manifest as _manifest
from . import plugins
from .atomic import directory, file_in_the_way, reading
from .datadir import sha256_of
from .detector import Detector
from .data import plugin_code, plugin_failure
from .errors import (PLUGIN_FAULT, ArtifactError, ConfigError, HadError, PluginError, flat_text,
                     plugin_selection_note, shown)
from .jsonvalues import jsonable
from .manifest import FORMAT, FORMAT_VERSION, MANIFEST, ONNX, WEIGHTS

__all__ = ["FORMAT", "FORMAT_VERSION", "MANIFEST", "ONNX", "WEIGHTS", "build_manifest", "check_target", "load",
           "read_manifest", "save"]
_SCORES_KEY = "__decision_scores__"


def _registered_entry(detector: Detector) -> Any:
    """The registry entry a saved `detector` is loaded by: its name's, which must make its class. An ArtifactError
    otherwise (was: a class fitted unregistered, ``MyDet().fit(X)``, saved as "unknown detector 'my-det'; known
    detectors: ..." with every name listed, which did not say what to do; a subclass keeping its base's name was
    saved as the base, and loaded as it: a probe of 7 December 2026)."""
    name, cls = detector.name, type(detector).__name__
    fix = ("register it first: a plugin's register_detectors hook, or had.plugins.register_plugin(PLUGIN, name=...) "
           "in this process (docs/plugin-guide.md); a model is loaded by its registered name")
    if not isinstance(name, str) or name not in plugins.names("detector"):
        raise ArtifactError(f"cannot save {cls}: its name {name!r} is not a registered detector; {fix}")
    entry = plugins.entry("detector", name)
    if entry.load() is not type(detector):
        raise ArtifactError(f"cannot save {cls} as {name!r}: that name loads {entry.load().__name__}, not {cls}; "
                            f"give {cls} a name of its own and {fix}")
    return entry


def build_manifest(detector: Detector, metrics: dict[str, float] | None = None) -> dict[str, Any]:
    """The manifest of a fitted detector (files' sha256 are added by :func:`save`)."""
    detector._require_fitted()
    entry = _registered_entry(detector)
    distribution, version = plugins.plugin_version(entry.plugin)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "detector": detector.name,
        "class": f"{type(detector).__module__}:{type(detector).__qualname__}",
        "plugin": entry.plugin,
        "distribution": distribution,
        "version": version,
        "config": jsonable(detector.config.model_dump(), nonfinite_as_none=False),
        # the config fields counted as set (given by the user, or filled in by the fit: given_params says which):
        # without it a loaded model counted every field as given, and a refit of a loaded lren never took its
        # float64 fallback (which is for a gmm_float64 nobody set)
        "config_set": sorted(detector.config.model_fields_set),
        # the fields the fit filled in, as they were given ([value, whether set]): get_params() and the next fit
        # of a loaded model see what the user gave, as in memory (was: the fit's choices, taken as the user's)
        "given_params": {name: [jsonable(value, nonfinite_as_none=False), bool(was_set)]
                         for name, (value, was_set) in (getattr(detector, "given_params_", None) or {}).items()},
        "input_spec": detector.input_spec_,
        "threshold": detector.threshold_,
        "contamination": detector.contamination,
        # fitted on and for one scene (LREN, BS3LNet): read by had score's notes without loading the detector's class
        # (its plugin, torch), so a model scored by onnxruntime imports neither
        "transductive": bool(getattr(type(detector), "transductive", False)),
        "training_data_sha256": getattr(detector, "training_sha256_", None),
        "training_data_sha256_scheme": fingerprint.scheme_of(detector),
        "state_meta": _meta_of(detector),
        "metrics": jsonable(metrics or {}, nonfinite_as_none=False),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "files": {},
    }


def _meta_of(detector: Detector) -> Any:
    """The detector's ``_get_meta()`` as the manifest holds it, its failure a PluginError naming its plugin; what it
    gives is checked with the whole manifest (:func:`_check_manifest`)."""
    with plugin_code(f"the _get_meta() of {detector._who()}"):
        return jsonable(detector._get_meta(), nonfinite_as_none=False)


def _state_of(detector: Detector) -> dict[str, Any]:
    """The detector's ``_get_state()``: a PluginError naming its plugin when the call fails or gives anything but a
    dict with string keys (was: a traceback at save: AttributeError on None's ``.items``, safetensors' TypeError
    for ``{1: array}``, the NotImplementedError of a detector that does not implement saving)."""
    with plugin_code(f"the _get_state() of {detector._who()}"):
        state = detector._get_state()
    if not isinstance(state, dict) or not all(isinstance(key, str) for key in state):
        what = type(state).__name__ if not isinstance(state, dict) else "a dict whose keys are not all strings"
        raise PluginError(f"the _get_state() of {detector._who()} gave {what}, not a dict of named numpy arrays; "
                          f"{PLUGIN_FAULT} (nothing was written)")
    return state


def _check_manifest(detector: Detector, manifest: dict[str, Any]) -> None:
    """PluginError when `manifest` would not load again (JSON, then its schema, as :func:`had.manifest.read` checks
    it): checked before anything is written. Was: ``_get_meta()`` giving None saved, then refused by `had score`
    ("state_meta: Input should be a valid dictionary; re-save the model"); giving ``{"s": {1, 2}}`` a traceback."""
    from pydantic import ValidationError

    try:
        _manifest.Manifest.model_validate(json.loads(json.dumps({**manifest, "files": {WEIGHTS: "0" * 64}})))
    except (TypeError, ValueError, RecursionError) as exc:  # a ValidationError is a ValueError
        said = _manifest._one_line(exc) if isinstance(exc, ValidationError) else flat_text(exc)
        raise PluginError(f"the model of {detector._who()} would not load again ({said}); that is the plugin's "
                          "fault: report it to its authors (nothing was written)") from None


def _restore_fields_set(path: Path, detector: Detector, names: Any) -> None:
    """The config's fields counted as set, as saved (``config_set``); a model saved before it was recorded (6
    December 2026) counts every field as set, as it did."""
    if names is None:
        return
    unknown = sorted(set(names) - set(type(detector.config).model_fields))
    if unknown:
        raise ArtifactError(f"{path / MANIFEST}: config_set names {', '.join(map(shown, unknown[:5]))}, not fields of "
                            f"{detector.name}; incompatible artifact")
    object.__setattr__(detector.config, "__pydantic_fields_set__", set(names))


def _restore_given_params(path: Path, detector: Detector, given: Any) -> None:
    """The manifest's ``given_params`` back as ``detector.given_params_`` (validated as config values); an
    artifact saved before they were recorded has none, and its get_params() gives the fitted config."""
    if not given:
        return
    if not isinstance(given, dict) or not all(isinstance(v, list) and len(v) == 2 for v in given.values()):
        raise ArtifactError(f"{path / MANIFEST}: given_params is not a mapping of [value, set] pairs; incompatible "
                            "artifact")
    from .config import build_config

    try:
        as_given = build_config(type(detector.config), f"detector {detector.name}", detector.config,
                                **{name: value for name, (value, _) in given.items()})
    except HadError as exc:
        raise ArtifactError(f"{path}: its given_params do not fit {detector.name}: {flat_text(exc)}") \
            from None
    detector.given_params_ = {name: (getattr(as_given, name), bool(was_set)) for name, (_, was_set) in given.items()}


def _stored(array) -> np.ndarray:
    """An array as safetensors stores it (C-contiguous, at least 1-d: a 0-d tensor is saved with shape (1,))."""
    return np.ascontiguousarray(array)


def _nothing_written(path: Path, problem: str, fix: str) -> ArtifactError:
    return ArtifactError(f"{path} {problem}; {fix} (nothing was written)")


_RECHECKS = 20


class _ReplacedMeanwhile(Exception):
    """The folder or its manifest vanished between listing and reading: a concurrent save's swap."""


def check_target(path: str | Path) -> Path:
    """Raise :class:`ArtifactError` unless `path` may receive an artifact: nothing there, an empty folder, or
    a had artifact (its manifest's format, and no file in it that the manifest does not list).

    Never a plain file, a symlink, a folder holding other files (the data's own folder), nor the current
    folder or one above it. Called before fitting (``had fit``) and again by :func:`save` under the lock.
    """
    path = Path(os.path.abspath(path))
    for _ in range(_RECHECKS):
        try:
            return _check_target_once(path)
        except _ReplacedMeanwhile as exc:
            replaced = exc
            time.sleep(0.01)  # another process swapped the folder while it was read: look again
    raise _nothing_written(path, "keeps being replaced by another process while had reads it",
                           "let the other save finish, or choose a new folder for the artifact") from replaced


def _check_free(path: str | Path) -> Path:
    """:func:`check_target`, and an :class:`ArtifactError` where a fitted model is there now: another process saved
    one while this fit ran (two ``had fit -o SAME`` at once: was: both said "saved", the first model replaced
    without ``--overwrite`` and its run never told)."""
    checked = check_target(path)
    held = fitted_name(checked)
    if held is not None:
        raise ArtifactError(f"{path} received a fitted {held} model while this fit ran (another had fit -o into the "
                            "same folder?), and had fit replaces a model only with --overwrite: this fit's model was "
                            "not saved; fit again with -o another folder (the model there is unchanged)")
    return checked


def _check_target_once(path: Path) -> Path:
    fix = "choose a new folder for the artifact"
    with contextlib.suppress(OSError):
        here = os.path.realpath(os.getcwd())
        real = os.path.realpath(path)
        if here == real or here.startswith(real.rstrip(os.sep) + os.sep):
            raise _nothing_written(path, "is the current folder or holds it", f"{fix}, such as {path / 'model'}")
    if path.is_symlink():  # said for a save (had fit -o) and an export in place alike
        target = Path(os.path.realpath(path))  # a model, or nothing yet, will do; a folder of other files would not
        raise _nothing_written(path, "is a symbolic link, which had does not write through",
                               f"give the folder it points to ({target}) instead" if _is_artifact(target)
                               or not target.exists() else fix)
    blocker = file_in_the_way(path)
    if blocker is not None:
        raise _nothing_written(path, f"is inside {blocker}, which is a file", fix)
    if (model := artifact_above(path)) is not None:  # was: saved, and the outer model could no longer be replaced
        raise _nothing_written(path, f"is inside the saved model {model}, {OWN_FILES_ONLY}",
                               f"{fix} beside it, such as {model.parent / path.name}")
    try:  # one look (was: exists, then is_dir: another save's swap between them made its folder "a file")
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return path
    except OSError as exc:
        raise _nothing_written(path, f"cannot be looked at ({exc.strerror})", fix) from None
    if not stat.S_ISDIR(mode):
        raise _nothing_written(path, "is a file, not an artifact folder", f"{fix}; had never replaces a file")
    try:
        entries = sorted(os.listdir(path))
    except FileNotFoundError as exc:
        raise _ReplacedMeanwhile from exc
    except OSError as exc:
        raise _nothing_written(path, f"cannot be listed ({exc.strerror})", fix) from None
    if not entries:
        return path
    if MANIFEST not in entries:
        listed = ", ".join(map(shown, entries[:3])) + (", ..." if len(entries) > 3 else "")
        raise _nothing_written(path, f"holds other files ({listed}) and is not a had artifact",
                               f"{fix} or an empty folder")
    try:
        manifest = _manifest.manifest_bytes(path)
    except FileNotFoundError as exc:
        raise _ReplacedMeanwhile from exc
    except _manifest.NotRegularError:  # was: read, and a FIFO there hung had export and had fit -o for good
        raise _nothing_written(path, f"holds a {MANIFEST} that is not a regular file (a FIFO, a device or a folder), "
                               "so it is not a had artifact", f"{fix}, or remove the folder yourself if it is a "
                               "model to replace") from None
    except OSError:
        manifest = b""
    try:
        raw = json.loads(manifest)
        listed = set(raw["files"]) if raw.get("format") == FORMAT and isinstance(raw.get("files"), dict) else None
    except (ValueError, AttributeError, KeyError, TypeError, RecursionError):
        listed = None
    if listed is None:
        raise _nothing_written(path, f"holds a {MANIFEST} that is not a had artifact's",
                               f"{fix}, or remove the folder yourself if it is a model to replace")
    foreign = sorted(set(entries) - listed - {MANIFEST})
    if foreign:
        raise _nothing_written(path, f"is a had artifact but also holds {', '.join(map(shown, foreign[:3]))}, which had did "
                               "not write", f"move them out or {fix}")
    return path


def _is_artifact(folder: Path) -> bool:
    """Whether `folder` holds a had artifact: a manifest.json of had's format listing the weights, and the weights
    there (a manifest.json alone is not a model: one left in a shared /tmp would refuse every output below it)."""
    if not ((folder / MANIFEST).is_file() and (folder / WEIGHTS).is_file()):
        return False
    raw = raw_manifest(folder) or {}
    return raw.get("format") == FORMAT and WEIGHTS in (raw.get("files") or {})


#: why nothing may be written into a saved model's folder, as every refusal of it says
OWN_FILES_ONLY = "whose folder holds its own files only (a file written there stops it being exported or replaced)"


def artifact_above(path: str | Path) -> Path | None:
    """The nearest folder above `path` that is a had artifact (:func:`_is_artifact`), or None: an artifact folder
    holds its own files only, and anything written into it (a model saved in a subfolder, a map) made it a folder
    had refuses to replace or export to ("holds sub, which had did not write")."""
    return next((folder for folder in Path(os.path.abspath(path)).parents if _is_artifact(folder)), None)


def artifact_holding(path: str | Path) -> Path | None:
    """The had artifact that the folder `path` is, or lies in (:func:`artifact_above`), links followed (a link to
    a model's subfolder is inside it); None where there is none."""
    path = Path(os.path.realpath(path))
    return path if _is_artifact(path) else artifact_above(path)


def check_outside_artifacts(path: str | Path, what: str, fix: str, beside: str = "") -> None:
    """A :class:`ConfigError` when `path`, a folder a command writes files into (``had bench --out``, ``had plugin
    new --dest``), is a saved model's folder or lies in one: what it wrote there made the model one that ``had
    export`` and ``had fit --overwrite`` refuse ("holds report.html, which had did not write"). `what` names the
    folder (the option), `fix` says what to give instead, with the example folder `beside` the model. Called
    before anything is written."""
    model = artifact_holding(path)
    if model is None:
        return
    where = "is the saved model" if model == Path(os.path.realpath(path)) else "is inside the saved model"
    raise ConfigError(f"{what} {path} {where} {model}, {OWN_FILES_ONLY}; {fix}, such as {model.parent / beside} "
                      "(nothing was written)")


def raw_manifest(path: str | Path) -> dict[str, Any] | None:
    """The manifest.json of the folder `path` as parsed JSON, unchecked (for a decision made before the artifact is
    read and checked: which engine scores it, what a note says), None where there is none, it is not a regular file
    (:func:`had.manifest.manifest_bytes`) or not a JSON object. :func:`read_manifest` is the checked read."""
    try:
        text = _manifest.manifest_bytes(path)
        if len(text) > _manifest.MANIFEST_MAX_BYTES:  # not one had wrote: the checked read says so
            return None
        raw = json.loads(text)
    except (OSError, ValueError, RecursionError):
        return None
    return raw if isinstance(raw, dict) else None


def fitted_name(path: str | Path) -> str | None:
    """The detector whose had artifact is at `path` (one :func:`check_target` accepted), None where nothing is."""
    raw = raw_manifest(path)
    return None if raw is None else str(raw.get("detector") or "unnamed")


def _threshold_stamped(onnx_model: bytes, detector: Detector) -> bytes:
    """`onnx_model` with the detector's threshold and contamination in its metadata, where it was exported before a
    ``set_threshold``/``set_contamination`` (the graph is the same: labels are the scores above the metadata's
    threshold), so that the folder's manifest and its model.onnx agree (:class:`had.runtime.OnnxScorer` refuses a
    folder where they do not). Was: ``export_onnx()``, then ``set_threshold``, then ``save(onnx_model=...)``
    wrote a folder had score then refused. Unchanged without the onnx package (which an export needs)."""
    try:
        import onnx
    except ImportError:
        return onnx_model
    try:
        model = onnx.load_from_string(onnx_model)
    except Exception:  # noqa: BLE001 - not an ONNX model: the runtime says so when it is scored
        return onnx_model
    wanted = {"threshold": repr(float(detector.threshold_)), "contamination": repr(float(detector.contamination))}
    props = {p.key: p for p in model.metadata_props}
    fitted = props.get("training_data_sha256")
    if fitted is not None and fitted.value != str(getattr(detector, "training_sha256_", None)):
        # another fit's graph (exported, then fitted again): its scores are not this model's (a review found such
        # a graph stamped with this fit's threshold and accepted); a graph that does not say keeps its threshold,
        # and the runtime refuses a folder whose manifest disagrees with it
        raise ArtifactError(f"{detector.name}: the ONNX model given to save was exported from another fit (its "
                            "training data differs from this detector's); export it again from this fit "
                            "(detector.export_onnx()) and save that (nothing was written)")
    made_by = props.get("detector")
    if made_by is not None and made_by.value != str(detector.name):  # was: another detector's graph of the same
        # data stamped with this one's threshold and saved (had score: 0 flagged with onnx, 10 eager; a probe)
        raise ArtifactError(f"{detector.name}: the ONNX model given to save was exported from another detector "
                            f"({shown(made_by.value)}); export it from this one (detector.export_onnx()) and save "
                            "that (nothing was written)")
    if fitted is None or "threshold" not in props or all(
            props[k].value == v for k, v in wanted.items() if k in props):
        return onnx_model
    for key, value in wanted.items():
        if key in props:
            props[key].value = value
    return model.SerializeToString()


def not_a_detector(thing: Any, takes: str = "had.save saves") -> str:
    """Why `thing` cannot be saved as an artifact, and what to save instead (a scikit-learn pipeline or search, the
    wrapper :class:`had.sklearn_compat.WithoutLabels`); `takes` names the call refusing it ("export writes")."""
    kind = type(thing).__name__
    if hasattr(thing, "best_estimator_"):
        best = "best_estimator_.detector" if isinstance(getattr(thing.best_estimator_, "detector", None),
                                                        Detector) else "best_estimator_"  # a WithoutLabels search
        return f"{takes} one fitted had detector, not a scikit-learn {kind}: save its {best} (nothing was written)"
    if hasattr(thing, "detector") and isinstance(getattr(thing, "detector"), Detector):
        return f"{takes} one fitted had detector, not a {kind}: save its .detector (nothing was written)"
    if hasattr(thing, "steps"):
        return (f"{takes} one fitted had detector, not a scikit-learn {kind}: an artifact holds the "
                "detector alone (what had score and ONNX serving run), so save the pipeline's last step "
                "(pipe[-1]) and apply its preprocessing before scoring, or fit the detector on data preprocessed "
                "once; scikit-learn's own persistence (skops; joblib and pickle only for files you trust) keeps a "
                "whole pipeline (nothing was written)")
    return f"{takes} one fitted had detector (had.get_detector(...).fit(X)), not a {kind} (nothing was written)"


def save(detector: Detector, path: str | Path, *, onnx_model: bytes | None = None,
         metrics: dict[str, float] | None = None, replace: bool = True) -> Path:
    """Write the artifact folder atomically (see :func:`check_target` for where); returns its path. `replace`
    False: a fitted model found at `path` under the lock is refused, not replaced (:func:`_check_free`: ``had fit``
    without ``--overwrite``, whose look before the fit found none)."""
    from safetensors.numpy import save as safetensors_bytes

    path = Path(path)
    if not isinstance(detector, Detector):  # was: AttributeError 'Pipeline' object has no attribute ...
        raise ArtifactError(not_a_detector(detector))
    changed = detector.params_changed_since_fit()
    if changed:  # the config would be saved with the model of the old one (loading rebuilds it from the config)
        raise ArtifactError(f"{detector.name}: parameters set since the fit ({'; '.join(changed)}) do not describe the "
                            "fitted model; fit it again before saving, or set them back (nothing was written)")
    check_target(path)
    manifest = build_manifest(detector, metrics)
    _check_manifest(detector, manifest)
    raw_state = _state_of(detector)
    for key, value in raw_state.items():  # safetensors holds numeric arrays only: other values said before writing
        kind = getattr(value, "dtype", None)
        if not isinstance(value, np.ndarray) or kind is None or kind.kind not in "biuf":
            what = f"of type {type(value).__name__}" if not isinstance(value, np.ndarray) else f"an array of {kind}"
            raise ArtifactError(f"the {detector.name} detector's state value {key!r} is {what}, not a numeric numpy "
                                "array: safetensors stores numeric arrays only; the plugin should put other values "
                                "in _get_meta() (report it to its authors; nothing was written)")
    state = {k: _stored(v) for k, v in raw_state.items()}
    if _SCORES_KEY in state:
        raise ArtifactError(f"state key {_SCORES_KEY!r} is reserved")
    broken = sorted(k for k, v in state.items() if np.issubdtype(v.dtype, np.floating) and np.isnan(v).any())
    if broken:  # was saved, loaded and scored every sample NaN, said as "no data", exit 0
        raise ArtifactError(f"the {detector.name} detector's state holds NaN ({', '.join(broken)}): its fit broke "
                            "down; fit it again (nothing was written)")
    state[_SCORES_KEY] = np.ascontiguousarray(detector.decision_scores_)
    if onnx_model is not None:
        onnx_model = _threshold_stamped(onnx_model, detector)
    try:
        with directory(path, check=check_target if replace else _check_free) as tmp:
            # as bytes through open(): safetensors' own save_file creates the file 0600 whatever the umask
            weights = _sorted_metadata(safetensors_bytes(state, metadata={  # the threshold: _checked_threshold
                "format": FORMAT, "detector": detector.name, "threshold": repr(float(detector.threshold_)),
                **_agreement_stamps(manifest, state)}))
            (tmp / WEIGHTS).write_bytes(weights)
            if onnx_model is not None:
                (tmp / ONNX).write_bytes(onnx_model)
            manifest["files"] = {f.name: sha256_of(f) for f in sorted(tmp.iterdir())}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=False))
    except OSError as exc:
        raise ArtifactError(f"cannot write the artifact {path}: {exc.strerror or exc} "
                            "(any previous artifact there is unchanged)") from None
    return path


def _sorted_metadata(data: bytes) -> bytes:
    """safetensors bytes with their header's ``__metadata__`` keys in sorted order: safetensors writes them in the
    order of a hash map seeded per process, so two saves of one model wrote different weights files (their sha256
    in the manifest too; a read-only probe of 7 December 2026). The header keeps its length (the same keys and
    values reordered, padded with spaces as safetensors pads it); where it would not, the bytes are left as they
    are."""
    size = int.from_bytes(data[:8], "little")
    header = data[8:8 + size]
    try:
        parsed = json.loads(header)
    except ValueError:
        return data
    if not isinstance(parsed.get("__metadata__"), dict):
        return data
    parsed["__metadata__"] = dict(sorted(parsed["__metadata__"].items()))
    text = json.dumps(parsed, separators=(",", ":"), ensure_ascii=False).encode()
    if len(text) > size or len(text) != len(header.rstrip(b" ")):
        return data
    return data[:8] + text.ljust(size, b" ") + data[8 + size:]


def model_identity(path: str | Path) -> str | None:
    """What tells the fitted model saved at `path` from any other: the sha256 of its weights file, as its manifest
    lists it (a refit, even into the same folder, changes it); None where the manifest cannot be read. Maps record
    it (:func:`had.maps.scoring`), so ``had score --skip-existing`` keeps only maps of the model it is given."""
    try:  # the listing alone, unverified (was: read_manifest, which hashes every file of the model, per map)
        return str(json.loads(_manifest.manifest_bytes(path))["files"][WEIGHTS])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The validated manifest (:func:`had.manifest.read`): schema, format version, sha256 of every file."""
    with reading(path):
        return _manifest.read(path)


#: the most values of the probe data a load scores (64 MiB of float32): the manifest's shapes set its size
PROBE_VALUES = 2**24


def _check_state(path: Path, detector: Detector, saved: dict[str, np.ndarray]) -> None:
    """The arrays the rebuilt detector holds have the saved shapes and dtypes, and it scores probe data."""
    from .onnx_export import sample_input

    restored = detector._get_state()
    for key in sorted(set(saved) & set(restored)):
        got, want = _stored(restored[key]), saved[key]
        if got.shape != want.shape or got.dtype != want.dtype:
            raise ArtifactError(
                f"{path / WEIGHTS}: array {key!r} is {want.dtype}{list(want.shape)}, the rebuilt {detector.name} "
                f"holds {got.dtype}{list(got.shape)}; incompatible artifact")
    data = sample_input(detector.input_spec_, max_values=PROBE_VALUES)
    if data is None:  # one sample above the bound: no probe (the state's shapes were compared above)
        return
    try:
        with warnings.catch_warnings():  # the probe is had's, not the user's: e.g. no feature names, by design
            warnings.simplefilter("ignore")
            probe = detector.decision_function(data)
    except ArtifactError:  # the detector found its own state broken (a crafted forest: pyod's check_forest)
        raise
    except PluginError as exc:  # its code failed on the probe (Detector wraps it): the state does not fit it
        cause = exc.__cause__
        if isinstance(cause, Exception) and not isinstance(cause, HadError):
            raise ArtifactError(f"{path / WEIGHTS} does not fit the {detector.name} detector it names "
                                f"({_failure(cause)}); incompatible or tampered artifact") from None
    except HadError:
        pass  # the probe's shape is not one this detector scores; not a state problem
    except Exception as exc:  # noqa: BLE001 - any other failure is a state that does not fit the detector
        raise ArtifactError(f"{path / WEIGHTS} does not fit the {detector.name} detector it names "
                            f"({_failure(exc)}); incompatible or tampered artifact") from None
    else:
        if np.isnan(np.asarray(probe, dtype=np.float64)).any():  # a state that scores data NaN: "no data" everywhere
            raise ArtifactError(f"{path / WEIGHTS}: the {detector.name} detector it holds scores data NaN (its state "
                                "holds NaN or infinite values); a broken or tampered artifact: fit it again")


def _as_saved(path: Path, manifest: dict[str, Any], installed: str | None) -> bool:
    """Whether the artifact's weights are as had's :func:`save` wrote them (their sha256 the manifest's, checked by
    the read; had's metadata in them) for the plugin version installed: then a restore that fails is the plugin's
    failure, not the file's (weights rewritten by another tool, or saved by another version: incompatible)."""
    from safetensors import safe_open

    if manifest.get("version") and installed and installed != manifest["version"]:
        return False
    try:
        with safe_open(str(path / WEIGHTS), framework="numpy") as weights:
            written = weights.metadata() or {}
    except Exception:  # noqa: BLE001 - unreadable metadata: not as had wrote it
        return False
    return written.get("format") == FORMAT and written.get("detector") == manifest["detector"]


def _digest(value: Any) -> str:
    """sha256 of `value` as canonical JSON (sorted keys; NaN as Python's json writes it)."""
    import hashlib

    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _layout(state: dict[str, np.ndarray]) -> list[list[Any]]:
    """The state's arrays as safetensors reads them back: name, dtype (no byte order), shape (a 0-d array as (1,))."""
    return [[key, np.asarray(state[key]).dtype.name, list(np.shape(state[key])) or [1]] for key in sorted(state)]


def _agreement_stamps(manifest: dict[str, Any], state: dict[str, np.ndarray]) -> dict[str, str]:
    """What :func:`save` writes into weights.safetensors' metadata besides the threshold: digests of the manifest's
    config and state_meta (as JSON reads them back) and of the weights' own arrays (:func:`_layout`), so a restore
    that fails can tell an artifact edited since the save (the two files no longer agree:
    :func:`_disagreement`) from the plugin's own failure on what it saved."""
    rebuilt = json.loads(json.dumps({"config": manifest["config"], "state_meta": manifest["state_meta"]}))
    return {"config_sha256": _digest(rebuilt), "arrays_sha256": _digest(_layout(state))}


#: the end of a line refusing weights that the network the manifest's config builds cannot take
#: (:func:`check_saved_shapes`, and a plugin's own checks of its weights' keys)
CONFIG_DISAGREES = ("the manifest's config and the weights do not agree (edited, or written by another tool); load an "
                    "untouched copy of the model, or fit and save it again")


def check_saved_shapes(who: str, built: dict[str, tuple[int, ...]], saved: dict[str, tuple[int, ...]], *,
                       prefix: str = "", settings: str = "") -> None:
    """ArtifactError where an array of a model's saved weights (`saved`: key -> shape) has another shape than the
    network its manifest's config builds (`built`, which the caller finds on torch's ``meta`` device: nothing is
    allocated), before that network is built: an edited ``hidden=[10**7]`` allocated gigabytes before torch's "size
    mismatch". A key `saved` lacks is left to the loader; a 0-d tensor is saved as (1,), which ``load_state_dict``
    takes. `prefix`: the keys' prefix in the weights file; `settings`: the config's network settings, named in the
    line. Used by :mod:`had_sdk.torch_detector` and had-plugin-pyod's PyOD networks (was written in each)."""
    for key, shape in built.items():
        given = tuple(saved.get(key, shape))
        if given != shape and not (shape == () and given == (1,)):
            named = f" ({settings})" if settings else ""
            raise ArtifactError(f"{who}: the saved array {prefix}{key} is {'x'.join(map(str, given)) or 'a scalar'} "
                                f"where the network its config builds has {'x'.join(map(str, shape)) or 'a scalar'}"
                                f"{named}: {CONFIG_DISAGREES}")


def _disagreement(manifest: dict[str, Any], state: dict[str, np.ndarray], written: dict[str, str]) -> str | None:
    """What of the artifact is not as :func:`save` wrote it, by its stamps (:func:`_agreement_stamps`, in `written`,
    the weights' metadata): "" where it carries none (saved before 7 December 2026, 09:30 UTC: cannot tell), None
    where all agree."""
    if "config_sha256" not in written or "arrays_sha256" not in written:
        return ""
    wanted = _agreement_stamps(manifest, state)
    if written["config_sha256"] != wanted["config_sha256"]:
        return f"the config or state_meta in {MANIFEST} is not the one saved with {WEIGHTS}"
    if written["arrays_sha256"] != wanted["arrays_sha256"]:
        return f"the names, types or shapes of the arrays in {WEIGHTS} are not the ones saved"
    return None


def _weights_metadata(path: Path) -> dict[str, str]:
    """weights.safetensors' metadata ({} where there is none or it cannot be read)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path / WEIGHTS), framework="numpy") as weights:
            return dict(weights.metadata() or {})
    except Exception:  # noqa: BLE001 - unreadable metadata: none
        return {}


def _restore_failed(path: Path, detector: Detector, manifest: dict[str, Any], state: dict[str, np.ndarray],
                    written: dict[str, str], exc: BaseException, failure: HadError) -> HadError:
    """The error for a `_set_state()`/`_set_meta()` that raised `exc` on an artifact as had wrote it (its sha256 and
    had's metadata, :func:`_as_saved`): `failure` (the plugin's, or had's own defect) where its stamps say both files
    are as saved; an :class:`ArtifactError` saying they do not agree where they say otherwise, or both possibilities
    where the artifact carries no stamps. Was: a manifest edited (``config.hidden``) or weights rewritten with had's
    metadata kept, their sha256 recomputed, reported as "the plugin's fault" or "a defect of had itself"."""
    differs = _disagreement(manifest, state, written)
    fix = "load it from an untouched copy, or fit and save it again"
    if differs is None:
        return failure
    said = f"the _set_state() of {detector._who()} failed on it ({_failure(exc)})"
    if differs:
        return ArtifactError(f"{path}: its {MANIFEST} and {WEIGHTS} do not agree ({differs}: edited, or written by "
                             f"another tool), and {said}; {fix}")
    blame = str(failure).rsplit("; ", 1)[-1]  # the plugin's fault, or had's own defect (plugin_failure)
    # an older version's model the installed one no longer reads is that fault too, and the version number may not
    # tell them apart (an audit: every distribution stayed 0.1.0 while their saved states changed): when it was
    # saved, and what to do meanwhile
    created = manifest.get("created")
    day = f" on {shown(created[:10])}" if isinstance(created, str) and created else ""
    by = (f" by {shown(manifest['distribution'])} {shown(manifest['version'])}"
          if isinstance(manifest.get("distribution"), str) and isinstance(manifest.get("version"), str) else "")
    return ArtifactError(f"{path}: {said}; either its {MANIFEST} and {WEIGHTS} do not agree (edited, or written by "
                         f"another tool: {fix}), or, if the model is untouched, {blame} (it was saved{day}{by}; a "
                         f"model an older version saved that this one cannot read is that too); meanwhile fit and "
                         f"save it again")


def _failure(exc: BaseException) -> str:
    """An exception as one short phrase: its class and the first line of its message."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _no_provider(path: Path, manifest: dict[str, Any]) -> ArtifactError:
    """The error for a model whose detector name no loaded plugin provides (or whose plugin fails to import)."""
    # the manifest's strings go into messages quoted where they hold a control character (a terminal escape
    # or a newline from an edited or hostile manifest must not reach the user's terminal as it is)
    name = manifest["detector"]
    dist = shown(manifest.get("distribution") or "the plugin that provides it")
    note = plugin_selection_note(manifest.get("distribution"), name).strip(" ()")
    fix = shown(note) if note else f"install {dist} {shown(manifest.get('version') or '')}".rstrip()
    onnx = "" if note or (path / ONNX).is_file() else (  # a disabled plugin: enabling it is the fix
        f", or export it where that plugin is installed (`had export {path} DATA`) and copy the folder here, to "
        "score it with onnxruntime alone")  # a deployment host (the core only) need not take the plugin's torch
    return ArtifactError(f"{path} holds a detector named {name!r}, which no loaded plugin provides; {fix}{onnx}")


def _check_provider(path: Path, manifest: dict[str, Any], plugin: str, provider: str | None) -> None:
    """ArtifactError when the plugin now providing the manifest's detector name (`plugin`, from distribution
    `provider`) is not of the distribution that saved the model. A manifest without a distribution (older models)
    is not checked; the core's own detectors record "had". Was: the model went to the other distribution's class,
    loading without a word when config and state fitted it, else failing with an unrelated config error."""
    saved_by = manifest.get("distribution")
    if not saved_by or plugins.same_distribution(saved_by, provider):
        return
    now = f"{provider} (plugin {plugin!r})" if provider else f"plugin {plugin!r}, registered in this process"
    raise ArtifactError(f"{path} was saved by {shown(saved_by)}'s {manifest['detector']!r}; that name is now "
                        f"provided by {now}: install or enable {shown(saved_by)} (`had plugins`)")


def _stamped_threshold(path: Path) -> float | None:
    """The threshold :func:`save` wrote into weights.safetensors' metadata (None: a model saved before 7 December
    2026, or none readable)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path / WEIGHTS), framework="numpy") as weights:
            return float((weights.metadata() or {})["threshold"])
    except Exception:  # noqa: BLE001 - none, or not a number: nothing to compare
        return None


def _checked_threshold(path: Path, saved: float, stamped: float | None) -> float:
    """manifest.json's threshold (`saved`), where it is the one :func:`save` also wrote into weights.safetensors'
    metadata (`stamped`: :func:`_stamped_threshold`; a file the manifest's sha256 covers); an
    :class:`ArtifactError` where they differ: manifest.json was edited. Models saved before 7 December 2026 carry
    none: taken as before. Was: taken by the eager engine (``had score --engine eager``: 0 of 200 above an edited
    99, 20 above the saved 6.07) where the ONNX engine refused the same folder, its model.onnx holding the saved
    threshold (:meth:`had.runtime.OnnxScorer._same_threshold`). (A first fix recomputed the detector's threshold
    rule on its training scores, which refused models whose ``threshold_`` was set directly, or by a plugin's own
    rule.)"""
    if stamped is None or saved == stamped or (math.isnan(saved) and math.isnan(stamped)):
        return saved
    raise ArtifactError(
        f"{path}: manifest.json's threshold {saved!r} is not the one saved with the model, {stamped!r} (in "
        f"{WEIGHTS}): manifest.json was edited (or copied from another save); restore manifest.json's threshold to "
        f"{stamped!r} (or the folder from a copy). To change a threshold, fit again with --set threshold=... (or "
        "contamination=...), or in Python: had.load, set_threshold(...), had.save")


def load(path: str | Path) -> Detector:
    """Rebuild a fitted detector from an artifact folder (safetensors only: nothing is unpickled)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(path)
    with reading(path):
        manifest = _manifest.read(path)
        try:
            state = load_file(str(path / WEIGHTS))
        except (SafetensorError, OSError, ValueError) as exc:
            raise ArtifactError(f"{path / WEIGHTS} is corrupt: {exc}") from None
        stamped = _stamped_threshold(path)  # under the same lock: the weights of this manifest's save
        written = _weights_metadata(path)
    layout = dict(state)  # the arrays as read, the training scores included (_agreement_stamps)
    name = manifest["detector"]
    try:
        entry = plugins.entry("detector", name)
    except HadError:
        raise _no_provider(path, manifest) from None
    provider, installed = plugins.plugin_version(entry.plugin)
    _check_provider(path, manifest, entry.plugin, provider)  # before importing the other plugin's class
    try:
        cls = entry.load()
    except HadError:
        raise _no_provider(path, manifest) from None
    if manifest.get("version") and installed and installed != manifest["version"]:
        warnings.warn(
            f"{path} was saved with {shown(manifest.get('distribution'))} {shown(manifest['version'])}, "
            f"{installed} is installed; scores may differ",
            stacklevel=2,
        )
    scores = state.pop(_SCORES_KEY, None)
    if scores is None or scores.ndim != 1 or scores.size == 0 or scores.dtype.kind != "f":
        raise ArtifactError(f"{path / WEIGHTS} lacks the training scores (a non-empty float vector)")
    detector = cls.__new__(cls)
    detector.name = name  # the registered name it was saved under, set first so that config errors name it
    try:
        # a field added since the model was saved: the value it was trained with (Detector.saved_before, of the
        # fields this class has: a subclass inherits the attribute, not always the fields: lren-reference has no
        # restarts); one removed since, which did not shape the scores: dropped (Detector.removed_fields; was:
        # refused, "Extra inputs are not permitted", the model unloadable)
        detector.__init__({**{k: v for k, v in cls.saved_before.items()
                              if k not in manifest["config"] and k in cls.Config.model_fields},
                           **{k: v for k, v in manifest["config"].items() if k not in cls.removed_fields}})
    except HadError as exc:
        raise ArtifactError(f"{path}: its config does not fit {name}: {flat_text(exc)}") from None
    _restore_fields_set(path, detector, manifest.get("config_set"))
    detector.input_spec_ = manifest["input_spec"]
    detector.training_sha256_ = manifest.get("training_data_sha256")
    detector.training_sha256_scheme_ = fingerprint.scheme_in(manifest)
    try:
        detector._set_meta(manifest.get("state_meta") or {})
        detector._set_state(dict(state))
    except (Exception, SystemExit) as exc:
        failure = plugin_failure(f"the _set_state() of {detector._who()}, given the state it saved in {path},", exc)
        if failure is None:  # its own HadError, memory, Ctrl-C
            raise
        if isinstance(exc, SystemExit):
            raise failure from exc
        if _as_saved(path, manifest, installed):  # was: "does not fit the ... detector; incompatible artifact"
            raise _restore_failed(path, detector, manifest, layout, written, exc, failure) from exc
        if isinstance(exc, KeyError):
            raise ArtifactError(f"{path / WEIGHTS} lacks the array {exc}; incompatible artifact") from None
        raise ArtifactError(f"{path / WEIGHTS} does not fit the {name} detector ({_failure(exc)}); incompatible "
                            "artifact") from None
    detector.decision_scores_ = scores
    detector.threshold_ = _checked_threshold(path, float(manifest["threshold"]), stamped)
    detector.labels_ = (scores > detector.threshold_).astype(np.int8)
    detector._record_fitted_params()
    _restore_given_params(path, detector, manifest.get("given_params"))
    _check_state(path, detector, state)
    detector.artifact_path_ = path
    return detector
