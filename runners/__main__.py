"""Command line of the device-side runner.

    python -m runners ARTIFACT_DIR [--threads N] [--policy JSON] [--out result.json]

Prints the result record as JSON on stdout (or writes it to --out). Exit code 0 when a record was
produced (its status says whether the run succeeded), 2 when the artifact itself is unusable.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .artifact import ArtifactError
from .loop import TimingPolicy
from .record import OutputPathError, output_target, write_atomic
from .run import RunOptions, run_artifact
from .watchdog import start_parent_watchdog


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m runners", description=__doc__.splitlines()[0])
    p.add_argument("artifact_dir")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default=None, help="runtime device (e.g. OpenVINO CPU/GPU)")
    p.add_argument("--provider", default=None, help="ONNX Runtime execution provider")
    p.add_argument("--no-xnnpack", action="store_true", help="LiteRT: builtin kernels only")
    p.add_argument("--policy", default=None, help="timing policy overrides as a JSON object")
    p.add_argument("--options", default=None, help="RunOptions as a JSON object")
    p.add_argument("--device-name", default=None,
                   help="device name stored in the record (default: this host's name)")
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
        policy = TimingPolicy.from_dict(json.loads(a.policy) if a.policy else None)
        kwargs = json.loads(a.options) if a.options else {}
        kwargs.update({k: v for k, v in (("threads", a.threads), ("device", a.device),
                                          ("provider", a.provider),
                                          ("xnnpack", False if a.no_xnnpack else None))
                       if v is not None})
        options = RunOptions(**kwargs)
    except (ValueError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    def progress(stage, n):
        if not a.quiet:
            print(f"[runner] {stage}: {n} iterations", file=sys.stderr, flush=True)

    try:
        record = run_artifact(a.artifact_dir, options, policy, progress=progress)
    except ArtifactError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    record["device"] = a.device_name or record["env"].get("host")
    text = json.dumps(record, indent=1)
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
