"""The report model and its renderers, on records from a real bench of a tiny model."""

import csv
import io
import json

import pytest
from conftest import FAST, json_out, run_cli, seed_artifacts
from report_support import DEVICES, check_page, fan_out

from edgevid.models import get_spec
from edgevid.report import render, results_report, to_terminal
from edgevid.analysis.stats import box_stats, pareto_front, spearman
from edgevid.report.columns import (
    RESULT_COLUMNS,
    SUMMARY_FIELDS,
    TERMINAL,
    result_table,
)
from edgevid.report.model import Figure, Section, Table


@pytest.fixture(scope="module")
def bench_records(tmp_path_factory, x3d_tiny_exports):
    """A real `edgevid bench x3d-tiny` on this CPU: every format of the desktop-cpu profile."""
    work = tmp_path_factory.mktemp("bench")
    seed_artifacts(x3d_tiny_exports, work / "artifacts")
    proc = run_cli("bench", "x3d-tiny", "--device", "desktop-cpu", *FAST, "--json", cwd=work)
    records = json_out(proc)
    assert [r["status"] for r in records] == ["ok"] * len(records) and len(records) >= 3
    return records


def _failed(records):
    ok = records[0]
    export_failed = {
        **ok,
        "status": "export-failed",
        "samples_ms": [],
        "summary": {},
        "reason": "Exporting the operator 'aten::foo' to ONNX opset version 17 is "
        "not supported | with a pipe",
        "numerics": {},
    }
    numerics = {
        **ok,
        "format": "openvino",
        "precision": "fp16",
        "numerics": {"max_abs_diff": 0.5, "tolerance": 1e-3, "top1_agree": 0.0, "ok": False},
    }
    return [export_failed, numerics]


def test_markdown_groups_by_device_then_class(bench_records):
    records = fan_out(bench_records, devices=DEVICES[:2])
    md = render(results_report(records + _failed(bench_records)), "md")
    lines = md.splitlines()
    heads = [ln for ln in lines if ln.startswith("## Device ")]
    assert heads == [f"## Device {d}" for d in sorted(DEVICES[:2])]
    # per device: one table per class present, each headed "### device · class"
    for d in DEVICES[:2]:
        assert f"### {d} · cnn" in lines and f"### {d} · attention-only" in lines
    # every result row once, with p50 and its CI, p90, p99, params and GFLOPs
    header = next(ln for ln in lines if ln.startswith("| model | format |"))
    for col in (
        "p50 ms [95% CI]",
        "p90",
        "p99",
        "cold start ms",
        "peak RSS MB",
        "size MB",
        "numerics",
        "throttled",
        "params M",
        "GFLOPs",
    ):
        assert f" {col} |" in header
    x3d_xs = [ln for ln in lines if ln.startswith("| x3d-xs |")]
    assert len(x3d_xs) == 2 * len(bench_records)
    r = next(r for r in records if r["model"] == "x3d-xs" and r["device"] == DEVICES[0])
    s = r["summary"]
    assert f"{s['p50']:.2f} [{s['ci95_low']:.2f}–{s['ci95_high']:.2f}]" in md
    assert "| 3.79 | 0.605 |" in md  # x3d-xs: params M and GFLOPs at its default input
    # failures with their reason (pipes escaped); the numerics failure in bold
    assert "**export-failed: Exporting the operator 'aten::foo'" in md
    assert "not supported \\| with a pipe" in md
    assert "**FAIL (Δ 5.0e-01, top-1 0%)**" in md
    assert "## Failures" in md and "numerics-failed" in md
    # each device's environment once
    for d in DEVICES[:2]:
        assert sum(ln.startswith(f"- **{d}** on `{d}-host`") for ln in lines) == 1


def test_reduced_input_is_flagged_and_gflops_recounted(bench_records):
    from edgevid.models import get_spec
    from edgevid.models.stats import spec_stats

    r = dict(bench_records[0], model="x3d-s", input_shape=[1, 3, 13, 80, 80])
    rep = results_report([r])
    assert any("reduced input" in f for f in rep.flags)
    t = rep.tables()[0]
    row = t.rows[0]
    assert row[t.column("input")].text == "3x13x80x80 (reduced)"
    assert row[t.column("input")].tone == "warn"
    want = spec_stats(get_spec("x3d-s"), (3, 13, 80, 80)).gflops
    assert row[t.column("gflops")].value == pytest.approx(want)
    assert want < 0.5 * spec_stats(get_spec("x3d-s")).gflops


def test_terminal_table_keeps_structure_not_markdown(bench_records):
    from rich.console import Console

    records = bench_records + _failed(bench_records)
    console = Console(record=True, width=250, color_system="truecolor")
    console.print(to_terminal.table(result_table(records, TERMINAL, "results")))
    text = console.export_text(clear=False)
    assert "**" not in text and "export-failed: Exporting" in text
    styled = console.export_html(inline_styles=True)
    assert "color: #800000" in styled or "color: #ff0000" in styled  # failures in red
    labels = [c.label for c in RESULT_COLUMNS if TERMINAL in c.views]
    assert all(label.split()[0] in text for label in labels)


def test_csv_has_one_row_per_result_and_every_summary_field(bench_records):
    records = fan_out(bench_records, devices=DEVICES[:1])
    rows = list(csv.DictReader(io.StringIO(render(results_report(records), "csv"))))
    assert len(rows) == len(records)
    for key in SUMMARY_FIELDS:
        assert f"summary_{key}" in rows[0]
    by = {(r["model"], r["format"], r["precision"]): r for r in rows}
    for r in records:
        row = by[(r["model"], r["format"], r["precision"])]
        assert float(row["summary_p50"]) == pytest.approx(r["summary"]["p50"])
        assert row["class"] and row["device"] == r["device"]
        assert float(row["peak_rss_mb"]) == pytest.approx(r["peak_rss_mb"])


def test_json_is_the_model_and_valid(bench_records):
    rep = results_report(bench_records)
    obj = json.loads(render(rep, "json"))
    assert obj["title"] == rep.title
    assert len(obj["data"]["rows"]) == len(bench_records)
    kinds = {f["kind"] for f in _walk(obj["sections"]) if "kind" in f}
    # One model on one device: a scatter of one point and a 1x1 heatmap say nothing, so each
    # is one sentence instead (issue 18); two models on two devices get the figures.
    assert {"distribution", "trace"} <= kinds and not {"scatter", "heatmap"} & kinds
    lines = [ln for b in _walk(obj["sections"]) for ln in b.get("lines", [])]
    assert any(ln.startswith("Latency vs GFLOPs on desktop-cpu: one model only") for ln in lines)
    assert any(ln.startswith("One model on one device: x3d-tiny on desktop-cpu") for ln in lines)
    two = fan_out(
        bench_records,
        devices=("desktop-cpu", "raspberry-pi-5"),
        models=[get_spec("x3d-xs"), get_spec("vidtr-s")],
    )
    kinds = {
        f["kind"]
        for f in _walk(json.loads(render(results_report(two), "json"))["sections"])
        if "kind" in f
    }
    assert {"distribution", "scatter", "trace", "heatmap"} <= kinds


def _walk(sections):
    for s in sections:
        for b in s.get("blocks", []):
            yield b
            if "blocks" in b:
                yield from _walk([b])


def test_spearman_and_its_bootstrap_ci():
    x = [1, 2, 3, 4, 5, 6, 7, 8]
    c = spearman(x, [v * v for v in x])
    assert c.rho == pytest.approx(1.0) and c.n == 8
    assert c.ci_low == pytest.approx(1.0) and c.ci_high == pytest.approx(1.0)
    from scipy.stats import spearmanr

    y = [3, 1, 4, 1, 5, 9, 2, 6]
    c = spearman(x, y)
    assert c.rho == pytest.approx(spearmanr(x, y).statistic)
    assert c.ci_low < c.rho < c.ci_high and -1 <= c.ci_low and c.ci_high <= 1
    assert spearman([1, 2], [2, 1]).rho is None  # too few models
    assert spearman(x, [5] * 8).rho is None  # constant latency: undefined


def test_pareto_front_against_brute_force():
    import random

    rng = random.Random(1)
    for _ in range(50):
        lat = [rng.choice([1, 2, 3, 5, 8]) + rng.random() for _ in range(12)]
        acc = [rng.choice([60, 70, 75, 80]) + rng.random() for _ in range(12)]
        front = set(pareto_front(lat, acc))
        brute = {
            i
            for i in range(12)
            if not any(
                (lat[j] <= lat[i] and acc[j] >= acc[i]) and (lat[j] < lat[i] or acc[j] > acc[i])
                for j in range(12)
            )
        }
        assert front == brute


def test_box_stats():
    s = box_stats(list(range(1, 101)) + [1000])
    assert s["med"] == 51 and s["whishi"] == 100 and s["max"] == 1000 and s["n"] == 101


def test_compare_and_matrix_render_through_the_model(bench_records):
    from edgevid.analysis.compare import compare_records
    from edgevid.report.tables import matrix_markdown as matrix_md
    from edgevid.report.tables import compare_table, matrix_table

    slow = [dict(r, samples_ms=[2 * v for v in r["samples_ms"]]) for r in bench_records]
    pairs, _ = compare_records(bench_records, slow)
    t = compare_table(pairs)
    assert len(t.rows) == len(bench_records)
    verdicts = [(row[t.column("verdict")].text, row[t.column("verdict")].tone) for row in t.rows]
    assert ("slower", "bad") in verdicts
    assert all(tone == ("bad" if v == "slower" else None) for v, tone in verdicts)
    checks = [dict(r, kind="check") for r in bench_records] + [
        dict(
            bench_records[0],
            kind="check",
            format="tflite",
            precision="int8",
            status="export-failed",
            reason="Didn't find op for builtin opcode 'CONV_3D'",
        )
    ]
    m = matrix_table(checks)
    assert [c.label for c in m.columns][0] == "model" and len(m.rows) == 1
    cell = m.rows[0][m.column("tflite-int8")]
    assert cell.text == "✗ export (CONV_3D)" and cell.tone == "bad"
    assert "✗ export (CONV_3D)" in matrix_md(checks)


def test_report_cli_writes_md_html_csv_and_json(bench_records, tmp_path):
    d = tmp_path / "results"
    d.mkdir()
    for i, r in enumerate(bench_records):
        (d / f"r{i}.json").write_text(json.dumps(r))
    proc = run_cli(
        "report",
        d,
        "--md",
        tmp_path / "r.md",
        "--html",
        tmp_path / "r.html",
        "--csv",
        tmp_path / "r.csv",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "r.md").read_text().startswith("# edgevid report")
    assert (tmp_path / "r.html").read_text().startswith("<!doctype html>")
    assert len((tmp_path / "r.csv").read_text().splitlines()) == len(bench_records) + 1
    proc = run_cli("report", d, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["data"]["rows"]) == len(bench_records)
    proc = run_cli("report", tmp_path / "nothing-here", cwd=tmp_path)
    assert proc.returncode == 2 and "no such results" in proc.stderr


def test_html_whole_zoo_on_three_devices_is_small_and_renders(bench_records, tmp_path):
    """The whole zoo x every desktop-cpu format x 3 devices (records fanned out from the real
    bench above: synthetic latencies, real schema), checked in headless chromium. Top-1
    accuracies are given through the report's ``accuracy`` override (as a user with their own
    checkpoints would), so the Pareto plot is drawn whatever the zoo publishes."""
    from edgevid.models import list_models

    records = fan_out(bench_records) + _failed(bench_records)
    top1 = {s.name: 60.0 + (i * 7) % 20 for i, s in enumerate(list_models())}
    rep = results_report(records, "zoo on three devices", accuracy=top1)
    html = render(rep, "html")
    path = tmp_path / "zoo.html"
    path.write_text(html)
    size = path.stat().st_size
    print(f"HTML report: {len(records)} results, {size / 2**20:.2f} MiB")
    assert size < 5 * 2**20
    for forbidden in ("http://", "https://", "src=", "@import", "url(http"):
        assert forbidden not in _outside_svg_namespaces(html), forbidden
    kinds = [f.kind for f in rep.figures()]
    assert kinds.count("distribution") == kinds.count("scatter") == kinds.count("trace") == 3
    assert kinds.count("heatmap") == 1 and kinds.count("pareto") == 3
    check_page(path, rep, tmp_path / "zoo.png")


def _outside_svg_namespaces(html: str) -> str:
    """The page without the XML namespace names matplotlib writes (not requests)."""
    import re

    return re.sub(r'xmlns(:\w+)?="[^"]*"', "", html)


def test_model_walk_order():
    t = Table("a", [], [])
    f = Figure("f", "trace", "t", {})
    from edgevid.report.model import Report

    rep = Report("r", sections=[Section("s", [t, Section("inner", [f])])])
    assert rep.tables() == [t] and rep.figures() == [f]
