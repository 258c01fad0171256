"""``had_sdk.nn``'s range check, shared by the detectors whose models assume inputs in [0, 1] (SemiDGM's
Bernoulli likelihood, the chest X-ray decoders' tanh)."""

from __future__ import annotations

import numpy as np
from had_sdk.nn import UNIT_RANGE_SLACK, span_outside_unit_range


def test_the_span_is_given_only_outside_the_unit_range():
    assert span_outside_unit_range(np.array([0.0, 0.5, 1.0])) is None
    assert span_outside_unit_range(np.array([-UNIT_RANGE_SLACK / 2, 1.0 + UNIT_RANGE_SLACK / 2])) is None  # rounding
    assert span_outside_unit_range(np.array([[0.0, 255.0], [3.0, 7.0]])) == (0.0, 255.0)  # pixels not divided
    assert span_outside_unit_range(np.array([-1.5, 0.2])) == (-1.5, 0.2)  # standardised
