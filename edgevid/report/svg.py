"""Draw a :class:`~edgevid.report.model.Figure` as inline SVG with matplotlib.

Why matplotlib SVG: the HTML report must open offline with no network request, and plotly or
Vega-Lite would inline a megabyte-sized JavaScript runtime into every report (or fetch it from a
CDN). Static SVG needs no script, scales, prints, and stays small (text kept as text, not paths).
Each SVG's ids are prefixed with the figure's id, so several SVGs can share one page.
"""

from __future__ import annotations

import io
import math
import re

CLASS_COLOURS = {
    "cnn": "#1b9e77",
    "composite": "#d95f02",
    "attention-only": "#7570b3",
    "attention-block": "#e7298a",
    "other": "#666666",
}
FORMAT_MARKERS = {
    "onnx": "o",
    "openvino": "s",
    "pytorch": "^",
    "tflite": "D",
    "coreml": "v",
    "tensorrt": "P",
}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": "edgevid",
            "font.size": 9,
            "axes.titlesize": 10,
            "font.family": "sans-serif",
            "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
            "path.simplify": True,
            "figure.dpi": 72,
        }
    )
    return plt


def _log(axis) -> None:
    """A log axis labelled 0.2, 0.5, 1, 2, 5, ... (no overlapping minor labels)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    lo, hi = sorted(axis.get_view_interval())
    decades = math.log10(hi / lo) if lo > 0 and hi > 0 else 10
    subs = (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=12))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _colour(cls: str) -> str:
    return CLASS_COLOURS.get(cls, CLASS_COLOURS["other"])


def _marker(fmt: str) -> str:
    return FORMAT_MARKERS.get(fmt, "x")


def distribution(ax, data: dict) -> None:
    items = data["items"]
    stats = [
        {
            "label": i["label"],
            "q1": i["q1"],
            "med": i["med"],
            "q3": i["q3"],
            "whislo": i["whislo"],
            "whishi": i["whishi"],
            "fliers": [],
        }
        for i in items
    ]
    bp = ax.bxp(stats, orientation="horizontal", showfliers=False, patch_artist=True, widths=0.6)
    for patch, item in zip(bp["boxes"], items):
        patch.set_facecolor(_colour(item["class"]))
        patch.set_alpha(0.55)
    ax.plot([i["p99"] for i in items], range(1, len(items) + 1), "k.", markersize=3, label="p99")
    ax.set_xscale("log")
    _log(ax.xaxis)
    ax.set_xlabel("latency per inference, ms (log)")
    ax.invert_yaxis()
    ax.grid(axis="x", which="both", alpha=0.3)


def _class_legend(ax, classes, formats=()) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=_colour(c), marker="o", linestyle="", label=c) for c in classes]
    handles += [
        Line2D(
            [], [], color="#333", marker=_marker(f), linestyle="", label=f, markerfacecolor="none"
        )
        for f in formats
    ]
    ax.legend(handles=handles, fontsize=7, loc="lower right", framealpha=0.8)


def scatter(ax, data: dict) -> None:
    pts = data["points"]
    for p in pts:
        ax.scatter(
            p["x"],
            p["y"],
            color=_colour(p["class"]),
            marker=_marker(p["format"]),
            s=28,
            alpha=0.85,
            edgecolors="black",
            linewidths=0.3,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    _log(ax.xaxis)
    _log(ax.yaxis)
    ax.set_xlabel(data["x_label"])
    ax.set_ylabel(data["y_label"])
    ax.grid(which="both", alpha=0.3)
    text = "Spearman ρ [95% CI]\n" + "\n".join(f"{k}: {v}" for k, v in data["rho"].items())
    ax.text(
        0.02,
        0.98,
        text,
        transform=ax.transAxes,
        va="top",
        fontsize=7,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "#999"},
    )
    _class_legend(ax, sorted({p["class"] for p in pts}), sorted({p["format"] for p in pts}))


def pareto(ax, data: dict) -> None:
    pts, front = data["points"], data["front"]
    for p in pts:
        ax.scatter(
            p["latency"],
            p["top1"],
            color=_colour(p["class"]),
            s=30,
            edgecolors="black",
            linewidths=0.3,
            zorder=3,
        )
        ax.annotate(
            p["model"],
            (p["latency"], p["top1"]),
            fontsize=6,
            xytext=(3, 3),
            textcoords="offset points",
        )
    fx = [pts[i]["latency"] for i in front]
    fy = [pts[i]["top1"] for i in front]
    ax.step(fx, fy, where="post", color="black", linewidth=1, label="Pareto front", zorder=2)
    ax.set_xscale("log")
    _log(ax.xaxis)
    ax.set_xlabel("p50 latency at the fastest format, ms (log)")
    ax.set_ylabel("published top-1, %")
    ax.grid(which="both", alpha=0.3)
    _class_legend(ax, sorted({p["class"] for p in pts}))


def heatmap(ax, data: dict) -> None:
    import numpy as np

    vals = np.array(
        [[math.nan if v is None else math.log10(v) for v in row] for row in data["values"]],
        dtype=float,
    )
    masked = np.ma.masked_invalid(vals)
    im = ax.imshow(masked, aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(data["cols"])), data["cols"], rotation=20, ha="right")
    ax.set_yticks(range(len(data["rows"])), data["rows"])
    for tick, cls in zip(ax.get_yticklabels(), data["classes"]):
        tick.set_color(_colour(cls))
    for i, row in enumerate(data["values"]):
        for j, v in enumerate(row):
            if v is not None:
                dark = vals[i, j] < np.nanmean(vals)
                ms = f"{v:.3g}" if v < 1000 else f"{v:,.0f}"
                ax.text(
                    j,
                    i,
                    f"{ms} ms\n{data['notes'][i][j]}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if dark else "black",
                )
    cbar = ax.figure.colorbar(im, ax=ax, fraction=0.05)
    cbar.set_label("log10 p50 ms")


def trace(ax, data: dict) -> None:
    series = data["series"]
    for s in series:
        (line,) = ax.plot(
            range(len(s["values"])), s["values"], linewidth=0.8, alpha=0.6, label=s["label"]
        )
        if s["warmup"] < len(s["values"]):
            ax.plot([s["warmup"]], [s["values"][s["warmup"]]], ".", color=line.get_color())
    ax.set_yscale("log")
    _log(ax.yaxis)
    ax.axhline(1.0, color="black", linewidth=0.6)
    ax.set_xlabel("iteration (warm-up, then timed)")
    ax.set_ylabel("time / p50 (log)")
    ax.grid(which="both", alpha=0.3)
    if len(series) <= 12:
        ax.legend(fontsize=6, loc="upper right")


def stream(ax, data: dict) -> None:
    """Latency per inference against the frame clock; dashed: each run's frame budget."""
    for s in data["series"]:
        (line,) = ax.plot(s["t_s"], s["latency_ms"], linewidth=0.8, alpha=0.8, label=s["label"])
        ax.axhline(s["budget_ms"], color=line.get_color(), linewidth=0.6, linestyle="--")
    ax.set_yscale("log")
    _log(ax.yaxis)
    ax.set_xlabel("frame clock (s): the inference's last frame's arrival")
    ax.set_ylabel("latency to result, ms (log)")
    ax.grid(which="both", alpha=0.3)
    if len(data["series"]) <= 12:
        ax.legend(fontsize=6, loc="upper left")


def ab_rounds(ax, data: dict) -> None:
    """An A/B run: each round's NEW/BASE ratio over time (left), each side's block medians
    (right axis), the margin band around 1 and the trials' boundaries."""
    t, ratio, m = data["t"], data["ratio"], data["margin"]
    ax.axhspan(1 - m, 1 + m, color="0.9", label=f"±{m:.0%} margin")
    ax.axhline(1.0, color="black", linewidth=0.6)
    ax.plot(t, ratio, ".", color="tab:red", label="NEW/BASE per round")
    for x in data.get("trial_starts", [])[1:]:
        ax.axvline(x, color="0.6", linewidth=0.5, linestyle=":")
    ax.set_xlabel("seconds since start (dotted: processes restarted)")
    ax.set_ylabel("ratio of block medians")
    ax2 = ax.twinx()
    ax2.plot(t, data["base_ms"], "_", color="tab:blue", label="BASE block median")
    ax2.plot(t, data["new_ms"], "_", color="tab:orange", label="NEW block median")
    ax2.set_ylabel("block median (ms)")
    lines = ax.get_legend_handles_labels()
    more = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=6, loc="upper right")


DRAW = {
    "ab": ab_rounds,
    "distribution": distribution,
    "scatter": scatter,
    "pareto": pareto,
    "heatmap": heatmap,
    "trace": trace,
    "stream": stream,
}


def _size(figure) -> tuple:
    d = figure.data
    if figure.kind == "distribution":
        return (7.5, 1.2 + 0.2 * len(d["items"]))
    if figure.kind == "heatmap":
        return (max(6.0, 2.5 + 1.3 * len(d["cols"])), 1.4 + 0.32 * len(d["rows"]))
    return (7.0, 4.5)


#: Coordinates to 0.1 px: a tenth of a pixel is below what a screen shows.
_FLOAT = re.compile(r"(\d+\.\d)\d+")


def render(figure) -> str:
    """The figure as an ``<svg>`` element (no XML prolog), ids prefixed with the figure id."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=_size(figure))
    try:
        DRAW[figure.kind](ax, figure.data)
        ax.set_title(figure.title)
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    finally:
        plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    text = re.sub(r'<g id="[^"]*">', "<g>", text)  # group ids: never referenced
    text = re.sub(r">\s+<", "><", text)
    text = re.sub(r'\sd="([^"]*)"', lambda m: ' d="' + " ".join(m.group(1).split()) + '"', text)
    text = re.sub(
        r'(\s(?:d|x|y|x1|x2|y1|y2|width|height|transform)=")([^"]*)"',
        lambda m: m.group(1) + _FLOAT.sub(r"\1", m.group(2)) + '"',
        text,
    )
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", figure.id) + "-"
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", text)
    text = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', text)
    return text
