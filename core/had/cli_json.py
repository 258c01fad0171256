"""What the ``--json`` options of the `had` command line print: plain JSON a script can read.

:func:`to_json` turns numpy numbers and arrays into JSON numbers and lists and NaN/inf into ``null`` (strict JSON,
which ``json.loads`` in any language accepts); :func:`describe_entries` is the one description of a registered
name that ``had describe`` prints as text or as JSON.
"""

from __future__ import annotations

import json
from typing import Any


from . import plugins
from .errors import HadError
from .jsonvalues import jsonable


def to_json(value: Any) -> str:
    return json.dumps(jsonable(value), indent=2, allow_nan=False)


def _by_class_name(name: str) -> list[tuple[str, Any]]:
    """``[(kind, entry)]`` of the first registration of each kind whose class is named `name` (its ``name``
    attribute), with no registration defaults: the fields and defaults of the class itself."""
    from dataclasses import replace

    found = []
    for kind, entries in plugins.registry().items():
        for entry in entries.values():
            try:
                target = entry.load()
            except Exception:  # a plugin that fails to import is `had plugins`' to report, not describe's
                continue
            if getattr(target, "name", None) == name:
                doc = (target.__doc__ or "").strip().splitlines()
                found.append((kind, replace(entry, defaults={}, summary=doc[0] if doc else "")))
                break
    return found


def describe_entries(name: str) -> list[dict[str, Any]]:
    """Every registered detector, data source or metric called `name`: kind, plugin, summary, capabilities
    (detectors) and config fields (name, type, default, description)."""
    from pydantic_core import to_jsonable_python

    from .config import describe_fields

    found = [(kind, entries[name]) for kind, entries in plugins.registry().items() if name in entries]
    if not found:  # a class's own name, as config errors give it ("data source odds-table"): its first registration
        found = _by_class_name(name)
    if not found:
        from .catalog import provider
        from .errors import UnknownNameError

        for kind in ("detector", "datasource"):  # a name of a plugin not installed (or not loaded): which one, and how
            if provider(kind, name) is not None:
                raise UnknownNameError(kind, name, list(plugins.registry()[kind]))
        from .catalog import broken_note, nearest

        known = sorted({n for entries in plugins.registry().values() for n in entries})
        close = nearest(name, known)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ";"
        raise HadError(f"no detector, dataset or metric is named {name!r}{broken_note(sorted(plugins.load_errors()))}"
                       f"{hint} known: {', '.join(known)}")
    described = []
    for kind, entry in found:
        target = entry.load()
        info: dict[str, Any] = {"name": name, "kind": kind, "plugin": entry.plugin, "summary": entry.describe()}
        if kind == "detector":
            info.update(data_kinds=list(target.kinds), uses_labels=bool(target.uses_labels),
                        transductive=bool(target.transductive), onnx_export=target.onnx_unsupported is None,
                        onnx_unsupported=target.onnx_unsupported)
        config_cls = getattr(target, "Config", None)
        fields = describe_fields(config_cls) if config_cls is not None else []
        for row in fields:  # a registration's own defaults (e.g. one detector class under several names) win
            if row["name"] in entry.defaults:
                row["default"], row["required"] = to_jsonable_python(entry.defaults[row["name"]]), False
        info["fields"] = fields
        described.append(info)
    return described
