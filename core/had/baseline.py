"""A grid's detectors against one of them, the baseline, seed by seed: what ``had bench --baseline NAME`` adds to
the summary (the terminal, results.md, report.html).

A mean ± std hides what a user asks of a method first: is it better than the baseline they already have, on every
dataset and for any seed? Each detector's cells are paired with the baseline's cell of the same dataset and seed
(both finished, the metric defined on both), and the table says on how many seeds it is better, tied or worse,
its mean and worst difference; per detector, on how many datasets its mean difference is better, and the
Wilcoxon signed-rank test (two-sided) over those per-dataset mean differences (Demšar, "Statistical comparisons
of classifiers over multiple data sets", JMLR 2006: the datasets, not the seeds, are the independent samples).

Values are compared as results.csv holds them (6 significant digits), so cells kept by ``--resume`` (read back
from it) and cells run now tie where they are equal (was: a kept 0.95 and a new 0.9500002 counted as worse).
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import Any, Sequence

from .tables import as_written, figure, markdown

#: differences smaller than this are float rounding of values written to 6 significant digits: zero
_ROUNDING = 1e-12


@dataclass(frozen=True)
class Comparison:
    """Every detector of a grid against its `baseline` on `metric`: rows of :attr:`DATASET_HEADER` and
    :attr:`DETECTOR_HEADER`, and what could not be compared (`notes`)."""

    baseline: str
    metric: str
    higher_is_better: bool
    per_dataset: list[list[str]]
    per_detector: list[list[str]]
    notes: list[str] = field(default_factory=list)
    #: every detector's mean rank over the datasets all of them finished (1 is best), and the line that says it
    ranks: list[list[str]] = field(default_factory=list)
    ranks_line: str = ""

    DATASET_HEADER = ("dataset", "detector", "pairs", "better", "tied", "worse", "mean difference",
                      "worst difference")
    DETECTOR_HEADER = ("detector", "datasets better", "seeds better", "seeds tied", "seeds worse",
                       "Wilcoxon p (datasets)")
    RANK_HEADER = ("detector", "mean rank")

    @property
    def heading(self) -> str:
        way = "higher" if self.higher_is_better else "lower"
        return (f"Against the baseline {self.baseline} on {self.metric} ({way} is better): each detector's cells "
                f"paired with {self.baseline}'s of the same dataset and seed; a difference is the detector's value "
                f"minus {self.baseline}'s. Wilcoxon p: the two-sided signed-rank test over the datasets' mean "
                "differences, n the datasets whose mean difference is not zero; with n datasets it cannot go "
                "below 2/2^n (0.0625 for 5, 0.031 for 6).")

    def markdown(self) -> str:
        notes = "".join(f"\n- {note}" for note in self.notes)
        ranks = (f"\n{textwrap.fill(self.ranks_line, 116)}\n\n{markdown(list(self.RANK_HEADER), self.ranks)}\n"
                 if self.ranks else "")
        return (f"{textwrap.fill(self.heading, 116)}\n\n{markdown(list(self.DATASET_HEADER), self.per_dataset)}\n\n"
                f"{markdown(list(self.DETECTOR_HEADER), self.per_detector)}\n" + (f"{notes}\n" if notes else "")
                + ranks)


def compare(rows: Sequence[dict[str, Any]], baseline: str, metric: str, higher_is_better: bool,
            detectors: Sequence[str]) -> Comparison:
    """`detectors` (but the `baseline`) against the `baseline` on `metric`, over the finished `rows` of a grid (in
    grid order)."""
    datasets = list(dict.fromkeys(row["dataset"] for row in rows))
    base = {(row["dataset"], row["seed"]): _value(row, metric) for row in rows if row["detector"] == baseline}
    sign = 1.0 if higher_is_better else -1.0
    per_dataset, per_detector, notes = [], [], []
    if not any(v is not None for v in base.values()):
        notes.append(f"no comparison: {baseline} has no finished cell with {metric} defined")
    for detector in (d for d in detectors if d != baseline):
        differences: dict[str, list[float]] = {}
        for row in rows:
            theirs = base.get((row["dataset"], row["seed"]))
            if row["detector"] == detector and theirs is not None and (ours := _value(row, metric)) is not None:
                difference = ours - theirs
                differences.setdefault(row["dataset"], []).append(0.0 if abs(difference) < _ROUNDING else difference)
        counts, means = [0, 0, 0], []
        for dataset in (d for d in datasets if d in differences):
            diffs = differences[dataset]
            better, tied = sum(sign * d > 0 for d in diffs), sum(d == 0 for d in diffs)
            counts = [counts[0] + better, counts[1] + tied, counts[2] + len(diffs) - better - tied]
            mean = sum(diffs) / len(diffs)
            means.append(0.0 if abs(mean) < _ROUNDING else mean)
            per_dataset.append([dataset, detector, str(len(diffs)), str(better), str(tied),
                                str(len(diffs) - better - tied), _signed(means[-1]),
                                _signed(min(diffs, key=lambda d: sign * d))])
        unpaired = [d for d in datasets if d not in differences]
        if means:
            per_detector.append([detector, f"{sum(sign * m > 0 for m in means)} of {len(means)}", *map(str, counts),
                                 _wilcoxon(means)])
        if unpaired and any(v is not None for v in base.values()):
            notes.append(f"{detector} has no pair with {baseline} on {', '.join(unpaired)} (a cell of either failed "
                         f"or {metric} is undefined there)")
    ranks, ranks_line = _ranks(rows, metric, higher_is_better, list(detectors), datasets)
    return Comparison(baseline, metric, higher_is_better, per_dataset, per_detector, notes, ranks, ranks_line)


def _ranks(rows: Sequence[dict[str, Any]], metric: str, higher_is_better: bool, detectors: list[str],
           datasets: list[str]) -> tuple[list[list[str]], str]:
    """Every detector's mean rank (1 is best, ties sharing the mean of their ranks) of its seed-mean `metric` over
    the datasets where every detector has one, and the Friedman test over them (Demšar 2006; scipy's chi-square
    approximation), for 3 detectors or more on 2 datasets or more; ([], "") otherwise."""
    if len(detectors) < 3:
        return [], ""
    values: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        if (value := _value(row, metric)) is not None:
            values.setdefault((row["dataset"], row["detector"]), []).append(value)
    complete = [d for d in datasets if all((d, det) in values for det in detectors)]
    if len(complete) < 2:
        return [], ""
    from scipy.stats import friedmanchisquare, rankdata

    means = [[sum(values[d, det]) / len(values[d, det]) for det in detectors] for d in complete]
    ranked = [rankdata([-m if higher_is_better else m for m in row]) for row in means]
    mean_rank = [sum(r[i] for r in ranked) / len(ranked) for i in range(len(detectors))]
    if all(len(set(row)) == 1 for row in means):  # no test to make (scipy: nan, and numpy's warning)
        test = "no Friedman test: the detectors tie on every dataset"
    else:
        test = (f"Friedman test p = {float(friedmanchisquare(*zip(*means)).pvalue):.3g} (chi-square approximation, "
                f"{len(detectors)} detectors, {len(complete)} datasets)")
    line = (f"Mean rank of each detector's seed mean over the {len(complete)} datasets every detector finished "
            f"(1 is best, ties share their ranks); {test}.")
    order = sorted(range(len(detectors)), key=lambda i: (mean_rank[i], i))
    return [[detectors[i], f"{mean_rank[i]:.2f}"] for i in order], line


def _value(row: dict[str, Any], metric: str) -> float | None:
    """`row`'s `metric` as results.csv holds it, or None where it is missing or not finite."""
    value = row.get(metric)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return None
    return as_written(float(value))


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + figure(value)


def _wilcoxon(means: list[float]) -> str:
    """The two-sided p of the signed-rank test over the non-zero `means` (zeros dropped, as Wilcoxon's own
    procedure does; exact where no two magnitudes tie, else the normal approximation with its tie correction,
    said, whatever scipy's version would pick), or "" with fewer than two non-zero means."""
    nonzero = [m for m in means if m != 0]
    if len(nonzero) < 2:
        return ""
    from scipy.stats import wilcoxon

    tied = len({abs(m) for m in nonzero}) < len(nonzero)
    p = float(wilcoxon(nonzero, method="approx" if tied else "exact").pvalue)
    return f"{p:.3g} (n={len(nonzero)}{', normal approx.' if tied else ''})"
