"""Which checks of :mod:`had_sdk.kit` run for one detector, in order: the one list both the class suite
(:class:`had_sdk.testing.DetectorSuite`) and the ``check_detector`` fixture run, so the two cannot drift
(scikit-learn's ``_yield_all_checks`` shape).

``plan(subject)`` yields :class:`Check` s; each runs with a fresh temporary folder and returns what its check
returned (the ONNX check its export report).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from . import kit


@dataclass
class Subject:
    """A registered detector, the config the kit runs it with, and the data per kind."""

    detector: str
    config: dict[str, Any] = field(default_factory=dict)
    #: kinds to check (None: the detector's declared kinds; an undeclared one then fails, as it should)
    kinds: tuple[str, ...] | None = None
    #: ``{kind: X or (X, y)}`` replacing :func:`had_sdk.kit.make_data`; detection needs the ``y``
    data: dict[str, Any] | None = None
    n_features: int = 6
    determinism_rtol: float = 0.0
    #: ``{check id: why}``: checks known to fail (a bug to fix, scikit-learn's ``_xfail_checks``); each must
    #: fail, and one that passes is reported so that the entry is removed
    expected_failures: dict[str, str] = field(default_factory=dict)
    _fitted: dict[str, Any] = field(default_factory=dict, repr=False)

    def detector_class(self):
        from had import plugins

        if not self.detector:
            raise TypeError("set `detector = \"registered name\"`")
        return plugins.entry("detector", self.detector).load()

    def suite_kinds(self) -> tuple[str, ...]:
        return tuple(self.kinds) if self.kinds else tuple(self.detector_class().kinds)

    def suite_config(self) -> dict[str, Any]:
        """The config on the CPU (determinism is promised there) without the progress bar."""
        fields = self.detector_class().Config.model_fields
        extra = {k: v for k, v in (("device", "cpu"), ("progress", False)) if k in fields}
        return {**extra, **self.config}

    def make(self):
        import had

        return had.get_detector(self.detector, self.suite_config())

    def sample(self, kind: str) -> tuple[np.ndarray, np.ndarray | None]:
        if self.data and kind in self.data:
            value = self.data[kind]
            return value if isinstance(value, tuple) else (value, None)
        return kit.make_data(kind, self.n_features)

    def training_data(self, kind: str) -> np.ndarray:
        """What the kit fits on: the normal samples of ``sample(kind)`` for rows and images (the one-class
        setting every detector serves); the whole sample for a cube, for a transductive detector, or without y."""
        X, y = self.sample(kind)
        if y is None or kind == "cube" or self.detector_class().transductive:
            return X
        return X[np.asarray(y).reshape(-1) == 0]

    def fitted(self, kind: str):
        """A detector fitted on ``training_data(kind)``, cached per kind (checks must not mutate it)."""
        if kind not in self._fitted:
            self._fitted[kind] = self.make().fit(self.training_data(kind))
        return self._fitted[kind]


@dataclass(frozen=True)
class Check:
    id: str  # "fit_score-tabular": the pytest id
    run: Callable[[Path], Any]


def plan(s: Subject) -> Iterator[Check]:
    """Every check for `s`: metadata and config once, then per kind fit/score, per-sample scoring (and for cubes
    tile-by-tile scoring against the whole scene), detection of
    planted anomalies, determinism, save/load, ONNX and bad input, then once (on the first kind) whether a fit in
    another Python process gives the same scores, whether known labels reach the fit exactly when the detector
    declares ``uses_labels``, whether a constant feature leaves the scores finite, and whether three samples are
    fitted or refused with a typed error."""
    yield Check("metadata", lambda tmp: kit.check_metadata(s.detector_class()))
    yield Check("config", lambda tmp: kit.check_config(s.detector, s.suite_config()))
    for kind in s.suite_kinds():
        yield from _per_kind(s, kind)
    kind = s.suite_kinds()[0] if s.suite_kinds() else None  # labels reach the fit or not the same way per kind
    if kind is not None:
        yield Check(f"deterministic_process-{kind}", lambda tmp: kit.check_deterministic_across_processes(
            s.fitted(kind), s.training_data(kind), s.sample(kind)[0], s.determinism_rtol))
        yield Check(f"labels-{kind}", lambda tmp: kit.check_labels(s.make, *s.sample(kind), s.determinism_rtol))
        yield Check(f"constant_feature-{kind}", lambda tmp: kit.check_constant_feature(s.make, s.sample(kind)[0]))
        yield Check(f"few_samples-{kind}", lambda tmp: kit.check_few_samples(s.make, s.sample(kind)[0]))


def _per_kind(s: Subject, kind: str) -> Iterator[Check]:
    def X():
        return s.sample(kind)[0]

    yield Check(f"fit_score-{kind}", lambda tmp: kit.check_fit_score(s.make, X()))
    yield Check(f"per_sample-{kind}", lambda tmp: kit.check_per_sample(s.fitted(kind), X()))
    if kind == "cube":
        yield Check("tiles-cube", lambda tmp: kit.check_tiles(s.fitted(kind), X()))
    yield Check(f"detection-{kind}", lambda tmp: kit.check_detection(s.fitted(kind), *s.sample(kind)))
    yield Check(f"deterministic-{kind}", lambda tmp: kit.check_deterministic(s.make, X(), s.determinism_rtol))
    yield Check(f"save_load-{kind}", lambda tmp: kit.check_roundtrip(s.fitted(kind), X(), tmp / "saved"))
    yield Check(f"onnx-{kind}", lambda tmp: kit.check_export(s.fitted(kind), X(), tmp / "exported",
                                                              y=s.sample(kind)[1]))
    yield Check(f"bad_input-{kind}", lambda tmp: kit.check_bad_input(s.make, s.fitted(kind), X()))
