"""The timing-loop flags that `bench` and `study` share: one definition and one help text each,
and the one place their values become the policy overrides ``config.timing_policy`` checks."""

from __future__ import annotations

import typer

WARMUP_MIN = typer.Option(None, help="minimum warm-up iterations")
WARMUP_MAX = typer.Option(None, help="maximum warm-up iterations")
MIN_ITERS = typer.Option(None, help="minimum timed iterations")
MIN_TIME = typer.Option(None, help="minimum timed seconds")
MAX_TIME = typer.Option(None, help="cap on timed seconds")
TARGET_CI = typer.Option(None, help="target CI half-width (fraction)")

#: The flags' parameter names, as the commands declare them.
FLAGS = ("warmup_min", "warmup_max", "min_iters", "min_time", "max_time", "target_ci")


def overrides(values: dict) -> dict:
    """The policy fields the user set, from the command's parameters (``locals()`` will do)."""
    named = dict(
        warmup_min=values["warmup_min"],
        warmup_max=values["warmup_max"],
        min_iters=values["min_iters"],
        min_time_s=values["min_time"],
        max_time_s=values["max_time"],
        target_ci=values["target_ci"],
    )
    return {k: v for k, v in named.items() if v is not None}
