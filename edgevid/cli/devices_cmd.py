"""`edgevid devices` (list the profiles), `devices check`, `devices trust`, `devices cache`,
`devices prune`."""

from __future__ import annotations

import sys
from typing import List, Optional

import typer
from rich.markup import escape
from rich.table import Table

from edgevid.cli.app import app
from edgevid.cli.common import err, out, print_json
from edgevid.errors import UserError

devices_app = typer.Typer(
    help="Device profiles (device_profiles/*.yaml) and the devices "
    "themselves: check, trust, cache.",
    no_args_is_help=False,
    invoke_without_command=True,
)
app.add_typer(devices_app, name="devices")


def _profile(name: str, host: Optional[str] = None):
    from edgevid.run.profiles import get_profile

    profile = get_profile(name)
    return with_host(profile, host) if host else profile


def with_host(profile, host: str):
    """The profile reached at ``--host user@addr[:port]`` instead of its connection's host."""
    import dataclasses

    from edgevid.transports import connection_of, parse_host

    try:
        conn = parse_host(host, connection_of(profile))
        return dataclasses.replace(profile, connection=conn.to_dict())
    except ValueError as e:
        raise UserError(str(e)) from None


def _transport(profile):
    from edgevid.transports import for_profile

    return for_profile(profile)


@devices_app.callback()
def devices(
    ctx: typer.Context, json_: bool = typer.Option(False, "--json", help="print JSON only")
):
    """List device profiles (without a subcommand)."""
    if ctx.invoked_subcommand is not None:
        return
    from edgevid.run.profiles import list_profiles
    from edgevid.transports import connection_of

    rows = [
        {
            "name": p.name,
            "description": p.description,
            "arch": p.arch,
            "os": p.os,
            "connection": dict(p.connection),
            "threads": p.threads,
            "formats": [f"{e.format}:{e.precision}" for e in p.formats],
            "path": str(p.path),
        }
        for p in list_profiles()
    ]
    if json_:
        print_json(rows)
        return
    t = Table(title="device profiles")
    for col in ("name", "connection", "arch", "threads", "formats", "description"):
        t.add_column(col, overflow="fold")
    for r, p in zip(rows, list_profiles()):
        t.add_row(
            r["name"],
            connection_of(p).describe(),
            r["arch"],
            str(r["threads"] or "default"),
            ", ".join(r["formats"]),
            r["description"],
        )
    out.print(t)


@devices_app.command(
    help="Reach the device and report what it has: arch, OS, Python, numpy, "
    "runtimes with their providers/devices, free disk, thermal zones and "
    "clocks, Jetson power mode, Raspberry Pi throttling."
)
def check(
    name: str = typer.Argument(..., help="device profile name or YAML file"),
    host: Optional[str] = typer.Option(None, help="user@addr[:port] instead of the profile's host"),
    json_: bool = typer.Option(False, "--json", help="print JSON only"),
):
    profile = _profile(name, host)
    transport = _transport(profile)
    with err.status(f"checking {profile.name} ({transport.conn.describe()})…"):
        probe = transport.check(quick=False)
    formats = []
    for e in profile.formats:
        why = transport.missing(e)
        formats.append(
            {
                "format": e.format,
                "precision": e.precision,
                "options": e.options,
                "runnable": not why,
                "reason": why,
            }
        )
    report = {
        "device": profile.name,
        "connection": dict(profile.connection),
        "probe": probe,
        "formats": formats,
    }
    if json_:
        print_json(report)
        return
    _print_check(report)


def _print_check(r: dict) -> None:
    p = r["probe"]
    gib = (p.get("disk_free_bytes") or 0) / 2**30
    lines = [
        ("device", f"{r['device']} ({r['connection'].get('type')})"),
        (
            "system",
            f"{p.get('os_release') or p.get('os')} {p.get('arch')}, kernel "
            f"{p.get('kernel')}" + (f", {p['device_model']}" if p.get("device_model") else ""),
        ),
        ("python", f"{p.get('python') or 'none'}  numpy {p.get('numpy') or 'none'}"),
        (
            "work dir",
            f"{p.get('workdir')}: {gib:.1f} GiB free"
            if p.get("disk_free_bytes") is not None
            else str(p.get("workdir")),
        ),
    ]
    for name, rt in (p.get("runtimes") or {}).items():
        extra = (
            rt.get("providers")
            or rt.get("devices")
            or rt.get("delegates")
            or rt.get("compute_units")
            or ([f"trtexec {rt['trtexec']}"] if rt.get("trtexec") else [])
        )
        lines.append((name, f"{rt.get('version') or '?'}  " + ", ".join(map(str, extra))))
    zones = p.get("thermal_zones") or []
    lines.append(
        (
            "thermal",
            f"{len(zones)} readable zone(s)"
            + (
                ": "
                + ", ".join(f"{z.get('type') or z['path']} {z['temp_c']:.0f} C" for z in zones[:6])
                if zones
                else " (none readable)"
            ),
        )
    )
    clocks = p.get("clocks") or []
    lines.append(
        (
            "clocks",
            f"{len(clocks)} readable CPU clock(s)"
            + (
                f", {min(c['mhz'] for c in clocks):.0f}-{max(c['mhz'] for c in clocks):.0f} MHz"
                if clocks
                else " (none readable)"
            ),
        )
    )
    if p.get("jetson"):
        j = p["jetson"]
        lines.append(
            (
                "jetson",
                f"{j.get('l4t') or ''} nvpmodel: {_cmd_out(j.get('nvpmodel'))}; "
                f"jetson_clocks: {_cmd_out(j.get('jetson_clocks'))}",
            )
        )
    if p.get("raspberry_pi"):
        thr = _cmd_out(p["raspberry_pi"].get("throttled"))
        lines.append(("raspberry pi", f"get_throttled: {thr}"))
    cache = p.get("cache") or {}
    lines.append(
        (
            "cache",
            f"{len(cache.get('artifacts') or [])} artifact(s), "
            f"{len(cache.get('bundles') or [])} runner bundle(s)",
        )
    )
    for key, value in lines:
        out.print(f"[bold]{key:>12}[/]  {escape(value)}", highlight=False, soft_wrap=True)
    for f in r["formats"]:
        mark = "[green]✓[/]" if f["runnable"] else "[red]✗[/]"
        out.print(
            f"{'':>12}  {mark} {f['format']} {f['precision']} "
            f"{escape(str(f['options'] or ''))} {escape(f['reason'])}",
            highlight=False,
            soft_wrap=True,
        )


def _cmd_out(v) -> str:
    if v is None:
        return "not available"
    if isinstance(v, dict):
        return (v.get("output") or "").replace("\n", " / ")[:200] + (
            "" if v.get("ok") else " (failed)"
        )
    return str(v)


@devices_app.command(
    help="Trust the device's SSH host key: shows its fingerprint, and adds it "
    "to known_hosts once you confirm (or pass --fingerprint to match)."
)
def trust(
    name: str = typer.Argument(..., help="device profile name or YAML file"),
    host: Optional[str] = typer.Option(None, help="user@addr[:port]"),
    fingerprint: Optional[str] = typer.Option(None, help="expected SHA256:... fingerprint"),
    yes: bool = typer.Option(False, "--yes", help="trust without asking"),
):
    profile = _profile(name, host)
    transport = _transport(profile)
    if transport.conn.type != "ssh":
        raise UserError(f"device {profile.name!r} is not reached over ssh")
    lines, fps = transport.host_key()
    if not lines:
        raise UserError(
            f"could not read the host key of {profile.name!r} "
            f"({transport.conn.describe()}): is the device up?"
        )
    for f in fps:
        err.print(f"host key of {profile.name}: {escape(f)}")
    if fingerprint:
        if not any(fingerprint in f.split() for f in fps):
            raise UserError(
                f"the device presents {', '.join(f.split()[1] for f in fps)}, not "
                f"{fingerprint}: refused"
            )
    elif not yes:
        if not sys.stdin.isatty():
            raise UserError("confirm with --yes or --fingerprint SHA256:... (no terminal to ask)")
        if not typer.confirm(
            "Is this the device's key (there: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub)?"
        ):
            raise typer.Exit(1)
    path = transport.trust(lines)
    err.print(f"[green]✓[/] added to {path}")


@devices_app.command(help="List the artifacts and runner bundles cached on the device.")
def cache(
    name: str = typer.Argument(..., help="device profile name or YAML file"),
    host: Optional[str] = typer.Option(None, help="user@addr[:port]"),
    json_: bool = typer.Option(False, "--json", help="print JSON only"),
):
    rows = _transport(_profile(name, host)).cache()
    if json_:
        print_json(rows)
        return
    t = Table(title=f"cache on {name}")
    for c in ("kind", "key", "KiB", "what"):
        t.add_column(c)
    for r in rows:
        t.add_row(
            r["kind"],
            r["key"],
            str(r["kb"]),
            r["label"] + (" (current)" if r.get("current") else ""),
        )
    out.print(t)


@devices_app.command(
    help="Remove cached artifacts (and old runner bundles) from the device: "
    "the KEYs named, or with --all everything but the current bundle."
)
def prune(
    name: str = typer.Argument(..., help="device profile name or YAML file"),
    keys: List[str] = typer.Argument(None, help="cache keys (see `devices cache`)"),
    all_: bool = typer.Option(False, "--all", help="every artifact and old bundle"),
    host: Optional[str] = typer.Option(None, help="user@addr[:port]"),
    json_: bool = typer.Option(False, "--json", help="print JSON only"),
):
    if not keys and not all_:
        raise UserError("name cache keys to remove, or pass --all")
    removed = _transport(_profile(name, host)).prune(None if all_ else list(keys))
    if json_:
        print_json({"removed": removed})
    else:
        err.print(f"removed {len(removed)} item(s)")
