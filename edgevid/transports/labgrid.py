"""Lab devices shared by a team, reserved through labgrid (coordinator, exporters, places).

edgevid schedules nothing itself: it asks labgrid's coordinator for a reservation matching the
profile's place or tags, shows that it waits and where it is in the queue, locks the place once
the reservation is allocated, reads the place's ``NetworkService`` and runs over the existing
``ssh`` transport (device check, runner bundle, artifact cache: all the same). A place tagged
``transport=adb`` is reached with adb over TCP at the NetworkService's address:port (labgrid 26
has no adb resource). The place is unlocked and the reservation cancelled on success, failure,
Ctrl-C and SIGTERM (the CLI's ``release_all`` in ``cli/app.py``).

Why ``labgrid-client`` commands and not labgrid's Python client API: the commands are labgrid's
documented, stable interface (the one the admin types too), whereas ``labgrid.remote.client`` is an
internal asyncio/gRPC session; edgevid imports no gRPC and works with any labgrid-client on PATH.

After SIGKILL nothing in edgevid runs: a reservation still waiting or allocated but not locked
expires in labgrid (about 60 s without polls); a locked place stays locked (labgrid never expires
an acquired place). Every reservation edgevid makes is noted in a state file (pid, its start time,
token, place); the next edgevid on the same host and user unlocks and cancels those whose owner
process is gone, never one whose owner still runs. From another host: ``labgrid-client -p PLACE
unlock --kick`` (README, "Lab devices").
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from edgevid.errors import UserError
from edgevid.transports.labgrid_client import CLIENT, Client


_TAG = re.compile(r"^[a-z][a-z0-9_]*=[A-Za-z0-9_.-]+$")
_PLACE = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Want:
    """What to reserve: a place by name, or any place with these tags."""

    place: Optional[str] = None
    tags: tuple = ()  # (key, value) pairs

    def filters(self) -> list:
        return [f"name={self.place}"] if self.place else [f"{k}={v}" for k, v in self.tags]

    def describe(self) -> str:
        return f"place {self.place}" if self.place else " ".join(self.filters())


def parse_want(place, tags, where: str) -> Want:
    if place and tags:
        raise UserError(f"{where}: give a place or tags, not both")
    if place:
        if not _PLACE.match(str(place)):
            raise UserError(f"{where}: bad place name {place!r}")
        return Want(place=str(place))
    pairs = tuple(sorted((str(k), str(v)) for k, v in dict(tags or {}).items()))
    if not pairs or not all(_TAG.match(f"{k}={v}") for k, v in pairs):
        raise UserError(f"{where}: give a place name or tags like soc=orin-nano")
    return Want(tags=pairs)


def parse_device(text: str) -> Want:
    """``--device lab:soc=orin-nano[:ram=8g]`` (tags) or ``lab:PLACE`` (a place by name)."""
    body = text[len("lab:") :]
    if "=" not in body:
        return parse_want(body, None, f"--device {text}")
    pairs = [p.partition("=") for p in body.split(":") if p]
    return parse_want(None, {k: v for k, _, v in pairs}, f"--device {text}")


def coordinator_of(given: Optional[str]) -> str:
    address = given or os.environ.get("LG_COORDINATOR")
    if not address:
        raise UserError(
            "no labgrid coordinator: pass --coordinator HOST:PORT or set LG_COORDINATOR"
        )
    return address


# ---------------------------------------------------------------------------- owner records


def state_dir() -> Path:
    base = os.environ.get("EDGEVID_LAB_STATE") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"),
        "edgevid",
        "labgrid",
    )
    return Path(base)


def _started(pid: int) -> Optional[str]:
    """The process's start time (clock ticks since boot), or None if it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _note(key: str, **fields) -> Path:
    path = state_dir() / f"{key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text()) if path.is_file() else {}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**old, **fields}))
    os.replace(tmp, path)
    return path


def reap(client: Client, say: Callable[[str], None]) -> int:
    """Unlock and cancel what an edgevid killed without cleanup (SIGKILL) left on this
    coordinator: only records whose owner process is gone. Returns how many were freed."""
    freed = 0
    for path in sorted(state_dir().glob("*.json")) if state_dir().is_dir() else []:
        try:
            note = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if note.get("coordinator") != client.coordinator:
            continue
        if _started(int(note.get("pid", 0))) == note.get("started"):
            continue  # its owner still runs: never steal a live lock
        if note.get("place"):
            client.run("-p", note["place"], "unlock", check=False)
        client.run("cancel-reservation", note["token"], check=False)
        path.unlink(missing_ok=True)
        say(
            f"freed {note.get('place') or 'a reservation'} left by edgevid pid {note['pid']} "
            f"(it was killed before it could release)"
        )
        freed += 1
    return freed


# ---------------------------------------------------------------------------- reserve/lock


@dataclass
class Held:
    """A locked place: what the run needs to reach it, and what goes into the record's env."""

    token: str
    place: str
    tags: dict
    resource: dict  # the NetworkService's params
    exporter: str
    waited_s: float

    def fingerprint(self) -> dict:
        return {
            "place": self.place,
            "tags": self.tags,
            "exporter": self.exporter,
            "address": self.resource.get("address"),
        }


def _queue(client: Client, token: str, matching: dict) -> Optional[str]:
    """'2 of 3 in the queue; held by host/user' while ours waits, else None."""
    waiting = [r for r in client.reservations() if r.get("state") == "waiting"]
    pos = next((i for i, r in enumerate(waiting) if r["token"] == token), None)
    if pos is None:
        return None
    places = client.places()
    held = sorted(
        {p["acquired"] for n, p in places.items() if n in matching and p.get("acquired") != "None"}
    )
    return f"{pos + 1} of {len(waiting)} in the queue" + (
        f"; held by {', '.join(held)}" if held else ""
    )


def reserve(client: Client, want: Want, say: Callable[[str], None]) -> Held:
    """Reserve, wait (telling where it is in the queue), lock; the caller releases."""
    reap(client, say)
    places = client.places()
    matching = {n: p for n, p in places.items() if _matches(n, p, want)}
    if not matching:
        raise UserError(
            f"no labgrid place matches {want.describe()} on {client.coordinator} "
            f"(places: {', '.join(sorted(places)) or 'none'})"
        )
    t0 = time.monotonic()
    token = _token(client.run("reserve", "--shell", *want.filters()))
    _note(
        token,
        pid=os.getpid(),
        started=_started(os.getpid()),
        token=token,
        coordinator=client.coordinator,
        place=None,
    )
    place: Optional[str] = None
    try:
        _wait(client, token, matching, want, say)
        out = client.run("-p", f"+{token}", "lock")
        place = out.strip().split()[-1] if out.strip() else ""
        _note(token, place=place)
        say(f"locked place {place} after {time.monotonic() - t0:.1f} s")
        resources = client.resources(place)
        service = next((v for k, v in resources.items() if k.endswith("NetworkService")), None)
        if not service:
            raise UserError(
                f"labgrid place {place} has no NetworkService resource: add one to its "
                f"exporter and `labgrid-client -p {place} add-match EXPORTER/GROUP/NetworkService`"
            )
        name = next(k for k in resources if k.endswith("NetworkService"))
        params = dict(service.get("params") or {})
        proxy = (params.pop("extra", None) or {}).get("proxy")
        return Held(
            token,
            place,
            dict(places.get(place, {}).get("tags") or {}),
            params,
            f"{name.split('/')[0]}@{proxy}" if proxy else name.split("/")[0],
            round(time.monotonic() - t0, 3),
        )
    except BaseException:
        release(client, token, place)
        raise


def _matches(name: str, place: dict, want: Want) -> bool:
    if want.place:
        return name == want.place
    return all(place.get("tags", {}).get(k) == v for k, v in want.tags)


def _token(text: str) -> str:
    m = re.search(r"LG_TOKEN=(\S+)", text)
    if not m:
        raise UserError(f"labgrid: unexpected answer to reserve: {text.strip()[:200]}")
    return m.group(1)


def _wait(client: Client, token: str, matching: dict, want: Want, say) -> None:
    cmd = [CLIENT, "-x", client.coordinator, "wait", token]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        shown: Optional[str] = None
        while proc.poll() is None:
            line = _queue(client, token, matching)
            if line and line != shown:
                say(f"waiting for {want.describe()}: {line}")
                shown = line
            for _ in range(20):
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
        if proc.returncode != 0:
            why = (proc.stderr.read() if proc.stderr else "").strip().splitlines()
            raise UserError(
                f"labgrid: waiting for the reservation failed ({why[-1] if why else '?'})"
            )
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def release(client: Client, token: str, place: Optional[str]) -> None:
    """Unlock the place and cancel the reservation; errors are not fatal (the run is done)."""
    import signal

    old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if place:
            client.run("-p", place, "unlock", check=False)
        client.run("cancel-reservation", token, check=False)
        (state_dir() / f"{token}.json").unlink(missing_ok=True)
    except UserError as e:  # the coordinator is gone: the note stays for the next edgevid
        print(f"warning: could not release labgrid {place or token}: {e}", file=sys.stderr)
    finally:
        for s, h in old.items():
            signal.signal(s, h)


# ---------------------------------------------------------------------------- profiles


_HELD: list = []  # (client, Held) of this process, released by release_all()


def hold(profile, coordinator: Optional[str], say: Callable[[str], None]):
    """Reserve and lock the place of a ``connection: {type: labgrid}`` profile; returns the
    profile reaching it over ssh (or adb), with the place's fingerprint in ``profile.lab``."""
    import dataclasses

    conn = dict(profile.connection)
    where = f"device profile {profile.name}"
    want = parse_want(conn.get("place"), conn.get("tags"), where)
    client = Client(coordinator_of(coordinator or conn.get("coordinator")))
    held = reserve(client, want, say)
    _HELD.append((client, held))
    return dataclasses.replace(profile, connection=_reach(held, conn), lab=held.fingerprint())


def _reach(held: Held, conn: dict) -> dict:
    r = held.resource
    common = {k: conn[k] for k in ("python", "workdir", "connect_timeout_s") if k in conn}
    if held.tags.get("transport") == "adb":
        extra = {k: conn[k] for k in ("adb", "benchmark_model") if k in conn}
        return {
            "type": "adb",
            "serial": f"{r['address']}:{r.get('port') or 5555}",
            **common,
            **extra,
        }
    out = {"type": "ssh", "host": r["address"], **common}
    if r.get("port"):
        out["port"] = int(r["port"])
    user = conn.get("user") or r.get("username")
    if user:
        out["user"] = user
    out.update({k: conn[k] for k in ("key", "known_hosts", "ssh_config") if k in conn})
    return out


def release_all() -> None:
    """Release every place this process holds (the CLI calls it on every way out)."""
    while _HELD:
        client, held = _HELD.pop()
        release(client, held.token, held.place)
