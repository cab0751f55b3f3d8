"""Choosing records from the results index: the selector ``compare`` takes for each side, and the
one WHERE clause both index backends run (``store.Index``: SQLite; ``db.DbIndex``: a server).

A selector is ``KEY=VALUE[,KEY=VALUE...]`` (``KEY:VALUE`` is the same, so ``rev:abc1234``
works); a value may list alternatives with ``|``. Keys:

* ``rev``: the git revision the record was measured at (``env.git_revision``). A short or full
  SHA matches either way (``abc1234`` matches ``abc1234def…`` and the reverse); a record made from
  a tree with uncommitted changes (``abc1234-dirty``) matches only ``rev=abc1234-dirty``.
* ``device``, ``model``, ``format``, ``precision``, ``variant``, ``status``: equal to the field.
* ``threads``: an integer.
* ``since`` / ``until``: ``created_at`` (UTC, ISO 8601) from / up to this one date or time,
  both inclusive at the precision given (``until=2026-03-01`` takes all of that day).

Example (a CI job: main's newest results against this PR's, on one board)::

    edgevid compare --db "$EDGEVID_DB" --fail-above 5% \\
        "rev=$(git rev-list -n 30 origin/main | paste -sd'|' -),device=jetson-nano" \\
        "rev=$GITHUB_SHA,device=jetson-nano"

The SQL narrows the rows (the indexed columns); :func:`matches` then decides on each record, so
both backends answer the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from edgevid.errors import UserError

#: selector key -> the index column it reads
COLUMN = {
    "rev": "git_revision",
    "device": "device",
    "model": "model",
    "format": "format",
    "precision": "precision",
    "variant": "variant",
    "status": "status",
    "threads": "threads",
    "since": "created_at",
    "until": "created_at",
}
_REV = re.compile(r"^[0-9a-fA-F]{4,64}(-dirty)?$")
_WHEN = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2})?)?)?$")
_TERM = re.compile(r"^\s*([a-z_]+)\s*[=:](.*)$")
DIRTY = "-dirty"


@dataclass(frozen=True)
class Selector:
    """``terms``: (key, alternatives) pairs, every term must hold (an empty selector: all)."""

    terms: tuple = ()
    text: str = ""

    @classmethod
    def of(cls, **fields) -> "Selector":
        """From keyword arguments; a None or empty value is left out."""
        terms = tuple(
            (k, tuple(v) if isinstance(v, (list, tuple, set)) else (v,))
            for k, v in fields.items()
            if v not in (None, "", (), [])
        )
        return cls(tuple((k, tuple(str(x) for x in sorted(vs, key=str))) for k, vs in terms))

    def __str__(self) -> str:
        return self.text or ",".join(f"{k}={'|'.join(v)}" for k, v in self.terms)


def looks_like_selector(text: str) -> bool:
    """A side of ``compare`` that is meant as a selector, not a path: ``word=`` or ``word:``
    first (a wrong key is then named by :func:`parse`, not taken for a missing file)."""
    return bool(_TERM.match(text))


def parse(text: str, what: str = "selector") -> Selector:
    """``rev=abc1234,device=jetson-nano`` -> a :class:`Selector`; a bad one is a UserError."""
    hint = f"{what} {text!r}: give KEY=VALUE[,KEY=VALUE...] with KEY one of {', '.join(COLUMN)}"
    terms, seen = [], set()
    for part in text.split(","):
        if not part.strip():
            continue
        m = _TERM.match(part)
        if not m or m.group(1) not in COLUMN:
            raise UserError(hint + (f" (not understood: {part.strip()!r})"))
        key = m.group(1)
        if key in seen:
            raise UserError(f"{what} {text!r}: {key} given twice; list alternatives as {key}=a|b")
        seen.add(key)
        values = tuple(v.strip() for v in m.group(2).split("|"))
        if key in ("since", "until") and len(values) > 1:
            raise UserError(f"{what} {text!r}: {key} takes one date or time")
        for v in values:
            _check(key, v, f"{what} {text!r}")
        terms.append((key, values))
    if not terms:
        raise UserError(hint)
    return Selector(tuple(terms), text)


def _check(key: str, value: str, where: str) -> None:
    if not value:
        raise UserError(f"{where}: {key} has an empty value")
    if key == "rev" and not _REV.match(value):
        raise UserError(f"{where}: rev {value!r} is not a git revision (4 to 64 hex digits)")
    if key in ("since", "until") and not _WHEN.match(value):
        raise UserError(f"{where}: {key} {value!r}: give a UTC date or time, e.g. 2026-03-01")
    if key == "threads" and not value.isdigit():
        raise UserError(f"{where}: threads {value!r} is not a whole number")


def where(selector: Selector) -> tuple:
    """``(sql, params)``: a WHERE condition (named ``:pN`` parameters, which sqlite3 and
    SQLAlchemy's ``text`` both take) that keeps at least every row :func:`matches` keeps."""
    parts: list = ["1=1"]
    args: dict = {}

    def arg(value) -> str:
        name = f"p{len(args)}"
        args[name] = value
        return f":{name}"

    for key, values in selector.terms:
        col = COLUMN[key]
        if key == "rev":  # narrowed on the first 4 digits; matches() decides
            alts = " OR ".join(f"{col} LIKE {arg(v[:4].lower() + '%')}" for v in values)
            parts.append(f"({alts})")
        elif key == "since":
            parts.append(f"{col} >= {arg(values[0])}")
        elif key == "until":
            parts.append(f"substr({col}, 1, {len(values[0])}) <= {arg(values[0])}")
        elif key == "threads":
            parts.append(f"{col} IN ({', '.join(arg(int(v)) for v in values)})")
        else:
            parts.append(f"{col} IN ({', '.join(arg(v) for v in values)})")
    return " AND ".join(parts), args


def rev_matches(stored: Optional[str], given: str) -> bool:
    """A record's revision against a selector's (see the module's doc)."""
    if not stored:
        return False
    stored, given = stored.lower(), given.lower()
    if stored.endswith(DIRTY) != given.endswith(DIRTY):
        return False
    s, g = stored.removesuffix(DIRTY), given.removesuffix(DIRTY)
    return s.startswith(g) or g.startswith(s)


def field_of(record: dict, key: str):
    if key == "rev":
        return (record.get("env") or {}).get("git_revision")
    if key in ("since", "until"):
        return record.get("created_at")
    if key == "variant":
        return record.get("variant") or ""
    return record.get(key)


def matches(selector: Selector, record: dict) -> bool:
    """Whether ``record`` is selected (every term holds)."""
    for key, values in selector.terms:
        have = field_of(record, key)
        if key == "rev":
            ok = any(rev_matches(have, v) for v in values)
        elif key == "since":
            ok = bool(have) and str(have) >= values[0]
        elif key == "until":
            ok = bool(have) and str(have)[: len(values[0])] <= values[0]
        else:
            ok = have is not None and str(have) in values
        if not ok:
            return False
    return True


def find_sql(selector: Selector) -> tuple:
    """``(sql, params)``: the rows (path, json) a selector may want, oldest first."""
    cond, args = where(selector)
    return f"SELECT path, json FROM results WHERE {cond} ORDER BY created_at, id", args


def chosen(rows, selector: Selector, with_path: bool = False) -> list:
    """The records of ``(path, json)`` rows that :func:`matches` keeps; ``with_path``: each
    carries its file's path as ``result_path`` (where it was saved, maybe another machine)."""
    import json

    out = []
    for path, text in rows:
        record = json.loads(text)
        if matches(selector, record):
            if with_path:
                record.setdefault("result_path", path)
            out.append(record)
    return out
