"""``FIELD=VALUE`` overrides of a benchmark's ``--set`` option: the value as JSON where it parses, else a string
(what ``had fit --set`` does)."""

from __future__ import annotations

import json
from typing import Any


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``{"field": value}`` of ``["field=value", ...]``; a value that is not JSON stays a string."""
    settings: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return settings
