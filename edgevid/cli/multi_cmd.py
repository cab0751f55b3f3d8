"""`edgevid bench MODEL --device a,b`: several devices at once, a progress line per device."""

from __future__ import annotations

import typer
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from edgevid.cli import timing_opts
from edgevid.cli.common import err, print_json
from edgevid.errors import UserError


def bench_many(a: dict):
    """The bench command's arguments (its locals) for a comma-separated --device."""
    from edgevid.run.bench import BenchConfig, entries_for
    from edgevid.cli.common import parse_cpus, results_table
    from edgevid.models import list_models
    from edgevid.models.ref import parse_shape, resolve
    from edgevid.run.multi import bench_devices
    from edgevid.run.profiles import get_profile

    names = [d.strip() for d in a["device"].split(",") if d.strip()]
    if len(set(names)) != len(names):
        raise UserError(f"--device names a device twice: {a['device']}")
    from edgevid.cli.lab_cmd import hold_lab

    profiles = [get_profile(n) for n in names]
    names = [p.name for p in profiles]
    if len(set(names)) != len(names):
        raise UserError(f"two of the devices have the same profile name: {', '.join(names)}")
    if a.get("host"):
        raise UserError("--host applies to one device; give each device its own profile")
    # each lab place reserved and locked (in name order: two runs never wait on each other)
    held = {
        p.name: hold_lab(p, a.get("coordinator")) for p in sorted(profiles, key=lambda p: p.name)
    }
    profiles = [held[p.name] for p in profiles]
    models = list(a["models_"] or [])
    if a["all_"]:
        from edgevid.run.stream import for_scenario

        models += for_scenario([s.name for s in list_models()], a["scenario"])
    if not models:
        raise UserError("name a model (see `edgevid models`) or pass --all")
    from edgevid.run.config import parse_export_opts, timing_policy

    shape = parse_shape(a["input_shape"]) if a["input_shape"] else None
    knobs = timing_opts.overrides(a)
    cpus = parse_cpus(a["pin"]) if a["pin"] else []
    opts = parse_export_opts(a["export_opt"])
    entries = {p.name: entries_for(p, a["to"], a["precision"], opts) for p in profiles}
    # here, not in the threads: the zoo's registry is not thread-safe
    refs = {
        p.name: [resolve(m, shape or p.input_shapes.get(m), a["weights"]) for m in models]
        for p in profiles
    }
    if a["stream"] is not None:  # every model checked before any export
        from edgevid.run.stream import stream_ref

        refs = {n: [stream_ref(r, a["stream"]) for r in rs] for n, rs in refs.items()}
    cfgs = {
        p.name: BenchConfig(
            threads=a["threads"],
            policy=timing_policy(p, knobs),
            artifacts=a["artifacts"],
            results=a["results_dir"],
            db=a["index"],
            cpus=cpus,
            stream=a["stream"],
        )
        for p in profiles
    }

    def cfg_for(p):
        return cfgs[p.name]

    lines = {p.name: "starting…" for p in profiles}
    counts = {p.name: 0 for p in profiles}
    total = {p.name: len(models) * len(entries[p.name]) for p in profiles}

    def table():
        t = Table.grid(padding=(0, 2))
        for n in names:
            t.add_row(f"[bold]{escape(n)}[/]", f"[{counts[n]}/{total[n]}]", escape(lines[n]))
        return t

    with Live(table(), console=err, refresh_per_second=4, transient=False) as live:

        def progress(dev, msg):
            lines[dev] = msg[:120]
            live.update(table())

        def on_result(r):
            counts[r["device"]] = counts.get(r["device"], 0) + 1
            s = r.get("summary") or {}
            lines[r["device"]] = (
                f"✓ {r['model']} {r['format']} {r['precision']}: p50 {s['p50']:.2f} ms"
                if r["status"] == "ok"
                else f"✗ {r['model']} {r['format']}: {r['status']}"
            )
            live.update(table())

        records, errors = bench_devices(
            lambda p: refs[p.name],
            profiles,
            lambda p: entries[p.name],
            cfg_for,
            on_result,
            progress,
        )
    for dev, msg in errors.items():
        err.print(f"[red]error:[/] {escape(dev)}: {escape(msg)}", soft_wrap=True)
    if a["json_"]:
        print_json(records)
    elif records:
        results_table(records, a["wide"])
    if errors and not records:
        raise UserError(f"no device ran: {', '.join(errors)}")
    failed = [r for r in records if r["status"] != "ok"]
    if failed or errors:
        err.print(
            f"[red]{len(failed)} of {len(records)} configuration(s) did not run"
            + (f"; {len(errors)} device(s) failed" if errors else "")
            + "[/]"
        )
        raise typer.Exit(1)
