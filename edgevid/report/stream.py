"""The report's "Does it keep up?" section: the stream runs (``"scenario": "stream"`` records).

Per device, one row per stream run: the target fps, the sustained fps (frames per result x
results per second), whether it keeps up (no drop, nothing left unfinished, deadline misses within
1% of the inferences), the deadline misses, dropped and unfinished inferences, the latency from the
last frame's arrival to the result (p50, p99), the highest sustainable fps where it was searched,
the peak RSS, and the energy per inference where a source was readable (else "not available" and
why). Energy in a stream run covers the whole window, idle gaps between frames included.

One figure per device (kind ``stream``): each inference's latency against its last frame's
arrival on the frame clock, with each run's frame budget (the time to the next inference's frame).
"""

from __future__ import annotations

from typing import List, Optional

from edgevid.report.model import Cell, Column, Figure, Section, Table, Text
from edgevid.results.select import newest, scenario_key

MISS_TOLERANCE = 0.01  # the runner's default (StreamOptions.miss_tolerance)
MAX_POINTS = 1500  # per series in a figure

COLUMNS = [
    Column("model", "model"),
    Column("format", "format"),
    Column("precision", "precision"),
    Column("scenario", "scenario", help="fps, clip/stride (sliding window), drop policy"),
    Column("mode", "mode", help="stateful stream (state carried) or sliding-window clip"),
    Column("fps_target", "target fps", True),
    Column("fps_sustained", "sustained fps", True, "frames per result x results per second"),
    Column("keeps_up", "keeps up", help="no drop, none unfinished, misses within 1%"),
    Column("deadline_misses", "deadline misses", True, "results after the next one's frame"),
    Column("dropped", "dropped", True, "inferences dropped (drop-oldest) + unfinished"),
    Column("latency_p50", "latency p50 ms", True, "last frame's arrival to result"),
    Column("latency_p99", "latency p99 ms", True, "last frame's arrival to result"),
    Column("max_fps", "max sustainable fps", True, "--find-max-fps: the search's answer"),
    Column("peak_rss", "peak RSS MB", True),
    Column("energy", "mJ / inference", True, "whole window, idle gaps included"),
]

HOW = [
    "A stream run feeds frames at a fixed rate; an inference is due every step (a stream "
    "model's frames per step, or a clip model's stride) and waits in a queue while the device "
    "is busy.",
    "Latency is from the arrival of an inference's last frame to its result: queueing "
    "included. A deadline miss is a result later than the next inference's last frame.",
    "Energy per inference is the energy of the whole stream window (idle gaps between frames "
    "included) divided by the inferences: it is not the energy of an inference alone.",
]


def stream_records(records: list) -> list:
    """The newest stream run per identity (bench records only)."""
    rs = [r for r in records if r.get("scenario") == "stream" and r.get("kind", "bench") == "bench"]
    return newest(rs)[0]


def keeps_up(st: dict) -> Optional[bool]:
    n = st.get("inferences")
    if not n:
        return None
    return (
        not st.get("dropped")
        and not st.get("unfinished")
        and (st.get("deadline_misses") or 0) <= MISS_TOLERANCE * n
    )


def energy_cell(r: dict) -> Cell:
    e = r.get("energy") or {}
    if e.get("available") and e.get("mj_per_inference") is not None:
        note = e.get("scope") or "whole window, idle gaps included"
        return Cell.of(float(e["mj_per_inference"]), 2, note=note)
    reason = e.get("reason") or "not available: no energy recorded"
    if not reason.startswith("not available"):
        reason = "not available: " + reason
    short = reason if len(reason) <= 90 else reason[:89] + "…"
    return Cell(short, None, "muted", reason)


def row(r: dict) -> List[Cell]:
    st = r.get("stream") or {}
    lat = st.get("latency_ms") or {}
    up = keeps_up(st)
    ok = r.get("status") == "ok"
    lost = (st.get("dropped") or 0) + (st.get("unfinished") or 0)
    return [
        Cell(str(r.get("model")), r.get("model")),
        Cell(str(r.get("format")), r.get("format")),
        Cell(str(r.get("precision")), r.get("precision")),
        Cell(scenario_key(r) or "—", scenario_key(r)),
        Cell(st.get("mode") or "—", st.get("mode")),
        Cell.of(st.get("fps_target"), 1),
        Cell.of(st.get("fps_sustained"), 1),
        (
            Cell(f"{r.get('status')}", None, "bad", r.get("reason") or "")
            if not ok
            else Cell("—", None, "muted", st.get("reason", ""))
            if up is None
            else Cell("yes" if up else "no", up, "good" if up else "bad")
        ),
        Cell.of(st.get("deadline_misses"), tone="bad" if st.get("deadline_misses") else None),
        Cell.of(
            lost if st else None,
            tone="bad" if lost else None,
            note=f"{st.get('dropped')} dropped, {st.get('unfinished')} unfinished" if st else "",
        ),
        Cell.of(lat.get("p50"), 2),
        Cell.of(lat.get("p99"), 2),
        Cell.of(st.get("max_sustainable_fps"), 1),
        Cell.of(st.get("peak_rss_mb") or r.get("peak_rss_mb"), 0),
        energy_cell(r),
    ]


def _thin(xs: list) -> list:
    step = max(1, -(-len(xs) // MAX_POINTS))
    return xs[::step]


def latency_figure(device: str, records: list) -> Optional[Figure]:
    series = []
    for r in records:
        st = r.get("stream") or {}
        rec = st.get("records") or {}
        arrival, end = rec.get("arrival_ms") or [], rec.get("end_ms") or []
        if not arrival or not st.get("fps_target"):
            continue
        budget = 1e3 * (st.get("frames_per_inference_step") or 1) / st["fps_target"]
        pts = _thin(list(zip(arrival, end)))
        series.append(
            {
                "label": f"{r.get('model')} {r.get('format')} · {scenario_key(r)}",
                "t_s": [round(a / 1e3, 4) for a, _ in pts],
                "latency_ms": [round(e - a, 3) for a, e in pts],
                "budget_ms": round(budget, 3),
            }
        )
    if not series:
        return None
    slug = "".join(c if c.isalnum() else "-" for c in device.lower())
    return Figure(
        f"stream-{slug}",
        "stream",
        f"Latency per inference on {device}, against the frame clock",
        {"device": device, "series": series},
        "Each inference's latency (last frame's arrival to result) at its last frame's arrival "
        "time; dashed: each run's frame budget (the time to the next inference's frame). A line "
        "that climbs is a queue that grows: the device does not keep up.",
    )


def stream_sections(records: list) -> List[Section]:
    """The "Does it keep up?" section of these records' stream runs ([] when there are none)."""
    rs = stream_records(records)
    if not rs:
        return []
    sec = Section("Does it keep up?", [Text(HOW, bullets=True)], id="stream")
    for device in sorted({str(r.get("device")) for r in rs}):
        on = sorted(
            (r for r in rs if str(r.get("device")) == device),
            key=lambda r: (str(r.get("model")), str(r.get("format")), scenario_key(r)),
        )
        slug = "".join(c if c.isalnum() else "-" for c in device.lower())
        table = Table(
            f"stream-{slug}",
            COLUMNS,
            [row(r) for r in on],
            f"Stream runs on {device}: does each model keep up with its frame rate?",
        )
        sec.add(Section(f"{device} · streams").add(table, latency_figure(device, on)))
    return [sec]
