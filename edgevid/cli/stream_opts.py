"""The stream scenario's flags that `bench` and `study` share: one definition and one help text
each, and the one place their values become the runner's StreamOptions (``run.stream``)."""

from __future__ import annotations

import typer

SCENARIO = typer.Option(
    None,
    help="latency (default): the timing loop; stream: frames arrive at --fps, "
    "inferences run as they can (see README, 'Streams')",
)
FPS = typer.Option(None, help="stream: frames per second")
CLIP = typer.Option(
    None, help="stream, clip models: frames per inference (exports the model with this T)"
)
STRIDE = typer.Option(None, help="stream, clip models: infer every S frames (default: the clip)")
DURATION = typer.Option(None, help="stream: seconds of frames (default 10)")
DROP_POLICY = typer.Option(
    None, help="stream: queue (keep every due inference) or drop-oldest (keep --max-queue)"
)
MAX_QUEUE = typer.Option(None, help="stream, drop-oldest: inferences kept waiting (default 1)")
FIND_MAX_FPS = typer.Option(
    False, "--find-max-fps", help="stream: also search the highest sustainable fps"
)
SEARCH_TRIAL = typer.Option(None, help="stream, --find-max-fps: seconds per trial (default 3)")

#: The flags' parameter names, as the commands declare them.
FLAGS = (
    "scenario",
    "fps",
    "clip",
    "stride",
    "duration",
    "drop_policy",
    "max_queue",
    "find_max_fps",
    "search_trial_s",
)


def options(values: dict):
    """The run's StreamOptions (None: the timing loop) from the command's parameters
    (``locals()`` will do); checked once, a bad value is one line naming the flag (exit 2)."""
    from edgevid.run.stream import stream_options

    named = dict(
        fps=values["fps"],
        clip=values["clip"],
        stride=values["stride"],
        duration=values["duration"],
        drop_policy=values["drop_policy"],
        max_queue=values["max_queue"],
        find_max_fps=values["find_max_fps"],
        search_trial_s=values["search_trial_s"],
    )
    return stream_options(values["scenario"], named)
