"""How often does each way of comparing two things raise a false alarm, and how often does it see a
real difference? `edgevid ab` (both sides in one window) vs `edgevid compare` of two benches
measured apart, once (`bench`) and with `--sessions 3`.

    python benchmarks/ab.py [--pairs 20] [--conditions quiet,one,two] [--formats onnx,openvino]
                            [--kinds identical,shape] [--max-time 120] [--out reports/ab]

Conditions: quiet; one competing CPU-bound process; two. Pair kinds: ``identical`` (x3d-xs at
3x4x160x160 against itself: every slower/faster verdict is a false alarm), ``exports`` (two
separate exports of it, as artifact folders; `ab` only: for compare it is identical) and ``shape`` (x3d-xs
3x4x160x168 as NEW against 3x4x160x160 as BASE: 5% more pixels, a real slowdown). fp32, 2
threads. Every method runs with --fail-above (default 2%, as issue 19 asks). Writes ``<out>/results.md`` (a markdown table:
per condition x format x kind x method, the counts of slower / faster / same / inconclusive /
gate failures, and the median wall time per pair) and ``<out>/raw.jsonl`` (one line per pair,
appended as each ends). A rerun with the same ``--out`` resumes: cells already holding their
pairs are skipped. Within a condition the pairs are the outer loop, so a run stopped early has
covered every cell alike; artifacts are exported once into ``<out>/work/artifacts``.

For `compare` of two single benches the pair's label counts (`no detectable change` as same);
with `--sessions 3` the session method's verdict does (fail as slower, pass as same).
For `compare`, results with different input shapes never pair (the shape is part of a result's
identity): the NEW record's input_shape is set to BASE's before comparing, as a user comparing
"the model before and after" would.

The full run (20 pairs per cell, 3 x 2 x 3 x 3 cells) takes many hours; `--pairs 1
--conditions quiet --formats onnx` checks that it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL = "x3d-xs"
BASE_SHAPE, NEW_SHAPE = "3x4x160x160", "3x4x160x168"
METHODS = ("ab", "compare", "sessions3")
FAIL_ABOVE = "2%"  # set by --fail-above


def edgevid(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edgevid.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def competitors(n: int) -> list:
    """``n`` CPU-bound processes (a busy loop each)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def run_ab(fmt: str, new_shape: str, work: Path, max_time: float, sides=None) -> dict:
    base, new = sides or (f"{MODEL}@{BASE_SHAPE}", f"{MODEL}@{new_shape}")
    p = edgevid(
        "ab", base, new, "--to", fmt, "--threads", "2",
        "--fail-above", FAIL_ABOVE, "--max-time", str(max_time), "--json",
        "--artifacts", str(work.parent / "artifacts"), "--results", str(work / "results"),
        cwd=work,
    )  # fmt: skip
    try:
        out = json.loads(p.stdout)
    except ValueError:
        return {"verdict": "error", "rc": p.returncode, "error": p.stderr[-300:]}
    keep = ("ratio", "ci_low", "ci_high", "trials", "rounds", "stop_reason", "gate")
    return {"verdict": out.get("verdict") or "error", "rc": p.returncode,
            **{k: out.get(k) for k in keep}}  # fmt: skip


def run_compare(fmt: str, new_shape: str, work: Path, sessions: int) -> dict:
    paths = {}
    for side, shape in (("base", BASE_SHAPE), ("new", new_shape)):
        folder = work / side
        p = edgevid(
            "bench", MODEL, "--to", fmt, "--threads", "2", "--input-shape", shape,
            "--sessions", str(sessions), "--artifacts", str(work.parent / "artifacts"),
            "--results", str(folder), "--json",
            cwd=work,
        )  # fmt: skip
        if p.returncode != 0:
            return {"verdict": "error", "rc": p.returncode, "error": p.stderr[-300:]}
        paths[side] = folder
    base = next(paths["base"].rglob("*.json"))
    shape = json.loads(base.read_text())["input_shape"]
    for f in paths["new"].rglob("*.json"):  # pair across shapes: see the docstring
        if f.name != "index.sqlite":
            rec = json.loads(f.read_text())
            rec["input_shape"] = shape
            f.write_text(json.dumps(rec))
    p = edgevid(
        "compare", str(base), str(paths["new"]), "--fail-above", FAIL_ABOVE, "--json", cwd=work
    )
    try:
        out = json.loads(p.stdout)
        pair = out["pairs"][0]
        label = {"no detectable change": "same"}.get(pair["label"], pair["label"])
        if out.get("sessions"):  # >= 3 sessions a side: the session method's verdict decides
            v = out["sessions"][0]["verdict"]
            label = {"fail": "slower", "pass": "same"}.get(v, v)
        return {"verdict": label, "rc": p.returncode, "ratio": pair["ratio"]}
    except (ValueError, KeyError, IndexError):
        return {"verdict": "error", "rc": p.returncode, "error": p.stderr[-300:]}


def exports(root: Path, fmt: str) -> tuple:
    """Two separate exports of x3d-xs at BASE_SHAPE (two artifact roots): the `exports` kind."""
    dirs = []
    for k in ("a", "b"):
        art = root / f"exports-{k}"
        p = edgevid(
            "export", MODEL, "--to", fmt, "--input-shape", BASE_SHAPE, "--artifacts", str(art),
            "--json", cwd=root,
        )  # fmt: skip
        if p.returncode != 0:
            raise SystemExit(f"export failed: {p.stderr[-300:]}")
        dirs.append(json.loads(p.stdout)["artifact_dir"])
    return tuple(dirs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--conditions", default="quiet,one,two")
    ap.add_argument("--formats", default="onnx,openvino")
    ap.add_argument("--kinds", default="identical,exports,shape")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--max-time", type=float, default=120.0, help="edgevid ab --max-time")
    ap.add_argument("--out", type=Path, default=Path("reports/ab"))
    ap.add_argument("--fail-above", default="2%", help="every method's gate")
    a = ap.parse_args()
    global FAIL_ABOVE
    FAIL_ABOVE = a.fail_above
    conditions = {"quiet": 0, "one": 1, "two": 2}
    a.out.mkdir(parents=True, exist_ok=True)
    log = a.out / "raw.jsonl"  # one line per pair, appended as it ends: a rerun resumes
    raw = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    done: dict = {}
    for r in raw:
        key = (r["condition"], r["format"], r["kind"], r["method"])
        done[key] = done.get(key, 0) + 1
    root = (a.out / "work").resolve()
    root.mkdir(exist_ok=True)
    twins = {}
    for cond in a.conditions.split(","):
        load = competitors(conditions[cond])
        try:
            for i in range(a.pairs):  # pairs outermost: a partial run covers every cell alike
                for fmt in a.formats.split(","):
                    for kind in a.kinds.split(","):
                        for method in a.methods.split(","):
                            key = (cond, fmt, kind, method)
                            if done.get(key, 0) > i or (kind == "exports" and method != "ab"):
                                continue  # done, or compare's exports = identical
                            if kind == "exports" and fmt not in twins:
                                twins[fmt] = exports(root, fmt)
                            work = Path(tempfile.mkdtemp(prefix=f"{cond}-{fmt}-{kind}-{method}-",
                                                         dir=root))  # fmt: skip
                            new_shape = NEW_SHAPE if kind == "shape" else BASE_SHAPE
                            t0 = time.monotonic()
                            if method == "ab":
                                sides = twins[fmt] if kind == "exports" else None
                                r = run_ab(fmt, new_shape, work, a.max_time, sides)
                            else:
                                n = 3 if method == "sessions3" else 1
                                r = run_compare(fmt, new_shape, work, n)
                            r.update(
                                condition=cond, format=fmt, kind=kind, method=method,
                                seconds=time.monotonic() - t0, loadavg=os.getloadavg(),
                            )  # fmt: skip
                            shutil.rmtree(work, ignore_errors=True)
                            print(json.dumps(r), file=sys.stderr, flush=True)
                            with log.open("a") as f:
                                f.write(json.dumps(r) + "\n")
                            raw.append(r)
        finally:
            for p in load:
                p.kill()
                p.wait()
    (a.out / "results.md").write_text(table(raw, a))
    print(table(raw, a))
    return 0


def table(raw: list, a) -> str:
    lines = [
        "# edgevid ab vs compare: verdicts per pair",
        "",
        f"`python benchmarks/ab.py --pairs {a.pairs} --conditions {a.conditions} "
        f"--formats {a.formats} --kinds {a.kinds} --max-time {a.max_time:g}`; {MODEL}, fp32, "
        f"2 threads, --fail-above {FAIL_ABOVE}. `identical`: every slower/faster is a false alarm; "
        f"`shape`: NEW {NEW_SHAPE} vs BASE {BASE_SHAPE} (5% more pixels).",
        "",
        "| condition | format | kind | method | pairs | slower | faster | same | inconclusive "
        "| gate pass | gate fail | error | median s/pair |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    cells: dict = {}
    for r in raw:
        cells.setdefault((r["condition"], r["format"], r["kind"], r["method"]), []).append(r)
    for (cond, fmt, kind, method), rs in cells.items():
        count = {v: sum(r["verdict"] == v for r in rs) for v in
                 ("slower", "faster", "same", "inconclusive", "error")}  # fmt: skip
        gate = sum(r.get("rc") == 1 for r in rs)
        passed = (
            sum(r.get("gate") == "pass" for r in rs) if method == "ab" else "-"
        )  # compare: no such state
        med = statistics.median(r["seconds"] for r in rs)
        lines.append(
            f"| {cond} | {fmt} | {kind} | {method} | {len(rs)} | {count['slower']} | "
            f"{count['faster']} | {count['same']} | {count['inconclusive']} | {passed} | {gate} | "
            f"{count['error']} | {med:.0f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
