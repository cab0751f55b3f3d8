"""Choose `edgevid ab`'s block length, rounds and trials by measurement: an identical pair
(one artifact on both sides), a fixed number of trials and rounds per block length; for each, the
spread of the per-round log ratio (within trials), the spread of the trial means (between
trials), the CI half-width reached and the wall time it took.

    python benchmarks/ab_tune.py ARTIFACT_DIR [--blocks 0.1,0.25,0.5,n5] [--trials 3] [--rounds 10]
                                 [--threads 2]

A block given as ``nK`` holds K inferences (``--block-n K``) instead of a number of seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

from edgevid.run import ab as runner


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("artifact_dir", type=Path)
    ap.add_argument("--blocks", default="0.1,0.25,0.5")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--block-warmup", type=int, default=1, help="untimed inferences per block")
    a = ap.parse_args()
    rows = []
    for spec in a.blocks.split(","):
        block_n = int(spec[1:]) if spec.startswith("n") else 0
        block = 1.0 if block_n else float(spec)
        plan = runner.Plan(
            block_s=block, block_n=block_n, block_warmup=a.block_warmup, rounds_per_trial=a.rounds, min_trials=a.trials,
            max_trials=a.trials, max_time_s=1e9, margin=0.0,
        )  # fmt: skip
        sides = [runner.SideSpec(s, a.artifact_dir, {"threads": a.threads}) for s in runner.SIDES]
        t0 = time.monotonic()
        out = runner.run_ab(runner.ProcessSource(sides, plan), plan)
        wall = time.monotonic() - t0
        logs: dict = {}
        for r in out.rounds:
            logs.setdefault(r["trial"], []).append(math.log(r["ratio"]))
        within = statistics.mean(statistics.stdev(v) for v in logs.values())
        between = statistics.stdev(statistics.mean(v) for v in logs.values())
        s = out.summary
        rows.append(
            {
                "block": spec,
                "block_warmup": a.block_warmup,
                "iters_per_block": round(statistics.median(len(r["base_ms"]) for r in out.rounds)),
                "sd_round_log_ratio": within,
                "sd_trial_mean": between,
                "ratio": s.ratio,
                "ci_half_width": (s.ci_high - s.ci_low) / 2,
                "wall_s": wall,
                "loadavg": out.load[-1].get("loadavg"),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
