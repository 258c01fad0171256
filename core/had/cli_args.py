"""The command line's settings arguments: ``key=value`` pairs and ``NAME.key=value`` pairs, and name lists."""

from __future__ import annotations

import json
from typing import Any

import click

from .errors import cut


def parse_settings(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``key=value`` pairs; values are JSON where they parse (numbers, lists, true/null), else strings.

    Whitespace around the key and the value is dropped, so ``"a = b"`` reads as ``a=b``: JSON already read
    ``a= 0.2`` as 0.2 and names lists are stripped, while a key with a space was refused as an unknown field whose
    space the message could not show ("contamination : Extra inputs are not permitted (did you mean
    contamination?)") and a rule ``threshold= otsu`` as not a rule. A string whose spaces matter is given as a
    JSON string (``name='" x "'``)."""
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = (part.strip() for part in pair.partition("="))
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not key=value")
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON; or a number past Python's digit limit, nesting too deep
            value = raw
        if key in settings and _same(settings[key]) != _same(value):  # was: the last kept without a word
            raise click.BadParameter(f"{key} is given twice ({_shown(settings[key])}, then {_shown(value)}); "
                                     "give it once")
        settings[key] = value
    return settings


def _same(value: Any) -> str:
    """What a value says, for comparing two given for one key: ``NaN`` twice is one, ``1`` and ``true`` two."""
    return json.dumps(value, sort_keys=True) if not isinstance(value, str) else "s:" + value


def _shown(value: Any) -> str:
    return cut(json.dumps(value) if not isinstance(value, str) else value, 40)


def per_name(pairs: tuple[str, ...], option: str) -> dict[str, dict[str, Any]]:
    """``NAME.key=value`` pairs grouped by NAME (split at the last dot: NAME may be a file such as ``x.npy``)."""
    config: dict[str, dict[str, Any]] = {}
    for key, value in parse_settings(pairs).items():
        name, sep, field_name = (part.strip() for part in key.rpartition("."))  # "rx . seed" as parse_settings reads it
        if not sep or not name or not field_name:  # `rx.=1` was "Extra inputs are not permitted" for key ''
            raise click.BadParameter(f"{key}: use {option}.key=value (a name, a dot, a field)")
        given = config.setdefault(name, {})
        if field_name in given and _same(given[field_name]) != _same(value):  # "rx.seed=1" and "rx . seed=2"
            raise click.BadParameter(f"{name}.{field_name} is given twice ({_shown(given[field_name])}, then "
                                     f"{_shown(value)}); give it once")
        given[field_name] = value
    return config


def split_names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def metric_names(value: str | None) -> list[str] | None:
    """``--metrics`` of had fit, score and bench: the names given (None: the option left out); one given empty is
    refused (was: the defaults, as if the option were left out)."""
    if value is None:
        return None
    if not (names := split_names(value)):
        raise click.BadParameter("is empty: name the metrics (had list metrics), or leave the option out",
                                 param_hint="--metrics")
    return names


def named_path(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """A path option given as ``""`` is refused (was: taken for the option left out, so ``-o ""`` scored and
    wrote nothing, exit 0; ``had demo -o ""`` wrote demo-out; ``had fit -o ""`` was told the current folder)."""
    if isinstance(value, str) and not value.strip():
        raise click.BadParameter("is empty: name a file or folder" + ("" if param.required else
                                                                      ", or leave the option out"), ctx, param)
    return value


def named_host(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """``had serve --host ""`` is refused (was: every interface, said as ``http://:PORT``)."""
    if isinstance(value, str) and not value.strip():
        raise click.BadParameter("is empty: give an address (127.0.0.1 for this machine, 0.0.0.0 for every "
                                 "interface)", ctx, param)
    return value
