"""Choose `edgevid ab`'s rounds per trial, estimator and look schedule on recorded runs, offline.

    edgevid ab A A --min-trials 20 --json --no-save > ident.json     # record 20 full trials
    python benchmarks/ab_plan.py ident.json shape.json [--sims 200] [--max-time 120]
                                 [--fail-above 2%] [--plans default,trim,...] [--shift 1.02]
    python benchmarks/ab_plan.py benchmarks/data/ab/rec-*-ident.json.gz --shift 1.02

benchmarks/data/ab/ holds the recordings README.md's table was replayed from (rounds only,
gzipped).

Each input is the ``--json`` output of one `edgevid ab` run that measured every trial (no early
stop: ``--min-trials`` = the trial cap). For every candidate plan the run is replayed ``--sims``
times: trials are drawn with replacement from the recorded ones (each keeps its first ``rounds``
rounds, as a run with that many rounds per trial would), the plan's stop rule looks at its
planned trial counts with `edgevid.analysis.ab`'s gate, and the replay's time is what those
trials took on the recording (per-round time and restart time measured from the record's round
timestamps). Prints, per recording and plan, how often the gate passed / failed / stayed
undecided and the median and 90th percentile time.

This is a model of the runs, not a measurement of them: replays draw from a few minutes of one
machine's behaviour. Use it to choose; confirm the choice with benchmarks/ab.py.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from edgevid.analysis import ab as stats


@dataclass(frozen=True)
class Candidate:
    name: str
    rounds: int = 10
    trim: float = 0.5  # 0.5: median of round log ratios; 0.25: interquartile mean
    block: str = "median"  # a block's time: the median of its inferences, or "mean" / "min"
    min_trials: int = 3
    max_trials: int = 20
    planned: tuple = stats.PLANNED_LOOKS
    within: bool = True  # resample rounds within each resampled trial (two-stage bootstrap)
    shrink: bool = False  # shrink_trials first (below)
    inflate: bool = False  # whole trials only: deviations scaled by sqrt(k / (k - 1))
    alpha: float = round(1 - stats.DECISION_CONFIDENCE, 6)  # two-sided, over all looks
    t: bool = False  # Student's t over the trials' medians only (stats.t_interval)
    expand: bool = False  # the percentile level expanded for k trials (stats.expanded_confidence)
    hull: bool = False  # stats.trial_interval: expanded and covering the t interval (trim 0.5)


PLANS = {
    c.name: c
    for c in (
        Candidate("default", expand=True, hull=True),  # what `edgevid ab` does
        Candidate("expanded", expand=True),
        Candidate("tost"),  # its rule on 2026-12-07 until the expansion: 98% a look, unexpanded
        Candidate("before", alpha=0.05),  # its rule until 2026-12-07: 99% a look
        Candidate("looks-3456", planned=(3, 4, 5, 6, 8, 12, 20)),
        Candidate("looks-3-6-12", planned=(3, 6, 12, 20)),
        Candidate("min2", min_trials=2, planned=(2, 3, 5, 8, 12, 20)),
        Candidate("r6", rounds=6, min_trials=4, max_trials=30, planned=(4, 6, 9, 14, 20, 30)),
        Candidate("trim", trim=0.25),
        Candidate("block-min", block="min"),
        Candidate("block-mean", block="mean"),
        Candidate("shrink", shrink=True),
        Candidate("min4", min_trials=4, planned=(4, 6, 9, 14, 20)),  # first looks later, as tost
        Candidate("min5", min_trials=5, planned=(5, 8, 12, 20)),
        Candidate("t", t=True),
        # shorter trials, more of them, deciding as `default` (RESULTS-ab.md: kept 10 rounds)
        Candidate("r6h", rounds=6, min_trials=4, max_trials=30, planned=(4, 6, 9, 14, 20, 30),
                  expand=True, hull=True),  # fmt: skip
        Candidate("r4h", rounds=4, min_trials=5, max_trials=40, planned=(5, 7, 10, 15, 25, 40),
                  expand=True, hull=True),  # fmt: skip
        Candidate("r8h", rounds=8, min_trials=4, max_trials=24, planned=(4, 6, 9, 14, 24),
                  expand=True, hull=True),  # fmt: skip
        Candidate("r6h3", rounds=6, min_trials=3, max_trials=30, planned=(3, 5, 8, 12, 20, 30),
                  expand=True, hull=True),  # fmt: skip
        Candidate("r5h", rounds=5, min_trials=4, max_trials=40, planned=(4, 6, 9, 14, 24, 40),
                  expand=True, hull=True),  # fmt: skip
        Candidate("min4h", min_trials=4, planned=(4, 6, 9, 14, 20), expand=True, hull=True),
        # Pocock's constant boundary in place of Bonferroni (pocock_alpha below: 0.157 for
        # looks at 3, 5, 8, 12, 20 trials; RESULTS-ab.md: "Pocock's boundary")
        Candidate("pocockh", alpha=0.157, expand=True, hull=True),
        Candidate("trials", within=False, inflate=True),
        Candidate(
            "trials-r5",
            rounds=5,
            min_trials=5,
            max_trials=40,
            planned=(5, 8, 12, 20, 40),
            within=False,
            inflate=True,
        ),
    )
}


def pocock_alpha(looks=stats.PLANNED_LOOKS, paths: int = 200_000, seed: int = 0) -> float:
    """The ``alpha`` (two-sided, summed over the looks, as a Candidate takes it) of Pocock's
    constant boundary: one z for every look such that a one-sided 5% holds over all of them
    (Jennison & Turnbull 2000, ch. 2), for looks at these trial counts with information in
    proportion to trials; simulated on Brownian paths. Five looks at 3, 5, 8, 12, 20, over
    1000000 paths: alpha 0.156, z 2.155, a one-sided 1.56% a look (equally spaced: z 2.122,
    Pocock's constant 2.121), against Bonferroni's 2.326 (1%). ``pocockh`` was replayed at
    0.157 (z 2.153, from an earlier 200000-path draw: within the simulation's noise)."""
    from scipy.stats import norm

    n = np.asarray(looks, dtype=np.float64)
    rng = np.random.default_rng(seed)
    steps = rng.standard_normal((paths, n.size)) * np.sqrt(np.diff(n, prepend=0.0))
    z = np.cumsum(steps, axis=1) / np.sqrt(n)
    c = float(np.quantile(z.max(axis=1), 0.95))
    return 2 * float(norm.sf(c)) * n.size


BLOCK = {"median": np.median, "mean": np.mean, "min": np.min}


def shrink_trials(trials: list, seed: int = 0) -> list:
    """Each trial's centre m_i pulled toward the pooled one m: m + c (m_i - m), with
    c^2 = max(0, 1 - V_within / V_between) (Davison & Hinkley 1997, section 3.8), so that the
    two-stage bootstrap would count round noise once. V_between: the variance of the trial
    medians; V_within: the mean bootstrap variance of one trial's median from its own rounds."""
    arrays = [np.asarray(t, dtype=np.float64) for t in trials]
    if len(arrays) < 2:
        return arrays
    centres = np.array([np.median(a) for a in arrays])
    pooled = float(np.median(np.concatenate(arrays)))
    rng = np.random.default_rng(seed)
    within = [
        float(np.median(a[rng.integers(0, a.size, size=(200, a.size))], axis=1).var())
        for a in arrays
    ]
    between = float(centres.var(ddof=1))
    c = math.sqrt(max(0.0, 1 - float(np.mean(within)) / between)) if between > 0 else 1.0
    return [a - m + pooled + c * (m - pooled) for a, m in zip(arrays, centres)]


def load(path: Path) -> dict:
    """A recording: per trial, its round log ratios; the time of a round and of a restart."""
    text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
    d = json.loads(text)
    rounds = (d.get("record") or d)["ab"]["rounds"]
    trials: dict = {}
    for r in rounds:
        trials.setdefault(r["trial"], []).append(r)
    per_round, restart = [], []
    order = sorted(trials)
    for i, t in enumerate(order):
        ts = [r["t"] for r in trials[t]]
        per_round += [b - a for a, b in zip(ts, ts[1:])]
        if i + 1 < len(order):
            restart.append(trials[order[i + 1]][0]["t"] - ts[-1])
    round_s = statistics.median(per_round)
    return {
        "name": path.name.split(".")[0],
        "logs": {
            how: [[math.log(f(r["new_ms"]) / f(r["base_ms"])) for r in trials[t]] for t in order]
            for how, f in BLOCK.items()
        },
        "round_s": round_s,
        "restart_s": max(0.0, statistics.median(restart) - round_s) if restart else 0.0,
    }


def plan_pool(rec: dict, c: Candidate, shift: Optional[float] = None) -> list:
    """The recorded trials as the plan sees them (its block statistic, its first ``rounds``
    rounds), moved by ``shift`` so that the plan's own estimand is that ratio: the pooled
    location of the rounds, or for a t plan the mean of the trials' locations."""
    pool = [np.asarray(t[: c.rounds]) for t in rec["logs"][c.block] if len(t) >= c.rounds]
    if shift is None:
        return pool
    if c.t:
        centre = float(np.mean([stats.location(t, c.trim) for t in pool]))
    else:
        centre = stats.location(np.concatenate(pool), c.trim)
    return [t - centre + math.log(shift) for t in pool]


def replay(
    rec: dict,
    c: Candidate,
    rng,
    fail_above: float,
    max_time: float,
    resamples: int,
    shift: Optional[float] = None,
):
    """One simulated run: (gate, seconds, trials used). ``shift``: the recording is first moved
    so that the plan's estimand is that ratio (``plan_pool``; 1.02: a pair exactly at the gate)."""
    trial_s = c.rounds * rec["round_s"] + rec["restart_s"]
    looks = stats.look_schedule(c.min_trials, c.max_trials, c.planned)
    level = stats.look_confidence(len(looks), 1 - c.alpha)
    pool = plan_pool(rec, c, shift)
    drawn = [pool[i] for i in rng.integers(0, len(pool), size=c.max_trials)]
    cap = max(1, min(c.max_trials, int(max_time // trial_s)))
    gate = stats.UNDECIDED
    for n in range(1, cap + 1):
        if n not in looks and n != cap:
            continue
        if c.t:
            _, lo, hi = stats.t_interval(drawn[:n], level, c.trim)
        else:
            est, boot = stats.bootstrap_locations(
                shrink_trials(drawn[:n]) if c.shrink else drawn[:n],
                resamples,
                int(rng.integers(2**31)),
                c.trim,
                c.within,
            )
            if c.inflate and n > 1:
                boot = math.log(est) + (boot - math.log(est)) * math.sqrt(n / (n - 1))
            if c.hull:  # as `edgevid ab` decides
                lo, hi = stats.trial_interval(drawn[:n], boot, level)
            else:
                at = stats.expanded_confidence(level, n) if c.expand else level
                lo, hi = stats.interval(boot, at)
        gate = stats.gate_result(lo, hi, fail_above)
        if gate != stats.UNDECIDED or n == cap:
            return gate, n * trial_s, n
    return gate, cap * trial_s, cap


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", nargs="+", type=Path)
    ap.add_argument("--sims", type=int, default=200)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--max-time", type=float, default=120.0)
    ap.add_argument("--fail-above", default="2%")
    ap.add_argument("--plans", default=",".join(PLANS))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--shift", default="",
        help="also replay each recording moved to these true ratios (e.g. 1.0,1.02,1.04)",
    )  # fmt: skip
    a = ap.parse_args()
    x = float(a.fail_above.rstrip("%")) / (100 if a.fail_above.endswith("%") else 1)
    shifts = [None] + [float(v) for v in a.shift.split(",") if v]
    print("| recording | true ratio | round s | restart s | plan | pass | fail | undecided "
          "| median s | p90 s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for path in a.records:
        rec = load(path)
        for shift, name in ((s, n) for s in shifts for n in a.plans.split(",")):
            c = PLANS[name]
            rng = np.random.default_rng(a.seed)
            out = [replay(rec, c, rng, x, a.max_time, a.resamples, shift) for _ in range(a.sims)]
            n = {g: sum(o[0] == g for o in out) for g in (stats.PASS, stats.FAIL, stats.UNDECIDED)}
            secs = sorted(o[1] for o in out)
            print(
                f"| {rec['name']} | {'as recorded' if shift is None else shift} | "
                f"{rec['round_s']:.2f} | {rec['restart_s']:.2f} | {name} | "
                f"{n['pass']} | {n['fail']} | {n['undecided']} | {statistics.median(secs):.0f} | "
                f"{secs[int(0.9 * (len(secs) - 1))]:.0f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
