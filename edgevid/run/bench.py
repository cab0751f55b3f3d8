"""Benchmark orchestration on the host: for each model x format entry of a device profile, make
the artifact, run the device-side runner in its own process, and store the result record.

One entry failing (package missing, export failing, runner crashing) is recorded with its status
and reason, and the others go on.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional, Union

from edgevid import __version__

from edgevid.results import store
from edgevid.backends import check_precision, get_backend
from edgevid.run.config import cli_export_options, run_options
from edgevid.artifacts.export import DEFAULT_ROOT as ARTIFACTS_ROOT
from edgevid.artifacts.export import ExportFailed, export
from edgevid.models.ref import ModelRef
from edgevid.run.profiles import DeviceProfile, FormatEntry
from edgevid.transports import RunSpec, for_profile
from edgevid.runners.loop import TimingPolicy
from edgevid.runners.record import new_record
from edgevid.runners.run import RunOptions
from edgevid.run.sessions import SessionPlan, measure
from edgevid.run import stream as scenario
from edgevid.runners.stream import StreamOptions

_EXPORT_LOCK = threading.Lock()


@dataclass
class BenchConfig:
    threads: Optional[int] = None  # checked (edgevid.run.config.check_threads); None: the profile's
    policy: Optional[TimingPolicy] = None  # the run's timing policy; None: the profile's
    artifacts: Path = ARTIFACTS_ROOT
    results: Path = store.DEFAULT_ROOT
    db: Optional[Union[Path, str]] = None  # SQLite file or database URL
    save: bool = True
    cpus: list = field(default_factory=list)  # pin runners to these CPUs
    export_unrunnable: bool = False  # convert even where the runtime is missing (the matrix)
    kind: str = "bench"  # "bench": timed run; "check": conversion + numerics (the matrix)
    runner_timeout_s: float = 1800.0
    sessions: Optional["SessionPlan"] = None  # edgevid.run.sessions: N interleaved runner processes
    layers: int = 0  # > 0: profile that many inferences per layer after the timed run
    stream: Optional[StreamOptions] = None  # the stream scenario (edgevid.run.stream); None: loop


def git_revision() -> Optional[str]:
    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "-uno"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return rev.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def entries_for(
    profile: DeviceProfile,
    formats: Optional[list] = None,
    precision: Optional[str] = None,
    export_opts: Optional[dict] = None,
) -> list:
    """The profile's format entries, narrowed to ``formats`` (in the user's order) if given, with
    ``export_opts`` (``--export-opt`` pairs, checked here) on top of each entry's own."""
    if not formats:
        entries = list(profile.formats)
        if precision:  # every entry that can run it, at that precision, each identity once
            seen, entries = set(), []
            for e in profile.formats:
                if precision in e.backend.precisions:
                    declared = e.backend.export_options()
                    e = replace(
                        e,
                        precision=precision,  # options that apply to it stay
                        export={
                            k: v for k, v in e.export.items() if declared[k].applies(precision)
                        },
                    )
                    if (e.format, e.variant) not in seen:
                        seen.add((e.format, e.variant))
                        entries.append(e)
    else:
        entries = []
        for name in formats:
            backend = get_backend(name)
            prec = check_precision(backend, precision or backend.precisions[0])
            same = next((e for e in profile.formats if e.backend == backend), None)
            entries.append(
                FormatEntry(
                    backend, prec, same.options if same else {}, same.export if same else {}
                )
            )
    if export_opts:
        per = cli_export_options(entries, export_opts)
        entries = [replace(e, export={**e.export, **opts}) for e, opts in zip(entries, per)]
    return entries


def run_on_device(
    profile: DeviceProfile,
    artifact_dir: Path,
    options: RunOptions,
    policy: TimingPolicy,
    timeout_s: float,
    log: Callable[[str], None] = lambda m: None,
    stream: Optional[StreamOptions] = None,
) -> dict:
    """Run the runner where the profile's ``connection`` says: the one place it is read. The
    transport (edgevid/transports: local, ssh, adb, manual) takes the typed settings to the
    runner's JSON command line on the device."""
    spec = RunSpec(
        options.threads,
        policy.to_dict(),
        options.to_dict(),
        timeout_s,
        profile.name,
        stream.to_dict() if stream is not None else None,
    )
    return for_profile(profile).run(artifact_dir, spec, log)


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="microseconds")


def bench_one(
    ref: ModelRef,
    entry: FormatEntry,
    profile: DeviceProfile,
    cfg: BenchConfig,
    log: Callable[[str], None] = lambda m: None,
) -> dict:
    """Export (or reuse) and run one (model, format, precision, variant) on the profile's device."""
    threads = cfg.threads if cfg.threads is not None else profile.threads
    if cfg.stream is not None:
        ref = scenario.stream_ref(ref, cfg.stream)  # clip mode: exported with --clip frames
    base = dict(
        model=ref.name,
        format=entry.format,
        precision=entry.precision,
        variant=entry.variant,
        device=profile.name,
        input_shape=list(ref.input_shape),
        threads=threads,
        **scenario.record_fields(cfg.stream),
    )
    missing = for_profile(profile).missing(entry)  # what the DEVICE has, not the host
    if cfg.stream is not None and not missing:
        missing = for_profile(profile).streams()
    if missing and not cfg.export_unrunnable:
        return new_record(**base, status="unsupported", reason=missing)
    try:
        with _EXPORT_LOCK:  # several devices at once share the artifact folder
            art = export(
                ref,
                entry.format,
                entry.precision,
                root=cfg.artifacts,
                log=log,
                options=entry.export,
            )
    except ExportFailed as e:
        return new_record(**base, status="export-failed", reason=str(e))
    if missing:
        return new_record(
            **base, status="unsupported", artifact_dir=str(art), reason=f"converted; {missing}"
        )
    if cfg.stream is not None:  # state declared, clip equal to T: before anything is sent
        scenario.check_artifact(json.loads((art / "artifact.json").read_text()), cfg.stream)
    policy = cfg.policy or profile.timing
    options = run_options(entry, profile, threads, cfg.cpus)
    if cfg.layers:
        options = replace(options, layers=int(cfg.layers))
    log(f"timing {ref.name} on {entry.format} {entry.precision}")
    started = time.time()
    try:
        record = run_on_device(profile, art, options, policy, cfg.runner_timeout_s, log, cfg.stream)
    except RuntimeError as e:  # ConnectionLost too: what was measured before is kept
        return new_record(**base, status="error", reason=str(e), artifact_dir=str(art))
    record.update(device=profile.name, artifact_dir=str(art), variant=entry.variant)
    record.update(scenario.record_fields(cfg.stream))
    scenario.note_energy(record)
    if profile.lab:  # when the place was in use for this record (host clock, UTC)
        window = [_utc(started), _utc(time.time())]
        record["env"] = {**(record.get("env") or {}), "lab": {**profile.lab, "window": window}}
    return record


def bench(
    refs: list,
    profile: DeviceProfile,
    entries: list,
    cfg: BenchConfig,
    on_result: Callable[[dict], None] = lambda r: None,
    log: Callable[[str], None] = lambda m: None,
) -> list:
    out = []
    revision = git_revision()
    for record in measure(
        refs,
        entries,
        lambda ref, entry: bench_one(ref, entry, profile, cfg, log=log),
        cfg.sessions,
        profile,
        log,
    ):
        record["kind"] = cfg.kind
        record["env"] = {
            **(record.get("env") or {}),
            "edgevid_version": __version__,
            "git_revision": revision,
        }
        record["created_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        if cfg.save:
            record["result_path"] = str(store.save(record, cfg.results, cfg.db))
        on_result(record)
        out.append(record)
    return out
