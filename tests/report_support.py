"""Helpers for the report tests: result records fanned out to a zoo on several devices, and the
headless-browser check of an HTML report (Debian's chromium driven by playwright)."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
DEVICES = ("desktop-cpu", "jetson-orin-nano", "raspberry-pi-5")
LATENCY_KEYS = ("mean", "std", "min", "p50", "p90", "p95", "p99", "max", "ci95_low", "ci95_high")


def fan_out(base: list, devices=DEVICES, models=None) -> list:
    """Copies of real bench records (one tiny model's, every format) under every zoo model name
    and every device name: schema-valid records whose timings are the tiny model's real samples
    scaled by a per-model, per-device factor (the factor grows with the model's GFLOPs, so the
    plots have something to show). The latencies are synthetic; nothing else is."""
    from edgevid.models import list_models
    from edgevid.report.facts import facts

    specs = models or list_models()
    out = []
    for d, device in enumerate(devices):
        for spec in specs:
            shape = [1, *spec.input]
            gf = facts(spec.name, tuple(shape)).gflops or 1.0
            for i, r in enumerate(base):
                k = (1.0 + gf) * (1 + 2 * d) * (1 + 0.1 * i)
                c = copy.deepcopy(r)
                c.update(model=spec.name, device=device, input_shape=shape)
                c["samples_ms"] = [v * k for v in c["samples_ms"]]
                c["warmup_ms"] = [v * k for v in c.get("warmup_ms") or []]
                c["summary"] = {
                    key: (v * k if key in LATENCY_KEYS else v) for key, v in c["summary"].items()
                }
                c["first_inference_ms"] = (c.get("first_inference_ms") or 0) * k
                c["env"] = {**c["env"], "host": f"{device}-host"}
                c.pop("result_path", None)
                out.append(c)
    return out


def require_browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("chromium is not installed (Debian package `chromium`; scripts/test.sh installs it as root)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright (python) is not installed (pip install -e '.[dev]')")
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


def check_page(html_path: Path, report, screenshot: Path) -> dict:
    """Open ``html_path`` in headless chromium and assert what the report model says is there:
    no console error, no request but the page itself, every table with its rows, one rendered
    SVG per figure, sorting a numeric column reorders it, the filter hides rows. Writes a
    screenshot. Returns a few facts for the caller."""
    from playwright.sync_api import sync_playwright

    exe = require_browser()
    url = Path(html_path).resolve().as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            requests, problems = [], []
            page.on("request", lambda r: requests.append(r.url))
            blocked = []

            def guard(route):  # anything but the page itself is refused and remembered
                if route.request.url == url:
                    route.continue_()
                else:
                    blocked.append(route.request.url)
                    route.abort()

            page.route("**/*", guard)
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(url)
            page.wait_for_load_state("load")
            page.wait_for_timeout(300)
            assert problems == [], problems
            assert requests == [url], requests  # nothing but the page itself
            assert blocked == [], blocked

            tables = report.tables()
            assert page.locator("table.report-table").count() == len(tables)
            for t in tables:
                rows = page.locator(f"#t-{t.id} tbody tr")
                assert rows.count() == len(t.rows), t.id
                assert page.locator(f"#t-{t.id} thead th").count() == len(t.columns)

            figures = report.figures()
            assert page.locator("figure.plot").count() == len(figures)
            for f in figures:
                svg = page.locator(f"#fig-{f.id} > svg")
                assert svg.count() == 1, f.id
                box = svg.bounding_box()
                assert box and box["width"] > 100 and box["height"] > 50, (f.id, box)
                assert page.locator(f"#fig-{f.id} svg path").count() > 0, f.id

            sorted_check = _check_sorting(page, tables)
            _check_filter(page, tables)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000
    return {"sorted": sorted_check}


def _numeric_column(tables):
    for t in sorted(tables, key=lambda t: -len(t.rows)):
        for i, c in enumerate(t.columns):
            vals = [
                r[i].value
                for r in t.rows
                if isinstance(r[i].value, (int, float)) and not isinstance(r[i].value, bool)
            ]
            if c.numeric and len(set(vals)) >= 3:
                return t, i
    raise AssertionError("no table with a numeric column of 3+ distinct values to sort")


def _cells(page, t, i):
    return page.eval_on_selector_all(
        f"#t-{t.id} tbody tr", f"rows => rows.map(r => r.cells[{i}].getAttribute('data-value'))"
    )


def _check_sorting(page, tables):
    t, i = _numeric_column(tables)
    before = _cells(page, t, i)
    page.locator(f"#t-{t.id} thead th").nth(i).click()
    asc = _cells(page, t, i)
    nums = [float(v) for v in asc if v not in ("", None)]
    assert nums == sorted(nums), "ascending sort"
    assert sorted(asc, key=str) == sorted(before, key=str)  # the same rows, reordered
    page.locator(f"#t-{t.id} thead th").nth(i).click()
    desc = [float(v) for v in _cells(page, t, i) if v not in ("", None)]
    assert desc == sorted(desc, reverse=True), "descending sort"
    assert page.locator(f"#t-{t.id} thead th").nth(i).get_attribute("aria-sort") == "descending"
    return (t.id, t.columns[i].key)


def _check_filter(page, tables):
    t = max(tables, key=lambda t: len(t.rows))
    word = t.rows[0][0].text
    page.fill(f"input[data-for='t-{t.id}']", word)
    visible = page.locator(f"#t-{t.id} tbody tr:visible").count()
    want = sum(1 for r in t.rows if any(word.lower() in c.text.lower() for c in r))
    assert visible == want
    page.fill(f"input[data-for='t-{t.id}']", "")
    assert page.locator(f"#t-{t.id} tbody tr:visible").count() == len(t.rows)
