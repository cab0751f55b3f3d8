"""Command line of the device-side runner.

    python -m runners ARTIFACT_DIR [--threads N] [--policy JSON] [--options JSON]
                                   [--stream JSON] [--out FILE]

Every field of ``RunOptions`` and of ``StreamOptions`` is also a flag (``--provider X``,
``--xnnpack false``, ``--scenario stream --fps 30 --clip 16 --stride 4 --duration 10
--drop-policy drop-oldest --find-max-fps true``, ...).

Prints the result record as JSON on stdout (or writes it to --out). Exit code 0 when a record was
produced (its status says whether the run succeeded), 2 when the artifact itself is unusable.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from .artifact import ArtifactError
from .loop import TimingPolicy
from .record import OutputPathError, output_target, write_atomic
from .run import RunOptions, run_artifact
from .settings import SettingError, strict_dumps, strict_loads
from .stream import StreamOptions
from .watchdog import start_parent_watchdog


def _flag_value(kind: str):
    """argparse ``type`` for a RunOptions field of ``kind`` (the field's own check follows)."""
    if kind == "bool":

        def parse_bool(text: str) -> bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
            return text.lower() in ("true", "1", "yes", "on")

        return parse_bool
    if kind.endswith("-list"):
        item = int if kind == "int-list" else str
        return lambda text: [item(v) for v in text.split(",") if v.strip()]
    return {"int": int, "float": float, "str": str}[kind]


def _flagged(e: Exception) -> str:
    """The message, a setting named as its flag (``--drop-policy``)."""
    if isinstance(e, SettingError):
        return e.describe(lambda f: "--" + f.replace("_", "-"))
    return str(e)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m runners", description=__doc__.splitlines()[0])
    p.add_argument("artifact_dir")
    for f in (*fields(RunOptions), *fields(StreamOptions)):  # one flag per option, one definition
        meta = f.metadata
        p.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            default=None,
            type=_flag_value(meta["kind"]),
            help=meta.get("help"),
        )
    p.add_argument("--policy", default=None, help="timing policy overrides as a JSON object")
    p.add_argument("--options", default=None, help="RunOptions as a JSON object (flags override)")
    p.add_argument("--stream", default=None, help="StreamOptions as a JSON object (flags override)")
    p.add_argument(
        "--device-name",
        default=None,
        help="device name stored in the record (default: this host's name)",
    )
    p.add_argument("--out", default=None, help="write the record here instead of stdout")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    start_parent_watchdog()
    if a.out:
        try:  # before measuring: a FIFO, a device or a folder is never written
            output_target(a.out)
        except (OutputPathError, OSError) as e:
            print(f"error: --out {a.out}: {e}", file=sys.stderr)
            return 2
    try:
        policy = TimingPolicy.from_dict(strict_loads(a.policy, "--policy") if a.policy else None)
        kwargs = strict_loads(a.options, "--options") if a.options else {}
        if not isinstance(kwargs, dict):
            raise ValueError("--options must be a JSON object")
        kwargs.update(
            {
                f.name: getattr(a, f.name)
                for f in fields(RunOptions)
                if getattr(a, f.name) is not None
            }
        )
        options = RunOptions.from_dict(kwargs)
        given = strict_loads(a.stream, "--stream") if a.stream else {}
        if not isinstance(given, dict):
            raise ValueError("--stream must be a JSON object")
        given.update(
            {
                f.name: getattr(a, f.name)
                for f in fields(StreamOptions)
                if getattr(a, f.name) is not None
            }
        )
        stream = StreamOptions.from_dict(given)
    except (ValueError, TypeError) as e:
        print(f"error: {_flagged(e)}", file=sys.stderr)
        return 2

    def progress(stage, n):
        if not a.quiet:
            print(f"[runner] {stage}: {n} iterations", file=sys.stderr, flush=True)

    try:
        record = run_artifact(a.artifact_dir, options, policy, progress=progress, stream=stream)
    except (ArtifactError, SettingError) as e:
        print(f"error: {_flagged(e)}", file=sys.stderr)
        return 2
    record["device"] = a.device_name or record["env"].get("host")
    text = strict_dumps(record, indent=1)
    if a.out:
        try:
            write_atomic(Path(a.out), text)
        except (OutputPathError, OSError) as e:
            print(f"error: --out {a.out}: {e}", file=sys.stderr)
            return 2
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
