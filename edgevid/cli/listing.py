"""Listings: the zoo, the device profiles, the backend table."""

from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from edgevid.cli.app import app
from edgevid.cli.common import out, print_json
from edgevid.errors import UserError
from edgevid.models.registry import ARCH_CLASSES
from edgevid.models.stats import COUNTING_CONVENTION


def filter_class(specs: list, class_: Optional[str]) -> list:
    """Keep the specs of one study class (``--class``); a bad class name is exit 2."""
    if class_ is None:
        return specs
    if class_ not in ARCH_CLASSES:
        raise UserError(f"unknown class {class_!r}: choose one of {', '.join(ARCH_CLASSES)}")
    return [s for s in specs if s.arch_class == class_]


@app.command(help=f"List the model zoo. {COUNTING_CONVENTION}.")
def models(
    json_: bool = typer.Option(False, "--json", help="print JSON only"),
    all_: bool = typer.Option(False, "--all", help="include tiny test configurations"),
    class_: Optional[str] = typer.Option(
        None, "--class", help="only this class: " + ", ".join(ARCH_CLASSES)
    ),
):
    from dataclasses import asdict

    from edgevid.models import list_models
    from edgevid.models.stats import spec_stats

    rows: list = []
    for spec in filter_class(list_models(include_hidden=all_), class_):
        st = spec_stats(spec)
        rows.append(
            {
                "name": spec.name,
                "family": spec.family,
                "class": spec.arch_class,
                "input": list(spec.input),
                "num_classes": spec.num_classes,
                "params": st.params,
                "gflops": round(st.gflops, 3),
                "paper_params_m": spec.paper_params_m,
                "paper_gflops": spec.paper_gflops,
                "default": spec.default,
                "source": spec.source,
                "accuracy": asdict(spec.accuracy) if spec.accuracy else None,
            }
        )
    if json_:
        print_json(rows)
        return
    t = Table(title="edgevid model zoo", caption=COUNTING_CONVENTION)
    for col in (
        "name",
        "class",
        "input (C,T,H,W)",
        "params (M)",
        "GFLOPs",
        "paper M / G",
        "top-1 (views)",
        "source",
    ):
        t.add_column(col, overflow="fold")
    for r in rows:
        paper = f"{r['paper_params_m'] or '—'} / {r['paper_gflops'] or '—'}"
        acc = r["accuracy"]
        top1 = f"{acc['top1']} {acc['dataset']} ({acc['views']})" if acc else "—"
        t.add_row(
            r["name"] + (" *" if r["default"] else ""),
            r["class"],
            "x".join(map(str, r["input"])),
            f"{r['params'] / 1e6:.2f}",
            f"{r['gflops']:.2f}",
            paper,
            top1,
            r["source"],
        )
    out.print(t)
    out.print("* the family's default variant (a family name alone means it)")


@app.command(help="List the target formats (the backend table).")
def formats(json_: bool = typer.Option(False, "--json", help="print JSON only")):
    from edgevid.backends import BACKENDS

    rows = [
        {
            "name": b.name,
            "suffix": b.suffix,
            "exporter": b.exporter,
            "from": b.source,
            "runner": b.runner,
            "extra": b.extra,
            "precisions": list(b.precisions),
            "devices": list(b.devices),
            "aliases": list(b.aliases),
            "installed": not b.missing_packages(),
            "description": b.description,
            "export_options": {
                k: {"kind": o.kind, "choices": list(o.choices), "help": o.help}
                for k, o in b.export_options().items()
            },
        }
        for b in BACKENDS
    ]
    if json_:
        print_json(rows)
        return
    t = Table(title="target formats")
    for col in (
        "format",
        "suffix",
        "from",
        "runner",
        "precisions",
        "extra",
        "installed",
        "--export-opt",
    ):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r["name"],
            r["suffix"],
            r["from"],
            r["runner"],
            ", ".join(r["precisions"]),
            escape(f"edgevid[{r['extra']}]"),
            "yes" if r["installed"] else "no",
            ", ".join(
                f"{k}=" + ("|".join(o["choices"]) if o["choices"] else o["kind"])
                for k, o in r["export_options"].items()
            ),
        )
    out.print(t)
