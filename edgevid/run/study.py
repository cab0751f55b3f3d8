"""The lightweight-transformer study in one command: the zoo x the formats each device supports,
measured with edgevid's bench (cached artifacts reused), resumable, then the study report.

Resuming: before running a configuration the study looks for a result file with the same
identity (model, format, precision, variant, device, input shape, threads) under the results
folder; if one exists it is reused and nothing is measured. A re-run after an interruption
measures only what is missing. Failed configurations are reused too (their reason is the result),
unless ``retry_failed``.

With an index (``BenchConfig.db``, ``edgevid study --db URL``) the study also looks there: a
configuration a teammate measured earlier (same identity, any machine that wrote to that index)
is reused as well, the newer of the file here and the index's record winning. What this study
measures is written as result files under the results folder (the source of truth) and indexed
at ``db``; a record reused from the index is read from its file where that file is on this
machine, else from the index's copy, and no file is made for it here.

Reduced input (``input_scale`` < 1): the spatial size is scaled (H and W, rounded to a multiple
of 8). A model that cannot take another spatial size (a fixed positional embedding) has its frame
count scaled instead; one that accepts neither runs at its default input. What each model ran at
is part of every table and plot, and GFLOPs are counted at that shape.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional

from edgevid.run.bench import BenchConfig, bench
from edgevid.errors import UserError
from edgevid.models.ref import ModelRef, resolve
from edgevid.run.profiles import DeviceProfile, FormatEntry
from edgevid.results.select import identity, without_variant
from edgevid.run import stream as scenario
from edgevid.runners.stream import StreamOptions

SPATIAL, TEMPORAL, FULL, DEFAULT = "spatial", "temporal", "full (fixed input)", "default"


@dataclass(frozen=True)
class Reduction:
    """The input a model runs at in the study, and how it was reduced."""

    model: str
    default: tuple  # (C, T, H, W)
    shape: tuple  # (C, T, H, W) run
    how: str  # default | spatial | temporal | full (fixed input)
    scale: float

    @property
    def reduced(self) -> bool:
        return self.shape != self.default

    def text(self) -> str:
        if self.how == DEFAULT:
            return "default input"
        if self.how == FULL:
            return f"default input: the model takes no other shape (asked ×{self.scale:g})"
        dims = "H, W" if self.how == SPATIAL else "T"
        return f"{dims} ×{self.scale:g}"


def _accepts(spec, shape: tuple) -> bool:
    from edgevid.models.stats import spec_stats

    try:
        spec_stats(spec, shape)
        return True
    except Exception:  # noqa: BLE001 - the model cannot be traced at this shape
        return False


def reduce_input(spec, scale: float) -> Reduction:
    """The input of ``spec`` at ``scale`` (spatial first, then temporal, else the default)."""
    c, t, h, w = spec.input
    default = tuple(spec.input)
    if scale >= 1.0:
        return Reduction(spec.name, default, default, DEFAULT, scale)

    def r8(v):
        return max(8, int(round(v * scale / 8.0)) * 8)

    spatial = (c, t, r8(h), r8(w))
    if spatial != default and _accepts(spec, spatial):
        return Reduction(spec.name, default, spatial, SPATIAL, scale)
    temporal = (c, max(1, int(round(t * scale))), h, w)
    if temporal != default and _accepts(spec, temporal):
        return Reduction(spec.name, default, temporal, TEMPORAL, scale)
    return Reduction(spec.name, default, default, FULL, scale)


@dataclass(frozen=True)
class Config:
    """One planned measurement."""

    profile: DeviceProfile
    ref: ModelRef
    entry: FormatEntry
    threads: Optional[int]
    stream: Optional[StreamOptions] = None  # the stream scenario (None: the timing loop)

    @property
    def identity(self) -> tuple:
        """The identity its result will have (edgevid.results.select)."""
        return identity(
            {
                "model": self.ref.name,
                "format": self.entry.format,
                "precision": self.entry.precision,
                "variant": self.entry.variant,
                "device": self.profile.name,
                "input_shape": self.ref.input_shape,
                "threads": self.threads,
                **scenario.record_fields(self.stream),
            }
        )

    @property
    def label(self) -> str:
        return (
            f"{self.ref.name} × {self.entry.format} {self.entry.precision} on {self.profile.name}"
        )


def select_models(models: Optional[list] = None, classes: Optional[list] = None) -> list:
    """Zoo specs: the named ones, or the whole public zoo narrowed to ``classes``."""
    from edgevid.models import ARCH_CLASSES, get_spec, list_models

    if models and classes:
        raise UserError("give --models or --class, not both")
    if models:
        return [get_spec(m) for m in models]
    specs = list_models()
    if classes:
        bad = [c for c in classes if c not in ARCH_CLASSES]
        if bad:
            raise UserError(f"unknown class {bad[0]!r}: one of {', '.join(ARCH_CLASSES)}")
        specs = [s for s in specs if s.arch_class in classes]
    if not specs:
        raise UserError("no model selected")
    return specs


def device_entries(
    profile: DeviceProfile, formats: Optional[list], precision: Optional[str]
) -> tuple:
    """The profile's format entries (narrowed to ``formats``/``precision``) and the formats asked
    for that the device's profile does not list, with the reason."""
    from edgevid.backends import get_backend

    entries, seen = [], set()
    for e in profile.formats:  # the profile's own precisions, narrowed (never overridden)
        key = (e.format, e.precision, e.variant)
        if (precision is None or e.precision == precision) and key not in seen:
            seen.add(key)
            entries.append(e)
    if not formats:
        return entries, []
    wanted = [get_backend(f).name for f in formats]
    skipped = [
        (f, f"not among the formats of the {profile.name} profile")
        for f in wanted
        if f not in {e.format for e in entries}
    ]
    return [e for e in entries if e.format in wanted], skipped


def plan(
    profiles: list,
    specs: list,
    formats: Optional[list] = None,
    precision: Optional[str] = None,
    scale: float = 1.0,
    threads: Optional[int] = None,
    stream: Optional[StreamOptions] = None,
) -> tuple:
    """(configs, reductions by model, skipped (device, format, reason)). With ``stream`` each
    model is made to fit the stream (``run.stream.stream_ref``); one that cannot is skipped, with
    the reason. Without it the ``-stream`` (per-step) models are left out."""
    from edgevid.models.ref import parse_shape

    keep = set(scenario.for_scenario([s.name for s in specs], "stream" if stream else None))
    left = [s.name for s in specs if s.name not in keep]
    specs = [s for s in specs if s.name in keep]
    skipped = [
        (p.name, m, "a per-step stream model: it runs with --scenario stream")
        for p in profiles
        for m in left
    ]
    reductions = {s.name: reduce_input(s, scale) for s in specs}
    configs = []
    for profile in profiles:
        entries, skip = device_entries(profile, formats, precision)
        skipped += [(profile.name, f, why) for f, why in skip]
        for spec in specs:
            override = profile.input_shapes.get(spec.name)
            if override and not isinstance(override, (tuple, list)):
                override = parse_shape(str(override))
            shape = tuple(override) if override else (1, *reductions[spec.name].shape)
            ref = resolve(spec.name, shape)
            if stream is not None:
                try:
                    ref = scenario.stream_ref(ref, stream)
                except UserError as e:
                    skipped.append((profile.name, spec.name, str(e)))
                    continue
            for entry in entries:
                t = threads if threads is not None else profile.threads
                configs.append(Config(profile, ref, entry, t, stream))
    return configs, reductions, skipped


def _key_for(record: dict, wanted: set, loose: dict) -> Optional[tuple]:
    """The planned identity a bench record answers, or None."""
    if record.get("kind", "bench") != "bench":
        return None
    key: Optional[tuple] = identity(record)
    if key not in wanted:  # a failure record carries no variant: match without it
        if "variant" in record or key is None:
            return None
        key = loose.get(without_variant(key))
    return key


def _keep_newest(found: dict, key: tuple, record: dict) -> None:
    if key not in found or (record.get("created_at") or "") >= (found[key].get("created_at") or ""):
        found[key] = record


def existing(results_root: Path, configs: list) -> dict:
    """identity -> the newest bench record found on disk for that identity."""
    from edgevid.results import store

    wanted = {c.identity for c in configs}
    loose = {without_variant(i): i for i in wanted}
    found: dict = {}
    dirs = {Path(results_root) / c.profile.name / c.ref.name for c in configs}
    for d in sorted(dirs):
        if not d.is_dir():
            continue
        for f in store.iter_files([d]):
            try:
                r = store.load(f)
            except UserError:
                continue
            key = _key_for(r, wanted, loose)
            if key is not None:
                r.setdefault("result_path", str(f))
                _keep_newest(found, key, r)
    return found


def indexed(db, configs: list) -> dict:
    """identity -> the newest bench record in the index ``db`` (a SQLite file or a database
    URL: a team's, where a teammate's runs are). A record whose file is on this machine is read
    from the file (the source of truth)."""
    from edgevid.results import store
    from edgevid.results.query import Selector

    if not configs:
        return {}
    wanted = {c.identity for c in configs}
    loose = {without_variant(i): i for i in wanted}
    selector = Selector.of(
        model={c.ref.name for c in configs}, device={c.profile.name for c in configs}
    )
    try:
        with store.read_index(db) as index:
            records = index.find(selector, with_path=True)
    except store.dbmod.errors() as e:
        raise UserError(f"--db {store.dbmod.shown(str(db))}: cannot read the index ({e})") from None
    found: dict = {}
    for r in records:
        path = Path(r.get("result_path") or "")
        if path.is_file():
            try:
                r = dict(store.load(path), result_path=str(path))
            except UserError:
                continue
        key = _key_for(r, wanted, loose)
        if key is not None:
            _keep_newest(found, key, r)
    return found


@dataclass
class Progress:
    """Where the study is: done / to do, elapsed, and an estimate of what is left (the mean time
    of the configurations measured so far, times those still to measure)."""

    total: int
    reused: int = 0
    measured: int = 0
    started: float = field(default_factory=time.monotonic)
    current: str = ""
    measure_s: float = 0.0
    from_index: int = 0  # of the reused: found through the index (--db), not under --results

    @property
    def done(self) -> int:
        return self.reused + self.measured

    @property
    def todo(self) -> int:
        return self.total - self.done

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def left_s(self) -> Optional[float]:
        if self.todo == 0:
            return 0.0
        if not self.measured:
            return None
        return self.measure_s / self.measured * self.todo

    def line(self) -> str:
        left = self.left_s
        est = "estimating" if left is None else f"~{_hms(left)} left"
        now = f"{self.current} | " if self.current else ""
        return (
            f"{now}{self.done}/{self.total} done ({self.reused} reused"
            + (f", {self.from_index} from the index" if self.from_index else "")
            + f"), {self.todo} to do, "
            f"elapsed {_hms(self.elapsed)}, {est}"
        )


def _hms(s: float) -> str:
    s = int(round(s))
    return (
        f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


def run_study(
    configs: list,
    cfg: BenchConfig,
    timing: Optional[dict] = None,
    retry_failed: bool = False,
    on_progress: Callable[[Progress, Optional[dict]], None] = lambda p, r: None,
    log: Callable[[str], None] = lambda m: None,
) -> tuple:
    """Measure what is missing. Returns (records in plan order, progress). ``timing``: timing
    flags (TimingPolicy field names) on top of each device profile's policy."""
    from edgevid.run.config import timing_policy

    have = existing(cfg.results, configs)
    shared = {}  # measured earlier elsewhere (a teammate's), found through --db
    if cfg.db is not None and (not isinstance(cfg.db, Path) or cfg.db.is_file()):
        for key, r in indexed(cfg.db, configs).items():
            if key not in have or (r.get("created_at") or "") > (have[key].get("created_at") or ""):
                shared[key] = r
        have.update(shared)
    progress = Progress(len(configs))
    out = []
    for c in configs:
        prior = have.get(c.identity)
        if prior is not None and (prior["status"] == "ok" or not retry_failed):
            progress.reused += 1
            progress.from_index += c.identity in shared
            out.append(prior)
            on_progress(progress, None)
            continue
        progress.current = c.label
        on_progress(progress, None)
        t0 = time.monotonic()
        try:
            run_cfg = replace(
                cfg, threads=c.threads, policy=timing_policy(c.profile, dict(timing or {}))
            )
            (record,) = bench([c.ref], c.profile, [c.entry], run_cfg, log=log)
        except UserError as e:  # e.g. a device this host cannot reach yet
            from edgevid.runners.record import new_record

            record = new_record(
                model=c.ref.name,
                format=c.entry.format,
                precision=c.entry.precision,
                device=c.profile.name,
                input_shape=list(c.ref.input_shape),
                threads=c.threads,
                status="unsupported",
                reason=str(e),
                **scenario.record_fields(c.stream),
            )
        progress.measure_s += time.monotonic() - t0
        progress.measured += 1
        progress.current = ""
        out.append(record)
        on_progress(progress, record)
    return out, progress
