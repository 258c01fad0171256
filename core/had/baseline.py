"""A grid's detectors against one of them, the baseline, seed by seed: what ``had bench --baseline NAME`` adds to
the summary (the terminal, results.md, report.html).

A mean ± std hides what a user asks of a method first: is it better than the baseline they already have, on every
dataset and for any seed? Each detector's cells are paired with the baseline's cell of the same dataset and seed
(both finished, the metric defined on both), and the table says on how many seeds it is better, tied or worse,
its mean and worst difference; per detector, on how many datasets its mean difference is better, and the
Wilcoxon signed-rank test (two-sided) over those per-dataset mean differences (Demšar, "Statistical comparisons
of classifiers over multiple data sets", JMLR 2006: the datasets, not the seeds, are the independent samples),
with Holm's step-down adjustment of those p over the detectors compared (one test per detector, so at least one
of several would pass at 0.05 by chance alone); the signed-rank p is exact (:func:`signed_rank_p`). With three
detectors or more, their mean ranks, the Friedman test (exact where the orderings can be counted in about a
second, :func:`friedman_exact_p`; else scipy's chi-square form and Iman and Davenport's F form, Demšar's
recommendation, both rough for few datasets), and the Nemenyi critical difference of mean ranks at 0.05.

Values are compared as results.csv holds them (6 significant digits), so cells kept by ``--resume`` (read back
from it) and cells run now tie where they are equal (was: a kept 0.95 and a new 0.9500002 counted as worse).
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .tables import as_written, figure, markdown

#: the most (state, ordering) steps :func:`friedman_exact_p` takes before leaving the Friedman test to the
#: chi-square and F approximations (about a second)
EXACT_FRIEDMAN_WORK = 1_000_000

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
    #: the line that says the mean ranks and the tests over them, every detector's mean rank over the datasets all
    #: of them finished (1 is best; best first) and the Nemenyi critical difference at 0.05 (None without a
    #: Friedman test): what :attr:`ranks` tabulates and report.html's critical-difference diagram draws
    ranks_line: str = ""
    mean_ranks: list[tuple[str, float]] = field(default_factory=list)
    critical_difference: float | None = None

    DATASET_HEADER = ("dataset", "detector", "pairs", "better", "tied", "worse", "mean difference",
                      "worst difference")
    DETECTOR_HEADER = ("detector", "datasets better", "seeds better", "seeds tied", "seeds worse",
                       "Wilcoxon p (datasets)", "Holm p")
    RANK_HEADER = ("detector", "mean rank")

    @property
    def ranks(self) -> list[list[str]]:
        """The rows of the mean-rank table (:attr:`RANK_HEADER`)."""
        return [[name, f"{rank:.2f}"] for name, rank in self.mean_ranks]

    @property
    def heading(self) -> str:
        way = "higher" if self.higher_is_better else "lower"
        return (f"Against the baseline {self.baseline} on {self.metric} ({way} is better): each detector's cells "
                f"paired with {self.baseline}'s of the same dataset and seed; a difference is the detector's value "
                f"minus {self.baseline}'s. Wilcoxon p: the exact two-sided signed-rank test over the datasets' mean "
                "differences, n the datasets whose mean difference is not zero; with n datasets it cannot go "
                "below 2/2^n (0.0625 for 5, 0.031 for 6). Holm p: the Wilcoxon p adjusted by Holm's step-down "
                "procedure over the detectors with one, to be read at the level chosen (0.05) whatever their "
                "number.")

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
                                 *_wilcoxon(means)])
        if unpaired and any(v is not None for v in base.values()):
            notes.append(f"{detector} has no pair with {baseline} on {', '.join(unpaired)} (a cell of either failed "
                         f"or {metric} is undefined there)")
    _holm(per_detector)
    ranks_line, mean_ranks, critical = _ranks(rows, metric, higher_is_better, list(detectors), datasets)
    return Comparison(baseline, metric, higher_is_better, per_dataset, per_detector, notes, ranks_line, mean_ranks,
                      critical)


def cliques(mean_ranks: Sequence[tuple[str, float]], critical: float) -> list[tuple[int, int]]:
    """The groups of detectors no two of which differ by Nemenyi's test, as (first, last) positions in
    `mean_ranks` (sorted best first): each maximal run whose ranks lie less than `critical` apart, of two
    detectors or more (the bars of Demšar's critical-difference diagram)."""
    groups: list[tuple[int, int]] = []
    for first in range(len(mean_ranks)):
        last = first
        while last + 1 < len(mean_ranks) and mean_ranks[last + 1][1] - mean_ranks[first][1] < critical:
            last += 1
        if last > first and (not groups or last > groups[-1][1]):
            groups.append((first, last))
    return groups


def _ranks(rows: Sequence[dict[str, Any]], metric: str, higher_is_better: bool, detectors: list[str],
           datasets: list[str]) -> tuple[str, list[tuple[str, float]], float | None]:
    """Every detector's mean rank (1 is best, ties sharing the mean of their ranks) of its seed-mean `metric` over
    the datasets where every detector has one, the Friedman test over them (exact where :func:`friedman_exact_p`
    can count it, else scipy's chi-square approximation and Iman and Davenport's F form of the same statistic) and
    the Nemenyi critical difference of mean ranks (Demšar 2006, section 3.2.2), for 3 detectors or more on 2
    datasets or more: the line that says them, the mean ranks (best first) and the critical difference (None
    without a test); ("", [], None) otherwise."""
    if len(detectors) < 3:
        return "", [], None
    values: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        if (value := _value(row, metric)) is not None:
            values.setdefault((row["dataset"], row["detector"]), []).append(value)
    complete = [d for d in datasets if all((d, det) in values for det in detectors)]
    if len(complete) < 2:
        return "", [], None
    from scipy.stats import friedmanchisquare

    from .metrics import average_ranks

    means = [[sum(values[d, det]) / len(values[d, det]) for det in detectors] for d in complete]
    ranked = [average_ranks(np.array([-m if higher_is_better else m for m in row])) for row in means]
    mean_rank = [sum(r[i] for r in ranked) / len(ranked) for i in range(len(detectors))]
    critical = None
    if all(len(set(row)) == 1 for row in means):  # no test to make (scipy: nan, and numpy's warning)
        test = "no Friedman test: the detectors tie on every dataset"
    else:
        friedman = friedmanchisquare(*zip(*means))
        k, n = len(detectors), len(complete)
        critical = nemenyi_difference(k, n)
        exact = friedman_exact_p(ranked)
        if exact is not None:  # was: the approximations alone, 0.0494 (F) for an exact 0.194 on three datasets
            friedman_said = (f"Friedman test p = {exact:.3g} (exact: every ordering of each dataset's ranks counted; "
                             f"{k} detectors, {n} datasets; the chi-square approximation gives "
                             f"{float(friedman.pvalue):.3g})")
        else:
            f_form = _iman_davenport(float(friedman.statistic), k, n, _has_ties(ranked))
            friedman_said = (f"Friedman test p = {float(friedman.pvalue):.3g} (chi-square approximation, {k} "
                             f"detectors, {n} datasets), {f_form} (both approximations, rough below ten datasets)")
        test = (f"{friedman_said}; Nemenyi "
                f"critical difference at 0.05: {critical:.2f} (two detectors whose mean ranks are further apart "
                "than that differ; a post-hoc test, to read after a Friedman p below 0.05)")
    line = (f"Mean rank of each detector's seed mean over the {len(complete)} datasets every detector finished "
            f"(1 is best, ties share their ranks); {test}.")
    order = sorted(range(len(detectors)), key=lambda i: (mean_rank[i], i))
    return line, [(detectors[i], float(mean_rank[i])) for i in order], critical


def _value(row: dict[str, Any], metric: str) -> float | None:
    """`row`'s `metric` as results.csv holds it, or None where it is missing or not finite."""
    value = row.get(metric)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return None
    return as_written(float(value))


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + figure(value)


def _wilcoxon(means: list[float]) -> tuple[str, float | None]:
    """The two-sided p of the signed-rank test over the non-zero `means` (zeros dropped, as Wilcoxon's own
    procedure does) as the table says it, and the p itself for :func:`_holm`; ("", None) with fewer than two
    non-zero means. Exact always (:func:`signed_rank_p`: tied magnitudes share their mean rank; was scipy's normal
    approximation where two tied, 0.0253 for five equal gains whose exact p is 0.0625, below the least p five
    datasets can give)."""
    nonzero = [m for m in means if m != 0]
    if len(nonzero) < 2:
        return "", None
    p = signed_rank_p(nonzero)
    return f"{p:.3g} (n={len(nonzero)})", p


def signed_rank_p(differences: Sequence[float]) -> float:
    """The exact two-sided p of Wilcoxon's signed-rank test of non-zero `differences`: the share of the 2^n sign
    assignments whose sum of positive ranks lies at least as far from its centre, in the observed direction, as
    the observed one, doubled (at most 1); tied magnitudes take their mean rank, and the count is made over those
    ranks (a sum over subsets, counted by adding one rank at a time, so any n is cheap)."""
    from .metrics import average_ranks

    d = np.asarray(differences, dtype=np.float64)
    doubled = np.rint(2 * average_ranks(np.abs(d))).astype(np.int64)  # mean ranks are halves: integers doubled
    chance = np.zeros(int(doubled.sum()) + 1)
    chance[0] = 1.0
    for r in doubled:  # the distribution of the sum of the ranks given a + sign, one difference more at a time
        shifted = np.zeros_like(chance)
        shifted[r:] = chance[:chance.size - r]
        chance = 0.5 * (chance + shifted)
    observed = int(doubled[d > 0].sum())
    return float(min(1.0, 2.0 * min(chance[:observed + 1].sum(), chance[observed:].sum())))


def _holm(per_detector: list[list[Any]]) -> None:
    """Replace each row's last entry, the Wilcoxon p (None where there is none), by Holm's step-down adjustment of
    it over the rows that have one (Holm 1979: the i-th smallest of m times m - i + 1, kept no smaller than the
    one before it, at most 1), as text; "" where there is none."""
    order = sorted((row[-1], i) for i, row in enumerate(per_detector) if row[-1] is not None)
    adjusted: dict[int, float] = {}
    running = 0.0
    for step, (p, i) in enumerate(order):
        running = max(running, min(1.0, (len(order) - step) * p))
        adjusted[i] = running
    for i, row in enumerate(per_detector):
        row[-1] = f"{adjusted[i]:.3g}" if i in adjusted else ""


def friedman_exact_p(ranked: Sequence[Sequence[float]], work: int | None = None) -> float | None:
    """The exact p of the Friedman test of the rank rows `ranked` (one per dataset, mean ranks where values tie),
    or None where counting would take more than `work` steps (:data:`EXACT_FRIEDMAN_WORK`): under the null each
    dataset's ranks fall in any of their distinct orderings alike, and p is the chance that the columns' rank
    sums have a sum of squares at least the observed one (the statistic, for the datasets' own ties, moves with
    it alone). Counted over the sorted vectors of rank sums so far (the next ordering is uniform, so their order
    does not matter), one dataset at a time."""
    import itertools

    budget = EXACT_FRIEDMAN_WORK if work is None else work
    rows = [tuple(int(v) for v in np.rint(2 * np.asarray(r, dtype=np.float64))) for r in ranked]
    observed = sum(int(c) ** 2 for c in np.sum(rows, axis=0))
    states: dict[tuple[int, ...], float] = {tuple([0] * len(rows[0])): 1.0}
    spent = 0
    for row in rows:
        orders = set(itertools.permutations(row))
        spent += len(states) * len(orders)
        if spent > budget:
            return None
        share = 1.0 / len(orders)
        following: dict[tuple[int, ...], float] = {}
        for state, chance in states.items():
            for order in orders:
                key = tuple(sorted(a + b for a, b in zip(state, order)))
                following[key] = following.get(key, 0.0) + chance * share
        states = following
    return float(min(1.0, sum(chance for state, chance in states.items() if sum(v * v for v in state) >= observed)))


def _has_ties(ranked: list[Any]) -> bool:
    return any(len(set(row)) < len(row) for row in ranked)


def _iman_davenport(chi_square: float, k: int, n: int, ties: bool) -> str:
    """Iman and Davenport's F form of the Friedman statistic `chi_square` of `k` detectors on `n` datasets, F =
    (n - 1) chi2 / (n (k - 1) - chi2) on (k - 1, (k - 1)(n - 1)) degrees of freedom, and its p; where every
    dataset ranks the detectors alike (chi2 at its maximum, F infinite) the exact p of that, 1 / k!^(n - 1), where
    no dataset has `ties` (with them, that chance depends on how often values tie: not said)."""
    from scipy.stats import f as f_distribution

    room = n * (k - 1) - chi_square
    if room <= 1e-12 * n * (k - 1):  # the same ranking on every dataset: F is infinite, its p 0 whatever n
        if ties:
            return "the same ranking on every dataset (Iman-Davenport's F is infinite there)"
        chance = float(math.factorial(k)) ** (1 - n)  # exactly: every dataset ranks as the first does
        return (f"the same ranking on every dataset, which chance alone gives with p = 1/{k}!^{n - 1} = "
                f"{chance:.3g} (exact; Iman-Davenport's F is infinite there)")
    statistic = (n - 1) * chi_square / room
    p = float(f_distribution.sf(statistic, k - 1, (k - 1) * (n - 1)))
    return f"Iman-Davenport F p = {p:.3g} (F = {statistic:.3g} on {k - 1} and {(k - 1) * (n - 1)} d.f.)"


def nemenyi_difference(k: int, n: int) -> float:
    """The Nemenyi critical difference at 0.05 of the mean ranks of `k` detectors over `n` datasets, q sqrt(k (k +
    1) / (6 n)), q the studentized range's 0.95 quantile for k groups and infinite d.f. over sqrt(2) (Demšar's
    table: 2.343 for 3, 3.164 for 10)."""
    from scipy.stats import studentized_range

    q = float(studentized_range.ppf(0.95, k, math.inf)) / math.sqrt(2)
    return q * math.sqrt(k * (k + 1) / (6 * n))
