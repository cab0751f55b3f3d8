"""`edgevid ab BASE NEW`: both sides measured in one window (edgevid/run/ab.py)."""

from __future__ import annotations

import math
import random
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from edgevid.cli.app import app
from edgevid.cli.common import check_outputs, err, print_json
from edgevid.errors import Interrupted, UserError


@app.command(help="A/B: is NEW slower than BASE? Both measured on one device, in one window.")
def ab(
    base: str = typer.Argument(..., help="artifact folder, or model (zoo name[@CxTxHxW], .onnx)"),
    new: str = typer.Argument(..., help="artifact folder, or model (zoo name[@CxTxHxW], .onnx)"),
    device: str = typer.Option("desktop-cpu", help="device profile (local devices)"),
    to: Optional[str] = typer.Option(None, "--to", help="format (default: the profile's first)"),
    precision: Optional[str] = typer.Option(None, help="precision"),
    threads: Optional[int] = typer.Option(None, help="intra-op threads (default: profile's)"),
    base_shape: Optional[str] = typer.Option(None, help="BASE's input C,T,H,W"),
    new_shape: Optional[str] = typer.Option(None, help="NEW's input C,T,H,W"),
    base_weights: Optional[str] = typer.Option(None, help="BASE's PyTorch checkpoint"),
    new_weights: Optional[str] = typer.Option(None, help="NEW's PyTorch checkpoint"),
    base_python: Optional[str] = typer.Option(None, help="the Python that runs BASE (a venv's)"),
    new_python: Optional[str] = typer.Option(None, help="the Python that runs NEW (a venv's)"),
    export_opt: List[str] = typer.Option(None, "--export-opt", metavar="KEY=VALUE"),
    different_shapes: bool = typer.Option(False, help="allow BASE and NEW input shapes to differ"),
    margin: str = typer.Option("2%", help="practical margin: |change| within it is 'same'"),
    fail_above: Optional[str] = typer.Option(
        None, help="exit 1 when the CI lies above 1+X; the run stops once pass/fail is decided"
    ),
    max_time: float = typer.Option(
        300.0, help="no trial or round that would end after this many seconds is started"
    ),
    block_s: float = typer.Option(0.25, help="seconds of inferences per block"),
    block_warmup: int = typer.Option(
        1, help="untimed inferences at the start of each block (the first after a gap runs cold)"
    ),
    rounds: int = typer.Option(10, help="rounds per trial (processes restarted between trials)"),
    min_trials: int = typer.Option(3, help="trials before the verdict may stop the run (>= 2)"),
    max_trials: int = typer.Option(20, help="the trial cap: the last planned look"),
    seed: Optional[int] = typer.Option(
        None, help="seed of the per-round order (default: drawn per run, kept in the record)"
    ),
    artifacts: Path = typer.Option(Path("artifacts"), help="artifact root folder"),
    results_dir: Path = typer.Option(Path("results"), "--results", help="results folder"),
    save: bool = typer.Option(True, help="store the result record"),
    md: Optional[Path] = typer.Option(None, "--md", help="write the markdown report here"),
    html: Optional[Path] = typer.Option(None, "--html", help="write the HTML report here"),
    json_: bool = typer.Option(False, "--json", help="print the result as JSON only"),
):
    from edgevid.analysis.ab import FAIL
    from edgevid.analysis.ab_words import gate_words, in_words
    from edgevid.analysis.compare import parse_threshold
    from edgevid.outputs import check_output_path
    from edgevid.run import ab as runner
    from edgevid.run import ab_sides as sides_of
    from edgevid.run.config import check_threads, parse_export_opts, run_options
    from edgevid.run.profiles import get_profile

    check_outputs(results_dir, None, artifacts, md)
    if html is not None:
        check_output_path(html, "--html")
    m = parse_threshold(margin)
    gate = parse_threshold(fail_above) if fail_above is not None else None
    if not (max_time > 0 and block_s > 0 and rounds >= 2 and block_warmup >= 0):
        raise UserError("--max-time and --block-s must be > 0, --rounds >= 2, --block-warmup >= 0")
    if not 2 <= min_trials <= max_trials:
        raise UserError(
            f"--min-trials ({min_trials}) must be at least 2 (one process start shows no spread "
            f"between starts) and at most --max-trials ({max_trials})"
        )
    if seed is None:  # a fresh order per run: a fixed one would repeat any order effect
        seed = random.SystemRandom().randrange(2**31)
    threads = check_threads(threads)
    profile = get_profile(device)
    transport = None
    if not profile.is_local:
        transport = _remote(profile, base_python or new_python)
    threads = threads if threads is not None else profile.threads
    opts = parse_export_opts(export_opt)
    log = lambda msg: err.print(f"[dim]{msg}[/]")  # noqa: E731
    given = {"base": (base, base_shape, base_weights), "new": (new, new_shape, new_weights)}
    resolved = {
        name: sides_of.resolve_side(text, shape, weights, to, precision, opts, profile)
        for name, (text, shape, weights) in given.items()
    }
    roots = sides_of.export_roots(resolved, artifacts)
    sides, labels = [], {name: text for name, (text, _, _) in given.items()}
    shaped = any(r[2] for r in resolved.values())
    for name, python in (("base", base_python), ("new", new_python)):
        what, entry, _ = resolved[name]
        art = sides_of.export_side(labels[name], what, entry, roots[name], artifacts, log)
        why = transport.missing(entry) if transport is not None else ""
        if why:
            raise UserError(why)
        options = run_options(entry, profile, threads).to_dict()
        where = transport.conn.python if transport is not None else sys.executable
        sides.append(runner.SideSpec(name, art, options, python or where))
    mb, mn = (sides_of.manifest_of(s.artifact_dir) for s in sides)
    sides_of.check_pairing(mb, mn, different_shapes or shaped)
    plan = runner.Plan(
        block_s=block_s,
        block_warmup=block_warmup,
        rounds_per_trial=rounds,
        min_trials=min_trials,
        max_trials=max_trials,
        max_time_s=max_time,
        margin=m,
        fail_above=gate,
        seed=seed,
    )

    def on_round(r):
        err.print(
            f"[dim]trial {r['trial'] + 1} round {r['round'] + 1}: NEW/BASE {r['ratio']:.3f}[/]"
        )

    failure: Optional[BaseException] = None
    source = _source(transport, sides, plan)
    try:
        outcome = runner.run_ab(source, plan, on_round=on_round)
    except (runner.SideFailed, KeyboardInterrupt) as e:
        if getattr(e, "outcome", None) is None:  # interrupted before run_ab kept anything
            raise
        failure, outcome = e, e.outcome  # type: ignore[union-attr]
    finally:
        source.shutdown()
    record = _record(sides, labels, mb, mn, outcome, plan, profile.name, threads, failure)
    if transport is not None:
        record["ab"]["transport"] = source.describe()
    if save:
        from edgevid.results import store

        record["result_path"] = str(store.save(record, results_dir))
    if md or html:
        from edgevid.report.ab import ab_report
        from edgevid.outputs import write_text_safely

        rep = ab_report(record)
        if md:
            from edgevid.report.to_markdown import render as render_md

            write_text_safely(md, render_md(rep), "--md")
        if html:
            from edgevid.report.to_html import render as render_html

            write_text_safely(html, render_html(rep), "--html")
    summary = outcome.summary
    kept = f" (kept in {record['result_path']})" if save else " (not stored: --no-save)"
    if isinstance(failure, KeyboardInterrupt):
        raise Interrupted(
            f"{summary.rounds} round(s) measured{kept}", _short(record) if json_ else None
        )
    if isinstance(failure, runner.SideFailed):
        if json_:
            err.print(f"[red]error:[/] {escape(str(failure))}", highlight=False, soft_wrap=True)
            print_json({**_short(record), "error": str(failure), "exit_code": failure.exit_code})
            raise typer.Exit(failure.exit_code)
        if summary.rounds:
            err.print(f"[dim]{summary.rounds} round(s) measured{kept}[/]")
        raise failure
    if json_:
        print_json(_short(record))
    else:
        err.print(in_words(summary))
        if gate is not None:
            err.print(gate_words(summary, outcome.stop_reason))
        err.print(f"stopped: {outcome.stop_reason} after {outcome.seconds:.0f} s")
    if summary.gate == FAIL:
        err.print(f"[red]NEW is slower than BASE by more than {fail_above}[/]")
        raise typer.Exit(1)


def _remote(profile, python_given):
    """The transport of a remote device ``ab`` can run on (ssh with a Python)."""
    from edgevid.transports import connection_of, for_profile

    conn = connection_of(profile)
    if conn.type != "ssh" or conn.python is None:
        raise UserError(
            f"device {profile.name!r}: `edgevid ab` runs on local devices and on ssh devices "
            f"with a Python (this one is {conn.describe()}"
            + (", python: none" if conn.type == "ssh" else "")
            + ")"
        )
    if python_given:
        raise UserError(
            "--base-python/--new-python are for local devices: on a remote device both sides "
            "run with the profile's connection.python"
        )
    return for_profile(profile)


def _source(transport, sides, plan):
    """Where the blocks come from: local processes, or a relay on the ssh device."""
    from edgevid.run import ab as runner

    if transport is None:
        return runner.ProcessSource(sides, plan)
    from edgevid.run.ab_remote import RelaySource

    return RelaySource(transport, sides, plan)


def _short(record: dict) -> dict:
    """What --json prints: the verdict and its numbers, then the whole record under ``record``."""
    ab = record["ab"]
    s = ab["summary"]
    return {
        "verdict": s["verdict"],
        "ratio": s["ratio"],
        "ci_low": s["ci_low"],
        "ci_high": s["ci_high"],
        "margin": s["margin"],
        "fail_above": s["fail_above"],
        "gate": s["gate"],
        "rounds": s["rounds"],
        "trials": s["trials"],
        "seconds": ab["seconds"],
        "stop_reason": ab["stop_reason"],
        "looks": ab.get("looks", []),
        "base_p50": s["base_p50"],
        "new_p50": s["new_p50"],
        "load": ab["load"],
        "pids": ab["pids"],
        "result_path": record.get("result_path"),
        "record": record,
    }


def _finite(rows: list) -> list:
    """JSON-safe copies of ``rows`` (NaN -> None)."""
    nan = lambda v: isinstance(v, float) and math.isnan(v)  # noqa: E731
    return [{k: (None if nan(v) else v) for k, v in row.items()} for row in rows]


def _record(sides, labels, mb, mn, outcome, plan, device, threads, failure) -> dict:
    from dataclasses import asdict

    from edgevid import __version__
    from edgevid.run.bench import git_revision
    from edgevid.runners.record import new_record
    from edgevid.runners.sysinfo import fingerprint

    # the failing trial's ready messages when it failed on them (numerics), else the first's
    ready = getattr(failure, "ready", None) or (
        outcome.trials[0]["ready"] if outcome.trials else {}
    )
    num = {s: (ready.get(s) or {}).get("numerics") for s in ("base", "new")}
    oks = [(n or {}).get("ok") for n in num.values()]
    s = outcome.summary.to_dict()
    if failure is not None:  # a failed or interrupted run decides nothing
        s["verdict"] = s["gate"] = None
    fin = lambda v: v if isinstance(v, (int, float)) and math.isfinite(v) else None  # noqa: E731
    return new_record(
        kind="ab",
        model=mn.get("model"),
        format=mn.get("format"),
        precision=mn.get("precision"),
        variant="ab",
        device=device,
        input_shape=(mn.get("inputs") or [{}])[0].get("shape"),
        threads=threads,
        status="error" if failure is not None else "ok",
        reason=str(failure) if failure is not None else "",
        numerics={"ok": None if None in oks else all(oks), **num},
        verdict=s["verdict"],
        ratio=fin(s["ratio"]),
        ci_low=fin(s["ci_low"]),
        ci_high=fin(s["ci_high"]),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        env={**fingerprint({}), "edgevid_version": __version__, "git_revision": git_revision()},
        ab={
            "summary": s,
            "plan": asdict(plan),
            "seconds": outcome.seconds,
            "stop_reason": outcome.stop_reason,
            "looks": _finite(outcome.looks),
            "load": outcome.load,
            "pids": [t["pids"] for t in outcome.trials],
            "rounds": outcome.rounds,
            "sides": {
                sp.name: {
                    "artifact_dir": str(sp.artifact_dir),
                    "label": labels[sp.name],
                    "python": sp.python,
                    "model": m.get("model"),
                    "input_shape": (m.get("inputs") or [{}])[0].get("shape"),
                    "sha256": m.get("sha256"),
                    "numerics": num[sp.name],
                    "p50": s[f"{sp.name}_p50"],
                }
                for sp, m in zip(sides, (mb, mn))
            },
        },
    )
