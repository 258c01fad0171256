"""What ``had score`` says of the data it scored, besides the scores: another scene than a transductive model's,
and whether metrics are on the data the model was fitted on (told by the manifest's training fingerprint,
:mod:`had.fingerprint`). :class:`ScoreNotes` says them the same way in memory (``had.cli``'s score command) and tile
by tile (:mod:`had.score_file`)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Callable

import numpy as np

from . import fingerprint, plugins, protocols
from .errors import HadError, shown


class ScoreNotes:
    """What ``had score`` says of the data it scored, in memory or tile by tile alike: another scene than a
    transductive model's (:func:`other_scene_note`), the metrics against the labels and whether they are
    on training data (:func:`training_data_note`). The data's fingerprint in the model's scheme
    (:class:`_Fingerprints`, read tile by tile: a memory map without a copy, a compressed file by row
    windows) is computed only when a note needs it: a transductive model's, or metrics printed. A scene scored
    without labels is thus read once (was: metrics on the model's own training scene printed tile by tile without
    the note the in-memory path gives)."""

    def __init__(self, model: str, dataset: str, scene: Any, settings: dict[str, Any],
                 metrics: Sequence[str] | None = None):
        self.model, self.dataset, self.scene, self.settings = model, dataset, scene, settings
        self.metrics = metrics  # what `measured` computes (``had score --metrics``; None: had.score_data's default)
        self.fingerprints = _Fingerprints(model, scene)  # reads the manifest only; the scene is hashed when asked

    def say_other_scene(self, echo: Callable[[str], None]) -> None:
        """A transductive model scoring a scene not its own: its count above the threshold means nothing here."""
        if said := other_scene_note(self.model, self.fingerprints):
            echo("  note: " + said)

    def say_share(self, flagged: int, scored: int, echo: Callable[[str], None]) -> None:
        """Far more of the data above the threshold than the model flags of its training data: said
        (:func:`share_note`)."""
        if said := share_note(self.fingerprints, flagged, scored):
            echo("  note: " + said)

    def unlabelled(self, echo: Callable[[str], None]) -> dict[str, Any]:
        """Data without labels: nothing to measure, said when metrics were named (``--metrics``; was: no word)."""
        if not self.metrics:
            return {}
        said = (f"{', '.join(self.metrics)} not measured: {self.dataset} has no labels (a scene file's: --data "
                "map_path=MASK; a raster's tiles: --data mask_path=MASK)")
        echo("  " + said)
        return {"metrics": {}, "metrics_skipped": said}

    def measured(self, truth: Any, scores: Any, echo: Callable[[str], None],
                 threshold: float | None = None) -> dict[str, Any]:
        """`scores` measured against `truth` (:func:`had.score_data.truth_metrics`; `threshold`: the model's, for
        metrics that need one), said by `echo` with the training-data note when metrics were printed; the summary's
        ``metrics``, ``metrics_skipped`` and ``metrics_note``. The scene is hashed only for that note."""
        from .score_data import SCORE_METRICS, truth_metrics

        metrics, skipped = truth_metrics(truth, scores, self.metrics or SCORE_METRICS, threshold)
        measured = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        # some measured, some not: both said (was: the skipped ones only in --json's metrics_skipped)
        echo("  " + (f"{measured}" + (f" (skipped: {skipped})" if skipped else "") if metrics
                     else f"metrics skipped: {skipped}"))
        said = (training_data_note(self.model, self.dataset, self.scene, self.settings, self.fingerprints)
                if metrics else None)
        if said:
            echo("  note: " + said)
        return {"metrics": metrics, "metrics_skipped": skipped, "metrics_note": said}


class _Fingerprints:
    """The model's training fingerprint (its manifest's ``training_data_sha256``, None when absent, and its
    scheme) and, computed once when first asked, that of the data scored in the same scheme: one pass over the
    array in memory (:mod:`had.fingerprint`)."""

    def __init__(self, model: str, data: Any):
        from .artifact import raw_manifest

        self.data = data
        manifest = raw_manifest(model) or {}  # validated by the scoring above; only these fields are read again
        self.fitted: str | None = manifest.get("training_data_sha256")
        self.scheme: str | None = fingerprint.scheme_in(manifest)
        self.detector: str | None = manifest.get("detector")
        self.recorded = manifest.get("transductive")  # saved since 5 December 2026: no class to load for it
        self.rule = (manifest.get("config") or {}).get("threshold")  # the threshold rule and contamination
        self.contamination = manifest.get("contamination")

    @functools.cached_property
    def transductive(self) -> bool:
        """Whether the model's detector fits and scores one scene (LREN, BS3LNet); False when it cannot be told.
        From the manifest's record where it has one (a model scored by onnxruntime then imports neither its
        plugin nor torch), else from the detector's class."""
        if isinstance(self.recorded, bool):
            return self.recorded
        try:
            return bool(self.detector) and plugins.entry("detector", self.detector).load().transductive
        except Exception:  # noqa: BLE001 - the scoring above loaded it; a note is never worth an error
            return False

    @functools.cached_property
    def scored(self) -> str:
        digest = self.of(self.data.X)
        c_order = isinstance(self.data.X, np.ndarray) and self.data.X.flags.c_contiguous  # both forms the same
        if self.scheme == fingerprint.PLAIN and digest != self.fitted and self.fitted and not c_order:
            # a model saved before 1 December 2026, 22:27 UTC hashed its data in C order, the later PLAIN form in
            # memory order: the same for C-order data, not for a BIL scene or a Fortran table (was: "fitted on
            # another scene" of the scene it was fitted on, an upgrade audit). One more pass, for such models only
            if fingerprint.of_data(self.data.X, scheme=fingerprint.PLAIN, c_order=True) == self.fitted:
                return self.fitted
        return digest

    def of(self, X: Any) -> str:
        """The fingerprint of `X` in the model's scheme, of its values as a fit sees them (integers as float64,
        tile by tile: :func:`had.fingerprint.of_data`; was: an integer scene's own bytes, never its model's)."""
        return fingerprint.of_data(X, scheme=self.scheme or fingerprint.BLOCKS)


def other_scene_note(model: str, fingerprints: _Fingerprints) -> str | None:
    """A note when a transductive model (LREN, BS3LNet: fitted on one scene, :attr:`had.Detector.transductive`)
    scores other data: its threshold is its own scene's, and counts above it mean nothing there (an LREN fitted on
    abu-beach-3 flagged 22,500 of abu-beach-1's 22,500 pixels, unsaid)."""
    if not fingerprints.fitted or not fingerprints.transductive or fingerprints.scored == fingerprints.fitted:
        return None
    name = shown(fingerprints.detector)  # the manifest's (refused there when it holds a newline: belt and braces)
    return (f"{name} is transductive: {model} was fitted on another scene, whose threshold it keeps, so the count "
            f"above the threshold means nothing here (the scores still rank these pixels); fit {name} on this scene "
            f"for its own (had fit {name} DATASET)")


#: a share of the scored data above the threshold at least this, and SHARE_FACTOR times what the model flags of its
#: training data, is noted (:func:`share_note`)
SHARE_FLOOR, SHARE_FACTOR = 0.5, 5.0


def share_note(fingerprints: _Fingerprints, flagged: int, scored: int) -> str | None:
    """A note when `flagged` of `scored` samples above the threshold is at least half and :data:`SHARE_FACTOR`
    times the share the model flags of its training data (its contamination, or the rule's ``fpr:A``; other rules
    say no share): data in other units, another band order or interleave, another sensor (was: 22,500 of 22,500
    pixels of a GeoTIFF of int16 x 10000 flagged by a model of reflectance, exit 0, unsaid: a flight-line probe of 7
    December 2026; the ENVI reader checks units and interleave, other formats cannot). A transductive model on
    another scene has its own note (:func:`other_scene_note`)."""
    rule = fingerprints.rule
    expected = (fingerprints.contamination if rule is None else
                _fpr_of(rule) if isinstance(rule, str) and rule.startswith("fpr:") else None)
    if not scored or not isinstance(expected, (int, float)) or fingerprints.transductive:
        return None
    share = flagged / scored
    if share < max(SHARE_FLOOR, SHARE_FACTOR * expected):
        return None
    return (f"{share:.0%} of these samples are above the threshold, where the model flags {expected:.0%} of its "
            "training data: they may be in other units or another band order, layout or sensor than the data the "
            "model was fitted on; check them before reading the scores")


def _fpr_of(rule: str) -> float | None:
    try:
        return float(rule.split(":", 1)[1])
    except ValueError:
        return None


def training_data_note(model: str, dataset: str, data: Any, settings: dict[str, Any],
                       fingerprints: _Fingerprints | None = None) -> str | None:
    """A note when the scored `data` are the samples the `model` was fitted on, or hold them as their training
    part (a source's ``meta["split_index"]``: ``had score m pneumoniamnist`` with the default ``split=all``
    holds the 388 normal training images of a ``--data split=train`` model): their metrics are then on training
    data (was: AUROC 0.7247 printed there, 0.5047 on the test part, unsaid). Told by the manifest's
    ``training_data_sha256`` (:mod:`had.fingerprint`), compared with the fingerprint of the data in memory, one
    sha256 pass over the array just scored, and of the one-class training part (normal training samples) when the
    source defines one; None when neither is the model's, or the manifest has no fingerprint."""
    from .score_file import _source_fields

    fingerprints = fingerprints or _Fingerprints(model, data)
    fitted = fingerprints.fitted
    if not fitted or fingerprints.transductive:  # fitted and measured on one scene: what such a method is for
        return None
    if fingerprints.scored == fitted:
        return (f"these are the data {model} was fitted on (their fingerprint is its training_data_sha256): the "
                "metrics are on training data, not held-out data")
    if not isinstance(data.meta.get("split_index"), dict):
        return None
    try:
        part = protocols.one_class(data).train
    except HadError:
        return None
    if fingerprints.of(part.X) != fitted:
        return None
    test = " (--data split=test scores the test part alone)" if "split" in _source_fields(dataset, settings) else ""
    return (f"{data.name} holds the {part.n_samples:,} samples {model} was fitted on (the normal samples of its "
            f"training part: their fingerprint is its training_data_sha256): the metrics are partly on training "
            f"data{test}")
