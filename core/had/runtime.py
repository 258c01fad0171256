"""Score an exported detector with onnxruntime alone: no torch, no plugin, no `onnx` package.

    >>> from had.runtime import OnnxScorer
    >>> scorer = OnnxScorer("model/")          # an artifact folder with model.onnx, or a .onnx file
    >>> scorer.providers                       # what the session really uses, e.g. ['CPUExecutionProvider']
    >>> scores = scorer.score(cube)            # (H, W) for a cube, (N,) for rows or images

Providers are tried in the order TensorRT, CUDA, CPU among ``onnxruntime.get_available_providers()``
(onnxruntime falls back per node in list order); ``providers`` reports the ones the session kept, since an
*available* provider may still fail to load its libraries. Inputs are streamed: rows in batches of
`batch_size`, a cube in bands of whole image rows (about `batch_size` pixels each), images in groups of about
`batch_size` pixels, so peak memory stays bounded by one batch however large the scene; a graph that holds
reference rows (KNN, KDE, a kernel SVM: metadata ``row_width``) gets batches cut so that every row's distances
to them stay within :data:`BATCH_BYTES`. Each batch is cast to
float32 on its own; the input is never copied whole. With a CUDA or TensorRT provider the batches go through
IO binding (``bind_cpu_input`` / ``bind_output`` on the device) to avoid extra host-device copies.

The export contract this reads (see :mod:`had.onnx_export` and docs/deployment.md): one input ``x``, rank 2
``(N, D)`` for rows, rank 3 ``(H, W, B)`` for a cube (outputs ``anomaly_map`` ``(H, W)`` and ``score``
``(H*W,)``), rank 4 ``(N, C, H, W)`` for images; output ``score``. A pixel-wise graph scores rows and cube
pixels alike, so rows can be fed to a cube graph and a cube to a rows graph.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from . import nodata
from .errors import ArtifactError, BandMismatchError, HadError, InvalidInputError, cut, flat_text, interrupted, shown
from .image_checks import TileFill, channels_last_error, check_pixel_convention, raster_tiles_hint
from .sklearn_compat import check_feature_names, check_not_sparse, column_names
from .validation import (as_array, check_array, feature_mismatch_fix, float32_or_refuse, image_stack_hint,
                         is_real, one_d_hint, wrong_image_size)

PROVIDER_ORDER = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
#: bytes one batch's widest intermediate may take: a graph holding reference rows (KNN, KDE, a kernel SVM)
#: computes every scored row's distance to each of them, so 65536 rows against 30,000 references took 7.5 GB
#: (quadratic: 60,000 rows of a table would not fit this 23 GB machine); batches are cut to fit
BATCH_BYTES = 256 * 2**20
#: float32 copies of that intermediate a graph may hold at once (distances, their clipped and shifted forms)
INTERMEDIATE_COPIES = 4
#: rows (or pixels) one session run takes at most on the CPU provider alone, where the graph scores each row by
#: itself: smaller runs stay in the caches (65,536 rows a run against 16,384, one thread, 5 December 2026:
#: ``rx`` on 64 bands 5.9 M against 12.1 M rows/s, the autoencoder end to end 2.85 M against 4.0 M, LREN about
#: the same; benchmarks/bench_onnx_rows.py); a scene graph with context rows (BS3LNet) keeps its wide bands, whose
#: context each run repeats
CPU_ROWS_PER_RUN = 16384
LAYOUT_BY_RANK = {2: "rows", 3: "cube", 4: "image"}
#: the ONNX types a scored output may have (had's exports: float); strings, booleans, complex numbers, sequences
#: and maps are refused when the model is opened
NUMERIC_OUTPUTS = frozenset(f"tensor({t})" for t in ("float", "double", "float16", "int8", "int16", "int32", "int64",
                                                      "uint8", "uint16", "uint32", "uint64"))
_DEVICE_PROVIDERS = {"TensorrtExecutionProvider", "CUDAExecutionProvider"}


def _count(raw: str) -> int:
    """A whole number of at least 0, as the export's metadata writes it (``str(int)``)."""
    value = int(raw)
    if value < 0:
        raise ValueError(raw)
    return value


def _spec_text(spec: Any) -> str | None:
    """An input spec as comparable text: sorted JSON without its unset (None) entries, which the manifest's schema
    fills in and the export's metadata may leave out; None for no spec."""
    if not isinstance(spec, dict):
        return None if spec is None else json.dumps(spec)
    return json.dumps({k: v for k, v in spec.items() if v is not None}, sort_keys=True, default=str)


def _short(value: Any) -> str:
    return cut(repr(value), 80)


def import_onnxruntime():
    """The onnxruntime module, or a HadError naming the extra to install."""
    try:
        import onnxruntime
    except ImportError as exc:
        if interrupted(exc):  # Ctrl-C while its extension loaded (was: "onnxruntime is not installed")
            raise KeyboardInterrupt from None
        raise HadError(
            'onnxruntime is not installed; pip install "had[onnx]" (CPU) or "had[onnx-gpu]" (CUDA/TensorRT), not both; '
            "or score with `--engine eager` where the model's plugin is installed (the core's rx: anywhere)"
        ) from None
    return onnxruntime


def default_providers(available: Sequence[str]) -> list[str]:
    """TensorRT, CUDA, CPU: those of them that are available, in that order (CPU always last)."""
    chosen = [p for p in PROVIDER_ORDER if p in available]
    return chosen or list(available)


def _model_bytes(path: Path) -> bytes:
    """The model file's bytes, which the session is built from: what was checked is what runs (and a folder
    named in Latin-1, a path onnxruntime cannot take, opens as well)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"cannot read the model {path}: {exc.strerror or exc}") from None


#: the key an ONNX tensor stored outside the model names its file by (``external_data``: a ``StringStringEntryProto``
#: whose key, a protobuf string, is stored as these bytes); onnxruntime refuses external data without it
_LOCATION = b"location"


def refuse_external_data(model: bytes, where: str = "the ONNX model") -> None:
    """An :class:`ArtifactError` when a tensor of the ONNX `model` is stored outside it (external data).

    had writes every tensor into the one file (:func:`had.onnx_export.finalize` refuses external data), so a model
    that names an external file was made or edited elsewhere: its ``location`` may be ``../../etc/passwd``, an
    absolute path or a symlink, and an onnxruntime before 1.24 read it and scored its bytes (a served model
    could send any file back to a client). Needs the ``onnx`` package (the ``onnx`` extras install it with
    onnxruntime); without it, onnxruntime's own path check is all there is."""
    if _LOCATION not in model:  # no tensor can name a file: onnxruntime reads external data by its "location"
        return  # key, whose name the serialised model would hold (so the onnx package, and its import, not needed)
    try:
        import onnx
    except ImportError:
        return
    try:
        proto = onnx.load_model_from_string(model)
    except Exception:  # not a protobuf ModelProto: onnxruntime says so in its own words below
        return
    stored_outside = onnx.TensorProto.EXTERNAL
    for tensor in _tensors(proto):
        if tensor.data_location == stored_outside or len(tensor.external_data):
            location = next((e.value for e in tensor.external_data if e.key == "location"), "another file")
            raise ArtifactError(  # `where` names the model, not the file it points to (was: the location in both)
                f"{where} stores its tensor {tensor.name!r} outside the file (external data at {location!r}); had "
                "reads only models that hold every tensor in model.onnx: export it again with `had export`")


def _tensors(proto) -> Iterator[Any]:
    """Every TensorProto of an ONNX model: initializers (sparse ones' values and indices too) and the tensors in
    node attributes, through subgraphs and functions."""
    def of_graph(graph):
        yield from graph.initializer
        for sparse in graph.sparse_initializer:
            yield sparse.values
            yield sparse.indices
        yield from of_nodes(graph.node)

    def of_nodes(nodes):
        for node in nodes:
            for attribute in node.attribute:
                if attribute.HasField("t"):
                    yield attribute.t
                yield from attribute.tensors
                if attribute.HasField("sparse_tensor"):
                    yield attribute.sparse_tensor.values
                    yield attribute.sparse_tensor.indices
                if attribute.HasField("g"):
                    yield from of_graph(attribute.g)
                for graph in attribute.graphs:
                    yield from of_graph(graph)

    yield from of_graph(proto.graph)
    for function in proto.functions:
        yield from of_nodes(function.node)


class ScoringTimeout(HadError):
    """A scoring call stopped at its time limit (:meth:`OnnxScorer.score`'s ``time_limit``)."""


def limit_seconds(value: float | None) -> float | None:
    """A time limit in seconds as :meth:`OnnxScorer.score` takes it: None for None, 0 or infinity (no limit), a
    positive number as it is; NaN or a negative number is a ValueError (NaN never passed, so the watch thread
    woke without pause; infinity ended it with an OverflowError: a review)."""
    if value is None:
        return None
    value = float(value)
    if not value >= 0:
        raise ValueError(f"a time limit is a number of seconds, 0 or more (0: none), not {value!r}")
    return None if value == 0 or value == math.inf else value


class _Watch:
    """One daemon thread, started on first need, that sets ``terminate`` on the ``RunOptions`` of session runs
    whose deadline has passed (:meth:`OnnxScorer._run_options`). Was a thread per run: ~1 ms a run (started and
    waited for), as long as a whole ``had serve`` request of a few rows. The thread wakes at the earliest
    deadline, or when a run with an earlier one is added; a run that ends first is only taken off the list."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._runs: dict[int, tuple[float, Any]] = {}
        self._next = 0
        self._thread: threading.Thread | None = None

    def add(self, options: Any, deadline: float) -> int:
        """Watch `options` until `deadline` (``time.monotonic()``); :meth:`finish` the returned key after the run."""
        with self._changed:
            key, self._next = self._next, self._next + 1
            earliest = min((d for d, _ in self._runs.values()), default=None)
            self._runs[key] = (deadline, options)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="had-score-time-limit", daemon=True)
                self._thread.start()
            elif earliest is None or deadline < earliest:
                self._changed.notify()
        return key

    def finish(self, key: int) -> None:
        with self._changed:
            self._runs.pop(key, None)

    def _loop(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                for key, (deadline, options) in list(self._runs.items()):
                    if deadline <= now:
                        options.terminate = True
                        del self._runs[key]
                earliest = min((d for d, _ in self._runs.values()), default=None)
                self._changed.wait(None if earliest is None else min(max(0.0, earliest - now), threading.TIMEOUT_MAX))


_WATCH = _Watch()
if hasattr(os, "register_at_fork"):  # a child forked while the watch thread held its lock would wait on it for good
    os.register_at_fork(after_in_child=_WATCH.__init__)


class OnnxScorer:
    """An onnxruntime session over an exported detector (see the module docstring).

    `source`: an artifact folder holding ``model.onnx`` (its manifest and sha256 are checked), a ``.onnx``
    file, or the serialised model as bytes. `providers`: names (or ``(name, options)`` pairs) in priority
    order; default :func:`default_providers`. `io_binding`: None binds on the device when a CUDA/TensorRT
    provider is in use; True forces it (on the CPU too), False never.
    """

    def __init__(self, source: str | os.PathLike | bytes, providers: Sequence[Any] | None = None, *,
                 io_binding: bool | None = None, session_options: Any = None):
        ort = import_onnxruntime()
        self.manifest: dict[str, Any] | None = None
        #: the time limit of the scoring call running in each thread (:meth:`score`'s ``time_limit``)
        self._limits = threading.local()
        model = self._resolve(source)
        refuse_external_data(model, self._where)  # before onnxruntime opens it: had's exports hold every tensor in the file
        requested = list(providers) if providers is not None else default_providers(ort.get_available_providers())
        try:
            self.session = ort.InferenceSession(model, sess_options=session_options, providers=requested)
        except Exception as exc:  # onnxruntime's InvalidProtobuf, InvalidGraph, Fail, NoSuchFile...
            where = self._where
            detail = flat_text(exc)[:200]
            raise ArtifactError(f"{where} is not a model onnxruntime can load ({type(exc).__name__}: {detail}); "
                                "give a had model folder or its model.onnx (a model saved without one: `had "
                                "export MODEL`)") from None
        self.requested_providers = requested
        #: providers the session actually uses, best first
        self.providers: list[str] = self.session.get_providers()
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or inputs[0].name != "x":
            raise HadError(f"not a had export: inputs {[i.name for i in inputs]}, expected one input 'x'")
        self.layout = LAYOUT_BY_RANK.get(len(inputs[0].shape))
        if self.layout is None:
            raise HadError(f"not a had export: input 'x' has rank {len(inputs[0].shape)}, expected 2, 3 or 4")
        self.output_names = [o.name for o in self.session.get_outputs()]
        self._output = "anomaly_map" if self.layout == "cube" else "score"
        if self._output not in self.output_names:
            raise HadError(f"not a had export: outputs {self.output_names} lack {self._output!r}")
        kind = self.session.get_outputs()[self.output_names.index(self._output)].type
        if kind not in NUMERIC_OUTPUTS:  # was: strings read as numbers where they parsed ("42.3" scored), a
            raise ArtifactError(  # ValueError traceback where not (had serve: 400 with numpy's message)
                f"{self._where}: its output {shown(self._output)} is of type {shown(kind)}, not real numbers; a had "
                "model gives float scores: export it with `had export` (or `had fit --export`)")
        self.input_spec = self._metadata_spec()
        threshold = self.metadata.get("threshold")
        if self.manifest is not None:
            self._same_model()
            self._same_threshold(self.manifest.get("threshold"), threshold)
            threshold = self.manifest.get("threshold", threshold)
            self.input_spec = self.manifest.get("input_spec") or self.input_spec
        if not isinstance(self.input_spec, dict):
            raise ArtifactError(f"the model's input_spec is {self.input_spec!r}, not an object; re-export it")
        self.threshold: float | None = None if threshold is None else self._threshold(threshold)
        self.pixelwise = self._metadata_value("pixelwise", {"true": True, "false": False}.__getitem__, True)
        #: the fill value whose pixels the graph scores NaN (:mod:`had.nodata`), None for most models
        self.fill_value = self._metadata_value("nodata", float, None) if self.metadata.get("nodata") else None
        #: the fewest pixels in H and W a whole-scene graph runs on (BS3LNet: 2); 0 where it says none
        self.min_extent = self._metadata_count("min_extent")
        #: images cut from a raster with a declared no-data value: tiles holding more no-data pixels than the share
        #: they were tiled with score NaN, as ``had score`` leaves them out (:class:`had.image_checks.TileFill`,
        #: from the tiling record of the input spec); None for other models and models saved before it was kept
        self.tile_fill = TileFill.of_spec(self.input_spec) if self.layout == "image" else None
        if self.tile_fill is not None and self.fill_value is None:
            self.fill_value = self.tile_fill.value  # the raster's value, as /health says it
        self.n_features = self._n_features(inputs[0].shape)
        #: (height, width) the graph takes images of; None where they are dynamic axes (or not images)
        dims = inputs[0].shape[2:] if self.layout == "image" else ()
        self.image_size = tuple(dims) if len(dims) == 2 and all(isinstance(d, int) for d in dims) else None
        #: the graph's widest constant (its reference rows: :meth:`max_batch`); 0 for exports before it
        self.row_width = self._metadata_count("row_width")
        #: rows of context a tile needs (a scene-wide network's receptive radius; had.tiling.score_tiles)
        self.context_rows = self._metadata_count("context_rows")
        on_device = bool(_DEVICE_PROVIDERS.intersection(self.providers))
        self.io_binding = on_device if io_binding is None else bool(io_binding)
        self._bind_device = "cuda" if on_device else "cpu"

    # ---- construction ------------------------------------------------------------------------------
    def _resolve(self, source) -> bytes:
        """The model's bytes (``self._where`` says where from, for messages)."""
        self._where = "the model bytes"
        if isinstance(source, (bytes, bytearray)):
            return bytes(source)
        path = Path(source)
        if path.is_dir():
            from .artifact import ONNX, read_manifest

            self.manifest = read_manifest(path)
            if ONNX not in self.manifest.get("files", {}) and (path / ONNX).exists():  # was: "has no model.onnx"
                raise HadError(f"{path / ONNX} is not listed in {path}'s manifest (its files and their sha256), so "
                               f"it is not read: export the model again with `had export {path}` where its "
                               "detector's plugin is installed")
            if ONNX not in self.manifest.get("files", {}):
                dist = shown(self.manifest.get("distribution") or "had")  # the core's rx exports with had[onnx] alone
                raise HadError(f"{path} has no {ONNX}; export it first with `had export {path}`" + (
                    "" if dist == "had" else f" where its detector's plugin {dist} is installed (torch too, for a "
                    "deep model), then copy the folder here"))
            path = path / ONNX
        elif not path.is_file():
            raise HadError(f"no such model: {path} (pass an artifact folder or a .onnx file)")
        self._where = str(path)
        return _model_bytes(path)

    def _metadata_value(self, key: str, parse, default):
        """The export's metadata value `key` read by `parse`, `default` where absent; an :class:`ArtifactError` where
        `parse` fails on it (was: a ValueError traceback in had score and had serve for ``nodata="abc"``, and at
        every scored batch for a scene graph's ``min_extent="abc"``; ``pixelwise="abc"`` read as true)."""
        if key not in self.metadata:
            return default
        raw = self.metadata[key]
        try:
            return parse(raw)
        except (KeyError, TypeError, ValueError, OverflowError):
            raise ArtifactError(f"{self._where}: its metadata's {key} is {raw[:60]!r}, which had does not write (it "
                                "was edited); export the model again with `had export`") from None

    def _metadata_count(self, key: str) -> int:
        """A whole number the export's metadata records (``row_width``, ``context_rows``, ``min_extent``); 0 when
        absent. Was: 0 for a value that is not a whole number (an edited ``row_width`` unbounded the batches)."""
        return self._metadata_value(key, _count, 0)

    def _same_model(self) -> None:
        """An :class:`ArtifactError` when the folder's model.onnx is not the export of its manifest's model: another
        detector, another fit (training data), another input spec (the metadata an export records beside the
        threshold, :func:`had.onnx_export.metadata`). Was: only the threshold was compared, so another detector's
        model.onnx of the same threshold, copied in with its sha256, scored other numbers than the eager engine, and
        an edited input_spec (n_features, kind) was ignored by the onnx engine where the eager engine refused it."""
        ours, theirs = self.manifest, self.metadata
        graph_spec = self._metadata_spec() if "input_spec" in theirs else None
        pairs = {"detector": (ours.get("detector"), theirs.get("detector")),
                 "training_data_sha256": (ours.get("training_data_sha256"), theirs.get("training_data_sha256")),
                 "input_spec": (_spec_text(ours.get("input_spec")), _spec_text(graph_spec))}
        differ = [key for key, (a, b) in pairs.items() if a is not None and b is not None and a != b]
        if differ:
            folder = Path(self._where).parent
            said = "; ".join(f"{key} {_short(pairs[key][0])} in manifest.json, {_short(pairs[key][1])} in model.onnx"
                             for key in differ)
            raise ArtifactError(f"{folder}: its model.onnx is not this model's ({said}): one of them was edited or "
                                f"copied from another model; export it again with `had export {folder}` (or restore "
                                "both files from a copy)")

    def _metadata_spec(self) -> dict:
        """The export's input spec (its metadata's ``input_spec``), its keys checked as the manifest's are
        (:func:`had.manifest.check_spec`; was: unchecked, ``value_range: 5`` a TypeError traceback at scoring)."""
        from .manifest import check_spec, loads

        raw = self.metadata.get("input_spec") or "null"
        fix = "export the model again with `had export`"
        # not JSON, or a number past Python's 4,300-digit limit (was: a ValueError traceback)
        spec = loads(raw, f"{self._where}: the model's input_spec metadata", fix)
        if isinstance(spec, dict):  # another JSON value: said by the caller ("not an object")
            check_spec(spec, f"{self._where}: its ONNX metadata is invalid", fix)
        return spec or {}

    def _same_threshold(self, manifest_value, onnx_value) -> None:
        """An :class:`ArtifactError` when the folder's manifest.json and its model.onnx's metadata hold different
        thresholds: one of them was edited, and the folder and the bare model.onnx would label the same data
        differently (was: the manifest's used silently, 0 of 1831 rows above an edited 99 where model.onnx says 183
        above 0.689). The threshold is changed by fitting again (``--set threshold=...``) or by ``set_threshold`` and
        :func:`had.save`, never by editing a file; :func:`had.load` refuses a manifest threshold that is not the one
        saved in the weights file, so the eager engine agrees (was: it scored at the edited one)."""
        if manifest_value is None or onnx_value is None:
            return
        try:
            ours, theirs = float(manifest_value), float(onnx_value)
        except (TypeError, ValueError):
            return  # a value that is not a number: _threshold says so
        if ours == theirs or abs(ours - theirs) <= 1e-9 * max(abs(ours), abs(theirs)):
            return
        folder = Path(self._where).parent
        raise ArtifactError(
            f"{folder}: manifest.json's threshold {ours!r} differs from model.onnx's {theirs!r} (its metadata), so the "
            f"folder and the bare model.onnx would label data differently: one of them was edited (or copied from "
            f"another save); restore "
            f"manifest.json's threshold to {theirs!r} (or both files from a copy), or, where model.onnx is the one "
            f"edited, export again with `had export {folder}` (to change a threshold, fit again with --set "
            "threshold=..., or in Python: had.load, set_threshold(...), had.save; the eager engine refuses an edited "
            "manifest threshold too)")

    @staticmethod
    def _threshold(value) -> float:
        try:
            threshold = float(value)
        except (TypeError, ValueError):
            threshold = float("nan")
        if not np.isfinite(threshold):
            raise ArtifactError(f"the model's threshold is {value!r}, not a finite number; re-export it")
        return threshold

    def _n_features(self, shape: list) -> int | None:
        axis = 1 if self.layout == "image" else -1
        if isinstance(shape[axis], int):
            return shape[axis]
        return self.input_spec.get("n_features")

    # ---- scoring -----------------------------------------------------------------------------------
    def score(self, X, batch_size: int = 65536, *, time_limit: float | None = None) -> np.ndarray:
        """Anomaly scores (float64): ``(N,)`` for rows or images, ``(H, W)`` for a cube.

        `time_limit`: seconds the call may take (None: as long as it takes). Beyond them the session run in
        progress is stopped (onnxruntime's ``RunOptions.terminate``, which it acts on between nodes and a
        ``Loop``'s iterations) and :class:`ScoringTimeout` raised: ``had serve``'s ``--score-timeout`` (a graph
        whose ``Loop`` ran as long as its trip count said held the server's one scoring slot for good, an
        artifact probe of 7 December 2026)."""
        time_limit = limit_seconds(time_limit)
        if time_limit is None:
            return self._scores(X, batch_size)
        self._limits.limit, self._limits.deadline = time_limit, time.monotonic() + time_limit
        try:
            return self._scores(X, batch_size)
        finally:
            self._limits.deadline = None

    decision_function = score

    def _scores(self, X, batch_size: int) -> np.ndarray:
        X = self._check(X)
        batch_size = max(1, int(batch_size))
        if X.ndim == 4:
            per_image = int(np.prod(X.shape[2:]))
            return self._stream_rows(X, max(1, min(batch_size // per_image, self.max_batch())))
        batch_size = min(batch_size, self.max_batch())
        if (X.ndim == 2 or self.layout != "cube" or self.pixelwise) and not _DEVICE_PROVIDERS.intersection(self.providers):
            batch_size = min(batch_size, CPU_ROWS_PER_RUN)  # a row's score is its own (to float32 rounding: a
            # kernel may vectorise a batch's rows differently, ~1e-7 relative): runs the caches hold
        if X.ndim == 2:
            return self._stream_rows(X, batch_size)
        rows = max(1, batch_size // X.shape[1])
        if self.layout == "cube" and not self.pixelwise:
            if not self.context_rows:  # a scene graph that declares no receptive radius: the scene at once
                return self._run(X)
            from .tiling import bytes_for_rows, score_tiles  # bands of `rows` rows, each with its context rows

            return score_tiles(self._run, X, tile_bytes=bytes_for_rows(X.shape, rows), context=self.context_rows)
        bands = [self._run(X[i:i + rows], first=i).reshape(-1, X.shape[1]) for i in range(0, X.shape[0], rows)]
        return np.concatenate(bands, axis=0)

    def max_batch(self) -> int:
        """Samples (rows or pixels) per batch at most, so that the graph's widest intermediate (``row_width``
        values per sample, float32, a few copies) stays within :data:`BATCH_BYTES`; unbounded when unknown."""
        if not self.row_width:
            return 2**62
        return max(1, BATCH_BYTES // (self.row_width * 4 * INTERMEDIATE_COPIES))

    def predict(self, X, batch_size: int = 65536) -> np.ndarray:
        """0/1 labels at the threshold stored at export (score > threshold)."""
        if self.threshold is None:
            raise HadError("this model carries no threshold; compare `score` with your own")
        return (self.score(X, batch_size) > self.threshold).astype(np.int8)

    def _stream_rows(self, X: np.ndarray, batch: int) -> np.ndarray:
        out = np.empty(X.shape[0], dtype=np.float64)
        for i in range(0, X.shape[0], batch):
            out[i:i + batch] = self._run(X[i:i + batch], first=i).reshape(-1)
        return out

    def _run(self, batch: np.ndarray, first: int | None = None) -> np.ndarray:
        """Score one batch of the caller's kind; the graph's own layout decides how it is fed. `first`: the batch's
        first row (or sample) in the caller's data, which a message about the batch's values names."""
        if batch.ndim == 4 and self.tile_fill is not None and (left_out := self.tile_fill.left_out(batch)).any():
            # tiles of a raster holding more no-data than the model was tiled with: NaN, as had score leaves them
            # out (was: scored, -9999 read as a value: 1.46 against a threshold of 0.0057, label 1)
            out = np.full(batch.shape[0], np.nan)
            if not left_out.all():
                out[~left_out] = self._run(batch[~left_out])
            return out
        fill = None if batch.ndim == 4 else self.fill_value  # a pixel's fill: an image's pixels are not its last axis
        if not np.isfinite(nodata.unfilled(batch, fill)[0]).all():  # fill pixels: NaN by the graph, by design
            # said as the eager engine says it: how many, in which bands, whole pixels of NaN (was: one bare line)
            # a batch of the data: named by its rows, so that its counts are not read as the whole input's (was
            # "1 NaN ... of 65072", a batch's size, where the eager engine said "of 156800")
            what = "data" if first is None else f"data rows {first + 1}-{first + len(batch)} (1-based; a batch)"
            check_array(batch, what=what, fill=fill, first_row=first or 0)
            raise InvalidInputError("data holds NaN or infinite values; fill or drop them first")
        x = float32_or_refuse(batch, "the ONNX model")
        if self.layout == "cube" and x.ndim == 2:
            x = x.reshape(x.shape[0], 1, x.shape[1])  # rows as a one-column scene
        elif self.layout == "rows" and x.ndim == 3:
            x = x.reshape(-1, x.shape[-1])
        out = np.asarray(self._session_run(x), dtype=np.float64)
        samples = int(np.prod(batch.shape[:2])) if batch.ndim == 3 else batch.shape[0]
        if out.size != samples:  # one score per sample: a graph of another contract (a reduction to one value was
            raise ArtifactError(  # spread over every row by numpy's broadcasting)
                f"the ONNX model gave {out.size} value(s) of shape {tuple(out.shape)} for {samples} sample(s); a "
                "had model gives one score per sample: export it with `had export` (or `had fit --export`)")
        bad = ~np.isfinite(out).reshape(-1)
        if fill is not None and bad.any():
            bad &= ~nodata.fill_pixels(batch, fill).reshape(-1)
        if bad.any():  # NaN is never above a threshold: it would report the row as normal
            raise InvalidInputError(
                f"the model gave {int(bad.sum())} NaN or infinite score(s) on finite input: the data "
                "is outside the range float32 computes it in; rescale it as the training data was"
            )
        return out.reshape(batch.shape[:2] if batch.ndim == 3 else -1)

    def _session_run(self, x: np.ndarray) -> np.ndarray:
        options, watched = self._run_options()
        try:
            return self._run_session(x, options)
        except MemoryError:
            raise
        except Exception as exc:  # onnxruntime's Fail, RuntimeException...: the graph failed on valid input
            if options is not None and options.terminate:  # stopped at the time limit, not failed
                raise self._timed_out() from None
            detail = flat_text(exc)[:300]
            raise ArtifactError(f"the ONNX model failed while scoring a batch of shape {tuple(x.shape)} "
                                f"({type(exc).__name__}: {detail}); export it again with `had export`, or score "
                                "with the eager engine (--engine eager)") from None
        finally:
            if watched is not None:
                _WATCH.finish(watched)  # the run is over: no longer watched

    def _run_options(self) -> tuple[Any, int | None]:
        """``(RunOptions, key)`` for one session run of a call with a time limit: :data:`_WATCH` sets the
        options' ``terminate`` at the call's deadline unless the run is finished first (`key`); ``(None, None)``
        without a limit. :class:`ScoringTimeout` where the deadline has passed already (between batches)."""
        deadline = getattr(self._limits, "deadline", None)
        if deadline is None:
            return None, None
        left = deadline - time.monotonic()
        if left <= 0:
            raise self._timed_out()
        options = import_onnxruntime().RunOptions()
        options.log_severity_level = 4  # onnxruntime's own "terminate flag" error line: ScoringTimeout says it
        return options, _WATCH.add(options, deadline)

    def _timed_out(self) -> ScoringTimeout:
        return ScoringTimeout(f"scoring took longer than its limit of {self._limits.limit:g} s and was stopped")

    def _run_session(self, x: np.ndarray, options: Any = None) -> np.ndarray:
        index = self.output_names.index(self._output)
        if not self.io_binding:
            return self.session.run([self._output], {"x": x}, options)[0]
        binding = self.session.io_binding()
        binding.bind_cpu_input("x", x)
        for name in self.output_names:
            binding.bind_output(name, self._bind_device)
        self.session.run_with_iobinding(binding, options)
        return binding.copy_outputs_to_cpu()[index]

    def _check(self, X) -> np.ndarray:
        check_not_sparse(X)  # was: "expected rows ... got shape ()", as the eager engine says it now
        self._check_columns(column_names(X))
        X = as_array(X)
        if X.ndim not in LAYOUT_BY_RANK:
            raise InvalidInputError(
                f"expected rows (N, D), a cube (H, W, B) or images (N, C, H, W); got shape {X.shape}"
                f"{one_d_hint(X.shape)}")
        if X.size == 0:
            raise InvalidInputError(f"data is empty (shape {X.shape})")
        if not is_real(X.dtype):
            raise InvalidInputError(f"data has dtype {X.dtype}; pass real numbers")
        if (X.ndim == 4) != (self.layout == "image"):
            hint = ""
            if X.ndim == 3 and self.layout == "image":  # a raster given to a model of its tiles (Geo-Hgan), else
                hint = raster_tiles_hint(self.input_spec, X.shape) or image_stack_hint(X.shape)  # a grey stack
            raise InvalidInputError(f"this model scores {self.layout} data, got an array of shape {X.shape}{hint}")
        if self.layout == "cube" and not self.pixelwise:  # a whole-scene graph (BS3LNet): a pixel's score needs its
            name = shown(self.metadata.get("detector") or "this model")  # neighbours; was onnxruntime's error log, then
            if X.ndim == 2:  # "export it again or score eagerly" (had serve: 500)
                raise InvalidInputError(f"{name} scores whole scenes (H, W, B), its pixels' scores depending on their "
                                        f"neighbours; got rows of shape {X.shape}: send the scene as a cube")
            low = self.min_extent
            if min(X.shape[:2]) < low:
                raise InvalidInputError(f"{name} needs a scene of at least {low} x {low} pixels; got "
                                        f"{X.shape[0]} x {X.shape[1]}")
        fitted = self.input_spec.get("sample_shape")
        if X.ndim == 4 and isinstance(fitted, (list, tuple)) and list(X.shape[1:]) != list(fitted):  # channels-last
            if (error := channels_last_error(X.shape, fitted)) is not None:
                raise error
        got = X.shape[1] if X.ndim == 4 else X.shape[-1]
        if self.n_features is not None and got != self.n_features:
            unit = ("channels" if X.ndim == 4 else "bands" if self.input_spec.get("kind") == "cube" else "features")
            fix = feature_mismatch_fix(self.input_spec, self.n_features, got, unit, images=X.ndim == 4)
            raise BandMismatchError(f"fitted on {self.n_features} {unit}, got {got}; {fix}")  # as the eager engine
            # says it (was: "the model expects 188 features/bands" under had score --out, "fitted on 188 bands" else)
        if X.ndim == 4 and self.image_size is not None and X.shape[2:] != self.image_size:
            raise wrong_image_size((got, *self.image_size), X.shape[1:])  # onnxruntime's InvalidArgument, a traceback
        check_pixel_convention(self.input_spec, X)  # images in another pixel convention than the training images'
        return X

    def _check_columns(self, names: list[str] | None) -> None:
        """An :class:`InvalidInputError` where a DataFrame's column names differ from those the model was fitted on
        (said as the eager engine says it). Was: scored by position, ``df[["d", "c", "b", "a"]]`` silently."""
        if names is not None and self.input_spec.get("feature_names") is not None:
            check_feature_names(self.input_spec.get("feature_names"), names, "the model")

    def __repr__(self) -> str:
        return f"OnnxScorer(layout={self.layout!r}, providers={self.providers}, detector={self.metadata.get('detector')!r})"
