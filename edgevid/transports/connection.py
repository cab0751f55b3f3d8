"""The ``connection`` mapping of a device profile, validated into a typed :class:`Connection`.

``profiles.py`` calls :func:`parse_connection` with the profile's mapping and a ``bad(field,
why)`` function that makes the error naming the file and field. Everything that later reaches a
remote command line (host, user, paths) is checked here against a conservative character set, and
quoted again where it is used: a profile cannot smuggle a shell command onto the device.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Optional

TYPES = ("local", "ssh", "adb", "manual", "labgrid")
FIELDS = {
    "local": set(),
    "ssh": {
        "host",
        "user",
        "port",
        "key",
        "python",
        "workdir",
        "connect_timeout_s",
        "known_hosts",
        "ssh_config",
    },
    "adb": {"serial", "python", "workdir", "connect_timeout_s", "adb", "benchmark_model"},
    "manual": {"instructions"},
    # a place reserved through labgrid (transports/labgrid.py), then reached over ssh or adb
    "labgrid": {
        "place",
        "tags",
        "coordinator",
        "user",
        "key",
        "known_hosts",
        "ssh_config",
        "python",
        "workdir",
        "connect_timeout_s",
        "adb",
        "benchmark_model",
    },
}
DEFAULT_WORKDIR = {"ssh": "~/edgevid", "adb": "/data/local/tmp/edgevid"}
DEFAULT_TIMEOUT_S = 10.0
NO_PYTHON = ("none", "null", "")

_HOST = re.compile(r"^[A-Za-z0-9_.:%\[\]-]+$")  # a name, an IPv4/IPv6 address or an alias
_USER = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.-]*$")
_PATH = re.compile(r"^[A-Za-z0-9_./~+@%=,-]+$")  # no spaces, quotes, $, ;, |, &, backticks
_SERIAL = re.compile(r"^[A-Za-z0-9_.:-]+$")
_TAGK = re.compile(r"^[a-z][a-z0-9_]*$")  # labgrid's tag keys


@dataclass(frozen=True)
class Connection:
    type: str = "local"
    host: Optional[str] = None
    user: Optional[str] = None
    port: Optional[int] = None
    key: Optional[str] = None  # identity file on the host (ssh -i)
    python: Optional[str] = "python3"  # the device's Python; None: no Python (native tools only)
    workdir: str = ""  # where the runner bundle and the artifact cache live
    connect_timeout_s: float = DEFAULT_TIMEOUT_S
    known_hosts: Optional[str] = None  # a known_hosts file other than ssh's default
    ssh_config: Optional[str] = None  # an ssh_config file other than ~/.ssh/config (ssh -F)
    serial: Optional[str] = None  # adb device serial
    adb: str = "adb"  # the adb program on the host
    benchmark_model: Optional[str] = None  # LiteRT's benchmark_model binary, on the host
    instructions: Optional[str] = None  # manual: what the user does (e.g. Xcode)
    place: Optional[str] = None  # labgrid: a place by name
    tags: tuple = ()  # labgrid: (key, value) pairs a place must have
    coordinator: Optional[str] = None  # labgrid: HOST:PORT (else --coordinator, LG_COORDINATOR)

    @property
    def target(self) -> str:
        """``user@host`` as given to ssh (the host may be an alias from ~/.ssh/config)."""
        return f"{self.user}@{self.host}" if self.user else str(self.host)

    def describe(self) -> str:
        if self.type == "ssh":
            return f"ssh {self.target}" + (f":{self.port}" if self.port else "")
        if self.type == "adb":
            return f"adb {self.serial or '(the one attached device)'}"
        if self.type == "labgrid":
            what = self.place or " ".join(f"{k}={v}" for k, v in self.tags)
            return f"labgrid {what}"
        return self.type

    def to_dict(self) -> dict:
        """The profile mapping this connection comes from (its type's fields, where set)."""
        out: dict = {"type": self.type}
        for k in sorted(FIELDS[self.type]):
            v = getattr(self, k)
            if v is not None and v != "" and v != () and not (k == "adb" and v == "adb"):
                out[k] = dict(v) if k == "tags" else v
        if self.type in ("ssh", "adb") and self.python is None:
            out["python"] = "none"
        return out


def parse_connection(data, bad: Callable[[str, str], Exception]) -> Connection:
    """Validate a profile's ``connection`` mapping; ``bad(field, why)`` builds the error."""
    if not isinstance(data, dict) or data.get("type") not in TYPES:
        raise bad("connection.type", f"must be one of {', '.join(TYPES)}")
    kind = data["type"]
    for key in data:
        if key != "type" and key not in FIELDS[kind]:
            raise bad(
                f"connection.{key}",
                f"is not valid for a {kind} connection (valid: "
                f"{', '.join(sorted(FIELDS[kind])) or 'none'})",
            )
    values = {k: v for k, v in data.items() if k != "type"}

    def text(key: str, rx, what: str) -> Optional[str]:
        v = values.get(key)
        if v is None:
            return None
        v = str(v)
        if not rx.match(v) or v.startswith("-"):
            raise bad(
                f"connection.{key}", f"must be {what} (letters, digits and ._-/~ only; got {v!r})"
            )
        return v

    conn = Connection(type=kind)
    if kind == "labgrid":
        place = text("place", _SERIAL, "a labgrid place name")
        tags = values.get("tags")
        if tags is not None and (
            not isinstance(tags, dict)
            or not tags
            or not all(_TAGK.match(str(k)) and _SERIAL.match(str(v)) for k, v in tags.items())
        ):
            raise bad("connection.tags", "must be a mapping of tags, e.g. {soc: orin-nano}")
        if bool(place) == bool(tags):
            raise bad("connection", "a labgrid connection needs place: NAME or tags: {...}")
        conn = replace(
            conn,
            place=place,
            tags=tuple(sorted((str(k), str(v)) for k, v in (tags or {}).items())),
            coordinator=text("coordinator", _HOST, "HOST:PORT"),
            user=text("user", _USER, "a user name"),
        )
    if kind == "ssh":
        host = text("host", _HOST, "a host name, address or ~/.ssh/config alias")
        if not host:
            raise bad("connection.host", "is required for an ssh connection")
        conn = replace(conn, host=host, user=text("user", _USER, "a user name"))
    port = values.get("port")
    if port is not None and not (
        isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536
    ):
        raise bad("connection.port", "must be an integer port number")
    timeout = values.get("connect_timeout_s", DEFAULT_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 600:
        raise bad("connection.connect_timeout_s", "must be a number of seconds in (0, 600]")
    python = values.get("python", "python3")
    python = (
        None
        if python is None or str(python).lower() in NO_PYTHON
        else text("python", _PATH, "a program name or path, or none")
    )
    conn = replace(
        conn,
        port=port,
        connect_timeout_s=float(timeout),
        python=python,
        key=text("key", _PATH, "a file path"),
        known_hosts=text("known_hosts", _PATH, "a file path"),
        ssh_config=text("ssh_config", _PATH, "a file path"),
        workdir=text("workdir", _PATH, "a folder path") or DEFAULT_WORKDIR.get(kind, ""),
        serial=text("serial", _SERIAL, "an adb serial"),
        adb=text("adb", _PATH, "a program name or path") or "adb",
        benchmark_model=text("benchmark_model", _PATH, "a file path"),
        instructions=None if values.get("instructions") is None else str(values["instructions"]),
    )
    return conn


def parse_host(text: str, base: Connection) -> Connection:
    """``--host user@addr[:port]`` on the command line, over the profile's connection."""
    user, _, rest = text.rpartition("@")
    host, port = rest, base.port
    if rest.startswith("["):  # [::1]:2222
        host, _, tail = rest[1:].partition("]")
        port = int(tail[1:]) if tail.startswith(":") and tail[1:].isdigit() else port
    elif rest.count(":") == 1:
        host, _, p = rest.partition(":")
        if not p.isdigit():
            raise ValueError(f"bad port in --host {text!r}")
        port = int(p)
    fields = {
        "type": "ssh",
        "host": host,
        "port": port,
        "python": base.python or "none",
        "workdir": base.workdir,
        "connect_timeout_s": base.connect_timeout_s,
    }
    if user:
        fields["user"] = user
    for k in ("key", "known_hosts", "ssh_config"):
        if getattr(base, k):
            fields[k] = getattr(base, k)

    def bad(fld, why):
        return ValueError(f"--host {text!r}: {fld} {why}")

    return parse_connection({k: v for k, v in fields.items() if v is not None}, bad)
