"""The command line's settings arguments: ``key=value`` pairs and ``NAME.key=value`` pairs, and name lists."""

from __future__ import annotations

import json
from typing import Any

import click


def parse_settings(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``key=value`` pairs; values are JSON where they parse (numbers, lists, true/null), else strings."""
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not key=value")
        try:
            settings[key] = json.loads(raw)
        except json.JSONDecodeError:
            settings[key] = raw
    return settings


def per_name(pairs: tuple[str, ...], option: str) -> dict[str, dict[str, Any]]:
    """``NAME.key=value`` pairs grouped by NAME (split at the last dot: NAME may be a file such as ``x.npy``)."""
    config: dict[str, dict[str, Any]] = {}
    for key, value in parse_settings(pairs).items():
        name, sep, field_name = key.rpartition(".")
        if not sep:
            raise click.BadParameter(f"{key}: use {option}.key=value")
        config.setdefault(name, {})[field_name] = value
    return config


def split_names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]
