"""Example counts for the property-based tests: small in CI, larger when ``HAD_FUZZ_EXAMPLES`` is set.

``HAD_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz_*.py`` runs every property with (at least) 2000 examples and
the MAT crash search over the whole file; unset, each property runs its CI count (a few seconds in all).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings


def fuzz_examples() -> int | None:
    """``HAD_FUZZ_EXAMPLES`` as an int, or None when unset (CI)."""
    raw = os.environ.get("HAD_FUZZ_EXAMPLES", "").strip()
    return int(raw) if raw else None


def examples(ci: int, scale: float = 1.0) -> int:
    """How many examples a property runs: `ci` in CI, ``max(ci, scale * HAD_FUZZ_EXAMPLES)`` in a fuzz run.

    `scale` < 1 for properties whose example costs a process start (the MAT child reader).
    """
    asked = fuzz_examples()
    return ci if asked is None else max(ci, int(asked * scale))


def fuzz(ci: int, scale: float = 1.0):
    """Hypothesis settings for a property with `ci` examples in CI (no deadline: the machine may be loaded)."""
    return settings(max_examples=examples(ci, scale), deadline=None, derandomize=fuzz_examples() is None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
