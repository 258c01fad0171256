"""The artifact manifest: its schema (a pydantic model) and the checks run before any listed file is opened.

Reading order, so each failure gets the message that fits it: JSON -> ``format`` -> ``format_version`` (an
integer; a newer or older version is named as such) -> the whole schema -> the types of the input spec's keys
(:func:`check_spec`, which a model.onnx's metadata gets too) -> every ``files`` entry confined to the folder ->
every file's sha256. Each failure is one :class:`~had.errors.ArtifactError` line.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError,
                      field_validator, with_config)
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from .datadir import sha256_cached
from .errors import ArtifactError, cut, shown
from .fingerprint import SCHEMES
from .nodata import FIELD as NODATA, FillValue

FORMAT = "had-artifact"
#: the version had writes. 2 (7 December 2026): ``training_data_sha256_scheme`` may be
#: ``sha256-blocks-16MiB-c-le`` (had.fingerprint), which had of version 1 refused as an invalid manifest ("re-save
#: the model", which it could not do); with 2 it says the model was written by a newer had (a review). Version 1
#: manifests are read as ever
FORMAT_VERSION = 2
#: the versions read
READS_VERSIONS = (1, 2)
MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"
ONNX = "model.onnx"
#: the largest manifest read (had writes a few KiB; a DataFrame's column names are the largest part)
MANIFEST_MAX_BYTES = 8 * 2**20

_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
Finite = Annotated[float, Field(allow_inf_nan=False)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class InputSpec(BaseModel):
    """What the detector was fitted on (``Detector.input_spec_``); the types of its other keys: :func:`check_spec`."""

    model_config = ConfigDict(extra="allow", strict=True)

    kind: Literal["tabular", "cube", "image"]
    n_features: int = Field(gt=0)
    sample_shape: list[Annotated[int, Field(gt=0)]] | None = None


Count = Annotated[int, Field(gt=0)]
Pair = Annotated[list[float], Field(min_length=2, max_length=2)]
_RANGES = re.compile(r"[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*")


def _band_ranges(text: str) -> str:
    if not _RANGES.fullmatch(text):
        raise PydanticCustomError("band_ranges", "{text} is not 1-based band ranges such as 1-50,60",
                                  {"text": cut(repr(text), 60)})
    return text


@with_config(ConfigDict(strict=True))
class _DataView(TypedDict, total=False):
    """``input_spec["data_view"]``: the data settings a scene was read with (:func:`had.cubeview.record_of`)."""

    #: 1-based ranges as :func:`had.cubeview.ranges_text` writes them ("1-2,4"): had score prints them and passes them
    #: as a setting (was: any text, a newline in it a forged output line)
    bands: Annotated[str, AfterValidator(_band_ranges)]
    of: Count
    band_names: list[str]
    nodata_any_band: bool
    tiling: dict[str, Any]


@with_config(ConfigDict(strict=True))
class _SpecTypes(TypedDict, total=False):
    """The keys of an input spec that had reads, each of the type had writes (any may be absent: a bare model.onnx's
    metadata, a model saved before the key was recorded); other keys are kept unchecked."""

    kind: Literal["tabular", "cube", "image"]
    n_features: Count
    sample_shape: list[Count] | None
    dtype: str
    feature_names: list[str] | None
    value_range: Pair | None
    required_range: Pair | None
    data_view: _DataView | None


_SPEC_TYPES = TypeAdapter(_SpecTypes)
_FILL_VALUE = TypeAdapter(FillValue)


class Manifest(BaseModel):
    """``manifest.json``; fields this had does not know are kept (a later minor version may add some)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    format: Literal["had-artifact"]
    format_version: int
    detector: Annotated[str, StringConstraints(min_length=1)]
    class_: str | None = Field(None, alias="class")
    plugin: str | None = None
    distribution: str | None = None
    version: str | None = None
    config: dict[str, Any]
    #: the config fields counted as set (absent in models saved before 6 December 2026: every field counts)
    config_set: list[Annotated[str, StringConstraints(min_length=1)]] | None = None
    input_spec: InputSpec
    threshold: Finite
    contamination: Finite | None = None
    training_data_sha256: Sha256 | None = None
    #: how training_data_sha256 was computed (had.fingerprint); absent in models saved before 5 December 2026,
    #: 11:40 UTC: the plain sha256
    training_data_sha256_scheme: Literal[SCHEMES] | None = None
    state_meta: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    created: str | None = None
    files: dict[str, Sha256]

    @field_validator("detector")
    @classmethod
    def _one_line_name(cls, name: str) -> str:
        """A name as a plugin may register it (:func:`had.plugins._name_problem`): printed in notes and errors, a
        name holding a newline forged output lines (was: ``"rx\\nwrote /tmp/FAKE (npy)"`` in had score's note)."""
        if not name.strip() or not name.isprintable():
            raise PydanticCustomError("detector_name", "{name} is not a detector name (blank, or holding a newline "
                                      "or a terminal escape)", {"name": cut(repr(name), 60)})
        return name

    @field_validator("config")
    @classmethod
    def _fill_value(cls, config: dict[str, Any]) -> dict[str, Any]:
        """``config.nodata``, the fill value every engine reads (:func:`had.nodata.of_manifest`), is a number,
        ``"nan"`` or null: checked here for the onnx engine, which builds no config (was: ``"abc"`` a ValueError
        traceback in had score; the eager engine refused it)."""
        if NODATA in config:
            try:
                _FILL_VALUE.validate_python(config[NODATA])
            except ValidationError:
                raise PydanticCustomError("fill_value", "nodata is {value}, not a number, \"nan\" or null",
                                          {"value": cut(repr(config[NODATA]), 60)}) from None
        return config


def check_spec(spec: dict[str, Any], where: str, fix: str) -> None:
    """An :class:`ArtifactError` where a key of the input `spec` that had reads is not of the type had writes
    (:class:`_SpecTypes`), for the manifest's spec and a model.onnx's metadata alike; `where` names the file, `fix`
    says what to do. Was: unchecked beyond kind, n_features and sample_shape (the ONNX metadata's not at all), so
    ``data_view.band_names: 5`` or ``value_range: ["a", "b"]`` was a TypeError traceback in scoring, and had serve
    answered 400, blaming the client."""
    try:
        _SPEC_TYPES.validate_python(spec)
    except ValidationError as exc:
        raise ArtifactError(f"{where}: {_one_line(exc, 'input_spec')}; it was edited or written by another tool: "
                            f"{fix}") from None


def loads(text: str | bytes, what: str, fix: str) -> Any:
    """``json.loads(text)``, each way it fails an :class:`ArtifactError` saying that `what` is not had's JSON and
    `fix`. Was: an integer past Python's 4,300-digit limit (``"threshold": 1000...0``) a ValueError traceback in
    had score, had.load, had serve and OnnxScorer (``had serve`` refused it in a request body already)."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ArtifactError(f"{what} is not JSON (corrupt: {type(exc).__name__}); {fix}") from None
    except ValueError:  # not a JSONDecodeError: the integer string conversion limit
        raise ArtifactError(f"{what} holds a number thousands of digits long, which had never writes: it was "
                            f"edited or written by another tool; {fix}") from None


def _one_line(exc: ValidationError, root: str = "") -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in (root, *error["loc"]) if p != "") or "manifest"
        where = shown(where)  # a key may hold a newline: one line stays one
        parts.append(f"{where}: {error['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def confined(folder: Path, name: str) -> Path:
    """``folder / name`` where `name` is a plain file name whose file (or symlink target) is inside `folder`.

    One message for every way out (absolute path, ``..``, a separator, a symlink leaving the folder), and it
    is given before anything outside is touched, so it tells nothing about files outside.
    """
    target = folder / name
    inside = bool(_PLAIN_NAME.fullmatch(name)) and name not in (".", "..")
    if inside and target.is_symlink():
        inside = os.path.dirname(os.path.realpath(target)) == os.path.realpath(folder)
    if not inside:
        raise ArtifactError(
            f"{folder}: the manifest lists {name!r}, which is not a plain file name inside the artifact folder; "
            "the artifact was tampered with: re-save it from the detector"
        )
    return target


def _check_version(mpath: Path, version: Any) -> None:
    if isinstance(version, bool) or not isinstance(version, int):
        raise ArtifactError(
            f"{mpath}: format_version is {version!r} ({type(version).__name__}), not an integer; had writes "
            f"format_version {FORMAT_VERSION} as a JSON number: the manifest was edited or written by another "
            "tool; re-save the model with had"
        )
    if version not in READS_VERSIONS:
        newer = "a newer" if version > FORMAT_VERSION else "an older"
        fix = ("upgrade had to read it" if version > FORMAT_VERSION else "load it with that version and re-save")
        raise ArtifactError(
            f"{mpath.parent} has artifact format version {version}, this had reads versions "
            f"{', '.join(map(str, READS_VERSIONS))}; it was written by {newer} had: {fix}"
        )


class NotRegularError(OSError):
    """manifest.json is not a regular file (a FIFO, a device, a folder): never opened for reading."""


def manifest_bytes(folder: str | Path) -> bytes:
    """The bytes of the manifest.json of `folder` (at most one more than :data:`MANIFEST_MAX_BYTES`):
    a :class:`NotRegularError` where it is not a regular file, looked at before it is opened and again once open
    (non-blocking: a FIFO put there meanwhile is not waited on); other ``OSError`` as the read meets them. Was: the
    unchecked reads (``had score``'s choice of engine, ``had export``'s and ``had fit -o``'s target check,
    :mod:`had.artifact`) opened it as it was, and a FIFO there hung them for good; :func:`read` reads through it
    too (it checked ``is_file()`` and then opened the file, a FIFO put there between the two waited on)."""
    mpath = Path(folder) / MANIFEST
    if not stat.S_ISREG(os.stat(mpath).st_mode):
        raise NotRegularError(f"{mpath} is not a regular file")
    fd = os.open(mpath, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularError(f"{mpath} is not a regular file")
        return handle.read(MANIFEST_MAX_BYTES + 1)


def read(path: str | Path) -> dict[str, Any]:
    """The validated manifest of the artifact at `path`, after checking every listed file's sha256."""
    path = Path(path)
    mpath = path / MANIFEST
    if not (mpath.exists() or mpath.is_symlink()):
        raise ArtifactError(f"{path} is not a had artifact (no {MANIFEST}); save one with `had fit ... -o DIR`")
    try:
        confined(path, MANIFEST)
    except ArtifactError:
        raise ArtifactError(f"{mpath} is a symlink to a file outside the artifact folder; the artifact was "
                            "tampered with: re-save it from the detector") from None
    try:
        text = manifest_bytes(path)
        if len(text) > MANIFEST_MAX_BYTES:  # JSON of {} takes ~75 bytes of memory a byte: 125 MB took 9.4 GB
            raise ArtifactError(f"{mpath} is larger than {MANIFEST_MAX_BYTES // 2**20} MiB (had writes a few KiB); "
                                "it is not a manifest had wrote: re-save the model")
    except NotRegularError:
        raise ArtifactError(f"{mpath} is not a regular file; re-save the model") from None
    except OSError as exc:
        raise ArtifactError(f"{mpath} cannot be read: {exc.strerror}") from None
    raw = loads(text, str(mpath), "re-save the model")
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ArtifactError(f"{mpath} is not a had artifact manifest (no \"format\": \"{FORMAT}\")")
    _check_version(mpath, raw.get("format_version"))
    try:
        manifest = Manifest.model_validate(raw).model_dump(by_alias=True)
    except ValidationError as exc:
        raise ArtifactError(f"{mpath} is invalid: {_one_line(exc)}; re-save the model") from None
    check_spec(raw["input_spec"], f"{mpath} is invalid", "re-save the model")
    # every name confined first, so a name leading out of the folder (in place of the weights too) is said as such
    targets = {name: confined(path, name) for name in manifest["files"]}  # all checked before any is opened
    if WEIGHTS not in manifest["files"]:
        raise ArtifactError(f"{path} has no {WEIGHTS} listed in its manifest; re-save the model")
    for name, fpath in targets.items():
        if not fpath.is_file():
            what = "is not a file" if fpath.exists() else "is missing"
            fix = (f"export it again (`had export {path}`)" if name.endswith(".onnx")
                   else "the artifact is incomplete: re-save the model")
            raise ArtifactError(f"{path}: {name} {what}; {fix}")
        if sha256_cached(fpath) != manifest["files"][name]:  # once per process for a file as it is
            raise ArtifactError(f"{fpath} does not match its sha256 in the manifest: tampered or truncated")
    return manifest
