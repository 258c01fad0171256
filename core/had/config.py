"""Pydantic configuration bases and the conversion of validation failures into :class:`ConfigError`."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from .errors import ConfigError


class HadConfig(BaseModel):
    """Base of every config: unknown fields are rejected, assignments are validated, a float field is finite
    (`lr=inf` is refused at once, not a NaN loss some steps later)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=(), allow_inf_nan=False,
                              validate_default=True)  # a plugin's default that breaks its own bounds is said at once

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        """True or False given to a number field is refused (pydantic reads them as 1 and 0: an audit's
        ``set_params(n_neighbors=True)`` fitted one neighbour without a word), as scikit-learn's own parameter
        validation refuses them."""
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and _numbers_only(field.annotation):
            raise ValueError(f"{value} is not a number; give a number")
        return value


def configured_repr(owner: Any) -> str:
    """``Name(field=value, ...)`` of an object with a ``config`` (a detector, a data source): its ``__repr__``."""
    fields = ", ".join(f"{k}={v!r}" for k, v in owner.config.model_dump().items())
    return f"{type(owner).__name__}({fields})"


def build_config(cls: type[HadConfig], owner: str, config: Any = None, **overrides: Any) -> HadConfig:
    """Validate `config` (a model, a dict or None) merged with `overrides` into `cls`; raise ConfigError."""
    if isinstance(config, HadConfig):
        data = config.model_dump()
    elif config is None:
        data = {}
    elif isinstance(config, dict):
        data = dict(config)
    else:
        raise ConfigError(f"{owner}: config must be a dict or a {cls.__name__}, got {type(config).__name__}")
    data.update(overrides)
    try:
        checked = cls.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(config)'}: {e['msg']}{_unknown_field_hint(cls, owner, e)}"
            + (_required_hint(e["loc"][0]) if e["type"] == "missing" else
               " (the plugin's own default, not a value given: report it to its authors)"
               if e["loc"] and e["loc"][0] in cls.model_fields and e["loc"][0] not in data else "")
            for e in exc.errors()
        )
        raise ConfigError(f"invalid config for {owner}: {problems}") from None
    if isinstance(config, HadConfig):  # the fields set are the model's and the overrides, not every field dumped
        # (was: any set_params, such as had fit's nodata from a file's header, marked every field as the user's:
        # lren's float64 fallback then never ran, the autoencoder said "patience=5 has no effect" unasked)
        object.__setattr__(checked, "__pydantic_fields_set__", set(config.model_fields_set) | set(overrides))
    return checked


def _required_hint(field: Any) -> str:
    """How to give a required field (it has no default: was blamed on the plugin's default)."""
    if field == "path":
        return ": give the file (--data path=FILE, or the file itself as DATASET; in Python path=...)"
    return f": give it (--set/--data {field}=..., or {field}=... in Python)"


def _numbers_only(annotation: Any) -> bool:
    """Whether a field's type takes numbers (int, float) and not bool: ``int``, ``float | None``,
    ``Annotated[int, Field(gt=0)]``, a union with ``str`` rules such as ``float | Literal["median"]``."""
    found: set[type] = set()

    def walk(a: Any) -> None:
        origin = typing.get_origin(a)
        if origin is typing.Annotated:
            walk(typing.get_args(a)[0])
        elif origin in (typing.Union, types.UnionType):
            for arg in typing.get_args(a):
                walk(arg)
        elif origin is typing.Literal:
            found.update(type(v) for v in typing.get_args(a))
        elif isinstance(a, type):
            found.add(a)

    walk(annotation)
    return bool(found & {int, float}) and bool not in found and not any(t not in (int, float, str, type(None))
                                                                         for t in found)


def _unknown_field_hint(cls: type[HadConfig], owner: str, error: Any) -> str:
    """For a field the config does not have (a typo: ``epoch``, ``mappath``), the fields it may have meant, or
    where to see them all."""
    if error.get("type") != "extra_forbidden" or len(error.get("loc", ())) != 1:
        return ""
    import difflib

    field = str(error["loc"][0])
    if owner.startswith("data source") and field in FILE_VIEW_FIELDS:  # --data rows=1-40 on a named scene
        return (f" ({field} applies to scene files: pass the scene's file as DATASET, with --data {field}=...; "
                "`had list datasets --json` gives a named dataset's files)")
    close = difflib.get_close_matches(field, list(cls.model_fields), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(close)}?)" if close else f" (`had describe {owner.split()[-1]}` lists the fields)"


#: the data settings of scene files (:mod:`had.cubeview`), which named scenes do not take
FILE_VIEW_FIELDS = ("rows", "cols", "bands", "nodata_any_band")


def assign(config: HadConfig, owner: str, **values: Any) -> HadConfig:
    """Set fields of `config` in place, all or none: the merged config is validated first (ConfigError)."""
    checked = build_config(type(config), owner, config, **values)
    for name in values:
        object.__setattr__(config, name, getattr(checked, name))
    return config


def type_name(annotation: Any) -> str:
    """A field's type as `had describe` shows it: ``float``, ``int | None``, ``float | 'nan' | None``."""
    if isinstance(annotation, type):
        return "None" if annotation is type(None) else annotation.__name__
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(arg) for arg in args)
    if origin is typing.Literal:
        return " | ".join(repr(arg) for arg in args)
    if origin is typing.Annotated:  # PositiveInt, Field(gt=...): the type and its bounds, ``int > 0``
        bounds = [f"{sign} {getattr(item, attr)}" for extra in args[1:] for item in getattr(extra, "metadata", [extra])
                  for attr, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
                  if getattr(item, attr, None) is not None]
        return " ".join([type_name(args[0]), *bounds])
    if origin is list:
        return f"list[{type_name(args[0])}]"
    return str(annotation).replace("typing.", "")


def describe_fields(cls: type[HadConfig]) -> list[dict[str, Any]]:
    """One row per config field: name, type, default (as JSON has it: ``0.1``, ``None``, a list; None when the
    field is required), required, description (for `had describe`; :func:`default_text` prints a default)."""
    from pydantic_core import to_jsonable_python

    rows = []
    for name, field in cls.model_fields.items():
        required = field.is_required()
        default = None if required else to_jsonable_python(field.get_default(call_default_factory=True))
        rows.append({"name": name, "type": type_name(field.annotation), "default": default, "required": required,
                     "description": field.description or ""})
    return rows


def default_text(row: dict[str, Any]) -> str:
    """A :func:`describe_fields` row's default as `had describe`'s table prints it."""
    return "(required)" if row["required"] else repr(row["default"])
