"""The host side of the one configuration path.

A run's settings are checked once, where they enter, and then travel as objects:

- a device profile loads into a :class:`~edgevid.run.profiles.DeviceProfile` (its ``timing`` a
  :class:`~edgevid.runners.loop.TimingPolicy`, its format entries
  :class:`~edgevid.run.profiles.FormatEntry` with checked run and export options);
- the CLI's timing flags become the run's ``TimingPolicy`` (:func:`timing_policy`), its
  ``--export-opt`` pairs the exporters' options (:func:`parse_export_opts`,
  :func:`export_options`);
- per configuration, :func:`run_options` makes the :class:`~edgevid.runners.run.RunOptions`
  object, which becomes the runner's JSON command line in one place (``edgevid.run.bench``).

Type and range checks are the runner's own (``runners/settings.py``: the fields of
``TimingPolicy`` and ``RunOptions`` carry them); here a ``SettingError`` becomes a ``UserError``
that names the flag, or the profile file and field, the bad value came from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Dict, List, Mapping, Optional, TypeVar

from edgevid.errors import UserError
from edgevid.runners.loop import TimingPolicy
from edgevid.runners.run import RunOptions
from edgevid.runners.settings import SettingError

if TYPE_CHECKING:
    from edgevid.backends import Backend
    from edgevid.run.profiles import DeviceProfile, FormatEntry

T = TypeVar("T")

#: The CLI flag of each timing field that has one (`edgevid bench --min-time ...`).
TIMING_FLAGS = {
    "warmup_min": "--warmup-min",
    "warmup_max": "--warmup-max",
    "min_iters": "--min-iters",
    "min_time_s": "--min-time",
    "max_time_s": "--max-time",
    "target_ci": "--target-ci",
}


def checked(build: Callable[[], T], label: Callable[[str], str], prefix: str = "") -> T:
    """``build()``, with a SettingError turned into a UserError whose fields are ``label``-ed."""
    try:
        return build()
    except SettingError as e:
        raise UserError(prefix + e.describe(label)) from None


def timing_policy(profile: "DeviceProfile", flags: Dict[str, object]) -> TimingPolicy:
    """The run's policy: the profile's, with the CLI's timing flags (by field name) on top.
    Checked as a whole: ``--min-time 2 --max-time 1`` and a flag that contradicts the profile
    are refused, naming the flag and the profile field."""
    given = {k: v for k, v in flags.items() if v is not None}

    def label(f: str) -> str:
        if f in given:
            return TIMING_FLAGS.get(f, f)
        if f in profile.timing_fields:
            return f"timing.{f} of device profile {profile.path}"
        return f"the default {f}"

    return checked(lambda: profile.timing.with_overrides(given), label)


def check_threads(threads: Optional[int], label: str = "--threads") -> Optional[int]:
    """``threads`` checked as the runner's ``threads`` option is (a positive integer)."""
    if threads is None:
        return None
    return checked(lambda: RunOptions(threads=threads), lambda f: label).threads


def parse_export_opts(items: Optional[List[str]]) -> Dict[str, str]:
    """``["conv3d=native", "calibration=16"]`` -> ``{"conv3d": "native", ...}`` (values are
    strings until an exporter's declaration types them)."""
    out: Dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UserError(f"bad --export-opt {item!r}: write key=value (e.g. conv3d=native)")
        out[key.strip()] = value.strip()
    return out


def export_options(
    backend: "Backend", given: Mapping[str, object], where: str, precision: Optional[str] = None
) -> dict:
    """``given`` checked against what ``backend``'s exporter declares for ``precision``;
    ``where`` names the source (``--export-opt`` or the profile file and field) in the error."""
    try:
        return backend.check_export_options(given, precision)
    except ValueError as e:
        raise UserError(f"{where}: {e}") from None


def cli_export_options(entries: List["FormatEntry"], given: Dict[str, str]) -> List[dict]:
    """The ``--export-opt`` pairs for each of ``entries`` (one dict each): a pair goes to the
    entries whose exporter declares it for their precision; a pair none takes is an error."""
    out: List[dict] = [{} for _ in entries]
    for key, value in given.items():
        declared = [(i, e, e.backend.export_options().get(key)) for i, e in enumerate(entries)]
        takers = [i for i, e, o in declared if o is not None and o.applies(e.precision)]
        if not takers:
            chosen = ", ".join(f"{e.format} {e.precision}" for e in entries)
            known = sorted({k for e in entries for k in e.backend.export_options()})
            only = sorted({p for _, _, o in declared if o is not None for p in o.precisions})
            hint = f"; {key} applies to {', '.join(only)} only" if only else ""
            raise UserError(
                f"--export-opt {key}: no chosen format takes it (chosen: {chosen}; their "
                f"options: {', '.join(known) or 'none'}{hint})"
            )
        for i in takers:
            e = entries[i]
            out[i].update(export_options(e.backend, {key: value}, "--export-opt", e.precision))
    return out


def run_options(
    entry: "FormatEntry",
    profile: "DeviceProfile",
    threads: Optional[int],
    cpus: Optional[List[int]] = None,
) -> RunOptions:
    """The runner's options for one configuration: the entry's runtime options, the threads,
    the profile's thermal sysfs paths and limit, the CPUs to pin to. Every part was checked where
    it entered; the object is checked again on construction (same checks, no new failure)."""
    t = profile.thermal
    return RunOptions(
        threads=threads,
        thermal_zones=list(t.zones),
        clock_paths=list(t.clocks),
        temp_limit_c=t.limit_c,
        cpus=list(cpus or []),
        **entry.options,
    )
