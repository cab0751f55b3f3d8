"""Device profiles: one YAML file per device in device_profiles/, loaded once into typed objects.

Every field is checked on load, type and range (a bad field is a UserError that names the file
and the field): the format entries' runtime options and the thermal fields with the checks of
``runners.run.RunOptions``, ``timing`` with ``runners.loop.TimingPolicy``'s, exporter options
(a format entry's ``export:`` mapping) against what the exporter declares. ``connection`` is
checked for its type and keys only; the transport that reaches the device parses it.
"""

from __future__ import annotations

import difflib
import re
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import yaml

from edgevid.backends import Backend, check_precision, get_backend
from edgevid.run.config import checked, export_options
from edgevid.errors import UserError
from edgevid.runners.loop import TimingPolicy
from edgevid.runners.run import RunOptions
from edgevid.transports.connection import parse_connection

PROFILES_DIR = Path(__file__).resolve().parents[2] / "device_profiles"
#: The runtime options a profile's format entry may set: derived from runners.run.RunOptions.
FORMAT_OPTIONS = RunOptions.names("profile")
#: A profile's thermal fields and the RunOptions fields they become.
THERMAL_FIELDS = {"zones": "thermal_zones", "clocks": "clock_paths", "limit_c": "temp_limit_c"}


@dataclass(frozen=True)
class FormatEntry:
    """One format a device runs: backend, precision (checked against it), runtime options
    (RunOptions fields, checked) and exporter options (checked against the exporter's OPTIONS)."""

    backend: Backend
    precision: str
    options: dict = field(default_factory=dict)  # runtime options: provider, device, xnnpack...
    export: dict = field(default_factory=dict)  # exporter options: conv3d, calibration...

    @property
    def format(self) -> str:
        return self.backend.name

    @property
    def variant(self) -> str:
        """What tells two runs of one format and precision apart: the identity runtime options
        (provider, device, xnnpack) and the exporter options, as ``k=v,k=v``."""
        identity = set(RunOptions.names("identity"))
        parts = {k: v for k, v in self.options.items() if k in identity and v is not None}
        parts.update(self.export)
        return ",".join(f"{k}={v}" for k, v in sorted(parts.items()))


@dataclass(frozen=True)
class Thermal:
    zones: tuple = ()  # sysfs thermal zone folders; empty = every zone
    clocks: tuple = ()  # scaling_cur_freq files; empty = every CPU's
    limit_c: Optional[float] = None  # above this a run is flagged throttled


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    description: str
    arch: str
    os: str
    connection: dict  # validated here; parsed by the transport that reaches the device
    formats: tuple  # FormatEntry, in order of preference
    threads: Optional[int]
    input_shapes: dict  # model name -> (B, C, T, H, W)
    thermal: Thermal
    timing: TimingPolicy  # defaults + the profile's overrides, checked
    path: Path = field(compare=False)
    timing_fields: frozenset = field(default=frozenset(), compare=False)  # set in the file
    # a labgrid place this run holds: name, tags, exporter (goes into each record's env)
    lab: Optional[dict] = field(default=None, compare=False)

    @property
    def is_local(self) -> bool:
        return self.connection["type"] == "local"


def profiles_dir() -> Path:
    return Path(os.environ.get("EDGEVID_PROFILES", PROFILES_DIR))


def list_profiles() -> list:
    d = profiles_dir()
    return [load_profile(p) for p in sorted(d.glob("*.yaml"))]


def get_profile(name: str) -> DeviceProfile:
    if name.startswith("lab:"):
        return lab_profile(name)
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return load_profile(path)
    candidate = profiles_dir() / f"{name}.yaml"
    if candidate.is_file():
        return load_profile(candidate)
    known = sorted(p.stem for p in profiles_dir().glob("*.yaml"))
    close = difflib.get_close_matches(name, known, n=2, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise UserError(
        f"unknown device {name!r}.{hint} Valid devices: {', '.join(known)} "
        f"(profiles in {profiles_dir()})"
    )


def lab_profile(spec: str) -> DeviceProfile:
    """``--device lab:soc=orin-nano`` (tags) or ``lab:PLACE``: an ad hoc labgrid device with the
    desktop-cpu profile's formats and timing, named ``lab-soc-orin-nano``. A board's own formats
    need a profile with ``connection: {type: labgrid, ...}``."""
    import dataclasses

    from edgevid.transports.labgrid import parse_device

    want = parse_device(spec)
    base = load_profile(profiles_dir() / "desktop-cpu.yaml")
    conn: dict = {"type": "labgrid"}
    if want.place:
        conn["place"] = want.place
    else:
        conn["tags"] = dict(want.tags)
    name = "lab-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", spec[4:]).strip("-")
    return dataclasses.replace(
        base, name=name, description=f"labgrid {want.describe()}", connection=conn, arch="", os=""
    )


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
    known = {
        "name",
        "description",
        "arch",
        "os",
        "connection",
        "formats",
        "threads",
        "input_shapes",
        "thermal",
        "timing",
    }
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
    formats = [
        _format_entry(entry, f"formats[{i}]", path) for i, entry in enumerate(data["formats"])
    ]

    def label(prefix: str) -> Callable[[str], str]:
        return lambda f: f"field '{prefix}{f}'"

    where = f"device profile {path}: "
    threads = checked(lambda: RunOptions(threads=data.get("threads")).threads, label(""), where)
    shapes = data.get("input_shapes") or {}
    if not isinstance(shapes, dict):
        raise bad("input_shapes", "must be a mapping of model name to C,T,H,W")
    from edgevid.models.ref import parse_shape

    parsed = {}
    for model, text in shapes.items():
        try:
            parsed[str(model)] = parse_shape(str(text))
        except UserError as e:
            raise bad(f"input_shapes.{model}", f"is invalid: {e}") from e
    raw_thermal = data.get("thermal") or {}
    if not isinstance(raw_thermal, dict):
        raise bad("thermal", "must be a mapping")
    for key in raw_thermal:
        if key not in THERMAL_FIELDS:
            raise bad(
                f"thermal.{key}", f"is not a thermal field (known: {', '.join(THERMAL_FIELDS)})"
            )
    names = {v: f"thermal.{k}" for k, v in THERMAL_FIELDS.items()}
    run = checked(
        lambda: RunOptions(
            **{THERMAL_FIELDS[k]: v for k, v in raw_thermal.items() if v is not None}
        ),
        lambda f: f"field '{names.get(f.split('[')[0], f)}'",
        where,
    )
    thermal = Thermal(tuple(run.thermal_zones), tuple(run.clock_paths), run.temp_limit_c)
    timing_raw = data.get("timing") or {}
    timing = checked(lambda: TimingPolicy.from_dict(timing_raw), label("timing."), where)
    return DeviceProfile(
        name=data["name"],
        description=str(data.get("description", "")),
        arch=str(data.get("arch", "")),
        os=str(data.get("os", "")),
        connection=conn,
        formats=tuple(formats),
        threads=threads,
        input_shapes=parsed,
        thermal=thermal,
        timing=timing,
        path=path,
        timing_fields=frozenset(timing_raw),
    )


def _format_entry(entry, where: str, path: Path) -> FormatEntry:
    """One ``formats[i]`` item: a format name, or a mapping with format, precision, runtime
    options and an ``export:`` mapping of exporter options."""
    prefix = f"device profile {path}: "
    if isinstance(entry, str):
        entry = {"format": entry}
    if not isinstance(entry, dict) or "format" not in entry:
        raise UserError(f"{prefix}field '{where}' must be a format name or a mapping with 'format'")
    try:
        backend = get_backend(str(entry["format"]))
    except UserError as e:
        raise UserError(f"{prefix}field '{where}.format' is invalid: {e}") from e
    precision = entry.get("precision", backend.precisions[0])
    try:
        check_precision(backend, str(precision))
    except UserError as e:
        raise UserError(f"{prefix}field '{where}.precision': {e}") from e
    options = {k: v for k, v in entry.items() if k not in ("format", "precision", "export")}
    unknown = sorted(set(options) - set(FORMAT_OPTIONS))
    if unknown:
        raise UserError(
            f"{prefix}field '{where}.{unknown[0]}' is not a format option (known: "
            f"{', '.join(sorted(FORMAT_OPTIONS))}, export)"
        )
    checked(lambda: RunOptions(**options), lambda f: f"field '{where}.{f}'", prefix)
    export = entry.get("export") or {}
    if not isinstance(export, dict):
        raise UserError(f"{prefix}field '{where}.export' must be a mapping of exporter options")
    export = export_options(backend, export, f"{prefix}field '{where}.export'", str(precision))
    return FormatEntry(backend, str(precision), options, export)
