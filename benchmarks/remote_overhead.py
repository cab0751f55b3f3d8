"""Does the SSH transport disturb timing, and what does it cost? A script, not a test.

Over loopback SSH (Debian's sshd started here on a free port with its own keys, as in the tests;
the "device" Python is a separate venv with only numpy + ONNX Runtime) against the local run of
the same artifact (x3d-xs, onnx, fp32, 2 threads by default), alternating which goes first, for
N rounds:

* the p50 ratio remote / local per round and overall (median of the rounds' ratios): the
  transport must not disturb what the runner measures (target: within 1.03);
* the wall time a configuration adds once the bundle and artifact are cached on the device:
  wall(remote run) - wall(local run) of the same configuration (target: under 1 s);
* the first time: device probe + runner bundle + artifact sent into an empty work dir.

    python benchmarks/remote_overhead.py [--model x3d-xs] [--rounds 5] [--seconds 3] [--threads 2]

Both sides run the same runner code with the same ONNX Runtime version (constraints.txt); the
host is also the device, so on a shared machine the round-to-round spread says how far to trust
the ratio.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="x3d-xs")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    from sshd_device import start_device, stop_device

    from edgevid.artifacts.export import export
    from edgevid.models.ref import resolve
    from edgevid.transports import RunSpec, connection_of, make
    from edgevid.transports.connection import Connection

    tmp = Path(tempfile.mkdtemp(prefix="edgevid-remote-bench-"))
    art = export(resolve(a.model), "onnx", root=tmp / "artifacts")
    dev = start_device(tmp / "device")
    try:
        from edgevid.run.profiles import load_profile

        profile = load_profile(dev.profile("loopback"))
        remote = make("loopback", connection_of(profile))
        local = make("local", Connection())
        policy = {"min_iters": 20, "min_time_s": a.seconds, "max_time_s": a.seconds,
                  "warmup_max": 50, "target_ci": 0.0}
        spec = RunSpec(a.threads, policy, {"provider": "CPUExecutionProvider"}, 600, "bench")

        t0 = time.perf_counter()
        remote.check(quick=True)
        sent = remote.prepare(art)
        first_s = time.perf_counter() - t0
        print(f"first time: probe + bundle + artifact into an empty work dir: {first_s:.3f} s "
              f"({sent})")

        import subprocess

        trips = []
        for _ in range(5):
            t = time.perf_counter()
            subprocess.run(remote.ssh_args() + ["exit 0"], check=True, capture_output=True)
            trips.append(time.perf_counter() - t)
        print(f"a bare ssh round trip (connect, authenticate, run `exit 0`): median "
              f"{statistics.median(trips):.3f} s (of 5: {min(trips):.3f}-{max(trips):.3f} s)")

        rows = []
        for i in range(a.rounds):
            order = [("local", local), ("remote", remote)]
            if i % 2:
                order.reverse()
            got = {}
            for name, tr in order:
                t = time.perf_counter()
                rec = tr.run(art, spec, lambda m: None)
                wall = time.perf_counter() - t
                assert rec["status"] == "ok", rec.get("reason")
                inside = (sum(rec.get("warmup_ms") or []) + sum(rec.get("samples_ms") or [])
                          + (rec.get("load_ms") or 0) + (rec.get("first_inference_ms") or 0)) / 1e3
                got[name] = (rec["summary"]["p50"], wall, rec["summary"]["n"], wall - inside)
            ratio = got["remote"][0] / got["local"][0]
            added = got["remote"][1] - got["local"][1]
            outside = got["remote"][3] - got["local"][3]  # wall minus the runner's own work
            rows.append((ratio, added, outside))
            print(f"round {i + 1} ({order[0][0]} first): p50 local {got['local'][0]:.3f} ms "
                  f"(n={got['local'][2]}), remote {got['remote'][0]:.3f} ms "
                  f"(n={got['remote'][2]}), ratio {ratio:.3f}; wall local {got['local'][1]:.2f} s,"
                  f" remote {got['remote'][1]:.2f} s, added {added:+.3f} s; outside the runner's "
                  f"load+warm-up+timed work: local {got['local'][3]:.3f} s, remote "
                  f"{got['remote'][3]:.3f} s, added {outside:+.3f} s")
        ratios, adds, outs = ([r[0] for r in rows], [r[1] for r in rows],
                              [r[2] for r in rows])
        print(f"p50 ratio remote/local: median {statistics.median(ratios):.3f} "
              f"(rounds: {min(ratios):.3f}-{max(ratios):.3f})")
        print(f"wall time a cached configuration adds: median {statistics.median(adds):+.3f} s "
              f"(rounds: {min(adds):+.3f} to {max(adds):+.3f} s)")
        print(f"... outside the runner's own load + warm-up + timed work (the transport's "
              f"cost): median {statistics.median(outs):+.3f} s (rounds: {min(outs):+.3f} to "
              f"{max(outs):+.3f} s)")
        print(f"first time (probe + bundle + artifact): {first_s:.3f} s")
    finally:
        stop_device(dev)
    return 0


if __name__ == "__main__":
    sys.exit(main())
