"""The stream scenario on the host: the CLI's stream flags checked once into the runner's
:class:`~edgevid.runners.stream.StreamOptions` (its one definition), the model made to fit the
stream before anything is exported, the artifact checked before anything is measured, and the
fields a stream run's record carries (its part of the result identity).

- a stream artifact (``movinet-*-stream``: state declared in ``artifact.json``) takes its input's
  T frames per step and carries its state; ``--clip``/``--stride`` are refused for it;
- a clip model runs as a sliding window: ``--clip T`` exports it with T frames (the runner
  requires the artifact's T to equal the clip), ``--stride S`` infers every S frames.

Every refusal is a :class:`~edgevid.errors.UserError` (one line, exit 2) that names the flag.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

from edgevid.errors import UserError
from edgevid.models.ref import ModelRef
from edgevid.results.select import scenario_label
from edgevid.run.config import checked
from edgevid.runners.artifact import ArtifactError
from edgevid.runners.stream import StreamOptions

#: The CLI flag of each StreamOptions field (`edgevid bench --scenario stream --fps 30 ...`).
STREAM_FLAGS = {
    "scenario": "--scenario",
    "fps": "--fps",
    "clip": "--clip",
    "stride": "--stride",
    "duration": "--duration",
    "drop_policy": "--drop-policy",
    "max_queue": "--max-queue",
    "find_max_fps": "--find-max-fps",
    "search_trial_s": "--search-trial-s",
}
#: The StreamOptions fields that tell two stream runs apart (their label; not the duration).
IDENTITY = ("fps", "clip", "stride", "drop_policy", "max_queue")
TIME_AXIS = 2  # (B, C, T, H, W)


def stream_options(scenario: Optional[str], flags: dict) -> Optional[StreamOptions]:
    """The run's StreamOptions from the CLI's values (by field name; None = not given), or None
    for the timing loop. Stream flags without ``--scenario stream`` are refused."""
    given = {k: v for k, v in flags.items() if v is not None and v is not False}
    if scenario in (None, "latency"):
        if given:
            names = ", ".join(STREAM_FLAGS[k] for k in given)
            raise UserError(f"{names}: stream settings need --scenario stream")
        return None
    return checked(
        lambda: StreamOptions.from_dict({"scenario": scenario, **given}),
        lambda f: STREAM_FLAGS.get(f, f),
    )


def is_stream_model(ref: ModelRef) -> bool:
    """A zoo stream model (``movinet-a0-stream``): one step per call, state carried."""
    return ref.kind == "zoo" and ref.name.endswith("-stream")


def stream_ref(ref: ModelRef, opts: StreamOptions) -> ModelRef:
    """``ref`` as the stream needs it exported: a clip model with ``--clip T`` gets T frames."""
    shape = list(ref.input_shape)
    if len(shape) != 5:
        raise UserError(
            f"{ref.name}: input {shape} has no time axis (B, C, T, H, W): it cannot run as a stream"
        )
    if is_stream_model(ref):
        if opts.clip is not None or opts.stride is not None:
            raise UserError(
                f"--clip and --stride are for clip models; the stream model {ref.name} takes "
                f"{shape[TIME_AXIS]} frame(s) per step and carries its state"
            )
        return ref
    t = opts.clip or shape[TIME_AXIS]
    if opts.stride is not None and opts.stride > t:
        raise UserError(f"--stride ({opts.stride}) must not exceed the clip ({t} frames)")
    if opts.clip is None or opts.clip == shape[TIME_AXIS]:
        return ref
    shape[TIME_AXIS] = opts.clip
    return replace(ref, input_shape=tuple(shape), default_shape=False)


def check_artifact(manifest: dict, opts: StreamOptions) -> dict:
    """The runner's own plan of the stream for this artifact (state declared, time axis, clip
    equal to T), before anything is sent or measured; a refusal is a UserError."""
    from edgevid.runners.settings import SettingError
    from edgevid.runners.stream_scenario import plan

    try:
        return plan(manifest, opts)
    except SettingError as e:
        raise UserError(e.describe(lambda f: STREAM_FLAGS.get(f, f))) from None
    except ArtifactError as e:
        raise UserError(str(e)) from None


def record_fields(opts: Optional[StreamOptions]) -> dict:
    """What a record of this scenario carries besides the runner's ``stream`` object: the options
    that tell it apart (``stream_options``, the identity) and their ``scenario_label``."""
    if opts is None:
        return {}
    d = opts.to_dict()
    options = {k: d[k] for k in IDENTITY}
    if options["drop_policy"] != "drop-oldest":
        options["max_queue"] = None
    options.update(duration_s=d["duration"], find_max_fps=d["find_max_fps"])
    return {
        "scenario": "stream",
        "stream_options": options,
        "scenario_label": scenario_label("stream", options),
    }


ENERGY_SCOPE = (
    "the whole stream window, idle gaps between frames included (not the inferences alone)"
)


def note_energy(record: dict) -> None:
    """A stream run's energy covers the window, waits included: the record says so."""
    energy = record.get("energy")
    if record.get("scenario") == "stream" and isinstance(energy, dict):
        energy["scope"] = ENERGY_SCOPE


def for_scenario(names: list, scenario: Optional[str]) -> list:
    """``--all`` / the study: the ``-stream`` zoo entries are per-step models (one frame per
    call), run only with ``--scenario stream``; the timing loop's lists leave them out."""
    if scenario == "stream":
        return list(names)
    return [n for n in names if not n.endswith("-stream")]
