"""Serve mode of the runner: load an artifact once, then time blocks of inferences on request.

    python -m runners.serve ARTIFACT_DIR [--options JSON]

Used by ``edgevid ab`` (edgevid/run/ab.py), which keeps two of these warm and alternates short
blocks between them. Protocol, one JSON object per line:

* on start it loads the artifact, runs the cold first inference, checks the numerics against the
  manifest's reference and warms up ``--warmup`` iterations, then prints
  ``{"ready": true, "pid", "load_ms", "first_inference_ms", "numerics", "inputs", "runtime",
  "runtime_settings", "model", "format", "precision"}`` (or ``{"error": ..., "exit_code": 2}``
  when the artifact is unusable, ``{"error": ..., "exit_code": 1}`` when it fails to load or run,
  and exits with that code);
* each command on stdin, ``{"n": 20}`` (that many inferences) or ``{"seconds": 0.3}`` (at least
  one inference, until that much time has passed), optionally with ``"warmup": 1`` (that many
  untimed inferences first: the first inference after an idle gap runs on cold caches and
  sleeping threads, 1.5-2.5x the steady time for x3d-xs on a 2-core VM), is answered by
  ``{"samples_ms": [...], "started_ns": ...}``: the per-iteration times of the block, each timed
  with ``perf_counter_ns`` as in the shared loop; an inference that fails answers
  ``{"error": ...}`` and the process exits 1;
* ``{"quit": true}`` or the end of stdin ends it. The parent-death watchdog (runners/watchdog.py)
  ends it when the process that started it dies.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Callable, List

from .artifact import ArtifactError, check_numerics, load_manifest, reference_inputs, verify_file
from .record import Unsupported
from .run import RunOptions, backend_module
from .settings import SettingError, strict_loads
from .state import stepper
from .watchdog import start_parent_watchdog

#: Largest block a command may ask for (inferences, seconds): a typo must not hang a run.
MAX_N, MAX_SECONDS = 100_000, 600.0


def _say(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def time_block(call: Callable[[], object], n: int = 0, seconds: float = 0.0) -> List[float]:
    """Per-iteration times (ms) of ``n`` calls, or of calls until ``seconds`` have passed."""
    out: List[float] = []
    end = time.perf_counter_ns() + int(seconds * 1e9)
    clock = time.perf_counter_ns
    while True:
        t0 = clock()
        call()
        t1 = clock()
        out.append((t1 - t0) / 1e6)
        if (n and len(out) >= n) or (not n and t1 >= end):
            return out


def run_command(call: Callable[[], object], cmd: dict) -> tuple:
    """One block command: its untimed warm-up calls, then the timed block; (samples, started_ns)."""
    if cmd.get("warmup"):
        time_block(call, n=cmd["warmup"])
    started = time.perf_counter_ns()
    return time_block(call, cmd["n"], cmd["seconds"]), started


def parse_command(line: str) -> dict:
    """A command line of the protocol, checked; ValueError names what is wrong."""
    cmd = json.loads(line)
    if not isinstance(cmd, dict):
        raise ValueError("a command is a JSON object")
    if cmd.get("quit"):
        return {"quit": True}
    n, seconds = cmd.get("n", 0), cmd.get("seconds", 0.0)
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_N:
        raise ValueError(f"n must be an integer in 0..{MAX_N}")
    if not isinstance(seconds, (int, float)) or not 0 <= seconds <= MAX_SECONDS:
        raise ValueError(f"seconds must be a number in 0..{MAX_SECONDS}")
    if not n and not seconds:
        raise ValueError("give n (inferences) or seconds")
    warmup = cmd.get("warmup", 0)
    if not isinstance(warmup, int) or isinstance(warmup, bool) or not 0 <= warmup <= MAX_N:
        raise ValueError(f"warmup must be an integer in 0..{MAX_N}")
    return {"n": n, "seconds": float(seconds), "warmup": warmup}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m runners.serve", description=__doc__.split("\n")[0])
    p.add_argument("artifact_dir")
    p.add_argument("--options", default=None, help="RunOptions as a JSON object")
    p.add_argument("--warmup", type=int, default=5, help="warm-up inferences after loading")
    a = p.parse_args(argv)
    start_parent_watchdog()
    try:
        options = RunOptions.from_dict(strict_loads(a.options, "--options") if a.options else {})
        manifest = load_manifest(a.artifact_dir)
        verify_file(a.artifact_dir, manifest)
    except (ArtifactError, SettingError, ValueError, TypeError) as e:
        _say({"error": str(e), "exit_code": 2})
        return 2
    if options.cpus:
        os.sched_setaffinity(0, set(options.cpus))
    session = None
    try:
        backend = backend_module(manifest["runner"])
        t0 = time.perf_counter_ns()
        session = live = backend.load(a.artifact_dir, manifest, options)
        load_ms = (time.perf_counter_ns() - t0) / 1e6
        inputs = reference_inputs(manifest)
        t0 = time.perf_counter_ns()
        outputs = live.infer(inputs)
        first_ms = (time.perf_counter_ns() - t0) / 1e6
        numerics = check_numerics(manifest, outputs)
        carry = stepper(manifest, live)
        if carry is None:
            call = lambda: live.infer(inputs)  # noqa: E731
        else:
            frames = inputs[carry.frames]
            call = lambda: carry.step(frames)  # noqa: E731
        if a.warmup:
            time_block(call, n=a.warmup)
    except Unsupported as e:
        _say({"error": f"unsupported: {e}", "exit_code": 1})
        return 1
    except Exception as e:  # noqa: BLE001 - a side that fails to load or run is reported
        _say({"error": f"{type(e).__name__}: {e}".splitlines()[0][:500], "exit_code": 1})
        return 1
    _say(
        {
            "ready": True,
            "pid": os.getpid(),
            "load_ms": load_ms,
            "first_inference_ms": first_ms,
            "numerics": numerics,
            "inputs": manifest.get("inputs"),
            "runtime": manifest.get("runner"),
            "runtime_settings": getattr(session, "settings", None),
            "model": manifest.get("model"),
            "format": manifest.get("format"),
            "precision": manifest.get("precision"),
            "sha256": manifest.get("sha256"),
        }
    )
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                cmd = parse_command(line)
            except ValueError as e:
                _say({"error": f"bad command: {e}", "exit_code": 2})
                continue
            if cmd.get("quit"):
                break
            try:
                samples, started = run_command(call, cmd)
            except Exception as e:  # noqa: BLE001
                _say({"error": f"{type(e).__name__}: {e}".splitlines()[0][:500], "exit_code": 1})
                return 1
            _say({"samples_ms": samples, "started_ns": started})
    finally:
        if session is not None:
            session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
