"""Reproducibility benchmark (issue 13): how often do two methods cry wolf, and do they see a wolf?

Not a test: it measures this machine. Configurations (``desktop-cpu`` profile, 2 threads):

* A  = x3d-xs at its default input (3x4x160x160), and A' = the same configuration again;
* B  = x3d-xs at 3x4x168x168: about 10% more pixels, a real slowdown of roughly 10%;

each on ONNX Runtime and OpenVINO (fp32). All six run as one ``edgevid.run.sessions.measure`` bench,
interleaved (A A' B for each backend, round after round), ``groups x per_group`` sessions each,
every session a fresh runner process with the same timing policy.

* **Within-run method** (what ``edgevid compare --fail-above 5%`` does with one session per
  side): session k of A against session k of A' (false alarms) and of B (power), every k.
* **Session method** (``edgevid compare`` with >= 3 sessions per side): consecutive groups of
  ``per_group`` sessions, A group g against A' group g (false alarms) and B group g (power); the
  power is also shown for groups of 3 and 4 sessions cut from the same sessions.
* **Cost**: the wall time of one configuration measured with ``--sessions 5`` and with one
  session, run at the end.

The machine's load average is sampled before every session (the machine is shared: contention
is part of what is measured, and reported).

    .venv/bin/python benchmarks/reproducibility.py [--groups 10 --per-group 5] [--quick]

Writes ``reproducibility.json`` and ``reproducibility.md`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from edgevid.run.bench import BenchConfig, bench_one, entries_for
from edgevid.analysis.compare import compare_samples, gate
from edgevid.models.ref import parse_shape, resolve
from edgevid.run.profiles import get_profile
from edgevid.analysis.sessions import compare_sessions
from edgevid.run.sessions import SessionPlan, measure


def _load() -> float:
    return os.getloadavg()[0]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="x3d-xs")
    p.add_argument("--slow-shape", default="3,4,168,168")
    p.add_argument("--groups", type=int, default=10, help="pairs of groups (session method)")
    p.add_argument("--per-group", type=int, default=5, help="sessions per group")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--fail-above", type=float, default=0.05)
    p.add_argument("--min-time", type=float, default=1.0)
    p.add_argument("--max-time", type=float, default=2.5)
    p.add_argument("--out", type=Path, default=Path("reports/reproducibility"))
    p.add_argument("--quick", action="store_true", help="x3d-tiny, 2 groups of 3: a smoke test")
    a = p.parse_args(argv)
    if a.quick:
        a.model, a.slow_shape, a.groups, a.per_group = "x3d-tiny", "3,4,40,40", 2, 3
        a.min_time, a.max_time = 0.2, 0.5
    a.out.mkdir(parents=True, exist_ok=True)
    profile = get_profile("desktop-cpu")
    entries = entries_for(profile, ["onnx", "openvino"], "fp32")
    fast, slow = resolve(a.model), resolve(a.model, parse_shape(a.slow_shape))
    timing = {
        "min_iters": 20,
        "min_time_s": a.min_time,
        "max_time_s": a.max_time,
        "target_ci": 0.02,
        "warmup_max": 20,
    }
    cfg = BenchConfig(threads=a.threads, timing=timing, artifacts=a.out / "artifacts", save=False)
    loads = []

    def run_one(ref, entry):
        loads.append(_load())
        return bench_one(ref, entry, profile, cfg)

    n = a.groups * a.per_group
    t0 = time.monotonic()
    load_start = _load()
    records = list(measure([fast, fast, slow], entries, run_one, SessionPlan(sessions=n), profile))
    main_wall = time.monotonic() - t0
    by = {}
    for i, r in enumerate(records):
        which = ("A", "A2", "B")[i // len(entries)]
        by[(which, r["format"])] = r

    # cost: one configuration, one session vs --sessions 5, run now (after the main run)
    t0 = time.monotonic()
    list(measure([fast], entries[:1], run_one, None, profile))
    one_s = time.monotonic() - t0
    t0 = time.monotonic()
    list(measure([fast], entries[:1], run_one, SessionPlan(sessions=5), profile))
    five_s = time.monotonic() - t0

    out = {
        "model": a.model,
        "slow_shape": a.slow_shape,
        "groups": a.groups,
        "per_group": a.per_group,
        "threads": a.threads,
        "fail_above": a.fail_above,
        "timing": timing,
        "main_wall_s": main_wall,
        "cost": {"one_session_s": one_s, "five_sessions_s": five_s},
        "load_avg": {
            "start": load_start,
            "median": statistics.median(loads),
            "max": max(loads),
            "min": min(loads),
            "cpus": os.cpu_count(),
        },
        "backends": {},
    }
    for entry in entries:
        fmt = entry.format
        A, A2, B = (by[(w, fmt)]["sessions"] for w in ("A", "A2", "B"))
        ok = [all(s["status"] == "ok" for s in x) for x in (A, A2, B)]
        if not all(ok):
            out["backends"][fmt] = {"error": [by[(w, fmt)].get("reason") for w in ("A", "A2", "B")]}
            continue
        within_fa = within_pw = within_any = 0
        for k in range(n):
            pa = compare_samples(A[k]["samples_ms"], A2[k]["samples_ms"])
            pb = compare_samples(A[k]["samples_ms"], B[k]["samples_ms"])
            within_fa += bool(gate([pa], a.fail_above))
            within_any += pa.label != "no detectable change"
            within_pw += bool(gate([pb], a.fail_above))
        med = {w: [s["p50"] for s in x] for w, x in (("A", A), ("A2", A2), ("B", B))}
        sess = {}
        for size in sorted({3, 4, a.per_group}):
            groups = n // size
            fa, pw = [], []
            for g in range(groups):
                cut = slice(g * size, (g + 1) * size)
                fa.append(compare_sessions(med["A"][cut], med["A2"][cut], a.fail_above)["verdict"])
                pw.append(compare_sessions(med["A"][cut], med["B"][cut], a.fail_above)["verdict"])
            sess[size] = {
                "pairs": groups,
                "false_alarm": {v: fa.count(v) for v in ("fail", "pass", "inconclusive")},
                "power": {v: pw.count(v) for v in ("fail", "pass", "inconclusive")},
            }
        pooled = {w: compare_sessions(med["A"], med[w], a.fail_above) for w in ("A2", "B")}
        sess["pooled"] = {
            w: {
                k: v.get(k)
                for k in ("verdict", "ratio", "ci_low", "ci_high", "p_mannwhitney", "more_sessions")
            }
            for w, v in pooled.items()
        }
        true_ratio = statistics.median(med["B"]) / statistics.median(med["A"])
        cv = {w: statistics.pstdev(m) / statistics.mean(m) for w, m in med.items()}
        out["backends"][fmt] = {
            "within_run": {
                "pairs": n,
                "false_alarm_fail": within_fa,
                "false_alarm_any_label": within_any,
                "power_fail": within_pw,
            },
            "sessions": sess,
            "slowdown_ratio": true_ratio,
            "session_cv": cv,
            "medians_ms": med,
            "max_over_min_session_median_A": max(med["A"]) / min(med["A"]),
        }
    (a.out / "reproducibility.json").write_text(json.dumps(out, indent=1))
    md = markdown(out)
    (a.out / "reproducibility.md").write_text(md)
    print(md)
    return 0


def markdown(out: dict) -> str:
    thr = f"{out['fail_above']:.0%}"
    lines = [
        (
            f"# Reproducibility: {out['model']} (slowdown: input {out['slow_shape']}), "
            f"{out['threads']} threads, --fail-above {thr}"
        ),
        "",
        (
            f"{out['groups']} x {out['per_group']} sessions per configuration, interleaved; "
            f"main run {out['main_wall_s']:.0f} s; load average median "
            f"{out['load_avg']['median']:.2f} (min {out['load_avg']['min']:.2f}, max "
            f"{out['load_avg']['max']:.2f}) on {out['load_avg']['cpus']} CPUs."
        ),
        "",
        (
            "| backend | method | pairs | false alarms (fail) | detections of the slowdown "
            "(fail) | other verdicts (identical / slowdown) |"
        ),
        "|---|---|---|---|---|---|",
    ]
    for fmt, b in out["backends"].items():
        if "error" in b:
            lines.append(f"| {fmt} | error: {b['error']} | | | | |")
            continue
        w = b["within_run"]
        lines.append(
            f"| {fmt} | within-run (1 session per side) | {w['pairs']} | "
            f"{w['false_alarm_fail']}/{w['pairs']} | {w['power_fail']}/{w['pairs']} | "
            f"labelled slower/faster: {w['false_alarm_any_label']}/{w['pairs']} |"
        )
        for size, s in b["sessions"].items():
            if size == "pooled":
                p2, pb = s["A2"], s["B"]
                lines.append(
                    f"| {fmt} | sessions (all {out['groups'] * out['per_group']} per "
                    f"side) | 1 | {p2['verdict']} (x{p2['ratio']:.3f}) | "
                    f"{pb['verdict']} (x{pb['ratio']:.3f}, CI {pb['ci_low']:.3f}–"
                    f"{pb['ci_high']:.3f}) | |"
                )
                continue
            fa, pw = s["false_alarm"], s["power"]
            lines.append(
                f"| {fmt} | sessions ({size} per side) | {s['pairs']} | "
                f"{fa['fail']}/{s['pairs']} | {pw['fail']}/{s['pairs']} | "
                f"pass {fa['pass']}, inconclusive {fa['inconclusive']} / "
                f"pass {pw['pass']}, inconclusive {pw['inconclusive']} |"
            )
    lines += [
        "",
        (
            "| backend | measured slowdown (median of session medians) | session CV A / A' / "
            "B | max/min session median of A |"
        ),
        "|---|---|---|---|",
    ]
    for fmt, b in out["backends"].items():
        if "error" not in b:
            cv = b["session_cv"]
            lines.append(
                f"| {fmt} | {b['slowdown_ratio'] - 1:+.1%} | {cv['A']:.1%} / "
                f"{cv['A2']:.1%} / {cv['B']:.1%} | "
                f"{b['max_over_min_session_median_A']:.2f} |"
            )
    c = out["cost"]
    lines += [
        "",
        (
            f"Cost: one configuration with one session {c['one_session_s']:.1f} s, with "
            f"--sessions 5 {c['five_sessions_s']:.1f} s "
            f"({c['five_sessions_s'] / c['one_session_s']:.1f}x)."
        ),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
