"""Render a report as GitHub-flavoured markdown: sections as headings, tables as pipe tables.

Cell tones: ``bad`` is bold, ``warn`` italic; figures are named (they are drawn in the HTML
report).
"""

from __future__ import annotations

from edgevid.report.model import Figure, Report, Section, Table, Text


def _esc(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def cell(c) -> str:
    text = _esc(c.text)
    if not text:
        return ""
    if c.tone == "bad":
        return f"**{text}**"
    if c.tone == "warn":
        return f"*{text}*"
    return text


def table(t: Table) -> str:
    lines = [
        "| " + " | ".join(_esc(c.label) for c in t.columns) + " |",
        "|" + "|".join("---:" if c.numeric else "---" for c in t.columns) + "|",
    ]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in t.rows]
    if t.caption:
        lines += ["", f"*{_esc(t.caption)}*"]
    return "\n".join(lines)


def text(t: Text) -> str:
    return "\n".join((f"- {line}" if t.bullets else line) for line in t.lines)


def figure(f: Figure) -> str:
    return f"*Figure: {f.title} (drawn in the HTML report). {f.caption}*"


def _blocks(blocks, level: int) -> list:
    out = []
    for b in blocks:
        if isinstance(b, Section):
            out += [f"{'#' * min(level, 6)} {b.title}", ""] + _blocks(b.blocks, level + 1)
            continue
        if isinstance(b, Table):
            out.append(table(b))
        elif isinstance(b, Text):
            out.append(text(b))
        elif isinstance(b, Figure):
            out.append(figure(b))
        out.append("")
    return out


def render(report: Report) -> str:
    lines = [f"# {report.title}", ""]
    lines += [m for m in report.meta] + ([""] if report.meta else [])
    lines += [f"> **Note:** {flag}" for flag in report.flags] + ([""] if report.flags else [])
    lines += _blocks(report.sections, 2)
    return "\n".join(lines).rstrip() + "\n"
