"""Render a report as one self-contained HTML page: inline CSS, a few lines of inline JavaScript
(sort a table by clicking a header, filter its rows by typing), figures as inline SVG. No CDN, no
font, no image, no request of any kind: the file opens offline.
"""

from __future__ import annotations

import html
import re

from edgevid.report.model import Figure, Report, Section, Table, Text

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222}
header{padding:16px 24px;background:#f4f6f8;border-bottom:1px solid #dde}
main{padding:8px 24px 40px}
h1{margin:0 0 6px;font-size:22px} h2{margin-top:28px;border-bottom:1px solid #ddd}
h3{margin-top:20px} h4{margin-top:14px}
.meta{color:#555;margin:2px 0}
.flag{background:#fff4d6;border:1px solid #e8c15a;padding:6px 10px;margin:6px 0;border-radius:4px}
nav a{margin-right:12px}
.table-wrap{overflow-x:auto;margin:8px 0 16px}
.filter{margin:4px 0;padding:3px 6px;width:260px}
.count{color:#666;font-size:12px;margin-left:8px}
table{border-collapse:collapse;font-size:12.5px}
caption{caption-side:bottom;text-align:left;color:#666;font-size:12px;padding-top:4px}
th,td{border:1px solid #ddd;padding:3px 7px;vertical-align:top;white-space:nowrap}
td.wrap{white-space:normal;min-width:9em;max-width:520px}
th{background:#eef1f4;cursor:pointer;user-select:none;position:sticky;top:0;white-space:normal;min-width:3em}
th[aria-sort=ascending]::after{content:" ▲"} th[aria-sort=descending]::after{content:" ▼"}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.tone-good{color:#17663a} td.tone-warn{color:#8a5a00;background:#fff8e6}
td.tone-bad{color:#a01515;background:#fdecec;font-weight:600} td.tone-muted{color:#888}
td[title]{text-decoration:underline dotted}
figure.plot{margin:12px 0 24px} figure.plot svg{max-width:100%;height:auto}
figcaption{color:#555;font-size:12px;max-width:900px}
code{background:#f0f0f0;padding:0 3px;border-radius:3px}
"""

JS = r"""
(function(){
  function val(td){var v=td.getAttribute('data-value');return v===null?td.textContent:v;}
  document.querySelectorAll('table.report-table').forEach(function(table){
    var heads=table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads,function(th,col){
      th.addEventListener('click',function(){
        var numeric=th.getAttribute('data-numeric')==='1';
        var asc=th.getAttribute('aria-sort')!=='ascending';
        Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});
        th.setAttribute('aria-sort',asc?'ascending':'descending');
        var body=table.tBodies[0];
        var rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(a,b){
          var x=val(a.cells[col]),y=val(b.cells[col]);
          if(numeric){
            var fx=parseFloat(x),fy=parseFloat(y),nx=isNaN(fx),ny=isNaN(fy);
            if(nx||ny){return nx===ny?0:(nx?1:-1);}
            return asc?fx-fy:fy-fx;
          }
          return asc?x.localeCompare(y):y.localeCompare(x);
        });
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
  document.querySelectorAll('input.filter').forEach(function(input){
    var table=document.getElementById(input.getAttribute('data-for'));
    var count=input.nextElementSibling;
    function apply(){
      var q=input.value.toLowerCase(),shown=0,rows=table.tBodies[0].rows;
      Array.prototype.forEach.call(rows,function(r){
        var hit=!q||r.textContent.toLowerCase().indexOf(q)>=0;
        r.style.display=hit?'':'none'; if(hit){shown++;}
      });
      count.textContent=shown+' of '+rows.length+' rows';
    }
    input.addEventListener('input',apply); apply();
  });
})();
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def inline(text: str) -> str:
    """Prose markup (``**bold**``, ```code```) as HTML, everything else escaped."""
    out = _e(text)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", out)


def table(t: Table) -> str:
    tid = f"t-{t.id}"
    head = "".join(
        f'<th data-key="{_e(c.key)}" data-numeric="{1 if c.numeric else 0}"'
        + (f' title="{_e(c.help)}"' if c.help else "")
        + f">{_e(c.label)}</th>"
        for c in t.columns
    )
    body = []
    for row in t.rows:
        tds = []
        for col, c in zip(t.columns, row):
            cls = " ".join(
                filter(
                    None,
                    [
                        "num" if col.numeric else "",
                        f"tone-{c.tone}" if c.tone else "",
                        "wrap" if len(c.text) > 20 else "",  # long text wraps: tables fit the page
                    ],
                )
            )
            value = "" if c.value is None else c.value
            attrs = f' data-value="{_e(value)}"' + (f' class="{cls}"' if cls else "")
            if c.note:
                attrs += f' title="{_e(c.note)}"'
            tds.append(f"<td{attrs}>{_e(c.text)}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    caption = f"<caption>{inline(t.caption)}</caption>" if t.caption else ""
    return (
        f'<div class="table-wrap"><input class="filter" type="search" data-for="{tid}" '
        f'placeholder="filter rows…" aria-label="filter {_e(t.id)}"><span class="count">'
        f'</span><table class="report-table" id="{tid}">{caption}<thead><tr>{head}</tr>'
        f"</thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def figure(f: Figure) -> str:
    from edgevid.report import svg

    return (
        f'<figure class="plot" id="fig-{_e(f.id)}" data-kind="{_e(f.kind)}">'
        f"{svg.render(f)}<figcaption><strong>{_e(f.title)}.</strong> {inline(f.caption)}"
        f"</figcaption></figure>"
    )


def text(t: Text) -> str:
    if t.bullets:
        return "<ul>" + "".join(f"<li>{inline(line)}</li>" for line in t.lines) + "</ul>"
    return "".join(f"<p>{inline(line)}</p>" for line in t.lines)


def _blocks(blocks, level: int) -> str:
    out = []
    for b in blocks:
        if isinstance(b, Section):
            h = min(level, 6)
            sid = f' id="{_e(b.id)}"' if b.id else ""
            out.append(
                f"<section{sid}><h{h}>{_e(b.title)}</h{h}>{_blocks(b.blocks, level + 1)}</section>"
            )
        elif isinstance(b, Table):
            out.append(table(b))
        elif isinstance(b, Text):
            out.append(text(b))
        elif isinstance(b, Figure):
            out.append(figure(b))
    return "".join(out)


def render(report: Report) -> str:
    nav = "".join(f'<a href="#{_e(s.id)}">{_e(s.title)}</a>' for s in report.sections if s.id)
    meta = "".join(f'<p class="meta">{inline(m)}</p>' for m in report.meta)
    flags = "".join(f'<div class="flag">{inline(f)}</div>' for f in report.flags)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(report.title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{_e(report.title)}</h1>{meta}{flags}<nav>{nav}</nav></header>"
        f"<main>{_blocks(report.sections, 2)}</main><script>{JS}</script></body></html>\n"
    )
