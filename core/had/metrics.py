"""Metrics as plain functions of ``(y_true, scores)``; the :class:`Metric` wrapper names them for the registry.

Ground truth is 0/1 (1 = anomaly); scores are higher = more anomalous; maps are flattened. Everything is
vectorised (sort + searchsorted), no per-threshold Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from pydantic import Field

from .config import HadConfig, build_config
from .errors import ConfigError, InvalidInputError, LabelError
from .validation import as_array, real_numbers


def _prepare(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    """Labels as booleans and scores as float64, integer scores as they are: above 2**53 float64 merges distinct
    ones into ties (was: AUROC 0.5 where scikit-learn, which keeps them, gives 0.75)."""
    y, s = as_array(y_true, "ground truth"), as_array(scores, "scores")
    if s.dtype.kind not in "iu":
        s = real_numbers(s, "scores", allow_bool=True)
    if y.ndim > 1 and s.ndim > 1 and y.shape != s.shape:  # a map against another map of as many pixels
        raise LabelError(f"ground truth of shape {y.shape} for scores of shape {s.shape}; pass them on the same grid")
    y, s = y.reshape(-1), s.reshape(-1)
    if y.shape != s.shape:
        raise LabelError(f"{y.size} labels for {s.size} scores; pass one label per score")
    if not np.isin(np.unique(y), (0, 1)).all():
        raise LabelError("ground truth must be 0 = normal, 1 = anomaly")
    if not np.isfinite(s).all():
        raise InvalidInputError("scores hold NaN or infinite values")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise LabelError("ground truth needs both normal (0) and anomalous (1) samples for this metric")
    return y, s


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of a 1-D array, ties given the mean of their ranks (``scipy.stats.rankdata``'s default; here
    because importing scipy.stats took 1.2 s of every command that measured an AUROC: ``had fit`` and ``had score``
    on labelled data, ``had export``, every grid cell)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1], True])  # each run of ties, and the end
    mean_rank = (starts[:-1] + starts[1:] + 1) / 2.0  # of positions starts[g] .. starts[g + 1] - 1, 1-based
    ranks = np.empty(values.shape[0], dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, np.diff(starts))
    return ranks


def auroc(y_true, scores) -> float:
    """Area under the ROC curve (Mann-Whitney form, ties count one half: scikit-learn's value)."""
    y, s = _prepare(y_true, scores)
    ranks = average_ranks(s)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _descending(s: np.ndarray) -> np.ndarray:
    """The order of `s` from the highest score down, ties in their order (integers by ``~s``, which reverses
    their order without the overflow of ``-s`` for unsigned and the lowest signed ones)."""
    return np.argsort(~s if s.dtype.kind in "iu" else -s, kind="stable")


def roc_curve(y_true, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) at every distinct score, from the highest threshold down."""
    y, s = _prepare(y_true, scores)
    order = _descending(s)
    s_sorted, y_sorted = s[order], y[order]
    distinct = np.r_[np.flatnonzero(np.diff(s_sorted)), y.size - 1]
    tps = np.cumsum(y_sorted)[distinct]
    fps = (distinct + 1) - tps
    tpr = np.r_[0.0, tps / y.sum()]
    fpr = np.r_[0.0, fps / (~y).sum()]
    return fpr, tpr, np.r_[np.inf, s_sorted[distinct]]


def auprc(y_true, scores) -> float:
    """Average precision: sum over thresholds of (R_n - R_{n-1}) P_n (scikit-learn's `average_precision_score`)."""
    y, s = _prepare(y_true, scores)
    order = _descending(s)
    s_sorted, y_sorted = s[order], y[order]
    distinct = np.r_[np.flatnonzero(np.diff(s_sorted)), y.size - 1]
    tps = np.cumsum(y_sorted)[distinct]
    precision = tps / (distinct + 1)
    recall = tps / y.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


#: the trapezoidal rule: numpy 2's ``trapezoid``, numpy 1.26's ``trapz`` (had takes numpy >= 1.26; a review found
#: ``auc_pf_tau`` an AttributeError there)
_trapezoid = getattr(np, "trapezoid", None) or np.trapz


def _rate_vs_tau(y_true, scores, positives: bool, n_thresholds: int) -> float:
    """Area under P(score >= tau | class) for tau on linspace(0, 1, n) after min-max scaling (LREN's code).

    Constant scores have no min-max scaling and no curve: InvalidInputError, as for `n_thresholds` < 2. Scores
    spanning more than the float64 range are scaled without overflow (halved first).
    """
    if isinstance(n_thresholds, bool) or not isinstance(n_thresholds, (int, np.integer)) or n_thresholds < 2:
        raise InvalidInputError(f"n_thresholds must be an integer >= 2 (LREN uses 30000), got {n_thresholds!r}")
    y, s = _prepare(y_true, scores)
    lo, hi = s.min(), s.max()
    if lo == hi:
        raise InvalidInputError(
            f"every score equals {lo:.6g}; AUC against tau needs scores that vary (the detector separates nothing)"
        )
    half_span = hi / 2 - lo / 2  # halved so that hi - lo cannot overflow to inf
    s = (s / 2 - lo / 2) / half_span if half_span > 0 else (s - lo) / (hi - lo)  # (subnormal spans)
    taus = np.linspace(0.0, 1.0, int(n_thresholds))
    group = np.sort(s[y] if positives else s[~y])
    # count of group scores >= tau: inclusive threshold, as LREN's loop does
    rate = (group.size - np.searchsorted(group, taus, side="left")) / group.size
    return float(_trapezoid(rate, taus))


def auc_pf_tau(y_true, scores, n_thresholds: int = 30000) -> float:
    """AUC(Pf, tau): area under the false-alarm rate against the threshold (LREN's "FPR"; lower is better)."""
    return _rate_vs_tau(y_true, scores, positives=False, n_thresholds=n_thresholds)


def auc_pd_tau(y_true, scores, n_thresholds: int = 30000) -> float:
    """AUC(Pd, tau): area under the detection rate against the threshold (higher is better)."""
    return _rate_vs_tau(y_true, scores, positives=True, n_thresholds=n_thresholds)


def _confusion_at(y_true, scores, threshold: float) -> tuple[int, int, int]:
    y, s = _prepare(y_true, scores)
    pred = s > threshold
    return int((pred & y).sum()), int((pred & ~y).sum()), int((~pred & y).sum())


def precision_at_threshold(y_true, scores, threshold: float) -> float:
    """Precision of the labels ``score > threshold`` (0 when nothing is flagged)."""
    tp, fp, _ = _confusion_at(y_true, scores, threshold)
    return tp / (tp + fp) if tp + fp else 0.0


def recall_at_threshold(y_true, scores, threshold: float) -> float:
    """Recall of the labels ``score > threshold``."""
    tp, _, fn = _confusion_at(y_true, scores, threshold)
    return tp / (tp + fn)


def f1_at_threshold(y_true, scores, threshold: float) -> float:
    """F1 of the labels ``score > threshold``."""
    tp, fp, fn = _confusion_at(y_true, scores, threshold)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def precision_at_n(y_true, scores, n: int | None = None) -> float:
    """Precision among the `n` highest scores; `n` defaults to the number of true anomalies (ODDS convention).

    Ties at the cut are shared fractionally so the value does not depend on sort order.
    """
    y, s = _prepare(y_true, scores)
    n = int(y.sum()) if n is None else int(n)
    if not 0 < n <= y.size:
        raise InvalidInputError(f"precision@n needs 0 < n <= {y.size}, got {n}")
    cut = np.sort(s)[::-1][n - 1]
    above = s > cut
    at = s == cut
    hits = y[above].sum() + (n - above.sum()) * y[at].mean()
    return float(hits / n)


def eer(y_true, scores) -> float:
    """Equal error rate: the point where the false positive rate equals the false negative rate."""
    fpr, tpr, _ = roc_curve(y_true, scores)
    diff = fpr - (1.0 - tpr)  # rises from -1 to +1 along the curve
    i = int(np.argmax(diff >= 0))
    if i == 0 or diff[i] == 0:
        return float(fpr[i])
    t = -diff[i - 1] / (diff[i] - diff[i - 1])
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


class MetricConfig(HadConfig):
    """Metric parameters (none by default)."""


class TauConfig(MetricConfig):
    n_thresholds: int = Field(30000, ge=2, description="thresholds on linspace(0, 1, n) after min-max (LREN: 30000)")


class TopNConfig(MetricConfig):
    n: int | None = Field(None, ge=1, description="how many top scores; default the number of true anomalies")


@dataclass(frozen=True)
class Metric:
    """A named metric. `fn(y_true, scores, **params)`, or `fn(y_true, scores, threshold)` with `needs_threshold`.

    Parameters are validated by `Config` and bound with :meth:`configure`.
    """

    name: str
    fn: Callable[..., float]
    higher_is_better: bool = True
    needs_threshold: bool = False
    description: str = ""
    Config: type[MetricConfig] = MetricConfig
    params: tuple[tuple[str, Any], ...] = ()

    def configure(self, **params: Any) -> "Metric":
        """A copy with validated parameters bound."""
        config = build_config(self.Config, f"metric {self.name}", dict(self.params), **params)
        return Metric(self.name, self.fn, self.higher_is_better, self.needs_threshold, self.description,
                      self.Config, tuple(config.model_dump().items()))

    def __call__(self, y_true, scores, threshold: float | None = None) -> float:
        if self.needs_threshold:
            number = isinstance(threshold, (int, float, np.integer, np.floating)) and not isinstance(threshold, bool)
            if not number or not np.isfinite(threshold):  # a string or a bool was a numpy TypeError, or 1.0
                raise InvalidInputError(
                    f"metric {self.name!r} needs a finite threshold, got {threshold!r}; pass threshold= "
                    "(a fitted detector's threshold_)"
                )
            return float(self.fn(y_true, scores, float(threshold), **dict(self.params)))  # (were dropped here)
        return float(self.fn(y_true, scores, **dict(self.params)))


def measure(name: str, y_true: np.ndarray, scores: np.ndarray, threshold: float | None = None,
            params: dict[str, Any] | None = None) -> tuple[float | None, str | None]:
    """The metric registered as `name` of `scores` against `y_true` (`threshold`: the model's, for those that need
    one), as ``had fit``, ``had score`` and ``had bench`` measure it: ``(value, None)``, or ``(None, why)`` in one
    line when it could not be (undefined on these scores, its plugin's code failed, an OSError or MemoryError, a
    value that is not finite), never raising. The metric gets 1-D copies of its own, whatever the data's shape (was:
    a scene's (H, W) maps in a grid): one that changes what it is given (normalising in place) changes no other
    metric, nor the caller's figures."""
    from . import get_metric
    from .data import of_plugin, plugin_code
    from .errors import HadError
    from .grid import registered_metric

    registered = registered_metric(name)  # a grid's variant NAME@LABEL computes NAME
    try:
        with plugin_code(f"metric {name!r}{of_plugin('metric', registered)}"):
            metric = get_metric(registered, **(params or {}))
            value = metric(np.array(np.ravel(y_true)), np.array(np.ravel(scores)), threshold)
    except Exception as exc:
        said = str(exc) if isinstance(exc, HadError) else f"{type(exc).__name__}: {exc}"
        return None, " ".join(said.split())
    if not np.isfinite(value):  # written as such, an inf was read back as unreadable by every --resume
        return None, f"the metric gave {value}, not a finite number"
    return value, None


def measure_all(names: Sequence[str], y_true: Any, scores: Any, threshold: float | None = None,
                config: dict[str, dict[str, Any]] | None = None) -> tuple[dict[str, float], dict[str, str]]:
    """The metrics `names` of `scores` against `y_true` (:func:`measure` each, with its parameters in `config`),
    the pixels scored NaN (no data) left out of all: the values measured, and why each other one could not be.
    What ``had fit``, ``had score`` and a ``had bench`` cell (or its saved scores) measure."""
    from .nodata import scored_pixels

    truth, valid = scored_pixels(y_true, scores)
    values: dict[str, float] = {}
    skipped: dict[str, str] = {}
    for name in names:
        value, why = measure(name, truth, valid, threshold, (config or {}).get(name))
        if why is None:
            values[name] = value
        else:
            skipped[name] = why
    return values, skipped


def missing_parameters(metric: Metric) -> list[str]:
    """The fields of `metric`'s config that have no default and are not bound: it cannot be computed without them."""
    bound = dict(metric.params)
    return [name for name, info in metric.Config.model_fields.items() if info.is_required() and name not in bound]


def check_names(names: Sequence[str], where: str,
                config: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """The metrics `names` asked for by `where` (``a grid``, ``--metrics``), with their parameters in `config` (a
    grid's, per label), before any work: each known (:class:`UnknownNameError` otherwise; in a grid, a variant
    ``NAME@LABEL`` of a known NAME), named once, its parameters valid (a :class:`ConfigError` naming the metric)
    and none of its config's required ones missing (a :class:`ConfigError` that names them).

    Returns the parameters as validated, per label with any: those given that differ from their field's default,
    in their field's type (``"10"`` from a YAML file is 10, ``n = None`` for precision_at_n is its default), which
    a grid records, compares on ``--resume`` and gives its cells."""
    from . import get_metric
    from .errors import HadError
    from .grid import VARIANT_MARK, registered_metric

    twice = sorted({name for name in names if list(names).count(name) > 1})
    if twice:  # one column each
        raise ConfigError(f"metric(s) {', '.join(twice)} given more than once; list each metric once")
    validated: dict[str, dict[str, Any]] = {}
    for name in names:
        if where != "a grid" and VARIANT_MARK in name:  # was: computed at the defaults under the variant's name
            raise ConfigError(f"metric {name}: NAME{VARIANT_MARK}LABEL names a variant of a metric in a grid "
                              f"(had bench --metric-set); {where} computes registered metrics at their defaults: "
                              f"name it {name.partition(VARIANT_MARK)[0]}")
        registered, params = registered_metric(name), (config or {}).get(name, {})
        try:
            metric = get_metric(registered, **params)
        except HadError as exc:
            if registered == name:
                raise
            raise ConfigError(f"metric {name}, a variant of {registered}: {exc}") from None
        if missing := missing_parameters(metric):
            fix = (f'give them in the grid file\'s [metrics."{name}"] table, with --metric-set {name}.{missing[0]}=... '
                   f"(Python: had.bench.run(..., metric_config={{{name!r}: {{{missing[0]!r}: ...}}}}))"
                   if where == "a grid" else f"{where} cannot give them: give them defaults in its plugin's Config, "
                   f"name it in a grid (had bench --metric-set), or compute it in Python: "
                   f"had.get_metric({registered!r}, {missing[0]}=...)")
            raise ConfigError(f"metric {name} has parameter(s) of no default ({', '.join(missing)}): {fix}")
        fields = metric.Config.model_fields
        bound = dict(metric.params)
        if kept := {key: bound[key] for key in params if key in bound and not (
                not fields[key].is_required() and bound[key] == fields[key].get_default(call_default_factory=True))}:
            validated[name] = kept
    return validated


BUILTIN_METRICS = (
    Metric("auroc", auroc, True, description="area under the ROC curve"),
    Metric("auprc", auprc, True, description="average precision"),
    Metric("auc_pf_tau", auc_pf_tau, False, description="LREN's AUC(Pf, tau): false alarms against threshold",
           Config=TauConfig),
    Metric("auc_pd_tau", auc_pd_tau, True, description="AUC(Pd, tau): detection rate against threshold",
           Config=TauConfig),
    Metric("precision", precision_at_threshold, True, True, "precision at the detector's threshold"),
    Metric("recall", recall_at_threshold, True, True, "recall at the detector's threshold"),
    Metric("f1", f1_at_threshold, True, True, "F1 at the detector's threshold"),
    Metric("precision_at_n", precision_at_n, True, description="precision among the top n, n = #anomalies",
           Config=TopNConfig),
    Metric("eer", eer, False, description="equal error rate"),
)
