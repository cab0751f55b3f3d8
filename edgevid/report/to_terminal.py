"""Render a report (or one table) for the terminal with rich: tones become colours."""

from __future__ import annotations

import re

from rich.markup import escape
from rich.rule import Rule
from rich.table import Table as RichTable

from edgevid.report.model import Figure, Report, Section, Table, Text

STYLE = {"good": "green", "warn": "yellow", "bad": "red", "muted": "dim"}
SHORT = 16  # columns whose cells are this long or shorter keep them whole


def inline(text: str) -> str:
    """Prose markup (``**bold**``, ```code```) as rich markup, everything else escaped."""
    parts = re.split(r"(\*\*[^*]+\*\*|`[^`]+`)", text)
    out = []
    for p in parts:
        if p.startswith("**") and p.endswith("**") and len(p) > 4:
            out.append(f"[bold]{escape(p[2:-2])}[/]")
        elif p.startswith("`") and p.endswith("`") and len(p) > 2:
            out.append(f"[cyan]{escape(p[1:-1])}[/]")
        else:
            out.append(escape(p))
    return "".join(out)


def table(t: Table, title: str = "") -> RichTable:
    rt = RichTable(title=title or None, caption=t.caption or None)
    for i, c in enumerate(t.columns):
        # Short cells (names, shapes, numbers) stay whole: the width a narrow terminal lacks is
        # taken from headers and the columns of long text (reasons, notes), which fold.
        longest = max((len(row[i].text) for row in t.rows if i < len(row)), default=0)
        rt.add_column(
            c.label,
            justify="right" if c.numeric else "left",
            overflow="fold",
            min_width=longest if longest <= SHORT else None,
        )
    for row in t.rows:
        rt.add_row(
            *(
                f"[{STYLE[c.tone]}]{escape(c.text)}[/]" if c.tone in STYLE else escape(c.text)
                for c in row
            )
        )
    return rt


def _blocks(console, blocks) -> None:
    for b in blocks:
        if isinstance(b, Section):
            console.print(Rule(escape(b.title), align="left"))
            _blocks(console, b.blocks)
        elif isinstance(b, Table):
            console.print(table(b))
        elif isinstance(b, Text):
            for line in b.lines:
                console.print(("• " if b.bullets else "") + inline(line), highlight=False)
        elif isinstance(b, Figure):
            console.print(f"[dim]figure: {escape(b.title)} (in the HTML report)[/]")


def render(report: Report, console) -> None:
    console.print(f"[bold]{escape(report.title)}[/]")
    for m in report.meta:
        console.print(inline(m), highlight=False)
    for flag in report.flags:
        console.print(f"[yellow]note:[/] {inline(flag)}", highlight=False)
    _blocks(console, report.sections)
