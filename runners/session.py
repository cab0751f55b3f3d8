"""What a runner's ``load()`` returns: a session, with its optional parts declared.

Every backend's session subclasses :class:`Session`. The required parts are ``settings`` (what is
in force, read back from the runtime) and ``infer(inputs) -> list of arrays``. The optional parts
are declared by class attributes, never probed for:

- ``HAS_GPU_TIME``: ``gpu_ms()`` gives the device time (ms) of the last ``infer``, read by the
  shared loop after each timed iteration (e.g. CUDA events around the engine's launch).
- ``TIMES_ITSELF``: the runtime times its own loop (``external_timing(inputs, policy)``) instead
  of the shared one, e.g. trtexec, where one process per ``infer`` would time process start-up.
  It honours the same :class:`~runners.loop.TimingPolicy`.
- ``close()``: frees what the session holds (device memory, temporary files); a no-op by default.
"""

from __future__ import annotations

from typing import ClassVar, Dict, List, Optional

from .loop import TimingPolicy


class Session:
    HAS_GPU_TIME: ClassVar[bool] = False
    TIMES_ITSELF: ClassVar[bool] = False

    settings: dict

    def infer(self, inputs: Dict[str, object]) -> List[object]:
        raise NotImplementedError

    def gpu_ms(self) -> Optional[float]:
        """Device time (ms) of the last ``infer``, where ``HAS_GPU_TIME``."""
        return None

    def external_timing(self, inputs: Dict[str, object], policy: TimingPolicy) -> dict:
        """Where ``TIMES_ITSELF``: ``{"samples_ms", "gpu_ms", "warmup_ms", "stop_reason", ...}``
        measured by the runtime itself under ``policy``."""
        raise NotImplementedError(f"{type(self).__name__} does not time itself")

    def close(self) -> None:
        """Free what the session holds; called once after the run."""
