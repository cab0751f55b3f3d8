"""Device profiles: one YAML file per device in device_profiles/, validated on load.

A bad field is a UserError that names the file and the field.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import yaml

from edgevid.backends import get_backend
from edgevid.errors import UserError
from edgevid.runners.loop import TimingPolicy
from edgevid.transports.connection import parse_connection

#: Runtime options a profile's format entry may set (fields of runners.run.RunOptions).
FORMAT_OPTIONS = {"provider", "device", "xnnpack", "engine_cache", "trtexec"}
PROFILES_DIR = Path(__file__).resolve().parent.parent / "device_profiles"


@dataclass(frozen=True)
class FormatEntry:
    format: str
    precision: str
    options: dict  # runtime options: provider, device


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    description: str
    arch: str
    os: str
    connection: dict
    formats: tuple
    threads: Optional[int]
    input_shapes: dict
    thermal: dict
    timing: dict
    path: Path = field(compare=False)

    @property
    def is_local(self) -> bool:
        return self.connection["type"] == "local"


def profiles_dir() -> Path:
    return Path(os.environ.get("EDGEVID_PROFILES", PROFILES_DIR))


def list_profiles() -> list:
    d = profiles_dir()
    return [load_profile(p) for p in sorted(d.glob("*.yaml"))]


def get_profile(name: str) -> DeviceProfile:
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return load_profile(path)
    candidate = profiles_dir() / f"{name}.yaml"
    if candidate.is_file():
        return load_profile(candidate)
    known = sorted(p.stem for p in profiles_dir().glob("*.yaml"))
    close = difflib.get_close_matches(name, known, n=2, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise UserError(f"unknown device {name!r}.{hint} Valid devices: {', '.join(known)} "
                    f"(profiles in {profiles_dir()})")


def load_profile(path: Path) -> DeviceProfile:
    path = Path(path)

    def bad(fld: str, why: str) -> UserError:
        return UserError(f"device profile {path}: field '{fld}' {why}")

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise UserError(f"device profile {path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise UserError(f"device profile {path}: expected a mapping at the top level")
    known = {"name", "description", "arch", "os", "connection", "formats", "threads",
             "input_shapes", "thermal", "timing"}
    for key in data:
        if key not in known:
            raise bad(key, f"is not a profile field (known: {', '.join(sorted(known))})")
    for key in ("name", "connection", "formats"):
        if key not in data:
            raise bad(key, "is missing")
    if not isinstance(data["name"], str) or not data["name"]:
        raise bad("name", "must be a non-empty string")

    conn = data["connection"]
    parse_connection(conn, bad)  # the typed Connection: edgevid/transports/connection.py

    if not isinstance(data["formats"], list) or not data["formats"]:
        raise bad("formats", "must be a non-empty list")
    formats = []
    for i, entry in enumerate(data["formats"]):
        where = f"formats[{i}]"
        if isinstance(entry, str):
            entry = {"format": entry}
        if not isinstance(entry, dict) or "format" not in entry:
            raise bad(where, "must be a format name or a mapping with 'format'")
        try:
            backend = get_backend(str(entry["format"]))
        except UserError as e:
            raise bad(f"{where}.format", f"is invalid: {e}") from e
        precision = entry.get("precision", backend.precisions[0])
        if precision not in backend.precisions:
            raise bad(f"{where}.precision", f"must be one of {', '.join(backend.precisions)}")
        options = {k: v for k, v in entry.items() if k not in ("format", "precision")}
        unknown = set(options) - FORMAT_OPTIONS
        if unknown:
            raise bad(f"{where}.{sorted(unknown)[0]}", "is not a format option "
                      f"(known: {', '.join(sorted(FORMAT_OPTIONS))})")
        formats.append(FormatEntry(backend.name, precision, options))

    threads = data.get("threads")
    if threads is not None and not (isinstance(threads, int) and threads > 0):
        raise bad("threads", "must be a positive integer or null")
    shapes = data.get("input_shapes") or {}
    if not isinstance(shapes, dict):
        raise bad("input_shapes", "must be a mapping of model name to C,T,H,W")
    from edgevid.modelref import parse_shape

    for model, text in shapes.items():
        try:
            parse_shape(str(text))
        except UserError as e:
            raise bad(f"input_shapes.{model}", f"is invalid: {e}") from e
    thermal = data.get("thermal") or {}
    if not isinstance(thermal, dict):
        raise bad("thermal", "must be a mapping")
    timing = data.get("timing") or {}
    try:
        TimingPolicy.from_dict(timing)
    except (ValueError, TypeError) as e:
        raise bad("timing", f"is invalid: {e}") from e
    return DeviceProfile(
        name=data["name"], description=str(data.get("description", "")),
        arch=str(data.get("arch", "")), os=str(data.get("os", "")), connection=conn,
        formats=tuple(formats), threads=threads, input_shapes=shapes, thermal=thermal,
        timing=timing, path=path,
    )
