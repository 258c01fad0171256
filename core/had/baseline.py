"""A grid's detectors against one of them, the baseline, seed by seed: what ``had bench --baseline NAME`` adds to
the summary (the terminal, results.md, report.html).

A mean ± std hides what a user asks of a method first: is it better than the baseline they already have, on every
dataset and for any seed? Each detector's cells are paired with the baseline's cell of the same dataset and seed
(both finished, the metric defined on both), and the table says on how many seeds it is better, tied or worse,
its mean and worst difference; per detector, on how many datasets its mean difference is better, and the
Wilcoxon signed-rank test (two-sided) over those per-dataset mean differences (Demšar, "Statistical comparisons
of classifiers over multiple data sets", JMLR 2006: the datasets, not the seeds, are the independent samples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from .tables import figure, markdown


@dataclass(frozen=True)
class Comparison:
    """Every detector of a grid against its `baseline` on `metric`."""

    baseline: str
    metric: str
    higher_is_better: bool
    #: dataset, detector, pairs, better, tied, worse, mean difference, worst difference
    per_dataset: list[list[str]]
    #: detector, datasets better on the mean (of n), seeds better / tied / worse, Wilcoxon p over datasets
    per_detector: list[list[str]]

    DATASET_HEADER = ("dataset", "detector", "pairs", "better", "tied", "worse", "mean difference",
                      "worst difference")
    DETECTOR_HEADER = ("detector", "datasets better", "seeds better", "seeds tied", "seeds worse",
                       "Wilcoxon p (datasets)")

    @property
    def heading(self) -> str:
        way = "higher" if self.higher_is_better else "lower"
        return (f"Against the baseline {self.baseline} on {self.metric} ({way} is better): each detector's cells "
                f"paired with {self.baseline}'s of the same dataset and seed; a difference is the detector's value "
                f"minus {self.baseline}'s. Wilcoxon p: the signed-rank test over the datasets' mean differences.")

    def markdown(self) -> str:
        return (f"{self.heading}\n\n{markdown(list(self.DATASET_HEADER), self.per_dataset)}\n\n"
                f"{markdown(list(self.DETECTOR_HEADER), self.per_detector)}\n")


def compare(rows: Sequence[dict[str, Any]], baseline: str, metric: str, higher_is_better: bool,
            detectors: Sequence[str]) -> Comparison:
    """`detectors` (but the `baseline`) against the `baseline` on `metric`, over the finished `rows` of a grid."""
    base = {(row["dataset"], row["seed"]): row.get(metric) for row in rows if row["detector"] == baseline}
    per_dataset, per_detector = [], []
    for detector in (d for d in detectors if d != baseline):
        differences: dict[str, list[float]] = {}
        for row in rows:
            if row["detector"] != detector:
                continue
            theirs, ours = base.get((row["dataset"], row["seed"])), row.get(metric)
            if _finite(theirs) and _finite(ours):
                differences.setdefault(row["dataset"], []).append(float(ours) - float(theirs))
        sign = 1.0 if higher_is_better else -1.0
        counts = [0, 0, 0]
        means = []
        for dataset, diffs in differences.items():
            better = sum(sign * d > 0 for d in diffs)
            tied = sum(d == 0 for d in diffs)
            worse = len(diffs) - better - tied
            counts = [counts[0] + better, counts[1] + tied, counts[2] + worse]
            mean = sum(diffs) / len(diffs)
            means.append(mean)
            worst = min(diffs, key=lambda d: sign * d)
            per_dataset.append([dataset, detector, str(len(diffs)), str(better), str(tied), str(worse),
                                _signed(mean), _signed(worst)])
        if means:
            better_means = sum(sign * m > 0 for m in means)
            per_detector.append([detector, f"{better_means} of {len(means)}", *map(str, counts),
                                 _wilcoxon(means)])
    per_dataset.sort(key=lambda cells: (cells[0], list(detectors).index(cells[1])))
    return Comparison(baseline, metric, higher_is_better, per_dataset, per_detector)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + figure(value)


def _wilcoxon(means: list[float]) -> str:
    """The two-sided p of the signed-rank test over `means` (exact for few datasets, as scipy picks), or "" when
    there is no test to make: fewer than two datasets, or no difference other than zero."""
    if len(means) < 2 or not any(means):
        return ""
    from scipy.stats import wilcoxon

    return f"{float(wilcoxon(means).pvalue):.3g} (n={len(means)})"
