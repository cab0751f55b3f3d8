"""`edgevid lab list` (places, tags, holders, the queue) and the reservation of lab devices for
`bench` (``hold_lab``): labgrid does the scheduling (edgevid/transports/labgrid.py)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape

from edgevid.cli.app import app
from edgevid.cli.common import err, out, print_json

lab_app = typer.Typer(
    help="Lab devices shared through labgrid: places, tags, holders, the queue.",
    no_args_is_help=True,
)
app.add_typer(lab_app, name="lab")

COORDINATOR_HELP = "labgrid coordinator HOST:PORT (default: LG_COORDINATOR)"


def hold_lab(profile, coordinator: Optional[str]):
    """The profile itself, or, for a labgrid place, the place reserved and locked (released when
    the command ends, however it ends: cli/app.py calls ``release_all``)."""
    if profile.connection.get("type") != "labgrid":
        return profile
    from edgevid.transports.labgrid import hold

    return hold(profile, coordinator, lambda m: err.print(f"[cyan]lab:[/] {escape(m)}"))


@lab_app.command("list", help="Places with their tags and holders, and the reservation queue.")
def list_(
    coordinator: Optional[str] = typer.Option(None, help=COORDINATOR_HELP),
    json_: bool = typer.Option(False, "--json", help="print JSON only"),
):
    from edgevid.report import to_terminal
    from edgevid.report.model import Cell, Column, Table
    from edgevid.transports.labgrid import Client, coordinator_of

    client = Client(coordinator_of(coordinator))
    places = client.places()
    queue = client.reservations()
    by_token = {r["token"]: r for r in queue}
    rows = []
    for name, p in sorted(places.items()):
        res = by_token.get(p.get("reservation") or "")
        rows.append(
            {
                "place": name,
                "tags": p.get("tags") or {},
                "holder": None if p.get("acquired") in (None, "None") else p["acquired"],
                "reserved_by": res["owner"] if res else None,
                "resources": p.get("matches") or [],
            }
        )
    waiting = [
        {
            "token": r["token"],
            "owner": r.get("owner"),
            "wants": r.get("filters") or "",
            "state": r.get("state"),
            "created": r.get("created"),
        }
        for r in queue
    ]
    if json_:
        print_json({"coordinator": client.coordinator, "places": rows, "reservations": waiting})
        return
    cols = [Column(k, k) for k in ("place", "tags", "holder", "reserved by", "resources")]
    cells = [
        [
            Cell(r["place"]),
            Cell(", ".join(f"{k}={v}" for k, v in sorted(r["tags"].items())) or "—"),
            Cell(r["holder"] or "free"),
            Cell(r["reserved_by"] or "—"),
            Cell(", ".join(r["resources"]) or "—"),
        ]
        for r in rows
    ]
    out.print(to_terminal.table(Table("places", cols, cells), f"places on {client.coordinator}"))
    qcols = [Column(k, k) for k in ("#", "owner", "wants", "state", "since")]
    qcells = [
        [
            Cell(str(i + 1)),
            Cell(str(r["owner"])),
            Cell(str(r["wants"])),
            Cell(str(r["state"])),
            Cell(str(r["created"])),
        ]
        for i, r in enumerate(waiting)
    ]
    out.print(to_terminal.table(Table("queue", qcols, qcells), "reservations (queue order)"))
