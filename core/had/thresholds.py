"""Threshold rules: how a detector's ``threshold_`` is fixed from its training scores.

A rule is the detector config's ``threshold`` field:

* ``None`` (default): PyOD's rule, the ``1 - contamination`` percentile of the training scores;
* ``"fpr:A"`` with ``0 < A < 1``: a target false-alarm rate, the ``1 - A`` quantile of the training scores
  (treated as normal), so a share ``A`` of them lies above the threshold;
* ``"otsu"``: Otsu's threshold on a 256-bin histogram of the training scores (the between-class variance
  maximum, as LREN's authors binarise their maps and as ``skimage.filters.threshold_otsu`` computes it);
* a number: that fixed value.

Every rule reads only the stored training scores, so :meth:`had.Detector.set_threshold` moves the threshold
without refitting.
"""

from __future__ import annotations

import math
import re

import numpy as np

from .errors import ConfigError, InvalidInputError

_FPR = re.compile(r"^fpr:(.+)$")
OTSU_BINS = 256


def check_rule(rule: float | str | None) -> float | str | None:
    """`rule` if it is a valid threshold rule (see the module docstring); a ConfigError naming the forms otherwise."""
    if rule is None or rule == "otsu":
        return rule
    if isinstance(rule, (bool, np.bool_)):
        raise ConfigError(f"threshold {rule!r} is not a rule; use None, 'fpr:0.001', 'otsu' or a number")
    if isinstance(rule, (np.integer, np.floating)):  # np.float32(1.5) from float32 scores (was: "not a rule")
        rule = rule.item()
    if isinstance(rule, (int, float)):
        try:  # an int beyond float64 (a 400-digit threshold) was an OverflowError traceback
            value = float(rule)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            digits = "over 1200" if isinstance(rule, int) and rule.bit_length() >= 4000 else len(str(abs(rule)))
            shown = rule if isinstance(rule, float) else f"an integer of {digits} digits"  # str(): 4300 digits at most
            raise ConfigError(f"threshold {shown} is not a finite float64; use a finite number, 'fpr:0.001' or 'otsu'")
        return value
    if isinstance(rule, str):
        match = _FPR.match(rule.strip())
        if match:
            try:
                rate = float(match.group(1))
            except ValueError:
                rate = math.nan
            if 0.0 < rate < 1.0:
                return f"fpr:{match.group(1)}"
            raise ConfigError(f"threshold {rule!r}: the false-alarm rate must be a number in (0, 1), e.g. 'fpr:0.001'")
    said = repr(rule) if len(repr(rule)) <= 60 else repr(rule)[:56] + "...'"  # a 5000-digit string, said short
    raise ConfigError(f"threshold {said} is not a rule; use None (contamination), 'fpr:0.001', 'otsu' or a number")


def otsu(scores: np.ndarray, bins: int = OTSU_BINS) -> float:
    """Otsu's threshold of `scores`: the bin centre maximising the between-class variance of a `bins`-bin
    histogram (scikit-image's ``threshold_otsu``); the single value when all scores are equal."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    lo, hi = float(scores.min()), float(scores.max())
    if lo == hi:
        return lo
    if math.isfinite(hi - lo):
        found = _otsu_centre(scores, lo, hi, bins)
        if found is not None:
            return found
    # scores too large or too small for the between-class variance in float64 (it overflowed to inf, or vanished
    # to 0, and the first bin won: 99.9 % flagged at 1e152 or 1e-165; a range of 1.7e308 was numpy's "Too many
    # bins"): Otsu is scale-equivariant, so the same threshold of the scores mapped onto [0, 1], mapped back
    unit = (scores * 0.5 - lo * 0.5) / (hi * 0.5 - lo * 0.5)
    t = _otsu_centre(unit, 0.0, 1.0, bins)
    return float(lo * (1.0 - t) + hi * t)


def _otsu_centre(scores: np.ndarray, lo: float, hi: float, bins: int) -> float | None:
    """:func:`otsu`'s bin centre on the histogram of `scores` over [lo, hi]; None where the between-class variance
    is not a finite positive number somewhere (its arithmetic overflowed or underflowed)."""
    counts, edges = np.histogram(scores, bins=bins, range=(lo, hi))
    centres = 0.5 * (edges[:-1] + edges[1:])
    weight1 = np.cumsum(counts)
    weight2 = np.cumsum(counts[::-1])[::-1]
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        mean1 = np.cumsum(counts * centres) / np.maximum(weight1, 1)
        mean2 = (np.cumsum((counts * centres)[::-1]) / np.maximum(weight2[::-1], 1))[::-1]
        between = weight1[:-1] * weight2[1:] * (mean1[:-1] - mean2[1:]) ** 2
    if not np.isfinite(between).all() or not between.max() > 0:
        return None
    return float(centres[int(np.argmax(between))])


def threshold_of(rule: float | str | None, train_scores: np.ndarray, contamination: float) -> float:
    """The threshold that `rule` gives on `train_scores` (`contamination` serves the default rule). NaN scores
    (no-data pixels, :mod:`had.nodata`) are left out."""
    scores = np.asarray(train_scores, dtype=np.float64).ravel()
    if scores.size == 0:
        raise InvalidInputError("no training score to set a threshold on: pass the training scores (at least one)")
    if np.isnan(scores).any():
        scores = scores[~np.isnan(scores)]
        if scores.size == 0:
            raise InvalidInputError("no training score to set a threshold on: every one is NaN (no-data pixels, "
                                    "or arithmetic that failed on data far from unit scale: rescale it)")
    if np.isinf(scores).any():
        raise InvalidInputError(
            f"{int(np.isinf(scores).sum()):,} of {scores.size:,} training scores are infinite: the detector's "
            "arithmetic overflowed. Rescale the data to near unit scale (multiply by a constant) or check the "
            "file's data type and byte order; for a trained network, a learning rate too high does this too "
            "(lower lr)")
    rule = check_rule(rule)
    if rule is None:
        return float(np.percentile(scores, 100.0 * (1.0 - contamination)))
    if rule == "otsu":
        return otsu(scores)
    if isinstance(rule, str):  # "fpr:A"
        return float(np.quantile(scores, 1.0 - float(rule[4:])))
    return float(rule)
