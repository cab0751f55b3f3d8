"""Typed settings with checks, standard library only: the one definition of a setting's type and
range, shared by the runner (which validates the JSON it is given) and the host (which validates
the CLI's flags and the device profile's fields with the same code before anything runs).

A setting is a dataclass field whose ``metadata`` holds a :func:`spec`: its kind (``int``,
``float``, ``str``, ``bool``, ``str-list``, ``int-list``), bounds (``choices`` for a ``str``) and
help text. ``check_fields``
checks every field of a dataclass instance; a bad value raises :class:`SettingError`, which
carries the field's name so that the caller can name the flag, or the file and field, it came from.
Non-finite numbers (NaN, infinity) are never valid.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

KINDS = ("int", "float", "str", "bool", "str-list", "int-list")


class SettingError(ValueError):
    """A setting has the wrong type or is out of range. ``fields`` are the settings involved;
    ``template`` is the message with ``{name}`` placeholders for them, so that a caller can say
    ``--min-time`` or ``device profile x.yaml: field 'timing.min_time_s'`` instead."""

    def __init__(self, fields_: Sequence[str], template: str):
        self.fields = tuple(fields_)
        self.template = template
        super().__init__(self.describe())

    def describe(self, label: Optional[Callable[[str], str]] = None) -> str:
        label = label or (lambda f: f)
        return self.template.format(**{f: label(f) for f in self.fields})


def spec(
    kind: str,
    *,
    lo: Optional[float] = None,
    hi: Optional[float] = None,
    lo_open: bool = False,
    help: str = "",
    **extra: Any,
) -> Dict[str, Any]:
    """Metadata of a setting: ``dataclasses.field(default=..., metadata=spec("int", lo=1))``.

    ``lo``/``hi`` bound the value (``lo_open``: strictly above ``lo``); ``extra`` keys (e.g.
    ``profile=True``, ``identity=True``) are for the callers that read them."""
    if kind not in KINDS:
        raise ValueError(f"unknown setting kind {kind!r}")
    return {"kind": kind, "lo": lo, "hi": hi, "lo_open": lo_open, "help": help, **extra}


def _number(name: str, value: Any, kind: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingError(
            [name],
            "{%s} must be %s, got %r"
            % (name, "an integer" if kind == "int" else "a number", value),
        )
    if kind == "int" and not (isinstance(value, int) or float(value).is_integer()):
        raise SettingError([name], "{%s} must be an integer, got %r" % (name, value))
    if not math.isfinite(value):
        raise SettingError([name], "{%s} must be a finite number, got %r" % (name, value))
    return int(value) if kind == "int" else float(value)


def check_value(name: str, value: Any, meta: Mapping[str, Any], optional: bool = False) -> Any:
    """``value`` converted to the setting's kind (int stays int, float becomes float), or a
    SettingError naming ``name``. ``None`` passes when ``optional``."""
    if value is None:
        if optional:
            return None
        raise SettingError([name], "{%s} must be set" % name)
    kind = meta["kind"]
    if kind in ("int", "float"):
        value = _number(name, value, kind)
        lo, hi = meta.get("lo"), meta.get("hi")
        if lo is not None and (value <= lo if meta.get("lo_open") else value < lo):
            raise SettingError(
                [name],
                "{%s} must be %s %g, got %r"
                % (name, "above" if meta.get("lo_open") else "at least", lo, value),
            )
        if hi is not None and value > hi:
            raise SettingError([name], "{%s} must be at most %g, got %r" % (name, hi, value))
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise SettingError([name], "{%s} must be true or false, got %r" % (name, value))
        return value
    if kind == "str":
        if not isinstance(value, str) or not value:
            raise SettingError([name], "{%s} must be a non-empty string, got %r" % (name, value))
        choices = meta.get("choices")
        if choices and value not in choices:
            raise SettingError(
                [name], "{%s} must be one of %s, got %r" % (name, ", ".join(choices), value)
            )
        return value
    item_kind = kind.split("-")[0]
    if not isinstance(value, (list, tuple)):
        raise SettingError([name], "{%s} must be a list, got %r" % (name, value))
    return [
        check_value(f"{name}[{i}]", v, {**meta, "kind": item_kind})
        if item_kind != "str"
        else _list_str(name, i, v)
        for i, v in enumerate(value)
    ]


def _list_str(name: str, i: int, v: Any) -> str:
    if not isinstance(v, str) or not v:
        raise SettingError([name], "{%s} item %d must be a non-empty string, got %r" % (name, i, v))
    return v


def _optional(f) -> bool:
    """A field whose default is None accepts None."""
    return f.default is None


def check_fields(obj: Any) -> None:
    """Check (and normalise in place) every field of the dataclass ``obj`` that has a spec."""
    for f in fields(obj):
        meta = f.metadata
        if "kind" in meta:
            object.__setattr__(
                obj, f.name, check_value(f.name, getattr(obj, f.name), meta, _optional(f))
            )


def from_mapping(cls, data: Optional[Dict[str, Any]], what: str):
    """``cls(**data)`` after checking that every key is one of its fields (the dataclass's
    ``__post_init__`` checks the values)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SettingError([], f"{what} must be a mapping, got {data!r}")
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SettingError(
            [unknown[0]],
            "{%s} is not a %s setting (known: %s)" % (unknown[0], what, ", ".join(known)),
        )
    return cls(**data)


def strict_loads(text: str, what: str) -> Any:
    """``json.loads`` that refuses NaN and Infinity (not JSON; Python's parser allows them)."""

    def refuse(token: str):
        raise ValueError(f"{what}: {token} is not valid JSON (give a finite number)")

    return json.loads(text, parse_constant=refuse)


def finite(obj: Any) -> Any:
    """``obj`` with every non-finite float (NaN, +-Infinity) replaced by None, recursively."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def strict_dumps(obj: Any, **kwargs: Any) -> str:
    """Standard JSON only: non-finite numbers become null (``json.dumps`` would write NaN)."""
    return json.dumps(finite(obj), allow_nan=False, **kwargs)
