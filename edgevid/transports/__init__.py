"""How the host reaches a device: ``local`` (a subprocess), ``ssh``, ``adb`` -- one small
module each with the same parts (see ``base.Transport``). ``for_profile(profile)`` gives the
transport of a device profile, one per device for the whole process (its probe and cache
knowledge are reused by every configuration)."""

from __future__ import annotations

import threading

from edgevid.transports.base import (
    ConnectionLost,
    DeviceUnreachable,
    HostKeyError,
    RunSpec,
    Transport,
)
from edgevid.transports.connection import Connection, parse_connection, parse_host

__all__ = [
    "Connection",
    "ConnectionLost",
    "DeviceUnreachable",
    "HostKeyError",
    "RunSpec",
    "Transport",
    "connection_of",
    "for_profile",
    "make",
    "parse_connection",
    "parse_host",
]

_cache: dict = {}
_lock = threading.Lock()


def make(name: str, conn: Connection) -> Transport:
    if conn.type == "labgrid":
        from edgevid.errors import UserError

        raise UserError(
            f"device {name} is a labgrid place: `edgevid bench` reserves it (this command does not)"
        )
    if conn.type == "ssh":
        from edgevid.transports.ssh import SSHTransport

        return SSHTransport(name, conn)
    if conn.type == "adb":
        from edgevid.transports.adb import ADBTransport

        return ADBTransport(name, conn)
    if conn.type == "manual":
        from edgevid.transports.manual import ManualTransport

        return ManualTransport(name, conn)
    from edgevid.transports.local import LocalTransport

    return LocalTransport(name, conn)


def connection_of(profile) -> Connection:
    """The profile's typed connection (profiles keep the validated mapping)."""
    conn = profile.connection
    if isinstance(conn, Connection):
        return conn

    def bad(fld, why):
        from edgevid.errors import UserError

        return UserError(f"device profile {profile.path}: field '{fld}' {why}")

    return parse_connection(dict(conn), bad)


def for_profile(profile) -> Transport:
    conn = connection_of(profile)
    with _lock:
        key = (profile.name, conn)
        if key not in _cache:
            _cache[key] = make(profile.name, conn)
        return _cache[key]
