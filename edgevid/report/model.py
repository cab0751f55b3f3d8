"""The report model: plain, small data classes that every renderer reads.

A :class:`Report` is a title, a few lines of metadata, flags that must be seen (a reduced input,
say), and :class:`Section` s. A section holds blocks in order: :class:`Text`, :class:`Table`,
:class:`Figure` or a nested :class:`Section`. A table cell carries its display text, its raw value
(for sorting, CSV and JSON) and a *tone* (``good`` / ``warn`` / ``bad`` / ``muted``): structure,
not styling. The markdown renderer makes a ``bad`` cell bold, the terminal red, the HTML page a CSS
class; no renderer parses another's markup.

A :class:`Figure` is data (plain lists and dicts), never a drawing: the HTML renderer draws it
(``edgevid.report.svg``), the markdown and terminal renderers name it, the JSON renderer dumps it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterator, List, Optional, Union

TONES = ("good", "warn", "bad", "muted")


@dataclass
class Cell:
    text: str
    value: Any = None  # number, string or None: what sorting, CSV and JSON use
    tone: Optional[str] = None  # one of TONES, or None
    note: str = ""  # the longer story (a failure's reason): a tooltip, a footnote

    @classmethod
    def of(
        cls,
        value: Any,
        digits: int = 2,
        tone: Optional[str] = None,
        note: str = "",
        suffix: str = "",
    ) -> Cell:
        """A number shown with ``digits`` decimals ("—" for None), its value kept."""
        if value is None:
            return cls("—", None, tone, note)
        if isinstance(value, float):
            if value != value:  # NaN
                return cls("—", None, tone, note)
            return cls(f"{value:.{digits}f}{suffix}", value, tone, note)
        return cls(f"{value}{suffix}", value, tone, note)


@dataclass
class Column:
    key: str
    label: str
    numeric: bool = False
    help: str = ""


@dataclass
class Table:
    id: str
    columns: List[Column]
    rows: List[List[Cell]] = field(default_factory=list)
    caption: str = ""

    def column(self, key: str) -> int:
        return [c.key for c in self.columns].index(key)

    def values(self, key: str) -> list:
        i = self.column(key)
        return [r[i].value for r in self.rows]


@dataclass
class Figure:
    id: str
    kind: str  # distribution | scatter | pareto | heatmap | trace | stream
    title: str
    data: dict
    caption: str = ""


@dataclass
class Text:
    lines: List[str]
    bullets: bool = False


Block = Union[Text, Table, Figure, "Section"]


@dataclass
class Section:
    title: str
    blocks: List[Any] = field(default_factory=list)
    id: str = ""

    def add(self, *blocks) -> Section:
        self.blocks.extend(b for b in blocks if b is not None)
        return self


@dataclass
class Report:
    title: str
    meta: List[str] = field(default_factory=list)
    flags: List[str] = field(default_factory=list)  # shown at the top by every renderer
    sections: List[Section] = field(default_factory=list)
    data: Optional[Table] = None  # one row per result, every field: what CSV writes

    def walk(self) -> Iterator[Any]:
        """Every block, depth first, in document order (sections included)."""

        def visit(blocks):
            for b in blocks:
                yield b
                if isinstance(b, Section):
                    yield from visit(b.blocks)

        yield from visit(self.sections)

    def tables(self) -> List[Table]:
        return [b for b in self.walk() if isinstance(b, Table)]

    def figures(self) -> List[Figure]:
        return [b for b in self.walk() if isinstance(b, Figure)]

    def to_dict(self) -> dict:
        return asdict(self)


def _block(d: dict):
    if "blocks" in d:
        return Section(d["title"], [_block(b) for b in d["blocks"]], d.get("id", ""))
    if "columns" in d:
        return Table(
            d["id"],
            [Column(**c) for c in d["columns"]],
            [[Cell(**c) for c in row] for row in d["rows"]],
            d.get("caption", ""),
        )
    if "kind" in d:
        return Figure(**d)
    return Text(**d)


def report_from_dict(d: dict) -> Report:
    """The inverse of :meth:`Report.to_dict` (e.g. of `edgevid report --json` output)."""
    data = d.get("data")
    return Report(
        d["title"],
        list(d.get("meta", [])),
        list(d.get("flags", [])),
        [_block(s) for s in d.get("sections", [])],
        _block(data) if data else None,
    )
